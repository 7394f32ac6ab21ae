//! Atomic file replacement: temp file in the same folder, write, fsync,
//! rename over the target, fsync the folder. A crash at any instant leaves
//! either the old or the new content, never a torn file. Temp files carry a
//! recognisable prefix so start-up can sweep any left by a crash.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Prefix of every temp file this module creates.
pub const TEMP_PREFIX: &str = ".innkeeper-tmp-";

/// Replaces `path` with `bytes` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, bytes, sync_dir)
}

/// [`write_atomic`] with the folder flush given, so a test can make it fail.
fn write_atomic_with(
    path: &Path,
    bytes: &[u8],
    flush_dir: impl FnOnce(&Path) -> io::Result<()>,
) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    // The target's name is only there to be recognisable; cut so the temp
    // name stays within the 255 bytes a file name may have, whatever the
    // target's length.
    let mut shown = name.to_string_lossy().into_owned();
    let mut cut = shown.len().min(NAME_IN_TEMP);
    while !shown.is_char_boundary(cut) {
        cut -= 1;
    }
    shown.truncate(cut);
    let tmp = dir.join(format!(
        "{TEMP_PREFIX}{shown}-{:016x}",
        rand::random::<u64>()
    ));
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    // The new content is in place; a folder that cannot be flushed only
    // weakens durability across a power cut, so the save stands.
    if let Err(e) = flush_dir(dir) {
        tracing::warn!(
            "saved {}, but could not flush its folder: {e}",
            path.display()
        );
    }
    Ok(())
}

/// Bytes of the target's name kept in a temp file's name.
const NAME_IN_TEMP: usize = 64;

/// Flushes a folder's entries (the rename) to disk.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Removes temp files left in `dir` and its subfolders by a crash.
/// Returns how many were removed.
pub fn sweep_temp_files(dir: &Path) -> io::Result<usize> {
    sweep_temp_files_before(dir, std::time::SystemTime::now())
}

/// Like [`sweep_temp_files`], sparing temp files modified at or after
/// `cutoff` (writes in progress while the server already answers).
pub fn sweep_temp_files_before(dir: &Path, cutoff: std::time::SystemTime) -> io::Result<usize> {
    let mut removed = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let entries = match fs::read_dir(&current) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                let fresh = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t >= cutoff);
                if !fresh {
                    fs::remove_file(entry.path())?;
                    removed += 1;
                }
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_near_the_limit_are_written() {
        let dir = tempfile::tempdir().unwrap();
        for len in [200, 240, 255] {
            // Multi-byte characters too: the cut keeps them whole.
            let name: String = "é".repeat(len / 2) + &"x".repeat(len % 2);
            assert_eq!(name.len(), len);
            let path = dir.path().join(&name);
            write_atomic(&path, b"one").unwrap();
            write_atomic(&path, b"two").unwrap();
            assert_eq!(fs::read(&path).unwrap(), b"two");
        }
        let left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(TEMP_PREFIX))
            .collect();
        assert!(left.is_empty());
    }

    /// Issue 13, point 13: the rename is the save; a folder that cannot
    /// be flushed afterwards is a warning, not a failed save.
    #[test]
    fn a_folder_flush_failing_after_the_rename_keeps_the_save() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("settings.json");
        let result = write_atomic_with(&target, b"saved", |_| {
            Err(io::Error::other("the disk said no"))
        });
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(fs::read(&target).unwrap(), b"saved");
    }

    #[test]
    fn replaces_content_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("settings.json");
        write_atomic(&target, b"one").unwrap();
        write_atomic(&target, b"two").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn sweep_removes_only_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("sub").join(format!("{TEMP_PREFIX}x")), "t").unwrap();
        fs::write(dir.path().join("keep.json"), "k").unwrap();
        assert_eq!(sweep_temp_files(dir.path()).unwrap(), 1);
        assert!(dir.path().join("keep.json").exists());
    }
}
