//! The supervisor: one SillyTavern process per logged-in user (the
//! spawner of JupyterHub's model). Each user has a slot whose phase is
//! published on a watch channel: Stopped → Starting → Running → Stopping →
//! Stopped, or Failed after 3 crashes within a minute (until an admin
//! restarts it). Concurrent first requests share one start; at most
//! `app.maxRunning` processes run, the least recently used idle one making
//! room; a process idle for `app.idleMinutes` is stopped; a crash is
//! logged and the next request starts the process again.
//!
//! One task owns each process from spawn to exit, so a stop, a crash and a
//! start timeout are decided in one place.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, watch};

use super::install::Install;
use super::listener;
use super::process::{self, Launch, STOP_GRACE};
use super::proxy::Proxy;
use super::public_files::PublicFiles;
use super::st_session::StSession;
use super::view_root::{ViewRoot, APP_DIR};
use super::HostError;
use crate::clock::Clock;

/// Crashes within this window…
const CRASH_WINDOW_MS: i64 = 60_000;
/// …this many times stop the restarts until an admin restarts the process.
const CRASH_BRAKE: usize = 3;
/// A start that meets a port taken meanwhile is retried this often.
const PORT_ATTEMPTS: usize = 3;
/// Lines of output quoted in an error.
const ERROR_LINES: usize = 12;

/// The `app:` settings the supervisor works with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub idle_ms: i64,
    pub max_running: usize,
    pub start_timeout: Duration,
    pub memory_mb: u64,
}

/// Why a process was stopped (also the `reason` of the `app_stopped` hook).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    Idle,
    Evicted,
    Disabled,
    Deleted,
    Reset,
    Admin,
    Shutdown,
    Crashed,
    StartFailed,
}

impl StopReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Idle => "idle",
            StopReason::Evicted => "evicted",
            StopReason::Disabled => "disabled",
            StopReason::Deleted => "deleted",
            StopReason::Reset => "reset",
            StopReason::Admin => "admin",
            StopReason::Shutdown => "shutdown",
            StopReason::Crashed => "crashed",
            StopReason::StartFailed => "start-failed",
        }
    }
}

/// Where a slot is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Stopped,
    Starting,
    Running {
        port: u16,
        pid: u32,
    },
    Stopping,
    /// Crashed too often: no restarts until an admin asks.
    Failed {
        error: String,
    },
}

impl State {
    pub fn name(&self) -> &'static str {
        match self {
            State::Stopped => "stopped",
            State::Starting => "starting",
            State::Running { .. } => "running",
            State::Stopping => "stopping",
            State::Failed { .. } => "failed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Phase {
    pub state: State,
    /// When the slot entered this state (ms since the epoch).
    pub since: i64,
}

/// What the supervisor tells the rest of the server (hooks, logs).
#[derive(Debug, Clone)]
pub enum Lifecycle {
    Started {
        handle: String,
        port: u16,
        pid: u32,
        start_ms: u64,
    },
    Stopped {
        handle: String,
        reason: StopReason,
        error: Option<String>,
    },
}

/// One user's place.
pub struct Slot {
    handle: String,
    /// The signed SillyTavern session of this user, made once.
    cookie: Arc<str>,
    phase: watch::Sender<Phase>,
    in_flight: AtomicUsize,
    last_used: AtomicI64,
    starts: AtomicU32,
    /// Held while an admin action changes the user's files: no starts.
    holds: AtomicUsize,
    crashes: Mutex<VecDeque<i64>>,
    last_error: Mutex<Option<String>>,
    stop_tx: Mutex<Option<mpsc::UnboundedSender<StopReason>>>,
}

impl Slot {
    fn state(&self) -> State {
        self.phase.borrow().state.clone()
    }

    fn set(&self, state: State, now: i64) {
        self.phase.send_replace(Phase { state, since: now });
    }

    fn set_error(&self, e: Option<String>) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = e;
    }

