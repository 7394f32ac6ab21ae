//! Reading SillyTavern's `_storage/` folder: one file per record, named by
//! the hex SHA-256 of its key, holding `{"key": "...", "value": ...}`.
//!
//! Parsing is pure (bytes in, records out) so it can be tested without a
//! disk and fuzzed. Every problem is tied to the file it came from, and no
//! problem in one record stops the others from being read.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::accounts::handle;

/// Largest record read. A custom avatar is the biggest value SillyTavern
/// keeps there (a data URL of at most a few MiB); anything far beyond that
/// is not a record and is not worth holding in memory.
pub const MAX_RECORD_BYTES: u64 = 64 * 1024 * 1024;

/// An account as SillyTavern stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyUser {
    pub handle: String,
    pub name: String,
    /// Milliseconds since the epoch.
    pub created: i64,
    /// Base64 scrypt hash, None when the account has no password.
    pub password: Option<String>,
    /// The salt text, None when the account has no password.
    pub salt: Option<String>,
    pub admin: bool,
    pub enabled: bool,
}

/// What one record file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    User(LegacyUser),
    Avatar {
        handle: String,
        data_url: String,
    },
    /// A key the importer has no use for (SillyTavern keeps other state
    /// there too); counted, never an error.
    Other,
}

/// One parsed file: its key, what it holds, and remarks that do not stop
/// the import (a file name that is not the key's hash, say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub key: String,
    pub record: Record,
    pub warnings: Vec<String>,
}

/// A problem tied to one file of `_storage/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "_storage/{}: {}", self.file, self.message)
    }
}

/// Everything read from `_storage/`.
#[derive(Debug, Default, Clone)]
pub struct Storage {
    /// Valid accounts, in handle order.
    pub users: Vec<(String, LegacyUser)>,
    /// Avatars by handle, with the file they came from.
    pub avatars: HashMap<String, (String, String)>,
    /// Records with keys the importer does not use.
    pub ignored: usize,
    /// Records skipped: unreadable, malformed or duplicate.
    pub skipped: Vec<Problem>,
    /// Remarks that did not stop a record from being used.
    pub warnings: Vec<Problem>,
}

/// Lowercase hex SHA-256 of a key: the file name SillyTavern gives its record.
pub fn key_file_name(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Parses one record file. Never panics, whatever the bytes.
pub fn parse_record(file_name: &str, bytes: &[u8]) -> Result<Parsed, String> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON ({e})"))?;
    let obj = value
        .as_object()
        .ok_or("not a JSON object with \"key\" and \"value\"")?;
    let key = obj
        .get("key")
        .and_then(Value::as_str)
        .ok_or("no \"key\" text")?
        .to_string();
    let mut warnings = Vec::new();
    if !file_name.eq_ignore_ascii_case(&key_file_name(&key)) {
        warnings.push(format!(
            "the file name is not the SHA-256 of its key \"{}\" (read anyway)",
            shorten(&key)
        ));
    }
    let inner = obj.get("value").ok_or("no \"value\"")?;
    let record = if let Some(h) = key.strip_prefix("user:") {
        Record::User(parse_user(h, inner, &mut warnings)?)
    } else if let Some(h) = key.strip_prefix("avatar:") {
        check_handle(h)?;
        let data_url = inner
            .as_str()
            .ok_or("the avatar is not a text (data URL)")?;
        if !data_url.starts_with("data:image/") {
            return Err("the avatar is not a data:image/ URL".into());
        }
        Record::Avatar {
            handle: h.to_string(),
            data_url: data_url.to_string(),
        }
    } else {
        Record::Other
    };
    Ok(Parsed {
        key,
        record,
        warnings,
    })
}

