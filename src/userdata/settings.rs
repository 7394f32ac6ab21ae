//! A user's settings.json: read with the preset lists SillyTavern returns,
//! save atomically with a throttled automatic snapshot (see `snapshots`),
//! reset to factory defaults, and the persona picture it names.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::app::{Actor, App};
use crate::error::AppError;
use crate::fields;
use crate::hooks::EventKind;
use crate::store;
use crate::userdata::{atomic, layout, safe_path};

/// Automatic snapshots on save are at least this far apart per user.
const AUTO_SNAPSHOT_EVERY_MS: i64 = 10 * 60_000;

/// Preset folders whose files come back as raw text plus names.
const TEXT_PRESETS: &[(&str, &str, &str)] = &[
    (
        "KoboldAI Settings",
        "koboldai_settings",
        "koboldai_setting_names",
    ),
    (
        "NovelAI Settings",
        "novelai_settings",
        "novelai_setting_names",
    ),
    ("OpenAI Settings", "openai_settings", "openai_setting_names"),
    (
        "TextGen Settings",
        "textgenerationwebui_presets",
        "textgenerationwebui_preset_names",
    ),
];

/// Folders whose JSON files come back parsed.
const PARSED_PRESETS: &[(&str, &str)] = &[
    ("themes", "themes"),
    ("movingUI", "movingUIPresets"),
    ("QuickReplies", "quickReplyPresets"),
    ("instruct", "instruct"),
    ("context", "context"),
    ("sysprompt", "sysprompt"),
];

/// `.json` files (not links) of the user folder's sub-folder `folder`,
/// sorted by name: (stem, path). A folder that is a link leading out of
/// the user's folder lists nothing.
fn json_files(root: &Path, folder: &str) -> Vec<(String, PathBuf)> {
    let Ok(dir) = safe_path::resolve_in(root, "", folder) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".json")?.to_string();
            Some((stem, e.path()))
        })
        .collect();
    out.sort_by_key(|a| a.0.to_lowercase());
    out
}

/// The whole `settings/get` answer for a user folder.
pub fn read_all(dir: &Path, enable_accounts: bool, name: &str) -> Value {
    let settings = safe_path::read_confined(dir, layout::SETTINGS_FILE)
        .ok()
        .flatten()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|| layout::default_settings(name));
    let mut out = serde_json::Map::new();
    out.insert("settings".into(), Value::String(settings));
    for (folder, contents_key, names_key) in TEXT_PRESETS {
        let files = json_files(dir, folder);
        let (mut contents, mut names) = (Vec::new(), Vec::new());
        for (stem, path) in files {
            if let Ok(text) = std::fs::read_to_string(&path) {
                contents.push(Value::String(text));
                names.push(Value::String(stem));
            }
        }
        out.insert(contents_key.to_string(), Value::Array(contents));
        out.insert(names_key.to_string(), Value::Array(names));
    }
    let worlds: Vec<Value> = json_files(dir, "worlds")
        .into_iter()
        .map(|(stem, _)| Value::String(stem))
        .collect();
    out.insert("world_names".into(), Value::Array(worlds));
    for (folder, key) in PARSED_PRESETS {
        let parsed: Vec<Value> = json_files(dir, folder)
            .into_iter()
            .filter_map(|(_, p)| std::fs::read(&p).ok())
            .filter_map(|b| serde_json::from_slice(&b).ok())
            .collect();
        out.insert(key.to_string(), Value::Array(parsed));
    }
    out.insert("enable_extensions".into(), json!(true));
    out.insert("enable_extensions_auto_update".into(), json!(true));
    out.insert("enable_accounts".into(), json!(enable_accounts));
    Value::Object(out)
}

/// A user's settings.json and persona picture: a view borrowed from
/// [`App`], so services can call each other without `Arc` cycles.
pub struct Settings<'a> {
    app: &'a App,
}

impl App {
    /// A user's settings.json: read, save, reset, the persona picture.
    pub fn settings(&self) -> Settings<'_> {
        Settings { app: self }
    }
}