    fn error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// A request in flight to a process: while any is held, the process is
/// not idle (not culled, not evicted). Dropping it marks the time of use.
pub struct Lease {
    slot: Arc<Slot>,
    clock: Clock,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.slot
            .last_used
            .store(self.clock.now_ms(), Ordering::Relaxed);
        self.slot.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A running process to send a request to.
pub struct Upstream {
    pub port: u16,
    /// The `Cookie` header that signs the user in to it.
    pub cookie: Arc<str>,
    pub lease: Lease,
}

/// While held, the user's process stays stopped (see [`Supervisor::hold`]).
pub struct Hold {
    slot: Arc<Slot>,
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.slot.holds.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A row of the admin view.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessStatus {
    pub handle: String,
    pub state: String,
    pub since: i64,
    pub pid: Option<u32>,
    pub port: Option<u16>,
    pub rss: Option<u64>,
    pub restarts: u32,
    pub last_error: Option<String>,
    pub last_used: i64,
    pub in_flight: usize,
}

pub struct Supervisor {
    pub install: Install,
    pub settings: Settings,
    data_root: PathBuf,
    clock: Clock,
    pub proxy: Proxy,
    /// The install's static files, the same for every user.
    pub public: PublicFiles,
    /// Signs each request's SillyTavern session.
    pub session: StSession,
    watchdog: PathBuf,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    ports: Mutex<HashSet<u16>>,
    events: mpsc::UnboundedSender<Lifecycle>,
    shutting_down: AtomicBool,
}

impl Supervisor {
    pub fn new(
        install: Install,
        session: StSession,
        settings: Settings,
        data_root: PathBuf,
        clock: Clock,
        watchdog: PathBuf,
        events: mpsc::UnboundedSender<Lifecycle>,
    ) -> Arc<Supervisor> {
        Arc::new(Supervisor {
            public: PublicFiles::new(&install.dir),
            install,
            settings,
            data_root,
            clock,
            proxy: Proxy::new(),
            session,
            watchdog,
            slots: Mutex::new(HashMap::new()),
            ports: Mutex::new(HashSet::new()),
            events,
            shutting_down: AtomicBool::new(false),
        })
    }

    fn slot(&self, handle: &str) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots
            .entry(handle.to_string())
            .or_insert_with(|| {
                Arc::new(Slot {
                    handle: handle.to_string(),
                    cookie: self.session.cookie_header(handle).into(),
                    phase: watch::Sender::new(Phase {
                        state: State::Stopped,
                        since: self.clock.now_ms(),
                    }),
                    in_flight: AtomicUsize::new(0),
                    last_used: AtomicI64::new(0),
                    starts: AtomicU32::new(0),
                    holds: AtomicUsize::new(0),
                    crashes: Mutex::new(VecDeque::new()),
                    last_error: Mutex::new(None),
                    stop_tx: Mutex::new(None),
                })
            })
            .clone()
    }

    fn existing(&self, handle: &str) -> Option<Arc<Slot>> {
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(handle)
            .cloned()
    }

    /// The user's running process, starting it if needed. With `wait`
    /// false, a process that is still starting answers `Starting` at once
    /// (page navigations get the "Starting SillyTavern…" page); otherwise
    /// the call waits up to `app.startTimeoutS`.
    pub async fn ensure(self: &Arc<Self>, handle: &str, wait: bool) -> Result<Upstream, HostError> {
        let slot = self.slot(handle);
        let mut rx = slot.phase.subscribe();
        let deadline = tokio::time::Instant::now() + self.settings.start_timeout + STOP_GRACE;
        let mut saw_start = false;
        loop {
            let state = rx.borrow_and_update().state.clone();
            match state {
                State::Running { port, .. } => {
                    // Counted under the table's lock, where the idle check
                    // and eviction decide, so neither stops a process a
                    // request is about to use.
                    {
                        let _table = self.slots.lock().unwrap_or_else(|p| p.into_inner());
                        if slot.state() != state {
                            continue;
                        }
                        slot.in_flight.fetch_add(1, Ordering::AcqRel);
                    }
                    slot.last_used.store(self.clock.now_ms(), Ordering::Relaxed);
                    return Ok(Upstream {
                        port,
                        cookie: slot.cookie.clone(),
                        lease: Lease {
                            slot: slot.clone(),
                            clock: self.clock.clone(),
                        },
                    });
                }
                State::Failed { error } => return Err(HostError::Braked(error)),
                State::Stopped if saw_start => {
                    return Err(HostError::StartFailed(slot.error().unwrap_or_else(|| {
                        "SillyTavern stopped while it was starting".into()
                    })))
                }
                State::Stopped => {
                    self.admit(&slot)?;
                    saw_start = true;
                    continue;
                }
                State::Starting => saw_start = true,
                State::Stopping => {}
            }
            if !wait {
                return Err(HostError::Starting);
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => {
                    return Err(HostError::StartFailed(
                        "SillyTavern did not become ready in time".into(),
                    ))
                }
            }
        }
    }

