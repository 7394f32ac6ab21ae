//! Test harness: a real server on 127.0.0.1:0 over a temp data root with a
//! real SQLite file, and a cookie-keeping client that handles CSRF tokens.
#![allow(dead_code)]

pub mod llm;
pub mod sillytavern;

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
        app.repair(std::time::SystemTime::now())
            .expect("data root repaired");
        innkeeper::hosting::attach(&app)
            .await
            .expect("the hosted app's install is usable");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
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
        let (status, body) = c
            .post(
                "/api/users/login",
                json!({ "handle": handle, "password": password }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login {handle}: {body}");
        c
    }

    /// Creates a user through the console path (no HTTP).
    pub async fn create_user(&self, handle: &str, password: Option<&str>, admin: bool) {
        self.app
            .accounts()
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
        line.split_whitespace()
            .nth(3)
            .expect("code word")
            .to_string()
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        if let Some(h) = self.app.hosting() {
            h.shutdown().await;
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

/// A response read whole: status, headers and the body as JSON (or, when
/// it is not JSON, as a JSON string).
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub async fn read(resp: reqwest::Response) -> Answer {
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `error` text of a JSON error body.
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }

    /// The session cookie value set by this response, if any.
    pub fn session_cookie(&self) -> Option<String> {
        session_cookie_in(&self.headers)
    }

    /// The whole `Set-Cookie` line of the session cookie.
    pub fn session_cookie_line(&self) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|l| l.starts_with("innkeeper_sid="))
            .map(str::to_string)
    }
}

/// The value of the `innkeeper_sid` cookie set in `headers`.
pub fn session_cookie_in(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|l| l.strip_prefix("innkeeper_sid="))
        .map(|rest| rest.split(';').next().unwrap_or("").to_string())
        .find(|v| !v.is_empty())
}

impl Client {
    /// POSTs JSON with the CSRF token and extra headers, keeping the
    /// response's headers.
    pub async fn send(&mut self, path: &str, body: Value, extra: &[(&str, &str)]) -> Answer {
        if self.token.is_none() {
            self.refresh_token().await;
        }
        let mut req = self
            .http
            .post(format!("{}{}", self.base, path))
            .header("X-CSRF-Token", self.token.clone().unwrap_or_default())
            .json(&body);
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let a = Answer::read(req.send().await.expect("post")).await;
        if a.status.is_success() && (path.ends_with("/login") || path.ends_with("/logout")) {
            self.token = None;
        }
        a
    }

    /// POSTs JSON as if from `ip` (the test peer 127.0.0.1 is a trusted
    /// proxy, so the server believes `X-Forwarded-For`).
    pub async fn post_from(&mut self, ip: &str, path: &str, body: Value) -> Answer {
        self.send(path, body, &[("X-Forwarded-For", ip)]).await
    }

    /// POSTs a raw body with a content type, and the CSRF token.
    pub async fn post_body(&mut self, path: &str, content_type: &str, body: Vec<u8>) -> Answer {
        if self.token.is_none() {
            self.refresh_token().await;
        }
        let resp = self
            .http
            .post(format!("{}{}", self.base, path))
            .header("X-CSRF-Token", self.token.clone().unwrap_or_default())
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .expect("post");
        Answer::read(resp).await
    }

    /// GET, read whole.
    pub async fn fetch(&self, path: &str) -> Answer {
        Answer::read(self.get(path).await).await
    }
}

/// A client without a cookie jar that sends `cookie` by hand (to replay an
/// old session cookie).
pub struct Replay {
    pub http: reqwest::Client,
    pub base: String,
    pub cookie: String,
}

impl Replay {
    pub fn new(base: &str, session: &str) -> Replay {
        Replay {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: base.to_string(),
            cookie: format!("innkeeper_sid={session}"),
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        let resp = self
            .http
            .get(format!("{}{}", self.base, path))
            .header("Cookie", &self.cookie)
            .send()
            .await
            .expect("get");
        Answer::read(resp).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        let resp = self
            .http
            .post(format!("{}{}", self.base, path))
            .header("Cookie", &self.cookie)
            .header("X-CSRF-Token", token)
            .json(&body)
            .send()
            .await
            .expect("post");
        Answer::read(resp).await
    }
}

/// A raw HTTP/1.1 request written byte for byte (reqwest would normalise
/// paths such as `/a/../b`): returns the status and the whole response text.
pub async fn raw_request(base: &str, request: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    let mut out = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        stream.read_to_end(&mut out),
    )
    .await;
    assert!(read.is_ok(), "no answer to {request:?}");
    answer_of(&out)
}

/// A raw answer as (status, text); status 0 when there is no status line.
pub fn answer_of(raw: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// A raw `GET <path>` with a session cookie.
pub async fn raw_get(base: &str, path: &str, session: Option<&str>) -> (u16, String) {
    let cookie = session
        .map(|s| format!("Cookie: innkeeper_sid={s}\r\n"))
        .unwrap_or_default();
    let req =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{cookie}Connection: close\r\n\r\n");
    raw_request(base, &req).await
}

impl Server {
    /// Logs in and returns the client and its session cookie value.
    pub async fn login_with_cookie(&self, handle: &str, password: &str) -> (Client, String) {
        let mut c = self.client();
        let a = c
            .send(
                "/api/users/login",
                json!({ "handle": handle, "password": password }),
                &[],
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "login {handle}: {}", a.body);
        let cookie = a.session_cookie().expect("session cookie on login");
        (c, cookie)
    }

    /// A user's row as the server sees it now (None when there is none).
    pub async fn user_row(&self, handle: &str) -> Option<innkeeper::store::users::UserRow> {
        self.app
            .accounts()
            .find_user(handle)
            .await
            .expect("the account list reads")
    }

    /// The folder of a user.
    pub fn user_dir(&self, handle: &str) -> PathBuf {
        self.data_root().join(handle)
    }

    /// Every console line printed so far.
    pub fn console_lines(&self) -> Vec<String> {
        self.app.console.lines()
    }
}

/// Config tweak for tests that simulate many clients with
/// `X-Forwarded-For` from the trusted local proxy: those clients (10/8)
/// are whitelisted too.
pub fn forwarding(c: &mut Config) {
    c.whitelist.push("10.0.0.0/8".into());
}

impl Server {
    /// Stops serving and opens the same data root again (same config),
    /// as a restart of the binary would.
    pub async fn restart(mut self) -> Server {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        if let Some(h) = self.app.hosting() {
            h.shutdown().await;
        }
        let config = self.app.config.clone();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"));
        drop(self);
        Server::start_in(dir, config).await
    }
}
