//! The introduction (村情简介) of a town or village profile: its shape, its checks, and how a
//! phone sent back masked keeps the stored one.

use super::mask::{is_masked, mask_phone, valid_phone};
use super::{Checker, FieldError, MAX_NAME, MAX_TEXT};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Introduction {
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub population: Population,
    #[serde(default)]
    pub households: i64,
    /// Computed from the map on every read; accepted (an edited copy of an answer) and ignored
    /// when submitted.
    #[serde(default)]
    pub area_km2: Option<f64>,
    #[serde(default)]
    pub party: Party,
    #[serde(default)]
    pub committee: Vec<Cadre>,
    #[serde(default)]
    pub grids: Vec<GridStaff>,
    #[serde(default)]
    pub industries: Vec<String>,
    #[serde(default)]
    pub income: Vec<YearIncome>,
    #[serde(default)]
    pub photos: Vec<Photo>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Population {
    #[serde(default)]
    pub registered: i64,
    #[serde(default)]
    pub resident: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    #[serde(default)]
    pub members: i64,
    #[serde(default)]
    pub branches: i64,
}

/// A member of the village committee (or the town's leadership).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cadre {
    pub role: String,
    pub name: String,
    #[serde(default)]
    pub phone: String,
}

/// Who leads a grid and how many unit heads it has.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridStaff {
    pub code: String,
    pub leader: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub unit_heads: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YearIncome {
    pub year: i64,
    /// Collective income, in 10,000 yuan (万元).
    pub amount_wan: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Photo {
    #[serde(rename = "ref")]
    pub reference: String,
    #[serde(default)]
    pub caption: String,
}

impl Introduction {
    /// Checks every field; `grid_codes` are the grids of the area (a town has none of its own).
    pub fn check(&self, grid_codes: &dyn Fn(&str) -> bool) -> Result<(), Vec<FieldError>> {
        let mut c = Checker::default();
        let p = "introduction";
        c.text(&format!("{p}.summary"), &self.summary, MAX_TEXT);
        c.count(
            &format!("{p}.population.registered"),
            self.population.registered,
        );
        c.count(
            &format!("{p}.population.resident"),
            self.population.resident,
        );
        c.count(&format!("{p}.households"), self.households);
        c.count(&format!("{p}.party.members"), self.party.members);
        c.count(&format!("{p}.party.branches"), self.party.branches);
        c.entries(&format!("{p}.committee"), &self.committee);
        for (i, m) in self.committee.iter().enumerate() {
            c.name(&format!("{p}.committee[{i}].role"), &m.role);
            c.name(&format!("{p}.committee[{i}].name"), &m.name);
            if !m.phone.is_empty() && !valid_phone(&m.phone) {
                c.fail(
                    format!("{p}.committee[{i}].phone"),
                    "电话应为 5–20 位数字（可含 +、-、空格） (phone must be 5–20 digits)",
                );
            }
        }
        c.entries(&format!("{p}.grids"), &self.grids);
        for (i, g) in self.grids.iter().enumerate() {
            if !grid_codes(&g.code) {
                c.fail(
                    format!("{p}.grids[{i}].code"),
                    format!(
                        "{} 不是本区域的网格 (not a grid of this area)",
                        truncate(&g.code)
                    ),
                );
            }
            c.name(&format!("{p}.grids[{i}].leader"), &g.leader);
            c.count(&format!("{p}.grids[{i}].unit_heads"), g.unit_heads);
            if !g.phone.is_empty() && !valid_phone(&g.phone) {
                c.fail(
                    format!("{p}.grids[{i}].phone"),
                    "电话应为 5–20 位数字（可含 +、-、空格） (phone must be 5–20 digits)",
                );
            }
        }
        c.entries(&format!("{p}.industries"), &self.industries);
        for (i, s) in self.industries.iter().enumerate() {
            c.name(&format!("{p}.industries[{i}]"), s);
        }
        c.entries(&format!("{p}.income"), &self.income);
        let mut years = std::collections::HashSet::new();
        for (i, y) in self.income.iter().enumerate() {
            c.year(&format!("{p}.income[{i}].year"), y.year);
            c.amount(&format!("{p}.income[{i}].amount_wan"), y.amount_wan);
            if !years.insert(y.year) {
                c.fail(
                    format!("{p}.income[{i}].year"),
                    "年份重复 (year listed twice)",
                );
            }
        }
        c.entries(&format!("{p}.photos"), &self.photos);
        for (i, ph) in self.photos.iter().enumerate() {
            c.name(&format!("{p}.photos[{i}].ref"), &ph.reference);
            c.text(
                &format!("{p}.photos[{i}].caption"),
                &ph.caption,
                MAX_NAME * 4,
            );
        }
        c.finish()
    }

    /// Replaces every phone sent back masked with the stored phone of the same person (same
    /// role and name, or the same grid); a masked phone with no such person is an error.
    pub fn restore_masked_phones(
        &mut self,
        stored: Option<&Introduction>,
    ) -> Result<(), Vec<FieldError>> {
        let mut c = Checker::default();
        for (i, m) in self.committee.iter_mut().enumerate() {
            if is_masked(&m.phone) {
                let found = stored.and_then(|s| {
                    s.committee.iter().find(|o| {
                        o.role == m.role && o.name == m.name && mask_phone(&o.phone) == m.phone
                    })
                });
                match found {
                    Some(o) => m.phone = o.phone.clone(),
                    None => c.fail(
                        format!("introduction.committee[{i}].phone"),
                        "脱敏的电话只能原样保留；新号码请填写完整 (a masked phone can only be kept as it was; give a new phone in full)",
                    ),
                }
            }
        }
        for (i, g) in self.grids.iter_mut().enumerate() {
            if is_masked(&g.phone) {
                let found = stored.and_then(|s| {
                    s.grids.iter().find(|o| {
                        o.code == g.code && o.leader == g.leader && mask_phone(&o.phone) == g.phone
                    })
                });
                match found {
                    Some(o) => g.phone = o.phone.clone(),
                    None => c.fail(
                        format!("introduction.grids[{i}].phone"),
                        "脱敏的电话只能原样保留；新号码请填写完整 (a masked phone can only be kept as it was; give a new phone in full)",
                    ),
                }
            }
        }
        c.finish()
    }

    /// Masks every phone; true if any was.
    pub fn mask_phones(&mut self) -> bool {
        let mut any = false;
        for p in self
            .committee
            .iter_mut()
            .map(|m| &mut m.phone)
            .chain(self.grids.iter_mut().map(|g| &mut g.phone))
        {
            if !p.is_empty() {
                *p = mask_phone(p);
                any = true;
            }
        }
        any
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Introduction {
        Introduction {
            summary: "山海相连".into(),
            population: Population {
                registered: 3200,
                resident: 2800,
            },
            households: 900,
            committee: vec![Cadre {
                role: "书记".into(),
                name: "林一".into(),
                phone: "13800001234".into(),
            }],
            grids: vec![GridStaff {
                code: "g1".into(),
                leader: "陈二".into(),
                phone: "13900005678".into(),
                unit_heads: 3,
            }],
            income: vec![YearIncome {
                year: 2025,
                amount_wan: 56.5,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn a_good_introduction_passes_and_bad_fields_are_named() {
        let ok = sample();
        assert!(ok.check(&|c| c == "g1").is_ok());
        let mut bad = sample();
        bad.population.resident = -1;
        bad.income.push(YearIncome {
            year: 2025,
            amount_wan: f64::NAN,
        });
        bad.grids[0].code = "elsewhere".into();
        let errs = bad.check(&|c| c == "g1").unwrap_err();
        let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        assert!(
            paths.contains(&"introduction.population.resident"),
            "{paths:?}"
        );
        assert!(
            paths.contains(&"introduction.income[1].amount_wan"),
            "{paths:?}"
        );
        assert!(paths.contains(&"introduction.income[1].year"), "{paths:?}");
        assert!(paths.contains(&"introduction.grids[0].code"), "{paths:?}");
    }

    #[test]
    fn masked_phones_sent_back_keep_the_stored_ones() {
        let stored = sample();
        let mut shown = stored.clone();
        assert!(shown.mask_phones());
        assert_eq!(shown.committee[0].phone, "138****1234");
        let mut edited = shown.clone();
        edited.restore_masked_phones(Some(&stored)).unwrap();
        assert_eq!(edited, stored);
        // A masked phone for a new person cannot be restored.
        let mut new_person = shown.clone();
        new_person.committee[0].name = "王五".into();
        assert!(new_person.restore_masked_phones(Some(&stored)).is_err());
    }
}
