//! Sliding-window failure counters for guessable secrets: logins and
//! recovery codes, per client IP and per account. In memory, bounded.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;

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
        let mut map = self.lock();
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

    /// Records one failure.
    pub fn fail(&self, key: &K) {
        let now = self.clock.now_ms();
        let mut map = self.lock();
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
}
