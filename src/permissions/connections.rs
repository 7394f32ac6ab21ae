//! Shared API connections: an admin stores a key once and grants it to
//! profiles or users; Innkeeper writes the value into each granted user's
//! `secrets.json` (SillyTavern reads that file on every request, so a
//! running process picks the change up) and takes it out on revoke.
//! Which values were placed where is recorded (`placed_secrets`), so a
//! revoke removes exactly those and a user's own keys stay.
//!
//! When two granted connections use the same SillyTavern key, a grant to
//! the user wins over one to their profile, then the connection whose
//! name sorts first.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::PermissionError;
use crate::sealing::MAX_SECRET;
use crate::userdata::atomic::write_atomic;

/// SillyTavern's secrets file in a user's folder.
pub const SECRETS_FILE: &str = "secrets.json";

/// A connection as an admin gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub name: String,
    pub secret_key: String,
    /// None when an existing connection keeps its value.
    pub value: Option<String>,
    pub endpoint: Option<String>,
    pub models: Vec<String>,
}

impl Spec {
    /// Checks every field; the error names the one at fault.
    pub fn check(&self) -> Result<(), PermissionError> {
        let bad = |m: String| Err(PermissionError::Invalid(m));
        let name_ok = (1..=64).contains(&self.name.chars().count())
            && !self.name.chars().any(char::is_control)
            && self.name.trim() == self.name;
        if !name_ok {
            return bad("A connection's name must be 1 to 64 characters, without control characters or surrounding spaces".into());
        }
        let key_ok = (1..=64).contains(&self.secret_key.len())
            && self
                .secret_key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !key_ok {
            return bad(format!(
                "'{}' is not a SillyTavern secret key (such as api_key_openai or api_key_custom)",
                self.secret_key
            ));
        }
        if let Some(v) = &self.value {
            if v.trim().is_empty() || v.len() > MAX_SECRET || v.chars().any(char::is_control) {
                return bad(format!(
                    "The key's value must be 1 to {MAX_SECRET} bytes without control characters"
                ));
            }
        }
        if let Some(e) = &self.endpoint {
            let lower = e.to_ascii_lowercase();
            let parsed = e.parse::<warp::http::Uri>().ok();
            if !(lower.starts_with("http://") || lower.starts_with("https://"))
                || e.len() > 2048
                || parsed.and_then(|u| u.host().map(str::to_string)).is_none()
            {
                return bad(format!("'{e}' is not an http(s) URL"));
            }
        }
        if self.models.len() > 200
            || self
                .models
                .iter()
                .any(|m| m.is_empty() || m.len() > 200 || m.chars().any(char::is_control))
        {
            return bad("Allowed models: at most 200 names of 1 to 200 characters each".into());
        }
        Ok(())
    }
}

/// What the secrets file should hold for one user: key → (connection, value).
pub type Wanted = BTreeMap<String, (String, String)>;

