//! `App`: the shared state of a running server (and of console commands),
//! opened from a config: store, hasher, sessions, limits, codes, hooks.

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ipnet::IpNet;

use crate::accounts::handle::DEFAULT_USER;
use crate::accounts::password::Hasher;
use crate::clock::Clock;
use crate::codes::Codes;
use crate::config::{parse_net, Config};
use crate::console::Console;
use crate::hooks::{HookSettings, Hooks};
use crate::limits::Limiter;
use crate::sessions::Sessions;
use crate::store::{self, users::UserRow, Store};
use crate::userdata::{atomic, layout};

/// Connections one client address may hold open (a browser uses six per
/// host; a trusted proxy in front is only held to the total).
pub const MAX_CONNECTIONS_PER_IP: usize = 256;

/// Who is acting, for permission checks, the audit log and hooks.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    /// None for an anonymous request or the console.
    pub handle: Option<String>,
    pub admin: bool,
    pub ip: Option<IpAddr>,
    /// The caller's session (id hash), kept alive on own password changes.
    pub session: Option<String>,
}

impl Actor {
    /// The console: acts with admin rights and no address.
    pub fn console() -> Actor {
        Actor {
            handle: None,
            admin: true,
            ip: None,
            session: None,
        }
    }

    pub fn ip_text(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
    }
}

/// Failure counters for guessable secrets (SPEC §6).
pub struct Limits {
    /// 5 failed logins within 60 s from one IP (a success clears it, as
    /// in SillyTavern, whose clients rely on that).
    pub login_ip: Limiter<IpAddr>,
    /// 20 failed logins within an hour from one IP, never cleared by a
    /// success: logging in to one's own account between guesses at others
    /// does not reset it.
    pub login_ip_hour: Limiter<IpAddr>,
    /// 10 failed logins within 15 minutes for one account.
    pub login_account: Limiter<String>,
    /// 5 recovery failures within 5 minutes from one IP.
    pub recovery_ip: Limiter<IpAddr>,
    /// 5 wrong account-reset codes or passwords within 15 minutes per account.
    pub reset_account: Limiter<String>,
    /// 10 wrong passwords within 15 minutes per account where a logged-in
    /// user confirms one (own password change, settings reset).
    pub password_account: Limiter<String>,
    /// 10 invitation links that name nothing within 10 minutes per IP.
    pub invite_ip: Limiter<IpAddr>,
    /// 5 sign-ups within an hour per IP (each one counts).
    pub signup_ip: Limiter<IpAddr>,
    /// Attempts the limits above refused: counted, one audit row a minute.
    pub refused: crate::limits::Refusals,
}

impl Limits {
    /// Whether a login for `account` from `ip` may be judged now: the
    /// address's per-minute and hourly counts and the account's. Err with
    /// the seconds to wait.
    pub fn check_login(&self, ip: Option<IpAddr>, account: &str) -> Result<(), u64> {
        ip.map_or(Ok(()), |ip| {
            self.login_ip
                .check(&ip)
                .and_then(|_| self.login_ip_hour.check(&ip))
        })
        .and_then(|_| self.login_account.check(&account.to_string()))
    }
}

