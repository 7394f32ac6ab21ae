//! What each account may do in its hosted SillyTavern, enforced at the
//! proxy (SillyTavern itself is unchanged): permission [`profiles`] with
//! their switches, shared API [`connections`] whose values users use but
//! never see, and [`usage`] limits on generations. [`routes`] names the
//! SillyTavern 1.12.6 routes each switch guards and reads the fields of a
//! generation request; [`fetch_target`] refuses URLs that point inside the
//! server's own network. `http::gate` puts them together for one request.

pub mod connections;
pub mod fetch_target;
pub mod profiles;
pub mod routes;
pub mod service;
pub mod usage;

/// One thing a profile allows or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Switch {
    /// Install, update and delete extensions.
    ExtensionsManage,
    /// Read and write one's own API keys (those not shared).
    SecretsOwn,
    /// Have the server fetch a URL (character and lorebook imports).
    ContentImportUrl,
    /// Download one's own backup.
    BackupDownload,
    /// Call server plugins.
    Plugins,
    /// Generate: chat and text completions, images, speech, translation.
    Generate,
}

impl Switch {
    pub const ALL: [Switch; 6] = [
        Switch::ExtensionsManage,
        Switch::SecretsOwn,
        Switch::ContentImportUrl,
        Switch::BackupDownload,
        Switch::Plugins,
        Switch::Generate,
    ];

    /// The name in config, the database, the API and the CLI.
    pub fn name(self) -> &'static str {
        match self {
            Switch::ExtensionsManage => "extensions.manage",
            Switch::SecretsOwn => "secrets.own",
            Switch::ContentImportUrl => "content.importUrl",
            Switch::BackupDownload => "backup.download",
            Switch::Plugins => "plugins",
            Switch::Generate => "generate",
        }
    }

    pub fn from_name(name: &str) -> Option<Switch> {
        Switch::ALL.into_iter().find(|s| s.name() == name.trim())
    }

    /// What a refusal says the account may not do.
    pub fn refusal(self) -> &'static str {
        match self {
            Switch::ExtensionsManage => "install, update or delete extensions",
            Switch::SecretsOwn => "use its own API keys",
            Switch::ContentImportUrl => "import from a URL",
            Switch::BackupDownload => "download backups",
            Switch::Plugins => "use server plugins",
            Switch::Generate => "generate",
        }
    }

    /// What the account page says the switch allows.
    pub fn describe(self) -> &'static str {
        match self {
            Switch::ExtensionsManage => "Install, update and delete extensions",
            Switch::SecretsOwn => "Enter and view your own API keys",
            Switch::ContentImportUrl => "Import characters and lorebooks from a URL",
            Switch::BackupDownload => "Download a backup of your data",
            Switch::Plugins => "Use the server's plugins",
            Switch::Generate => "Generate text, images, speech and translations",
        }
    }
}

/// Why the permissions layer refuses a request.
#[derive(Debug, thiserror::Error)]
pub enum PermissionError {
    /// The profile lacks the switch.
    #[error("Your account may not {} (ask an admin)", .0.refusal())]
    Denied(Switch),
    /// A shared key may be used but not read or replaced.
    #[error("Your account may not {0} (ask an admin)")]
    SharedKey(String),
    /// A request would send a shared key where it is not allowed to go.
    #[error("Your account may not {0} (ask an admin)")]
    Connection(String),
    /// The server would fetch an address inside its own network.
    #[error(
        "Your account may not import from {0}: it is a private or local address (ask an admin)"
    )]
    PrivateAddress(String),
    /// A hook script refused the generation.
    #[error("{0}")]
    Refused(String),
    /// A usage limit is reached.
    #[error("{message}")]
    Limited {
        message: String,
        retry_after: u64,
        /// When the window resets (RFC 3339, UTC).
        resets_at: String,
    },
    /// Bad input to an admin call.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
}
