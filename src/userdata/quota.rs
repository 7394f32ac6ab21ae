//! Storage quotas (config `quotas.defaultMb`, per account `quota_mb`).
//!
//! Usage is not walked per request: each account's folder size is
//! measured once and kept; writes Innkeeper makes itself are added to it
//! as they happen, and a figure older than [`FRESH_MS`] is measured again
//! in the background while the old one still answers. Over the quota,
//! writes Innkeeper makes or forwards (settings saves and snapshots, the
//! hosted app's POSTs with a body over [`LARGE_BODY`]) get 507; reads and
//! deletes keep working and nothing stored is touched.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::app::App;
use crate::error::AppError;
use crate::store::users::UserRow;
use crate::userdata::usage::{self, human_bytes};

/// A measured size is trusted this long.
const FRESH_MS: i64 = 60_000;

/// Forwarded POSTs with bodies up to this size pass even over the quota
/// (they are API calls, deletes among them, not uploads).
pub const LARGE_BODY: u64 = 64 * 1024;

#[derive(Default)]
pub struct UsageBook {
    known: Mutex<HashMap<String, Known>>,
}

#[derive(Clone, Copy)]
struct Known {
    bytes: u64,
    measured_ms: i64,
    measuring: bool,
}

impl UsageBook {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Known>> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds bytes written (or, negative, removed) through Innkeeper.
    pub fn note(&self, handle: &str, delta: i64) {
        if let Some(k) = self.lock().get_mut(handle) {
            k.bytes = k.bytes.saturating_add_signed(delta);
        }
    }

    /// Forgets an account's figure (deleted, reset, restored).
    pub fn forget(&self, handle: &str) {
        self.lock().remove(handle);
    }
}

/// Storage quotas: a view borrowed from [`App`], so services can call each
/// other without `Arc` cycles. It borrows the `Arc<App>` rather than the
/// `App`: a stale figure is measured again in a task that outlives the
/// request, and that task keeps its own clone of the `Arc`.
pub struct Quotas<'a> {
    app: &'a Arc<App>,
}

impl App {
    /// Storage quotas and the usage they are checked against.
    pub fn quotas(self: &Arc<Self>) -> Quotas<'_> {
        Quotas { app: self }
    }
}

impl Quotas<'_> {
    /// An account's quota in bytes; None when it has none.
    pub fn quota_bytes(&self, u: &UserRow) -> Option<u64> {
        let mb = u
            .quota_mb
            .unwrap_or(self.app.config.quotas.default_mb.min(i64::MAX as u64) as i64);
        (mb > 0).then(|| (mb as u64).saturating_mul(1024 * 1024))
    }

    /// The bytes an account's folder holds, as last measured (see the
    /// module's notes); measured now only the first time.
    pub async fn used_bytes(&self, handle: &str) -> Result<u64, AppError> {
        let now = self.app.clock.now_ms();
        let known = self.app.usage_book.lock().get(handle).copied();
        match known {
            Some(k) if now - k.measured_ms < FRESH_MS || k.measuring => Ok(k.bytes),
            Some(k) => {
                if let Some(entry) = self.app.usage_book.lock().get_mut(handle) {
                    entry.measuring = true;
                }
                let (app, h) = (self.app.clone(), handle.to_string());
                tokio::spawn(async move {
                    let measured = app.quotas().measure_folder(&h).await;
                    let mut book = app.usage_book.lock();
                    match measured {
                        Ok(bytes) => {
                            book.insert(
                                h,
                                Known {
                                    bytes,
                                    measured_ms: app.clock.now_ms(),
                                    measuring: false,
                                },
                            );
                        }
                        Err(_) => {
                            book.remove(&h);
                        }
                    }
                });
                Ok(k.bytes)
            }
            None => {
                let bytes = self.measure_folder(handle).await?;
                self.app.usage_book.lock().insert(
                    handle.to_string(),
                    Known {
                        bytes,
                        measured_ms: now,
                        measuring: false,
                    },
                );
                Ok(bytes)
            }
        }
    }

    async fn measure_folder(&self, handle: &str) -> Result<u64, AppError> {
        let dir = self
            .app
            .user_dir(handle)
            .ok_or_else(AppError::user_not_found)?;
        tokio::task::spawn_blocking(move || usage::measure(&dir).map(|u| u.bytes))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?
            .map_err(|e| AppError::Internal(format!("cannot measure a folder: {e}")))
    }

    /// Refuses a write that adds `incoming` bytes to `handle`'s folder
    /// when the account is over its quota or the write would take it over.
    pub async fn check(&self, handle: &str, incoming: u64) -> Result<(), AppError> {
        let Some(user) = self.app.accounts().find_user_shared(handle).await? else {
            return Ok(());
        };
        let Some(limit) = self.quota_bytes(&user) else {
            return Ok(());
        };
        let used = self.used_bytes(handle).await?;
        if used >= limit || used.saturating_add(incoming) > limit {
            return Err(AppError::QuotaExceeded(format!(
                "Storage quota exceeded ({} of {} used)",
                human_bytes(used),
                human_bytes(limit)
            )));
        }
        Ok(())
    }
}
