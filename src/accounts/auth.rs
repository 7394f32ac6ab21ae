//! Proving who you are: login, password recovery with a console code, and
//! the account reset. Limits per SPEC §6: per IP and per account, with the
//! per-handle caps that close recovery for a handle after too many wrong
//! codes.

use crate::accounts::password::Stored;
use crate::app::{Actor, App};
use crate::codes::Purpose;
use crate::error::{
    AppError, INCORRECT_CODE, INCORRECT_CREDENTIALS, INCORRECT_PASSWORD, LOGIN_LIMITED,
    RECOVERY_LIMITED, USER_DISABLED,
};
use crate::fields;
use crate::hooks::EventKind;
use crate::store::{self, guards::Guard, sessions::Proof, users::UserRow};
use crate::userdata::layout;

/// Wrong recovery codes a handle may get per day, and in total until its
/// next successful login or an admin's reset.
pub const RECOVERY_WRONG_PER_DAY: i64 = 10;
pub const RECOVERY_WRONG_TOTAL: i64 = 30;
const DAY_MS: i64 = 24 * 3600 * 1000;
pub const RECOVERY_CLOSED: &str =
    "Password recovery is closed for this account after too many wrong codes: contact your admin.";

impl App {
    /// Checks a login. On success returns the user and what the session
    /// must find unchanged when it is stored (the caller opens it);
    /// failures count against the IP and the account.
    pub async fn login(
        &self,
        actor: &Actor,
        handle: &str,
        password: Option<&str>,
    ) -> Result<(UserRow, Proof), AppError> {
        let ip = actor.ip.map(crate::app::limit_key);
        let account = handle.to_string();
        let limited = ip
            .map_or(Ok(()), |ip| {
                self.limits
                    .login_ip
                    .check(&ip)
                    .and_then(|_| self.limits.login_ip_hour.check(&ip))
            })
            .and_then(|_| self.limits.login_account.check(&account));
        if let Err(wait) = limited {
            self.login_failed_event(actor, handle, "rate_limited").await;
            return Err(login_limited(wait));
        }
        self.hook_before(
            EventKind::BeforeLogin,
            Some(handle).filter(|h| crate::accounts::handle::is_valid(h)),
            actor,
            fields! { "handle" => handle, "ip" => actor.ip_text() },
        )
        .await?;
        // The limits are checked again, and failures counted, while the
        // hashing slot is held: parallel guesses cannot outrun them.
        let gate = || -> Result<(), AppError> {
            if let Some(ip) = ip {
                self.limits.login_ip.check(&ip).map_err(login_limited)?;
                self.limits
                    .login_ip_hour
                    .check(&ip)
                    .map_err(login_limited)?;
            }
            self.limits
                .login_account
                .check(&account)
                .map_err(login_limited)
        };
        let count = |ok: bool| {
            if !ok {
                self.count_login_failure(actor, handle);
            }
        };
        let user = self.find_user_fresh(handle).await?;
        let Some(user) = user else {
            // Same work as a known handle, so timing tells nothing.
            self.hasher
                .verify_gated(password.unwrap_or(""), None, gate, count)
                .await??;
            return Err(self
                .login_failed_counted(actor, handle, "unknown_user")
                .await);
        };
        if !user.enabled {
            self.login_failed_event(actor, handle, "disabled").await;
            return Err(AppError::forbidden(USER_DISABLED));
        }
        let mut proof = Proof::Password(user.password.clone());
        if let Some(stored_text) = user.password.as_deref() {
            let stored = Stored::from_columns(stored_text, user.legacy_salt.as_deref());
            let ok = match password {
                Some(p) => {
                    self.hasher
                        .verify_gated(p, Some(stored), gate, count)
                        .await??
                }
                None => false,
            };
            if !ok && password.is_none() {
                return Err(self.login_failed(actor, handle, "wrong_password").await);
            }
            if !ok {
                return Err(self
                    .login_failed_counted(actor, handle, "wrong_password")
                    .await);
            }
            if self.hasher.needs_rehash(stored) {
                if let Some(p) = password {
                    if let Some(new) = self.upgrade_hash(&user.handle, stored_text, p).await {
                        proof = Proof::Password(Some(new));
                    }
                }
            }
        }
        if let Some(ip) = ip {
            self.limits.login_ip.clear(&ip);
        }
        self.limits.login_account.clear(&account);
        let h = user.handle.clone();
        self.store.run(move |c| store::guards::clear(c, &h)).await?;
        self.audit(actor, "login.success", Some(&user.handle), None)
            .await;
        self.hook_after(
            EventKind::LoginSucceeded,
            Some(&user.handle),
            actor,
            fields! { "handle" => user.handle, "ip" => actor.ip_text() },
        )
        .await;
        Ok((user, proof))
    }

