//! One SillyTavern process as the operating system sees it: the command
//! line (flags win over the install's config.yaml), a loopback port, the
//! pid file, a polite stop (SIGTERM, then SIGKILL after a grace period),
//! the clean-up of processes a killed Innkeeper left behind, and RSS.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

use super::install::Install;
use super::output::{self, Output};
use super::view_root::{ViewRoot, APP_DIR, PID_FILE};

/// A process gets this long to exit after SIGTERM (SPEC §11).
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// Loaded with `node --require` before server.js: when Innkeeper's end of
/// the process's stdin closes (Innkeeper exited, even by SIGKILL), the
/// process asks itself to stop. The pid files cover what this cannot.
pub const WATCHDOG_JS: &str = include_str!("watchdog.js");
/// Its file name under `dataRoot/.app/`.
pub const WATCHDOG_FILE: &str = "innkeeper-watchdog.js";

/// Everything a start needs.
pub struct Launch<'a> {
    pub install: &'a Install,
    pub view: &'a ViewRoot,
    pub port: u16,
    pub memory_mb: u64,
    pub watchdog: &'a Path,
}

/// A started process with its output being logged.
pub struct Started {
    pub child: Child,
    pub pid: u32,
    pub output: Arc<Output>,
    /// Our end of the process's stdin, held for the watchdog (taken out
    /// of `child`, whose `wait` would close it).
    _stdin: Option<tokio::process::ChildStdin>,
}

/// Starts `node server.js` for one view root.
pub fn spawn(l: &Launch<'_>) -> std::io::Result<Started> {
    let mut cmd = Command::new(&l.install.node);
    if l.memory_mb > 0 {
        cmd.arg(format!("--max-old-space-size={}", l.memory_mb));
    }
    cmd.arg("--require")
        .arg(l.watchdog)
        .arg("server.js")
        .args(["--port", &l.port.to_string()])
        .args(["--listen", "false"])
        .arg("--dataRoot")
        .arg(&l.view.root)
        .arg("--disableCsrf")
        .args(["--autorun", "false"])
        // One loopback stack, no IP or basic-auth checks of its own:
        // Innkeeper did those, and the install's config.yaml may say
        // otherwise for its own use.
        .args(["--enableIPv4", "true", "--enableIPv6", "false"])
        .args(["--whitelist", "false", "--basicAuthMode", "false"])
        .current_dir(&l.install.dir)
        .env("NODE_ENV", "production")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    crate::allocator::restore_for_child(&mut cmd);
    let mut child = cmd.spawn()?;
    let pid = child
        .id()
        .ok_or_else(|| std::io::Error::other("the process ended at once"))?;
    crate::userdata::atomic::write_atomic(&l.view.pid_file, pid.to_string().as_bytes())?;
    let out = Output::open(&l.view.log);
    out.line(&format!(
        "--- Innkeeper: started SillyTavern {} (pid {pid}, port {})",
        l.install.version, l.port
    ));
    if let Some(s) = child.stdout.take() {
        output::pump(s, out.clone());
    }
    if let Some(s) = child.stderr.take() {
        output::pump(s, out.clone());
    }
    let stdin = child.stdin.take();
    Ok(Started {
        child,
        pid,
        output: out,
        _stdin: stdin,
    })
}

/// A free loopback port, not one of `taken`. The port is released before
/// SillyTavern binds it (it cannot be handed a socket); a start that meets
/// EADDRINUSE is retried on another port, and until then an answer on the
/// port counts only from the process's own socket (hosting::listener).
pub fn free_port(taken: &std::collections::HashSet<u16>) -> std::io::Result<u16> {
    for _ in 0..64 {
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))?
            .local_addr()?
            .port();
        if !taken.contains(&port) {
            return Ok(port);
        }
    }
    Err(std::io::Error::other("no free loopback port"))
}

/// SIGTERM, then SIGKILL when the process has not exited after `grace`.
pub async fn terminate(child: &mut Child, grace: Duration) -> Option<std::process::ExitStatus> {
    if let Some(pid) = child.id() {
        let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
        if let Ok(status) = tokio::time::timeout(grace, child.wait()).await {
            return status.ok();
        }
        tracing::warn!("SillyTavern process {pid} ignored SIGTERM for {grace:?}: killing it");
    }
    let _ = child.kill().await;
    child.wait().await.ok()
}

/// Ends the processes a previous Innkeeper left running (it was killed
/// before it could stop them): every pid file under `dataRoot/.app/` whose
/// process is still a node started on that view root. Returns how many.
pub async fn end_orphans(data_root: &Path) -> usize {
    let apps = data_root.join(APP_DIR);
    let Ok(entries) = std::fs::read_dir(&apps) else {
        return 0;
    };
    let mut ended = 0;
    let mut waiting = Vec::new();
    for entry in entries.flatten() {
        let view = entry.path();
        let pid_file = view.join(PID_FILE);
        let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok())
        else {
            continue;
        };
        if is_ours(pid, &view) {
            tracing::warn!(
                "ending SillyTavern process {pid} left running by an earlier Innkeeper ({})",
                view.display()
            );
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            waiting.push(pid);
            ended += 1;
        }
        let _ = std::fs::remove_file(&pid_file);
    }
    let deadline = tokio::time::Instant::now() + STOP_GRACE;
    while !waiting.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waiting.retain(|pid| alive(*pid));
    }
    for pid in waiting {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    ended
}

/// True when `pid` runs a command line that names `view` (its
/// `--dataRoot`): a reused pid belongs to someone else and is left alone.
pub fn is_ours(pid: i32, view: &Path) -> bool {
    let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let want = view.as_os_str().as_encoded_bytes();
    raw.split(|b| *b == 0).any(|arg| arg == want)
}

fn alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists() && !is_zombie(pid)
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// Resident memory of a process in bytes (Linux).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Writes the watchdog next to the view roots; returns its path.
pub fn install_watchdog(data_root: &Path) -> std::io::Result<PathBuf> {
    let path = data_root.join(APP_DIR).join(WATCHDOG_FILE);
    std::fs::create_dir_all(data_root.join(APP_DIR))?;
    if std::fs::read_to_string(&path).ok().as_deref() != Some(WATCHDOG_JS) {
        crate::userdata::atomic::write_atomic(&path, WATCHDOG_JS.as_bytes())?;
    }
    Ok(path)
}
