//! Who is asking: the session from the cookie, the logged-in user (only
//! while enabled), CSRF, and the permission checks every handler uses.

use std::sync::Arc;

use subtle::ConstantTimeEq;

use crate::accounts::handle::DEFAULT_USER;
use crate::app::{Actor, App};
use crate::error::{AppError, INCORRECT_CREDENTIALS, UNAUTHORIZED};
use crate::http::request::Req;
use crate::sessions::EndReason;
use crate::sessions::Session;
pub use crate::store::sessions::Proof;
use crate::store::users::UserRow;

pub const COOKIE: &str = "innkeeper_sid";
/// Over HTTPS the cookie is `Secure` and host-bound by this prefix.
pub const SECURE_COOKIE: &str = "__Host-innkeeper_sid";
/// Cookie lifetime when sessions outlive the browser: 400 days (the most
/// browsers keep); inactivity is enforced on the server.
const COOKIE_MAX_AGE: i64 = 400 * 24 * 3600;

pub struct Ctx {
    pub app: Arc<App>,
    pub req: Req,
    pub session: Option<Session>,
    /// The acting user: logged in and enabled, or default-user when
    /// accounts are off.
    pub user: Option<Arc<UserRow>>,
    /// `Set-Cookie` values to add to the response.
    pub cookies: Vec<String>,
    /// An authenticating proxy vouched for this request (a trusted SSO
    /// header, or per-user basic auth): no second factor is asked.
    pub vouched: bool,
}

/// The session cookie's value, under either of its names.
pub fn session_cookie(req: &Req) -> Option<&str> {
    req.cookie(SECURE_COOKIE).or_else(|| req.cookie(COOKIE))
}

impl Ctx {
    /// Looks up the session and its user. A session whose user is gone or
    /// disabled is ended, so the request is anonymous.
    pub async fn resolve(app: Arc<App>, req: Req) -> Result<Ctx, AppError> {
        let id = session_cookie(&req).map(str::to_string);
        let mut session = match id {
            Some(id) => app.sessions.lookup(&id).await?,
            None => None,
        };
        let mut user = None;
        if !app.config.enable_user_accounts {
            user = app.accounts().find_user_shared(DEFAULT_USER).await?;
        } else if let Some(handle) = session
            .as_ref()
            .and_then(|s| s.handle().map(str::to_string))
        {
            match app.accounts().find_user_shared(&handle).await? {
                Some(u) if u.enabled => user = Some(u),
                found => {
                    let reason = match found {
                        Some(_) => EndReason::Disabled,
                        None => EndReason::Deleted,
                    };
                    if let Some(s) = session.take() {
                        app.sessions.revoke(&s.id_hash, reason).await?;
                    }
                }
            }
        }
        Ok(Ctx {
            app,
            req,
            session,
            user,
            cookies: Vec::new(),
            vouched: false,
        })
    }

    pub fn actor(&self) -> Actor {
        Actor {
            handle: self.user.as_ref().map(|u| u.handle.clone()),
            admin: self.user.as_ref().is_some_and(|u| u.admin),
            ip: self.req.ip,
            session: self.session.as_ref().map(|s| s.id_hash.clone()),
        }
    }

    /// Every POST needs the session's token in `X-CSRF-Token`.
    pub fn check_csrf(&self) -> Result<(), AppError> {
        if self.app.config.disable_csrf_protection {
            return Ok(());
        }
        let sent = self.req.header("x-csrf-token").unwrap_or("");
        let ok = self.session.as_ref().is_some_and(|s| {
            let want = s.entry.csrf.as_bytes();
            want.len() == sent.len() && bool::from(want.ct_eq(sent.as_bytes()))
        });
        if ok {
            Ok(())
        } else {
            Err(AppError::forbidden("Invalid CSRF token"))
        }
    }

    /// The logged-in user, or 403.
    pub fn require_user(&self) -> Result<&UserRow, AppError> {
        self.user
            .as_deref()
            .ok_or_else(|| AppError::forbidden("Forbidden"))
    }

    /// True when the caller must turn on two-factor login before anything
    /// else (`twoFactor.requireForAdmins`; never for a request a proxy
    /// vouched for).
    pub fn must_enrol_two_factor(&self) -> bool {
        !self.vouched
            && self
                .user
                .as_deref()
                .is_some_and(|u| self.app.two_factor().must_enrol(u))
    }

    /// An admin, or 403.
    pub fn require_admin(&self) -> Result<&UserRow, AppError> {
        let u = self.require_user()?;
        if u.admin {
            Ok(u)
        } else {
            Err(AppError::forbidden("Forbidden"))
        }
    }

    /// A user may act on their own handle; admins on any.
    pub fn may_act_on(&self, handle: &str) -> Result<(), AppError> {
        let u = self.require_user()?;
        if u.admin || u.handle == handle {
            Ok(())
        } else {
            Err(AppError::forbidden(UNAUTHORIZED))
        }
    }

    /// Starts a logged-in session for `handle`, ending the caller's old
    /// one. It is stored only while the account still matches `proof`: a
    /// login that was checking a password while it changed, or while the
    /// account was deleted or disabled, gets 403.
    pub async fn start_session(&mut self, handle: &str, proof: Proof) -> Result<(), AppError> {
        let origin = crate::sessions::Origin {
            ip: self.req.ip.map(|ip| ip.to_string()),
            device: Some(crate::http::device::label(self.req.header("user-agent"))),
        };
        let Some((id, session)) = self.app.sessions.login(handle, proof, origin).await? else {
            return Err(AppError::forbidden(INCORRECT_CREDENTIALS));
        };
        if let Some(old) = self.session.take() {
            self.app
                .sessions
                .revoke(&old.id_hash, EndReason::LoggedOut)
                .await?;
        }
        self.cookies.push(self.session_cookie(&id));
        self.session = Some(session);
        // Warm the user's SillyTavern while the browser loads the page.
        if let Some(h) = self.app.hosting() {
            h.prestart(handle);
        }
        Ok(())
    }

    /// A new anonymous session (for a CSRF token before login).
    pub fn start_anonymous(&mut self) -> &Session {
        let (id, session) = self.app.sessions.create_anonymous();
        // The page asks for a new token as soon as its session ended: the
        // new cookie carries on why, so the page can still say it.
        if let Some(reason) =
            session_cookie(&self.req).and_then(|old| self.app.sessions.ended_reason(old))
        {
            self.app.sessions.pass_on_ended(&id, reason);
        }
        self.cookies.push(self.session_cookie(&id));
        self.session.insert(session)
    }

    fn session_cookie(&self, id: &str) -> String {
        let mut c = if self.req.https {
            format!("{SECURE_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Secure")
        } else {
            format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict")
        };
        if self.app.sessions.persistent_cookie {
            c.push_str(&format!("; Max-Age={COOKIE_MAX_AGE}"));
        }
        c
    }

    /// Expires the session cookie in the browser.
    pub fn clear_cookie(&mut self) {
        let c = if self.req.https {
            format!("{SECURE_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=0")
        } else {
            format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
        };
        self.cookies.push(c);
    }
}
