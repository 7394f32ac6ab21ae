//! A user's settings.json and its snapshots: read with the preset lists
//! SillyTavern returns, save atomically with a throttled automatic
//! snapshot, list/load/make/restore snapshots, reset to factory defaults.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::app::{Actor, App};
use crate::error::AppError;
use crate::fields;
use crate::hooks::EventKind;
use crate::store::{self, snapshots::SnapshotRow};
use crate::userdata::{atomic, layout, safe_path, snapshots};

/// Automatic snapshots on save are at least this far apart per user.
const AUTO_SNAPSHOT_EVERY_MS: i64 = 10 * 60_000;

pub const INVALID_SNAPSHOT: &str = "Invalid snapshot name";

/// Preset folders whose files come back as raw text plus names.
const TEXT_PRESETS: &[(&str, &str, &str)] = &[
    (
        "KoboldAI Settings",
        "koboldai_settings",
        "koboldai_setting_names",
    ),
    (
        "NovelAI Settings",
        "novelai_settings",
        "novelai_setting_names",
    ),
    ("OpenAI Settings", "openai_settings", "openai_setting_names"),
    (
        "TextGen Settings",
        "textgenerationwebui_presets",
        "textgenerationwebui_preset_names",
    ),
];

/// Folders whose JSON files come back parsed.
const PARSED_PRESETS: &[(&str, &str)] = &[
    ("themes", "themes"),
    ("movingUI", "movingUIPresets"),
    ("QuickReplies", "quickReplyPresets"),
    ("instruct", "instruct"),
    ("context", "context"),
    ("sysprompt", "sysprompt"),
];

/// `.json` files (not links) of the user folder's sub-folder `folder`,
/// sorted by name: (stem, path). A folder that is a link leading out of
/// the user's folder lists nothing.
fn json_files(root: &Path, folder: &str) -> Vec<(String, PathBuf)> {
    let Ok(dir) = safe_path::resolve_in(root, "", folder) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".json")?.to_string();
            Some((stem, e.path()))
        })
        .collect();
    out.sort_by_key(|a| a.0.to_lowercase());
    out
}

/// The whole `settings/get` answer for a user folder.
pub fn read_all(dir: &Path, enable_accounts: bool, name: &str) -> Value {
    let settings = safe_path::read_confined(dir, layout::SETTINGS_FILE)
        .ok()
        .flatten()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|| layout::default_settings(name));
    let mut out = serde_json::Map::new();
    out.insert("settings".into(), Value::String(settings));
    for (folder, contents_key, names_key) in TEXT_PRESETS {
        let files = json_files(dir, folder);
        let (mut contents, mut names) = (Vec::new(), Vec::new());
        for (stem, path) in files {
            if let Ok(text) = std::fs::read_to_string(&path) {
                contents.push(Value::String(text));
                names.push(Value::String(stem));
            }
        }
        out.insert(contents_key.to_string(), Value::Array(contents));
        out.insert(names_key.to_string(), Value::Array(names));
    }
    let worlds: Vec<Value> = json_files(dir, "worlds")
        .into_iter()
        .map(|(stem, _)| Value::String(stem))
        .collect();
    out.insert("world_names".into(), Value::Array(worlds));
    for (folder, key) in PARSED_PRESETS {
        let parsed: Vec<Value> = json_files(dir, folder)
            .into_iter()
            .filter_map(|(_, p)| std::fs::read(&p).ok())
            .filter_map(|b| serde_json::from_slice(&b).ok())
            .collect();
        out.insert(key.to_string(), Value::Array(parsed));
    }
    out.insert("enable_extensions".into(), json!(true));
    out.insert("enable_extensions_auto_update".into(), json!(true));
    out.insert("enable_accounts".into(), json!(enable_accounts));
    Value::Object(out)
}

impl App {
    fn folder(&self, handle: &str) -> Result<PathBuf, AppError> {
        self.user_dir(handle).ok_or_else(AppError::user_not_found)
    }

    pub async fn settings_get(&self, handle: &str, name: &str) -> Result<Value, AppError> {
        let dir = self.folder(handle)?;
        // SillyTavern's frontend shows its account buttons only with this
        // on; a hosted app always runs in accounts mode (SPEC §11).
        let accounts = self.config.enable_user_accounts || self.hosting().is_some();
        let name = name.to_string();
        blocking(move || Ok(read_all(&dir, accounts, &name))).await
    }

