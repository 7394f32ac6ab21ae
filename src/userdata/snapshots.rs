//! Settings snapshot files: `backups/settings_<handle>_<YYYYMMDD-HHMMSS>.json`
//! in local time, with a numeric suffix when two land in one second. Names
//! are validated before any path is built from them, and no snapshot is
//! ever overwritten (files are created with `create_new`).
//!
//! [`Snapshots`] lists, makes, loads and restores them, and keeps their
//! index in SQLite in line with the files.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::app::App;
use crate::error::AppError;
use crate::store::{self, snapshots::SnapshotRow};
use crate::userdata::settings::{blocking, folder};
use crate::userdata::{atomic, layout, safe_path};

pub const INVALID_SNAPSHOT: &str = "Invalid snapshot name";

/// True for `settings_<handle>_[A-Za-z0-9_-]+.json` with the caller's handle.
pub fn valid_name(handle: &str, name: &str) -> bool {
    let Some(rest) = name
        .strip_prefix("settings_")
        .and_then(|r| r.strip_prefix(handle))
        .and_then(|r| r.strip_prefix('_'))
        .and_then(|r| r.strip_suffix(".json"))
    else {
        return false;
    };
    !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A file written by [`write_new`].
#[derive(Debug, Clone)]
pub struct Written {
    pub name: String,
    pub size: i64,
    pub sha256: String,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Writes `content` as a new snapshot in `backups_dir`, named for `stamp`
/// (`YYYYMMDD-HHMMSS`), adding `_2`, `_3`… when the name is taken.
///
/// The content goes to a temp file first (written and fsynced), which is
/// then hard-linked under the snapshot's name: the link fails when the name
/// exists, so nothing is overwritten, and a crash never leaves a torn or
/// empty snapshot (only a temp file, swept at start).
pub fn write_new(
    backups_dir: &Path,
    handle: &str,
    stamp: &str,
    content: &[u8],
) -> io::Result<Written> {
    let tmp = backups_dir.join(format!(
        "{}snapshot-{:016x}",
        super::atomic::TEMP_PREFIX,
        rand::random::<u64>()
    ));
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(content)?;
        file.sync_all()?;
        drop(file);
        for n in 1..1000u32 {
            let name = if n == 1 {
                format!("settings_{handle}_{stamp}.json")
            } else {
                format!("settings_{handle}_{stamp}_{n}.json")
            };
            match std::fs::hard_link(&tmp, backups_dir.join(&name)) {
                Ok(()) => {
                    std::fs::remove_file(&tmp)?;
                    super::atomic::sync_dir(backups_dir)?;
                    return Ok(Written {
                        name,
                        size: content.len() as i64,
                        sha256: sha256_hex(content),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other("too many snapshots in one second"))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Local-time stamp for a snapshot name.
pub fn stamp(now_ms: i64) -> String {
    use chrono::TimeZone;
    chrono::Local
        .timestamp_millis_opt(now_ms)
        .single()
        .unwrap_or_else(chrono::Local::now)
        .format("%Y%m%d-%H%M%S")
        .to_string()
}

/// A user's settings snapshots and their index: a view borrowed from [`App`],
/// so services can call each other without `Arc` cycles.
pub struct Snapshots<'a> {
    app: &'a App,
}

impl App {
    /// A user's settings snapshots: list, make, load, restore, reindex.
    pub fn snapshots(&self) -> Snapshots<'_> {
        Snapshots { app: self }
    }
}

impl Snapshots<'_> {
    pub async fn list(&self, handle: &str) -> Result<Vec<SnapshotRow>, AppError> {
        let h = handle.to_string();
        Ok(self
            .app
            .store
            .run(move |c| store::snapshots::list(c, &h))
            .await?)
    }

    /// Snapshots the current settings.json. Returns None when it is
    /// identical to the newest snapshot (nothing to keep twice).
    pub async fn make(&self, handle: &str) -> Result<Option<String>, AppError> {
        let dir = folder(self.app, handle)?;
        let newest = self.list(handle).await?.into_iter().next();
        let now = self.app.clock.now_ms();
        let stamp = stamp(now);
        let h = handle.to_string();
        let written = blocking(move || {
            let Some(content) = safe_path::read_confined(&dir, layout::SETTINGS_FILE)? else {
                return Ok(None);
            };
            if newest.is_some_and(|n| n.sha256 == sha256_hex(&content)) {
                return Ok(None);
            }
            std::fs::create_dir_all(dir.join("backups"))?;
            Ok(Some(write_new(&dir.join("backups"), &h, &stamp, &content)?))
        })
        .await?;
        let Some(w) = written else {
            return Ok(None);
        };
        let row = SnapshotRow {
            handle: handle.to_string(),
            name: w.name.clone(),
            created: now,
            size: w.size,
            sha256: w.sha256,
        };
        self.app
            .store
            .run(move |c| store::snapshots::insert(c, &row))
            .await?;
        self.prune(handle).await?;
        Ok(Some(w.name))
    }

    /// Keeps at most `numberOfBackups` snapshots, removing the oldest.
    async fn prune(&self, handle: &str) -> Result<(), AppError> {
        let keep = self.app.config.number_of_backups.max(1) as usize;
        let list = self.list(handle).await?;
        if list.len() <= keep {
            return Ok(());
        }
        let dir = folder(self.app, handle)?.join("backups");
        for old in list.into_iter().skip(keep) {
            let path = dir.join(&old.name);
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
            let (h, n) = (old.handle, old.name);
            self.app
                .store
                .run(move |c| store::snapshots::delete(c, &h, &n))
                .await?;
        }
        Ok(())
    }

    /// Path of a well-formed snapshot of `handle`: 400 for a bad name, 404
    /// when absent.
    fn path(&self, handle: &str, name: &str) -> Result<PathBuf, AppError> {
        if !valid_name(handle, name) {
            return Err(AppError::bad(INVALID_SNAPSHOT));
        }
        safe_path::resolve_in(&folder(self.app, handle)?, "backups", name)
            .map_err(|_| AppError::NotFound("Snapshot not found".into()))
    }

    pub async fn load(&self, handle: &str, name: &str) -> Result<String, AppError> {
        let path = self.path(handle, name)?;
        blocking(move || Ok(String::from_utf8_lossy(&std::fs::read(&path)?).into_owned())).await
    }

    /// Restores a snapshot, snapshotting the current file first.
    pub async fn restore(&self, handle: &str, name: &str) -> Result<(), AppError> {
        let path = self.path(handle, name)?;
        self.make(handle).await?;
        let target = folder(self.app, handle)?.join(layout::SETTINGS_FILE);
        blocking(move || {
            let content = std::fs::read(&path)?;
            Ok(atomic::write_atomic(&target, &content)?)
        })
        .await?;
        self.app.settings().refresh_persona_avatar(handle).await
    }

    /// Brings the snapshot index in line with the files in `backups/`
    /// (after import, a re-created user, or snapshots the hosted
    /// SillyTavern wrote itself). Only files the index does not know yet
    /// are read. Returns how many were added.
    pub async fn reindex(&self, handle: &str) -> Result<usize, AppError> {
        let root = folder(self.app, handle)?;
        let h = handle.to_string();
        let known = self.app.store.run(move |c| indexed_names(c, &h)).await?;
        let h = handle.to_string();
        let scan = blocking(move || Ok(scan_snapshots(&root, &h, known))).await?;
        let h = handle.to_string();
        let (added, _) = self
            .app
            .store
            .run(move |c| apply_scan(c, &h, &scan))
            .await?;
        Ok(added)
    }

    /// The start-up check of one user's snapshots, on the repair's
    /// blocking thread: a crash between a snapshot's file and its index row
    /// (either way round) is mended. A file without a row is indexed, not
    /// removed: [`write_new`] gives a file its snapshot name only once it
    /// is complete and fsynced, so such a file is a whole snapshot the user
    /// made, and only its row was lost. A row without a file is
    /// dropped: there is nothing left to list, load or restore. Failures
    /// are logged; the start goes on.
    pub fn reconcile(&self, handle: &str) {
        let Some(root) = self.app.user_dir(handle) else {
            return;
        };
        // Three steps, so the database is free while the folder is read.
        let result = self
            .app
            .store
            .run_blocking(|c| indexed_names(c, handle))
            .and_then(|known| {
                let scan = scan_snapshots(&root, handle, known);
                self.app
                    .store
                    .run_blocking(|c| apply_scan(c, handle, &scan))
            });
        match result {
            Ok((0, 0)) => {}
            Ok((added, dropped)) => tracing::info!(
                "snapshots of '{handle}': indexed {added} file(s) without a row, dropped {dropped} row(s) without a file"
            ),
            Err(e) => tracing::warn!("could not check the snapshots of '{handle}': {e}"),
        }
    }
}

/// The snapshot files found in a user's `backups/`.
struct SnapshotScan {
    /// The names indexed before the folder was read.
    indexed: std::collections::HashSet<String>,
    /// Every well-formed snapshot file there.
    present: std::collections::HashSet<String>,
    /// Rows for the files the index did not know.
    found: Vec<SnapshotRow>,
}

fn indexed_names(
    c: &rusqlite::Connection,
    handle: &str,
) -> Result<std::collections::HashSet<String>, store::StoreError> {
    Ok(store::snapshots::list(c, handle)?
        .into_iter()
        .map(|s| s.name)
        .collect())
}

/// Lists the snapshot files of `handle` under `root/backups/`, reading only
/// those not in `known` (for their size and hash). Unreadable files are
/// left for a later scan.
fn scan_snapshots(
    root: &Path,
    handle: &str,
    known: std::collections::HashSet<String>,
) -> SnapshotScan {
    let mut present = std::collections::HashSet::new();
    let mut found = Vec::new();
    let dir = safe_path::resolve_in(root, "", "backups").ok();
    for entry in dir.iter().flat_map(std::fs::read_dir).flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !valid_name(handle, &name) || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        present.insert(name.clone());
        if known.contains(&name) {
            continue;
        }
        let Ok(content) = std::fs::read(entry.path()) else {
            continue;
        };
        let created = entry
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        found.push(SnapshotRow {
            handle: handle.to_string(),
            name,
            created,
            size: content.len() as i64,
            sha256: sha256_hex(&content),
        });
    }
    SnapshotScan {
        indexed: known,
        present,
        found,
    }
}

/// Makes the index match a scan in one transaction: rows whose file is
/// gone are dropped, files without a row get one. Returns (added, dropped).
fn apply_scan(
    c: &mut rusqlite::Connection,
    handle: &str,
    scan: &SnapshotScan,
) -> Result<(usize, usize), store::StoreError> {
    let tx = c.transaction()?;
    // Read again inside the transaction: a row added since the scan began
    // (a snapshot made meanwhile) is neither dropped nor added twice.
    let known = indexed_names(&tx, handle)?;
    let mut dropped = 0;
    for gone in known
        .iter()
        .filter(|n| scan.indexed.contains(*n) && !scan.present.contains(*n))
    {
        store::snapshots::delete(&tx, handle, gone)?;
        dropped += 1;
    }
    let mut added = 0;
    for s in scan.found.iter().filter(|s| !known.contains(&s.name)) {
        store::snapshots::insert(&tx, s)?;
        added += 1;
    }
    tx.commit()?;
    Ok((added, dropped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_name("bob", "settings_bob_20240101-120000.json"));
        assert!(valid_name("bob", "settings_bob_20240101-120000_2.json"));
        for bad in [
            "settings_alice_20240101-120000.json",
            "settings_bob_.json",
            "settings_bob_/../../x.json",
            "settings_bob_..json",
            "settings_bob_a.b.json",
            "settings_bob_x.txt",
            "../settings_bob_x.json",
            "settings_bob_x\\y.json",
            "settings_bob_x\0.json",
            "",
        ] {
            assert!(!valid_name("bob", bad), "{bad:?}");
        }
        // A handle that is a prefix of another's does not leak across.
        assert!(
            !valid_name("bob", "settings_bobby_1.json")
                || valid_name("bob", "settings_bob_by_1.json")
        );
    }

    #[test]
    fn same_second_gets_a_suffix() {
        let dir = tempfile::tempdir().unwrap();
        let a = write_new(dir.path(), "bob", "20240101-120000", b"{}").unwrap();
        let b = write_new(dir.path(), "bob", "20240101-120000", b"{\"x\":1}").unwrap();
        assert_eq!(a.name, "settings_bob_20240101-120000.json");
        assert_eq!(b.name, "settings_bob_20240101-120000_2.json");
        assert_eq!(std::fs::read(dir.path().join(&a.name)).unwrap(), b"{}");
        assert_eq!(stamp(0).len(), 15);
    }
}
