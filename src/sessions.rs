//! Server-side sessions. Logged-in sessions live in memory for speed and in
//! SQLite so they survive a restart. Anonymous ones (a CSRF token before
//! login) are stateless: the cookie carries a random nonce and its time of
//! issue, and the token is an HMAC of both under a key of this server
//! process, so no amount of anonymous traffic takes memory, and a flood of
//! `/csrf-token` cannot push out anyone's token. Session ids are 256-bit
//! random values; only their SHA-256 is used as a key anywhere.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::store::{sessions as rows, Store, StoreError};

/// Inactivity is written to the database at most this often per session.
const TOUCH_EVERY_MS: i64 = 60_000;
/// Logged-in sessions one account may hold; a new one ends the oldest.
pub const MAX_SESSIONS_PER_USER: usize = 50;
/// Anonymous session cookies start with this (logged-in ids are 64 hex).
const ANON_PREFIX: &str = "anon.";
/// An anonymous token is good for this long after it was issued.
const ANON_LIFETIME_MS: i64 = 24 * 3600 * 1000;

/// One session as held in memory.
#[derive(Debug)]
pub struct Entry {
    /// None for an anonymous session.
    pub handle: Option<String>,
    pub csrf: String,
    last_seen: AtomicI64,
    written_seen: AtomicI64,
}

/// A looked-up session.
#[derive(Debug, Clone)]
pub struct Session {
    pub id_hash: String,
    pub entry: Arc<Entry>,
}

impl Session {
    pub fn handle(&self) -> Option<&str> {
        self.entry.handle.as_deref()
    }
}

/// 256 random bits as hex.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

pub fn hash_id(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// Why a session ended: told to the browser that still holds its cookie,
/// so the page can say so instead of a bare "session ended".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    LoggedOut,
    PasswordChanged,
    Disabled,
    Deleted,
    Expired,
    /// The account logged in more than the per-account cap of sessions:
    /// the oldest ended.
    TooMany,
    /// Ended from the session list, by its user on another device or by
    /// an admin.
    EndedElsewhere,
    /// Two-factor login was turned on: other sessions log in again, with
    /// a code.
    TwoFactorOn,
}

impl EndReason {
    pub fn code(self) -> &'static str {
        match self {
            EndReason::LoggedOut => "logged_out",
            EndReason::PasswordChanged => "password_changed",
            EndReason::Disabled => "disabled",
            EndReason::Deleted => "deleted",
            EndReason::Expired => "expired",
            EndReason::TooMany => "too_many_sessions",
            EndReason::EndedElsewhere => "ended_elsewhere",
            EndReason::TwoFactorOn => "two_factor_on",
        }
    }
}

/// Where a login came from, kept with its session for the session list.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: Option<String>,
    /// A short label of the browser and system.
    pub device: Option<String>,
}

/// One session as its user (or an admin) sees it in the session list.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    /// A reference to the session that is neither its cookie nor the key
    /// it is stored under.
    pub id: String,
    pub created: i64,
    pub last_seen: i64,
    pub ip: Option<String>,
    pub device: Option<String>,
    /// True for the session that asks.
    pub current: bool,
}

/// The public reference of a stored session.
pub fn reference(id_hash: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"innkeeper session reference\0");
    h.update(id_hash.as_bytes());
    hex::encode(&h.finalize()[..8])
}

/// How long, and for how many sessions at most, the reason is kept.
const ENDED_KEEP_MS: i64 = 24 * 3600 * 1000;
const ENDED_MAX: usize = 10_000;

pub struct Sessions {
    map: RwLock<HashMap<String, Arc<Entry>>>,
    /// Recently ended sessions (by id hash): why, and when.
    ended: std::sync::Mutex<HashMap<String, (EndReason, i64)>>,
    /// Bumped by every revocation, so a lookup that read the database
    /// before a revocation does not bring the session back into memory.
    revocations: std::sync::atomic::AtomicU64,
    /// Signs anonymous CSRF tokens; new with every start of the server.
    anon_key: [u8; 32],
    store: Store,
    clock: Clock,
    /// Inactivity limit; None when sessions never expire by inactivity.
    timeout_ms: Option<i64>,
    /// Whether cookies outlive the browser session.
    pub persistent_cookie: bool,
}

