//! Operations on accounts shared by the HTTP API and the console: create,
//! delete, enable/disable, promote/demote, name, avatar, password. Each
//! checks its rules, runs "before" hooks before changing anything, writes
//! the audit log, and ends sessions where the rules say so.

use std::sync::Arc;

use crate::accounts::handle::{self, DEFAULT_USER};
use crate::app::{Actor, App};
use crate::error::{AppError, INCORRECT_PASSWORD, USER_DISABLED};
use crate::fields;
use crate::hooks::EventKind;
use crate::sessions::EndReason;
use crate::store::{self, users::UserRow};
use crate::userdata::layout;

/// What a create request asks for.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Free text; slugified into the handle.
    pub handle: String,
    pub name: String,
    /// None or empty: no password.
    pub password: Option<String>,
    pub admin: bool,
}

pub const INVALID_HANDLE: &str = "Invalid handle";
/// A handle past [`handle::MAX_LEN`] (SillyTavern has no limit, so it has no
/// text for this; still a 400, as an invalid handle is).
pub const HANDLE_TOO_LONG: &str = "Handle too long: at most 64 characters";
pub const USER_EXISTS: &str = "User already exists";

/// Accounts and their changes: a view borrowed from [`App`], so services can
/// call each other without `Arc` cycles.
pub struct Accounts<'a> {
    app: &'a App,
}

impl App {
    /// The accounts: find, list, create, delete, change.
    pub fn accounts(&self) -> Accounts<'_> {
        Accounts { app: self }
    }
}