    /// Starts the user's process in the background (at login, so it is warm
    /// when the page loads). Nothing happens when no place is free.
    pub fn prestart(self: &Arc<Self>, handle: &str) {
        let slot = self.slot(handle);
        if slot.state() == State::Stopped {
            if let Err(e) = self.admit(&slot) {
                tracing::debug!("not starting SillyTavern for {handle} at login: {e}");
            }
        }
    }

    /// Decides, under the table's lock, whether a stopped slot may start
    /// (making room by evicting the least recently used idle process), and
    /// starts it.
    fn admit(self: &Arc<Self>, slot: &Arc<Slot>) -> Result<(), HostError> {
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if self.shutting_down.load(Ordering::Acquire) {
            return Err(HostError::ShuttingDown);
        }
        if slot.holds.load(Ordering::Acquire) > 0 {
            return Err(HostError::Held);
        }
        if slot.state() != State::Stopped {
            return Ok(()); // someone else started it meanwhile
        }
        let active: Vec<&Arc<Slot>> = slots
            .values()
            .filter(|s| matches!(s.state(), State::Starting | State::Running { .. }))
            .collect();
        if active.len() >= self.settings.max_running {
            let victim = active
                .iter()
                .filter(|s| {
                    matches!(s.state(), State::Running { .. })
                        && s.in_flight.load(Ordering::Acquire) == 0
                })
                .min_by_key(|s| s.last_used.load(Ordering::Relaxed));
            match victim {
                Some(v) => {
                    tracing::info!(
                        "stopping SillyTavern of {} (least recently used) to start {}'s",
                        v.handle,
                        slot.handle
                    );
                    self.request_stop(v, StopReason::Evicted);
                }
                None => {
                    return Err(HostError::Busy {
                        max: self.settings.max_running,
                    })
                }
            }
        }
        let now = self.clock.now_ms();
        let (tx, rx) = mpsc::unbounded_channel();
        *slot.stop_tx.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
        slot.starts.fetch_add(1, Ordering::Relaxed);
        slot.last_used.store(now, Ordering::Relaxed);
        slot.set(State::Starting, now);
        drop(slots);
        let me = self.clone();
        let s = slot.clone();
        tokio::spawn(async move { me.run(s, rx).await });
        self.publish();
        Ok(())
    }

    /// Asks a starting or running process to stop; returns at once.
    fn request_stop(&self, slot: &Slot, reason: StopReason) {
        let state = slot.state();
        if !matches!(state, State::Starting | State::Running { .. }) {
            return;
        }
        if let Some(tx) = slot
            .stop_tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let _ = tx.send(reason);
        }
        slot.set(State::Stopping, self.clock.now_ms());
    }

