//! The installed SillyTavern Innkeeper runs: checked at start (folder,
//! `server.js`, `node_modules/`, a Node.js that runs), its version read from
//! `package.json`, and the two keys of its own `config.yaml` that every
//! process of the install shares set as SPEC §11 says: `enableUserAccounts:
//! true` and a fixed `cookieSecret` (without one, concurrent first starts
//! would race to write it). The original file is kept once as
//! `config.yaml.before-innkeeper`; every change is logged.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;

use crate::config::{top_level_scalars, AppConfig, YamlScalar};
use crate::userdata::atomic;

/// Where the install's config is kept before Innkeeper first changes it.
pub const ORIGINAL_SUFFIX: &str = ".before-innkeeper";
/// Held while the install's config.yaml is read and rewritten, so several
/// Innkeeper servers sharing one install agree on one cookie secret.
const LOCK_FILE: &str = ".innkeeper-config.lock";
/// The oldest Node.js SillyTavern 1.12.6 runs on.
const MIN_NODE_MAJOR: u32 = 18;

/// A checked install, ready to start processes from.
#[derive(Debug, Clone)]
pub struct Install {
    pub dir: PathBuf,
    /// From its package.json, e.g. `1.12.6`.
    pub version: String,
    /// The Node.js binary, as configured.
    pub node: String,
    /// What `node --version` printed, e.g. `v20.11.1`.
    pub node_version: String,
    /// The install's `cookieSecret`, which signs every process's sessions.
    pub cookie_secret: String,
}

/// Why the install cannot be used; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("app.sillytavern.dir: {0} is not a folder. Set it to an installed SillyTavern (the folder with server.js), or leave it empty to serve Innkeeper's own pages only")]
    NoDir(PathBuf),
    #[error("app.sillytavern.dir: {0} has no server.js; is it a SillyTavern folder?")]
    NoServer(PathBuf),
    #[error("app.sillytavern.dir: {0} has no node_modules/; run `npm ci --omit=dev` in that folder first")]
    NoModules(PathBuf),
    #[error("app.sillytavern.dir: cannot read the version from {path}: {reason}")]
    BadPackage { path: PathBuf, reason: String },
    #[error("app.node: cannot run `{node} --version` ({reason}); install Node.js {MIN_NODE_MAJOR} or newer, or set app.node to its path")]
    NoNode { node: String, reason: String },
    #[error(
        "app.node: `{node}` is Node.js {version}; SillyTavern needs {MIN_NODE_MAJOR} or newer"
    )]
    OldNode { node: String, version: String },
    #[error("cannot update SillyTavern's {path}: {reason}")]
    Config { path: PathBuf, reason: String },
}

impl Install {
    /// Checks the configured install and prepares its config.yaml.
    pub fn prepare(cfg: &AppConfig) -> Result<Install, InstallError> {
        let dir = cfg.sillytavern.dir.clone();
        if !dir.is_dir() {
            return Err(InstallError::NoDir(dir));
        }
        if !dir.join("server.js").is_file() {
            return Err(InstallError::NoServer(dir));
        }
        if !dir.join("node_modules").is_dir() {
            return Err(InstallError::NoModules(dir));
        }
        let version = read_version(&dir.join("package.json"))?;
        let node_version = node_version(&cfg.node)?;
        let cookie_secret = prepare_config(&dir)?;
        Ok(Install {
            dir,
            version,
            node: cfg.node.clone(),
            node_version,
            cookie_secret,
        })
    }
}

