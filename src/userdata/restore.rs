//! Restoring a whole-root backup (`innkeeper restore`).
//!
//! Nothing in the data root changes until the whole archive has proved
//! sound: its entries are checked, then unpacked into a hidden folder this
//! restore makes inside the target (same file system, so the last step is
//! a rename), each file read to its end so its CRC is checked, and the
//! database among them must be a SQLite file that passes
//! `PRAGMA integrity_check`. Only then are the unpacked top-level entries
//! renamed into place. A corrupt entry, a name the file system refuses, a
//! clash or a cap reached leaves the data root as it was.
//!
//! - Names: relative paths of plain components (a `./` prefix is fine).
//!   `..`, absolute paths, backslashes, NUL, drive letters and links are
//!   refused before anything is written (zip-slip safe).
//! - Links already in the target are never written through: files are only
//!   created inside the folder this restore just made, and an entry of the
//!   target that the archive replaces (a link included) is moved aside by
//!   name, never followed.
//! - Size: see [`MAX_RATIO`]. Bytes are counted as they are written, so an
//!   entry that declares less than it holds is stopped too.
//! - A live server holds the data root's lock (see `root_lock`); the
//!   restore takes it first and stops when it cannot.
//! - The database's `-wal` and `-shm` files are replaced along with it: a
//!   stale write-ahead log next to a restored database would be replayed
//!   into it at the next start.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Component, Path, PathBuf};

use super::atomic::TEMP_PREFIX;
use super::root_lock::{self, LockError, LOCK_FILE};
use crate::store::DB_FILE;

/// An archive may unpack to at most this many times its own size, and an
/// entry over [`RATIO_FLOOR`] to at most this many times its compressed
/// size. Chats and settings deflate 5 to 20 times, pictures not at all;
/// deflate reaches about 1000 on repeated bytes, which is what a zip bomb
/// is made of. A 3 MiB archive thus writes at most 600 MiB.
pub const MAX_RATIO: u64 = 200;
/// Entries up to this size are not held to the ratio one by one (a small
/// empty file compresses beyond any ratio); the archive's total still is.
pub const RATIO_FLOOR: u64 = 1 << 20;
/// The total never has to be below this, however small the archive.
pub const MIN_TOTAL: u64 = 64 << 20;
/// Entries in one archive (each one a file or folder on disk).
pub const MAX_ENTRIES: usize = 1_000_000;

/// Prefix of the folder an archive is unpacked into.
const STAGE: &str = "restore-";
/// Prefix of the folder replaced entries are moved to until the end.
const ASIDE: &str = "replaced-";

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("cannot read the archive {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("{0} is not a valid zip archive: {1}")]
    NotZip(PathBuf, String),
    #[error("the archive entry {0:?} would land outside the data root; nothing was restored")]
    Unsafe(String),
    #[error(
        "the archive entry {0:?} is a symbolic link (backups never hold links); nothing was restored"
    )]
    Link(String),
    #[error(
        "the archive entry {0:?} clashes with another entry of the same name; nothing was restored"
    )]
    Clash(String),
    #[error("the archive holds {0} entries, more than {MAX_ENTRIES}; nothing was restored")]
    TooManyEntries(usize),
    #[error(
        "the archive entry {entry:?} {reason} (a guard against zip bombs); nothing was restored"
    )]
    Bomb { entry: String, reason: String },
    #[error(
        "the archive would unpack to more than {cap} bytes, {MAX_RATIO} times its own size (a guard against zip bombs); nothing was restored"
    )]
    TooLarge { cap: u64 },
    #[error("cannot restore the archive entry {name:?}: {source}; nothing was restored")]
    Entry { name: String, source: io::Error },
    #[error(
        "the archive's {name} is not a sound SQLite database ({reason}); nothing was restored"
    )]
    BadDatabase { name: String, reason: String },
    #[error("the data root {0} is not empty (use --force to restore into it anyway)")]
    NotEmpty(PathBuf),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("could not put the restored files in place: {0}")]
    Place(String),
    #[error("restore failed: {0}")]
    Io(#[from] io::Error),
}

/// One entry to unpack.
struct Planned {
    index: usize,
    name: String,
    rel: PathBuf,
    dir: bool,
    size: u64,
}

