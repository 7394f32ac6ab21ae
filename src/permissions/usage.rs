//! Usage limits on generations: per clock hour and per day (UTC, fixed
//! windows, so "resets at" is a time anyone can read off a clock), and
//! generations at once. Hour and day counts live in SQLite (one row per
//! user and hour) so a restart does not reset them; the check and the
//! count happen in one step on the database's single connection, so
//! parallel requests cannot slip past a limit together. Requests under
//! way are counted in memory, released when the answer's last byte is
//! sent or the browser goes away.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::Connection;

use super::profiles::Limits;
use super::PermissionError;
use crate::store::{self, StoreError};

pub const HOUR_MS: i64 = 3_600_000;
pub const HOURS_PER_DAY: i64 = 24;

/// The hour number (hours since the epoch) of `ms`.
pub fn hour_of(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS)
}

/// The first hour of the UTC day holding `hour`.
pub fn day_start(hour: i64) -> i64 {
    hour - hour.rem_euclid(HOURS_PER_DAY)
}

fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Counts so far in the current hour and day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub hour: i64,
    pub day: i64,
}

pub fn counts(conn: &Connection, handle: &str, now_ms: i64) -> Result<Counts, StoreError> {
    let hour = hour_of(now_ms);
    Ok(Counts {
        hour: store::permissions::generations_between(conn, handle, hour, hour)?,
        day: store::permissions::generations_between(conn, handle, day_start(hour), hour)?,
    })
}

/// Checks the hour and day limits and, when there is room, counts one
/// generation. Run inside one `Store::run` so check and count are one step.
pub fn take(
    conn: &Connection,
    handle: &str,
    limits: &Limits,
    now_ms: i64,
) -> Result<Result<Counts, PermissionError>, StoreError> {
    let c = counts(conn, handle, now_ms)?;
    let hour = hour_of(now_ms);
    let over = |limit: Option<u32>, n: i64| limit.is_some_and(|l| n >= l as i64);
    if over(limits.per_day, c.day) {
        let resets = (day_start(hour) + HOURS_PER_DAY) * HOUR_MS;
        return Ok(Err(limited(
            format!(
                "You have used all {} generations for today",
                limits.per_day.unwrap_or(0)
            ),
            resets,
            now_ms,
        )));
    }
    if over(limits.per_hour, c.hour) {
        let resets = (hour + 1) * HOUR_MS;
        return Ok(Err(limited(
            format!(
                "You have used all {} generations for this hour",
                limits.per_hour.unwrap_or(0)
            ),
            resets,
            now_ms,
        )));
    }
    store::permissions::count_generation(conn, handle, hour)?;
    Ok(Ok(Counts {
        hour: c.hour + 1,
        day: c.day + 1,
    }))
}

fn limited(what: String, resets_ms: i64, now_ms: i64) -> PermissionError {
    let resets_at = rfc3339(resets_ms);
    PermissionError::Limited {
        message: format!("{what}; the limit resets at {resets_at}"),
        retry_after: ((resets_ms - now_ms + 999) / 1000).max(1) as u64,
        resets_at,
    }
}

/// When the current hour's and day's windows end (RFC 3339).
pub fn resets(now_ms: i64) -> (String, String) {
    let hour = hour_of(now_ms);
    (
        rfc3339((hour + 1) * HOUR_MS),
        rfc3339((day_start(hour) + HOURS_PER_DAY) * HOUR_MS),
    )
}

/// Per-day totals of the last `days` UTC days, oldest first, as
/// ("YYYY-MM-DD", count).
pub fn daily(
    conn: &Connection,
    handle: &str,
    now_ms: i64,
    days: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    let today = day_start(hour_of(now_ms));
    let first = today - (days - 1) * HOURS_PER_DAY;
    let mut totals = vec![0i64; days as usize];
    for (hour, n) in store::permissions::generation_hours(conn, handle, first)? {
        let i = ((day_start(hour) - first) / HOURS_PER_DAY) as usize;
        if let Some(t) = totals.get_mut(i) {
            *t += n;
        }
    }
    Ok(totals
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let ms = (first + i as i64 * HOURS_PER_DAY) * HOUR_MS;
            (rfc3339(ms)[..10].to_string(), n)
        })
        .collect())
}