fn read_version(path: &Path) -> Result<String, InstallError> {
    let bad = |reason: String| InstallError::BadPackage {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    value
        .get("version")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .ok_or_else(|| bad("it has no \"version\"".into()))
}

/// Runs `node --version` and checks the major version.
fn node_version(node: &str) -> Result<String, InstallError> {
    let out = Command::new(node)
        .arg("--version")
        .output()
        .map_err(|e| InstallError::NoNode {
            node: node.into(),
            reason: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(InstallError::NoNode {
            node: node.into(),
            reason: format!("it exited with {}", out.status),
        });
    }
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let major = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok());
    match major {
        Some(m) if m >= MIN_NODE_MAJOR => Ok(version),
        _ => Err(InstallError::OldNode {
            node: node.into(),
            version,
        }),
    }
}

/// Makes sure the install's config.yaml has `enableUserAccounts: true` and
/// a `cookieSecret`, and returns the secret. A missing file is first made
/// from `default/config.yaml`, as SillyTavern's own first start does.
fn prepare_config(dir: &Path) -> Result<String, InstallError> {
    let path = dir.join("config.yaml");
    let fail = |reason: String| InstallError::Config {
        path: path.clone(),
        reason,
    };
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))
        .map_err(|e| fail(format!("cannot open its lock file: {e}")))?;
    lock.lock()
        .map_err(|e| fail(format!("cannot lock it: {e}")))?;
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let text = std::fs::read_to_string(dir.join("default").join("config.yaml"))
                .unwrap_or_default();
            tracing::info!(
                "SillyTavern has no config.yaml yet: made {} from its default",
                path.display()
            );
            atomic::write_atomic(&path, text.as_bytes()).map_err(|e| fail(e.to_string()))?;
            text
        }
        Err(e) => return Err(fail(e.to_string())),
    };
    let patched = patch(&text, new_secret).map_err(fail)?;
    if !patched.changes.is_empty() {
        let original = PathBuf::from(format!("{}{ORIGINAL_SUFFIX}", path.display()));
        if !original.exists() {
            atomic::write_atomic(&original, text.as_bytes()).map_err(|e| fail(e.to_string()))?;
            tracing::info!(
                "kept SillyTavern's original config as {}",
                original.display()
            );
        }
        atomic::write_atomic(&path, patched.text.as_bytes()).map_err(|e| fail(e.to_string()))?;
        for change in &patched.changes {
            tracing::info!("SillyTavern config {}: {change}", path.display());
        }
    }
    drop(lock);
    Ok(patched.secret)
}

