//! Invitations: an admin makes a link (`/invite/<token>`) that lets
//! someone create their own account — picking their handle (unless the
//! admin set one), name and password — without the admin ever typing or
//! learning that password. A token is 256 random bits, shown once; only
//! its SHA-256 is stored. Wrong tokens count toward a per-address limit,
//! like every other guessable secret.

use base64::Engine;

use crate::accounts::handle;
use crate::accounts::service::{NewUser, INVALID_HANDLE, USER_EXISTS};
use crate::app::{Actor, App};
use crate::error::AppError;
use crate::store::invites::{self as rows, InviteRow, InviteState};

/// What an admin asks for; None takes the default.
#[derive(Debug, Clone, Default)]
pub struct InviteSpec {
    /// Days until the link stops working (default 7, at most 365).
    pub days: Option<i64>,
    /// Accounts it may create (default 1, at most 1000).
    pub uses: Option<i64>,
    pub admin: bool,
    pub handle: Option<String>,
    pub name: Option<String>,
}

/// What the person who opens a link fills in.
#[derive(Debug, Clone)]
pub struct Acceptance {
    pub token: String,
    /// Ignored when the invitation sets the handle.
    pub handle: Option<String>,
    pub name: Option<String>,
    pub password: String,
}

pub const INVITE_INVALID: &str =
    "This invitation link is not valid. Check that you copied all of it, or ask for a new one.";
const DAY_MS: i64 = 24 * 3600 * 1000;

fn token_hash(token: &str) -> String {
    crate::sessions::hash_id(token)
}

/// Why a link no longer works, in words for the person holding it.
fn dead(state: InviteState) -> AppError {
    AppError::Gone(
        match state {
            InviteState::Expired => "This invitation has expired. Ask for a new one.",
            InviteState::Used => "This invitation has already been used. Ask for a new one.",
            InviteState::Revoked => "This invitation was withdrawn. Ask for a new one.",
            InviteState::Active => INVITE_INVALID,
        }
        .into(),
    )
}

/// Invitation links: a view borrowed from [`App`], so services can call each
/// other without `Arc` cycles.
pub struct Invites<'a> {
    app: &'a App,
}

impl App {
    /// Invitation links.
    pub fn invites(&self) -> Invites<'_> {
        Invites { app: self }
    }
}

