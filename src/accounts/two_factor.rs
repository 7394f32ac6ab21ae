//! Two-factor login with an authenticator app (TOTP, see `totp`):
//! enrolment, the code step of a login, one-time recovery codes, and
//! removal by the user, an admin or the console.
//!
//! Secrets are sealed before they are stored: a key file in the data root
//! (`two-factor.key`, 32 random bytes, mode 0600, made on the first
//! enrolment) keys an HMAC-SHA256 keystream and tag, bound to the handle.
//! A copy of the database alone (a stray `innkeeper.db`) then hands out no
//! working codes; the data root as a whole (the full backup holds both)
//! does. Losing the key file makes every enrolled secret unreadable: those
//! users log in with a recovery code or have an admin remove the factor.
//! Recovery codes are stored as SHA-256 hashes only (they are random, 50
//! bits each, so no slow hash is needed) and need no key.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::accounts::totp;
use crate::app::{Actor, App};
use crate::error::{AppError, INCORRECT_CODE, LOGIN_LIMITED};
use crate::sealing::{self, Sealer};
use crate::store::{self, sessions::Proof, users::UserRow};

/// The key file's name in the data root (a dot: it cannot be a handle).
pub const KEY_FILE: &str = "two-factor.key";
/// Recovery codes made at enrolment.
pub const RECOVERY_CODES: usize = 10;
/// How long the code step of a login may wait after the password.
pub const TICKET_LIFETIME_MS: i64 = 5 * 60 * 1000;
/// Wrong codes one ticket takes before the password must be typed again.
pub const TICKET_WRONG_MAX: u32 = 5;
/// Tickets held at most (a flood of correct passwords cannot fill memory).
const TICKETS_MAX: usize = 10_000;
/// The name authenticator apps list the account under.
pub const ISSUER: &str = "Innkeeper";
/// Letters of a recovery code: no l, o, 0 or 1 to mistake for another.
const CODE_ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
const CODE_LEN: usize = 10;

pub const TWO_FACTOR_NEEDED: &str = "Enter the code from your authenticator app.";
pub const TICKET_EXPIRED: &str = "This login has expired: enter your password again.";
pub const ALREADY_ON: &str = "Two-factor login is already on: turn it off first.";
pub const NOT_STARTED: &str = "Start the set-up again: no code was expected.";

/// A password checked, waiting for its code.
struct Ticket {
    handle: String,
    proof: Proof,
    expires: i64,
    wrong: u32,
}

/// Shared state: the sealing key (read once), the tickets of logins
/// waiting for a code, and a lock so codes are judged one at a time.
#[derive(Default)]
pub struct TwoFactorState {
    key: OnceLock<[u8; 32]>,
    tickets: Mutex<HashMap<String, Ticket>>,
    judging: tokio::sync::Mutex<()>,
}

/// Why a login's code step refused, before it is told.
enum Refused {
    /// A limit is reached: seconds to wait.
    Limited(u64),
    Wrong,
}

/// What a login's second step accepted.
pub enum Accepted {
    Totp,
    /// A recovery code, with how many are left.
    RecoveryCode {
        left: usize,
    },
}

/// What enrolment shows: the secret as text, the address and its QR code.
pub struct Enrolment {
    pub secret: String,
    pub uri: String,
    /// `data:image/svg+xml;base64,…`
    pub qr: String,
}

/// A user's two-factor state as their account page shows it.
pub struct Status {
    pub enabled: bool,
    pub recovery_codes_left: usize,
}

impl TwoFactorState {
    /// Drops the tickets of logins whose code never came; returns how
    /// many went. Run by the housekeeping task, so they do not wait for
    /// the table to fill.
    pub fn sweep(&self, now: i64) -> usize {
        let mut map = self.tickets();
        let before = map.len();
        map.retain(|_, t| t.expires > now);
        before - map.len()
    }