pub struct App {
    pub config: Config,
    pub data_root: PathBuf,
    pub store: Store,
    /// In-memory copy of the users table (see accounts::directory).
    pub directory: crate::accounts::directory::Directory,
    pub hasher: Hasher,
    pub sessions: Sessions,
    pub limits: Limits,
    pub codes: Codes,
    pub hooks: Hooks,
    pub clock: Clock,
    pub console: Console,
    pub whitelist: Vec<IpNet>,
    pub trusted_proxies: Vec<IpNet>,
    /// Set when `ssl.enabled`: connections are TLS.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Held while an account's row and folder change together (create,
    /// delete, account reset), so a purge never races a re-creation.
    pub account_lock: tokio::sync::Mutex<()>,
    /// Held while a recovery code is judged and counted (see
    /// `recover_step2`): bursts of guesses are counted one by one.
    pub recovery_judging: tokio::sync::Mutex<()>,
    /// The per-user SillyTavern processes, once `hosting::attach` ran with
    /// an app configured (never for console commands).
    pub hosting: std::sync::OnceLock<Arc<crate::hosting::supervisor::Supervisor>>,
    /// Two-factor login: the sealing key, logins waiting for a code.
    pub two_factor: crate::accounts::two_factor::TwoFactorState,
    /// Open connections, capped (see server.rs).
    pub connections: Arc<crate::limits::Connections>,
    /// Set once the once-a-second housekeeping task runs.
    pub housekeeping: std::sync::atomic::AtomicBool,
    /// Places for backup archives being written (see userdata::backup).
    pub backups: crate::userdata::backup::Slots,
    /// Each account's folder size, for quotas (see userdata::quota).
    pub usage_book: crate::userdata::quota::UsageBook,
    /// Permission profiles, shared connections, usage limits: the sealing
    /// key and the generations under way (see permissions::service).
    pub permissions: crate::permissions::service::PermissionsState,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create the data root {path}: {source}")]
    DataRoot {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("{0}")]
    Hash(#[from] crate::accounts::password::HashError),
    #[error("HTTPS: {0}")]
    Tls(String),
    #[error("cannot prepare the folder of '{handle}': {source}")]
    Folder {
        handle: String,
        source: std::io::Error,
    },
}

impl App {
    /// Opens the data root: database, default-user, every user's folder,
    /// and a sweep of temp files a crash may have left.
    pub fn open(config: Config, clock: Clock, console: Console) -> Result<Arc<App>, OpenError> {
        let data_root = config.data_root.clone();
        std::fs::create_dir_all(&data_root).map_err(|source| OpenError::DataRoot {
            path: data_root.clone(),
            source,
        })?;
        let store = Store::open(&data_root)?;
        let hasher = Hasher::new(
            config.password_hash.log_n,
            config.password_hash.r,
            config.password_hash.p,
            config.hash_concurrency(),
        )?;
        let hooks = Hooks::new(
            HookSettings {
                dir: config.hooks.dir.clone(),
                timeout_ms: config.hooks.timeout_ms,
                memory_limit_mb: config.hooks.memory_limit_mb,
                fail_closed: config.hooks.fail_closed,
            },
            config.public_view(),
        );
        let tls = if config.ssl.enabled {
            Some(
                crate::tls::load(&config.ssl.cert_path, &config.ssl.key_path)
                    .map_err(OpenError::Tls)?,
            )
        } else {
            None
        };
        let app = App {
            tls,
            account_lock: tokio::sync::Mutex::new(()),
            recovery_judging: tokio::sync::Mutex::new(()),
            hosting: std::sync::OnceLock::new(),
            two_factor: Default::default(),
            connections: crate::limits::Connections::new(MAX_CONNECTIONS_PER_IP),
            housekeeping: std::sync::atomic::AtomicBool::new(false),
            backups: Default::default(),
            usage_book: Default::default(),
            permissions: Default::default(),
            sessions: Sessions::new(store.clone(), clock.clone(), config.session_timeout),
            limits: Limits {
                login_ip: Limiter::new(5, 60_000, clock.clone()),
                login_ip_hour: Limiter::new(20, 3_600_000, clock.clone()),
                login_account: Limiter::new(10, 15 * 60_000, clock.clone()),
                recovery_ip: Limiter::new(5, 5 * 60_000, clock.clone()),
                reset_account: Limiter::new(5, 15 * 60_000, clock.clone()),
                password_account: Limiter::new(10, 15 * 60_000, clock.clone()),
                invite_ip: Limiter::new(10, 10 * 60_000, clock.clone()),
                signup_ip: Limiter::new(5, 3_600_000, clock.clone()),
                refused: crate::limits::Refusals::new(clock.clone()),
            },
            codes: Codes::new(config.recovery.code_digits, clock.clone()),
            whitelist: config
                .whitelist
                .iter()
                .filter_map(|s| parse_net(s))
                .collect(),
            trusted_proxies: config
                .trusted_proxies
                .iter()
                .filter_map(|s| parse_net(s))
                .collect(),
            data_root,
            store,
            directory: Default::default(),
            hasher,
            hooks,
            clock,
            console,
            config,
        };
        app.bootstrap()?;
        Ok(Arc::new(app))
    }

    /// default-user exists; every user's folder has the full layout; no
    /// temp file from a crash remains.
    fn bootstrap(&self) -> Result<(), OpenError> {
        let now = self.clock.now_ms();
        self.store.run_blocking(|c| {
            store::users::insert(
                c,
                &UserRow {
                    admin: true,
                    ..UserRow::new(DEFAULT_USER, "User", now)
                },
            )
        })?;
        layout::ensure(&self.data_root, DEFAULT_USER, "User").map_err(|source| {
            OpenError::Folder {
                handle: DEFAULT_USER.into(),
                source,
            }
        })?;
        Ok(())
    }

