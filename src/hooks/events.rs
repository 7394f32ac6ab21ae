//! The events scripts can listen to.
//!
//! One enum so the names scripts type (`"before_user_create"`) and the names
//! the server dispatches can never drift apart: a script naming an event that
//! is not in this list fails to load, instead of silently never firing.

use std::fmt;
use std::str::FromStr;

/// Every event the server fires. `Before*` events can refuse the action;
/// the others only observe something that already happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
    AppStarted,
    AppStopped,
    SignupRequested,
    BeforeGenerate,
}

/// A script used an event name that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event {0:?}")]
pub struct UnknownEvent(pub String);

impl EventKind {
    /// All kinds, in the order the README documents them.
    pub const ALL: [EventKind; 16] = [
        EventKind::BeforeUserCreate,
        EventKind::UserCreated,
        EventKind::BeforeUserDelete,
        EventKind::UserDeleted,
        EventKind::BeforeLogin,
        EventKind::LoginSucceeded,
        EventKind::LoginFailed,
        EventKind::RecoveryRequested,
        EventKind::PasswordChanged,
        EventKind::BackupCreated,
        EventKind::SettingsReset,
        EventKind::ServerStarted,
        EventKind::AppStarted,
        EventKind::AppStopped,
        EventKind::SignupRequested,
        EventKind::BeforeGenerate,
    ];

    /// The name scripts use in `innkeeper.on(name, fn)` and see as `ev.event`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::BeforeUserCreate => "before_user_create",
            EventKind::UserCreated => "user_created",
            EventKind::BeforeUserDelete => "before_user_delete",
            EventKind::UserDeleted => "user_deleted",
            EventKind::BeforeLogin => "before_login",
            EventKind::LoginSucceeded => "login_succeeded",
            EventKind::LoginFailed => "login_failed",
            EventKind::RecoveryRequested => "recovery_requested",
            EventKind::PasswordChanged => "password_changed",
            EventKind::BackupCreated => "backup_created",
            EventKind::SettingsReset => "settings_reset",
            EventKind::ServerStarted => "server_started",
            EventKind::AppStarted => "app_started",
            EventKind::AppStopped => "app_stopped",
            EventKind::SignupRequested => "signup_requested",
            EventKind::BeforeGenerate => "before_generate",
        }
    }

    /// True for events whose handlers may refuse the action. Only these
    /// read handler return values, and only these are refused when a
    /// handler fails and `fail_closed` is set.
    pub fn is_before(self) -> bool {
        matches!(
            self,
            EventKind::BeforeUserCreate
                | EventKind::BeforeUserDelete
                | EventKind::BeforeLogin
                | EventKind::BeforeGenerate
        )
    }
}

impl FromStr for EventKind {
    type Err = UnknownEvent;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| UnknownEvent(name.to_owned()))
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>(), Ok(kind));
        }
        assert!("user_create".parse::<EventKind>().is_err());
        assert!("BEFORE_LOGIN".parse::<EventKind>().is_err());
    }

    #[test]
    fn only_before_events_can_refuse() {
        let before: Vec<_> = EventKind::ALL
            .into_iter()
            .filter(|k| k.is_before())
            .collect();
        assert_eq!(
            before,
            [
                EventKind::BeforeUserCreate,
                EventKind::BeforeUserDelete,
                EventKind::BeforeLogin,
                EventKind::BeforeGenerate
            ]
        );
        assert!(EventKind::ALL
            .into_iter()
            .all(|k| k.is_before() == k.as_str().starts_with("before_")));
    }
}