/// Brings `dir/secrets.json` in line: keys placed before (`before`) but
/// no longer wanted go, wanted ones are set; every other key is the
/// user's and stays. Written atomically, and only when something changed.
/// A file that is not a JSON object is left alone (an error): it is the
/// user's, and SillyTavern could not read it either.
pub fn place(dir: &Path, before: &[String], wanted: &Wanted) -> std::io::Result<bool> {
    let path = dir.join(SECRETS_FILE);
    let mut map = match std::fs::read(&path) {
        Ok(bytes) => parse_object(&bytes).ok_or_else(|| {
            std::io::Error::other(format!("{} is not a JSON object", path.display()))
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if wanted.is_empty() {
                return Ok(false);
            }
            Map::new()
        }
        Err(e) => return Err(e),
    };
    let mut changed = false;
    for key in before {
        if !wanted.contains_key(key) && map.remove(key).is_some() {
            changed = true;
        }
    }
    for (key, (_, value)) in wanted {
        if map.get(key).and_then(Value::as_str) != Some(value.as_str()) {
            map.insert(key.clone(), Value::String(value.clone()));
            changed = true;
        }
    }
    if changed {
        write_atomic(&path, &pretty(&map))?;
    }
    Ok(changed)
}

fn parse_object(bytes: &[u8]) -> Option<Map<String, Value>> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Some(Map::new());
    }
    match serde_json::from_slice(bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// JSON with four-space indents, as SillyTavern writes the file.
fn pretty(map: &Map<String, Value>) -> Vec<u8> {
    use serde::Serialize;
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    // Writing a map of strings into a Vec cannot fail.
    let _ = map.serialize(&mut ser);
    out
}

/// The secrets file's bytes without `keys` (for a user's backup). A file
/// that is not a JSON object is dropped whole rather than risk a value.
pub fn without(bytes: &[u8], keys: &[String]) -> Option<Vec<u8>> {
    let mut map = parse_object(bytes)?;
    for k in keys {
        map.remove(k);
    }
    Some(pretty(&map))
}

/// Removes from a JSON answer of `/api/secrets/view` the shared keys.
pub fn hide_in_view(body: &[u8], keys: &[String]) -> Option<Vec<u8>> {
    let mut map = match serde_json::from_slice(body).ok()? {
        Value::Object(m) => m,
        _ => return None,
    };
    for k in keys {
        map.remove(k);
    }
    serde_json::to_vec(&map).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(pairs: &[(&str, &str)]) -> Wanted {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), ("house".to_string(), v.to_string())))
            .collect()
    }

    #[test]
    fn placing_keeps_the_users_own_keys_and_removes_only_what_it_placed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(SECRETS_FILE);
        // Nothing wanted and no file: nothing written.
        assert!(!place(dir.path(), &[], &Wanted::new()).unwrap());
        assert!(!file.exists());
        std::fs::write(&file, r#"{"api_key_claude": "mine"}"#).unwrap();
        assert!(place(dir.path(), &[], &wanted(&[("api_key_openai", "shared")])).unwrap());
        let v: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(v["api_key_claude"], "mine");
        assert_eq!(v["api_key_openai"], "shared");
        // Same again: no write.
        assert!(!place(
            dir.path(),
            &["api_key_openai".into()],
            &wanted(&[("api_key_openai", "shared")])
        )
        .unwrap());
        // Revoked: the shared key goes, the user's stays.
        assert!(place(dir.path(), &["api_key_openai".into()], &Wanted::new()).unwrap());
        let v: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(v, serde_json::json!({"api_key_claude": "mine"}));
        // A broken file is not overwritten.
        std::fs::write(&file, "[1,").unwrap();
        assert!(place(dir.path(), &[], &wanted(&[("k", "v")])).is_err());
        assert_eq!(std::fs::read(&file).unwrap(), b"[1,");
    }

    #[test]
    fn backups_and_views_lose_the_shared_values() {
        let keys = vec!["api_key_openai".to_string()];
        let out = without(br#"{"api_key_openai":"sk-shared","own":"x"}"#, &keys).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            !text.contains("sk-shared") && text.contains("own"),
            "{text}"
        );
        assert!(without(b"not json", &keys).is_none());
        let out = hide_in_view(br#"{"api_key_openai":"sk-shared","own":"x"}"#, &keys).unwrap();
        assert!(!String::from_utf8(out).unwrap().contains("sk-shared"));
    }

    #[test]
    fn specs_are_checked_field_by_field() {
        let good = Spec {
            name: "House OpenAI".into(),
            secret_key: "api_key_openai".into(),
            value: Some("sk-1".into()),
            endpoint: Some("https://api.example/v1".into()),
            models: vec!["gpt-x".into()],
        };
        assert!(good.check().is_ok());
        type Change = Box<dyn Fn(&mut Spec)>;
        let bad: Vec<Change> = vec![
            Box::new(|s| s.name = "".into()),
            Box::new(|s| s.name = " padded".into()),
            Box::new(|s| s.secret_key = "API KEY".into()),
            Box::new(|s| s.value = Some("  ".into())),
            Box::new(|s| s.value = Some("a\nb".into())),
            Box::new(|s| s.endpoint = Some("ftp://x".into())),
            Box::new(|s| s.endpoint = Some("http://".into())),
            Box::new(|s| s.models = vec!["".into()]),
        ];
        for (i, change) in bad.iter().enumerate() {
            let mut s = good.clone();
            change(&mut s);
            assert!(s.check().is_err(), "case {i}");
        }
    }
}
