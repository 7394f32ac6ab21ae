//! Sliding-window failure counters for guessable secrets: logins and
//! recovery codes, per client IP and per account; and the caps on open
//! connections. In memory, bounded.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::clock::Clock;

/// Keys tracked at most; past this, entries with no recent failure go.
const MAX_KEYS: usize = 100_000;

pub struct Limiter<K: Eq + Hash + Clone> {
    map: Mutex<HashMap<K, VecDeque<i64>>>,
    limit: usize,
    window_ms: i64,
    clock: Clock,
}

impl<K: Eq + Hash + Clone> Limiter<K> {
    pub fn new(limit: usize, window_ms: i64, clock: Clock) -> Self {
        Limiter {
            map: Mutex::new(HashMap::new()),
            limit,
            window_ms,
            clock,
        }
    }

    /// Ok, or the seconds until the key may try again.
    pub fn check(&self, key: &K) -> Result<(), u64> {
        let now = self.clock.now_ms();
        self.check_locked(&mut self.lock(), key, now)
    }

    /// Records one failure.
    pub fn fail(&self, key: &K) {
        let now = self.clock.now_ms();
        self.fail_locked(&mut self.lock(), key, now);
    }

    /// Checks the limit, runs `attempt` and counts a false result, all in
    /// one step: parallel attempts cannot all pass the check before any
    /// failure is counted. Err is the seconds to wait (`attempt` not run).
    pub fn attempt(&self, key: &K, attempt: impl FnOnce() -> bool) -> Result<bool, u64> {
        let now = self.clock.now_ms();
        let mut map = self.lock();
        self.check_locked(&mut map, key, now)?;
        let ok = attempt();
        if !ok {
            self.fail_locked(&mut map, key, now);
        }
        Ok(ok)
    }

    fn check_locked(
        &self,
        map: &mut HashMap<K, VecDeque<i64>>,
        key: &K,
        now: i64,
    ) -> Result<(), u64> {
        let Some(times) = map.get_mut(key) else {
            return Ok(());
        };
        while times.front().is_some_and(|t| now - t >= self.window_ms) {
            times.pop_front();
        }
        if times.len() >= self.limit {
            let oldest = times[times.len() - self.limit];
            let wait_ms = (oldest + self.window_ms - now).max(1000);
            return Err(((wait_ms + 999) / 1000) as u64);
        }
        Ok(())
    }

    fn fail_locked(&self, map: &mut HashMap<K, VecDeque<i64>>, key: &K, now: i64) {
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            let window = self.window_ms;
            map.retain(|_, t| t.back().is_some_and(|last| now - last < window));
        }
        let times = map.entry(key.clone()).or_default();
        times.push_back(now);
        while times.len() > self.limit * 2 {
            times.pop_front();
        }
    }

    pub fn clear(&self, key: &K) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, VecDeque<i64>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// How often at most one key's refused attempts become an audit row.
pub const REFUSALS_ROW_EVERY_MS: i64 = 60_000;

/// Counts attempts refused by a limit, so a flood against a limit costs
/// one audit row (and one hook call) per key per minute, not one each.
pub struct Refusals {
    map: Mutex<HashMap<String, Tally>>,
    clock: Clock,
}

#[derive(Default)]
struct Tally {
    /// Refusals not yet written.
    count: u64,
    /// When the last row for this key was written.
    written: Option<i64>,
}

impl Refusals {
    pub fn new(clock: Clock) -> Refusals {
        Refusals {
            map: Mutex::new(HashMap::new()),
            clock,
        }
    }

