//! Checking values the parser accepts but Innkeeper cannot use, and keys
//! it does not know (SillyTavern's own are told apart from typos).

use std::net::IpAddr;

use ipnet::IpNet;

use super::*;

/// Value checks the types alone cannot express.
pub(super) fn validate(c: &Config, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut bad = |key: &str, msg: String| {
        problems.push(format!("{key}: {msg}{}", line_suffix(text, key)));
    };
    if !c.protocol.ipv4.wanted() && !c.protocol.ipv6.wanted() {
        bad(
            "protocol",
            "at least one of ipv4 and ipv6 must be true".into(),
        );
    }
    for entry in &c.whitelist {
        if parse_net(entry).is_none() {
            bad(
                "whitelist",
                format!("'{entry}' is not an IP address or CIDR range"),
            );
        }
    }
    for entry in &c.trusted_proxies {
        if parse_net(entry).is_none() {
            bad(
                "trustedProxies",
                format!("'{entry}' is not an IP address or CIDR range"),
            );
        }
    }
    if !(4..=10).contains(&c.recovery.code_digits) {
        bad("recovery.codeDigits", "must be between 4 and 10".into());
    }
    if c.passwords.min_length > 1024 {
        bad("passwords.minLength", "must be between 0 and 1024".into());
    }
    if let Err(e) = crate::permissions::profiles::check_name(&c.permissions.default_profile) {
        bad("permissions.defaultProfile", e.to_string());
    }
    if c.quotas.default_mb > 100_000_000 {
        bad("quotas.defaultMb", "must be between 0 and 100000000".into());
    }
    if !(1..=24).contains(&c.password_hash.log_n) {
        bad("passwordHash.logN", "must be between 1 and 24".into());
    }
    if c.password_hash.r == 0 || c.password_hash.p == 0 {
        bad("passwordHash", "r and p must be at least 1".into());
    } else if scrypt::Params::new(c.password_hash.log_n, c.password_hash.r, c.password_hash.p)
        .is_err()
    {
        bad(
            "passwordHash",
            "these scrypt parameters are not valid together".into(),
        );
    }
    if c.hooks.timeout_ms == 0 || c.hooks.timeout_ms > 60_000 {
        bad("hooks.timeoutMs", "must be between 1 and 60000".into());
    }
    if c.hooks.memory_limit_mb == 0 || c.hooks.memory_limit_mb > 4096 {
        bad("hooks.memoryLimitMb", "must be between 1 and 4096".into());
    }
    for (key, v) in [
        ("limits.jsonMb", c.limits.json_mb),
        ("limits.settingsMb", c.limits.settings_mb),
        ("limits.avatarMb", c.limits.avatar_mb),
    ] {
        if v == 0 || v > 1024 {
            bad(key, "must be between 1 and 1024".into());
        }
    }
    if c.sso.trusted_header.enabled && http_header_name_invalid(&c.sso.trusted_header.header) {
        bad(
            "sso.trustedHeader.header",
            "is not a valid header name".into(),
        );
    }
    if !["error", "warn", "info", "debug", "trace"].contains(&c.logging.level.as_str()) {
        bad(
            "logging.level",
            format!(
                "'{}' is not one of error, warn, info, debug, trace",
                c.logging.level
            ),
        );
    }
    if c.data_root.as_os_str().is_empty() {
        bad("dataRoot", "must not be empty".into());
    }
    // SillyTavern saves usage stats every 5 minutes; a shorter idle stop
    // would lose them every time.
    if !(6..=10_080).contains(&c.app.idle_minutes) {
        bad("app.idleMinutes", "must be between 6 and 10080".into());
    }
    if !(1..=1000).contains(&c.app.max_running) {
        bad("app.maxRunning", "must be between 1 and 1000".into());
    }
    if !(5..=3600).contains(&c.app.start_timeout_s) {
        bad("app.startTimeoutS", "must be between 5 and 3600".into());
    }
    if c.app.memory_mb != 0 && !(128..=1_048_576).contains(&c.app.memory_mb) {
        bad(
            "app.memoryMb",
            "must be 0 (no limit) or at least 128".into(),
        );
    }
    if c.app.node.trim().is_empty() {
        bad("app.node", "must name the Node.js binary".into());
    }
    problems
}

pub(super) fn http_header_name_invalid(name: &str) -> bool {
    name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b))
}

/// Parses an IP address or CIDR range.
pub fn parse_net(entry: &str) -> Option<IpNet> {
    let entry = entry.trim();
    if let Ok(net) = entry.parse::<IpNet>() {
        return Some(net);
    }
    entry.parse::<IpAddr>().ok().map(IpNet::from)
}

