//! Lua hook scripts (interface; the engine lands in its own change).

use std::path::PathBuf;

pub struct HookSettings {
    pub dir: PathBuf,
    pub timeout_ms: u64,
    pub memory_limit_mb: u64,
    pub fail_closed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    BeforeUserCreate,
    UserCreated,
    BeforeUserDelete,
    UserDeleted,
    BeforeLogin,
    LoginSucceeded,
    LoginFailed,
    RecoveryRequested,
    PasswordChanged,
    BackupCreated,
    SettingsReset,
    ServerStarted,
}

pub struct HookEvent {
    pub kind: EventKind,
    pub handle: Option<String>,
    pub ip: Option<String>,
    pub fields: serde_json::Map<String, serde_json::Value>,
    pub user_dir: Option<PathBuf>,
}

pub enum HookOutcome {
    Allow {
        adjust: serde_json::Map<String, serde_json::Value>,
    },
    Refuse {
        reason: String,
    },
}

#[derive(Clone)]
pub struct Hooks;

impl Hooks {
    pub fn new(_settings: HookSettings, _config_view: serde_json::Value) -> Hooks {
        Hooks
    }
    pub fn has_handlers(&self, _kind: EventKind) -> bool {
        false
    }
    pub async fn dispatch(&self, _event: HookEvent) -> HookOutcome {
        HookOutcome::Allow {
            adjust: Default::default(),
        }
    }
}
