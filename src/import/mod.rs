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
mod plan;
pub mod records;
mod report;
mod run;

pub use plan::plan_only;
use plan::*;
pub use report::*;
use run::*;
pub use run::{import_into, run};

use std::path::{Path, PathBuf};

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

/// True when a start should import first: `dataRoot` holds SillyTavern's
/// records and no Innkeeper database yet.
pub fn should_auto_import(data_root: &Path) -> bool {
    data_root.join(STORAGE_DIR).is_dir() && !data_root.join(DB_FILE).exists()
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