fn parse_user(
    key_handle: &str,
    v: &Value,
    warnings: &mut Vec<String>,
) -> Result<LegacyUser, String> {
    let obj = v.as_object().ok_or("the account is not a JSON object")?;
    let text = |field: &str| obj.get(field).and_then(Value::as_str);
    let handle = match obj.get("handle") {
        None | Some(Value::Null) => return Err("the account has no handle".into()),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err("the account's handle is not a text".into()),
    };
    // Imported handles are taken as they are, never slugified: a handle is
    // the name of the user's folder, and a different one would orphan it.
    check_handle(&handle)?;
    if handle != key_handle {
        return Err(format!(
            "the key names \"{}\" but the record says \"{handle}\"",
            shorten(key_handle)
        ));
    }
    let name = match text("name").map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => n.to_string(),
        None => {
            warnings.push("no display name; the handle is used".into());
            handle.clone()
        }
    };
    let created = match obj.get("created") {
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .unwrap_or(0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        _ => 0,
    };
    if created <= 0 {
        warnings.push("no creation time; 0 is used".into());
    }
    let password = text("password").filter(|p| !p.is_empty());
    let salt = text("salt").filter(|s| !s.is_empty());
    let (password, salt) = match (password, salt) {
        (Some(p), Some(s)) => (Some(p.to_string()), Some(s.to_string())),
        (Some(_), None) => {
            return Err("the account has a password hash but no salt".into());
        }
        (None, _) => (None, None),
    };
    let flag = |field: &str, default: bool| match obj.get(field) {
        Some(Value::Bool(b)) => Ok(*b),
        None | Some(Value::Null) => Ok(default),
        Some(_) => Err(format!("\"{field}\" is not true or false")),
    };
    Ok(LegacyUser {
        admin: flag("admin", false)?,
        enabled: flag("enabled", true)?,
        handle,
        name,
        created,
        password,
        salt,
    })
}

fn check_handle(h: &str) -> Result<(), String> {
    if handle::is_valid(h) {
        Ok(())
    } else {
        Err(format!(
            "the handle \"{}\" breaks the handle rules (a-z, 0-9 and single inner dashes, at most {} characters)",
            shorten(h),
            handle::MAX_LEN
        ))
    }
}

/// Keeps messages readable when a key is huge or full of control characters.
fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(80).flat_map(char::escape_debug).collect();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}

/// Gathers parsed files into [`Storage`]. When two files hold the same key,
/// the one named by the key's hash wins (it is the one SillyTavern reads);
/// failing that the first by file name. The others are reported and skipped.
pub fn collect(files: impl IntoIterator<Item = (String, Result<Parsed, String>)>) -> Storage {
    let mut files: Vec<_> = files.into_iter().collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Storage::default();
    let mut by_key: HashMap<String, (String, Parsed)> = HashMap::new();
    for (file, parsed) in files {
        let parsed = match parsed {
            Ok(p) => p,
            Err(message) => {
                out.skipped.push(Problem { file, message });
                continue;
            }
        };
        match by_key.remove(&parsed.key) {
            None => {
                by_key.insert(parsed.key.clone(), (file, parsed));
            }
            Some((kept_file, kept)) => {
                let new_is_canonical = file.eq_ignore_ascii_case(&key_file_name(&parsed.key));
                let (winner, loser) = if new_is_canonical {
                    ((file, parsed), (kept_file, kept))
                } else {
                    ((kept_file, kept), (file, parsed))
                };
                out.skipped.push(Problem {
                    message: format!(
                        "duplicate of the key \"{}\" also held by {}",
                        shorten(&loser.1.key),
                        winner.0
                    ),
                    file: loser.0,
                });
                by_key.insert(winner.1.key.clone(), winner);
            }
        }
    }
    let mut kept: Vec<_> = by_key.into_values().collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    for (file, parsed) in kept {
        for message in parsed.warnings {
            out.warnings.push(Problem {
                file: file.clone(),
                message,
            });
        }
        match parsed.record {
            Record::User(u) => out.users.push((file, u)),
            Record::Avatar { handle, data_url } => {
                out.avatars.insert(handle, (file, data_url));
            }
            Record::Other => out.ignored += 1,
        }
    }
    out.users.sort_by(|a, b| a.1.handle.cmp(&b.1.handle));
    let handles: std::collections::HashSet<&str> =
        out.users.iter().map(|(_, u)| u.handle.as_str()).collect();
    let mut orphans: Vec<_> = out
        .avatars
        .iter()
        .filter(|(h, _)| !handles.contains(h.as_str()))
        .map(|(h, (file, _))| (h.clone(), file.clone()))
        .collect();
    orphans.sort();
    for (h, file) in orphans {
        out.avatars.remove(&h);
        out.warnings.push(Problem {
            file,
            message: format!("an avatar for \"{h}\", who has no account record; not imported"),
        });
    }
    out.skipped.sort_by(|a, b| a.file.cmp(&b.file));
    out
}