/// Extracts `archive` into `target` (see the module's notes). Returns the
/// number of files written.
pub fn restore(archive: &Path, target: &Path, force: bool) -> Result<usize, RestoreError> {
    let open_error = |source| RestoreError::Open {
        path: archive.to_path_buf(),
        source,
    };
    let file = File::open(archive).map_err(open_error)?;
    let archive_len = file.metadata().map_err(open_error)?.len();
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| RestoreError::NotZip(archive.to_path_buf(), e.to_string()))?;
    let cap = archive_len.saturating_mul(MAX_RATIO).max(MIN_TOTAL);
    let plan = check_entries(&mut zip, archive, cap)?;

    fs::create_dir_all(target)?;
    let _lock = root_lock::acquire(target)?;
    clear_unfinished(target);
    if !force && holds_data(target)? {
        return Err(RestoreError::NotEmpty(target.to_path_buf()));
    }
    let stage = target.join(format!(
        "{TEMP_PREFIX}{STAGE}{:016x}",
        rand::random::<u64>()
    ));
    fs::create_dir(&stage)?;
    let result = unpack(&mut zip, &plan, &stage, cap)
        .and_then(|files| check_database(&stage).map(|()| files))
        .and_then(|files| put_in_place(&stage, target).map(|()| files));
    if let Err(e) = fs::remove_dir_all(&stage) {
        tracing::warn!("could not remove {}: {e}", stage.display());
    }
    result
}

/// Checks every entry's name, kind and size before anything is written.
fn check_entries<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    archive: &Path,
    cap: u64,
) -> Result<Vec<Planned>, RestoreError> {
    if zip.len() > MAX_ENTRIES {
        return Err(RestoreError::TooManyEntries(zip.len()));
    }
    let mut planned = Vec::with_capacity(zip.len());
    let mut seen = HashSet::new();
    let mut total = 0u64;
    for index in 0..zip.len() {
        let entry = zip
            .by_index_raw(index)
            .map_err(|e| RestoreError::NotZip(archive.to_path_buf(), e.to_string()))?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let rel = safe_entry(&name).ok_or_else(|| RestoreError::Unsafe(name.clone()))?;
        let dir = entry.is_dir();
        if rel.as_os_str().is_empty() {
            // "./": the root itself, which exists.
            if dir {
                continue;
            }
            return Err(RestoreError::Unsafe(name));
        }
        if entry.is_symlink() {
            return Err(RestoreError::Link(name));
        }
        if managed_here(&rel) {
            tracing::info!("left out the archive entry {name:?}: not data to restore");
            continue;
        }
        if !seen.insert(rel.clone()) {
            return Err(RestoreError::Clash(name));
        }
        let size = if dir { 0 } else { entry.size() };
        let packed = entry.compressed_size();
        if size > RATIO_FLOOR && size / MAX_RATIO > packed {
            return Err(RestoreError::Bomb {
                entry: name,
                reason: format!(
                    "declares {size} bytes from {packed} compressed, more than {MAX_RATIO} times"
                ),
            });
        }
        total = total.saturating_add(size);
        if total > cap {
            return Err(RestoreError::TooLarge { cap });
        }
        planned.push(Planned {
            index,
            name,
            rel,
            dir,
            size,
        });
    }
    Ok(planned)
}

/// Top-level names the restore leaves out: the lock, temp files and
/// folders, and the database's shared-memory index (rebuilt on open, and
/// wrong for any other file).
fn managed_here(rel: &Path) -> bool {
    let mut parts = rel.components();
    let top = parts
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    top == LOCK_FILE
        || top.starts_with(TEMP_PREFIX)
        || (parts.next().is_none() && top == format!("{DB_FILE}-shm"))
}