    /// Notes one refusal under `key`; Some(n) when a row for `n` refusals
    /// (this one included) is due now.
    pub fn note(&self, key: &str) -> Option<u64> {
        let now = self.clock.now_ms();
        let mut map = self.lock();
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            // Past the cap, new keys are tallied together.
            let tally = map.entry("(many)".to_string()).or_default();
            tally.count += 1;
            return None;
        }
        let tally = map.entry(key.to_string()).or_default();
        tally.count += 1;
        if tally
            .written
            .is_none_or(|t| now - t >= REFUSALS_ROW_EVERY_MS)
        {
            tally.written = Some(now);
            return Some(std::mem::take(&mut tally.count));
        }
        None
    }

    /// Keys whose unwritten refusals are due as rows (their last row is a
    /// minute old); keys quiet for a minute are forgotten.
    pub fn due(&self) -> Vec<(String, u64)> {
        let now = self.clock.now_ms();
        let mut due = Vec::new();
        self.lock().retain(|key, tally| {
            let old = tally
                .written
                .is_none_or(|t| now - t >= REFUSALS_ROW_EVERY_MS);
            if old && tally.count > 0 {
                due.push((key.clone(), std::mem::take(&mut tally.count)));
                tally.written = Some(now);
                return true;
            }
            !old
        });
        due
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Tally>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Open connections, per client address and in total.
pub struct Connections {
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    max_total: usize,
    max_per_ip: usize,
    total: std::sync::atomic::AtomicUsize,
}

/// Held while a connection is open; dropping it frees its place.
pub struct Slot {
    conns: Arc<Connections>,
    ip: IpAddr,
}

impl Connections {
    /// Caps from the process's file-descriptor limit: every proxied request
    /// holds two descriptors (client and upstream), and some stay for the
    /// database, logs and the processes' pipes.
    pub fn new(max_per_ip: usize) -> Arc<Connections> {
        let fds = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .map(|(soft, _)| soft)
            .unwrap_or(1024);
        let max_total = (fds.saturating_sub(128) / 2).clamp(64, 16_384) as usize;
        Arc::new(Connections {
            per_ip: Mutex::new(HashMap::new()),
            max_total,
            max_per_ip: max_per_ip.min(max_total),
            total: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// A place for a new connection from `ip`, or None when either cap is
    /// reached (the connection is then closed at once).
    pub fn admit(self: &Arc<Self>, ip: IpAddr, capped: bool) -> Option<Slot> {
        use std::sync::atomic::Ordering;
        let mut per_ip = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        if self.total.load(Ordering::Relaxed) >= self.max_total {
            return None;
        }
        let n = per_ip.entry(ip).or_insert(0);
        if capped && *n >= self.max_per_ip {
            return None;
        }
        *n += 1;
        self.total.fetch_add(1, Ordering::Relaxed);
        Some(Slot {
            conns: self.clone(),
            ip,
        })
    }

    pub fn max_total(&self) -> usize {
        self.max_total
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering;
        let mut per_ip = self.conns.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                per_ip.remove(&self.ip);
            }
        }
        self.conns.total.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_blocks_then_passes() {
        let clock = Clock::default();
        let l = Limiter::new(5, 60_000, clock.clone());
        for _ in 0..5 {
            assert!(l.check(&1).is_ok());
            l.fail(&1);
        }
        let wait = l.check(&1).unwrap_err();
        assert!((59..=60).contains(&wait), "{wait}");
        assert!(l.check(&2).is_ok());
        clock.advance(60_001);
        assert!(l.check(&1).is_ok());
        l.fail(&1);
        l.clear(&1);
        assert!(l.check(&1).is_ok());
    }

    #[test]
    fn refusals_make_one_row_a_minute() {
        let clock = Clock::default();
        let r = Refusals::new(clock.clone());
        assert_eq!(r.note("a"), Some(1));
        for _ in 0..99 {
            assert_eq!(r.note("a"), None);
        }
        assert_eq!(r.note("b"), Some(1), "per key");
        assert!(r.due().is_empty(), "not a minute yet");
        clock.advance(REFUSALS_ROW_EVERY_MS);
        assert_eq!(r.due(), vec![("a".to_string(), 99)]);
        assert!(r.due().is_empty());
        clock.advance(REFUSALS_ROW_EVERY_MS);
        assert!(r.due().is_empty());
        assert_eq!(r.note("a"), Some(1), "quiet keys start over");
    }
}