    /// Stops the user's process and waits (bounded) until it has exited.
    pub async fn stop(&self, handle: &str, reason: StopReason) {
        let Some(slot) = self.existing(handle) else {
            return;
        };
        self.request_stop(&slot, reason);
        let mut rx = slot.phase.subscribe();
        let wait = async {
            loop {
                if matches!(
                    rx.borrow_and_update().state,
                    State::Stopped | State::Failed { .. }
                ) {
                    return;
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        };
        if tokio::time::timeout(STOP_GRACE + Duration::from_secs(5), wait)
            .await
            .is_err()
        {
            tracing::warn!("SillyTavern of {handle} did not stop in time");
        }
    }

    /// Stops the user's process and keeps it stopped while the returned
    /// guard lives: for an admin action that changes the user's files
    /// (reset, purge), so no request starts it meanwhile.
    pub async fn hold(&self, handle: &str, reason: StopReason) -> Hold {
        let slot = self.slot(handle);
        {
            // Under the table's lock, where starts are admitted.
            let _table = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            slot.holds.fetch_add(1, Ordering::AcqRel);
        }
        self.stop(handle, reason).await;
        Hold { slot }
    }

    /// Clears a failed process (after crashes) and starts it again.
    pub async fn restart(self: &Arc<Self>, handle: &str) -> Result<(), HostError> {
        let slot = self.slot(handle);
        self.stop(handle, StopReason::Admin).await;
        slot.set_error(None);
        if let State::Failed { .. } = slot.state() {
            slot.crashes
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clear();
            slot.set(State::Stopped, self.clock.now_ms());
        }
        self.ensure(handle, true).await.map(|_| ())
    }

    /// Stops every process whose user no longer may have one.
    pub async fn retain(&self, keep: impl Fn(&str) -> bool) {
        let gone: Vec<String> = self
            .slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .filter(|h| !keep(h))
            .cloned()
            .collect();
        for h in gone {
            self.stop(&h, StopReason::Disabled).await;
        }
    }

    /// Stops processes idle for longer than `app.idleMinutes`. Run every
    /// second; cheap (a walk over the table).
    pub fn cull_idle(&self) {
        let now = self.clock.now_ms();
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        for s in slots.values().filter(|s| {
            matches!(s.state(), State::Running { .. })
                && s.in_flight.load(Ordering::Acquire) == 0
                && now - s.last_used.load(Ordering::Relaxed) >= self.settings.idle_ms
        }) {
            tracing::info!("stopping SillyTavern of {}: idle", s.handle);
            self.request_stop(s, StopReason::Idle);
        }
    }

    /// Stops everything (Innkeeper is shutting down), bounded.
    pub async fn shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
        let handles: Vec<String> = self
            .slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        let stops = handles.iter().map(|h| self.stop(h, StopReason::Shutdown));
        futures_util::future::join_all(stops).await;
    }

    /// Every process the supervisor knows of.
    pub fn status(&self) -> Vec<ProcessStatus> {
        let slots: Vec<Arc<Slot>> = self
            .slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        let mut rows: Vec<ProcessStatus> = slots
            .iter()
            .map(|s| {
                let phase = s.phase.borrow().clone();
                let (pid, port) = match phase.state {
                    State::Running { port, pid } => (Some(pid), Some(port)),
                    _ => (None, None),
                };
                let error = match &phase.state {
                    State::Failed { error } => Some(error.clone()),
                    _ => s.error(),
                };
                ProcessStatus {
                    handle: s.handle.clone(),
                    state: phase.state.name().to_string(),
                    since: phase.since,
                    pid,
                    port,
                    rss: pid.and_then(process::rss_bytes),
                    restarts: s.starts.load(Ordering::Relaxed).saturating_sub(1),
                    last_error: error,
                    last_used: s.last_used.load(Ordering::Relaxed),
                    in_flight: s.in_flight.load(Ordering::Relaxed),
                }
            })
            .collect();
        rows.sort_by(|a, b| a.handle.cmp(&b.handle));
        rows
    }

    /// The state of one user's process ("stopped" when never started).
    pub fn state_of(&self, handle: &str) -> State {
        self.existing(handle)
            .map(|s| s.state())
            .unwrap_or(State::Stopped)
    }

    /// The log file of a user's process.
    pub fn log_path(&self, handle: &str) -> Option<PathBuf> {
        ViewRoot::of(&self.data_root, handle).map(|v| v.log)
    }

    /// Writes the process table to `dataRoot/.app/status.json` for the
    /// console's `innkeeper app status` (a separate process).
    pub fn publish(&self) {
        let file = StatusFile {
            server_pid: std::process::id(),
            written: self.clock.now_ms(),
            version: self.install.version.clone(),
            processes: self.status(),
        };
        let path = status_path(&self.data_root);
        let Ok(text) = serde_json::to_vec_pretty(&file) else {
            return;
        };
        if let Err(e) = crate::userdata::atomic::write_atomic(&path, &text) {
            tracing::debug!("cannot write {}: {e}", path.display());
        }
    }

    /// Carries out stop and restart requests the console left in
    /// `dataRoot/.app/requests/` (`<handle>.stop`, `<handle>.restart`).
    pub async fn take_console_requests(self: &Arc<Self>) {
        let dir = requests_dir(&self.data_root);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let _ = std::fs::remove_file(&path);
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some((handle, action)) = name.rsplit_once('.') else {
                continue;
            };
            if !crate::accounts::handle::is_valid(handle) {
                continue;
            }
            match action {
                "stop" => self.stop(handle, StopReason::Admin).await,
                "restart" => {
                    let me = self.clone();
                    let h = handle.to_string();
                    tokio::spawn(async move {
                        if let Err(e) = me.restart(&h).await {
                            tracing::warn!("restart of {h}'s SillyTavern failed: {e}");
                        }
                    });
                }
                _ => {}
            }
        }
    }