    /// Writes settings.json atomically, then takes an automatic snapshot
    /// when the last one is over 10 minutes old.
    pub async fn settings_save(&self, handle: &str, value: &Value) -> Result<(), AppError> {
        let dir = self.folder(handle)?;
        let text =
            super::json_text::to_file_text(value).map_err(|e| AppError::Internal(e.to_string()))?;
        let path = dir.join(layout::SETTINGS_FILE);
        blocking(move || Ok(atomic::write_atomic(&path, text.as_bytes())?)).await?;
        let newest = self.snapshot_list(handle).await?.into_iter().next();
        if newest.is_none_or(|s| self.clock.now_ms() - s.created >= AUTO_SNAPSHOT_EVERY_MS) {
            self.snapshot_make(handle).await?;
        }
        self.refresh_persona_avatar(handle).await?;
        Ok(())
    }

    /// Makes `User Avatars/<file>` the persona picture (see
    /// `http::users::choose_persona_avatar`): settings.json is saved the
    /// usual way (atomic, with its automatic snapshot), then the custom
    /// picture is removed so the chosen one shows.
    pub async fn choose_persona_avatar(
        &self,
        actor: &Actor,
        handle: &str,
        file: &str,
    ) -> Result<(), AppError> {
        let user = self.accounts().require_user(handle).await?;
        let dir = self.folder(handle)?;
        let name = file.to_string();
        let settings = blocking(move || {
            if !layout::is_picture_name(&name)
                || name.contains(['/', '\\'])
                || safe_path::resolve_in(&dir, "User Avatars", &name).is_err()
            {
                return Err(AppError::bad("Invalid file"));
            }
            let text = safe_path::read_confined(&dir, layout::SETTINGS_FILE)?
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            let mut value: Value = text
                .and_then(|t| serde_json::from_str(&t).ok())
                .filter(Value::is_object)
                .unwrap_or_else(|| json!({}));
            value["user_avatar"] = json!(name);
            if let Some(p) = value.get_mut("power_user").filter(|p| p.is_object()) {
                if p.get("default_persona").is_some_and(|d| d.is_string()) {
                    p["default_persona"] = json!(name);
                }
            }
            Ok(value)
        })
        .await?;
        self.settings_save(handle, &settings).await?;
        if user.avatar_tag.is_some() {
            self.accounts().change_avatar(actor, handle, None).await?;
        } else {
            self.audit(
                actor,
                "user.change-avatar",
                Some(handle),
                Some(format!("persona={file}")),
            )
            .await;
        }
        Ok(())
    }

    /// Recomputes the persona picture fallback kept in SQLite. Written only
    /// when it changed, so an ordinary settings save neither writes the
    /// users table nor drops the cached account lists.
    pub async fn refresh_persona_avatar(&self, handle: &str) -> Result<(), AppError> {
        let dir = self.folder(handle)?;
        let persona = blocking(move || {
            let text = safe_path::read_confined(&dir, layout::SETTINGS_FILE)?
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            Ok(layout::persona_avatar(&dir, &text))
        })
        .await?;
        let current = self.accounts().find_user_shared(handle).await?;
        if current.is_some_and(|u| u.persona_avatar == persona) {
            return Ok(());
        }
        let h = handle.to_string();
        self.write_user(&h.clone(), move |c| {
            store::users::set_persona_avatar(c, &h, persona.as_deref())
        })
        .await?;
        Ok(())
    }

    pub async fn snapshot_list(&self, handle: &str) -> Result<Vec<SnapshotRow>, AppError> {
        let h = handle.to_string();
        Ok(self
            .store
            .run(move |c| store::snapshots::list(c, &h))
            .await?)
    }