    /// Start-up repair of the data root: every user's folder gets its full
    /// layout back, and temp files a crash left anywhere are removed (those
    /// written since `started` are spared: the server may already be
    /// answering). Slow on a big root, so the server runs it after it starts
    /// listening and prints its ready line when it is done.
    pub fn repair(&self, started: std::time::SystemTime) -> Result<(), OpenError> {
        let users = self.store.run_blocking(|c| store::users::list(c))?;
        for u in &users {
            layout::ensure(&self.data_root, &u.handle, &u.name).map_err(|source| {
                OpenError::Folder {
                    handle: u.handle.clone(),
                    source,
                }
            })?;
            self.snapshots().reconcile(&u.handle);
        }
        // The whole root: folders of deleted accounts and database copies
        // of an interrupted full backup can hold temp files too.
        match atomic::sweep_temp_files_before(&self.data_root, started) {
            Ok(0) => {}
            Ok(n) => tracing::info!("removed {n} unfinished temp file(s) from the data root"),
            Err(e) => tracing::warn!("could not sweep temp files: {e}"),
        }
        Ok(())
    }

    /// Notes an attempt a limit refused. Only the first of a minute per
    /// action and address becomes an audit row (true: the caller may tell
    /// hooks too); the rest are counted and written by [`App::flush_refusals`].
    pub async fn note_refusal(&self, actor: &Actor, action: &str, target: Option<&str>) -> bool {
        let key = format!("{action} {}", actor.ip_text().unwrap_or_default());
        match self.limits.refused.note(&key) {
            Some(n) => {
                self.audit(actor, action, target, Some(refused_detail(n)))
                    .await;
                true
            }
            None => false,
        }
    }

    /// Writes the counts of refused attempts that are due (housekeeping).
    pub async fn flush_refusals(&self) {
        for (key, n) in self.limits.refused.due() {
            let (action, ip) = key.split_once(' ').unwrap_or(("limit.refused", ""));
            let ip = (!ip.is_empty()).then(|| ip.to_string());
            self.audit_row(None, action, None, ip, Some(refused_detail(n)))
                .await;
        }
    }

    /// Writes one audit row now; a failure is logged, never fatal.
    async fn audit_row(
        &self,
        who: Option<String>,
        action: &str,
        target: Option<&str>,
        ip: Option<String>,
        detail: Option<String>,
    ) {
        let time = self.clock.now_ms();
        let (action, target) = (action.to_string(), target.map(str::to_string));
        let result = self
            .store
            .run(move |c| {
                store::audit::insert(
                    c,
                    time,
                    who.as_deref(),
                    &action,
                    target.as_deref(),
                    ip.as_deref(),
                    detail.as_deref(),
                )
            })
            .await;
        if let Err(e) = result {
            tracing::warn!("could not write the audit log: {e}");
        }
    }

    /// The folder of a valid handle.
    pub fn user_dir(&self, handle: &str) -> Option<PathBuf> {
        layout::user_dir(&self.data_root, handle)
    }

    /// Writes one audit row; a failure is logged, never fatal to the action.
    pub async fn audit(
        &self,
        actor: &Actor,
        action: &str,
        target: Option<&str>,
        detail: Option<String>,
    ) {
        let who = actor.handle.clone().or_else(|| {
            if actor.ip.is_none() {
                Some("(console)".to_string())
            } else {
                None
            }
        });
        self.audit_row(who, action, target, actor.ip_text(), detail)
            .await;
    }

    /// Every account, from memory (loaded from SQLite after a change).
    pub async fn users(
        &self,
    ) -> Result<Arc<crate::accounts::directory::Snapshot>, store::StoreError> {
        if let Some(s) = self.directory.get() {
            return Ok(s);
        }
        let seen = self.directory.generation();
        let rows = self.store.run(|c| store::users::list(c)).await?;
        let snapshot = Arc::new(crate::accounts::directory::Snapshot::new(rows));
        self.directory.install(seen, snapshot.clone());
        Ok(snapshot)
    }

    /// Runs a write to the users table and drops the in-memory copy.
    pub async fn write_users<F, T>(&self, f: F) -> Result<T, store::StoreError>
    where
        F: FnOnce(&mut rusqlite::Connection) -> Result<T, store::StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let result = self.store.run(f).await;
        self.directory.invalidate();
        result
    }