    /// The life of one process, from spawn to exit.
    async fn run(
        self: Arc<Self>,
        slot: Arc<Slot>,
        mut stop_rx: mpsc::UnboundedReceiver<StopReason>,
    ) {
        let begun = std::time::Instant::now();
        let handle = slot.handle.clone();
        let outcome = self.launch(&slot, &mut stop_rx).await;
        let (reason, error) = match outcome {
            Launched::Stopped(reason) => (reason, None),
            Launched::Failed(error) => {
                tracing::warn!("SillyTavern of {handle} failed to start: {error}");
                self.crashed(&slot, error.clone());
                (StopReason::StartFailed, Some(error))
            }
            Launched::Running(mut started, port) => {
                let pid = started.pid;
                slot.set_error(None);
                slot.set(State::Running { port, pid }, self.clock.now_ms());
                self.publish();
                let start_ms = begun.elapsed().as_millis() as u64;
                tracing::info!(
                    "SillyTavern of {handle} is running (pid {pid}, port {port}, ready after {start_ms} ms)"
                );
                let _ = self.events.send(Lifecycle::Started {
                    handle: handle.clone(),
                    port,
                    pid,
                    start_ms,
                });
                let end = tokio::select! {
                    status = started.child.wait() => {
                        let tail = started.output.tail(ERROR_LINES).join("\n");
                        let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                        let error = format!("SillyTavern exited unexpectedly ({status}). Last output:\n{tail}");
                        tracing::warn!("SillyTavern of {handle} crashed: {status}");
                        started.output.line(&format!("--- Innkeeper: the process exited unexpectedly ({status})"));
                        Err(error)
                    }
                    reason = stop_rx.recv() => {
                        let reason = reason.unwrap_or(StopReason::Shutdown);
                        process::terminate(&mut started.child, STOP_GRACE).await;
                        started.output.line(&format!("--- Innkeeper: stopped ({})", reason.as_str()));
                        Ok(reason)
                    }
                };
                self.release_port(port);
                match end {
                    Ok(reason) => (reason, None),
                    Err(error) => {
                        self.crashed(&slot, error.clone());
                        (StopReason::Crashed, Some(error))
                    }
                }
            }
        };
        if let Some(view) = ViewRoot::of(&self.data_root, &handle) {
            let _ = std::fs::remove_file(&view.pid_file);
        }
        *slot.stop_tx.lock().unwrap_or_else(|p| p.into_inner()) = None;
        if !matches!(slot.state(), State::Failed { .. }) {
            slot.set(State::Stopped, self.clock.now_ms());
        }
        self.publish();
        tracing::info!("SillyTavern of {handle} stopped ({})", reason.as_str());
        let _ = self.events.send(Lifecycle::Stopped {
            handle,
            reason,
            error,
        });
    }

