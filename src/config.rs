//! `config.yaml`: the structs, their defaults, loading and validation.
//!
//! `serde_yaml` stays inside this module. Loading collects every problem it
//! can find (type errors from the parser carry key and line; value checks
//! find the key's line in the text) so an admin fixes them all in one go.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::Deserialize;

/// The documented default file, written out when none exists.
pub const DEFAULT_CONFIG_TEXT: &str = include_str!("../config.yaml");

/// Everything read from `config.yaml`, with defaults filled in.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Config {
    pub data_root: PathBuf,
    pub listen: bool,
    pub port: u16,
    pub protocol: Protocol,
    pub whitelist_mode: bool,
    pub whitelist: Vec<String>,
    pub enable_forwarded_whitelist: bool,
    pub trusted_proxies: Vec<String>,
    pub basic_auth_mode: bool,
    pub basic_auth_user: BasicAuthUser,
    pub per_user_basic_auth: bool,
    pub enable_user_accounts: bool,
    pub enable_discreet_login: bool,
    pub session_timeout: i64,
    pub disable_csrf_protection: bool,
    pub security_override: bool,
    pub number_of_backups: u32,
    pub host_whitelist: HostWhitelist,
    pub sso: Sso,
    pub backups: Backups,
    pub recovery: Recovery,
    pub two_factor: TwoFactorConfig,
    pub passwords: Passwords,
    pub signup: Signup,
    pub quotas: Quotas,
    pub permissions: PermissionsConfig,
    pub hooks: HooksConfig,
    pub password_hash: PasswordHashConfig,
    pub ssl: Ssl,
    pub limits: Limits,
    pub logging: Logging,
    pub app: AppConfig,
    /// The folder of the config file (relative paths were resolved against
    /// it); where a `SillyTavern/` install is looked for on a first run.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Protocol {
    pub ipv4: Stack,
    pub ipv6: Stack,
}

/// Whether to bind one IP stack: `true`, `false`, or `"auto"` (as in
/// SillyTavern's config: bind if the machine has that stack, else skip).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stack {
    On,
    Off,
    Auto,
}

impl Stack {
    pub fn wanted(self) -> bool {
        self != Stack::Off
    }
}