/// A random secret like the one SillyTavern makes for itself.
fn new_secret() -> String {
    let bytes: [u8; 48] = rand::random();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The config text with Innkeeper's two keys set.
#[derive(Debug)]
struct Patched {
    text: String,
    secret: String,
    /// What changed, for the log (never the secret itself).
    changes: Vec<String>,
}

/// Sets the top-level keys by rewriting their lines (so the admin's
/// comments and layout stay), appending a key that is absent; then checks
/// the result reads back as intended.
fn patch(text: &str, make_secret: impl FnOnce() -> String) -> Result<Patched, String> {
    let parsed = top_level_scalars(text).map_err(|e| format!("it is not valid YAML: {e}"))?;
    let mut out = text.to_string();
    let mut changes = Vec::new();
    let accounts = parsed.get("enableUserAccounts");
    if accounts != Some(&YamlScalar::Bool(true)) {
        out = set_top_level(&out, "enableUserAccounts", "true");
        changes.push(format!(
            "set enableUserAccounts: true (was {})",
            describe(accounts)
        ));
    }
    let secret = match parsed.get("cookieSecret") {
        Some(YamlScalar::Text(s)) if !s.is_empty() => s.clone(),
        _ => {
            let s = make_secret();
            out = set_top_level(&out, "cookieSecret", &format!("'{s}'"));
            changes.push("set a cookieSecret (there was none)".into());
            s
        }
    };
    let check =
        top_level_scalars(&out).map_err(|e| format!("the rewritten file is not valid: {e}"))?;
    let ok = check.get("enableUserAccounts") == Some(&YamlScalar::Bool(true))
        && check.get("cookieSecret") == Some(&YamlScalar::Text(secret.clone()));
    if !ok {
        return Err(
            "enableUserAccounts or cookieSecret span several lines there; set them by hand \
             (enableUserAccounts: true and any cookieSecret)"
                .into(),
        );
    }
    Ok(Patched {
        text: out,
        secret,
        changes,
    })
}

fn describe(v: Option<&YamlScalar>) -> String {
    match v {
        None => "absent".into(),
        Some(YamlScalar::Bool(b)) => b.to_string(),
        Some(YamlScalar::Text(t)) => format!("{t:?}"),
        Some(YamlScalar::Other(o)) => o.clone(),
    }
}

/// Replaces the line `key: …` at column 0, or appends one.
fn set_top_level(text: &str, key: &str, value: &str) -> String {
    let prefix = format!("{key}:");
    let mut found = false;
    let mut lines: Vec<String> = text
        .lines()
        .map(|line| {
            if !found && line.starts_with(&prefix) {
                found = true;
                format!("{key}: {value}")
            } else {
                line.to_string()
            }
        })
        .collect();
    if !found {
        lines.push(format!("{key}: {value}"));
    }
    let mut joined = lines.join("\n");
    joined.push('\n');
    joined
}

/// A `SillyTavern/` install beside config.yaml that is not configured: the
/// first-run hint ("set app.sillytavern.dir to host it").
pub fn found_beside(base_dir: &Path) -> Option<PathBuf> {
    let dir = base_dir.join("SillyTavern");
    dir.join("server.js").is_file().then_some(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_both_keys_and_keeps_the_rest() {
        let text =
            "# comment\nport: 8000\nenableUserAccounts: false\ncookieSecret: ''\nlisten: false\n";
        let p = patch(text, || "S3cr+t/=".into()).unwrap();
        assert_eq!(p.secret, "S3cr+t/=");
        assert_eq!(
            p.text,
            "# comment\nport: 8000\nenableUserAccounts: true\ncookieSecret: 'S3cr+t/='\nlisten: false\n"
        );
        assert_eq!(p.changes.len(), 2, "{:?}", p.changes);
        assert!(!p.changes.iter().any(|c| c.contains("S3cr")));
    }

    #[test]
    fn keeps_an_existing_secret_and_changes_nothing_twice() {
        let text = "enableUserAccounts: true\ncookieSecret: abc\n";
        let p = patch(text, || unreachable!("a secret exists")).unwrap();
        assert_eq!(p.secret, "abc");
        assert!(p.changes.is_empty());
        assert_eq!(p.text, text);
    }

    #[test]
    fn appends_absent_keys_and_reads_empty_files() {
        let p = patch("", || "x".into()).unwrap();
        assert_eq!(p.text, "enableUserAccounts: true\ncookieSecret: 'x'\n");
        let p = patch("port: 1\n", || "y".into()).unwrap();
        assert_eq!(
            p.text,
            "port: 1\nenableUserAccounts: true\ncookieSecret: 'y'\n"
        );
    }

    #[test]
    fn refuses_what_it_cannot_rewrite_safely() {
        assert!(patch(
            "cookieSecret: >-\n  a\n  b\nenableUserAccounts: false\n",
            || "z".into()
        )
        .is_ok_and(|p| p.secret == "a b"));
        assert!(patch("enableUserAccounts:\n  - x\n", || "z".into()).is_err());
        assert!(patch(": : :\n\t", || "z".into()).is_err());
    }

    #[test]
    fn the_original_config_is_kept_once() {
        let dir = tempfile::tempdir().unwrap();
        let original = "# mine\nport: 8000\nenableUserAccounts: false\n";
        std::fs::write(dir.path().join("config.yaml"), original).unwrap();
        let secret = prepare_config(dir.path()).unwrap();
        let kept = dir.path().join(format!("config.yaml{ORIGINAL_SUFFIX}"));
        assert_eq!(std::fs::read_to_string(&kept).unwrap(), original);
        let now = std::fs::read_to_string(dir.path().join("config.yaml")).unwrap();
        assert!(
            now.starts_with("# mine\nport: 8000\nenableUserAccounts: true\n"),
            "{now}"
        );
        // Again: nothing changes, the same secret comes back.
        assert_eq!(prepare_config(dir.path()).unwrap(), secret);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("config.yaml")).unwrap(),
            now
        );
        // A later change by the admin is made again, but the first
        // original stays what it was.
        std::fs::write(
            dir.path().join("config.yaml"),
            "enableUserAccounts: false\n",
        )
        .unwrap();
        prepare_config(dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&kept).unwrap(), original);
        // No config.yaml yet: made from default/config.yaml.
        let fresh = tempfile::tempdir().unwrap();
        std::fs::create_dir(fresh.path().join("default")).unwrap();
        std::fs::write(fresh.path().join("default/config.yaml"), "port: 8000\n").unwrap();
        prepare_config(fresh.path()).unwrap();
        let made = std::fs::read_to_string(fresh.path().join("config.yaml")).unwrap();
        assert!(
            made.starts_with("port: 8000\nenableUserAccounts: true\ncookieSecret: '"),
            "{made}"
        );
    }

    #[test]
    fn checks_the_folder_step_by_step() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = |d: &Path| AppConfig {
            sillytavern: crate::config::SillyTavernConfig {
                dir: d.to_path_buf(),
            },
            ..AppConfig::default()
        };
        let missing = dir.path().join("nope");
        assert!(matches!(
            Install::prepare(&cfg(&missing)),
            Err(InstallError::NoDir(_))
        ));
        assert!(matches!(
            Install::prepare(&cfg(dir.path())),
            Err(InstallError::NoServer(_))
        ));
        std::fs::write(dir.path().join("server.js"), "").unwrap();
        let e = Install::prepare(&cfg(dir.path())).unwrap_err();
        assert!(e.to_string().contains("npm ci"), "{e}");
        std::fs::create_dir(dir.path().join("node_modules")).unwrap();
        std::fs::write(dir.path().join("package.json"), "{\"version\":\"1.12.6\"}").unwrap();
        let mut c = cfg(dir.path());
        c.node = "/nonexistent/node".into();
        let e = Install::prepare(&c).unwrap_err();
        assert!(matches!(e, InstallError::NoNode { .. }), "{e}");
        assert!(e.to_string().contains("app.node"), "{e}");
    }
}
