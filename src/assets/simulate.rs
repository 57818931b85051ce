//! A replayable feed for the demo sensors (`onemap simulate sensors`, `serve
//! --simulate-sensors`): every tick one reading per sensor in service, with a daily rhythm and
//! noise, and now and then an excursion over a sensor's threshold long enough to raise an
//! alarm (its debounce count and two more), then back to normal. One row in 200 is malformed
//! on purpose (an unknown sensor, a value that is not a number), as real gateways send. The
//! same seed gives the same sequence of batches.

use super::model::{SensorProps, SensorType};
use chrono::{DateTime, Timelike, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

/// A sensor the feed speaks for.
#[derive(Debug, Clone)]
pub struct SimSensor {
    pub id: i64,
    pub props: SensorProps,
}

/// The feed's state.
pub struct Feed {
    rng: ChaCha8Rng,
    sensors: Vec<SimSensor>,
    /// Sensor index → ticks of excursion left.
    excursions: Vec<u32>,
    /// Chance per tick that an excursion starts somewhere.
    alarm_chance: f64,
}

impl Feed {
    /// `alarms_per_100_ticks`: how many excursions start, on average, in 100 ticks.
    pub fn new(seed: u64, mut sensors: Vec<SimSensor>, alarms_per_100_ticks: f64) -> Feed {
        sensors.sort_by_key(|s| s.id);
        Feed {
            rng: ChaCha8Rng::seed_from_u64(seed),
            excursions: vec![0; sensors.len()],
            sensors,
            alarm_chance: (alarms_per_100_ticks / 100.0).clamp(0.0, 1.0),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.sensors.is_empty()
    }

    /// The readings of one tick at `at`, as the JSON body of `POST /api/sensors/readings`.
    pub fn tick(&mut self, at: DateTime<Utc>) -> Value {
        if !self.sensors.is_empty() && self.rng.random_bool(self.alarm_chance) {
            let i = self.rng.random_range(0..self.sensors.len());
            self.excursions[i] = self.sensors[i].props.debounce() + 2;
        }
        let hour = at.hour() as f64 + at.minute() as f64 / 60.0;
        let day = ((hour - 14.0) / 24.0 * std::f64::consts::TAU).cos();
        let mut rows = Vec::with_capacity(self.sensors.len());
        for (i, s) in self.sensors.iter().enumerate() {
            let over = self.excursions[i] > 0;
            if over {
                self.excursions[i] -= 1;
            }
            let noise: f64 = self.rng.random_range(-1.0..1.0);
            let t = s.props.threshold();
            let value = if over {
                match s.props.kind {
                    SensorType::Smoke => 1.0,
                    _ => t * 1.2 + noise.abs() * t * 0.1,
                }
            } else {
                match s.props.kind {
                    SensorType::Smoke => 0.0,
                    SensorType::Temperature => 24.0 + 5.0 * day + noise,
                    SensorType::Current => 80.0 + 25.0 * day + 10.0 * noise,
                    SensorType::WaterLevel => (1.4 + 0.2 * day + 0.05 * noise).min(t * 0.9),
                }
            };
            let value = (value * 100.0).round() / 100.0;
            rows.push(json!({"sensor": s.id, "at": at.to_rfc3339(), "value": value}));
            if self.rng.random_range(0..200) == 0 {
                rows.push(if self.rng.random_bool(0.5) {
                    json!({"sensor": 0, "at": at.to_rfc3339(), "value": 1.0})
                } else {
                    json!({"sensor": s.id, "at": at.to_rfc3339(), "value": "NaN"})
                });
            }
        }
        Value::Array(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sensors() -> Vec<SimSensor> {
        [
            SensorType::Smoke,
            SensorType::Temperature,
            SensorType::WaterLevel,
        ]
        .into_iter()
        .enumerate()
        .map(|(i, kind)| SimSensor {
            id: i as i64 + 1,
            props: SensorProps {
                kind,
                site_id: None,
                threshold: None,
                debounce: None,
                silence_s: None,
            },
        })
        .collect()
    }

    #[test]
    fn the_same_seed_replays_and_excursions_cross_the_threshold() {
        let t0 = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        let run = |seed| {
            let mut f = Feed::new(seed, sensors(), 30.0);
            (0..200)
                .map(|i| f.tick(t0 + chrono::Duration::seconds(i * 30)))
                .collect::<Vec<_>>()
        };
        let a = run(1);
        assert_eq!(a, run(1));
        assert_ne!(a, run(2));
        let over = a
            .iter()
            .flat_map(|b| b.as_array().unwrap().iter())
            .filter(|r| r["sensor"] == 1 && r["value"] == 1.0)
            .count();
        assert!(over >= 5, "smoke alarms in 200 ticks: {over}");
        // Outside excursions the water stays under its mark.
        let normal_water = a
            .iter()
            .flat_map(|b| b.as_array().unwrap().iter())
            .filter(|r| r["sensor"] == 3)
            .filter(|r| r["value"].as_f64().is_some_and(|v| v < 2.5))
            .count();
        assert!(normal_water > 50, "{normal_water}");
    }
}