    /// Runs a write that concerns one account, then refreshes just that
    /// account in the in-memory copy (cheap at any number of users).
    pub async fn write_user<F, T>(&self, handle: &str, f: F) -> Result<T, store::StoreError>
    where
        F: FnOnce(&mut rusqlite::Connection) -> Result<T, store::StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let h = handle.to_string();
        let result = self
            .store
            .run(move |c| {
                let out = f(c)?;
                let row = store::users::get(c, &h)?;
                Ok((out, row))
            })
            .await;
        match result {
            Ok((out, row)) => {
                self.directory.patch(handle, row);
                Ok(out)
            }
            Err(e) => {
                self.directory.invalidate();
                Err(e)
            }
        }
    }

    /// Picks up changes console commands made meanwhile: accounts,
    /// revoked sessions, and the processes of accounts disabled or deleted
    /// meanwhile.
    pub async fn resync(&self) -> Result<(), store::StoreError> {
        self.directory.invalidate();
        self.resync_sessions().await?;
        if let Some(h) = self.hosting() {
            let users = self.users().await?;
            h.retain(|handle| users.list.iter().any(|u| u.handle == handle && u.enabled))
                .await;
        }
        Ok(())
    }

    /// The hosted app's supervisor, when an app is configured.
    pub fn hosting(&self) -> Option<&Arc<crate::hosting::supervisor::Supervisor>> {
        self.hosting.get()
    }

    /// Stops a user's process (if any) and keeps it stopped while the
    /// guard lives, so files can change under nobody's feet.
    pub async fn hold_app(
        &self,
        handle: &str,
        reason: crate::hosting::supervisor::StopReason,
    ) -> Option<crate::hosting::supervisor::Hold> {
        match self.hosting() {
            Some(h) => Some(h.hold(handle, reason).await),
            None => None,
        }
    }

    /// What a whole-root archive holds: every file but the live database
    /// (and the server's lock file), plus a consistent copy of the
    /// database made with `VACUUM INTO`.
    pub async fn full_backup_plan(&self) -> Result<crate::userdata::backup::ArchivePlan, AppError> {
        let copy = self.data_root.join(format!(
            "{}backup-{:016x}.db",
            atomic::TEMP_PREFIX,
            rand::random::<u64>()
        ));
        let target = copy.to_string_lossy().into_owned();
        self.store
            .run(move |c| {
                c.execute("VACUUM INTO ?1", [target])?;
                Ok(())
            })
            .await?;
        Ok(crate::userdata::backup::ArchivePlan {
            dir: self.data_root.clone(),
            skip: crate::userdata::backup::DB_FILES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            extra: vec![(copy.clone(), store::DB_FILE.to_string())],
            cleanup: vec![copy],
            given: vec![],
        })
    }

    /// Drops cached sessions that console commands revoked meanwhile.
    pub async fn resync_sessions(&self) -> Result<(), store::StoreError> {
        let ids = self.store.run(|c| store::sessions::all_ids(c)).await?;
        self.sessions
            .retain_stored(&ids.into_iter().collect::<HashSet<_>>());
        Ok(())
    }

    pub fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|n| n.contains(&ip))
    }

    pub fn is_whitelisted(&self, ip: IpAddr) -> bool {
        let ip = canonical_ip(ip);
        self.whitelist.iter().any(|n| n.contains(&ip))
    }
}

fn refused_detail(n: u64) -> String {
    format!("{n} attempt(s) refused by the rate limit")
}

/// The key an address is counted under by the rate limits: IPv6 clients
/// by their /64 (one subscriber usually has a whole /64 to pick from).
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match canonical_ip(ip) {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// IPv4-mapped IPv6 addresses compare as IPv4.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

use crate::error::AppError;
use crate::hooks::{EventKind, HookEvent, HookOutcome};

/// Fields of a hook event, built with `serde_json::json!`.
pub type Fields = serde_json::Map<String, serde_json::Value>;

impl App {
    /// Runs a "before" hook: Ok with any fields the scripts adjust, or the
    /// scripts' refusal as a 403 carrying their reason.
    pub async fn hook_before(
        &self,
        kind: EventKind,
        handle: Option<&str>,
        actor: &Actor,
        fields: Fields,
    ) -> Result<Fields, AppError> {
        if !self.hooks.has_handlers(kind) {
            return Ok(Fields::new());
        }
        match self
            .hooks
            .dispatch(self.hook_event(kind, handle, actor, fields))
            .await
        {
            HookOutcome::Allow { adjust } => Ok(adjust),
            HookOutcome::Refuse { reason } => Err(AppError::Forbidden(reason)),
        }
    }

    /// Runs an "after" hook; the action stands whatever the scripts do.
    pub async fn hook_after(
        &self,
        kind: EventKind,
        handle: Option<&str>,
        actor: &Actor,
        fields: Fields,
    ) {
        if self.hooks.has_handlers(kind) {
            let _ = self
                .hooks
                .dispatch(self.hook_event(kind, handle, actor, fields))
                .await;
        }
    }

    fn hook_event(
        &self,
        kind: EventKind,
        handle: Option<&str>,
        actor: &Actor,
        fields: Fields,
    ) -> HookEvent {
        HookEvent {
            kind,
            handle: handle.map(str::to_string),
            ip: actor.ip_text(),
            fields,
            user_dir: handle.and_then(|h| self.user_dir(h)).filter(|d| d.is_dir()),
        }
    }
}

/// Builds hook fields from `key => value` pairs.
#[macro_export]
macro_rules! fields {
    ($($k:literal => $v:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut m = $crate::app::Fields::new();
        $( m.insert($k.to_string(), serde_json::json!($v)); )*
        m
    }};
}
