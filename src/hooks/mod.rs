//! Lua hook scripts: the admin drops `*.lua` files in the hooks folder, and
//! the server calls their handlers when accounts are created, people log in,
//! backups are made, and so on (see `scripts/README.md` for the script side).
//!
//! How it fits together:
//! - Each top-level `*.lua` file gets its own sandboxed Lua state
//!   ([`sandbox`]) with the `innkeeper` API ([`api`]). Its top level runs
//!   once at load and registers handlers with `innkeeper.on`.
//! - Before every dispatch the folder is listed again and changed, new or
//!   removed files are reloaded or dropped, so editing a script takes effect
//!   on the next event without a restart. A file that fails to load is
//!   logged with file and line; the others keep working, and if an earlier
//!   version of it was running, that version stays until the file is fixed.
//! - A dispatch runs the event's handlers in file-name order, then
//!   registration order. For `before_*` events the first refusal wins; a
//!   failing handler refuses the action when `fail_closed` is set.
//! - One event has one time budget, `timeout_ms`, for everything it runs:
//!   reloading changed files, waiting for a script's state, and all its
//!   handlers together. Handlers not reached when it runs out are skipped
//!   (and logged), which counts as a timeout. So forty slow handlers hold
//!   a login for one budget, not forty.
//! - Lua runs on the hooks' own few threads ([`pool`]), never on tokio's
//!   blocking pool, each state behind its own mutex. A script stuck in one
//!   long C library call (sorting a huge table) can hold one of these
//!   threads, but not the threads the database and password hashing use;
//!   once all of them are stuck, new events are answered as timed out at
//!   once. Pattern functions are not such calls: they watch the deadline.

mod api;
mod events;
mod patterns;
mod pool;
mod registry;
mod sandbox;

use registry::{check, handles, Check, Loaded, Registry};

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value as Json};

pub use api::{MAX_FILE_BYTES, MAX_LIST_ENTRIES};
pub use events::{EventKind, UnknownEvent};
pub use pool::HOOK_THREADS;
pub use sandbox::{INSTRUCTIONS_PER_CHECK, MAX_PATTERN_LEN, MAX_PATTERN_SUBJECT};

use api::{clean_log_text, ApiContext, Reply};
use pool::{Pool, SubmitError};
use sandbox::{FailureKind, Limits, Script};

/// The reason users see when a `before_*` action is refused because a
/// handler failed (error, timeout, out of memory) and `fail_closed` is set.
pub const HOOK_FAILED_REASON: &str =
    "A server hook failed; the action was refused. Ask your admin.";

/// Largest script file that is loaded (4 MiB); a bigger one is a load error.
pub const MAX_SCRIPT_BYTES: u64 = 4 << 20;

/// A file modified this recently may have been edited again within the
/// file system's timestamp granularity without its size changing, so its
/// content is compared too (the same trick git uses for "racy" entries).
const RACY_WINDOW: Duration = Duration::from_secs(2);

/// How long an async dispatch waits past the event's budget for the hook
/// thread's answer before giving up on it. The thread notices the deadline
/// itself within microseconds, unless it is inside one long C call.
const DISPATCH_SLACK: Duration = Duration::from_millis(100);

/// Upper bound for `timeout_ms`, so deadline arithmetic cannot overflow.
const MAX_TIMEOUT_MS: u64 = 3_600_000;

/// Hook settings from `config.yaml` (`hooks.*`).
#[derive(Debug, Clone)]
pub struct HookSettings {
    /// Folder whose top-level `*.lua` files are loaded.
    pub dir: PathBuf,
    /// Time budget of one event: all its handlers together, plus reloading
    /// changed files (at start, each file gets this much to load).
    pub timeout_ms: u64,
    /// Memory limit of each script's Lua state; 0 disables the limit.
    pub memory_limit_mb: u64,
    /// When a `before_*` handler fails: refuse the action (true) or go on as
    /// if that handler had allowed it (false).
    pub fail_closed: bool,
}