    /// Re-hashes a password with today's parameters; returns the new
    /// stored hash when it replaced `old`.
    async fn upgrade_hash(&self, handle: &str, old: &str, password: &str) -> Option<String> {
        match self.hasher.hash(password).await {
            Ok(new_hash) => {
                let (h, o, n) = (handle.to_string(), old.to_string(), new_hash.clone());
                match self
                    .write_user(&h.clone(), move |c| {
                        store::users::upgrade_password(c, &h, &o, &n)
                    })
                    .await
                {
                    Ok(true) => Some(new_hash),
                    Ok(false) => None,
                    Err(e) => {
                        tracing::warn!("could not upgrade the password hash of {handle}: {e}");
                        None
                    }
                }
            }
            Err(e) => {
                tracing::warn!("could not upgrade the password hash of {handle}: {e}");
                None
            }
        }
    }

    async fn login_failed(&self, actor: &Actor, handle: &str, reason: &str) -> AppError {
        self.count_login_failure(actor, handle);
        self.login_failed_counted(actor, handle, reason).await
    }

    fn count_login_failure(&self, actor: &Actor, handle: &str) {
        if let Some(ip) = actor.ip.map(crate::app::limit_key) {
            self.limits.login_ip.fail(&ip);
            self.limits.login_ip_hour.fail(&ip);
        }
        // Per account only for what can be a handle: any other string
        // (up to a whole request body) would only fill memory.
        if crate::accounts::handle::is_valid(handle) {
            self.limits.login_account.fail(&handle.to_string());
        }
    }

    /// A failed login whose failure is already counted.
    async fn login_failed_counted(&self, actor: &Actor, handle: &str, reason: &str) -> AppError {
        self.login_failed_event(actor, handle, reason).await;
        AppError::forbidden(INCORRECT_CREDENTIALS)
    }

    async fn login_failed_event(&self, actor: &Actor, handle: &str, reason: &str) {
        let target = Some(handle).filter(|h| crate::accounts::handle::is_valid(h));
        self.audit(actor, "login.failure", target, Some(reason.to_string()))
            .await;
        self.hook_after(
            EventKind::LoginFailed,
            target,
            actor,
            fields! { "handle" => handle, "ip" => actor.ip_text(), "reason" => reason },
        )
        .await;
    }

    fn recovery_ip_check(&self, actor: &Actor) -> Result<(), AppError> {
        match actor.ip.map(crate::app::limit_key) {
            Some(ip) => self
                .limits
                .recovery_ip
                .check(&ip)
                .map_err(|wait| AppError::TooMany {
                    message: RECOVERY_LIMITED.into(),
                    retry_after: wait,
                }),
            None => Ok(()),
        }
    }

    fn recovery_ip_fail(&self, actor: &Actor) {
        if let Some(ip) = actor.ip.map(crate::app::limit_key) {
            self.limits.recovery_ip.fail(&ip);
        }
    }

    /// Whether a handle may still try recovery codes (per-handle caps).
    async fn recovery_guard(&self, handle: &str) -> Result<Guard, AppError> {
        let h = handle.to_string();
        let now = self.clock.now_ms();
        let mut g = self.store.run(move |c| store::guards::get(c, &h)).await?;
        if now - g.day_start >= DAY_MS {
            g.day_start = now;
            g.day_wrong = 0;
        }
        if g.day_wrong >= RECOVERY_WRONG_PER_DAY || g.total_wrong >= RECOVERY_WRONG_TOTAL {
            return Err(AppError::forbidden(RECOVERY_CLOSED));
        }
        Ok(g)
    }

    /// Step 1: prints a one-time code for `handle` on the console.
    pub async fn recover_step1(&self, actor: &Actor, handle: &str) -> Result<(), AppError> {
        self.recovery_ip_check(actor)?;
        let Some(user) = self.find_user_fresh(handle).await? else {
            self.recovery_ip_fail(actor);
            if self.config.enable_discreet_login {
                return Ok(());
            }
            return Err(AppError::user_not_found());
        };
        if !user.enabled {
            return Err(AppError::forbidden(USER_DISABLED));
        }
        self.recovery_guard(&user.handle).await?;
        let code = self.codes.issue(Purpose::Recovery, &user.handle);
        self.console.line(&format!(
            "Password recovery code: {code} (for {}, {})",
            user.name, user.handle
        ));
        self.audit(actor, "recovery.request", Some(&user.handle), None)
            .await;
        self.hook_after(
            EventKind::RecoveryRequested,
            Some(&user.handle),
            actor,
            fields! { "handle" => user.handle, "name" => user.name, "code" => code, "ip" => actor.ip_text() },
        )
        .await;
        Ok(())
    }

