//! Deciding what to do: each account compared with the database, each
//! folder with what is there already; a dry run stops here.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::*;

/// The row an account record becomes.
pub(super) fn row_of(u: &LegacyUser, avatar: Option<&String>) -> UserRow {
    UserRow {
        password: u.password.clone(),
        legacy_salt: u.salt.clone(),
        admin: u.admin,
        enabled: u.enabled,
        avatar: avatar.cloned(),
        ..UserRow::new(&u.handle, &u.name, u.created)
    }
}

/// The `default-user` Innkeeper creates at first start, untouched: an
/// imported record may take its place without `--overwrite`.
pub(super) fn is_initial_default(row: &UserRow) -> bool {
    row.handle == DEFAULT_USER
        && row.password.is_none()
        && row.avatar.is_none()
        && row.admin
        && row.enabled
        && row.name == "User"
}

/// Decides what happens to one record given the account (if any) that
/// already has its handle.
pub(super) fn decide(new: &UserRow, existing: Option<&UserRow>, overwrite: bool) -> Action {
    let Some(old) = existing else {
        return Action::Create;
    };
    let same = UserRow {
        persona_avatar: old.persona_avatar.clone(),
        avatar_tag: None,
        ..new.clone()
    };
    if &same == old {
        Action::Present
    } else if is_initial_default(old) && old.created != new.created {
        Action::ReplaceDefault
    } else if overwrite {
        Action::Overwrite
    } else if old.created == new.created {
        // Imported before and changed since in Innkeeper (a password
        // upgraded at login, say): Innkeeper's state wins.
        Action::Present
    } else {
        Action::Conflict
    }
}

/// Layout folders (and settings.json) missing under `dir`.
pub(super) fn missing_layout(dir: &Path) -> usize {
    layout::FOLDERS
        .iter()
        .filter(|f| !dir.join(f).is_dir())
        .count()
        + usize::from(!dir.join(layout::SETTINGS_FILE).exists())
}

/// Snapshot files of `handle` in `dir/backups` with well-formed names.
pub(super) fn snapshot_names(dir: &Path, handle: &str) -> HashSet<String> {
    std::fs::read_dir(dir.join("backups"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| snapshots::valid_name(handle, n))
        .collect()
}

pub(super) fn folder_warnings(handle: &str, tree: &copy::Tree, kept: &[PathBuf]) -> Vec<String> {
    let mut out = Vec::new();
    let list = |paths: &[PathBuf]| {
        let mut s: Vec<String> = paths
            .iter()
            .take(5)
            .map(|p| p.display().to_string())
            .collect();
        if paths.len() > 5 {
            s.push(format!("… {} more", paths.len() - 5));
        }
        s.join(", ")
    };
    if !tree.skipped.is_empty() {
        out.push(format!(
            "{handle}: {} symbolic link(s) or special file(s) not copied: {}",
            tree.skipped.len(),
            list(&tree.skipped)
        ));
    }
    if !kept.is_empty() {
        out.push(format!(
            "{handle}: {} file(s) already in the data root differ from the source and were kept: {}",
            kept.len(),
            list(kept)
        ));
    }
    out
}

/// A dry run: the plan from the source and, if it exists, the database
/// opened read-only. Nothing is written.
pub async fn plan_only(config: &Config, opts: &ImportOptions) -> Result<Report, ImportError> {
    check_source(&opts.source)?;
    let storage = read_storage(&opts.source).await?;
    let data_root = config.data_root.clone();
    let mut report = base_report(&storage, opts, &data_root);
    let db = data_root.join(DB_FILE);
    let (existing, indexed) = blocking(move || read_existing(&db)).await?;
    for (_, u) in &storage.users {
        let avatar = storage.avatars.get(&u.handle).map(|(_, a)| a);
        let row = row_of(u, avatar);
        let action = match existing.as_ref() {
            Some(rows) => decide(&row, rows.get(&u.handle), opts.overwrite),
            // No database yet: the import would run on a fresh one, whose
            // only account is the initial default-user.
            None if u.handle == DEFAULT_USER => Action::ReplaceDefault,
            None => Action::Create,
        };
        if action.writes() && avatar.is_some() {
            report.avatars += 1;
        }
        report.users.push(line_of(u, action, avatar.is_some()));
        if action == Action::Conflict {
            continue;
        }
        let handle = u.handle.clone();
        let source = opts.source.join(&handle);
        let dest = data_root.join(&handle);
        let in_place = report.in_place;
        let known: HashSet<String> = indexed.get(&handle).cloned().unwrap_or_default();
        let (folders, snaps, files, bytes, present, warnings) = blocking(move || {
            let mut files = 0;
            let mut bytes = 0;
            let mut present = 0;
            let mut warnings = Vec::new();
            let mut on_disk = snapshot_names(&dest, &handle);
            if !in_place {
                let tree = copy::scan(&source).map_err(|e| ImportError::Read {
                    path: source.clone(),
                    source: e,
                })?;
                let mut kept = Vec::new();
                for (rel, len) in &tree.files {
                    match std::fs::metadata(dest.join(rel)) {
                        Ok(m) if m.len() == *len => present += 1,
                        Ok(_) => kept.push(rel.clone()),
                        Err(_) => {
                            files += 1;
                            bytes += len;
                        }
                    }
                }
                warnings = folder_warnings(&handle, &tree, &kept);
                on_disk.extend(snapshot_names(&source, &handle));
            }
            let folders = if in_place || dest.is_dir() {
                missing_layout(&dest)
            } else {
                missing_layout(&source)
            };
            let snaps = on_disk.difference(&known).count();
            Ok((folders, snaps, files, bytes, present, warnings))
        })
        .await?;
        report.folders_created += folders;
        report.snapshots += snaps;
        report.files_copied += files;
        report.bytes_copied += bytes;
        report.files_present += present;
        report.warnings.extend(warnings);
    }
    Ok(report)
}

pub(super) type Existing = (
    Option<HashMap<String, UserRow>>,
    HashMap<String, HashSet<String>>,
);

/// Accounts and indexed snapshot names of an existing database, read
/// without writing anything (no migration, no WAL checkpoint).
pub(super) fn read_existing(db: &Path) -> Result<Existing, ImportError> {
    if !db.exists() {
        return Ok((None, HashMap::new()));
    }
    // A read-only connection to a WAL database still creates the -shm and
    // -wal files. Without a -wal file there is nothing beyond the main
    // file to read, so open it as immutable (no side files at all); with
    // one (a server is running) the side files exist already.
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
        | rusqlite::OpenFlags::SQLITE_OPEN_URI;
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    let conn = if Path::new(&wal).exists() {
        rusqlite::Connection::open_with_flags(db, flags)
    } else {
        let url = format!(
            "file:{}?immutable=1",
            percent_encoding::utf8_percent_encode(
                &db.to_string_lossy(),
                percent_encoding::NON_ALPHANUMERIC
            )
            .to_string()
            .replace("%2F", "/")
        );
        rusqlite::Connection::open_with_flags(url, flags)
    }
    .map_err(StoreError::from)?;
    let rows = store::users::list(&conn)?;
    let mut indexed: HashMap<String, HashSet<String>> = HashMap::new();
    for r in &rows {
        let names = store::snapshots::list(&conn, &r.handle)?
            .into_iter()
            .map(|s| s.name)
            .collect();
        indexed.insert(r.handle.clone(), names);
    }
    Ok((
        Some(rows.into_iter().map(|r| (r.handle.clone(), r)).collect()),
        indexed,
    ))
}