impl Default for HookSettings {
    /// The defaults of SPEC §2: `scripts`, 1000 ms, 32 MB, fail closed.
    fn default() -> Self {
        HookSettings {
            dir: PathBuf::from("scripts"),
            timeout_ms: 1000,
            memory_limit_mb: 32,
            fail_closed: true,
        }
    }
}

/// One occurrence of an event, as the server reports it.
#[derive(Debug, Clone)]
pub struct HookEvent {
    pub kind: EventKind,
    /// The account concerned, when there is one (`ev.handle`).
    pub handle: Option<String>,
    /// The client address, when the event comes from a request (`ev.ip`).
    pub ip: Option<String>,
    /// The event's own fields (documented per event in scripts/README.md).
    pub fields: Map<String, Json>,
    /// The affected user's folder; when set, scripts get `ev.user`.
    pub user_dir: Option<PathBuf>,
}

impl HookEvent {
    /// An event with no handle, address, fields or folder yet.
    pub fn new(kind: EventKind) -> HookEvent {
        HookEvent {
            kind,
            handle: None,
            ip: None,
            fields: Map::new(),
            user_dir: None,
        }
    }

    pub fn with_handle(mut self, handle: impl Into<String>) -> HookEvent {
        self.handle = Some(handle.into());
        self
    }

    pub fn with_ip(mut self, ip: impl Into<String>) -> HookEvent {
        self.ip = Some(ip.into());
        self
    }

    pub fn with_field(mut self, name: impl Into<String>, value: impl Into<Json>) -> HookEvent {
        self.fields.insert(name.into(), value.into());
        self
    }

    pub fn with_user_dir(mut self, dir: impl Into<PathBuf>) -> HookEvent {
        self.user_dir = Some(dir.into());
        self
    }
}

/// What the server should do after a dispatch.
#[derive(Debug, Clone, PartialEq)]
pub enum HookOutcome {
    /// Go ahead. `adjust` holds fields handlers asked to change (merged,
    /// later handlers win); the server applies the ones it documents
    /// (`name`, `admin` on `before_user_create`) and ignores the rest.
    Allow { adjust: Map<String, Json> },
    /// Do not go ahead; `reason` is meant to be shown to the user.
    Refuse { reason: String },
}

impl HookOutcome {
    /// Allow with no adjustments.
    pub fn allow() -> HookOutcome {
        HookOutcome::Allow { adjust: Map::new() }
    }

    pub fn is_refused(&self) -> bool {
        matches!(self, HookOutcome::Refuse { .. })
    }
}

/// The loaded hook scripts. Cheap to clone; clones share the states.
#[derive(Clone)]
pub struct Hooks {
    inner: Arc<Inner>,
}

struct Inner {
    settings: HookSettings,
    limits: Limits,
    config: Arc<Json>,
    registry: Mutex<Registry>,
    /// Held while the folder is compared and files are (re)loaded, so two
    /// dispatches do not load the same file twice.
    reload: Mutex<()>,
    /// The threads async dispatches run on.
    pool: Pool,
}

/// Why a lock could not be taken.
enum LockFailure {
    /// Still held after the wait; counted as a timeout.
    Busy,
    /// A panic happened while it was held; the state may be broken.
    Poisoned,
}

