//! Copying a user's folder from a SillyTavern root into `dataRoot`.
//!
//! The copy only adds: a file already at the destination is never
//! replaced (a re-run after an interrupted copy completes it instead), with
//! one exception, a `settings.json` that is still our factory default,
//! which holds nothing of the user's. Each file goes through a temp file
//! in its destination folder (swept at start if a crash leaves it), keeps
//! its modification time, and its size is checked before it takes its
//! name. Symbolic links are not followed: a link in a user folder could
//! point anywhere on the source machine.

use std::fs::{self, File, FileTimes, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::userdata::atomic::{self, TEMP_PREFIX};
use crate::userdata::layout;

/// What is in a source folder, found before copying so the plan and the
/// progress bar know the totals.
#[derive(Debug, Default, Clone)]
pub struct Tree {
    /// Sub-folders, parents before children, relative to the root.
    pub dirs: Vec<PathBuf>,
    /// Regular files relative to the root, with their sizes.
    pub files: Vec<(PathBuf, u64)>,
    /// Symbolic links and other special entries, not copied.
    pub skipped: Vec<PathBuf>,
    pub bytes: u64,
}

/// Lists a folder recursively without following links. A missing folder
/// is an empty tree.
pub fn scan(root: &Path) -> io::Result<Tree> {
    let mut tree = Tree::default();
    if !root.is_dir() {
        return Ok(tree);
    }
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let mut entries: Vec<_> = fs::read_dir(root.join(&rel))?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = rel.join(entry.file_name());
            let kind = entry.file_type()?;
            if kind.is_dir() {
                tree.dirs.push(path.clone());
                stack.push(path);
            } else if kind.is_file() {
                if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                    // A crash leftover of the source root: not user data.
                    continue;
                }
                let len = entry.metadata()?.len();
                tree.bytes += len;
                tree.files.push((path, len));
            } else {
                tree.skipped.push(path);
            }
        }
    }
    Ok(tree)
}