impl<'de> Deserialize<'de> for Stack {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Flag(bool),
            Word(String),
        }
        match Raw::deserialize(d)? {
            Raw::Flag(true) => Ok(Stack::On),
            Raw::Flag(false) => Ok(Stack::Off),
            Raw::Word(w) if w.eq_ignore_ascii_case("auto") => Ok(Stack::Auto),
            Raw::Word(w) => Err(serde::de::Error::custom(format!(
                "expected true, false or \"auto\", found \"{w}\""
            ))),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BasicAuthUser {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HostWhitelist {
    pub enabled: bool,
    pub hosts: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Sso {
    pub trusted_header: TrustedHeader,
    pub logout_url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TrustedHeader {
    pub enabled: bool,
    pub header: String,
    pub auto_create: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Backups {
    pub allow_full_data_backup: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Recovery {
    pub code_digits: u32,
}

/// Two-factor login (TOTP).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TwoFactorConfig {
    /// Admins who log in with a password must turn on two-factor login
    /// before anything else works.
    pub require_for_admins: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Passwords {
    /// Shortest new password accepted (0: any, as SillyTavern allows).
    pub min_length: u32,
}

/// Whether people may create their own account from the login page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SignupMode {
    /// Only admins (and invitations) create accounts.
    #[default]
    Off,
    /// A sign-up creates a disabled account that an admin approves.
    Approval,
    /// A sign-up creates a working account at once.
    Open,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Signup {
    pub mode: SignupMode,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Quotas {
    /// Storage per account in MiB (0: none); admins override it per account.
    pub default_mb: u64,
}

/// Permission profiles (see permissions::profiles).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PermissionsConfig {
    /// The profile of accounts an admin has not given one.
    pub default_profile: String,
    /// Let URL imports reach loopback, private and link-local addresses.
    pub allow_private_fetch: bool,
}

impl Default for PermissionsConfig {
    fn default() -> Self {
        PermissionsConfig {
            default_profile: "member".into(),
            allow_private_fetch: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HooksConfig {
    pub dir: PathBuf,
    pub timeout_ms: u64,
    pub memory_limit_mb: u64,
    pub fail_closed: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PasswordHashConfig {
    #[serde(rename = "logN")]
    pub log_n: u8,
    pub r: u32,
    pub p: u32,
    /// 0 = automatic (cores − 1, at least 1).
    pub concurrency: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Ssl {
    pub enabled: bool,
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Limits {
    pub json_mb: u64,
    pub settings_mb: u64,
    pub avatar_mb: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Logging {
    pub level: String,
}

/// `app:`: the SillyTavern install Innkeeper runs for every logged-in user
/// (SPEC §11). An empty `sillytavern.dir` means no app: Innkeeper serves its
/// own pages only.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AppConfig {
    pub sillytavern: SillyTavernConfig,
    /// The Node.js binary: a name looked up in `PATH`, or a path.
    pub node: String,
    /// A process with no proxied request for this long is stopped.
    pub idle_minutes: u64,
    /// Processes at once; the least recently used idle one makes room.
    pub max_running: usize,
    /// A process that has not answered by then is killed.
    pub start_timeout_s: u64,
    /// If > 0, `--max-old-space-size` for each process.
    pub memory_mb: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SillyTavernConfig {
    pub dir: PathBuf,
}

impl AppConfig {
    /// True when an install is configured.
    pub fn enabled(&self) -> bool {
        !self.sillytavern.dir.as_os_str().is_empty()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_root: PathBuf::from("./data"),
            listen: false,
            port: 8000,
            protocol: Protocol::default(),
            whitelist_mode: true,
            whitelist: vec!["127.0.0.1".into(), "::1".into()],
            enable_forwarded_whitelist: true,
            trusted_proxies: vec!["127.0.0.1".into(), "::1".into()],
            basic_auth_mode: false,
            basic_auth_user: BasicAuthUser {
                username: "user".into(),
                password: "password".into(),
            },
            per_user_basic_auth: false,
            enable_user_accounts: true,
            enable_discreet_login: false,
            session_timeout: 86400,
            disable_csrf_protection: false,
            security_override: false,
            number_of_backups: 50,
            host_whitelist: HostWhitelist::default(),
            sso: Sso::default(),
            backups: Backups::default(),
            recovery: Recovery::default(),
            two_factor: TwoFactorConfig::default(),
            passwords: Passwords::default(),
            signup: Signup::default(),
            quotas: Quotas::default(),
            permissions: PermissionsConfig::default(),
            hooks: HooksConfig::default(),
            password_hash: PasswordHashConfig::default(),
            ssl: Ssl::default(),
            limits: Limits::default(),
            logging: Logging::default(),
            app: AppConfig::default(),
            base_dir: PathBuf::from("."),
        }
    }
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            sillytavern: SillyTavernConfig::default(),
            node: "node".into(),
            idle_minutes: 30,
            max_running: 8,
            start_timeout_s: 90,
            memory_mb: 0,
        }
    }
}

impl Default for Protocol {
    fn default() -> Self {
        Protocol {
            ipv4: Stack::On,
            ipv6: Stack::Off,
        }
    }
}

impl Default for TrustedHeader {
    fn default() -> Self {
        TrustedHeader {
            enabled: false,
            header: "Remote-User".into(),
            auto_create: false,
        }
    }
}

impl Default for Recovery {
    fn default() -> Self {
        Recovery { code_digits: 4 }
    }
}

impl Default for HooksConfig {
    fn default() -> Self {
        HooksConfig {
            dir: PathBuf::from("scripts"),
            timeout_ms: 1000,
            memory_limit_mb: 32,
            fail_closed: true,
        }
    }
}

impl Default for PasswordHashConfig {
    fn default() -> Self {
        PasswordHashConfig {
            log_n: 15,
            r: 8,
            p: 3,
            concurrency: 0,
        }
    }
}

impl Default for Ssl {
    fn default() -> Self {
        Ssl {
            enabled: false,
            cert_path: PathBuf::from("certs/cert.pem"),
            key_path: PathBuf::from("certs/privkey.pem"),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            json_mb: 1,
            settings_mb: 50,
            avatar_mb: 10,
        }
    }
}

impl Default for Logging {
    fn default() -> Self {
        Logging {
            level: "info".into(),
        }
    }
}

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

fn describe_yaml_error(e: &serde_yaml::Error) -> String {
    // serde_yaml renders "key.path: message at line L column C".
    let text = e.to_string();
    match e.location() {
        Some(loc) if !text.contains("line") => format!("{text} (line {})", loc.line()),
        _ => text,
    }
}

/// Value checks the types alone cannot express.
fn validate(c: &Config, text: &str) -> Vec<String> {
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

fn http_header_name_invalid(name: &str) -> bool {
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

/// " (line N)" for a dotted key found in the text, or "".
fn line_suffix(text: &str, dotted: &str) -> String {
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

/// Keys Innkeeper reads, as dotted paths. A section listed here with a
/// trailing `.*` accepts any sub-key.
const OWN_KEYS: &[&str] = &[
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
const SILLYTAVERN_KEYS: &[&str] = &[
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

fn key_known(path: &str) -> KeyKind {
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

enum KeyKind {
    Leaf,
    Section,
    Unknown,
}

fn unknown_keys(value: &serde_yaml::Value, prefix: &str, text: &str, out: &mut Vec<String>) {
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

impl Config {
    /// Hash concurrency with 0 resolved to cores − 1 (at least 1).
    pub fn hash_concurrency(&self) -> usize {
        match self.password_hash.concurrency {
            0 => std::thread::available_parallelism()
                .map(|n| n.get().saturating_sub(1).max(1))
                .unwrap_or(1),
            n => n,
        }
    }

    /// The non-secret values hook scripts may read.
    pub fn public_view(&self) -> serde_json::Value {
        serde_json::json!({
            "port": self.port,
            "listen": self.listen,
            "enableUserAccounts": self.enable_user_accounts,
            "enableDiscreetLogin": self.enable_discreet_login,
            "sessionTimeout": self.session_timeout,
            "numberOfBackups": self.number_of_backups,
            "whitelistMode": self.whitelist_mode,
            "basicAuthMode": self.basic_auth_mode,
            "recovery": { "codeDigits": self.recovery.code_digits },
            "twoFactor": { "requireForAdmins": self.two_factor.require_for_admins },
            "passwords": { "minLength": self.passwords.min_length },
            "signup": { "mode": self.signup.mode },
            "quotas": { "defaultMb": self.quotas.default_mb },
            "permissions": { "defaultProfile": self.permissions.default_profile, "allowPrivateFetch": self.permissions.allow_private_fetch },
            "hooks": { "timeoutMs": self.hooks.timeout_ms, "memoryLimitMb": self.hooks.memory_limit_mb, "failClosed": self.hooks.fail_closed },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_factor_key_is_read_and_checked() {
        let (c, w) = parse("twoFactor:\n  requireForAdmins: true\n").unwrap();
        assert!(c.two_factor.require_for_admins);
        assert!(w.is_empty(), "{w:?}");
        assert!(!parse("").unwrap().0.two_factor.require_for_admins);
        let errors = parse("port: 8000\ntwoFactor:\n  requireForAdmins: maybe\n").unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.contains("requireForAdmins") && e.contains("line 3")),
            "{errors:?}"
        );
        let (_, w) = parse("twoFactor:\n  requireForAdmin: true\n").unwrap();
        assert!(
            w.iter().any(|w| w.contains("twoFactor.requireForAdmin")),
            "{w:?}"
        );
    }

    #[test]
    fn empty_text_gives_defaults() {
        let (c, w) = parse("").unwrap();
        assert_eq!(c.port, 8000);
        assert!(c.enable_user_accounts);
        assert!(w.is_empty());
    }

    #[test]
    fn shipped_default_parses_without_warnings() {
        let (c, w) = parse(DEFAULT_CONFIG_TEXT).unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.password_hash.log_n, 15);
        assert_eq!(c.whitelist, vec!["127.0.0.1", "::1"]);
    }

    #[test]
    fn type_error_names_key_and_line() {
        let err = parse("listen: false\nport: lots\n").unwrap_err();
        assert!(err[0].contains("port"), "{err:?}");
        assert!(err[0].contains("line 2"), "{err:?}");
        let err = parse("hooks:\n  dir: x\n  timeoutMs: soon\n").unwrap_err();
        assert!(err[0].contains("hooks.timeoutMs"), "{err:?}");
        assert!(err[0].contains("line 3"), "{err:?}");
    }

    #[test]
    fn value_errors_are_collected_with_lines() {
        let text = "port: 8000\nrecovery:\n  codeDigits: 2\nwhitelist:\n  - nonsense\nhooks:\n  timeoutMs: 0\n";
        let err = parse(text).unwrap_err();
        assert_eq!(err.len(), 3, "{err:?}");
        assert!(err
            .iter()
            .any(|e| e.starts_with("hooks.timeoutMs:") && e.contains("line 7")));
        assert!(err
            .iter()
            .any(|e| e.contains("whitelist") && e.contains("line 4")));
        assert!(err
            .iter()
            .any(|e| e.contains("recovery.codeDigits") && e.contains("line 3")));
    }

    #[test]
    fn unknown_keys_warn_but_sillytavern_keys_do_not() {
        let text = "autorun: true\nrequestProxy:\n  enabled: false\nextras:\n  disableAutoDownload: false\nopenai:\n  randomizeUserId: false\nprotocol:\n  ipv4: true\nportt: 9\nhooks:\n  dirr: x\n";
        let (_, w) = parse(text).unwrap();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].contains("'portt'") && w[0].contains("line 10"),
            "{w:?}"
        );
        assert!(
            w[1].contains("'hooks.dirr'") && w[1].contains("line 12"),
            "{w:?}"
        );
    }

    #[test]
    fn sillytavern_keys_pass_and_typos_in_every_section_warn() {
        // Every top-level key of SillyTavern 1.12.6's own config.yaml.
        let st = "dataRoot: ./data\nlisten: false\nprotocol:\n  ipv4: true\n  ipv6: false\n\
                  dnsPreferIPv6: false\nautorunHostname: auto\nport: 8000\nautorunPortOverride: -1\n\
                  whitelistMode: true\nenableForwardedWhitelist: true\nwhitelist: [127.0.0.1]\n\
                  basicAuthMode: false\nbasicAuthUser:\n  username: u\n  password: p\n\
                  enableCorsProxy: false\nrequestProxy:\n  enabled: false\n  url: ''\n  bypass: []\n\
                  enableUserAccounts: false\nenableDiscreetLogin: false\nsessionTimeout: 86400\n\
                  cookieSecret: ''\ndisableCsrfProtection: false\nsecurityOverride: false\n\
                  autorun: true\navoidLocalhost: false\ndisableThumbnails: false\n\
                  thumbnailsQuality: 95\navatarThumbnailsPng: false\nallowKeysExposure: false\n\
                  skipContentCheck: false\ndisableChatBackup: false\nnumberOfBackups: 50\n\
                  chatBackupThrottleInterval: 10000\nwhitelistImportDomains: [localhost]\n\
                  requestOverrides: []\nenableExtensions: true\nenableExtensionsAutoUpdate: true\n\
                  enableDownloadableTokenizers: true\nvectors:\n  enableModelScopes: false\n\
                  extras:\n  disableAutoDownload: false\nopenai:\n  randomizeUserId: false\n\
                  deepl:\n  formality: default\nmistral:\n  enablePrefix: false\n\
                  ollama:\n  keepAlive: -1\nclaude:\n  enableSystemPromptCache: false\n\
                  enableServerPlugins: false\n";
        let (_, w) = parse(st).unwrap();
        assert!(w.is_empty(), "{w:?}");
        for (text, key) in [
            ("protocol:\n  ipv4: true\n  ipv66: true\n", "protocol.ipv66"),
            ("basicAuthUser:\n  usernam: x\n", "basicAuthUser.usernam"),
            (
                "backups:\n  allowFullDataBackupp: true\n",
                "backups.allowFullDataBackupp",
            ),
            (
                "sso:\n  trustedHeader:\n    enabeld: true\n",
                "sso.trustedHeader.enabeld",
            ),
            (
                "app:\n  sillytavern:\n    dirr: x\n",
                "app.sillytavern.dirr",
            ),
            ("limits:\n  jsonMB: 2\n", "limits.jsonMB"),
        ] {
            let (_, w) = parse(text).unwrap();
            assert!(
                w.len() == 1 && w[0].contains(&format!("'{key}'")),
                "{text:?}: {w:?}"
            );
        }
    }

    #[test]
    fn stacks_take_true_false_or_auto() {
        let (c, _) = parse("protocol:\n  ipv4: auto\n  ipv6: true\n").unwrap();
        assert_eq!(c.protocol.ipv4, Stack::Auto);
        assert_eq!(c.protocol.ipv6, Stack::On);
        let err = parse("protocol:\n  ipv4: maybe\n").unwrap_err();
        assert!(
            err[0].contains("protocol") && err[0].contains("line 2") && err[0].contains("auto"),
            "{err:?}"
        );
        let err = parse("protocol:\n  ipv4: false\n  ipv6: false\n").unwrap_err();
        assert!(err[0].contains("protocol"), "{err:?}");
    }

    #[test]
    fn key_line_follows_nesting() {
        let text =
            "a: 1\nsso:\n  logoutUrl: x\n  trustedHeader:\n    enabled: true\nb:\n  enabled: 2\n";
        assert_eq!(key_line(text, "sso.trustedHeader.enabled"), Some(5));
        assert_eq!(key_line(text, "b.enabled"), Some(7));
        assert_eq!(key_line(text, "sso.enabled"), None);
    }

    #[test]
    fn paths_resolve_against_the_config_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conf").join("config.yaml");
        let loaded = load(&path, &Overrides::default()).unwrap();
        assert!(loaded.created);
        assert!(path.exists());
        assert_eq!(
            loaded.config.data_root,
            dir.path().join("conf").join("./data")
        );
        let again = load(
            &path,
            &Overrides {
                port: Some(9),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(!again.created);
        assert_eq!(again.config.port, 9);
    }
}