impl Hooks {
    /// Loads every top-level `*.lua` file in `settings.dir`, in file-name
    /// order (subfolders such as `examples/` are not loaded; neither are
    /// hidden files like editor lock files). A missing folder means no
    /// hooks. `config_view` is a JSON object of non-secret config values
    /// scripts may read as `innkeeper.config`.
    ///
    /// Runs each file's top level, so call it where blocking for up to
    /// `timeout_ms` per file is acceptable (server start).
    pub fn new(settings: HookSettings, config_view: Json) -> Hooks {
        let timeout_ms = settings.timeout_ms.clamp(1, MAX_TIMEOUT_MS);
        let limits = Limits {
            timeout: Duration::from_millis(timeout_ms),
            memory_bytes: usize::try_from(settings.memory_limit_mb)
                .unwrap_or(usize::MAX)
                .saturating_mul(1 << 20),
        };
        let config = match config_view {
            Json::Object(_) => config_view,
            Json::Null => Json::Object(Map::new()),
            other => {
                tracing::warn!(
                    "hook config view is a {}, not an object; scripts see an empty innkeeper.config",
                    json_kind(&other)
                );
                Json::Object(Map::new())
            }
        };
        if !settings.dir.is_dir() {
            tracing::info!(dir = %settings.dir.display(), "no hook scripts folder; no hooks are loaded");
        }
        let hooks = Hooks {
            inner: Arc::new(Inner {
                settings,
                limits,
                config: Arc::new(config),
                registry: Mutex::new(Registry::default()),
                reload: Mutex::new(()),
                pool: Pool::start(),
            }),
        };
        hooks.inner.refresh(None);
        hooks
    }

    /// Runs the handlers for this event synchronously, on the calling
    /// thread: call it from a blocking thread, never from async code. Picks
    /// up script changes first. Never panics.
    ///
    /// The event's handlers share one budget of `timeout_ms`, but a script
    /// stuck in one long C library call (sorting a huge table) cannot be
    /// interrupted; only [`Hooks::dispatch`] bounds that from the outside.
    pub fn dispatch_blocking(&self, event: HookEvent) -> HookOutcome {
        let deadline = Instant::now() + self.inner.limits.timeout;
        self.inner.run_guarded(event, deadline)
    }

    /// Runs the event's handlers on the hooks' own threads, so scripts never
    /// stall the async executor or tokio's blocking pool.
    ///
    /// Answers within `timeout_ms` plus a little slack, whatever the scripts
    /// do: the budget starts now, so time spent waiting for a free hook
    /// thread counts too. Past it, the event counts as a timed-out hook
    /// (refused for `before_*` events when `fail_closed`, allowed
    /// otherwise); a run stuck in a C call is left to finish on its thread
    /// and its result is discarded.
    pub async fn dispatch(&self, event: HookEvent) -> HookOutcome {
        let kind = event.kind;
        let inner = &self.inner;
        let deadline = Instant::now() + inner.limits.timeout;
        let (answer, answered) = tokio::sync::oneshot::channel();
        let hooks = self.clone();
        let job = move || {
            // The receiver may have given up already; nothing to do then.
            let _ = answer.send(hooks.inner.run_guarded(event, deadline));
        };
        if let Err(why) = inner.pool.submit(deadline, Box::new(job)) {
            let why = match why {
                SubmitError::Stuck => format!(
                    "all {HOOK_THREADS} hook threads are stuck past their events' budgets \
                     (a script in a long library call)"
                ),
                SubmitError::QueueFull => "too many events are waiting for a hook thread".into(),
                SubmitError::NoThreads => "no hook thread could be started".into(),
            };
            tracing::error!(event = %kind, "hooks not run: {why}; counted as a hook timeout");
            return inner.failure_outcome(kind);
        }
        let wait_until = tokio::time::Instant::from_std(deadline + DISPATCH_SLACK);
        match tokio::time::timeout_at(wait_until, answered).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => {
                tracing::error!(
                    event = %kind,
                    "no hook thread was free within {} ms; the event's handlers were skipped and \
                     it counts as a hook timeout",
                    inner.limits.timeout.as_millis()
                );
                inner.failure_outcome(kind)
            }
            Err(_) => {
                tracing::error!(
                    event = %kind,
                    "hooks did not finish within {} ms: a script is stuck in a long library \
                     call; counted as a hook timeout",
                    inner.limits.timeout.as_millis()
                );
                inner.failure_outcome(kind)
            }
        }
    }

    /// Whether any script currently handles `kind`, so the server can skip
    /// building events nobody listens to.
    ///
    /// Cheap and safe to call from async code: it lists the folder but never
    /// runs Lua. If a script file is new or changed since it was loaded,
    /// the answer is `true` until the next dispatch has (re)loaded it, so a
    /// new handler is never missed.
    pub fn has_handlers(&self, kind: EventKind) -> bool {
        self.inner.has_handlers(kind)
    }

    /// Current load errors, one `file:line: message` per file whose current
    /// content failed to load, in file-name order. For the admin panel and
    /// tests; reflects the folder as of the last dispatch (or
    /// [`Hooks::new`]).
    pub fn load_errors(&self) -> Vec<String> {
        self.inner
            .registry()
            .files
            .values()
            .filter_map(|entry| entry.error.clone())
            .collect()
    }

    /// Names of the files whose handlers are active, in file-name order
    /// (including a file whose latest edit failed but whose previous
    /// version still runs).
    pub fn loaded_scripts(&self) -> Vec<String> {
        self.inner
            .registry()
            .files
            .iter()
            .filter(|(_, entry)| entry.loaded.is_some())
            .map(|(name, _)| name.clone())
            .collect()
    }
}