/// Writes every planned entry under `stage`, counting the bytes really
/// written against the entry's declared size and the archive's cap.
fn unpack<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    plan: &[Planned],
    stage: &Path,
    cap: u64,
) -> Result<usize, RestoreError> {
    let mut files = 0;
    let mut total = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    for p in plan {
        let fail = |source: io::Error| RestoreError::Entry {
            name: p.name.clone(),
            source,
        };
        let dest = stage.join(&p.rel);
        if p.dir {
            fs::create_dir_all(&dest).map_err(fail)?;
            continue;
        }
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(fail)?;
        }
        let mut entry = zip
            .by_index(p.index)
            .map_err(|e| fail(io::Error::other(e)))?;
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&dest)
            .map_err(|e| match e.kind() {
                io::ErrorKind::AlreadyExists => RestoreError::Clash(p.name.clone()),
                _ => fail(e),
            })?;
        let mut got = 0u64;
        // Each turn writes at least one byte, and the bytes are capped.
        loop {
            let n = match entry.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(fail(e)),
            };
            got += n as u64;
            total += n as u64;
            if got > p.size {
                return Err(RestoreError::Bomb {
                    entry: p.name.clone(),
                    reason: format!("holds more than the {} bytes it declares", p.size),
                });
            }
            if total > cap {
                return Err(RestoreError::TooLarge { cap });
            }
            out.write_all(&buf[..n]).map_err(fail)?;
        }
        out.sync_all().map_err(fail)?;
        files += 1;
    }
    Ok(files)
}

/// The unpacked database, if the archive has one, must be SQLite and
/// pass `PRAGMA integrity_check`. Opened read-write, so a `-wal` that came
/// with it is folded in (and removed when the connection closes).
fn check_database(stage: &Path) -> Result<(), RestoreError> {
    let path = stage.join(DB_FILE);
    if fs::symlink_metadata(&path).is_err() {
        return Ok(());
    }
    let bad = |reason: String| RestoreError::BadDatabase {
        name: DB_FILE.to_string(),
        reason,
    };
    let mut head = [0u8; 16];
    File::open(&path)
        .and_then(|mut f| f.read_exact(&mut head))
        .map_err(|_| bad("too short for a SQLite file".into()))?;
    if &head != b"SQLite format 3\0" {
        return Err(bad("no SQLite header".into()));
    }
    let conn = rusqlite::Connection::open(&path).map_err(|e| bad(e.to_string()))?;
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| bad(e.to_string()))?;
    conn.close().map_err(|(_, e)| bad(e.to_string()))?;
    if verdict != "ok" {
        return Err(bad(format!("integrity check: {verdict}")));
    }
    Ok(())
}

/// Renames the unpacked top-level entries into the target. Entries of the
/// same name already there (links included, never followed) are moved
/// aside first and removed once all is in place; a failure halfway puts
/// them back.
fn put_in_place(stage: &Path, target: &Path) -> Result<(), RestoreError> {
    let mut names: Vec<OsString> = fs::read_dir(stage)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()?;
    names.sort();
    let mut displaced = names.clone();
    if names.iter().any(|n| n == DB_FILE) {
        for extra in ["-wal", "-shm"] {
            let name = OsString::from(format!("{DB_FILE}{extra}"));
            if !displaced.contains(&name) {
                displaced.push(name);
            }
        }
    }
    let aside = target.join(format!(
        "{TEMP_PREFIX}{ASIDE}{:016x}",
        rand::random::<u64>()
    ));
    let mut moved_aside: Vec<OsString> = Vec::new();
    let mut placed: Vec<OsString> = Vec::new();
    let mut swap = || -> io::Result<()> {
        for name in &displaced {
            let old = target.join(name);
            if fs::symlink_metadata(&old).is_ok() {
                if moved_aside.is_empty() {
                    fs::create_dir(&aside)?;
                }
                fs::rename(&old, aside.join(name))?;
                moved_aside.push(name.clone());
            }
        }
        for name in &names {
            fs::rename(stage.join(name), target.join(name))?;
            placed.push(name.clone());
        }
        Ok(())
    };
    let result = swap();
    if let Err(e) = result {
        let mut undone = true;
        for name in placed.iter().rev() {
            undone &= fs::rename(target.join(name), stage.join(name)).is_ok();
        }
        for name in moved_aside.iter().rev() {
            undone &= fs::rename(aside.join(name), target.join(name)).is_ok();
        }
        let state = if undone {
            let _ = fs::remove_dir(&aside);
            "the data root was left as it was".to_string()
        } else {
            format!("replaced entries may remain in {}", aside.display())
        };
        return Err(RestoreError::Place(format!("{e}; {state}")));
    }
    if !moved_aside.is_empty() {
        // remove_dir_all removes links themselves, not what they point to.
        if let Err(e) = fs::remove_dir_all(&aside) {
            tracing::warn!(
                "could not remove the replaced entries in {}: {e}",
                aside.display()
            );
        }
    }
    if let Err(e) = super::atomic::sync_dir(target) {
        tracing::warn!("restored, but could not flush {}: {e}", target.display());
    }
    Ok(())
}