    fn tickets(&self) -> std::sync::MutexGuard<'_, HashMap<String, Ticket>> {
        self.tickets.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What the two-factor secrets are sealed for (see `sealing`).
const PURPOSE: &str = "innkeeper totp";

/// A new recovery code, shown as `abcde-fghjk`.
fn new_recovery_code() -> String {
    let bytes: [u8; CODE_LEN] = rand::random();
    let letters: String = bytes
        .iter()
        .map(|b| CODE_ALPHABET[(b & 31) as usize] as char)
        .collect();
    format!("{}-{}", &letters[..5], &letters[5..])
}

/// What a typed code is, once spaces and dashes are gone.
enum Typed {
    Totp(String),
    Recovery(String),
    Nonsense,
}

fn read_code(code: &str) -> Typed {
    let clean: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    if clean.len() == totp::DIGITS as usize && clean.bytes().all(|b| b.is_ascii_digit()) {
        Typed::Totp(clean)
    } else if clean.len() == CODE_LEN && clean.bytes().all(|b| CODE_ALPHABET.contains(&b)) {
        Typed::Recovery(clean)
    } else {
        Typed::Nonsense
    }
}

/// The stored form of a recovery code (letters only, lowercase).
fn recovery_hash(handle: &str, clean: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"innkeeper recovery code\0");
    h.update(handle.as_bytes());
    h.update(b"\0");
    h.update(clean.as_bytes());
    hex::encode(h.finalize())
}

fn new_codes(handle: &str) -> (Vec<String>, Vec<String>) {
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
    let hashes = codes
        .iter()
        .map(|c| recovery_hash(handle, &c.replace('-', "")))
        .collect();
    (codes, hashes)
}

/// Two-factor login, working on [`TwoFactorState`]: a view borrowed from
/// [`App`], so services can call each other without `Arc` cycles.
pub struct TwoFactor<'a> {
    app: &'a App,
}

impl App {
    /// Two-factor login: enrolment, the code step, recovery codes, removal.
    pub fn two_factor(&self) -> TwoFactor<'_> {
        TwoFactor { app: self }
    }
}

