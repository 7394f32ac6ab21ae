//! Sign-up (config `signup.mode`): people create their own account from
//! the login page. With `approval` the account is made disabled and
//! marked pending until an admin approves it (or rejects it: the account
//! and its never-used folder go); with `open` it works at once. Every
//! sign-up counts toward a per-address limit, so a script cannot fill the
//! server with accounts.

use crate::accounts::service::NewUser;
use crate::app::{Actor, App};
use crate::config::SignupMode;
use crate::error::AppError;
use crate::fields;
use crate::hooks::EventKind;
use crate::store;

pub const SIGNUP_CLOSED: &str =
    "Sign-up is closed on this server. Ask an admin for an account or an invitation link.";
pub const WAITING_FOR_APPROVAL: &str =
    "Your account is waiting for an admin's approval. Try again once they have approved it.";

/// What a sign-up made.
#[derive(Debug, Clone)]
pub struct SignedUp {
    pub handle: String,
    /// True when it waits for an admin.
    pub pending: bool,
}

/// Sign-ups and their approval: a view borrowed from [`App`], so services can
/// call each other without `Arc` cycles.
pub struct Signups<'a> {
    app: &'a App,
}

impl App {
    /// Sign-ups and their approval.
    pub fn signups(&self) -> Signups<'_> {
        Signups { app: self }
    }
}

impl Signups<'_> {
    pub async fn sign_up(
        &self,
        actor: &Actor,
        handle: &str,
        name: &str,
        password: &str,
    ) -> Result<SignedUp, AppError> {
        let pending = match self.app.config.signup.mode {
            SignupMode::Off => return Err(AppError::forbidden(SIGNUP_CLOSED)),
            SignupMode::Approval => true,
            SignupMode::Open => false,
        };
        if let Some(ip) = actor.ip {
            let limiter = &self.app.limits.signup_ip;
            limiter.check(&ip).map_err(|wait| AppError::TooMany {
                message: format!(
                    "Too many sign-ups from your address. Try again in {wait} seconds."
                ),
                retry_after: wait,
            })?;
            limiter.fail(&ip);
        }
        if password.is_empty() {
            return Err(AppError::bad("Choose a password"));
        }
        let req = NewUser {
            handle: handle.to_string(),
            name: name.to_string(),
            password: Some(password.to_string()),
            admin: false,
        };
        let handle = self
            .app
            .accounts()
            .create_account(actor, req, pending)
            .await?;
        let detail = if pending {
            "waiting for approval"
        } else {
            "open"
        };
        self.app
            .audit(actor, "user.signup", Some(&handle), Some(detail.into()))
            .await;
        self.app.hook_after(
            EventKind::SignupRequested,
            Some(&handle),
            actor,
            fields! { "handle" => handle, "name" => name, "pending" => pending, "ip" => actor.ip_text() },
        )
        .await;
        Ok(SignedUp { handle, pending })
    }

    /// Lets a waiting account in.
    pub async fn approve(&self, actor: &Actor, handle: &str) -> Result<(), AppError> {
        let h = handle.to_string();
        let approved = self
            .app
            .write_user(handle, move |c| store::users::approve(c, &h))
            .await?;
        if !approved {
            return Err(match self.app.accounts().find_user(handle).await? {
                Some(_) => AppError::Conflict(format!("{handle} is not waiting for approval")),
                None => AppError::user_not_found(),
            });
        }
        self.app
            .audit(actor, "user.approve", Some(handle), None)
            .await;
        Ok(())
    }

    /// Turns a waiting account away: it is deleted with its folder, which
    /// nobody could have used yet.
    pub async fn reject(&self, actor: &Actor, handle: &str) -> Result<(), AppError> {
        let user = self.app.accounts().require_user(handle).await?;
        if !user.pending {
            return Err(AppError::Conflict(format!(
                "{handle} is not waiting for approval"
            )));
        }
        self.app.accounts().delete_user(actor, handle, true).await?;
        self.app
            .audit(actor, "user.reject", Some(handle), None)
            .await;
        Ok(())
    }
}
