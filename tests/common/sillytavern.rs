//! The real SillyTavern 1.12.6 for the hosting tests: the installed copy
//! tests/run.sh unpacks from ../shared/sillytavern/ and `npm ci`s into
//! target/sillytavern/ (or the folder named by INNKEEPER_SILLYTAVERN).
//! A missing install fails the test with what to run; nothing is skipped.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use innkeeper::config::Config;
use serde_json::{json, Value};

use super::{Client, Server};

/// The installed SillyTavern.
pub fn install() -> PathBuf {
    let dir = std::env::var_os("INNKEEPER_SILLYTAVERN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/sillytavern/SillyTavern-1.12.6")
        });
    assert!(
        dir.join("server.js").is_file() && dir.join("node_modules").is_dir(),
        "SillyTavern 1.12.6 is not installed at {}: run tests/run.sh once \
         (it unpacks ../shared/sillytavern/ and runs npm ci)",
        dir.display()
    );
    dir
}

/// Hosting on, with the shared install.
pub fn hosted(c: &mut Config) {
    c.app.sillytavern.dir = install();
}

impl Server {
    /// A server hosting SillyTavern; `tweak` adjusts the config after.
    pub async fn hosted(tweak: impl FnOnce(&mut Config)) -> Server {
        Server::start_with(|c| {
            hosted(c);
            tweak(c);
        })
        .await
    }

    /// The supervisor's row for `handle` (state "stopped" when it has none).
    pub fn process(&self, handle: &str) -> Value {
        let sup = self.app.hosting().expect("hosting attached");
        sup.status()
            .into_iter()
            .find(|p| p.handle == handle)
            .map(|p| serde_json::to_value(p).expect("row"))
            .unwrap_or_else(|| json!({ "handle": handle, "state": "stopped" }))
    }

    /// Waits (bounded) until `handle`'s process is in `state`.
    pub async fn wait_state(&self, handle: &str, state: &str, within: Duration) -> Value {
        let end = Instant::now() + within;
        loop {
            let p = self.process(handle);
            if p["state"] == state {
                return p;
            }
            assert!(
                Instant::now() < end,
                "{handle}'s process is not {state} after {within:?}: {p}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The pid of `handle`'s running process.
    pub fn pid(&self, handle: &str) -> u32 {
        let p = self.process(handle);
        p["pid"]
            .as_u64()
            .unwrap_or_else(|| panic!("{handle} has no running process: {p}")) as u32
    }
}

/// True while a process with this pid exists (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Waits (bounded) until the pid is gone.
pub async fn wait_gone(pid: u32, within: Duration) {
    let end = Instant::now() + within;
    while alive(pid) {
        assert!(
            Instant::now() < end,
            "process {pid} still runs after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

impl Client {
    /// A proxied SillyTavern API call (POST JSON with the CSRF token),
    /// read whole.
    pub async fn st(&mut self, path: &str, body: Value) -> super::Answer {
        self.send(path, body, &[]).await
    }

    /// Creates a character through SillyTavern's own API; returns the
    /// avatar file name SillyTavern chose.
    pub async fn create_character(&mut self, name: &str) -> String {
        // SillyTavern takes this route as a form (the frontend sends multipart).
        let form = format!(
            "ch_name={n}&description={n}%20for%20a%20test&first_mes=Hello&fav=false",
            n = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC)
        );
        let a = self
            .post_body(
                "/api/characters/create",
                "application/x-www-form-urlencoded",
                form.into_bytes(),
            )
            .await;
        assert_eq!(a.status, 200, "create {name}: {}", a.body);
        a.body.as_str().unwrap_or_default().trim().to_string()
    }

    /// The names of the characters SillyTavern lists for this user.
    pub async fn character_names(&mut self) -> Vec<String> {
        let a = self.st("/api/characters/all", json!({})).await;
        assert_eq!(a.status, 200, "characters/all: {}", a.body);
        a.body
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|c| c["name"].as_str().map(str::to_string))
            .collect()
    }
}
