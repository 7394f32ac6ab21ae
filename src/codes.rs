//! One-time codes printed on the console: password recovery and account
//! reset. A code expires after 5 minutes, works once, and dies after 3
//! wrong tries. Drawn uniformly from a CSPRNG, compared in constant time.

use std::collections::HashMap;
use std::sync::Mutex;

use subtle::ConstantTimeEq;

use crate::clock::Clock;

pub const CODE_TTL_MS: i64 = 5 * 60_000;
pub const MAX_WRONG_PER_CODE: u32 = 3;
/// A repeated request within this long of a live code keeps that code
/// (SPEC §6), so a flood of requests prints nothing new.
pub const KEEP_LIVE_MS: i64 = 30_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    Recovery,
    Reset,
}

struct Pending {
    code: String,
    issued: i64,
    expires: i64,
    wrong: u32,
}

pub struct Codes {
    map: Mutex<HashMap<(Purpose, String), Pending>>,
    digits: u32,
    clock: Clock,
}

impl Codes {
    pub fn new(digits: u32, clock: Clock) -> Codes {
        Codes {
            map: Mutex::new(HashMap::new()),
            digits,
            clock,
        }
    }

    /// A fresh code for `handle`, replacing any pending one.
    pub fn issue(&self, purpose: Purpose, handle: &str) -> String {
        let max = 10u64.pow(self.digits);
        let n = rand::random_range(0..max);
        let code = format!("{n:0width$}", width = self.digits as usize);
        let now = self.clock.now_ms();
        let mut map = self.lock();
        map.retain(|_, p| p.expires > now);
        map.insert(
            (purpose, handle.to_string()),
            Pending {
                code: code.clone(),
                issued: now,
                expires: now + CODE_TTL_MS,
                wrong: 0,
            },
        );
        code
    }

    /// A fresh code for `handle`, or None when its live code (unused,
    /// unexpired, not dead) was issued less than [`KEEP_LIVE_MS`] ago: that
    /// code stays and nothing new is printed. Once a code is used or dead,
    /// the next request gets a new one at once.
    pub fn issue_unless_live(&self, purpose: Purpose, handle: &str) -> Option<String> {
        let now = self.clock.now_ms();
        let recent = self
            .lock()
            .get(&(purpose, handle.to_string()))
            .is_some_and(|p| {
                p.expires > now && p.wrong < MAX_WRONG_PER_CODE && now - p.issued < KEEP_LIVE_MS
            });
        (!recent).then(|| self.issue(purpose, handle))
    }

    /// True (and the code is used up) when `code` is the live code.
    pub fn redeem(&self, purpose: Purpose, handle: &str, code: &str) -> bool {
        let now = self.clock.now_ms();
        let key = (purpose, handle.to_string());
        let mut map = self.lock();
        let Some(p) = map.get_mut(&key) else {
            return false;
        };
        if p.expires <= now || p.wrong >= MAX_WRONG_PER_CODE {
            map.remove(&key);
            return false;
        }
        let same =
            p.code.len() == code.len() && bool::from(p.code.as_bytes().ct_eq(code.as_bytes()));
        if same {
            map.remove(&key);
            true
        } else {
            p.wrong += 1;
            if p.wrong >= MAX_WRONG_PER_CODE {
                map.remove(&key);
            }
            false
        }
    }

    /// Drops any pending code of `handle` (account deleted).
    pub fn forget(&self, handle: &str) {
        self.lock().retain(|(_, h), _| h != handle);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Purpose, String), Pending>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle() {
        let clock = Clock::default();
        let codes = Codes::new(4, clock.clone());
        let c = codes.issue(Purpose::Recovery, "a");
        assert_eq!(c.len(), 4);
        assert!(c.bytes().all(|b| b.is_ascii_digit()));
        assert!(
            !codes.redeem(Purpose::Reset, "a", &c),
            "purposes are separate"
        );
        assert!(codes.redeem(Purpose::Recovery, "a", &c));
        assert!(!codes.redeem(Purpose::Recovery, "a", &c), "single use");

        let c = codes.issue(Purpose::Recovery, "a");
        let wrong = if c == "0000" { "0001" } else { "0000" };
        for _ in 0..3 {
            assert!(!codes.redeem(Purpose::Recovery, "a", wrong));
        }
        assert!(
            !codes.redeem(Purpose::Recovery, "a", &c),
            "dead after 3 wrong"
        );

        let c = codes.issue(Purpose::Recovery, "a");
        clock.advance(CODE_TTL_MS + 1);
        assert!(!codes.redeem(Purpose::Recovery, "a", &c), "expired");
    }

    #[test]
    fn a_live_code_is_kept_for_thirty_seconds() {
        let clock = Clock::default();
        let codes = Codes::new(4, clock.clone());
        let c = codes.issue_unless_live(Purpose::Recovery, "a").unwrap();
        clock.advance(KEEP_LIVE_MS - 1);
        assert_eq!(codes.issue_unless_live(Purpose::Recovery, "a"), None);
        assert!(
            codes.issue_unless_live(Purpose::Recovery, "b").is_some(),
            "per handle"
        );
        clock.advance(1);
        let d = codes.issue_unless_live(Purpose::Recovery, "a").unwrap();
        assert!(!codes.redeem(Purpose::Recovery, "a", &c) || c == d);
        // A used code is replaced at once.
        let e = codes.issue(Purpose::Recovery, "a");
        assert!(codes.redeem(Purpose::Recovery, "a", &e));
        assert!(codes.issue_unless_live(Purpose::Recovery, "a").is_some());
        // So is a dead one.
        let f = codes.issue(Purpose::Recovery, "a");
        let wrong = if f == "0000" { "0001" } else { "0000" };
        for _ in 0..MAX_WRONG_PER_CODE {
            codes.redeem(Purpose::Recovery, "a", wrong);
        }
        assert!(codes.issue_unless_live(Purpose::Recovery, "a").is_some());
    }
}
