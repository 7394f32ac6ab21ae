//! The one way to turn a request's relative path into a file inside a user's
//! folder. Traversal is impossible by construction: the relative path is
//! checked component by component (no `..`, no absolute paths, no NUL, no
//! backslashes, no drive letters), and the joined path is canonicalised and
//! checked to still sit under the canonical user folder — not merely under
//! the sub-folder asked for — so a symlink anywhere inside a user's folder
//! (a layout folder, settings.json, a file an extension brought) cannot lead
//! out of it.

use std::path::{Component, Path, PathBuf};

/// Why a relative path was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PathError {
    #[error("empty path")]
    Empty,
    #[error("path is not allowed")]
    Forbidden,
    #[error("file not found")]
    NotFound,
}

/// Checks a relative path's text without touching the disk.
///
/// Returns the normal components joined as a relative `PathBuf`.
pub fn check_relative(rel: &str) -> Result<PathBuf, PathError> {
    if rel.is_empty() {
        return Err(PathError::Empty);
    }
    if rel.contains('\0') || rel.contains('\\') || rel.starts_with('/') {
        return Err(PathError::Forbidden);
    }
    let mut out = PathBuf::new();
    for comp in Path::new(rel).components() {
        match comp {
            Component::Normal(part) => {
                let text = part.to_str().ok_or(PathError::Forbidden)?;
                // A Windows drive prefix or a stream name never belongs in a user path.
                if text.contains(':') {
                    return Err(PathError::Forbidden);
                }
                out.push(part);
            }
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(PathError::Forbidden)
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err(PathError::Empty);
    }
    Ok(out)
}

/// Resolves `rel` under `base` for a file that must already exist, confined
/// to `base` itself. Symlinks are followed and then checked.
pub fn resolve_existing(base: &Path, rel: &str) -> Result<PathBuf, PathError> {
    resolve_in(base, "", rel)
}

/// Resolves `rel` under `root/sub` for a file that must already exist,
/// confined to `root/sub` (a route's own folder of the user's): a link
/// from there to elsewhere in the user's folder — to `secrets.json`, say,
/// which holds keys the user may use but not read — is refused like one
/// leading out, and so is a `sub` folder that is itself a link leading out
/// of `root`.
pub fn resolve_in(root: &Path, sub: &str, rel: &str) -> Result<PathBuf, PathError> {
    let rel = check_relative(rel)?;
    let folder = confined(root, &root.join(sub))?;
    confined(&folder, &folder.join(rel))
}

/// `path` with every symlink resolved, when it still lies inside `root`.
pub fn confined(root: &Path, path: &Path) -> Result<PathBuf, PathError> {
    let root = root.canonicalize().map_err(|_| PathError::NotFound)?;
    let full = path.canonicalize().map_err(|_| PathError::NotFound)?;
    if full.starts_with(&root) {
        Ok(full)
    } else {
        Err(PathError::Forbidden)
    }
}

/// Reads `root/rel` when it exists and resolves inside `root`; a file whose
/// path leads out of `root` reads as absent (and is logged).
pub fn read_confined(root: &Path, rel: &str) -> std::io::Result<Option<Vec<u8>>> {
    match resolve_in(root, "", rel) {
        Ok(path) => match std::fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        },
        Err(PathError::Forbidden) => {
            tracing::warn!(
                "{} is a link that leads out of {}: ignored",
                rel,
                root.display()
            );
            Ok(None)
        }
        Err(_) => Ok(None),
    }
}

/// Resolves `rel` under `base` for a file that may not exist yet (a write).
///
/// The parent folder must exist and canonicalise to a place under `base`;
/// the final name is checked not to be a symlink leading elsewhere.
pub fn resolve_for_write(base: &Path, rel: &str) -> Result<PathBuf, PathError> {
    let rel = check_relative(rel)?;
    let base = base.canonicalize().map_err(|_| PathError::NotFound)?;
    let name = rel.file_name().ok_or(PathError::Forbidden)?.to_owned();
    let parent = match rel.parent() {
        Some(p) if !p.as_os_str().is_empty() => base.join(p),
        _ => base.clone(),
    };
    let parent = parent.canonicalize().map_err(|_| PathError::NotFound)?;
    if !parent.starts_with(&base) {
        return Err(PathError::Forbidden);
    }
    let full = parent.join(name);
    if let Ok(meta) = std::fs::symlink_metadata(&full) {
        if meta.file_type().is_symlink() {
            return Err(PathError::Forbidden);
        }
    }
    Ok(full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_checked_by_component() {
        assert_eq!(check_relative("a/b.png").unwrap(), PathBuf::from("a/b.png"));
        assert_eq!(check_relative("./a").unwrap(), PathBuf::from("a"));
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "a\\b",
            "a\0b",
            "C:x",
            "..",
            "a/..",
        ] {
            assert!(check_relative(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(check_relative(""), Err(PathError::Empty));
        assert_eq!(check_relative("."), Err(PathError::Empty));
    }

    #[test]
    fn symlinks_cannot_lead_out() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("user");
        std::fs::create_dir_all(&base).unwrap();
        std::fs::write(dir.path().join("secret"), "x").unwrap();
        std::fs::write(base.join("ok.txt"), "y").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("secret"), base.join("link")).unwrap();
        assert!(resolve_existing(&base, "ok.txt").is_ok());
        #[cfg(unix)]
        {
            assert_eq!(resolve_existing(&base, "link"), Err(PathError::Forbidden));
            assert_eq!(resolve_for_write(&base, "link"), Err(PathError::Forbidden));
        }
        assert_eq!(resolve_existing(&base, "missing"), Err(PathError::NotFound));
        // A folder of the layout that is itself a link out of the user's
        // folder leads nowhere, though the file is "inside" that folder.
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("a.png"), "z").unwrap();
        std::os::unix::fs::symlink(&outside, base.join("characters")).unwrap();
        assert_eq!(
            resolve_in(&base, "characters", "a.png"),
            Err(PathError::Forbidden)
        );
        std::os::unix::fs::symlink(dir.path().join("secret"), base.join("settings.json")).unwrap();
        assert_eq!(read_confined(&base, "settings.json").unwrap(), None);
        assert_eq!(read_confined(&base, "ok.txt").unwrap().unwrap(), b"y");
        // A link that stays inside is fine.
        std::fs::create_dir_all(base.join("real")).unwrap();
        std::fs::write(base.join("real/b.png"), "w").unwrap();
        std::os::unix::fs::symlink(base.join("real"), base.join("alias")).unwrap();
        assert!(resolve_in(&base, "alias", "b.png").is_ok());
        // A link inside a route's folder to elsewhere in the user's folder
        // (their secrets file) leads nowhere through that route.
        std::fs::write(base.join("secrets.json"), "{}").unwrap();
        std::fs::create_dir_all(base.join("user/files")).unwrap();
        std::os::unix::fs::symlink(base.join("secrets.json"), base.join("user/files/s.json"))
            .unwrap();
        assert_eq!(
            resolve_in(&base, "user/files", "s.json"),
            Err(PathError::Forbidden)
        );
        assert!(resolve_in(&base, "", "secrets.json").is_ok());
        assert!(resolve_for_write(&base, "new.txt").is_ok());
        assert_eq!(
            resolve_for_write(&base, "nope/new.txt"),
            Err(PathError::NotFound)
        );
    }
}
