//! Test harness: a real server on 127.0.0.1:0 over a temp data root with a
//! real SQLite file, and a cookie-keeping client that handles CSRF tokens.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use innkeeper::app::App;
use innkeeper::clock::Clock;
use innkeeper::config::{self, Config};
use innkeeper::console::Console;
use reqwest::StatusCode;
use serde_json::{json, Value};

pub struct Server {
    pub app: Arc<App>,
    pub base: String,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Config for tests: a temp data root and cheap scrypt parameters.
pub fn test_config(dir: &std::path::Path) -> Config {
    let (mut c, _) = config::parse("").expect("defaults parse");
    c.data_root = dir.join("data");
    c.hooks.dir = dir.join("scripts");
    c.password_hash.log_n = 4;
    c.password_hash.r = 8;
    c.password_hash.p = 1;
    c
}

impl Server {
    pub async fn start() -> Server {
        Self::start_with(|_| {}).await
    }

    /// Starts a server after `tweak` adjusts the config.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut c = test_config(dir.path());
        tweak(&mut c);
        Self::start_in(dir, c).await
    }

    pub async fn start_in(dir: tempfile::TempDir, c: Config) -> Server {
        let app = App::open(c, Clock::default(), Console::capturing()).expect("app opens");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(innkeeper::serve(app.clone(), listener, async move {
            let _ = rx.await;
        }));
        Server {
            app,
            base,
            dir,
            stop: Some(tx),
            task: Some(task),
        }
    }

    pub fn data_root(&self) -> PathBuf {
        self.app.data_root.clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A new client with its own cookie jar.
    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// A client logged in as `handle`.
    pub async fn login(&self, handle: &str, password: &str) -> Client {
        let mut c = self.client();
        let (status, body) = c.post("/api/users/login", json!({ "handle": handle, "password": password })).await;
        assert_eq!(status, StatusCode::OK, "login {handle}: {body}");
        c
    }

    /// Creates a user through the console path (no HTTP).
    pub async fn create_user(&self, handle: &str, password: Option<&str>, admin: bool) {
        self.app
            .create_user(
                &innkeeper::app::Actor::console(),
                innkeeper::accounts::service::NewUser {
                    handle: handle.into(),
                    name: format!("{handle} name"),
                    password: password.map(str::to_string),
                    admin,
                },
            )
            .await
            .expect("user created");
    }

    /// The last console line containing `needle`.
    pub fn console_line(&self, needle: &str) -> Option<String> {
        self.app
            .console
            .lines()
            .into_iter()
            .rev()
            .find(|l| l.contains(needle))
    }

    /// The most recent code printed for `handle` ("Password recovery code: 0427 (for …)").
    pub fn last_code(&self, kind: &str, handle: &str) -> String {
        let line = self
            .console_line(&format!(", {handle})"))
            .filter(|l| l.starts_with(kind))
            .unwrap_or_else(|| panic!("no {kind} line for {handle}"));
        line.split_whitespace().nth(3).expect("code word").to_string()
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub token: Option<String>,
}

impl Client {
    pub fn new(base: &str) -> Client {
        Client {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: base.to_string(),
            token: None,
        }
    }

    pub async fn refresh_token(&mut self) -> String {
        let v: Value = self
            .http
            .get(format!("{}/csrf-token", self.base))
            .send()
            .await
            .expect("csrf request")
            .json()
            .await
            .expect("csrf json");
        let t = v["token"].as_str().expect("token").to_string();
        self.token = Some(t.clone());
        t
    }

    /// POSTs JSON with the CSRF token (fetched on first use, and again
    /// after a login or logout since the session changes).
    pub async fn post(&mut self, path: &str, body: Value) -> (StatusCode, Value) {
        let resp = self.post_raw(path, body).await;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status.is_success() && (path.ends_with("/login") || path.ends_with("/logout")) {
            self.token = None;
        }
        (status, value)
    }

    pub async fn post_raw(&mut self, path: &str, body: Value) -> reqwest::Response {
        if self.token.is_none() {
            self.refresh_token().await;
        }
        self.http
            .post(format!("{}{}", self.base, path))
            .header("X-CSRF-Token", self.token.clone().unwrap_or_default())
            .json(&body)
            .send()
            .await
            .expect("post")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{}", self.base, path))
            .send()
            .await
            .expect("get")
    }
}
