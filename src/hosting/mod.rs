//! Hosting the real SillyTavern (SPEC §11), JupyterHub's model: Innkeeper
//! is the hub (accounts, sessions, limits), [`supervisor`] the spawner (one
//! process per logged-in user, on that user's own [`view_root`]) and
//! [`proxy`] the proxy (each user's requests, signed with the session
//! SillyTavern expects — [`st_session`] — to their own process only).
//! [`install`] checks and prepares the installed SillyTavern; [`routes`]
//! says which paths Innkeeper keeps answering itself, and [`public_files`]
//! answers SillyTavern's static files without a hop through a process.

pub mod console;
pub mod install;
pub mod listener;
pub mod output;
pub mod process;
pub mod proxy;
pub mod public_files;
pub mod routes;
pub mod st_session;
pub mod supervisor;
pub mod view_root;

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::app::{Actor, App};
use crate::fields;
use crate::hooks::EventKind;
use install::{Install, InstallError};
use supervisor::{Lifecycle, Settings, Supervisor};

/// Seconds a client is told to wait when every place is taken.
pub const BUSY_RETRY_AFTER_S: u64 = 10;

/// Why a request cannot reach its user's process.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("SillyTavern is starting")]
    Starting,
    #[error("All {max} SillyTavern places on this server are in use; try again in a minute")]
    Busy { max: usize },
    #[error("{0}")]
    StartFailed(String),
    #[error("{0}")]
    Braked(String),
    #[error("SillyTavern is paused for this account while its data changes; try again shortly")]
    Held,
    #[error("Innkeeper is shutting down")]
    ShuttingDown,
    #[error("SillyTavern did not answer: {0}")]
    Upstream(String),
    #[error("Request body is too large (limit {limit} bytes)")]
    TooLarge { limit: u64 },
}

/// Starts hosting for a server about to listen: first ends any process an
/// earlier Innkeeper left running (it was killed), then — when
/// `app.sillytavern.dir` is set — checks the install and attaches the
/// supervisor with its idle check and its lifecycle hooks. Console
/// commands never call this.
pub async fn attach(app: &Arc<App>) -> Result<(), InstallError> {
    // Processes run in the install's folder: every path they get is absolute.
    let data_root = std::path::absolute(&app.data_root).map_err(|e| InstallError::Config {
        path: app.data_root.clone(),
        reason: e.to_string(),
    })?;
    let ended = process::end_orphans(&data_root).await;
    if ended > 0 {
        tracing::warn!("ended {ended} SillyTavern process(es) left by an earlier Innkeeper");
    }
    let c = &app.config.app;
    if !c.enabled() {
        if let Some(found) = install::found_beside(&app.config.base_dir) {
            tracing::warn!(
                "found SillyTavern in {}: set app.sillytavern.dir to host it",
                found.display()
            );
        }
        return Ok(());
    }
    let prepared = {
        let c = c.clone();
        tokio::task::spawn_blocking(move || Install::prepare(&c))
            .await
            .map_err(|e| InstallError::Config {
                path: Default::default(),
                reason: e.to_string(),
            })??
    };
    let watchdog = process::install_watchdog(&data_root).map_err(|e| InstallError::Config {
        path: data_root.clone(),
        reason: format!("cannot write the process watchdog: {e}"),
    })?;
    tracing::info!(
        "hosting SillyTavern {} from {} with Node.js {}",
        prepared.version,
        prepared.dir.display(),
        prepared.node_version
    );
    let settings = Settings {
        idle_ms: c.idle_minutes as i64 * 60_000,
        max_running: c.max_running,
        start_timeout: Duration::from_secs(c.start_timeout_s),
        memory_mb: c.memory_mb,
    };
    let hostname = st_session::machine_hostname().map_err(|e| InstallError::Config {
        path: "/proc/sys/kernel/hostname".into(),
        reason: format!(
            "cannot read the host name SillyTavern's session cookie is named after: {e}"
        ),
    })?;
    let session = st_session::StSession::new(&hostname, &prepared.cookie_secret);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let supervisor = Supervisor::new(
        prepared,
        session,
        settings,
        data_root,
        app.clock.clone(),
        watchdog,
        tx,
    );
    if app.hosting.set(supervisor.clone()).is_err() {
        return Ok(()); // attached already
    }
    supervisor.publish();
    tokio::spawn(report_lifecycle(Arc::downgrade(app), rx));
    tokio::spawn(watch_idle(Arc::downgrade(&supervisor)));
    Ok(())
}

/// Once a second: stops idle processes and takes the console's requests.
async fn watch_idle(supervisor: Weak<Supervisor>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let Some(s) = supervisor.upgrade() else {
            return;
        };
        s.cull_idle();
        s.take_console_requests().await;
    }
}

/// Hands process starts and stops to the hook scripts.
async fn report_lifecycle(app: Weak<App>, mut rx: tokio::sync::mpsc::UnboundedReceiver<Lifecycle>) {
    while let Some(event) = rx.recv().await {
        let Some(app) = app.upgrade() else {
            return;
        };
        let actor = Actor::console();
        match event {
            Lifecycle::Started {
                handle,
                port,
                pid,
                start_ms,
            } => {
                app.hook_after(
                    EventKind::AppStarted,
                    Some(&handle),
                    &actor,
                    fields! { "handle" => handle, "port" => port, "pid" => pid, "startMs" => start_ms },
                )
                .await
            }
            Lifecycle::Stopped {
                handle,
                reason,
                error,
            } => {
                app.hook_after(
                    EventKind::AppStopped,
                    Some(&handle),
                    &actor,
                    fields! { "handle" => handle, "reason" => reason.as_str(), "error" => error },
                )
                .await
            }
        }
    }
}