/// The outcome of copying one tree.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Copied {
    pub files: u64,
    pub bytes: u64,
    /// Files already at the destination with the same content.
    pub present: u64,
    /// Files at the destination that differ from the source: kept as they are.
    pub kept: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("cannot copy {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("size check failed for {path}: the source has {expected} bytes, the copy {found}")]
    Size {
        path: PathBuf,
        expected: u64,
        found: u64,
    },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> CopyError + '_ {
    move |source| CopyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Copies `tree` (scanned from `src`) into `dst`. `progress` hears the
/// bytes of each file as it is done (copied or found present).
pub fn copy_tree(
    src: &Path,
    dst: &Path,
    tree: &Tree,
    progress: &mut dyn FnMut(u64),
) -> Result<Copied, CopyError> {
    let mut out = Copied::default();
    let mut created_dirs = Vec::new();
    if !dst.exists() {
        created_dirs.push(PathBuf::new());
    }
    fs::create_dir_all(dst).map_err(io_at(dst))?;
    for rel in &tree.dirs {
        let to = dst.join(rel);
        if !to.exists() {
            fs::create_dir(&to).map_err(io_at(&to))?;
            created_dirs.push(rel.clone());
        }
    }
    let mut touched_dirs = std::collections::BTreeSet::new();
    for (rel, _) in &tree.files {
        let from = src.join(rel);
        let to = dst.join(rel);
        match copy_file(&from, &to, rel)? {
            Outcome::Copied(n) => {
                out.files += 1;
                out.bytes += n;
                touched_dirs.insert(to.parent().map(Path::to_path_buf).unwrap_or_default());
                progress(n);
            }
            Outcome::Present(n) => {
                out.present += 1;
                progress(n);
            }
            Outcome::Kept(n) => {
                out.kept.push(rel.clone());
                progress(n);
            }
        }
    }
    // The renames are durable once their folders are flushed.
    for dir in touched_dirs {
        atomic::sync_dir(&dir).map_err(io_at(&dir))?;
    }
    // Folders we made get the source's times too, deepest first (adding
    // entries to a folder changes its time).
    for rel in created_dirs.iter().rev() {
        if let Ok(meta) = fs::metadata(src.join(rel)) {
            let _ = File::open(dst.join(rel)).and_then(|f| f.set_times(times_of(&meta)));
        }
    }
    Ok(out)
}

enum Outcome {
    Copied(u64),
    Present(u64),
    Kept(u64),
}

fn times_of(meta: &fs::Metadata) -> FileTimes {
    let mut t = FileTimes::new();
    if let Ok(m) = meta.modified() {
        t = t.set_modified(m);
    }
    if let Ok(a) = meta.accessed() {
        t = t.set_accessed(a);
    }
    t
}

fn copy_file(from: &Path, to: &Path, rel: &Path) -> Result<Outcome, CopyError> {
    let src_meta = fs::metadata(from).map_err(io_at(from))?;
    let len = src_meta.len();
    match fs::symlink_metadata(to) {
        Ok(dst_meta) => {
            if dst_meta.is_file() && same_file_content(from, to, &src_meta, &dst_meta)? {
                return Ok(Outcome::Present(len));
            }
            if !(dst_meta.is_file() && rel == Path::new(layout::SETTINGS_FILE) && is_factory(to)) {
                return Ok(Outcome::Kept(len));
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_at(to)(e)),
    }
    let dir = to.parent().unwrap_or(Path::new("."));
    let name = to.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(
        "{TEMP_PREFIX}{name}-{:016x}",
        rand::random::<u64>()
    ));
    let result = (|| {
        let mut input = File::open(from).map_err(io_at(from))?;
        let mut output = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io_at(to))?;
        let written = io::copy(&mut input, &mut output).map_err(io_at(to))?;
        output.set_times(times_of(&src_meta)).map_err(io_at(to))?;
        output.sync_all().map_err(io_at(to))?;
        let found = output.metadata().map_err(io_at(to))?.len();
        if written != len || found != len {
            return Err(CopyError::Size {
                path: from.to_path_buf(),
                expected: len,
                found: found.min(written),
            });
        }
        drop(output);
        fs::rename(&tmp, to).map_err(io_at(to))?;
        Ok(Outcome::Copied(len))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Same size, and either the same modification time (a file this import
/// copied before) or the same bytes.
fn same_file_content(
    a: &Path,
    b: &Path,
    ma: &fs::Metadata,
    mb: &fs::Metadata,
) -> Result<bool, CopyError> {
    if ma.len() != mb.len() {
        return Ok(false);
    }
    let same_time = match (ma.modified(), mb.modified()) {
        (Ok(x), Ok(y)) => secs(x) == secs(y),
        _ => false,
    };
    if same_time {
        return Ok(true);
    }
    let mut fa = File::open(a).map_err(io_at(a))?;
    let mut fb = File::open(b).map_err(io_at(b))?;
    let (mut ba, mut bb) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    loop {
        let n = read_full(&mut fa, &mut ba).map_err(io_at(a))?;
        let m = read_full(&mut fb, &mut bb).map_err(io_at(b))?;
        if n != m || ba[..n] != bb[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

fn secs(t: SystemTime) -> Option<u64> {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}

fn read_full(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// True when a settings.json is exactly what [`layout::ensure`] writes for
/// a new account, so a user's real settings may take its place.
fn is_factory(path: &Path) -> bool {
    let Ok(text) = fs::read_to_string(path) else {
        return false;
    };
    let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    let Some(name) = value.get("username").and_then(|v| v.as_str()) else {
        return false;
    };
    text == layout::default_settings(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn set_mtime(p: &Path, secs: u64) {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
        File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }

    #[test]
    fn copies_with_times_and_never_replaces() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        fs::create_dir_all(src.path().join("chats/Bob")).unwrap();
        fs::write(src.path().join("chats/Bob/one.jsonl"), "hello").unwrap();
        fs::write(src.path().join("settings.json"), "{\"mine\":1}").unwrap();
        fs::write(src.path().join("mine.txt"), "source").unwrap();
        fs::write(src.path().join(format!("{TEMP_PREFIX}junk")), "x").unwrap();
        set_mtime(&src.path().join("chats/Bob/one.jsonl"), 1_600_000_000);
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc/passwd", src.path().join("link")).unwrap();

        let to = dst.path().join("bob");
        fs::create_dir_all(&to).unwrap();
        fs::write(to.join("settings.json"), layout::default_settings("Bob")).unwrap();
        fs::write(to.join("mine.txt"), "destination").unwrap();

        let tree = scan(src.path()).unwrap();
        assert_eq!(tree.files.len(), 3);
        #[cfg(unix)]
        assert_eq!(tree.skipped, [PathBuf::from("link")]);
        let mut seen = 0;
        let c = copy_tree(src.path(), &to, &tree, &mut |n| seen += n).unwrap();
        assert_eq!(seen, tree.bytes);
        assert_eq!(c.files, 2, "{c:?}");
        assert_eq!(c.kept, [PathBuf::from("mine.txt")]);
        assert_eq!(fs::read(to.join("chats/Bob/one.jsonl")).unwrap(), b"hello");
        assert_eq!(
            fs::metadata(to.join("chats/Bob/one.jsonl"))
                .unwrap()
                .modified()
                .unwrap(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000)
        );
        // The factory settings gave way; the user's own file did not.
        assert_eq!(fs::read(to.join("settings.json")).unwrap(), b"{\"mine\":1}");
        assert_eq!(fs::read(to.join("mine.txt")).unwrap(), b"destination");
        assert!(!to.join("link").exists());

        // A second pass finds everything in place.
        let again = copy_tree(src.path(), &to, &tree, &mut |_| {}).unwrap();
        assert_eq!((again.files, again.present), (0, 2));
        assert_eq!(again.kept.len(), 1);
        let leftovers = fs::read_dir(&to)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(TEMP_PREFIX))
            .count();
        assert_eq!(leftovers, 0);
    }

    #[test]
    fn a_missing_source_is_an_empty_tree() {
        let dir = tempfile::tempdir().unwrap();
        let t = scan(&dir.path().join("nope")).unwrap();
        assert!(t.files.is_empty() && t.dirs.is_empty());
    }
}
