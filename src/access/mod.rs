//! Who may do what, where: accounts' roles and scopes, password hashing, session and token
//! secrets, and the login rate limiter. The HTTP side (the guard every route passes through)
//! is `crate::api::access`; the SQL is `crate::store::access`.
//!
//! A scope is an area code: the caller sees and acts on that area and everything under it.
//! Area codes extend their parent's (`3503` → `350304` → `350304101` → …), so "under" is a
//! prefix test.

pub mod limiter;
pub mod secret;

use serde::Serialize;

/// What an account is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// City administrator: everything in scope, configuration, accounts and the audit log.
    Admin,
    /// District, town or village leader: reads all in scope, transitions events, edits profiles.
    Leader,
    /// Grid worker: reports and handles events in scope, reads in scope.
    GridWorker,
    /// Analyst: read-only, statistics, never personal data.
    Analyst,
    /// A command-centre screen: read-only, the stream and the screen.
    Screen,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Leader,
        Role::GridWorker,
        Role::Analyst,
        Role::Screen,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Leader => "leader",
            Role::GridWorker => "grid_worker",
            Role::Analyst => "analyst",
            Role::Screen => "screen",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s.trim())
    }

    /// The name shown to users.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "市级管理员",
            Role::Leader => "领导",
            Role::GridWorker => "网格员",
            Role::Analyst => "分析员",
            Role::Screen => "大屏",
        }
    }

    /// Whether ID numbers and phones are shown unmasked.
    pub fn may_see_personal(self) -> bool {
        matches!(self, Role::Admin | Role::Leader | Role::GridWorker)
    }

    /// Whether this role may do `action` (in its scope).
    pub fn may(self, action: Action) -> bool {
        use Action::*;
        match action {
            Public | Read => true,
            Export => self != Role::Screen,
            ReportEvents | HandleEvents => {
                matches!(self, Role::Admin | Role::Leader | Role::GridWorker)
            }
            EditProfiles | Manage | Acknowledge => matches!(self, Role::Admin | Role::Leader),
            Configure => self == Role::Admin,
        }
    }
}

/// What a route does, as far as access is concerned. Every route names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// No account needed (health, sign-in, the web client's files).
    Public,
    /// Read in scope.
    Read,
    /// Export lists and workbooks (personal fields masked unless the role may see them).
    Export,
    /// Report events.
    ReportEvents,
    /// Move events through their life cycle.
    HandleEvents,
    /// Edit village and community profiles and their lists.
    EditProfiles,
    /// Edit the registers of assets, enterprises and vessels in scope.
    Manage,
    /// Acknowledge alerts.
    Acknowledge,
    /// City-wide configuration, ingest feeds, accounts and the audit log.
    Configure,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Public => "public",
            Action::Read => "read",
            Action::Export => "export",
            Action::ReportEvents => "report_events",
            Action::HandleEvents => "handle_events",
            Action::EditProfiles => "edit_profiles",
            Action::Manage => "manage",
            Action::Acknowledge => "acknowledge",
            Action::Configure => "configure",
        }
    }
}

/// The area a caller sees: a code and everything under it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Scope(String);

impl Scope {
    pub fn new(code: impl Into<String>) -> Scope {
        Scope(code.into())
    }

    pub fn code(&self) -> &str {
        &self.0
    }

    /// True when `code` is the scope's area or lies under it.
    pub fn contains(&self, code: &str) -> bool {
        code.starts_with(self.0.as_str())
    }

    /// True when `code` is the scope's area, under it or above it (an ancestor's outline).
    pub fn related(&self, code: &str) -> bool {
        self.contains(code) || (!code.is_empty() && self.0.starts_with(code))
    }

    /// True for a scope of the whole city (a code of four digits or fewer).
    pub fn is_city(&self) -> bool {
        self.0.len() <= 4
    }
}

/// The signed-in caller of a request.
#[derive(Debug, Clone, Serialize)]
pub struct Caller {
    pub user_id: i64,
    pub name: String,
    pub role: Role,
    pub scope: Scope,
}

impl Caller {
    pub fn may_see_personal(&self) -> bool {
        self.role.may_see_personal()
    }
}

/// A password's problems, for accounts created on the command line.
pub fn check_password(password: &str) -> Result<(), &'static str> {
    let n = password.chars().count();
    if n < 8 {
        return Err("密码至少 8 个字符 (a password needs at least 8 characters)");
    }
    if n > 256 {
        return Err("密码最多 256 个字符 (a password has at most 256 characters)");
    }
    Ok(())
}

/// An account name's problems.
pub fn check_name(name: &str) -> Result<(), &'static str> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err("账号名应为 1–64 个字母、数字、_ . - (an account name is 1–64 of A–Z, a–z, 0–9, _ . -)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_prefixes_of_area_codes() {
        let town = Scope::new("350304101");
        assert!(town.contains("350304101"));
        assert!(town.contains("350304101002003"));
        assert!(!town.contains("350304102001"));
        assert!(!town.contains("350304"));
        assert!(town.related("350304"));
        assert!(town.related("3503"));
        assert!(!town.related("350305"));
        assert!(Scope::new("3503").is_city());
        assert!(!town.is_city());
    }

    #[test]
    fn roles_follow_the_issue() {
        assert!(Role::Leader.may(Action::HandleEvents));
        assert!(Role::Leader.may(Action::EditProfiles));
        assert!(!Role::Leader.may(Action::Configure));
        assert!(Role::GridWorker.may(Action::ReportEvents));
        assert!(!Role::GridWorker.may(Action::EditProfiles));
        assert!(!Role::Analyst.may(Action::ReportEvents));
        assert!(!Role::Analyst.may_see_personal());
        assert!(!Role::Screen.may(Action::Export));
        assert!(Role::Admin.may(Action::Configure));
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
    }
}
