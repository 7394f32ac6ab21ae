//! The SillyTavern 1.12.6 routes each permission guards, and what a
//! generation request says about where it goes. Paths are compared after
//! `hosting::routes::normalise` (decoded, dot segments resolved, lower
//! case — Express ignores case), so no spelling slips past.

use serde_json::Value;

use super::{PermissionError, Switch};

/// What a proxied request is, for the permissions layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guarded {
    /// Allowed or not by one switch alone.
    Plain(Switch),
    /// `/api/secrets/write|view|find`: `secrets.own`, and shared keys kept
    /// from being read or replaced.
    Secrets(SecretsCall),
    /// `/api/content/importURL|importUUID`: `content.importUrl`, and no
    /// private addresses.
    ImportUrl,
    /// A generation: `generate`, the shared connections' rules, the
    /// `before_generate` hook and the usage limits.
    Generate(GenKind),
    /// Another call to a text or chat backend (model lists, token counts):
    /// it sends the key too, so the shared connections' rules apply.
    Backend,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretsCall {
    Write,
    View,
    Find,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenKind {
    Text,
    Image,
    Speech,
    Translate,
}

impl GenKind {
    pub fn name(self) -> &'static str {
        match self {
            GenKind::Text => "text",
            GenKind::Image => "image",
            GenKind::Speech => "speech",
            GenKind::Translate => "translate",
        }
    }
}

const TEXT: &[&str] = &[
    "/api/backends/chat-completions/generate",
    "/api/backends/text-completions/generate",
    "/api/backends/kobold/generate",
    "/api/backends/scale-alt/generate",
    "/api/novelai/generate",
    "/api/horde/generate-text",
];
const IMAGE: &[&str] = &[
    "/api/openai/generate-image",
    "/api/novelai/generate-image",
    "/api/horde/generate-image",
];
const SPEECH: &[&str] = &[
    "/api/openai/generate-voice",
    "/api/novelai/generate-voice",
    "/api/speech/synthesize",
    "/api/azure/generate",
];

/// Classifies a normalised path (see `hosting::routes::normalise`); None
/// for everything no permission touches.
pub fn classify(path: &str) -> Option<Guarded> {
    let p = path.trim_end_matches('/');
    if !p.starts_with("/api/") {
        return None;
    }
    let g = match p {
        "/api/extensions/install" | "/api/extensions/update" | "/api/extensions/delete" => {
            Guarded::Plain(Switch::ExtensionsManage)
        }
        "/api/secrets/write" => Guarded::Secrets(SecretsCall::Write),
        "/api/secrets/view" => Guarded::Secrets(SecretsCall::View),
        "/api/secrets/find" => Guarded::Secrets(SecretsCall::Find),
        "/api/content/importurl" | "/api/content/importuuid" => Guarded::ImportUrl,
        _ if p == "/api/plugins" || p.starts_with("/api/plugins/") => {
            Guarded::Plain(Switch::Plugins)
        }
        _ if TEXT.contains(&p) => Guarded::Generate(GenKind::Text),
        _ if IMAGE.contains(&p) || (p.starts_with("/api/sd/") && p.ends_with("/generate")) => {
            Guarded::Generate(GenKind::Image)
        }
        _ if SPEECH.contains(&p) => Guarded::Generate(GenKind::Speech),
        _ if p.starts_with("/api/translate/") => Guarded::Generate(GenKind::Translate),
        _ if p.starts_with("/api/backends/") => Guarded::Backend,
        _ => return None,
    };
    Some(g)
}

/// Which secret a backend request uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsedKey {
    /// This secret (SillyTavern's key name).
    Key(&'static str),
    /// None: the source needs no key.
    NoKey,
    /// A source this table does not know.
    Unknown,
}

/// Chat-completion sources of 1.12.6 and the secret each reads.
const CHAT_SOURCES: &[(&str, Option<&str>)] = &[
    ("openai", Some("api_key_openai")),
    ("windowai", None),
    ("claude", Some("api_key_claude")),
    ("scale", Some("api_key_scale")),
    ("openrouter", Some("api_key_openrouter")),
    ("ai21", Some("api_key_ai21")),
    ("makersuite", Some("api_key_makersuite")),
    ("mistralai", Some("api_key_mistralai")),
    ("custom", Some("api_key_custom")),
    ("cohere", Some("api_key_cohere")),
    ("perplexity", Some("api_key_perplexity")),
    ("groq", Some("api_key_groq")),
    ("01ai", Some("api_key_01ai")),
    ("blockentropy", Some("api_key_blockentropy")),
];