impl Accounts<'_> {
    pub async fn find_user(&self, handle: &str) -> Result<Option<UserRow>, AppError> {
        Ok(self.find_user_shared(handle).await?.map(|u| (*u).clone()))
    }

    /// The account straight from SQLite, for checks that must see a console
    /// command's change at once (passwords at login and recovery).
    pub async fn find_user_fresh(&self, handle: &str) -> Result<Option<UserRow>, AppError> {
        if !handle::is_valid(handle) {
            return Ok(None);
        }
        let h = handle.to_string();
        Ok(self
            .app
            .store
            .run(move |c| store::users::get(c, &h))
            .await?)
    }

    /// The account from the in-memory directory, without copying it.
    pub async fn find_user_shared(&self, handle: &str) -> Result<Option<Arc<UserRow>>, AppError> {
        if !handle::is_valid(handle) {
            return Ok(None);
        }
        Ok(self.app.users().await?.get(handle).cloned())
    }

    /// The user or 404 `User not found`.
    pub async fn require_user(&self, handle: &str) -> Result<UserRow, AppError> {
        self.find_user(handle)
            .await?
            .ok_or_else(AppError::user_not_found)
    }

    pub async fn list_users(&self) -> Result<Vec<UserRow>, AppError> {
        Ok(self
            .app
            .users()
            .await?
            .list
            .iter()
            .map(|u| (**u).clone())
            .collect())
    }

    /// Creates an account and its folder (re-using a folder left by an
    /// earlier account of the same handle). Returns the handle.
    pub async fn create_user(&self, actor: &Actor, req: NewUser) -> Result<String, AppError> {
        self.create_account(actor, req, false).await
    }

    /// Creates an account that `pending` keeps disabled until an admin
    /// approves it (a sign-up under `signup.mode: approval`).
    pub async fn create_account(
        &self,
        actor: &Actor,
        req: NewUser,
        pending: bool,
    ) -> Result<String, AppError> {
        let handle = handle::slugify(&req.handle).map_err(|e| match e {
            handle::HandleError::TooLong => AppError::bad(HANDLE_TOO_LONG),
            handle::HandleError::Empty => AppError::bad(INVALID_HANDLE),
        })?;
        let mut name = req.name.trim().to_string();
        let mut admin = req.admin;
        if self.find_user(&handle).await?.is_some() {
            return Err(AppError::Conflict(USER_EXISTS.into()));
        }
        let adjust = self.app
            .hook_before(
                EventKind::BeforeUserCreate,
                Some(&handle),
                actor,
                fields! { "handle" => handle, "name" => name, "admin" => admin, "ip" => actor.ip_text() },
            )
            .await?;
        if let Some(n) = adjust.get("name").and_then(|v| v.as_str()) {
            if !n.trim().is_empty() {
                name = n.trim().to_string();
            }
        }
        if let Some(a) = adjust.get("admin").and_then(|v| v.as_bool()) {
            admin = a;
        }
        if name.is_empty() {
            name = handle.clone();
        }
        let password = match req.password.as_deref() {
            Some(p) if !p.is_empty() => {
                self.check_new_password(p)?;
                Some(self.app.hasher.hash(p).await?)
            }
            _ => None,
        };
        let row = UserRow {
            password,
            admin,
            enabled: !pending,
            pending,
            ..UserRow::new(&handle, &name, self.app.clock.now_ms())
        };
        let lifecycle = self.app.account_lock.lock().await;
        let inserted = {
            let row = row.clone();
            self.app
                .write_user(&handle, move |c| store::users::insert(c, &row))
                .await?
        };
        if !inserted {
            return Err(AppError::Conflict(USER_EXISTS.into()));
        }
        let root = self.app.data_root.clone();
        let (h, n) = (handle.clone(), name.clone());
        let made = tokio::task::spawn_blocking(move || layout::ensure(&root, &h, &n))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        if let Err(e) = made {
            let h = handle.clone();
            let _ = self
                .app
                .write_user(&h.clone(), move |c| store::users::delete(c, &h))
                .await;
            return Err(AppError::Storage(e.to_string()));
        }
        self.app.snapshots().reindex(&handle).await?;
        self.app.settings().refresh_persona_avatar(&handle).await?;
        drop(lifecycle);
        if let Err(e) = self.app.permissions().place_shared(&handle).await {
            tracing::warn!("cannot place the shared keys of {handle}: {e}");
        }
        self.app
            .audit(
                actor,
                "user.create",
                Some(&handle),
                Some(format!("admin={admin}")),
            )
            .await;
        self.app
            .hook_after(
                EventKind::UserCreated,
                Some(&handle),
                actor,
                fields! { "handle" => handle, "name" => name, "admin" => admin },
            )
            .await;
        Ok(handle)
    }

    /// Deletes an account; its folder stays unless `purge`.
    pub async fn delete_user(
        &self,
        actor: &Actor,
        target: &str,
        purge: bool,
    ) -> Result<(), AppError> {
        if !handle::is_valid(target) {
            return Err(AppError::bad(INVALID_HANDLE));
        }
        if actor.handle.as_deref() == Some(target) {
            return Err(AppError::bad("Cannot delete yourself"));
        }
        if target == DEFAULT_USER {
            return Err(AppError::bad(
                "Sorry, but the default user cannot be deleted. It is required as a fallback.",
            ));
        }
        if self.find_user(target).await?.is_none() {
            return Ok(());
        }
        self.app
            .hook_before(
                EventKind::BeforeUserDelete,
                Some(target),
                actor,
                fields! { "handle" => target, "purge" => purge },
            )
            .await?;
        let lifecycle = self.app.account_lock.lock().await;
        self.app
            .sessions
            .revoke_user(target, None, EndReason::Deleted)
            .await?;
        // Its SillyTavern stops before the account and files go.
        let held = self
            .app
            .hold_app(target, crate::hosting::supervisor::StopReason::Deleted)
            .await;
        // A kept folder keeps no shared key.
        if let Err(e) = self.app.permissions().unplace_shared(target).await {
            tracing::warn!("cannot take the shared keys out of {target}'s folder: {e}");
        }
        let h = target.to_string();
        self.app
            .write_user(&h.clone(), move |c| {
                let tx = c.transaction()?;
                store::users::delete(&tx, &h)?;
                store::snapshots::delete_all(&tx, &h)?;
                store::guards::clear(&tx, &h)?;
                tx.commit()?;
                Ok(())
            })
            .await?;
        self.app.codes.forget(target);
        self.app.limits.login_account.clear(&target.to_string());
        if purge {
            let root = self.app.data_root.clone();
            let h = target.to_string();
            tokio::task::spawn_blocking(move || layout::purge(&root, &h))
                .await
                .map_err(|e| AppError::Internal(e.to_string()))??;
        }
        if let Some(view) = crate::hosting::view_root::ViewRoot::of(&self.app.data_root, target) {
            if let Err(e) = view.remove() {
                tracing::warn!("cannot remove the app folder of {target}: {e}");
            }
        }
        drop(held);
        drop(lifecycle);
        self.app.usage_book.forget(target);
        self.app
            .audit(
                actor,
                "user.delete",
                Some(target),
                Some(format!("purge={purge}")),
            )
            .await;
        self.app
            .hook_after(
                EventKind::UserDeleted,
                Some(target),
                actor,
                fields! { "handle" => target, "purge" => purge },
            )
            .await;
        Ok(())
    }

    /// Enables or disables an account; disabling ends its sessions.
    pub async fn set_enabled(
        &self,
        actor: &Actor,
        target: &str,
        enabled: bool,
    ) -> Result<(), AppError> {
        if !enabled && actor.handle.as_deref() == Some(target) {
            return Err(AppError::bad("Cannot disable yourself"));
        }
        self.require_user(target).await?;
        let h = target.to_string();
        self.app
            .write_user(&h.clone(), move |c| {
                store::users::set_enabled(c, &h, enabled)
            })
            .await?;
        if !enabled {
            self.app
                .sessions
                .revoke_user(target, None, EndReason::Disabled)
                .await?;
            if let Some(h) = self.app.hosting() {
                h.stop(target, crate::hosting::supervisor::StopReason::Disabled)
                    .await;
            }
        }
        let action = if enabled {
            "user.enable"
        } else {
            "user.disable"
        };
        self.app.audit(actor, action, Some(target), None).await;
        Ok(())
    }

    /// Promotes or demotes an account.
    pub async fn set_admin(
        &self,
        actor: &Actor,
        target: &str,
        admin: bool,
    ) -> Result<(), AppError> {
        if !admin && actor.handle.as_deref() == Some(target) {
            return Err(AppError::bad("Cannot demote yourself"));
        }
        self.require_user(target).await?;
        let h = target.to_string();
        self.app
            .write_user(&h.clone(), move |c| store::users::set_admin(c, &h, admin))
            .await?;
        let action = if admin { "user.promote" } else { "user.demote" };
        self.app.audit(actor, action, Some(target), None).await;
        Ok(())
    }

    pub async fn change_name(
        &self,
        actor: &Actor,
        target: &str,
        name: &str,
    ) -> Result<(), AppError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(AppError::missing());
        }
        self.require_user(target).await?;
        let (h, n) = (target.to_string(), name.to_string());
        self.app
            .write_user(&h.clone(), move |c| store::users::set_name(c, &h, &n))
            .await?;
        self.app
            .audit(actor, "user.change-name", Some(target), None)
            .await;
        Ok(())
    }

    /// Sets the custom avatar (a `data:image/` URL) or, with None, removes it.
    pub async fn change_avatar(
        &self,
        actor: &Actor,
        target: &str,
        avatar: Option<String>,
    ) -> Result<(), AppError> {
        self.require_user(target).await?;
        let h = target.to_string();
        self.app
            .write_user(&h.clone(), move |c| {
                store::users::set_avatar(c, &h, avatar.as_deref())
            })
            .await?;
        self.app
            .audit(actor, "user.change-avatar", Some(target), None)
            .await;
        Ok(())
    }

    /// Changes or (with an empty `new`) removes a password. Non-admins must
    /// give the old one for a protected account. Sessions end per SPEC §6.
    /// Sets `target`'s password. `temporary` (an admin setting someone
    /// else's) makes it one-use: that user must choose their own at the
    /// next login before anything else works.
    pub async fn change_password(
        &self,
        actor: &Actor,
        target: &str,
        old: Option<&str>,
        new: &str,
        temporary: bool,
    ) -> Result<(), AppError> {
        let user = self.require_user(target).await?;
        if !user.enabled {
            return Err(AppError::forbidden(USER_DISABLED));
        }
        self.check_new_password(new)?;
        if !actor.admin {
            self.app
                .logins()
                .confirm_password(&user, old, AppError::forbidden(INCORRECT_PASSWORD))
                .await?;
        }
        let own = actor.handle.as_deref() == Some(target);
        if temporary && (own || new.is_empty()) {
            return Err(AppError::bad(
                "Only a password an admin sets for someone else can be temporary",
            ));
        }
        self.store_password_marked(target, new, temporary).await?;
        let keep = if own { actor.session.as_deref() } else { None };
        self.app
            .sessions
            .revoke_user(target, keep, EndReason::PasswordChanged)
            .await?;
        if !own {
            // An admin's reset ends the lockout too (SPEC §6).
            self.app.limits.login_account.clear(&target.to_string());
        }
        let removed = new.is_empty();
        self.app
            .audit(
                actor,
                "user.change-password",
                Some(target),
                Some(
                    if removed {
                        "removed"
                    } else if temporary {
                        "set, temporary"
                    } else {
                        "set"
                    }
                    .into(),
                ),
            )
            .await;
        self.app.hook_after(
            EventKind::PasswordChanged,
            Some(target),
            actor,
            fields! { "handle" => target, "by" => actor.handle.clone().unwrap_or_else(|| "(console)".into()), "removed" => removed },
        )
        .await;
        Ok(())
    }

    /// A new password is long enough (`passwords.minLength`, counted in
    /// characters); "" (no password) always is.
    pub fn check_new_password(&self, new: &str) -> Result<(), AppError> {
        let min = self.app.config.passwords.min_length as usize;
        if !new.is_empty() && new.chars().count() < min {
            return Err(AppError::bad(format!(
                "Passwords must be at least {min} characters long."
            )));
        }
        Ok(())
    }

    /// Hashes and stores a password ("" clears it).
    pub async fn store_password(&self, target: &str, new: &str) -> Result<(), AppError> {
        self.store_password_marked(target, new, false).await
    }

    /// Hashes and stores a password, marked "change at next login" when
    /// `must_change`, in one write.
    async fn store_password_marked(
        &self,
        target: &str,
        new: &str,
        must_change: bool,
    ) -> Result<(), AppError> {
        self.check_new_password(new)?;
        let hash = if new.is_empty() {
            None
        } else {
            Some(self.app.hasher.hash(new).await?)
        };
        let h = target.to_string();
        self.app
            .write_user(&h.clone(), move |c| {
                let tx = c.transaction()?;
                let found = store::users::set_password(&tx, &h, hash.as_deref(), None)?;
                if must_change {
                    store::users::set_must_change(&tx, &h, true)?;
                }
                tx.commit()?;
                Ok(found)
            })
            .await?;
        Ok(())
    }

    /// Console recovery: sets or clears the password, re-enables the
    /// account, ends its sessions and clears every limit on it.
    /// Returns whether a second factor was removed (it is: someone locked
    /// out has usually lost that too).
    pub async fn console_recover(
        &self,
        target: &str,
        password: Option<&str>,
    ) -> Result<bool, AppError> {
        self.require_user(target).await?;
        self.store_password(target, password.unwrap_or("")).await?;
        let h = target.to_string();
        self.app
            .write_user(&h.clone(), move |c| store::users::set_enabled(c, &h, true))
            .await?;
        self.app
            .sessions
            .revoke_user(target, None, EndReason::PasswordChanged)
            .await?;
        self.clear_limits_of(target).await?;
        let two_factor_removed = self
            .app
            .two_factor()
            .remove(&Actor::console(), target, "2fa.remove")
            .await?;
        self.app
            .audit(&Actor::console(), "user.recover", Some(target), None)
            .await;
        Ok(two_factor_removed)
    }

    /// Clears the login and recovery limits of an account.
    pub async fn clear_limits_of(&self, target: &str) -> Result<(), AppError> {
        self.app.limits.login_account.clear(&target.to_string());
        self.app.limits.reset_account.clear(&target.to_string());
        self.app.limits.password_account.clear(&target.to_string());
        let h = target.to_string();
        self.app
            .store
            .run(move |c| store::guards::clear(c, &h))
            .await?;
        Ok(())
    }
}
