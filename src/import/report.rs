//! What an import did or would do, per account and in total, as the
//! console prints it.

use std::fmt;
use std::path::{Path, PathBuf};

use super::*;

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
    pub(super) fn writes(self) -> bool {
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

pub(super) fn line_of(u: &LegacyUser, action: Action, avatar: bool) -> UserLine {
    UserLine {
        handle: u.handle.clone(),
        action,
        admin: u.admin,
        enabled: u.enabled,
        password: u.password.is_some(),
        avatar,
    }
}

pub(super) fn base_report(storage: &Storage, opts: &ImportOptions, data_root: &Path) -> Report {
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
