//! The data root's lock: a running server holds an exclusive `flock` on
//! `dataRoot/.innkeeper.lock` for its whole life, and a restore takes the
//! same lock before it touches anything, so a restore can never replace
//! files (or the database) under a live server, nor two servers share one
//! root. The kernel drops the lock when its holder exits, however it exits,
//! so a crash never leaves a stale lock behind; the file itself stays (it
//! is never removed, which would let two holders lock two different files).
//!
//! Console commands (`user`, `recover`, `backup`) do not take it: they are
//! meant to run beside a live server, through SQLite's own locking.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Name of the lock file inside the data root.
pub const LOCK_FILE: &str = ".innkeeper.lock";

/// Held while alive; dropping it (or exiting) releases the lock.
#[derive(Debug)]
pub struct RootLock {
    _file: File,
    path: PathBuf,
}

impl RootLock {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "the data root is in use: {path} is locked by a running Innkeeper server (or a restore); stop it first"
    )]
    Held { path: PathBuf },
    #[error("cannot lock the data root with {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// Takes the lock of `root` (which must exist) without waiting.
pub fn acquire(root: &Path) -> Result<RootLock, LockError> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = root.join(LOCK_FILE);
    let io_error = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    // Not through a link someone put in its place.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(&path)
        .map_err(io_error)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Err(LockError::Held { path }),
        Err(TryLockError::Error(e)) => return Err(io_error(e)),
    }
    // The holder's process id, for an admin wondering who holds it.
    let noted = file
        .set_len(0)
        .and_then(|()| writeln!(file, "{}", std::process::id()));
    if let Err(e) = noted {
        tracing::debug!("could not note the process id in {}: {e}", path.display());
    }
    Ok(RootLock { _file: file, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path()).unwrap();
        let err = acquire(dir.path()).unwrap_err();
        assert!(matches!(err, LockError::Held { .. }), "{err}");
        assert!(err.to_string().contains(LOCK_FILE), "{err}");
        drop(first);
        let again = acquire(dir.path()).unwrap();
        assert!(again.path().ends_with(LOCK_FILE));
    }
}
