//! Importing a SillyTavern data root (SPEC §10): its accounts and avatars
//! from `_storage/`, its users' folders, and the settings snapshots in them.
//!
//! The import only adds. It never moves, rewrites or deletes a file of the
//! source root; when the source is `dataRoot` itself the files stay where
//! they are, otherwise each user's folder is copied in (see [`copy`]).
//! Top-level folders that belong to no user (`_storage`, caches) are not
//! copied. Every step can run again: an account already imported is
//! recognised by its handle and creation time, files already copied are
//! recognised by size and time, so a second run changes nothing and an
//! interrupted one finishes on the next.
//!
//! A dry run reads the source and, when there is one, the database
//! (read-only), and writes nothing at all.

pub mod copy;
pub mod records;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::accounts::handle::DEFAULT_USER;
use crate::app::{Actor, App, OpenError};
use crate::clock::Clock;
use crate::config::Config;
use crate::console::Console;
use crate::store::{self, users::UserRow, StoreError, DB_FILE};
use crate::userdata::{layout, snapshots};

use records::{LegacyUser, Problem, Storage};

/// Name of SillyTavern's record folder inside its data root.
pub const STORAGE_DIR: &str = "_storage";

/// Per-user lines shown before the report only gives counts.
const LISTED_USERS: usize = 100;

/// What to import and how.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The SillyTavern data root (the folder holding `_storage/`).
    pub source: PathBuf,
    /// Print the plan only; write nothing.
    pub dry_run: bool,
    /// Replace accounts whose handle already exists in Innkeeper.
    pub overwrite: bool,
    /// Draw a progress bar on stderr (only when it is a terminal).
    pub progress: bool,
}

/// Errors that stop an import. Problems with single records are not
/// errors: they are listed in the [`Report`].
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0} has no {STORAGE_DIR} folder: is it a SillyTavern data root?")]
    NoStorage(PathBuf),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot prepare the folder of '{handle}': {source}")]
    Folder {
        handle: String,
        source: std::io::Error,
    },
    #[error("copying the folder of '{handle}' stopped ({source}); the accounts are in place, run the import again to finish the copy")]
    Copy {
        handle: String,
        source: copy::CopyError,
    },
    #[error("cannot index the snapshots of '{handle}': {message}")]
    Snapshots { handle: String, message: String },
    #[error("the import task failed: {0}")]
    Task(String),
}

/// What happens to one account record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A new account.
    Create,
    /// Takes the place of the `default-user` Innkeeper made at first start
    /// and nobody has changed since.
    ReplaceDefault,
    /// Replaces an existing account (`--overwrite`).
    Overwrite,
    /// This account was imported before (same handle and creation time).
    Present,
    /// Another account has this handle; left alone.
    Conflict,
}

impl Action {
    fn writes(self) -> bool {
        matches!(
            self,
            Action::Create | Action::ReplaceDefault | Action::Overwrite
        )
    }
}

/// One account of the plan.
#[derive(Debug, Clone)]
pub struct UserLine {
    pub handle: String,
    pub action: Action,
    pub admin: bool,
    pub enabled: bool,
    pub password: bool,
    pub avatar: bool,
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub source: PathBuf,
    pub data_root: PathBuf,
    /// The source is `dataRoot`: files stay in place.
    pub in_place: bool,
    pub dry_run: bool,
    pub users: Vec<UserLine>,
    pub avatars: usize,
    /// Snapshots added to the index.
    pub snapshots: usize,
    /// Layout folders (and default settings files) created.
    pub folders_created: usize,
    pub files_copied: u64,
    pub bytes_copied: u64,
    /// Files found already copied.
    pub files_present: u64,
    /// Records with keys the importer does not use.
    pub ignored_records: usize,
    /// Records skipped, with their file names.
    pub skipped_records: Vec<Problem>,
    pub warnings: Vec<String>,
}

impl Report {
    pub fn count(&self, action: Action) -> usize {
        self.users.iter().filter(|u| u.action == action).count()
    }

