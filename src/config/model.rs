//! The config's structs and their defaults: what each key means.

use std::path::PathBuf;

use serde::Deserialize;

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

    /// Body limit of ordinary JSON requests, in bytes.
    pub fn json_limit(&self) -> u64 {
        self.limits.json_mb * 1024 * 1024
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
