//! The real `innkeeper` binary as a child process over a temp data root:
//! start it, read its URL line, kill it (SIGKILL) or stop it (SIGTERM).
//! Used by the tests that must see the process itself: crashes, memory.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_innkeeper");

/// Cheap hashes, any free port, the data root next to the config.
pub const FAST_CONFIG: &str = "port: 0\ndataRoot: data\npasswordHash:\n  logN: 4\n  r: 8\n  p: 1\n";

pub struct ChildServer {
    pub child: Child,
    /// `http://127.0.0.1:PORT` without a trailing slash.
    pub base: String,
    /// Every line the process printed (stdout and stderr).
    pub lines: Arc<Mutex<Vec<String>>>,
}

/// Runs a console command of the binary in `dir` to completion.
pub fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .output()
        .expect("binary runs")
}

fn drain(
    stream: impl std::io::Read + Send + 'static,
    lines: Arc<Mutex<Vec<String>>>,
    url: Option<std::sync::mpsc::Sender<String>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if let (Some(tx), Some(u)) = (&url, line.strip_prefix("Innkeeper is listening on ")) {
                let _ = tx.send(u.trim_end_matches('/').to_string());
            }
            lines.lock().unwrap().push(line);
        }
    });
}

impl ChildServer {
    /// Starts `innkeeper` in `dir` (which holds config.yaml) and waits,
    /// bounded, for its URL line. Err with everything it printed otherwise.
    pub fn start(dir: &Path) -> Result<ChildServer, String> {
        Self::start_with(dir, &[])
    }

    /// [`ChildServer::start`] with command-line arguments.
    pub fn start_with(dir: &Path, args: &[&str]) -> Result<ChildServer, String> {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(dir).args(args);
        Self::start_command(cmd)
    }

    /// Starts a prepared command that runs the server (under `chroot`,
    /// say) and waits, bounded, for its URL line.
    pub fn start_command(mut cmd: Command) -> Result<ChildServer, String> {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("spawn: {e}"))?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        drain(
            child.stdout.take().expect("stdout"),
            lines.clone(),
            Some(tx),
        );
        drain(child.stderr.take().expect("stderr"), lines.clone(), None);
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(base) => Ok(ChildServer { child, base, lines }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                Err(format!(
                    "the server did not start:\n{}",
                    lines.lock().unwrap().join("\n")
                ))
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGKILL, and reap the process.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, waiting (bounded) for the exit; SIGKILL past the bound.
    pub fn stop(mut self) -> Option<ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        None
    }

    /// Resident memory of the process in KiB (VmRSS in /proc).
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    pub fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

/// Logs in over HTTP as a fresh browser would (CSRF token, then login) and
/// returns the status. `base` has no trailing slash.
pub async fn http_login(base: &str, handle: &str, password: &str) -> reqwest::StatusCode {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let token: serde_json::Value = client
        .get(format!("{base}/csrf-token"))
        .send()
        .await
        .expect("csrf request")
        .json()
        .await
        .expect("csrf json");
    client
        .post(format!("{base}/api/users/login"))
        .header("X-CSRF-Token", token["token"].as_str().unwrap_or_default())
        .json(&serde_json::json!({ "handle": handle, "password": password }))
        .send()
        .await
        .expect("login request")
        .status()
}
