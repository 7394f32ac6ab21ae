//! Settings snapshot files: `backups/settings_<handle>_<YYYYMMDD-HHMMSS>.json`
//! in local time, with a numeric suffix when two land in one second. Names
//! are validated before any path is built from them, and no snapshot is
//! ever overwritten (files are created with `create_new`).

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

/// True for `settings_<handle>_[A-Za-z0-9_-]+.json` with the caller's handle.
pub fn valid_name(handle: &str, name: &str) -> bool {
    let Some(rest) = name
        .strip_prefix("settings_")
        .and_then(|r| r.strip_prefix(handle))
        .and_then(|r| r.strip_prefix('_'))
        .and_then(|r| r.strip_suffix(".json"))
    else {
        return false;
    };
    !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A file written by [`write_new`].
#[derive(Debug, Clone)]
pub struct Written {
    pub name: String,
    pub size: i64,
    pub sha256: String,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Writes `content` as a new snapshot in `backups_dir`, named for `stamp`
/// (`YYYYMMDD-HHMMSS`), adding `_2`, `_3`… when the name is taken.
///
/// The content goes to a temp file first (written and fsynced), which is
/// then hard-linked under the snapshot's name: the link fails when the name
/// exists, so nothing is overwritten, and a crash never leaves a torn or
/// empty snapshot (only a temp file, swept at start).
pub fn write_new(
    backups_dir: &Path,
    handle: &str,
    stamp: &str,
    content: &[u8],
) -> io::Result<Written> {
    let tmp = backups_dir.join(format!(
        "{}snapshot-{:016x}",
        super::atomic::TEMP_PREFIX,
        rand::random::<u64>()
    ));
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(content)?;
        file.sync_all()?;
        drop(file);
        for n in 1..1000u32 {
            let name = if n == 1 {
                format!("settings_{handle}_{stamp}.json")
            } else {
                format!("settings_{handle}_{stamp}_{n}.json")
            };
            match std::fs::hard_link(&tmp, backups_dir.join(&name)) {
                Ok(()) => {
                    std::fs::remove_file(&tmp)?;
                    super::atomic::sync_dir(backups_dir)?;
                    return Ok(Written {
                        name,
                        size: content.len() as i64,
                        sha256: sha256_hex(content),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other("too many snapshots in one second"))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Local-time stamp for a snapshot name.
pub fn stamp(now_ms: i64) -> String {
    use chrono::TimeZone;
    chrono::Local
        .timestamp_millis_opt(now_ms)
        .single()
        .unwrap_or_else(chrono::Local::now)
        .format("%Y%m%d-%H%M%S")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_name("bob", "settings_bob_20240101-120000.json"));
        assert!(valid_name("bob", "settings_bob_20240101-120000_2.json"));
        for bad in [
            "settings_alice_20240101-120000.json",
            "settings_bob_.json",
            "settings_bob_/../../x.json",
            "settings_bob_..json",
            "settings_bob_a.b.json",
            "settings_bob_x.txt",
            "../settings_bob_x.json",
            "settings_bob_x\\y.json",
            "settings_bob_x\0.json",
            "",
        ] {
            assert!(!valid_name("bob", bad), "{bad:?}");
        }
        // A handle that is a prefix of another's does not leak across.
        assert!(
            !valid_name("bob", "settings_bobby_1.json")
                || valid_name("bob", "settings_bob_by_1.json")
        );
    }

    #[test]
    fn same_second_gets_a_suffix() {
        let dir = tempfile::tempdir().unwrap();
        let a = write_new(dir.path(), "bob", "20240101-120000", b"{}").unwrap();
        let b = write_new(dir.path(), "bob", "20240101-120000", b"{\"x\":1}").unwrap();
        assert_eq!(a.name, "settings_bob_20240101-120000.json");
        assert_eq!(b.name, "settings_bob_20240101-120000_2.json");
        assert_eq!(std::fs::read(dir.path().join(&a.name)).unwrap(), b"{}");
        assert_eq!(stamp(0).len(), 15);
    }
}