/// Text-completion API types of 1.12.6 and the secret each reads.
const TEXT_TYPES: &[(&str, Option<&str>)] = &[
    ("ooba", Some("api_key_ooba")),
    ("mancer", Some("api_key_mancer")),
    ("vllm", Some("api_key_vllm")),
    ("aphrodite", Some("api_key_aphrodite")),
    ("tabby", Some("api_key_tabby")),
    ("koboldcpp", Some("api_key_koboldcpp")),
    ("togetherai", Some("api_key_togetherai")),
    ("llamacpp", Some("api_key_llamacpp")),
    ("ollama", None),
    ("infermaticai", Some("api_key_infermaticai")),
    ("dreamgen", Some("api_key_dreamgen")),
    ("openrouter", Some("api_key_openrouter")),
    ("featherless", Some("api_key_featherless")),
    ("huggingface", Some("api_key_huggingface")),
];

/// Body fields that name where a backend request goes.
pub const URL_FIELDS: &[&str] = &["reverse_proxy", "custom_url", "api_server", "api_url_scale"];

fn text(body: &Value, field: &str) -> Option<String> {
    body.get(field)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn lookup(table: &[(&str, Option<&'static str>)], name: Option<String>) -> UsedKey {
    match name.and_then(|n| table.iter().find(|(s, _)| *s == n)) {
        Some((_, Some(k))) => UsedKey::Key(k),
        Some((_, None)) => UsedKey::NoKey,
        None => UsedKey::Unknown,
    }
}

/// The secret a request to a backend route reads, from its source field.
pub fn used_key(path: &str, body: &Value) -> UsedKey {
    if path.starts_with("/api/backends/chat-completions/") {
        lookup(CHAT_SOURCES, text(body, "chat_completion_source"))
    } else if path.starts_with("/api/backends/text-completions/") {
        let named = text(body, "api_type").or_else(|| {
            ["ollama", "llamacpp"]
                .into_iter()
                .find(|t| path.contains(&format!("/{t}/")))
                .map(str::to_string)
        });
        lookup(TEXT_TYPES, named)
    } else if path.starts_with("/api/backends/kobold/") {
        UsedKey::NoKey
    } else if path.starts_with("/api/backends/scale-alt/") {
        UsedKey::Key("scale_cookie")
    } else {
        UsedKey::Unknown
    }
}

/// The source a generation names (for hooks and the audit): the chat
/// source or the text API type.
pub fn source_of(body: &Value) -> String {
    text(body, "chat_completion_source")
        .or_else(|| text(body, "api_type"))
        .or_else(|| text(body, "source"))
        .unwrap_or_default()
}

pub fn model_of(body: &Value) -> String {
    text(body, "model").unwrap_or_default()
}

/// A URL as compared: trimmed, no trailing slashes, lower case.
pub fn normalise_url(url: &str) -> String {
    url.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// A shared connection's rules, as the check needs them.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub secret_key: String,
    /// Normalised; None: only SillyTavern's built-in address.
    pub endpoint: Option<String>,
    /// Empty: any model.
    pub models: Vec<String>,
}

/// Checks a backend request of a user who has shared keys (`rules`):
/// when it would use a shared key, every address field it carries must
/// be that connection's endpoint and its model one of the allowed; a
/// source this table does not know may not carry an address at all.
pub fn check_connection(
    path: &str,
    body: &Value,
    rules: &[Rule],
    generation: bool,
) -> Result<(), PermissionError> {
    if rules.is_empty() {
        return Ok(());
    }
    let addresses: Vec<(&str, String)> = URL_FIELDS
        .iter()
        .filter_map(|f| text(body, f).map(|v| (*f, v)))
        .collect();
    let rule = match used_key(path, body) {
        UsedKey::NoKey => return Ok(()),
        UsedKey::Unknown => {
            return match addresses.first() {
                None => Ok(()),
                Some((field, _)) => Err(PermissionError::Connection(format!(
                    "send a request with '{field}' to a source Innkeeper does not know while shared keys are set"
                ))),
            }
        }
        UsedKey::Key(k) => match rules.iter().find(|r| r.secret_key == k) {
            Some(r) => r,
            None => return Ok(()),
        },
    };
    for (field, value) in &addresses {
        if rule.endpoint.as_deref() != Some(normalise_url(value).as_str()) {
            return Err(PermissionError::Connection(format!(
                "send the shared connection '{}' to {value} ({field})",
                rule.name
            )));
        }
    }
    if !rule.models.is_empty() {
        let model = model_of(body);
        if (generation || !model.is_empty()) && !rule.models.contains(&model) {
            return Err(PermissionError::Connection(format!(
                "use the model '{model}' with the shared connection '{}'",
                rule.name
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn routes_are_classified() {
        use GenKind::*;
        let cases: &[(&str, Option<Guarded>)] = &[
            (
                "/api/extensions/install",
                Some(Guarded::Plain(Switch::ExtensionsManage)),
            ),
            (
                "/api/extensions/update/",
                Some(Guarded::Plain(Switch::ExtensionsManage)),
            ),
            ("/api/extensions/discover", None),
            (
                "/api/secrets/find",
                Some(Guarded::Secrets(SecretsCall::Find)),
            ),
            ("/api/secrets/read", None),
            ("/api/content/importurl", Some(Guarded::ImportUrl)),
            ("/api/content/importuuid", Some(Guarded::ImportUrl)),
            (
                "/api/plugins/foo/bar",
                Some(Guarded::Plain(Switch::Plugins)),
            ),
            (
                "/api/backends/chat-completions/generate",
                Some(Guarded::Generate(Text)),
            ),
            (
                "/api/backends/chat-completions/status",
                Some(Guarded::Backend),
            ),
            (
                "/api/backends/text-completions/generate",
                Some(Guarded::Generate(Text)),
            ),
            ("/api/horde/generate-text", Some(Guarded::Generate(Text))),
            ("/api/sd/generate", Some(Guarded::Generate(Image))),
            ("/api/sd/comfy/generate", Some(Guarded::Generate(Image))),
            ("/api/sd/comfy/models", None),
            ("/api/speech/synthesize", Some(Guarded::Generate(Speech))),
            ("/api/translate/deepl", Some(Guarded::Generate(Translate))),
            ("/api/characters/all", None),
            ("/scripts/extensions/install", None),
        ];
        for (path, want) in cases {
            assert_eq!(classify(path), *want, "{path}");
        }
    }

    fn rule(key: &str, endpoint: Option<&str>, models: &[&str]) -> Rule {
        Rule {
            name: "house".into(),
            secret_key: key.into(),
            endpoint: endpoint.map(normalise_url),
            models: models.iter().map(|m| m.to_string()).collect(),
        }
    }

    #[test]
    fn shared_keys_go_only_where_their_connection_allows() {
        const CHAT: &str = "/api/backends/chat-completions/generate";
        const TEXT: &str = "/api/backends/text-completions/generate";
        let custom = [rule(
            "api_key_custom",
            Some("http://127.0.0.1:9/v1/"),
            &["m1"],
        )];
        let openai = [rule("api_key_openai", None, &[])];
        let cases: &[(&str, Value, &[Rule], bool)] = &[
            // The allowed endpoint and model pass, however spelled.
            (
                CHAT,
                json!({"chat_completion_source": "custom", "custom_url": "HTTP://127.0.0.1:9/v1", "model": "m1"}),
                &custom,
                true,
            ),
            // Another address, another model, no model: refused.
            (
                CHAT,
                json!({"chat_completion_source": "custom", "custom_url": "http://127.0.0.1:10/v1", "model": "m1"}),
                &custom,
                false,
            ),
            (
                CHAT,
                json!({"chat_completion_source": "custom", "custom_url": "http://127.0.0.1:9/v1", "model": "m2"}),
                &custom,
                false,
            ),
            (
                CHAT,
                json!({"chat_completion_source": "custom", "custom_url": "http://127.0.0.1:9/v1"}),
                &custom,
                false,
            ),
            // A reverse proxy beside the shared key is refused too.
            (
                CHAT,
                json!({"chat_completion_source": "openai", "reverse_proxy": "http://evil.example/v1", "model": "gpt"}),
                &openai,
                false,
            ),
            (
                CHAT,
                json!({"chat_completion_source": "openai", "model": "gpt"}),
                &openai,
                true,
            ),
            // A source whose key is not shared is the user's own business.
            (
                CHAT,
                json!({"chat_completion_source": "claude", "reverse_proxy": "http://x/"}),
                &openai,
                true,
            ),
            // Unknown source with an address: refused; without: passes.
            (
                CHAT,
                json!({"chat_completion_source": "brand-new", "custom_url": "http://x/"}),
                &openai,
                false,
            ),
            (
                CHAT,
                json!({"chat_completion_source": "brand-new"}),
                &openai,
                true,
            ),
            // Text completions: api_type names the key, api_server the address.
            (
                TEXT,
                json!({"api_type": "ooba", "api_server": "http://x:5000"}),
                &[rule("api_key_ooba", Some("http://y:5000"), &[])],
                false,
            ),
            (
                TEXT,
                json!({"api_type": "ooba", "api_server": "http://y:5000/"}),
                &[rule("api_key_ooba", Some("http://y:5000"), &[])],
                true,
            ),
            (
                TEXT,
                json!({"api_type": "ollama", "api_server": "http://x:11434"}),
                &openai,
                true,
            ),
            // No shared keys: nothing to check.
            (
                CHAT,
                json!({"chat_completion_source": "custom", "custom_url": "http://x/"}),
                &[],
                true,
            ),
        ];
        for (path, body, rules, ok) in cases {
            assert_eq!(
                check_connection(path, body, rules, true).is_ok(),
                *ok,
                "{body}"
            );
        }
        // Model lists outside generation (status calls) only bind a model named.
        let status = "/api/backends/chat-completions/status";
        let b = json!({"chat_completion_source": "custom", "custom_url": "http://127.0.0.1:9/v1"});
        assert!(check_connection(status, &b, &custom, false).is_ok());
    }
}