impl Inner {
    fn registry(&self) -> MutexGuard<'_, Registry> {
        // The registry is only ever held for map updates that cannot leave
        // it half-done, so a poisoned lock is still consistent.
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How long loading at start may wait for the reload lock.
    fn lock_wait(&self) -> Duration {
        self.limits.timeout.saturating_mul(2)
    }

    fn failure_outcome(&self, kind: EventKind) -> HookOutcome {
        if kind.is_before() && self.settings.fail_closed {
            HookOutcome::Refuse {
                reason: HOOK_FAILED_REASON.to_owned(),
            }
        } else {
            HookOutcome::allow()
        }
    }

    /// [`Inner::run`], with a panic turned into a failed hook.
    fn run_guarded(&self, event: HookEvent, deadline: Instant) -> HookOutcome {
        let kind = event.kind;
        match catch_unwind(AssertUnwindSafe(|| self.run(event, deadline))) {
            Ok(outcome) => outcome,
            Err(_) => {
                tracing::error!(event = %kind, "internal error (panic) while running hooks");
                self.failure_outcome(kind)
            }
        }
    }

    /// Reloads changed files, then runs the event's handlers, everything
    /// before `deadline`.
    fn run(&self, event: HookEvent, deadline: Instant) -> HookOutcome {
        let kind = event.kind;
        let refreshed = self.refresh(Some(deadline));
        let targets: Vec<(String, Loaded)> = self
            .registry()
            .files
            .iter()
            .filter_map(|(name, entry)| match &entry.loaded {
                Some(loaded) if loaded.kinds.contains(&kind) => {
                    Some((name.clone(), loaded.clone()))
                }
                _ => None,
            })
            .collect();

        // Later handlers see the adjustments of earlier ones.
        let mut fields = event.fields.clone();
        let mut adjust = Map::new();
        if !refreshed {
            // A new file that is not loaded yet may hold a policy for this
            // very event, so a "before" event cannot go ahead without it.
            tracing::warn!(
                event = %kind,
                "the event's hook time ran out while changed scripts were loading; \
                 they load on a later event"
            );
            return self.out_of_time(kind, adjust);
        }
        let total = targets.len();
        for (done, (name, loaded)) in targets.into_iter().enumerate() {
            if Instant::now() >= deadline {
                self.log_skipped(kind, &name, total - done);
                return self.out_of_time(kind, adjust);
            }
            let wait = deadline.saturating_duration_since(Instant::now());
            let script = match lock_within(&loaded.script, wait) {
                Ok(script) => script,
                Err(failure) => {
                    let why = match failure {
                        LockFailure::Busy => format!(
                            "still busy with an earlier call after {} ms; counted as a timeout",
                            wait.as_millis()
                        ),
                        LockFailure::Poisoned => {
                            loaded.stale.store(true, Ordering::Relaxed);
                            "its state broke in an earlier call; it will be reloaded".to_owned()
                        }
                    };
                    tracing::error!(script = %name, event = %kind, "hook skipped: {why}");
                    if kind.is_before() && self.settings.fail_closed {
                        return self.failure_outcome(kind);
                    }
                    continue;
                }
            };
            for handler in script.handlers_for(kind) {
                if Instant::now() >= deadline {
                    self.log_skipped(kind, &name, total - done);
                    return self.out_of_time(kind, adjust);
                }
                match script.call(&handler, &event, &fields, deadline) {
                    Ok(Reply::Refuse(reason)) => {
                        tracing::info!(
                            script = %name,
                            event = %kind,
                            handle = event.handle.as_deref().unwrap_or(""),
                            "hook refused the action: {}",
                            clean_log_text(&reason)
                        );
                        return HookOutcome::Refuse { reason };
                    }
                    Ok(Reply::Allow(changes)) => {
                        for (key, value) in changes {
                            fields.insert(key.clone(), value.clone());
                            adjust.insert(key, value);
                        }
                    }
                    Err(failure) => {
                        tracing::error!(
                            script = %name,
                            event = %kind,
                            "hook failed: {}",
                            clean_log_text(&failure.message)
                        );
                        if kind.is_before() && self.settings.fail_closed {
                            return self.failure_outcome(kind);
                        }
                    }
                }
            }
        }
        HookOutcome::Allow { adjust }
    }

