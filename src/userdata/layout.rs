//! The SillyTavern folder layout of `dataRoot/<handle>/` and the factory
//! default `settings.json`.

use std::io;
use std::path::{Path, PathBuf};

use crate::accounts::handle;

/// Sub-folders every user folder has, as SillyTavern lays them out.
pub const FOLDERS: &[&str] = &[
    "backups",
    "characters",
    "chats",
    "groups",
    "group chats",
    "worlds",
    "User Avatars",
    "backgrounds",
    "themes",
    "extensions",
    "assets",
    "user",
    "user/images",
    "user/files",
    "user/workflows",
    "thumbnails",
    "thumbnails/bg",
    "thumbnails/avatar",
    "NovelAI Settings",
    "KoboldAI Settings",
    "OpenAI Settings",
    "TextGen Settings",
    "movingUI",
    "instruct",
    "context",
    "QuickReplies",
    "sysprompt",
    "vectors",
];

pub const SETTINGS_FILE: &str = "settings.json";

/// `dataRoot/<handle>`, only for a handle that follows the rules, so no
/// caller can build a path outside the data root from a handle.
pub fn user_dir(root: &Path, h: &str) -> Option<PathBuf> {
    handle::is_valid(h).then(|| root.join(h))
}

/// Our factory default settings: small, valid, and carrying the fields the
/// persona fallback reads.
pub fn default_settings(name: &str) -> String {
    let value = serde_json::json!({
        "firstRun": true,
        "username": name,
        "user_avatar": "user-default.png",
        "power_user": { "default_persona": null, "personas": {} },
    });
    super::json_text::to_file_text(&value).unwrap_or_else(|_| "{}\n".into())
}

/// Creates every missing folder of the layout and a default settings.json
/// when there is none. Existing files are never touched.
pub fn ensure(root: &Path, h: &str, name: &str) -> io::Result<PathBuf> {
    let dir = user_dir(root, h)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "invalid handle"))?;
    for folder in FOLDERS {
        std::fs::create_dir_all(dir.join(folder))?;
    }
    let settings = dir.join(SETTINGS_FILE);
    if !settings.exists() {
        super::atomic::write_atomic(&settings, default_settings(name).as_bytes())?;
    }
    Ok(dir)
}

/// Deletes a user's folder entirely.
pub fn purge(root: &Path, h: &str) -> io::Result<()> {
    let Some(dir) = user_dir(root, h) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "invalid handle",
        ));
    };
    match std::fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The persona picture named by settings.json: the default persona, else
/// the last used one. Returned only when that file exists.
pub fn persona_avatar(dir: &Path, settings_text: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(settings_text).ok()?;
    let candidates = [
        value.pointer("/power_user/default_persona"),
        value.get("user_avatar"),
    ];
    let found = candidates
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .filter(|file| is_picture_name(file))
        .find(|file| super::safe_path::resolve_in(dir, "User Avatars", file).is_ok())
        .map(str::to_string);
    found
}

/// The pictures (files with a picture name, not links) directly in
/// `User Avatars/`, sorted by name: what a persona picture can be.
pub fn persona_pictures(dir: &Path) -> Vec<String> {
    let Ok(folder) = super::safe_path::resolve_in(dir, "", "User Avatars") else {
        return Vec::new();
    };
    let mut out: Vec<String> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|name| is_picture_name(name))
        .collect();
    out.sort_by_key(|n| n.to_lowercase());
    out
}

/// A raster picture by its name: persona pictures are shown on the login
/// list to anyone, and an SVG (or anything else) can carry scripts.
pub fn is_picture_name(name: &str) -> bool {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    matches!(
        ext.as_deref(),
        Some("png" | "jpg" | "jpeg" | "gif" | "webp" | "avif")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ensure_builds_layout_and_keeps_files() {
        let root = tempfile::tempdir().unwrap();
        let dir = ensure(root.path(), "juan555", "Juan").unwrap();
        for f in FOLDERS {
            assert!(dir.join(f).is_dir(), "{f}");
        }
        let text = std::fs::read_to_string(dir.join(SETTINGS_FILE)).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["username"], "Juan");
        std::fs::write(dir.join(SETTINGS_FILE), "{\"mine\":1}").unwrap();
        std::fs::remove_dir(dir.join("vectors")).unwrap();
        ensure(root.path(), "juan555", "Juan").unwrap();
        assert!(dir.join("vectors").is_dir());
        assert_eq!(
            std::fs::read_to_string(dir.join(SETTINGS_FILE)).unwrap(),
            "{\"mine\":1}"
        );
        assert!(ensure(root.path(), "../x", "x").is_err());
    }

    #[test]
    fn persona_fallback_needs_an_existing_file() {
        let root = tempfile::tempdir().unwrap();
        let dir = ensure(root.path(), "a", "A").unwrap();
        let s = r#"{"user_avatar":"me.png","power_user":{"default_persona":"p.png"}}"#;
        assert_eq!(persona_avatar(&dir, s), None);
        std::fs::write(dir.join("User Avatars/me.png"), "x").unwrap();
        assert_eq!(persona_avatar(&dir, s).as_deref(), Some("me.png"));
        std::fs::write(dir.join("User Avatars/p.png"), "x").unwrap();
        assert_eq!(persona_avatar(&dir, s).as_deref(), Some("p.png"));
        assert_eq!(persona_avatar(&dir, r#"{"user_avatar":"../../x"}"#), None);
    }
}
