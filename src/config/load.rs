//! Reading `config.yaml`: the default written on a first start, parsing
//! with every problem collected, command-line overrides, relative paths.

use std::fmt;
use std::path::{Path, PathBuf};

use super::*;

/// Every problem found in a config file, each naming key and line.
#[derive(Debug)]
pub struct ConfigError {
    pub path: PathBuf,
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} has errors:", self.path.display())?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// A loaded config plus the warnings met on the way.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<String>,
    /// True when the file did not exist and was written with the defaults.
    pub created: bool,
}

/// Overrides from the command line, applied after the file.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub port: Option<u16>,
    pub listen: Option<bool>,
    pub data_root: Option<PathBuf>,
}

/// Reads `path` (writing the documented default first if it is missing),
/// applies `overrides` and resolves relative paths against the file's folder.
pub fn load(path: &Path, overrides: &Overrides) -> Result<Loaded, ConfigError> {
    let mut created = false;
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                let _ = std::fs::create_dir_all(dir);
            }
            crate::userdata::atomic::write_atomic(path, DEFAULT_CONFIG_TEXT.as_bytes()).map_err(
                |e| ConfigError {
                    path: path.to_path_buf(),
                    problems: vec![format!("cannot write the default config: {e}")],
                },
            )?;
            created = true;
            DEFAULT_CONFIG_TEXT.to_string()
        }
        Err(e) => {
            return Err(ConfigError {
                path: path.to_path_buf(),
                problems: vec![format!("cannot read: {e}")],
            })
        }
    };
    let (mut config, warnings) = parse(&text).map_err(|problems| ConfigError {
        path: path.to_path_buf(),
        problems,
    })?;
    if let Some(port) = overrides.port {
        config.port = port;
    }
    if let Some(listen) = overrides.listen {
        config.listen = listen;
    }
    let base = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    match &overrides.data_root {
        // A command-line path is relative to where the command runs.
        Some(root) => config.data_root = root.clone(),
        None => config.data_root = base.join(&config.data_root),
    }
    config.hooks.dir = base.join(&config.hooks.dir);
    if config.app.enabled() {
        config.app.sillytavern.dir = base.join(&config.app.sillytavern.dir);
    }
    // A node given as a relative path (not a bare name looked up in PATH).
    if config.app.node.contains('/') && Path::new(&config.app.node).is_relative() {
        config.app.node = base.join(&config.app.node).to_string_lossy().into_owned();
    }
    config.base_dir = base.clone();
    config.ssl.cert_path = base.join(&config.ssl.cert_path);
    config.ssl.key_path = base.join(&config.ssl.key_path);
    Ok(Loaded {
        config,
        warnings,
        created,
    })
}

/// Parses config text: the config, or every problem found.
pub fn parse(text: &str) -> Result<(Config, Vec<String>), Vec<String>> {
    let value: serde_yaml::Value = if text.trim().is_empty() {
        serde_yaml::Value::Null
    } else {
        serde_yaml::from_str(text).map_err(|e| vec![describe_yaml_error(&e)])?
    };
    let value = match value {
        serde_yaml::Value::Null => serde_yaml::Value::Mapping(Default::default()),
        serde_yaml::Value::Mapping(m) => serde_yaml::Value::Mapping(m),
        _ => {
            return Err(vec![
                "the file must be a mapping of keys to values (line 1)".into(),
            ])
        }
    };
    let mut warnings = Vec::new();
    unknown_keys(&value, "", text, &mut warnings);
    // Parse again from text (not from the Value) so type errors carry lines.
    let config: Config = if text.trim().is_empty() {
        Config::default()
    } else {
        serde_yaml::from_str(text).map_err(|e| vec![describe_yaml_error(&e)])?
    };
    let problems = validate(&config, text);
    if problems.is_empty() {
        Ok((config, warnings))
    } else {
        Err(problems)
    }
}

pub(super) fn describe_yaml_error(e: &serde_yaml::Error) -> String {
    // serde_yaml renders "key.path: message at line L column C".
    let text = e.to_string();
    match e.location() {
        Some(loc) if !text.contains("line") => format!("{text} (line {})", loc.line()),
        _ => text,
    }
}

/// " (line N)" for a dotted key found in the text, or "".
pub(super) fn line_suffix(text: &str, dotted: &str) -> String {
    match key_line(text, dotted) {
        Some(n) => format!(" (line {n})"),
        None => String::new(),
    }
}

/// Finds the 1-based line of a dotted key in block-style YAML by following
/// indentation: good enough to point an admin at the right spot.
pub fn key_line(text: &str, dotted: &str) -> Option<usize> {
    let mut parts = dotted.split('.');
    let mut want = parts.next()?;
    let mut min_indent: Option<usize> = None;
    let mut parent_indent: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if let Some(p) = parent_indent {
            if indent <= p {
                return None;
            }
        }
        if min_indent.is_some_and(|m| indent != m) {
            continue;
        }
        let key = trimmed
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches('"');
        if key == want && trimmed[key.len()..].trim_start().starts_with(':')
            || trimmed.starts_with(&format!("\"{want}\":"))
        {
            match parts.next() {
                None => return Some(i + 1),
                Some(next) => {
                    want = next;
                    parent_indent = Some(indent);
                    min_indent = None;
                    // The child's indent is whatever the next key line uses.
                    continue;
                }
            }
        }
        if min_indent.is_none() {
            min_indent = Some(indent);
        }
    }
    None
}

/// A top-level value of another program's YAML file (SillyTavern's own
/// config.yaml), as far as Innkeeper reads one: so `serde_yaml` stays here.
#[derive(Debug, Clone, PartialEq)]
pub enum YamlScalar {
    Bool(bool),
    Text(String),
    /// Anything else, rendered as YAML (for messages).
    Other(String),
}

/// The top-level keys of a YAML mapping with their values; an empty text
/// is an empty mapping.
pub fn top_level_scalars(
    text: &str,
) -> Result<std::collections::HashMap<String, YamlScalar>, String> {
    if text.trim().is_empty() {
        return Ok(Default::default());
    }
    let value: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    let serde_yaml::Value::Mapping(map) = value else {
        return Err("it is not a mapping of keys to values".into());
    };
    Ok(map
        .into_iter()
        .filter_map(|(k, v)| {
            let k = k.as_str()?.to_string();
            let v = match v {
                serde_yaml::Value::Bool(b) => YamlScalar::Bool(b),
                serde_yaml::Value::String(s) => YamlScalar::Text(s),
                other => YamlScalar::Other(
                    serde_yaml::to_string(&other)
                        .map(|s| s.trim().to_string())
                        .unwrap_or_default(),
                ),
            };
            Some((k, v))
        })
        .collect())
}