impl Sessions {
    pub fn new(store: Store, clock: Clock, session_timeout: i64) -> Sessions {
        Sessions {
            map: RwLock::new(HashMap::new()),
            ended: std::sync::Mutex::new(HashMap::new()),
            revocations: std::sync::atomic::AtomicU64::new(0),
            anon_key: rand::random(),
            store,
            clock,
            timeout_ms: (session_timeout > 0).then(|| session_timeout.saturating_mul(1000)),
            persistent_cookie: session_timeout != 0,
        }
    }

    fn expired(&self, last_seen: i64, now: i64) -> bool {
        self.timeout_ms.is_some_and(|t| now - last_seen > t)
    }

    /// Finds a live session for a cookie value, refreshing its inactivity.
    pub async fn lookup(&self, id: &str) -> Result<Option<Session>, StoreError> {
        if let Some(rest) = id.strip_prefix(ANON_PREFIX) {
            return Ok(self.anonymous(rest));
        }
        if id.len() != 64 {
            return Ok(None);
        }
        let id_hash = hash_id(id);
        let now = self.clock.now_ms();
        let cached = self.read_map().get(&id_hash).cloned();
        let entry = match cached {
            Some(e) => e,
            None => match self.load(&id_hash).await? {
                Some(e) => e,
                None => return Ok(None),
            },
        };
        if self.expired(entry.last_seen.load(Ordering::Relaxed), now) {
            self.revoke(&id_hash, EndReason::Expired).await?;
            return Ok(None);
        }
        entry.last_seen.fetch_max(now, Ordering::Relaxed);
        if entry.handle.is_some()
            && now - entry.written_seen.load(Ordering::Relaxed) > TOUCH_EVERY_MS
        {
            entry.written_seen.store(now, Ordering::Relaxed);
            let key = id_hash.clone();
            let store = self.store.clone();
            tokio::spawn(async move {
                if let Err(e) = store.run(move |c| rows::touch(c, &key, now)).await {
                    tracing::warn!("could not record session activity: {e}");
                }
            });
        }
        Ok(Some(Session { id_hash, entry }))
    }

    /// Reads a session the memory does not hold from the database. A
    /// revocation while it is read may have ended it: then it is read
    /// again, so a revoked session never comes back into memory.
    async fn load(&self, id_hash: &str) -> Result<Option<Arc<Entry>>, StoreError> {
        for _ in 0..3 {
            let before = self.revocations.load(Ordering::Acquire);
            let key = id_hash.to_string();
            let Some(row) = self.store.run(move |c| rows::get(c, &key)).await? else {
                return Ok(None);
            };
            let mut map = self.write_map();
            if self.revocations.load(Ordering::Acquire) != before {
                continue;
            }
            let entry = Arc::new(Entry {
                handle: Some(row.handle),
                csrf: row.csrf,
                last_seen: AtomicI64::new(row.last_seen),
                written_seen: AtomicI64::new(row.last_seen),
            });
            return Ok(Some(
                map.entry(id_hash.to_string()).or_insert(entry).clone(),
            ));
        }
        Ok(None)
    }

    /// A new anonymous session: returns the cookie value and the session.
    /// Nothing is stored.
    pub fn create_anonymous(&self) -> (String, Session) {
        let nonce: [u8; 16] = rand::random();
        let rest = format!("{}.{}", self.clock.now_ms(), hex::encode(nonce));
        let id = format!("{ANON_PREFIX}{rest}");
        let session = self
            .anonymous(&rest)
            .unwrap_or_else(|| unreachable!("a fresh anonymous cookie is valid"));
        (id, session)
    }

