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
use crate::limits::Limiter;
use crate::sessions::EndReason;
use crate::store::{self, guards::Guard, sessions::Proof, users::UserRow};
use crate::userdata::layout;

/// Wrong recovery codes a handle may get per day, and in total until its
/// next successful login or an admin's reset.
pub const RECOVERY_WRONG_PER_DAY: i64 = 10;
pub const RECOVERY_WRONG_TOTAL: i64 = 30;
const DAY_MS: i64 = 24 * 3600 * 1000;
pub const RECOVERY_CLOSED: &str =
    "Password recovery is closed for this account after too many wrong codes: contact your admin.";

/// Logins, password recovery and the account reset: a view borrowed from
/// [`App`], so services can call each other without `Arc` cycles.
pub struct Logins<'a> {
    app: &'a App,
}

impl App {
    /// Logins, password recovery and the account reset.
    pub fn logins(&self) -> Logins<'_> {
        Logins { app: self }
    }
}

impl Logins<'_> {
    /// Checks a login. On success returns the user and what the session
    /// must find unchanged when it is stored (the caller opens it);
    /// failures count against the IP and the account. No second factor:
    /// for logins a proxy vouches for (per-user basic auth).
    pub async fn login(
        &self,
        actor: &Actor,
        handle: &str,
        password: Option<&str>,
    ) -> Result<(UserRow, Proof), AppError> {
        let (user, proof) = self.check_password(actor, handle, password).await?;
        self.login_succeeded(actor, &user).await?;
        Ok((user, proof))
    }

    /// The password step of a login: the user and the proof for their
    /// session, with nothing cleared or announced yet. An account with
    /// two-factor login waits for its code next; the others go on to
    /// [`Logins::login_succeeded`] at once.
    pub async fn check_password(
        &self,
        actor: &Actor,
        handle: &str,
        password: Option<&str>,
    ) -> Result<(UserRow, Proof), AppError> {
        let ip = actor.ip.map(crate::app::limit_key);
        let account = handle.to_string();
        let limited = self.app.limits.check_login(ip, &account);
        if let Err(wait) = limited {
            // One row (and hook call) a minute per address, with the count.
            if self
                .app
                .note_refusal(actor, "login.limited", valid(handle))
                .await
            {
                self.login_failed_hook(actor, handle, "rate_limited").await;
            }
            return Err(login_limited(wait));
        }
        self.app
            .hook_before(
                EventKind::BeforeLogin,
                valid(handle),
                actor,
                fields! { "handle" => clip(handle), "ip" => actor.ip_text() },
            )
            .await?;
        // The limits are checked again, and failures counted, while the
        // hashing slot is held: parallel guesses cannot outrun them.
        let gate = || -> Result<(), AppError> {
            if let Some(ip) = ip {
                self.app.limits.login_ip.check(&ip).map_err(login_limited)?;
                self.app
                    .limits
                    .login_ip_hour
                    .check(&ip)
                    .map_err(login_limited)?;
            }
            self.app
                .limits
                .login_account
                .check(&account)
                .map_err(login_limited)
        };
        let count = |ok: bool| {
            if !ok {
                self.count_login_failure(actor, handle);
            }
        };
        let discreet = self.app.config.enable_discreet_login;
        let user = self.app.accounts().find_user_fresh(handle).await?;
        let user = match user {
            Some(u) if u.enabled || discreet => u,
            Some(u) if u.pending => {
                self.login_failed_event(actor, handle, "pending").await;
                return Err(AppError::forbidden(
                    crate::accounts::signup::WAITING_FOR_APPROVAL,
                ));
            }
            Some(_) => {
                self.login_failed_event(actor, handle, "disabled").await;
                return Err(AppError::forbidden(USER_DISABLED));
            }
            None => {
                // Same work as a known handle, so timing tells nothing.
                self.app
                    .hasher
                    .verify_gated(password.unwrap_or(""), None, gate, count)
                    .await??;
                return Err(self
                    .login_failed_counted(actor, handle, "unknown_user")
                    .await);
            }
        };
        let mut proof = Proof::Password(user.password.clone());
        // The check runs whatever the password field held (missing, null,
        // not a string), and for a disabled account in discreet mode too:
        // every handle takes the same time and counts alike.
        let stored = user
            .password
            .as_deref()
            .map(|text| Stored::from_columns(text, user.legacy_salt.as_deref()));
        let checked = match stored {
            Some(stored) => Some(
                self.app
                    .hasher
                    .verify_gated(password.unwrap_or(""), Some(stored), gate, count)
                    .await??,
            ),
            None if !user.enabled => {
                self.app
                    .hasher
                    .verify_gated(password.unwrap_or(""), None, gate, count)
                    .await??;
                return Err(self.login_failed_counted(actor, handle, "disabled").await);
            }
            None => None,
        };
        // A match the caller did not send (no password string) or a
        // disabled account is still a failure; the closure counted only
        // mismatches.
        let refused = if !user.enabled {
            Some("disabled")
        } else if checked == Some(false) || (checked == Some(true) && password.is_none()) {
            Some("wrong_password")
        } else {
            None
        };
        if let Some(reason) = refused {
            if checked == Some(true) {
                self.count_login_failure(actor, handle);
            }
            return Err(self.login_failed_counted(actor, handle, reason).await);
        }
        if let (Some(stored), Some(stored_text), Some(p)) =
            (stored, user.password.as_deref(), password)
        {
            if self.app.hasher.needs_rehash(stored) {
                if let Some(new) = self.upgrade_hash(&user.handle, stored_text, p).await {
                    proof = Proof::Password(Some(new));
                }
            }
        }
        Ok((user, proof))
    }

    /// A login is complete: its counts are cleared (the address's
    /// per-minute one, the account's and its recovery guard), and it is
    /// audited and announced to hooks.
    pub async fn login_succeeded(&self, actor: &Actor, user: &UserRow) -> Result<(), AppError> {
        if let Some(ip) = actor.ip.map(crate::app::limit_key) {
            self.app.limits.login_ip.clear(&ip);
        }
        self.app.limits.login_account.clear(&user.handle);
        let h = user.handle.clone();
        self.app
            .store
            .run(move |c| store::guards::clear(c, &h))
            .await?;
        self.app
            .audit(actor, "login.success", Some(&user.handle), None)
            .await;
        self.app
            .hook_after(
                EventKind::LoginSucceeded,
                Some(&user.handle),
                actor,
                fields! { "handle" => user.handle, "ip" => actor.ip_text() },
            )
            .await;
        Ok(())
    }

    /// Re-hashes a password with today's parameters; returns the new
    /// stored hash when it replaced `old`.
    async fn upgrade_hash(&self, handle: &str, old: &str, password: &str) -> Option<String> {
        match self.app.hasher.hash(password).await {
            Ok(new_hash) => {
                let (h, o, n) = (handle.to_string(), old.to_string(), new_hash.clone());
                match self
                    .app
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

    pub(crate) fn count_login_failure(&self, actor: &Actor, handle: &str) {
        if let Some(ip) = actor.ip.map(crate::app::limit_key) {
            self.app.limits.login_ip.fail(&ip);
            self.app.limits.login_ip_hour.fail(&ip);
        }
        // Per account only for what can be a handle: any other string
        // (up to a whole request body) would only fill memory.
        if crate::accounts::handle::is_valid(handle) {
            self.app.limits.login_account.fail(&handle.to_string());
        }
    }

    /// A failed login whose failure is already counted.
    async fn login_failed_counted(&self, actor: &Actor, handle: &str, reason: &str) -> AppError {
        self.login_failed_event(actor, handle, reason).await;
        AppError::forbidden(INCORRECT_CREDENTIALS)
    }

    pub(crate) async fn login_failed_event(&self, actor: &Actor, handle: &str, reason: &str) {
        self.app
            .audit(
                actor,
                "login.failure",
                valid(handle),
                Some(reason.to_string()),
            )
            .await;
        self.login_failed_hook(actor, handle, reason).await;
    }

    pub(crate) async fn login_failed_hook(&self, actor: &Actor, handle: &str, reason: &str) {
        let target = valid(handle);
        self.app
            .hook_after(
                EventKind::LoginFailed,
                target,
                actor,
                fields! { "handle" => clip(handle), "ip" => actor.ip_text(), "reason" => reason },
            )
            .await;
    }

    /// The address limit on recovery; a refusal is noted, not audited
    /// one by one.
    async fn recovery_ip_check(&self, actor: &Actor) -> Result<(), AppError> {
        self.recovery_ip_attempt(actor, || true).await.map(|_| ())
    }

    /// Counts a recovery failure against the address, the limit checked
    /// in the same step (429 when it was already reached).
    async fn recovery_ip_fail(&self, actor: &Actor) -> Result<(), AppError> {
        self.recovery_ip_attempt(actor, || false).await.map(|_| ())
    }

    /// Runs `attempt` under the address limit: checked, run and a false
    /// result counted in one step, so parallel guesses cannot outrun it.
    async fn recovery_ip_attempt(
        &self,
        actor: &Actor,
        attempt: impl FnOnce() -> bool,
    ) -> Result<bool, AppError> {
        let Some(ip) = actor.ip.map(crate::app::limit_key) else {
            return Ok(attempt());
        };
        match self.app.limits.recovery_ip.attempt(&ip, attempt) {
            Ok(ok) => Ok(ok),
            Err(wait) => {
                self.app.note_refusal(actor, "recovery.limited", None).await;
                Err(attempts_limited(wait))
            }
        }
    }

    /// The enabled account a recovery step is for. Otherwise the answer
    /// for an unknown or disabled handle (counted against the address
    /// where SPEC §6 says so), or, in discreet mode, `discreet`'s answer,
    /// the same as for an existing handle.
    async fn recovery_target(
        &self,
        actor: &Actor,
        handle: &str,
        discreet: Result<(), AppError>,
    ) -> Result<Result<UserRow, Result<(), AppError>>, AppError> {
        let user = self.app.accounts().find_user_fresh(handle).await?;
        if self.app.config.enable_discreet_login {
            return Ok(match user {
                Some(u) if u.enabled => Ok(u),
                _ => {
                    self.recovery_ip_fail(actor).await?;
                    Err(discreet)
                }
            });
        }
        Ok(match user {
            Some(u) if u.enabled => Ok(u),
            Some(_) => Err(Err(AppError::forbidden(USER_DISABLED))),
            None => {
                self.recovery_ip_fail(actor).await?;
                Err(Err(AppError::user_not_found()))
            }
        })
    }

    /// Whether a handle may still try recovery codes (per-handle caps).
    async fn recovery_guard(&self, handle: &str) -> Result<Guard, AppError> {
        let h = handle.to_string();
        let now = self.app.clock.now_ms();
        let mut g = self
            .app
            .store
            .run(move |c| store::guards::get(c, &h))
            .await?;
        if now - g.day_start >= DAY_MS {
            g.day_start = now;
            g.day_wrong = 0;
        }
        if g.day_wrong >= RECOVERY_WRONG_PER_DAY || g.total_wrong >= RECOVERY_WRONG_TOTAL {
            return Err(AppError::forbidden(RECOVERY_CLOSED));
        }
        Ok(g)
    }

    /// Step 1: prints a one-time code for `handle` on the console. While
    /// the handle's code is live and less than 30 s old, a repeated step 1
    /// prints nothing and keeps it (SPEC §6).
    pub async fn recover_step1(&self, actor: &Actor, handle: &str) -> Result<(), AppError> {
        self.recovery_ip_check(actor).await?;
        let user = match self.recovery_target(actor, handle, Ok(())).await? {
            Ok(user) => user,
            Err(answer) => return answer,
        };
        if self.app.config.enable_discreet_login {
            // Unknown handles count, so known ones do too: the limit tells
            // nothing either.
            self.recovery_ip_fail(actor).await?;
        }
        self.recovery_guard(&user.handle).await?;
        let Some(code) = self
            .app
            .codes
            .issue_unless_live(Purpose::Recovery, &user.handle)
        else {
            return Ok(());
        };
        self.app.console.line(&format!(
            "Password recovery code: {code} (for {}, {})",
            user.name, user.handle
        ));
        self.app
            .audit(actor, "recovery.request", Some(&user.handle), None)
            .await;
        self.app.hook_after(
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
        self.recovery_ip_check(actor).await?;
        // Before the code is judged, so a too-short password costs no code.
        self.app.accounts().check_new_password(new_password)?;
        let wrong = Err(AppError::forbidden(INCORRECT_CODE));
        let user = match self.recovery_target(actor, handle, wrong).await? {
            Ok(user) => user,
            Err(answer) => return answer,
        };
        // One step 2 at a time judges a code: the handle's caps are
        // checked, the code compared and a wrong one counted before the
        // next is looked at, so a burst cannot overrun the daily cap.
        let _one_at_a_time = self.app.recovery_judging.lock().await;
        self.recovery_guard(&user.handle).await?;
        let redeem =
            || code.is_some_and(|c| self.app.codes.redeem(Purpose::Recovery, &user.handle, c));
        // The address limit is checked and a wrong code counted in the
        // same step as the comparison: parallel guesses cannot outrun it.
        let ok = self.recovery_ip_attempt(actor, redeem).await?;
        if !ok {
            // The day's window is rolled from the stored row itself, in
            // the same store step as the count.
            let h = user.handle.clone();
            let now = self.app.clock.now_ms();
            self.app
                .store
                .run(move |c| {
                    let mut g = store::guards::get(c, &h)?;
                    if now - g.day_start >= DAY_MS {
                        g.day_start = now;
                        g.day_wrong = 0;
                    }
                    g.day_wrong += 1;
                    g.total_wrong += 1;
                    store::guards::put(c, &h, &g)
                })
                .await?;
            self.app
                .audit(actor, "recovery.failure", Some(&user.handle), None)
                .await;
            return Err(AppError::forbidden(INCORRECT_CODE));
        }
        self.app
            .accounts()
            .store_password(&user.handle, new_password)
            .await?;
        self.app
            .sessions
            .revoke_user(&user.handle, None, EndReason::PasswordChanged)
            .await?;
        // The login that follows must work (SPEC §6): the account's count
        // and this address's per-minute one (a success clears it, as a
        // login's does) go; the hourly count stays.
        if let Some(ip) = actor.ip.map(crate::app::limit_key) {
            self.app.limits.recovery_ip.clear(&ip);
            self.app.limits.login_ip.clear(&ip);
        }
        self.app.limits.login_account.clear(&user.handle);
        self.app
            .audit(actor, "recovery.success", Some(&user.handle), None)
            .await;
        self.app.hook_after(
            EventKind::PasswordChanged,
            Some(&user.handle),
            actor,
            fields! { "handle" => user.handle, "by" => user.handle, "removed" => new_password.is_empty() },
        )
        .await;
        Ok(())
    }

    /// Checks the password of a protected account for a destructive action
    /// (own password change, settings reset), under the account's own
    /// counter: 10 wrong within 15 minutes → 429. `wrong` is the error for
    /// a missing or wrong one.
    pub async fn confirm_password(
        &self,
        user: &UserRow,
        password: Option<&str>,
        wrong: AppError,
    ) -> Result<(), AppError> {
        self.guarded_check(
            user,
            password,
            &self.app.limits.password_account,
            wrong,
            || Ok(()),
        )
        .await
    }

    /// Judges `password` (when the account has one) and then `also` while
    /// a hashing slot is held, with `limiter`'s count for the account
    /// checked before and a failure counted in the same step, so parallel
    /// guesses cannot outrun the limit.
    async fn guarded_check(
        &self,
        user: &UserRow,
        password: Option<&str>,
        limiter: &Limiter<String>,
        wrong_password: AppError,
        also: impl FnOnce() -> Result<(), AppError>,
    ) -> Result<(), AppError> {
        let key = user.handle.clone();
        let gate = || limiter.check(&key).map_err(attempts_limited);
        gate()?;
        let mut verdict = Ok(());
        let judge = |matched: bool| {
            verdict = if matched { also() } else { Err(wrong_password) };
            if verdict.is_err() {
                limiter.fail(&key);
            }
        };
        match user.password.as_deref() {
            Some(stored) => {
                let stored = Stored::from_columns(stored, user.legacy_salt.as_deref());
                self.app
                    .hasher
                    .verify_gated(password.unwrap_or(""), Some(stored), gate, |m| {
                        judge(m && password.is_some())
                    })
                    .await??;
            }
            None => {
                gate()?;
                judge(true);
            }
        }
        verdict
    }

    /// Account reset step 1: prints a code for the caller on the console.
    pub async fn reset_step1(&self, actor: &Actor, user: &UserRow) -> Result<(), AppError> {
        let code = self.app.codes.issue(Purpose::Reset, &user.handle);
        self.app.console.line(&format!(
            "Account reset code: {code} (for {}, {})",
            user.name, user.handle
        ));
        self.app
            .audit(actor, "reset.request", Some(&user.handle), None)
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
        // The reset code has its own counter (SPEC §6); password and code
        // are judged in one guarded step.
        self.guarded_check(
            user,
            password,
            &self.app.limits.reset_account,
            AppError::bad(INCORRECT_PASSWORD),
            || {
                code.is_some_and(|c| self.app.codes.redeem(Purpose::Reset, &user.handle, c))
                    .then_some(())
                    .ok_or_else(|| AppError::bad(INCORRECT_CODE))
            },
        )
        .await?;
        let _lifecycle = self.app.account_lock.lock().await;
        // The user's SillyTavern stops before its folder is wiped, and
        // stays stopped until the new folder is in place.
        let _held = self
            .app
            .hold_app(&user.handle, crate::hosting::supervisor::StopReason::Reset)
            .await;
        let root = self.app.data_root.clone();
        let (h, n) = (user.handle.clone(), user.name.clone());
        tokio::task::spawn_blocking(move || {
            layout::purge(&root, &h)?;
            layout::ensure(&root, &h, &n)
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
        let h = user.handle.clone();
        self.app
            .write_user(&h.clone(), move |c| {
                store::snapshots::delete_all(c, &h)?;
                store::users::set_persona_avatar(c, &h, None)?;
                Ok(())
            })
            .await?;
        self.app.limits.reset_account.clear(&key);
        self.app.usage_book.forget(&user.handle);
        self.app
            .audit(actor, "reset.account", Some(&user.handle), None)
            .await;
        self.app
            .hook_after(
                EventKind::SettingsReset,
                Some(&user.handle),
                actor,
                fields! { "handle" => user.handle, "scope" => "all" },
            )
            .await;
        Ok(())
    }
}

/// `handle` when it can name an account (audit rows and hooks never get
/// arbitrary strings as targets).
fn valid(handle: &str) -> Option<&str> {
    Some(handle).filter(|h| crate::accounts::handle::is_valid(h))
}

/// A handle as hooks see it: at most as long as a handle can be, so a
/// script's pattern never runs over a huge string sent as a handle.
fn clip(handle: &str) -> &str {
    match handle.char_indices().nth(crate::accounts::handle::MAX_LEN) {
        Some((end, _)) => &handle[..end],
        None => handle,
    }
}

fn attempts_limited(wait: u64) -> AppError {
    AppError::TooMany {
        message: RECOVERY_LIMITED.into(),
        retry_after: wait,
    }
}

fn login_limited(wait: u64) -> AppError {
    AppError::TooMany {
        message: LOGIN_LIMITED.into(),
        retry_after: wait,
    }
}
