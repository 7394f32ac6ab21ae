//! A user's view root, `dataRoot/.app/<handle>/` (a dot cannot start a
//! handle): the data root that user's SillyTavern process is started on.
//! It holds `_storage/` with exactly one account record (that user, not an
//! admin, with a random password hash nobody knows) and `<handle>` as a
//! symlink to `dataRoot/<handle>/`. So each process sees one account and
//! one folder, and its start-up work does not grow with the number of
//! accounts. Beside it: the process's pid file (inside) and its log
//! (`dataRoot/.app/<handle>.log`).

use std::io;
use std::path::{Path, PathBuf};

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::accounts::handle;
use crate::userdata::atomic;

/// The folder under the data root that holds every view root.
pub const APP_DIR: &str = ".app";
/// Put in an empty `thumbnails/bg/` of the user's folder before a start:
/// SillyTavern then makes background thumbnails when they are asked for,
/// instead of building all of them before it listens (about 18 s on a
/// user's very first start; thumbnails.js, `ensureThumbnailCache`).
pub const THUMBNAIL_SEED: &str = ".innkeeper-thumbnails-on-demand";
/// The pid of the running process, for the clean-up after a crash of
/// Innkeeper itself.
pub const PID_FILE: &str = "innkeeper-app.pid";

/// Paths of one user's view root.
#[derive(Debug, Clone)]
pub struct ViewRoot {
    /// `dataRoot/.app/<handle>`: the `--dataRoot` of the process.
    pub root: PathBuf,
    pub pid_file: PathBuf,
    pub log: PathBuf,
}

impl ViewRoot {
    /// The paths for a valid handle (None otherwise), nothing created.
    pub fn of(data_root: &Path, h: &str) -> Option<ViewRoot> {
        if !handle::is_valid(h) {
            return None;
        }
        let apps = data_root.join(APP_DIR);
        let root = apps.join(h);
        Some(ViewRoot {
            pid_file: root.join(PID_FILE),
            log: apps.join(format!("{h}.log")),
            root,
        })
    }

    /// Creates (or repairs) the view root of `h`: the single account
    /// record and the symlink to the user's folder.
    pub fn prepare(data_root: &Path, h: &str) -> io::Result<ViewRoot> {
        let view = ViewRoot::of(data_root, h)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "invalid handle"))?;
        let storage = view.root.join("_storage");
        std::fs::create_dir_all(&storage)?;
        let key = format!("user:{h}");
        let record_name = hex::encode(Sha256::digest(key.as_bytes()));
        // Exactly one record: anything else found there goes.
        for entry in std::fs::read_dir(&storage)? {
            let entry = entry?;
            if entry.file_name() != record_name.as_str() {
                let path = entry.path();
                if entry.file_type()?.is_dir() {
                    std::fs::remove_dir_all(&path)?;
                } else {
                    std::fs::remove_file(&path)?;
                }
            }
        }
        let record = storage.join(&record_name);
        if !record_is_for(&record, h) {
            atomic::write_atomic(&record, record_json(h).as_bytes())?;
        }
        let link = view.root.join(h);
        let target = PathBuf::from("..").join("..").join(h);
        match std::fs::read_link(&link) {
            Ok(t) if t == target => {}
            Ok(_) => {
                std::fs::remove_file(&link)?;
                std::os::unix::fs::symlink(&target, &link)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                std::os::unix::fs::symlink(&target, &link)?;
            }
            Err(_) => {
                // Something that is not a symlink stands there: replace it,
                // never follow it.
                let meta = std::fs::symlink_metadata(&link)?;
                if meta.is_dir() {
                    std::fs::remove_dir_all(&link)?;
                } else {
                    std::fs::remove_file(&link)?;
                }
                std::os::unix::fs::symlink(&target, &link)?;
            }
        }
        seed_thumbnails(&data_root.join(h))?;
        Ok(view)
    }

    /// Removes the view root and its logs (the account is gone). The
    /// symlink is removed, never followed.
    pub fn remove(&self) -> io::Result<()> {
        match std::fs::remove_dir_all(&self.root) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        for log in [self.log.clone(), rotated(&self.log)] {
            match std::fs::remove_file(&log) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }
}

/// Seeds an empty (or missing) `thumbnails/bg/` (see [`THUMBNAIL_SEED`]).
fn seed_thumbnails(user_dir: &Path) -> io::Result<()> {
    if !user_dir.is_dir() {
        return Ok(());
    }
    let bg = user_dir.join("thumbnails").join("bg");
    std::fs::create_dir_all(&bg)?;
    if std::fs::read_dir(&bg)?.next().is_none() {
        std::fs::write(bg.join(THUMBNAIL_SEED), b"")?;
    }
    Ok(())
}

/// The previous log, kept once when the current one reaches its cap.
pub fn rotated(log: &Path) -> PathBuf {
    PathBuf::from(format!("{}.1", log.display()))
}

/// node-persist's record of a SillyTavern account that can never log in
/// by password: Innkeeper signs the session, SillyTavern never checks one.
fn record_json(h: &str) -> String {
    let random = |n: usize| {
        let bytes: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    let key = format!("user:{h}");
    serde_json::json!({
        "key": key,
        "value": {
            "handle": h,
            "name": h,
            "created": 0,
            "password": random(64),
            "salt": random(16),
            "admin": false,
            "enabled": true,
        },
        "ttl": null,
    })
    .to_string()
}

fn record_is_for(path: &Path, h: &str) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    let value = &v["value"];
    v["key"] == format!("user:{h}")
        && value["handle"] == h
        && value["enabled"] == true
        && value["admin"] == false
        && value["password"].as_str().is_some_and(|p| p.len() >= 64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_record_and_a_link_to_the_users_folder() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("alice")).unwrap();
        std::fs::write(root.join("alice/settings.json"), "{}").unwrap();
        let v = ViewRoot::prepare(root, "alice").unwrap();
        assert_eq!(v.root, root.join(".app/alice"));
        let storage: Vec<_> = std::fs::read_dir(v.root.join("_storage"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        // sha256("user:alice"), as node-persist names it.
        assert_eq!(
            storage,
            [hex::encode(Sha256::digest(b"user:alice"))],
            "{storage:?}"
        );
        assert_eq!(
            std::fs::read_to_string(v.root.join("alice/settings.json")).unwrap(),
            "{}"
        );
        let record = std::fs::read(v.root.join("_storage").join(&storage[0])).unwrap();
        // A second prepare keeps the record (same random hash) and removes
        // strangers.
        std::fs::write(v.root.join("_storage/stranger"), "{}").unwrap();
        ViewRoot::prepare(root, "alice").unwrap();
        assert_eq!(
            std::fs::read(v.root.join("_storage").join(&storage[0])).unwrap(),
            record
        );
        assert!(!v.root.join("_storage/stranger").exists());
        // A folder planted where the link goes is replaced, not followed.
        std::fs::remove_file(v.root.join("alice")).unwrap();
        std::fs::create_dir(v.root.join("alice")).unwrap();
        ViewRoot::prepare(root, "alice").unwrap();
        assert!(std::fs::symlink_metadata(v.root.join("alice"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(root
            .join("alice/thumbnails/bg")
            .join(THUMBNAIL_SEED)
            .exists());
        v.remove().unwrap();
        assert!(!v.root.exists());
        assert!(root.join("alice/settings.json").exists(), "data kept");
        assert!(ViewRoot::of(root, "../x").is_none());
    }
}