    /// The anonymous session of a cookie `<issued ms>.<32 hex>`, while it
    /// is young enough; its token is the HMAC of the cookie.
    fn anonymous(&self, rest: &str) -> Option<Session> {
        use hmac::{Hmac, KeyInit, Mac};
        let (issued, nonce) = rest.split_once('.')?;
        let issued: i64 = issued.parse().ok()?;
        if nonce.len() != 32 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let now = self.clock.now_ms();
        if issued > now + 60_000 || now - issued > ANON_LIFETIME_MS {
            return None;
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.anon_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"innkeeper anonymous csrf\0");
        mac.update(rest.as_bytes());
        let csrf = hex::encode(mac.finalize().into_bytes());
        Some(Session {
            id_hash: hash_id(&format!("{ANON_PREFIX}{rest}")),
            entry: Arc::new(Entry {
                handle: None,
                csrf,
                last_seen: AtomicI64::new(now),
                written_seen: AtomicI64::new(now),
            }),
        })
    }

    /// A new logged-in session for `handle`, stored before it is used —
    /// only while the account still exists, is enabled and matches
    /// `proof`; None otherwise (see [`rows::insert_checked`]).
    pub async fn login(
        &self,
        handle: &str,
        proof: rows::Proof,
        origin: Origin,
    ) -> Result<Option<(String, Session)>, StoreError> {
        let id = new_token();
        let id_hash = hash_id(&id);
        let now = self.clock.now_ms();
        let row = rows::SessionRow {
            id_hash: id_hash.clone(),
            handle: handle.to_string(),
            csrf: new_token(),
            created: now,
            last_seen: now,
            persistent: self.persistent_cookie,
            ip: origin.ip,
            device: origin.device,
        };
        let entry = Arc::new(Entry {
            handle: Some(row.handle.clone()),
            csrf: row.csrf.clone(),
            last_seen: AtomicI64::new(now),
            written_seen: AtomicI64::new(now),
        });
        let (stored, ended) = self
            .store
            .run(move |c| rows::insert_checked(c, &row, &proof, MAX_SESSIONS_PER_USER))
            .await?;
        if !stored {
            return Ok(None);
        }
        {
            let mut map = self.write_map();
            for old in &ended {
                map.remove(old);
            }
            map.insert(id_hash.clone(), entry.clone());
        }
        self.note_ended(ended, EndReason::TooMany);
        Ok(Some((id, Session { id_hash, entry })))
    }

    pub async fn revoke(&self, id_hash: &str, reason: EndReason) -> Result<(), StoreError> {
        {
            let mut map = self.write_map();
            self.revocations.fetch_add(1, Ordering::AcqRel);
            map.remove(id_hash);
        }
        let key = id_hash.to_string();
        self.store.run(move |c| rows::delete(c, &key)).await?;
        self.note_ended([id_hash.to_string()], reason);
        Ok(())
    }

    /// Ends every session of `handle` except `keep`.
    pub async fn revoke_user(
        &self,
        handle: &str,
        keep: Option<&str>,
        reason: EndReason,
    ) -> Result<(), StoreError> {
        let mut ended = Vec::new();
        {
            let mut map = self.write_map();
            self.revocations.fetch_add(1, Ordering::AcqRel);
            map.retain(|k, e| {
                let stays = e.handle.as_deref() != Some(handle) || Some(k.as_str()) == keep;
                if !stays {
                    ended.push(k.clone());
                }
                stays
            });
        }
        let (h, k) = (handle.to_string(), keep.map(str::to_string));
        ended.extend(
            self.store
                .run(move |c| rows::delete_for_user(c, &h, k.as_deref()))
                .await?,
        );
        self.note_ended(ended, reason);
        Ok(())
    }

    /// The live sessions of `handle`, newest first, with activity not yet
    /// written to the database; `current` marks the asking session.
    pub async fn list(
        &self,
        handle: &str,
        current: Option<&str>,
    ) -> Result<Vec<Listed>, StoreError> {
        let h = handle.to_string();
        let rows = self.store.run(move |c| rows::for_user(c, &h)).await?;
        let now = self.clock.now_ms();
        let map = self.read_map();
        Ok(rows
            .into_iter()
            .map(|r| {
                let seen = map.get(&r.id_hash).map_or(r.last_seen, |e| {
                    e.last_seen.load(Ordering::Relaxed).max(r.last_seen)
                });
                (r, seen)
            })
            .filter(|(_, seen)| !self.expired(*seen, now))
            .map(|(r, seen)| Listed {
                id: reference(&r.id_hash),
                created: r.created,
                last_seen: seen,
                current: current == Some(r.id_hash.as_str()),
                ip: r.ip,
                device: r.device,
            })
            .collect())
    }