impl Settings<'_> {
    pub async fn get(&self, handle: &str, name: &str) -> Result<Value, AppError> {
        let dir = folder(self.app, handle)?;
        // SillyTavern's frontend shows its account buttons only with this
        // on; a hosted app always runs in accounts mode (SPEC §11).
        let accounts = self.app.config.enable_user_accounts || self.app.hosting().is_some();
        let name = name.to_string();
        blocking(move || Ok(read_all(&dir, accounts, &name))).await
    }

    /// Writes settings.json atomically, then takes an automatic snapshot
    /// when the last one is over 10 minutes old.
    pub async fn save(&self, handle: &str, value: &Value) -> Result<(), AppError> {
        let dir = folder(self.app, handle)?;
        let text =
            super::json_text::to_file_text(value).map_err(|e| AppError::Internal(e.to_string()))?;
        let path = dir.join(layout::SETTINGS_FILE);
        blocking(move || Ok(atomic::write_atomic(&path, text.as_bytes())?)).await?;
        let newest = self.app.snapshots().list(handle).await?.into_iter().next();
        if newest.is_none_or(|s| self.app.clock.now_ms() - s.created >= AUTO_SNAPSHOT_EVERY_MS) {
            self.app.snapshots().make(handle).await?;
        }
        self.refresh_persona_avatar(handle).await?;
        Ok(())
    }

    /// Makes `User Avatars/<file>` the persona picture (see
    /// `http::users::choose_persona_avatar`): settings.json is saved the
    /// usual way (atomic, with its automatic snapshot), then the custom
    /// picture is removed so the chosen one shows.
    pub async fn choose_persona_avatar(
        &self,
        actor: &Actor,
        handle: &str,
        file: &str,
    ) -> Result<(), AppError> {
        let user = self.app.accounts().require_user(handle).await?;
        let dir = folder(self.app, handle)?;
        let name = file.to_string();
        let settings = blocking(move || {
            if !layout::is_picture_name(&name)
                || name.contains(['/', '\\'])
                || safe_path::resolve_in(&dir, "User Avatars", &name).is_err()
            {
                return Err(AppError::bad("Invalid file"));
            }
            let text = safe_path::read_confined(&dir, layout::SETTINGS_FILE)?
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            let mut value: Value = text
                .and_then(|t| serde_json::from_str(&t).ok())
                .filter(Value::is_object)
                .unwrap_or_else(|| json!({}));
            value["user_avatar"] = json!(name);
            if let Some(p) = value.get_mut("power_user").filter(|p| p.is_object()) {
                if p.get("default_persona").is_some_and(|d| d.is_string()) {
                    p["default_persona"] = json!(name);
                }
            }
            Ok(value)
        })
        .await?;
        self.save(handle, &settings).await?;
        if user.avatar_tag.is_some() {
            self.app
                .accounts()
                .change_avatar(actor, handle, None)
                .await?;
        } else {
            self.app
                .audit(
                    actor,
                    "user.change-avatar",
                    Some(handle),
                    Some(format!("persona={file}")),
                )
                .await;
        }
        Ok(())
    }

    /// Recomputes the persona picture fallback kept in SQLite. Written only
    /// when it changed, so an ordinary settings save neither writes the
    /// users table nor drops the cached account lists.
    pub async fn refresh_persona_avatar(&self, handle: &str) -> Result<(), AppError> {
        let dir = folder(self.app, handle)?;
        let persona = blocking(move || {
            let text = safe_path::read_confined(&dir, layout::SETTINGS_FILE)?
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            Ok(layout::persona_avatar(&dir, &text))
        })
        .await?;
        let current = self.app.accounts().find_user_shared(handle).await?;
        if current.is_some_and(|u| u.persona_avatar == persona) {
            return Ok(());
        }
        let h = handle.to_string();
        self.app
            .write_user(&h.clone(), move |c| {
                store::users::set_persona_avatar(c, &h, persona.as_deref())
            })
            .await?;
        Ok(())
    }

    /// Resets settings.json to the factory default (snapshotting it first);
    /// every other file stays.
    pub async fn reset(&self, actor: &Actor, handle: &str, name: &str) -> Result<(), AppError> {
        self.app.snapshots().make(handle).await?;
        let path = folder(self.app, handle)?.join(layout::SETTINGS_FILE);
        let text = layout::default_settings(name);
        blocking(move || Ok(atomic::write_atomic(&path, text.as_bytes())?)).await?;
        self.refresh_persona_avatar(handle).await?;
        self.app
            .audit(actor, "settings.reset", Some(handle), None)
            .await;
        self.app
            .hook_after(
                EventKind::SettingsReset,
                Some(handle),
                actor,
                fields! { "handle" => handle, "scope" => "settings" },
            )
            .await;
        Ok(())
    }
}

/// The folder of `handle`, or 404 `User not found`.
pub(crate) fn folder(app: &App, handle: &str) -> Result<PathBuf, AppError> {
    app.user_dir(handle).ok_or_else(AppError::user_not_found)
}

/// Runs file work on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
}