impl Invites<'_> {
    /// Makes an invitation; returns it and its token (shown this once).
    pub async fn create(
        &self,
        actor: &Actor,
        spec: InviteSpec,
    ) -> Result<(InviteRow, String), AppError> {
        let days = spec.days.unwrap_or(7);
        if !(1..=365).contains(&days) {
            return Err(AppError::bad("Expiry must be between 1 and 365 days"));
        }
        let uses = spec.uses.unwrap_or(1);
        if !(1..=1000).contains(&uses) {
            return Err(AppError::bad("Uses must be between 1 and 1000"));
        }
        let handle = match spec.handle.as_deref().map(str::trim) {
            Some(h) if !h.is_empty() => {
                let h = handle::slugify(h).map_err(|_| AppError::bad(INVALID_HANDLE))?;
                if self.app.accounts().find_user(&h).await?.is_some() {
                    return Err(AppError::Conflict(format!("{USER_EXISTS}: {h}")));
                }
                if uses != 1 {
                    return Err(AppError::bad(
                        "An invitation with a set handle can be used once",
                    ));
                }
                Some(h)
            }
            _ => None,
        };
        let name = spec
            .name
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty());
        let token =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let now = self.app.clock.now_ms();
        let mut row = InviteRow {
            id: 0,
            token_hash: token_hash(&token),
            created: now,
            created_by: actor.handle.clone().or_else(|| Some("(console)".into())),
            expires: now + days * DAY_MS,
            uses,
            uses_left: uses,
            admin: spec.admin,
            handle,
            name,
            revoked: false,
        };
        let stored = row.clone();
        row.id = self
            .app
            .store
            .run(move |c| rows::insert(c, &stored))
            .await?;
        let detail = format!(
            "invitation {} for {} account(s), {} day(s){}",
            row.id,
            uses,
            days,
            if row.admin { ", admin" } else { "" }
        );
        self.app
            .audit(actor, "invite.create", row.handle.as_deref(), Some(detail))
            .await;
        Ok((row, token))
    }

    pub async fn list(&self) -> Result<Vec<InviteRow>, AppError> {
        Ok(self.app.store.run(|c| rows::list(c)).await?)
    }

    pub async fn revoke(&self, actor: &Actor, id: i64) -> Result<(), AppError> {
        if !self.app.store.run(move |c| rows::revoke(c, id)).await? {
            return Err(AppError::NotFound("No such invitation".into()));
        }
        self.app
            .audit(
                actor,
                "invite.revoke",
                None,
                Some(format!("invitation {id}")),
            )
            .await;
        Ok(())
    }

    /// The live invitation a token names. A token that names none counts
    /// toward the caller's address limit.
    pub async fn open(&self, actor: &Actor, token: &str) -> Result<InviteRow, AppError> {
        let ip = actor.ip;
        if let Some(ip) = ip {
            self.app
                .limits
                .invite_ip
                .check(&ip)
                .map_err(|wait| AppError::TooMany {
                    message: format!("Too many attempts. Try again in {wait} seconds."),
                    retry_after: wait,
                })?;
        }
        let found = if token.len() <= 128 {
            let hash = token_hash(token);
            self.app
                .store
                .run(move |c| rows::by_token(c, &hash))
                .await?
        } else {
            None
        };
        let Some(row) = found else {
            if let Some(ip) = ip {
                self.app.limits.invite_ip.fail(&ip);
            }
            return Err(AppError::NotFound(INVITE_INVALID.into()));
        };
        match row.state(self.app.clock.now_ms()) {
            InviteState::Active => Ok(row),
            state => Err(dead(state)),
        }
    }

    /// Creates the account an invitation allows; returns its handle. One
    /// use is taken before the account is made and given back if it
    /// cannot be, so parallel acceptances never create more than allowed.
    pub async fn accept(&self, actor: &Actor, a: Acceptance) -> Result<String, AppError> {
        let invite = self.open(actor, &a.token).await?;
        let wanted = invite
            .handle
            .clone()
            .or(a.handle.filter(|h| !h.trim().is_empty()))
            .ok_or_else(|| AppError::bad("Choose a handle"))?;
        let handle = handle::slugify(&wanted).map_err(|_| AppError::bad(INVALID_HANDLE))?;
        if a.password.is_empty() {
            return Err(AppError::bad("Choose a password"));
        }
        self.app.accounts().check_new_password(&a.password)?;
        if self.app.accounts().find_user(&handle).await?.is_some() {
            return Err(AppError::Conflict(format!("{USER_EXISTS}: {handle}")));
        }
        let (hash, now) = (invite.token_hash.clone(), self.app.clock.now_ms());
        let Some(taken) = self
            .app
            .store
            .run(move |c| rows::take_use(c, &hash, now))
            .await?
        else {
            return Err(dead(InviteState::Used));
        };
        let name = a
            .name
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .or(taken.name.clone())
            .unwrap_or_else(|| handle.clone());
        let req = NewUser {
            handle,
            name,
            password: Some(a.password),
            admin: taken.admin,
        };
        match self.app.accounts().create_user(actor, req).await {
            Ok(handle) => {
                self.app
                    .audit(
                        actor,
                        "invite.accept",
                        Some(&handle),
                        Some(format!("invitation {}", taken.id)),
                    )
                    .await;
                Ok(handle)
            }
            Err(e) => {
                let id = taken.id;
                if let Err(back) = self.app.store.run(move |c| rows::give_back(c, id)).await {
                    tracing::warn!("could not give back a use of invitation {id}: {back}");
                }
                Err(e)
            }
        }
    }
}
