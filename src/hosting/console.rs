//! `innkeeper app status|stop|restart`: the hosted processes from the
//! console. The server publishes its process table in
//! `dataRoot/.app/status.json`; stop and restart are left as request files
//! in `dataRoot/.app/requests/`, which the running server carries out
//! within a second. With no server running, `stop` ends a process a killed
//! server left behind, by its pid file.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::process;
use super::supervisor::{requests_dir, status_path, ProcessStatus, StatusFile};
use crate::accounts::handle;

/// How long the console waits for the server to carry out a request.
const WAIT: Duration = Duration::from_secs(30);

/// The status file, when a server that is still running wrote it.
fn live_status(data_root: &Path) -> Option<StatusFile> {
    let file: StatusFile =
        serde_json::from_slice(&std::fs::read(status_path(data_root)).ok()?).ok()?;
    server_alive(file.server_pid).then_some(file)
}

/// True when `pid` runs this same program (a reused pid does not count).
fn server_alive(pid: u32) -> bool {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
    let me = std::env::current_exe().ok();
    exe.is_some() && exe.map(strip_deleted) == me.map(strip_deleted)
}

/// A binary replaced on disk shows as "<path> (deleted)".
fn strip_deleted(p: PathBuf) -> PathBuf {
    let text = p.to_string_lossy();
    PathBuf::from(text.trim_end_matches(" (deleted)"))
}

/// The table `innkeeper app status` prints.
pub fn status(data_root: &Path) -> Result<String, String> {
    let data_root = absolute(data_root)?;
    let Some(file) = live_status(&data_root) else {
        return Ok(
            "Innkeeper is not running with a hosted SillyTavern, so no process runs.\n\
                   (Set app.sillytavern.dir in config.yaml and start the server.)\n"
                .into(),
        );
    };
    let now = chrono::Utc::now().timestamp_millis();
    let mut out = format!(
        "SillyTavern {} hosted by Innkeeper (pid {}).\n{:<24} {:<9} {:>9} {:>8} {:>9} {:>8}  LAST ERROR\n",
        file.version, file.server_pid, "HANDLE", "STATE", "SINCE", "PID", "RSS", "RESTARTS"
    );
    if file.processes.is_empty() {
        out.push_str("(no process has been started yet)\n");
    }
    for p in &file.processes {
        out.push_str(&row(p, now));
    }
    Ok(out)
}

fn row(p: &ProcessStatus, now: i64) -> String {
    let rss = p
        .pid
        .and_then(process::rss_bytes)
        .or(p.rss)
        .map(|b| format!("{:.0} MiB", b as f64 / 1_048_576.0))
        .unwrap_or_else(|| "-".into());
    let error = p
        .last_error
        .as_deref()
        .and_then(|e| e.lines().next())
        .unwrap_or("");
    format!(
        "{:<24} {:<9} {:>9} {:>8} {:>9} {:>8}  {}\n",
        p.handle,
        p.state,
        ago(now - p.since),
        p.pid.map(|x| x.to_string()).unwrap_or_else(|| "-".into()),
        rss,
        p.restarts,
        error
    )
}

fn ago(ms: i64) -> String {
    let s = (ms / 1000).max(0);
    match s {
        0..=119 => format!("{s}s ago"),
        120..=7199 => format!("{}m ago", s / 60),
        _ => format!("{}h ago", s / 3600),
    }
}

/// Stops a user's process; returns what happened.
pub async fn stop(data_root: &Path, h: &str) -> Result<String, String> {
    let data_root = absolute(data_root)?;
    if !handle::is_valid(h) {
        return Err(format!("'{h}' is not a valid handle"));
    }
    if live_status(&data_root).is_none() {
        // No server: a process a killed server left behind, if any.
        let ended = process::end_orphans(&data_root).await;
        return Ok(if ended > 0 {
            format!("Innkeeper is not running; ended {ended} SillyTavern process(es) it had left behind.")
        } else {
            format!("No SillyTavern process runs for '{h}'.")
        });
    }
    request(&data_root, h, "stop")?;
    wait_for(&data_root, h, &["stopped", "failed"]).await?;
    Ok(format!("Stopped the SillyTavern of '{h}'."))
}

/// Restarts a user's process (also one that failed too often).
pub async fn restart(data_root: &Path, h: &str) -> Result<String, String> {
    let data_root = absolute(data_root)?;
    if !handle::is_valid(h) {
        return Err(format!("'{h}' is not a valid handle"));
    }
    if live_status(&data_root).is_none() {
        return Err(
            "Innkeeper is not running with a hosted SillyTavern: start it; a process starts \
             at its user's next request"
                .into(),
        );
    }
    request(&data_root, h, "restart")?;
    wait_for(&data_root, h, &["running"]).await?;
    Ok(format!("Restarted the SillyTavern of '{h}'."))
}

fn request(data_root: &Path, h: &str, action: &str) -> Result<(), String> {
    let dir = requests_dir(data_root);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot write to {}: {e}", dir.display()))?;
    let path = dir.join(format!("{h}.{action}"));
    crate::userdata::atomic::write_atomic(&path, b"")
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Waits (bounded) until the server reports `h` in one of `states`; a
/// request the server has not picked up in time is withdrawn.
async fn wait_for(data_root: &Path, h: &str, states: &[&str]) -> Result<(), String> {
    let end = Instant::now() + WAIT;
    let mut taken = false;
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let pending = std::fs::read_dir(requests_dir(data_root))
            .map(|d| {
                d.flatten().any(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with(&format!("{h}."))
                })
            })
            .unwrap_or(false);
        taken |= !pending;
        if !taken {
            continue;
        }
        let state = live_status(data_root).and_then(|f| {
            f.processes
                .into_iter()
                .find(|p| p.handle == h)
                .map(|p| (p.state, p.last_error))
        });
        match state {
            Some((s, _)) if states.contains(&s.as_str()) => return Ok(()),
            Some((s, Some(e)))
                if (s == "failed" || s == "stopped") && states.contains(&"running") =>
            {
                return Err(format!("the SillyTavern of '{h}' did not start: {e}"));
            }
            None if states.contains(&"stopped") => return Ok(()),
            _ => {}
        }
    }
    for action in ["stop", "restart"] {
        let _ = std::fs::remove_file(requests_dir(data_root).join(format!("{h}.{action}")));
    }
    Err(format!(
        "the server did not report '{h}' as {} within {} s",
        states.join(" or "),
        WAIT.as_secs()
    ))
}

fn absolute(p: &Path) -> Result<PathBuf, String> {
    std::path::absolute(p).map_err(|e| format!("{}: {e}", p.display()))
}
