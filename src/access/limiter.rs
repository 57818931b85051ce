//! Login attempts, limited per account and per address: a failed sign-in counts against both,
//! and either over its budget refuses further attempts until its window has passed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per account in a window.
pub const PER_ACCOUNT: u32 = 5;
/// Failures allowed per address in a window (several people may share one office address).
pub const PER_ADDRESS: u32 = 20;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginLimiter {
    /// None when `account` from `address` may try now, else how long until it may.
    pub fn check(&self, account: &str, address: &str) -> Option<Duration> {
        let now = Instant::now();
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let wait = |key: String, limit: u32| {
            map.get(&key).and_then(|&(n, since)| {
                let left = WINDOW.saturating_sub(now.duration_since(since));
                (n >= limit && !left.is_zero()).then_some(left)
            })
        };
        wait(format!("u:{account}"), PER_ACCOUNT).or(wait(format!("a:{address}"), PER_ADDRESS))
    }

    /// Counts a failed attempt.
    pub fn failed(&self, account: &str, address: &str) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (_, since)| now.duration_since(*since) < WINDOW);
        }
        for key in [format!("u:{account}"), format!("a:{address}")] {
            let e = map.entry(key).or_insert((0, now));
            if now.duration_since(e.1) >= WINDOW {
                *e = (0, now);
            }
            e.0 += 1;
        }
    }

    /// A successful sign-in clears the account's count (not the address's).
    pub fn succeeded(&self, account: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&format!("u:{account}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_the_account_not_others() {
        let l = LoginLimiter::default();
        for _ in 0..PER_ACCOUNT {
            assert!(l.check("a", "1.1.1.1").is_none());
            l.failed("a", "1.1.1.1");
        }
        assert!(
            l.check("a", "2.2.2.2").is_some(),
            "per account, from anywhere"
        );
        assert!(l.check("b", "1.1.1.1").is_none());
        for i in 0..PER_ADDRESS {
            l.failed(&format!("x{i}"), "3.3.3.3");
        }
        assert!(l.check("fresh", "3.3.3.3").is_some(), "per address");
    }
}