    /// True when the import changed (or would change) something.
    pub fn changed(&self) -> bool {
        self.users.iter().any(|u| u.action.writes())
            || self.snapshots > 0
            || self.folders_created > 0
            || self.files_copied > 0
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let would = if self.dry_run { "would be " } else { "" };
        writeln!(
            f,
            "SillyTavern import from {}{}",
            self.source.display(),
            if self.dry_run {
                " (dry run: nothing was written)"
            } else {
                ""
            }
        )?;
        if self.in_place {
            writeln!(
                f,
                "  The source is the data root: user files stay where they are."
            )?;
        } else {
            writeln!(
                f,
                "  User folders {}copied into {} (existing files are kept).",
                would,
                self.data_root.display()
            )?;
        }
        let notable: Vec<&UserLine> = self
            .users
            .iter()
            .filter(|u| u.action != Action::Present)
            .collect();
        for u in notable.iter().take(LISTED_USERS) {
            let what = match (u.action, self.dry_run) {
                (Action::Create, false) => "imported",
                (Action::Create, true) => "would be imported",
                (Action::ReplaceDefault, false) => {
                    "imported, replacing the initial default account"
                }
                (Action::ReplaceDefault, true) => {
                    "would be imported, replacing the initial default account"
                }
                (Action::Overwrite, false) => "imported, replacing the existing account",
                (Action::Overwrite, true) => "would be imported, replacing the existing account",
                (Action::Conflict, _) => {
                    "skipped: an account with this handle already exists (--overwrite replaces it)"
                }
                (Action::Present, _) => "already imported",
            };
            let mut traits = Vec::new();
            if u.action != Action::Conflict {
                if u.admin {
                    traits.push("admin");
                }
                if !u.enabled {
                    traits.push("disabled");
                }
                traits.push(if u.password {
                    "password"
                } else {
                    "no password"
                });
                if u.avatar {
                    traits.push("avatar");
                }
            }
            let traits = if traits.is_empty() {
                String::new()
            } else {
                format!(" ({})", traits.join(", "))
            };
            writeln!(f, "  {}: {what}{traits}", u.handle)?;
        }
        if notable.len() > LISTED_USERS {
            writeln!(f, "  … and {} more", notable.len() - LISTED_USERS)?;
        }
        writeln!(
            f,
            "Users: {} {would}imported, {} {would}replaced, {} already present, {} skipped",
            self.count(Action::Create),
            self.count(Action::ReplaceDefault) + self.count(Action::Overwrite),
            self.count(Action::Present),
            self.count(Action::Conflict),
        )?;
        writeln!(f, "Avatars {would}imported: {}", self.avatars)?;
        writeln!(f, "Snapshots {would}indexed: {}", self.snapshots)?;
        writeln!(f, "Folders {would}created: {}", self.folders_created)?;
        if !self.in_place {
            writeln!(
                f,
                "Files {would}copied: {} ({}); already present: {}",
                self.files_copied,
                crate::userdata::usage::human_bytes(self.bytes_copied),
                self.files_present
            )?;
        }
        writeln!(
            f,
            "Records with other keys (ignored): {}",
            self.ignored_records
        )?;
        if !self.skipped_records.is_empty() {
            writeln!(f, "Records skipped ({}):", self.skipped_records.len())?;
            for p in &self.skipped_records {
                writeln!(f, "  {p}")?;
            }
        }
        if !self.warnings.is_empty() {
            writeln!(f, "Warnings ({}):", self.warnings.len())?;
            for w in &self.warnings {
                writeln!(f, "  {w}")?;
            }
        }
        if !self.changed() {
            writeln!(
                f,
                "Nothing {}: everything was already imported.",
                if self.dry_run { "to do" } else { "changed" }
            )?;
        }
        Ok(())
    }
}

/// True when a start should import first: `dataRoot` holds SillyTavern's
/// records and no Innkeeper database yet.
pub fn should_auto_import(data_root: &Path) -> bool {
    data_root.join(STORAGE_DIR).is_dir() && !data_root.join(DB_FILE).exists()
}

/// The command: a dry run reads only; a real run opens the data root
/// (creating the database) and imports into it.
pub async fn run(config: &Config, opts: &ImportOptions) -> Result<Report, ImportError> {
    if opts.dry_run {
        return plan_only(config, opts).await;
    }
    check_source(&opts.source)?;
    let app = App::open(config.clone(), Clock::default(), Console::default())?;
    import_into(&app, opts).await
}

fn check_source(source: &Path) -> Result<(), ImportError> {
    if source.join(STORAGE_DIR).is_dir() {
        Ok(())
    } else {
        Err(ImportError::NoStorage(source.to_path_buf()))
    }
}

/// Same folder, by canonical path (a missing destination is not the same).
fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ImportError> + Send + 'static,
) -> Result<T, ImportError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ImportError::Task(e.to_string()))?
}

async fn read_storage(source: &Path) -> Result<Storage, ImportError> {
    let dir = source.join(STORAGE_DIR);
    blocking(move || {
        records::read_dir(&dir).map_err(|source| ImportError::Read { path: dir, source })
    })
    .await
}

