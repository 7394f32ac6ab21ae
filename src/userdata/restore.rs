//! Restoring a whole-root backup into an empty data root. Every entry name
//! is checked before anything is written, so an archive with a `../` or
//! absolute entry is refused whole (zip-slip safe).

use std::fs::File;
use std::io;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("cannot read the archive {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("{0} is not a valid zip archive: {1}")]
    NotZip(PathBuf, String),
    #[error("the archive entry {0:?} would land outside the data root; nothing was restored")]
    Unsafe(String),
    #[error("the data root {0} is not empty (use --force to restore into it anyway)")]
    NotEmpty(PathBuf),
    #[error("restore failed: {0}")]
    Io(#[from] io::Error),
}

/// Extracts `archive` into `target`. Returns the number of files written.
pub fn restore(archive: &Path, target: &Path, force: bool) -> Result<usize, RestoreError> {
    let file = File::open(archive).map_err(|source| RestoreError::Open {
        path: archive.to_path_buf(),
        source,
    })?;
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| RestoreError::NotZip(archive.to_path_buf(), e.to_string()))?;
    let mut plan = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let entry = zip
            .by_index(i)
            .map_err(|e| RestoreError::NotZip(archive.to_path_buf(), e.to_string()))?;
        let raw = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let rel = safe_entry(&raw).ok_or_else(|| RestoreError::Unsafe(raw.clone()))?;
        plan.push((i, rel, entry.is_dir()));
    }
    if target.exists() && std::fs::read_dir(target)?.next().is_some() && !force {
        return Err(RestoreError::NotEmpty(target.to_path_buf()));
    }
    std::fs::create_dir_all(target)?;
    let mut written = 0;
    for (i, rel, is_dir) in plan {
        let dest = target.join(&rel);
        if is_dir {
            std::fs::create_dir_all(&dest)?;
            continue;
        }
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut entry = zip
            .by_index(i)
            .map_err(|e| RestoreError::NotZip(archive.to_path_buf(), e.to_string()))?;
        let mut out = File::create(&dest)?;
        io::copy(&mut entry, &mut out)?;
        out.sync_all()?;
        written += 1;
    }
    Ok(written)
}

/// An entry name as a relative path of normal components only.
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
    (!out.as_os_str().is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
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

    #[test]
    fn refuses_escaping_entries_and_writes_nothing() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("data");
        for bad in ["../evil.txt", "a/../../evil.txt", "/abs.txt", "a\\..\\b"] {
            let a = archive(&[("ok.txt", b"fine"), (bad, b"evil")]);
            let err = restore(a.path(), &target, false).unwrap_err();
            assert!(matches!(err, RestoreError::Unsafe(_)), "{bad}: {err}");
            assert!(!target.join("ok.txt").exists());
            assert!(!root.path().join("evil.txt").exists());
        }
    }

    #[test]
    fn restores_into_empty_and_refuses_non_empty() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("data");
        let a = archive(&[("u/settings.json", b"{}"), ("innkeeper.db", b"x")]);
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
    }
}