    /// Prepares the view root, spawns the process and waits until it
    /// answers HTTP, is asked to stop, exits, or runs out of time.
    async fn launch(
        &self,
        slot: &Slot,
        stop_rx: &mut mpsc::UnboundedReceiver<StopReason>,
    ) -> Launched {
        let root = self.data_root.clone();
        let h = slot.handle.clone();
        let view = match tokio::task::spawn_blocking(move || ViewRoot::prepare(&root, &h)).await {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => return Launched::Failed(format!("cannot prepare its view root: {e}")),
            Err(e) => return Launched::Failed(e.to_string()),
        };
        let deadline = tokio::time::Instant::now() + self.settings.start_timeout;
        for attempt in 1..=PORT_ATTEMPTS {
            let port = match self.take_port() {
                Ok(p) => p,
                Err(e) => return Launched::Failed(e.to_string()),
            };
            let launch = Launch {
                install: &self.install,
                view: &view,
                port,
                memory_mb: self.settings.memory_mb,
                watchdog: &self.watchdog,
            };
            let mut started = match process::spawn(&launch) {
                Ok(s) => s,
                Err(e) => {
                    self.release_port(port);
                    return Launched::Failed(format!("cannot run {}: {e}", self.install.node));
                }
            };
            let mut tick = tokio::time::interval(Duration::from_millis(25));
            let ready = loop {
                tokio::select! {
                    _ = tick.tick() => {
                        // The answer must come from this process's own
                        // socket (see hosting::listener); `/proc` unread
                        // leaves the answer alone to decide.
                        if self.proxy.probe(port).await
                            && listener::owner(started.pid, port) != listener::Owner::Other
                        {
                            break Ok(());
                        }
                    }
                    status = started.child.wait() => {
                        let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                        break Err(Some(status));
                    }
                    reason = stop_rx.recv() => {
                        process::terminate(&mut started.child, STOP_GRACE).await;
                        self.release_port(port);
                        return Launched::Stopped(reason.unwrap_or(StopReason::Shutdown));
                    }
                    _ = tokio::time::sleep_until(deadline) => break Err(None),
                }
            };
            match ready {
                Ok(()) => return Launched::Running(Box::new(started), port),
                Err(exit) => {
                    self.release_port(port);
                    // Output pumps may lag the exit by a moment.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    if exit.is_some() && started.output.saw("EADDRINUSE") && attempt < PORT_ATTEMPTS
                    {
                        tracing::info!("port {port} was taken meanwhile; trying another");
                        continue;
                    }
                    let what = match exit {
                        Some(status) => format!("SillyTavern exited before it answered ({status})"),
                        None => {
                            process::terminate(&mut started.child, Duration::ZERO).await;
                            format!(
                                "SillyTavern did not answer within {} s",
                                self.settings.start_timeout.as_secs()
                            )
                        }
                    };
                    started.output.line(&format!("--- Innkeeper: {what}"));
                    let tail = started.output.tail(ERROR_LINES).join("\n");
                    return Launched::Failed(format!("{what}. Last output:\n{tail}"));
                }
            }
        }
        Launched::Failed("no free port".into())
    }

    /// Records a crash; the third within a minute puts the slot in Failed.
    fn crashed(&self, slot: &Slot, error: String) {
        let now = self.clock.now_ms();
        let mut crashes = slot.crashes.lock().unwrap_or_else(|p| p.into_inner());
        crashes.push_back(now);
        while crashes.front().is_some_and(|t| now - t > CRASH_WINDOW_MS) {
            crashes.pop_front();
        }
        if crashes.len() >= CRASH_BRAKE {
            let error = format!(
                "SillyTavern of {} failed {} times within a minute; an admin must restart it. {error}",
                slot.handle,
                crashes.len()
            );
            slot.set_error(Some(error.clone()));
            slot.set(State::Failed { error }, now);
        } else {
            slot.set_error(Some(error));
        }
    }

    fn take_port(&self) -> std::io::Result<u16> {
        let mut ports = self.ports.lock().unwrap_or_else(|p| p.into_inner());
        let port = process::free_port(&ports)?;
        ports.insert(port);
        Ok(port)
    }

    fn release_port(&self, port: u16) {
        self.ports
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&port);
    }
}

enum Launched {
    Running(Box<process::Started>, u16),
    Stopped(StopReason),
    Failed(String),
}

/// `dataRoot/.app/status.json`, read by `innkeeper app status`.
#[derive(Debug, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusFile {
    pub server_pid: u32,
    pub written: i64,
    pub version: String,
    pub processes: Vec<ProcessStatus>,
}

pub fn status_path(data_root: &Path) -> PathBuf {
    data_root.join(APP_DIR).join("status.json")
}

pub fn requests_dir(data_root: &Path) -> PathBuf {
    data_root.join(APP_DIR).join("requests")
}