    /// Snapshots the current settings.json. Returns None when it is
    /// identical to the newest snapshot (nothing to keep twice).
    pub async fn snapshot_make(&self, handle: &str) -> Result<Option<String>, AppError> {
        let dir = self.folder(handle)?;
        let newest = self.snapshot_list(handle).await?.into_iter().next();
        let now = self.clock.now_ms();
        let stamp = snapshots::stamp(now);
        let h = handle.to_string();
        let written = blocking(move || {
            let Some(content) = safe_path::read_confined(&dir, layout::SETTINGS_FILE)? else {
                return Ok(None);
            };
            if newest.is_some_and(|n| n.sha256 == snapshots::sha256_hex(&content)) {
                return Ok(None);
            }
            std::fs::create_dir_all(dir.join("backups"))?;
            Ok(Some(snapshots::write_new(
                &dir.join("backups"),
                &h,
                &stamp,
                &content,
            )?))
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
        self.store
            .run(move |c| store::snapshots::insert(c, &row))
            .await?;
        self.prune_snapshots(handle).await?;
        Ok(Some(w.name))
    }

    /// Keeps at most `numberOfBackups` snapshots, removing the oldest.
    async fn prune_snapshots(&self, handle: &str) -> Result<(), AppError> {
        let keep = self.config.number_of_backups.max(1) as usize;
        let list = self.snapshot_list(handle).await?;
        if list.len() <= keep {
            return Ok(());
        }
        let dir = self.folder(handle)?.join("backups");
        for old in list.into_iter().skip(keep) {
            let path = dir.join(&old.name);
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
            let (h, n) = (old.handle, old.name);
            self.store
                .run(move |c| store::snapshots::delete(c, &h, &n))
                .await?;
        }
        Ok(())
    }

    /// Path of a well-formed snapshot of `handle`: 400 for a bad name, 404
    /// when absent.
    fn snapshot_path(&self, handle: &str, name: &str) -> Result<PathBuf, AppError> {
        if !snapshots::valid_name(handle, name) {
            return Err(AppError::bad(INVALID_SNAPSHOT));
        }
        safe_path::resolve_in(&self.folder(handle)?, "backups", name)
            .map_err(|_| AppError::NotFound("Snapshot not found".into()))
    }

    pub async fn snapshot_load(&self, handle: &str, name: &str) -> Result<String, AppError> {
        let path = self.snapshot_path(handle, name)?;
        blocking(move || Ok(String::from_utf8_lossy(&std::fs::read(&path)?).into_owned())).await
    }

    /// Restores a snapshot, snapshotting the current file first.
    pub async fn snapshot_restore(&self, handle: &str, name: &str) -> Result<(), AppError> {
        let path = self.snapshot_path(handle, name)?;
        self.snapshot_make(handle).await?;
        let target = self.folder(handle)?.join(layout::SETTINGS_FILE);
        blocking(move || {
            let content = std::fs::read(&path)?;
            Ok(atomic::write_atomic(&target, &content)?)
        })
        .await?;
        self.refresh_persona_avatar(handle).await
    }

    /// Brings the snapshot index in line with the files in `backups/`
    /// (after import, a re-created user, or snapshots the hosted
    /// SillyTavern wrote itself). Only files the index does not know yet
    /// are read. Returns how many were added.
    pub async fn reindex_snapshots(&self, handle: &str) -> Result<usize, AppError> {
        let root = self.folder(handle)?;
        let h = handle.to_string();
        let known = self.store.run(move |c| indexed_names(c, &h)).await?;
        let h = handle.to_string();
        let scan = blocking(move || Ok(scan_snapshots(&root, &h, known))).await?;
        let h = handle.to_string();
        let (added, _) = self.store.run(move |c| apply_scan(c, &h, &scan)).await?;
        Ok(added)
    }

    /// The start-up check of one user's snapshots, on the repair's
    /// blocking thread: a crash between a snapshot's file and its index row
    /// (either way round) is mended. A file without a row is indexed, not
    /// removed: `snapshots::write_new` gives a file its snapshot name only
    /// once it is complete and fsynced, so such a file is a whole snapshot
    /// the user made, and only its row was lost. A row without a file is
    /// dropped: there is nothing left to list, load or restore. Failures
    /// are logged; the start goes on.
    pub fn reconcile_snapshots(&self, handle: &str) {
        let Some(root) = self.user_dir(handle) else {
            return;
        };
        // Three steps, so the database is free while the folder is read.
        let result = self
            .store
            .run_blocking(|c| indexed_names(c, handle))
            .and_then(|known| {
                let scan = scan_snapshots(&root, handle, known);
                self.store.run_blocking(|c| apply_scan(c, handle, &scan))
            });
        match result {
            Ok((0, 0)) => {}
            Ok((added, dropped)) => tracing::info!(
                "snapshots of '{handle}': indexed {added} file(s) without a row, dropped {dropped} row(s) without a file"
            ),
            Err(e) => tracing::warn!("could not check the snapshots of '{handle}': {e}"),
        }
    }

    /// Resets settings.json to the factory default (snapshotting it first);
    /// every other file stays.
    pub async fn reset_settings(
        &self,
        actor: &Actor,
        handle: &str,
        name: &str,
    ) -> Result<(), AppError> {
        self.snapshot_make(handle).await?;
        let path = self.folder(handle)?.join(layout::SETTINGS_FILE);
        let text = layout::default_settings(name);
        blocking(move || Ok(atomic::write_atomic(&path, text.as_bytes())?)).await?;
        self.refresh_persona_avatar(handle).await?;
        self.audit(actor, "settings.reset", Some(handle), None)
            .await;
        self.hook_after(
            EventKind::SettingsReset,
            Some(handle),
            actor,
            fields! { "handle" => handle, "scope" => "settings" },
        )
        .await;
        Ok(())
    }
}

/// Runs file work on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
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
        if !snapshots::valid_name(handle, &name) || !entry.file_type().is_ok_and(|t| t.is_file()) {
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
            sha256: snapshots::sha256_hex(&content),
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