/// The row an account record becomes.
fn row_of(u: &LegacyUser, avatar: Option<&String>) -> UserRow {
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
fn is_initial_default(row: &UserRow) -> bool {
    row.handle == DEFAULT_USER
        && row.password.is_none()
        && row.avatar.is_none()
        && row.admin
        && row.enabled
        && row.name == "User"
}

/// Decides what happens to one record given the account (if any) that
/// already has its handle.
fn decide(new: &UserRow, existing: Option<&UserRow>, overwrite: bool) -> Action {
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

fn line_of(u: &LegacyUser, action: Action, avatar: bool) -> UserLine {
    UserLine {
        handle: u.handle.clone(),
        action,
        admin: u.admin,
        enabled: u.enabled,
        password: u.password.is_some(),
        avatar,
    }
}

fn base_report(storage: &Storage, opts: &ImportOptions, data_root: &Path) -> Report {
    let warnings = storage.warnings.iter().map(|p| p.to_string()).collect();
    Report {
        source: opts.source.clone(),
        data_root: data_root.to_path_buf(),
        in_place: same_folder(&opts.source, data_root),
        dry_run: opts.dry_run,
        ignored_records: storage.ignored,
        skipped_records: storage.skipped.clone(),
        warnings,
        ..Report::default()
    }
}

/// Layout folders (and settings.json) missing under `dir`.
fn missing_layout(dir: &Path) -> usize {
    layout::FOLDERS
        .iter()
        .filter(|f| !dir.join(f).is_dir())
        .count()
        + usize::from(!dir.join(layout::SETTINGS_FILE).exists())
}

/// Snapshot files of `handle` in `dir/backups` with well-formed names.
fn snapshot_names(dir: &Path, handle: &str) -> HashSet<String> {
    std::fs::read_dir(dir.join("backups"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| snapshots::valid_name(handle, n))
        .collect()
}

fn folder_warnings(handle: &str, tree: &copy::Tree, kept: &[PathBuf]) -> Vec<String> {
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

type Existing = (
    Option<HashMap<String, UserRow>>,
    HashMap<String, HashSet<String>>,
);

/// Accounts and indexed snapshot names of an existing database, read
/// without writing anything (no migration, no WAL checkpoint).
fn read_existing(db: &Path) -> Result<Existing, ImportError> {
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

fn progress_bar(opts: &ImportOptions, users: usize, bytes: u64) -> ProgressBar {
    // Small roots finish before a bar would be readable.
    let worth_it = users >= 20 || bytes >= 64 * 1024 * 1024;
    let target = if opts.progress && worth_it && std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(bytes.max(users as u64)), target);
    let template = if bytes > 0 {
        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta}) {msg}"
    } else {
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} users {msg}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// Imports into an open data root: accounts first (one transaction), then
/// each user's folder (copy, layout, snapshot index, persona picture).
pub async fn import_into(app: &Arc<App>, opts: &ImportOptions) -> Result<Report, ImportError> {
    check_source(&opts.source)?;
    let storage = read_storage(&opts.source).await?;
    let mut report = base_report(&storage, opts, &app.data_root);
    let existing: HashMap<String, UserRow> = app
        .store
        .run(|c| store::users::list(c))
        .await?
        .into_iter()
        .map(|r| (r.handle.clone(), r))
        .collect();

    let mut plan = Vec::new();
    for (_, u) in &storage.users {
        let avatar = storage.avatars.get(&u.handle).map(|(_, a)| a);
        let row = row_of(u, avatar);
        let action = decide(&row, existing.get(&u.handle), opts.overwrite);
        if action.writes() && avatar.is_some() {
            report.avatars += 1;
        }
        report.users.push(line_of(u, action, avatar.is_some()));
        plan.push((row, action));
    }

    // Accounts, all or none.
    let writes: Vec<(UserRow, Action)> = plan.iter().filter(|(_, a)| a.writes()).cloned().collect();
    let now = app.clock.now_ms();
    if !writes.is_empty() {
        // Through write_users, so a running App's in-memory account list
        // (the first start's) sees the imported accounts.
        app.write_users(move |c| {
            let tx = c.transaction()?;
            for (row, action) in &writes {
                match action {
                    Action::Create => {
                        store::users::insert(&tx, row)?;
                    }
                    _ => store::users::replace(&tx, row)?,
                }
                let detail = match action {
                    Action::Create => "imported from SillyTavern",
                    _ => "imported from SillyTavern, replacing the existing account",
                };
                store::audit::insert(
                    &tx,
                    now,
                    Some("(console)"),
                    "user.import",
                    Some(&row.handle),
                    None,
                    Some(detail),
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await?;
    }

    // Folders. A conflicting account keeps its own folder untouched.
    let folders: Vec<(String, String, Action)> = plan
        .iter()
        .filter(|(_, a)| *a != Action::Conflict)
        .map(|(r, a)| (r.handle.clone(), r.name.clone(), *a))
        .collect();
    let trees = if report.in_place {
        None
    } else {
        let source = opts.source.clone();
        let handles: Vec<String> = folders.iter().map(|(h, _, _)| h.clone()).collect();
        Some(
            blocking(move || {
                handles
                    .into_iter()
                    .map(|h| {
                        let dir = source.join(&h);
                        copy::scan(&dir).map_err(|e| ImportError::Read {
                            path: dir,
                            source: e,
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?,
        )
    };
    let total_bytes = trees
        .as_ref()
        .map(|t| t.iter().map(|t| t.bytes).sum())
        .unwrap_or(0);
    let bar = progress_bar(opts, folders.len(), total_bytes);
    let mut trees = trees.map(Vec::into_iter);
    for (handle, name, action) in folders {
        bar.set_message(handle.clone());
        let tree = trees.as_mut().and_then(Iterator::next);
        let source = opts.source.join(&handle);
        let dest =
            layout::user_dir(&app.data_root, &handle).ok_or_else(|| ImportError::Folder {
                handle: handle.clone(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "invalid handle"),
            })?;
        let (h, b, root) = (handle.clone(), bar.clone(), app.data_root.clone());
        let (copied, folders_made, warnings) = blocking(move || {
            let mut copied = copy::Copied::default();
            let mut warnings = Vec::new();
            if let Some(tree) = &tree {
                copied =
                    copy::copy_tree(&source, &dest, tree, &mut |n| b.inc(n)).map_err(|source| {
                        ImportError::Copy {
                            handle: h.clone(),
                            source,
                        }
                    })?;
                warnings = folder_warnings(&h, tree, &copied.kept);
            } else {
                b.inc(1);
            }
            let missing = missing_layout(&dest);
            layout::ensure(&root, &h, &name).map_err(|source| ImportError::Folder {
                handle: h.clone(),
                source,
            })?;
            Ok((copied, missing, warnings))
        })
        .await?;
        report.files_copied += copied.files;
        report.bytes_copied += copied.bytes;
        report.files_present += copied.present;
        report.folders_created += folders_made;
        report.warnings.extend(warnings);
        report.snapshots +=
            app.reindex_snapshots(&handle)
                .await
                .map_err(|e| ImportError::Snapshots {
                    handle: handle.clone(),
                    message: format!("{e:?}"),
                })?;
        if action.writes() {
            if let Err(e) = app.refresh_persona_avatar(&handle).await {
                report
                    .warnings
                    .push(format!("{handle}: persona picture not read ({e:?})"));
            }
        }
    }
    bar.finish_and_clear();
    if report.changed() {
        app.audit(
            &Actor::console(),
            "import.sillytavern",
            None,
            Some(format!(
                "{}: {} imported, {} replaced",
                opts.source.display(),
                report.count(Action::Create),
                report.count(Action::ReplaceDefault) + report.count(Action::Overwrite)
            )),
        )
        .await;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(handle: &str, created: i64) -> UserRow {
        UserRow {
            admin: true,
            ..UserRow::new(handle, "User", created)
        }
    }

    #[test]
    fn decisions() {
        let new = row("bob", 5);
        assert_eq!(decide(&new, None, false), Action::Create);
        assert_eq!(decide(&new, Some(&new), false), Action::Present);
        assert_eq!(decide(&new, Some(&new), true), Action::Present);
        let other = UserRow {
            name: "Someone else".into(),
            ..row("bob", 9)
        };
        assert_eq!(decide(&new, Some(&other), false), Action::Conflict);
        assert_eq!(decide(&new, Some(&other), true), Action::Overwrite);
        // Imported, then the password was upgraded at login.
        let upgraded = UserRow {
            password: Some("$scrypt$...".into()),
            ..new.clone()
        };
        assert_eq!(decide(&new, Some(&upgraded), false), Action::Present);
        // The initial default-user gives way; a changed one does not.
        let imported = UserRow {
            password: Some("h".into()),
            legacy_salt: Some("s".into()),
            ..row(DEFAULT_USER, 5)
        };
        assert_eq!(
            decide(&imported, Some(&row(DEFAULT_USER, 99)), false),
            Action::ReplaceDefault
        );
        let changed = UserRow {
            password: Some("$scrypt$x".into()),
            ..row(DEFAULT_USER, 99)
        };
        assert_eq!(decide(&imported, Some(&changed), false), Action::Conflict);
    }

    #[test]
    fn bytes_read_well() {
        assert_eq!(crate::userdata::usage::human_bytes(10), "10 bytes");
        assert_eq!(crate::userdata::usage::human_bytes(1536), "1.5 KiB");
        assert_eq!(
            crate::userdata::usage::human_bytes(5 * 1024 * 1024),
            "5.0 MiB"
        );
    }
}