/// True when `target` holds anything but the lock and temp leftovers.
fn holds_data(target: &Path) -> io::Result<bool> {
    for entry in fs::read_dir(target)? {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if name != LOCK_FILE && !name.starts_with(TEMP_PREFIX) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Removes the unpack folders of restores that were killed halfway (the
/// lock is held, so none is running). Folders of replaced entries stay:
/// they may hold the only copy of something.
fn clear_unfinished(target: &Path) {
    let prefix = format!("{TEMP_PREFIX}{STAGE}");
    let Ok(entries) = fs::read_dir(target) else {
        return;
    };
    for entry in entries.flatten() {
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && entry.file_name().to_string_lossy().starts_with(&prefix) {
            if let Err(e) = fs::remove_dir_all(entry.path()) {
                tracing::warn!("could not remove {}: {e}", entry.path().display());
            }
        }
    }
}

/// An entry name as a relative path of plain components only (empty for
/// the root itself, `./`).
fn safe_entry(name: &str) -> Option<PathBuf> {
    if name.contains('\0') || name.contains('\\') || name.starts_with('/') {
        return None;
    }
    let mut out = PathBuf::new();
    for c in Path::new(name).components() {
        match c {
            Component::Normal(p) => {
                if p.to_string_lossy().contains(':') {
                    return None;
                }
                out.push(p)
            }
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zip::write::SimpleFileOptions;

    fn archive(entries: &[(&str, &[u8])]) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        let mut z = zip::ZipWriter::new(f.reopen().unwrap());
        for (name, data) in entries {
            z.start_file(*name, SimpleFileOptions::default()).unwrap();
            z.write_all(data).unwrap();
        }
        z.finish().unwrap();
        f
    }

    /// What the target holds, the lock left out.
    fn contents(target: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(target)
            .map(|r| {
                r.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n != LOCK_FILE)
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    #[test]
    fn refuses_escaping_entries_and_writes_nothing() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("data");
        for bad in [
            "../evil.txt",
            "a/../../evil.txt",
            "/abs.txt",
            "a\\..\\b",
            "c:x",
        ] {
            let a = archive(&[("ok.txt", b"fine"), (bad, b"evil")]);
            let err = restore(a.path(), &target, false).unwrap_err();
            assert!(matches!(err, RestoreError::Unsafe(_)), "{bad}: {err}");
            assert!(contents(&target).is_empty(), "{bad}");
            assert!(!root.path().join("evil.txt").exists());
        }
    }

    #[test]
    fn restores_into_empty_and_refuses_non_empty() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("data");
        let a = archive(&[("u/settings.json", b"{}"), ("notes.txt", b"x")]);
        assert_eq!(restore(a.path(), &target, false).unwrap(), 2);
        assert_eq!(
            std::fs::read(target.join("u/settings.json")).unwrap(),
            b"{}"
        );
        assert!(matches!(
            restore(a.path(), &target, false),
            Err(RestoreError::NotEmpty(_))
        ));
        assert_eq!(restore(a.path(), &target, true).unwrap(), 2);
        assert_eq!(contents(&target), ["notes.txt", "u"]);
    }

    #[test]
    fn duplicate_names_are_a_clash() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("data");
        let f = tempfile::NamedTempFile::new().unwrap();
        let mut z = zip::ZipWriter::new(f.reopen().unwrap());
        z.start_file("u/a.txt", SimpleFileOptions::default())
            .unwrap();
        z.write_all(b"one").unwrap();
        // The writer refuses a second "u/a.txt"; "./u/a.txt" is the same path.
        z.start_file("./u/a.txt", SimpleFileOptions::default())
            .unwrap();
        z.write_all(b"two").unwrap();
        z.finish().unwrap();
        let err = restore(f.path(), &target, false).unwrap_err();
        assert!(matches!(err, RestoreError::Clash(_)), "{err}");
        assert!(contents(&target).is_empty());
    }
}