impl TwoFactor<'_> {
    fn key(&self) -> Result<&[u8; 32], AppError> {
        if let Some(k) = self.app.two_factor.key.get() {
            return Ok(k);
        }
        let key = sealing::load_or_create_key(&self.app.data_root, KEY_FILE)
            .map_err(|e| AppError::Storage(format!("the two-factor key file: {e}")))?;
        Ok(self.app.two_factor.key.get_or_init(|| key))
    }

    /// Whether `user` must turn on two-factor login before anything else
    /// (config `twoFactor.requireForAdmins`).
    pub fn must_enrol(&self, user: &UserRow) -> bool {
        self.app.config.two_factor.require_for_admins
            && self.app.config.enable_user_accounts
            && user.admin
            && !user.two_factor
    }

    pub async fn status(&self, handle: &str) -> Result<Status, AppError> {
        let h = handle.to_string();
        let (row, codes) = self
            .app
            .store
            .run(move |c| {
                Ok((
                    store::two_factor::get(c, &h)?,
                    store::two_factor::codes(c, &h)?,
                ))
            })
            .await?;
        let enabled = row.is_some_and(|r| r.enabled);
        Ok(Status {
            enabled,
            recovery_codes_left: if enabled { codes.len() } else { 0 },
        })
    }

    /// Starts an enrolment with a new secret (replacing an unfinished
    /// one): 409 when two-factor login is already on.
    pub async fn begin(&self, user: &UserRow) -> Result<Enrolment, AppError> {
        let secret = totp::new_secret();
        self.begin_with(user, &secret).await
    }

    /// [`TwoFactor::begin`] with a given secret (tests use the RFC
    /// 6238 one).
    pub async fn begin_with(&self, user: &UserRow, secret: &[u8]) -> Result<Enrolment, AppError> {
        let sealed = Sealer::new(*self.key()?, PURPOSE).seal(&user.handle, secret);
        let (h, now) = (user.handle.clone(), self.app.clock.now_ms());
        let started = self
            .app
            .store
            .run(move |c| store::two_factor::put_pending(c, &h, &sealed, now))
            .await?;
        if !started {
            return Err(AppError::Conflict(ALREADY_ON.into()));
        }
        let uri = totp::otpauth_uri(ISSUER, &user.handle, secret);
        let svg = totp::qr_svg(&uri)
            .ok_or_else(|| AppError::Internal("could not draw the QR code".into()))?;
        Ok(Enrolment {
            secret: totp::base32(secret),
            qr: format!(
                "data:image/svg+xml;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(svg)
            ),
            uri,
        })
    }

    /// Finishes an enrolment with the app's first code: two-factor login
    /// is on, and the recovery codes are returned (the only time they are
    /// shown). 400 `Incorrect code` for a wrong one.
    pub async fn confirm(
        &self,
        actor: &Actor,
        user: &UserRow,
        code: &str,
    ) -> Result<Vec<String>, AppError> {
        let h = user.handle.clone();
        let row = self
            .app
            .store
            .run(move |c| store::two_factor::get(c, &h))
            .await?;
        let row = match row {
            Some(r) if !r.enabled => r,
            Some(_) => return Err(AppError::Conflict(ALREADY_ON.into())),
            None => return Err(AppError::bad(NOT_STARTED)),
        };
        let secret = self.open_secret(&user.handle, &row.secret)?;
        let now_step = totp::step_at(self.app.clock.now_ms());
        let Typed::Totp(code) = read_code(code) else {
            return Err(AppError::bad(INCORRECT_CODE));
        };
        let step = totp::verify(&secret, &code, now_step, None)
            .ok_or_else(|| AppError::bad(INCORRECT_CODE))?;
        let (codes, hashes) = new_codes(&user.handle);
        let h = user.handle.clone();
        let on = self
            .app
            .write_user(&user.handle, move |c| {
                store::two_factor::enable(c, &h, step, &hashes)
            })
            .await?;
        if !on {
            return Err(AppError::bad(NOT_STARTED));
        }
        // Whoever else is logged in got there without a code: they log in
        // again, with one. The session that turned it on stays.
        self.app
            .sessions
            .revoke_user(
                &user.handle,
                actor.session.as_deref(),
                crate::sessions::EndReason::TwoFactorOn,
            )
            .await?;
        self.app
            .audit(actor, "2fa.enable", Some(&user.handle), None)
            .await;
        Ok(codes)
    }

    /// New recovery codes for an account with two-factor login on; the
    /// old ones stop working.
    pub async fn new_recovery_codes(
        &self,
        actor: &Actor,
        user: &UserRow,
    ) -> Result<Vec<String>, AppError> {
        if !self.status(&user.handle).await?.enabled {
            return Err(AppError::bad("Two-factor login is not on."));
        }
        let (codes, hashes) = new_codes(&user.handle);
        let h = user.handle.clone();
        self.app
            .store
            .run(move |c| store::two_factor::replace_codes(c, &h, &hashes))
            .await?;
        self.app
            .audit(actor, "2fa.recovery-codes", Some(&user.handle), None)
            .await;
        Ok(codes)
    }

    /// Removes an account's second factor (the user, an admin or the
    /// console); true when it was on. Audited as `action`.
    pub async fn remove(
        &self,
        actor: &Actor,
        handle: &str,
        action: &str,
    ) -> Result<bool, AppError> {
        let h = handle.to_string();
        let was_on = self
            .app
            .write_user(handle, move |c| store::two_factor::remove(c, &h))
            .await?;
        if was_on {
            self.app.audit(actor, action, Some(handle), None).await;
        }
        Ok(was_on)
    }

    fn open_secret(&self, handle: &str, sealed: &str) -> Result<Vec<u8>, AppError> {
        Sealer::new(*self.key()?, PURPOSE)
            .open(handle, sealed)
            .ok_or_else(|| {
                AppError::Internal(format!(
                    "the two-factor secret of {handle} does not open with {KEY_FILE}"
                ))
            })
    }

    /// A password was right for an account with two-factor login: holds
    /// the login for its code and returns the ticket that names it.
    pub fn issue_ticket(&self, user: &UserRow, proof: Proof) -> String {
        let ticket = crate::sessions::new_token();
        let now = self.app.clock.now_ms();
        let mut map = self.app.two_factor.tickets();
        if map.len() >= TICKETS_MAX {
            map.retain(|_, t| t.expires > now);
            if map.len() >= TICKETS_MAX {
                if let Some(k) = map.keys().next().cloned() {
                    map.remove(&k);
                }
            }
        }
        map.insert(
            crate::sessions::hash_id(&ticket),
            Ticket {
                handle: user.handle.clone(),
                proof,
                expires: now + TICKET_LIFETIME_MS,
                wrong: 0,
            },
        );
        ticket
    }

    /// The code step of a login: the ticket from the password step and a
    /// code from the app (or a recovery code). A wrong code counts against
    /// the same limits as a wrong password (per address and per account),
    /// so guessing codes meets 429 as soon as guessing passwords would.
    pub async fn login_second_factor(
        &self,
        actor: &Actor,
        ticket: &str,
        code: Option<&str>,
    ) -> Result<(UserRow, Proof, Accepted), AppError> {
        let key = crate::sessions::hash_id(ticket);
        let now = self.app.clock.now_ms();
        let handle = {
            let map = self.app.two_factor.tickets();
            match map.get(&key) {
                Some(t) if t.expires > now => t.handle.clone(),
                _ => return Err(AppError::forbidden(TICKET_EXPIRED)),
            }
        };
        // Codes are judged one at a time: the limits are checked, the code
        // compared and a wrong one counted before the next is looked at,
        // so parallel guesses cannot outrun the limits. Audit rows and
        // hooks come after, outside the lock.
        let judged = {
            let _one_at_a_time = self.app.two_factor.judging.lock().await;
            self.judge_login_code(actor, &handle, &key, code).await
        };
        let (user, accepted, proof) = match judged {
            Ok(Ok(found)) => found,
            Ok(Err(Refused::Limited(wait))) => {
                // One row (and hook call) a minute per address, as for passwords.
                if self
                    .app
                    .note_refusal(actor, "login.limited", Some(&handle))
                    .await
                {
                    self.app
                        .logins()
                        .login_failed_hook(actor, &handle, "rate_limited")
                        .await;
                }
                return Err(AppError::TooMany {
                    message: LOGIN_LIMITED.into(),
                    retry_after: wait,
                });
            }
            Ok(Err(Refused::Wrong)) => {
                self.app
                    .logins()
                    .login_failed_event(actor, &handle, "wrong_code")
                    .await;
                return Err(AppError::forbidden(INCORRECT_CODE));
            }
            Err(e) => return Err(e),
        };
        if let Accepted::RecoveryCode { left } = accepted {
            self.app
                .audit(
                    actor,
                    "2fa.recovery-code-used",
                    Some(&handle),
                    Some(format!("{left} left")),
                )
                .await;
        }
        self.app.logins().login_succeeded(actor, &user).await?;
        Ok((user, proof, accepted))
    }

    /// The judging part of [`TwoFactor::login_second_factor`], run under its
    /// lock: limits, the code, and a wrong code counted (against the
    /// address and the account, and the ticket's own count); a right one
    /// takes the ticket, so it logs in once.
    async fn judge_login_code(
        &self,
        actor: &Actor,
        handle: &str,
        key: &str,
        code: Option<&str>,
    ) -> Result<Result<(UserRow, Accepted, Proof), Refused>, AppError> {
        // A parallel request may have used or killed the ticket meanwhile.
        if !self.app.two_factor.tickets().contains_key(key) {
            return Err(AppError::forbidden(TICKET_EXPIRED));
        }
        let ip = actor.ip.map(crate::app::limit_key);
        let limited = self.app.limits.check_login(ip, handle);
        if let Err(wait) = limited {
            return Ok(Err(Refused::Limited(wait)));
        }
        let user = self
            .app
            .accounts()
            .find_user_fresh(handle)
            .await?
            .filter(|u| u.enabled)
            .ok_or_else(|| AppError::forbidden(TICKET_EXPIRED))?;
        match self.judge_code(&user, code.unwrap_or("")).await? {
            Some(accepted) => match self.app.two_factor.tickets().remove(key) {
                Some(ticket) => Ok(Ok((user, accepted, ticket.proof))),
                None => Err(AppError::forbidden(TICKET_EXPIRED)),
            },
            None => {
                self.app.logins().count_login_failure(actor, handle);
                let mut map = self.app.two_factor.tickets();
                if let Some(t) = map.get_mut(key) {
                    t.wrong += 1;
                    if t.wrong >= TICKET_WRONG_MAX {
                        map.remove(key);
                    }
                }
                Ok(Err(Refused::Wrong))
            }
        }
    }

    /// Whether `code` is a fresh app code or an unused recovery code of
    /// `user` (using it up); None when it is neither. Accounts whose
    /// factor was removed meanwhile pass: their password was enough.
    async fn judge_code(&self, user: &UserRow, code: &str) -> Result<Option<Accepted>, AppError> {
        let h = user.handle.clone();
        let row = self
            .app
            .store
            .run(move |c| store::two_factor::get(c, &h))
            .await?;
        let Some(row) = row.filter(|r| r.enabled) else {
            return Ok(Some(Accepted::Totp));
        };
        match read_code(code) {
            Typed::Totp(code) => {
                let secret = self.open_secret(&user.handle, &row.secret)?;
                let now_step = totp::step_at(self.app.clock.now_ms());
                let Some(step) = totp::verify(&secret, &code, now_step, row.last_step) else {
                    return Ok(None);
                };
                let h = user.handle.clone();
                let used = self
                    .app
                    .store
                    .run(move |c| store::two_factor::use_step(c, &h, step))
                    .await?;
                Ok(used.then_some(Accepted::Totp))
            }
            Typed::Recovery(clean) => {
                let want = recovery_hash(&user.handle, &clean);
                let h = user.handle.clone();
                let rows = self
                    .app
                    .store
                    .run(move |c| store::two_factor::codes(c, &h))
                    .await?;
                let mut found = None;
                for (id, hash) in &rows {
                    if bool::from(hash.as_bytes().ct_eq(want.as_bytes())) {
                        found = Some(*id);
                    }
                }
                let Some(id) = found else {
                    return Ok(None);
                };
                let used = self
                    .app
                    .store
                    .run(move |c| store::two_factor::use_code(c, id))
                    .await?;
                Ok(used.then_some(Accepted::RecoveryCode {
                    left: rows.len() - 1,
                }))
            }
            Typed::Nonsense => Ok(None),
        }
    }

    /// Checks a code of the caller's own (turning two-factor login off on
    /// an account without a password, where the code is the only proof).
    pub async fn confirm_own_code(&self, user: &UserRow, code: &str) -> Result<(), AppError> {
        let key = user.handle.clone();
        self.app
            .limits
            .password_account
            .check(&key)
            .map_err(|wait| AppError::TooMany {
                message: LOGIN_LIMITED.into(),
                retry_after: wait,
            })?;
        let _one_at_a_time = self.app.two_factor.judging.lock().await;
        match self.judge_code(user, code).await? {
            Some(_) => Ok(()),
            None => {
                self.app.limits.password_account.fail(&key);
                Err(AppError::bad(INCORRECT_CODE))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_drops_only_expired_tickets() {
        let state = TwoFactorState::default();
        for (name, expires) in [("old", 100), ("edge", 200), ("new", 300)] {
            state.tickets().insert(
                name.to_string(),
                Ticket {
                    handle: "alice".into(),
                    proof: Proof::Trusted,
                    expires,
                    wrong: 0,
                },
            );
        }
        assert_eq!(state.sweep(200), 2);
        let left: Vec<_> = state.tickets().keys().cloned().collect();
        assert_eq!(left, ["new"]);
        assert_eq!(state.sweep(200), 0);
    }

    #[test]
    fn seal_opens_only_for_its_handle() {
        let s = Sealer::new(rand::random(), PURPOSE);
        let secret = totp::new_secret();
        let sealed = s.seal("alice", &secret);
        assert_eq!(s.open("alice", &sealed).unwrap(), secret.to_vec());
        assert!(s.open("bob", &sealed).is_none());
        assert!(!sealed.contains(&totp::base32(&secret)));
    }

    #[test]
    fn codes_are_read_leniently() {
        assert!(matches!(read_code(" 123 456 "), Typed::Totp(c) if c == "123456"));
        assert!(matches!(read_code("ABCDE-FGHJK"), Typed::Recovery(c) if c == "abcdefghjk"));
        assert!(matches!(read_code("12345"), Typed::Nonsense));
        let code = new_recovery_code();
        assert_eq!(code.len(), 11);
        assert!(matches!(read_code(&code), Typed::Recovery(_)));
    }
}