    /// Step 2: the code sets a new password (or none) and ends every
    /// session of the account. `code` is None when it was not a string.
    pub async fn recover_step2(
        &self,
        actor: &Actor,
        handle: &str,
        code: Option<&str>,
        new_password: &str,
    ) -> Result<(), AppError> {
        self.recovery_ip_check(actor)?;
        let Some(user) = self.find_user_fresh(handle).await? else {
            self.recovery_ip_fail(actor);
            if self.config.enable_discreet_login {
                return Err(AppError::forbidden(INCORRECT_CODE));
            }
            return Err(AppError::user_not_found());
        };
        if !user.enabled {
            return Err(AppError::forbidden(USER_DISABLED));
        }
        let guard = self.recovery_guard(&user.handle).await?;
        let ok = code.is_some_and(|c| self.codes.redeem(Purpose::Recovery, &user.handle, c));
        if !ok {
            self.recovery_ip_fail(actor);
            // Read, count and write in one go on the one connection, so
            // parallel wrong guesses are all counted.
            let h = user.handle.clone();
            let day_start = guard.day_start;
            self.store
                .run(move |c| {
                    let mut g = store::guards::get(c, &h)?;
                    if g.day_start < day_start {
                        g.day_start = day_start;
                        g.day_wrong = 0;
                    }
                    g.day_wrong += 1;
                    g.total_wrong += 1;
                    store::guards::put(c, &h, &g)
                })
                .await?;
            self.audit(actor, "recovery.failure", Some(&user.handle), None)
                .await;
            return Err(AppError::forbidden(INCORRECT_CODE));
        }
        self.store_password(&user.handle, new_password).await?;
        self.sessions.revoke_user(&user.handle, None).await?;
        if let Some(ip) = actor.ip.map(crate::app::limit_key) {
            self.limits.recovery_ip.clear(&ip);
        }
        // The login that follows must work (SPEC §6).
        self.limits.login_account.clear(&user.handle);
        self.audit(actor, "recovery.success", Some(&user.handle), None)
            .await;
        self.hook_after(
            EventKind::PasswordChanged,
            Some(&user.handle),
            actor,
            fields! { "handle" => user.handle, "by" => user.handle, "removed" => new_password.is_empty() },
        )
        .await;
        Ok(())
    }

    /// Checks the password of a protected account for a destructive action;
    /// `wrong` is the error for a missing or wrong one.
    pub async fn confirm_password(
        &self,
        user: &UserRow,
        password: Option<&str>,
        wrong: AppError,
    ) -> Result<(), AppError> {
        let Some(stored) = user.password.as_deref() else {
            return Ok(());
        };
        let ok = match password {
            Some(p) => {
                self.hasher
                    .verify(p, Stored::from_columns(stored, user.legacy_salt.as_deref()))
                    .await?
            }
            None => false,
        };
        if ok {
            Ok(())
        } else {
            Err(wrong)
        }
    }

    /// Account reset step 1: prints a code for the caller on the console.
    pub async fn reset_step1(&self, actor: &Actor, user: &UserRow) -> Result<(), AppError> {
        let code = self.codes.issue(Purpose::Reset, &user.handle);
        self.console.line(&format!(
            "Account reset code: {code} (for {}, {})",
            user.name, user.handle
        ));
        self.audit(actor, "reset.request", Some(&user.handle), None)
            .await;
        Ok(())
    }

    /// Account reset step 2: with the code and password, wipes the user's
    /// folder and recreates it empty.
    pub async fn reset_step2(
        &self,
        actor: &Actor,
        user: &UserRow,
        code: Option<&str>,
        password: Option<&str>,
    ) -> Result<(), AppError> {
        let key = user.handle.clone();
        self.limits
            .reset_account
            .check(&key)
            .map_err(|wait| AppError::TooMany {
                message: RECOVERY_LIMITED.into(),
                retry_after: wait,
            })?;
        if let Err(e) = self
            .confirm_password(user, password, AppError::bad(INCORRECT_PASSWORD))
            .await
        {
            self.limits.reset_account.fail(&key);
            return Err(e);
        }
        if !code.is_some_and(|c| self.codes.redeem(Purpose::Reset, &user.handle, c)) {
            self.limits.reset_account.fail(&key);
            return Err(AppError::bad(INCORRECT_CODE));
        }
        let _lifecycle = self.account_lock.lock().await;
        // The user's SillyTavern stops before its folder is wiped, and
        // stays stopped until the new folder is in place.
        let _held = self
            .hold_app(&user.handle, crate::hosting::supervisor::StopReason::Reset)
            .await;
        let root = self.data_root.clone();
        let (h, n) = (user.handle.clone(), user.name.clone());
        tokio::task::spawn_blocking(move || {
            layout::purge(&root, &h)?;
            layout::ensure(&root, &h, &n)
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
        let h = user.handle.clone();
        self.write_user(&h.clone(), move |c| {
            store::snapshots::delete_all(c, &h)?;
            store::users::set_persona_avatar(c, &h, None)?;
            Ok(())
        })
        .await?;
        self.limits.reset_account.clear(&key);
        self.audit(actor, "reset.account", Some(&user.handle), None)
            .await;
        self.hook_after(
            EventKind::SettingsReset,
            Some(&user.handle),
            actor,
            fields! { "handle" => user.handle, "scope" => "all" },
        )
        .await;
        Ok(())
    }
}

fn login_limited(wait: u64) -> AppError {
    AppError::TooMany {
        message: LOGIN_LIMITED.into(),
        retry_after: wait,
    }
}