/// Keys Innkeeper reads, as dotted paths. A section listed here with a
/// trailing `.*` accepts any sub-key.
pub(super) const OWN_KEYS: &[&str] = &[
    "dataRoot",
    "listen",
    "port",
    "protocol.ipv4",
    "protocol.ipv6",
    "whitelistMode",
    "whitelist",
    "enableForwardedWhitelist",
    "trustedProxies",
    "basicAuthMode",
    "basicAuthUser.username",
    "basicAuthUser.password",
    "perUserBasicAuth",
    "enableUserAccounts",
    "enableDiscreetLogin",
    "sessionTimeout",
    "disableCsrfProtection",
    "securityOverride",
    "numberOfBackups",
    "hostWhitelist.enabled",
    "hostWhitelist.hosts",
    "sso.trustedHeader.enabled",
    "sso.trustedHeader.header",
    "sso.trustedHeader.autoCreate",
    "sso.logoutUrl",
    "backups.allowFullDataBackup",
    "recovery.codeDigits",
    "twoFactor.requireForAdmins",
    "passwords.minLength",
    "signup.mode",
    "quotas.defaultMb",
    "permissions.defaultProfile",
    "permissions.allowPrivateFetch",
    "hooks.dir",
    "hooks.timeoutMs",
    "hooks.memoryLimitMb",
    "hooks.failClosed",
    "passwordHash.logN",
    "passwordHash.r",
    "passwordHash.p",
    "passwordHash.concurrency",
    "ssl.enabled",
    "ssl.certPath",
    "ssl.keyPath",
    "limits.jsonMb",
    "limits.settingsMb",
    "limits.avatarMb",
    "logging.level",
    "app.sillytavern.dir",
    "app.node",
    "app.idleMinutes",
    "app.maxRunning",
    "app.startTimeoutS",
    "app.memoryMb",
];

/// Keys a SillyTavern config.yaml has that Innkeeper ignores. Whole sections
/// are accepted with everything below them — only sections Innkeeper does
/// not read itself, so a typo inside one of Innkeeper's own sections
/// (`protocol`, `basicAuthUser`, `backups`…) is reported like any other.
pub(super) const SILLYTAVERN_KEYS: &[&str] = &[
    "listenAddress.*",
    "dnsPreferIPv6",
    "browserLaunch.*",
    "autorun",
    "autorunHostname",
    "autorunPortOverride",
    "avoidLocalhost",
    "whitelistDockerHosts",
    "heartbeatInterval",
    "enableCorsProxy",
    "requestProxy.*",
    "sessionTimeout",
    "rateLimiting.*",
    "backups.common.*",
    "backups.chat.*",
    "thumbnails.*",
    "performance.*",
    "cacheBuster.*",
    "allowKeysExposure",
    "skipContentCheck",
    "whitelistImportDomains",
    "requestOverrides",
    "extensions.*",
    "enableServerPlugins",
    "enableServerPluginsAutoUpdate",
    "enableDownloadableTokenizers",
    "promptPlaceholder",
    "openai.*",
    "deepl.*",
    "mistral.*",
    "ollama.*",
    "claude.*",
    "gemini.*",
    "extras.*",
    "cookieSecret",
    "disableThumbnails",
    "thumbnailsQuality",
    "avatarThumbnailsPng",
    "disableChatBackup",
    "chatBackupThrottleInterval",
    "enableExtensions",
    "enableExtensionsAutoUpdate",
    "vectors.*",
    "logging.enableAccessLog",
    "logging.minLogLevel",
    "sso.autheliaAuth",
    "sso.authentikAuth",
    "ssl.keyPassphrase",
    "hostWhitelist.scan",
    "securityOverride",
    "disableCsrfProtection",
    "numberOfBackups",
    "secureOverride",
    "enableForwardedWhitelist",
];

pub(super) fn key_known(path: &str) -> KeyKind {
    if OWN_KEYS.contains(&path) || SILLYTAVERN_KEYS.contains(&path) {
        return KeyKind::Leaf;
    }
    let prefix = format!("{path}.");
    if OWN_KEYS.iter().any(|k| k.starts_with(&prefix)) {
        return KeyKind::Section;
    }
    for k in SILLYTAVERN_KEYS {
        if let Some(section) = k.strip_suffix(".*") {
            if path == section || path.starts_with(&format!("{section}.")) {
                return KeyKind::Leaf;
            }
            if section.starts_with(&prefix) {
                return KeyKind::Section;
            }
        }
    }
    KeyKind::Unknown
}

pub(super) enum KeyKind {
    Leaf,
    Section,
    Unknown,
}

pub(super) fn unknown_keys(
    value: &serde_yaml::Value,
    prefix: &str,
    text: &str,
    out: &mut Vec<String>,
) {
    let serde_yaml::Value::Mapping(map) = value else {
        return;
    };
    for (k, v) in map {
        let name = match k {
            serde_yaml::Value::String(s) => s.clone(),
            other => serde_yaml::to_string(other)
                .unwrap_or_default()
                .trim()
                .to_string(),
        };
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}.{name}")
        };
        match key_known(&path) {
            KeyKind::Leaf => {}
            KeyKind::Section => unknown_keys(v, &path, text, out),
            KeyKind::Unknown => out.push(format!(
                "unknown config key '{path}'{} is ignored",
                line_suffix(text, &path)
            )),
        }
    }
}