/// Generations under way, per account.
#[derive(Default)]
pub struct Running {
    counts: Arc<Mutex<HashMap<String, u32>>>,
}

/// One generation under way; ends when dropped.
pub struct RunningGuard {
    counts: Arc<Mutex<HashMap<String, u32>>>,
    handle: String,
}

impl Running {
    /// Takes a place for `handle` unless `at_once` are already running.
    pub fn enter(
        &self,
        handle: &str,
        at_once: Option<u32>,
        now_ms: i64,
    ) -> Result<RunningGuard, PermissionError> {
        let mut m = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(handle.to_string()).or_insert(0);
        if let Some(limit) = at_once {
            if *n >= limit {
                return Err(PermissionError::Limited {
                    message: format!(
                        "You already have {limit} generation(s) running; wait for one to finish"
                    ),
                    retry_after: 5,
                    resets_at: rfc3339(now_ms + 5_000),
                });
            }
        }
        *n += 1;
        Ok(RunningGuard {
            counts: self.counts.clone(),
            handle: handle.to_string(),
        })
    }

    pub fn of(&self, handle: &str) -> u32 {
        let m = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        m.get(handle).copied().unwrap_or(0)
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        let mut m = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.handle) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.handle);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        store::migrate::migrate(&mut c).unwrap();
        c
    }

    #[test]
    fn hour_and_day_limits_count_and_reset_on_the_clock() {
        let c = db();
        // 2026-12-07 10:30 UTC.
        let t = DateTime::parse_from_rfc3339("2026-12-07T10:30:00Z")
            .unwrap()
            .timestamp_millis();
        let limits = Limits {
            per_hour: Some(2),
            per_day: Some(3),
            at_once: None,
        };
        assert!(take(&c, "a", &limits, t).unwrap().is_ok());
        assert!(take(&c, "a", &limits, t + 1).unwrap().is_ok());
        let Err(PermissionError::Limited {
            retry_after,
            resets_at,
            ..
        }) = take(&c, "a", &limits, t + 2).unwrap()
        else {
            panic!("third in the hour passed")
        };
        assert_eq!(resets_at, "2026-12-07T11:00:00Z");
        assert_eq!(retry_after, 1800);
        // Another user is not touched.
        assert!(take(&c, "b", &limits, t).unwrap().is_ok());
        // Next hour: one more fits the day, then the day is full.
        let next = t + HOUR_MS;
        assert!(take(&c, "a", &limits, next).unwrap().is_ok());
        let Err(PermissionError::Limited { resets_at, .. }) = take(&c, "a", &limits, next).unwrap()
        else {
            panic!("fourth in the day passed")
        };
        assert_eq!(resets_at, "2026-12-08T00:00:00Z");
        assert_eq!(counts(&c, "a", next).unwrap(), Counts { hour: 1, day: 3 });
        // A new day starts empty; yesterday shows in the daily totals.
        let tomorrow = t + 24 * HOUR_MS;
        assert_eq!(
            counts(&c, "a", tomorrow).unwrap(),
            Counts { hour: 0, day: 0 }
        );
        let days = daily(&c, "a", tomorrow, 14).unwrap();
        assert_eq!(days.len(), 14);
        assert_eq!(days[12], ("2026-12-07".to_string(), 3));
        assert_eq!(days[13], ("2026-12-08".to_string(), 0));
    }

    #[test]
    fn at_once_places_are_given_back_when_dropped() {
        let r = Running::default();
        let a = r.enter("a", Some(2), 0).unwrap();
        let _b = r.enter("a", Some(2), 0).unwrap();
        assert!(r.enter("a", Some(2), 0).is_err());
        assert!(r.enter("b", Some(2), 0).is_ok());
        drop(a);
        assert_eq!(r.of("a"), 1);
        assert!(r.enter("a", Some(2), 0).is_ok());
        assert!(r.enter("a", None, 0).is_ok());
    }
}