    /// Warns that the event's budget ran out with handlers left, from the
    /// script `name` on (`scripts` of them, counting that one).
    fn log_skipped(&self, kind: EventKind, name: &str, scripts: usize) {
        tracing::warn!(
            script = %name,
            event = %kind,
            "the event's hook time ({} ms) ran out; skipped the handlers of {scripts} script(s) \
             from this one on",
            self.limits.timeout.as_millis()
        );
    }

    /// The outcome when the event's time ran out before every handler ran:
    /// the skipped handlers count as timed out, so a "before" event is
    /// refused when `fail_closed`; otherwise they count as allowing and the
    /// adjustments made so far stand, as after any failed handler.
    fn out_of_time(&self, kind: EventKind, adjust: Map<String, Json>) -> HookOutcome {
        if kind.is_before() && self.settings.fail_closed {
            self.failure_outcome(kind)
        } else {
            HookOutcome::Allow { adjust }
        }
    }

    fn has_handlers(&self, kind: EventKind) -> bool {
        let listing = self.list_dir();
        let registry = match self.registry.try_lock() {
            Ok(registry) => registry,
            // A reload is being installed right now: say yes, the dispatch
            // will sort it out.
            Err(TryLockError::WouldBlock) => return true,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        };
        let Some(listing) = listing else {
            return registry.files.values().any(|e| handles(e, kind));
        };
        listing.iter().any(|listed| {
            let Some(entry) = registry.files.get(&listed.name) else {
                return true;
            };
            matches!(check(listed, Some(entry)), Check::Changed(_)) || handles(entry, kind)
        })
    }
}

/// Takes a lock, giving up after `wait`. std's mutex has no timed lock, and
/// contention here is rare (a few hook threads, each state held for one
/// handler call), so polling every millisecond is simple and cheap.
fn lock_within<T>(mutex: &Mutex<T>, wait: Duration) -> Result<MutexGuard<'_, T>, LockFailure> {
    let deadline = Instant::now() + wait;
    loop {
        match mutex.try_lock() {
            Ok(guard) => return Ok(guard),
            Err(TryLockError::Poisoned(_)) => return Err(LockFailure::Poisoned),
            Err(TryLockError::WouldBlock) if Instant::now() >= deadline => {
                return Err(LockFailure::Busy)
            }
            Err(TryLockError::WouldBlock) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}

fn json_kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}