    /// Ends the session of `handle` whose reference is `id`; false when
    /// it has none such.
    pub async fn revoke_reference(&self, handle: &str, id: &str) -> Result<bool, StoreError> {
        let h = handle.to_string();
        let rows = self.store.run(move |c| rows::for_user(c, &h)).await?;
        let wanted = id.as_bytes();
        let found = rows.into_iter().find(|r| {
            subtle::ConstantTimeEq::ct_eq(reference(&r.id_hash).as_bytes(), wanted).into()
        });
        match found {
            Some(r) => {
                self.revoke(&r.id_hash, EndReason::EndedElsewhere).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Why the session of cookie value `id` ended, if it ended lately.
    pub fn ended_reason(&self, id: &str) -> Option<EndReason> {
        if id.len() > 256 {
            return None;
        }
        let now = self.clock.now_ms();
        self.ended_map()
            .get(&hash_id(id))
            .filter(|(_, at)| now - at < ENDED_KEEP_MS)
            .map(|(reason, _)| *reason)
    }

    /// Lets the anonymous session `id` that replaced an ended one answer
    /// why that one ended.
    pub fn pass_on_ended(&self, id: &str, reason: EndReason) {
        self.note_ended([hash_id(id)], reason);
    }

    fn note_ended(&self, hashes: impl IntoIterator<Item = String>, reason: EndReason) {
        let now = self.clock.now_ms();
        let mut map = self.ended_map();
        for h in hashes {
            if map.len() >= ENDED_MAX {
                map.retain(|_, (_, at)| now - *at < ENDED_KEEP_MS);
                if map.len() >= ENDED_MAX {
                    return;
                }
            }
            map.insert(h, (reason, now));
        }
    }

    fn ended_map(&self) -> std::sync::MutexGuard<'_, HashMap<String, (EndReason, i64)>> {
        self.ended.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Drops cached sessions that the database no longer has (revoked by a
    /// console command while the server runs).
    pub fn retain_stored(&self, stored: &HashSet<String>) {
        let mut map = self.write_map();
        self.revocations.fetch_add(1, Ordering::AcqRel);
        map.retain(|k, _| stored.contains(k));
    }

    /// Removes idle sessions from memory and the database.
    /// Ends sessions idle past the timeout, judged by the in-memory time of
    /// last use: activity not yet written to the database (it is written at
    /// most once a minute) is written first, so a session in use is never
    /// swept for the database's older time.
    pub async fn sweep(&self) -> Result<(), StoreError> {
        let Some(t) = self.timeout_ms else {
            return Ok(());
        };
        let now = self.clock.now_ms();
        let cutoff = now - t;
        let mut fresh = Vec::new();
        let mut idle = Vec::new();
        self.write_map().retain(|k, e| {
            let seen = e.last_seen.load(Ordering::Relaxed);
            let written = e.written_seen.load(Ordering::Relaxed);
            // Only sessions whose stored time is near the cutoff need it:
            // active ones are written once a minute anyway.
            if seen > cutoff && seen > written && written <= cutoff + 2 * TOUCH_EVERY_MS {
                e.written_seen.store(seen, Ordering::Relaxed);
                fresh.push((k.clone(), seen));
            }
            if seen <= cutoff {
                idle.push(k.clone());
            }
            seen > cutoff
        });
        self.note_ended(idle, EndReason::Expired);
        self.store
            .run(move |c| {
                let tx = c.transaction()?;
                for (key, seen) in &fresh {
                    rows::touch(&tx, key, *seen)?;
                }
                rows::delete_idle(&tx, cutoff)?;
                tx.commit()?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    fn read_map(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Entry>>> {
        self.map.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_map(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<Entry>>> {
        self.map.write().unwrap_or_else(|p| p.into_inner())
    }
}