/// Reads every file of a `_storage/` folder. Sub-folders and symbolic links
/// are left alone; a file that cannot be read is a problem of that file.
pub fn read_dir(dir: &Path) -> std::io::Result<Storage> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let file = entry.file_name().to_string_lossy().into_owned();
        let Ok(kind) = entry.file_type() else {
            files.push((file, Err("cannot read its file type".to_string())));
            continue;
        };
        if !kind.is_file() {
            continue;
        }
        let parsed = read_one(&entry.path()).and_then(|bytes| parse_record(&file, &bytes));
        files.push((file, parsed));
    }
    Ok(collect(files))
}

fn read_one(path: &Path) -> Result<Vec<u8>, String> {
    let len = std::fs::metadata(path)
        .map_err(|e| format!("cannot read ({e})"))?
        .len();
    if len > MAX_RECORD_BYTES {
        return Err(format!(
            "{len} bytes is too large for a record (limit {MAX_RECORD_BYTES})"
        ));
    }
    std::fs::read(path).map_err(|e| format!("cannot read ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn file(key: &str, value: Value) -> (String, Vec<u8>) {
        (
            key_file_name(key),
            serde_json::to_vec(&json!({ "key": key, "value": value })).unwrap(),
        )
    }

    fn parse_all(files: Vec<(String, Vec<u8>)>) -> Storage {
        collect(files.into_iter().map(|(name, bytes)| {
            let p = parse_record(&name, &bytes);
            (name, p)
        }))
    }

    #[test]
    fn file_names_are_the_sha256_of_the_key() {
        // printf 'user:default-user' | sha256sum
        assert_eq!(
            key_file_name("user:default-user"),
            "3a5bb37ab86ac047d8ef481ee2e7bd3683d694ff8502a7cfe6951af849015dcc"
        );
        assert_eq!(key_file_name("").len(), 64);
    }

    #[test]
    fn a_full_user_record() {
        let (name, bytes) = file(
            "user:juan555",
            json!({"handle":"juan555","name":"Juan","created":1700000000123u64,
                   "password":"aGFzaA==","salt":"c2FsdA==","admin":true,"enabled":false}),
        );
        let p = parse_record(&name, &bytes).unwrap();
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert_eq!(
            p.record,
            Record::User(LegacyUser {
                handle: "juan555".into(),
                name: "Juan".into(),
                created: 1_700_000_000_123,
                password: Some("aGFzaA==".into()),
                salt: Some("c2FsdA==".into()),
                admin: true,
                enabled: false,
            })
        );
    }

    #[test]
    fn empty_password_and_salt_mean_no_password() {
        let (name, bytes) = file(
            "user:default-user",
            json!({"handle":"default-user","name":"User","created":1,"password":"","salt":"","admin":true,"enabled":true}),
        );
        let Record::User(u) = parse_record(&name, &bytes).unwrap().record else {
            panic!("not a user");
        };
        assert_eq!((u.password, u.salt), (None, None));
    }

    #[test]
    fn malformed_records_say_why() {
        let cases: Vec<(String, Vec<u8>, &str)> = vec![
            ("a".into(), b"{not json".to_vec(), "not valid JSON"),
            ("b".into(), b"[1,2]".to_vec(), "not a JSON object"),
            ("c".into(), br#"{"value":1}"#.to_vec(), "no \"key\""),
            ("d".into(), br#"{"key":"user:x"}"#.to_vec(), "no \"value\""),
            {
                let (n, b) = file("user:x", json!({"name":"X"}));
                (n, b, "no handle")
            },
            {
                let (n, b) = file("user:../x", json!({"handle":"../x"}));
                (n, b, "breaks the handle rules")
            },
            {
                let (n, b) = file("user:Bob", json!({"handle":"Bob"}));
                (n, b, "breaks the handle rules")
            },
            {
                let (n, b) = file("user:a", json!({"handle":"b"}));
                (n, b, "the key names")
            },
            {
                let (n, b) = file("user:a", json!({"handle":"a","password":"x","salt":""}));
                (n, b, "no salt")
            },
            {
                let (n, b) = file("user:a", json!({"handle":"a","admin":"yes"}));
                (n, b, "\"admin\" is not true or false")
            },
            {
                let (n, b) = file("avatar:a", json!("http://example.com/x.png"));
                (n, b, "data:image/")
            },
        ];
        for (name, bytes, want) in cases {
            let err = parse_record(&name, &bytes).unwrap_err();
            assert!(err.contains(want), "{name}: {err} (wanted {want})");
        }
    }

    #[test]
    fn a_wrong_file_name_is_only_a_warning() {
        let (_, bytes) = file("user:a", json!({"handle":"a","name":"A","created":5}));
        let p = parse_record("renamed", &bytes).unwrap();
        assert!(matches!(p.record, Record::User(_)));
        assert_eq!(p.warnings.len(), 1);
        assert!(p.warnings[0].contains("not the SHA-256"));
    }

    #[test]
    fn collect_sorts_out_users_avatars_others_and_duplicates() {
        let user_a = file("user:a", json!({"handle":"a","name":"A","created":5}));
        let mut stale = user_a.clone();
        stale.0 = "0000-stale-copy".into();
        let s = parse_all(vec![
            user_a.clone(),
            stale,
            file("user:b", json!({"handle":"b","name":"B","created":6})),
            file("avatar:a", json!("data:image/png;base64,AAAA")),
            file("avatar:ghost", json!("data:image/png;base64,AAAA")),
            file("session:xyz", json!({"anything": true})),
            ("broken".into(), b"{".to_vec()),
        ]);
        let handles: Vec<&str> = s.users.iter().map(|(_, u)| u.handle.as_str()).collect();
        assert_eq!(handles, ["a", "b"]);
        // The canonical file wins over the stale copy.
        assert_eq!(s.users[0].0, user_a.0);
        assert_eq!(s.avatars.len(), 1);
        assert!(s.avatars.contains_key("a"));
        assert_eq!(s.ignored, 1);
        let skipped: Vec<&str> = s.skipped.iter().map(|p| p.file.as_str()).collect();
        assert_eq!(skipped, ["0000-stale-copy", "broken"]);
        assert!(s.skipped[0].message.contains("duplicate"));
        assert!(s
            .warnings
            .iter()
            .any(|w| w.message.contains("ghost") && w.file == key_file_name("avatar:ghost")));
        // The stale copy's own name warning is not reported: it was skipped.
        assert!(s.warnings.iter().all(|w| w.file != "0000-stale-copy"));
    }

    #[test]
    fn read_dir_skips_sub_folders_and_reads_files() {
        let dir = tempfile::tempdir().unwrap();
        let (n, b) = file("user:a", json!({"handle":"a","name":"A","created":5}));
        std::fs::write(dir.path().join(&n), b).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("junk"), "x").unwrap();
        let s = read_dir(dir.path()).unwrap();
        assert_eq!(s.users.len(), 1);
        assert_eq!(s.skipped.len(), 1);
        assert_eq!(s.skipped[0].file, "junk");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), name in "\\PC{0,70}") {
            let _ = parse_record(&name, &bytes);
        }

        #[test]
        fn random_records_never_panic(
            key in "(user|avatar|x):\\PC{0,20}",
            handle in proptest::option::of("\\PC{0,20}"),
            created in proptest::option::of(any::<f64>()),
            admin in proptest::option::of(any::<u8>()),
            password in proptest::option::of("\\PC{0,8}"),
            salt in proptest::option::of("\\PC{0,8}"),
        ) {
            let mut v = serde_json::Map::new();
            if let Some(h) = handle { v.insert("handle".into(), json!(h)); }
            if let Some(c) = created { v.insert("created".into(), json!(c)); }
            if let Some(a) = admin { v.insert("admin".into(), if a % 2 == 0 { json!(a) } else { json!(a > 100) }); }
            if let Some(p) = password { v.insert("password".into(), json!(p)); }
            if let Some(s) = salt { v.insert("salt".into(), json!(s)); }
            let bytes = serde_json::to_vec(&json!({"key": key, "value": Value::Object(v)})).unwrap();
            let name = key_file_name(&key);
            if let Ok(p) = parse_record(&name, &bytes) {
                if let Record::User(u) = p.record {
                    prop_assert!(handle::is_valid(&u.handle));
                    prop_assert_eq!(u.password.is_some(), u.salt.is_some());
                }
            }
        }
    }
}
