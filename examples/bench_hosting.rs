//! Benchmarks of the hosted SillyTavern (issue 12), run by
//! `bench/hosting.sh`: the proxy against the same SillyTavern process
//! reached directly (wrk: a static asset and `POST /api/characters/all`;
//! time to first token of a streamed generation), login → character list in
//! a real Chromium (warm, cold, and SillyTavern's own multi-user mode as the
//! reference), memory of the processes and of Innkeeper with 8 running, and
//! a user's very first start with and without Innkeeper's thumbnail seed.
//! Prints a table of medians and writes it into BENCHMARKS.md.
//!
//!   bench_hosting --innkeeper BIN --sillytavern DIR [--runs N]
//!                 [--duration S] [--out FILE] [--only proxy,browser,memory,first]
//!
//! BENCH_HOSTING_TRACE=1 prints where each browser page load spent its time.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use innkeeper::hosting::st_session::{machine_hostname, StSession};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Res<T = ()> = Result<T, String>;

struct Args {
    innkeeper: PathBuf,
    st: PathBuf,
    runs: usize,
    duration: u64,
    out: Option<PathBuf>,
    /// Only these parts (proxy, browser, memory, first); all when empty.
    only: Vec<String>,
}

impl Args {
    fn wants(&self, part: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|p| p == part)
    }
}

fn args() -> Res<Args> {
    let mut a = Args {
        innkeeper: PathBuf::from("target/x86_64-unknown-linux-gnu/release/innkeeper"),
        st: PathBuf::from("target/sillytavern/SillyTavern-1.12.6"),
        runs: 3,
        duration: 10,
        out: None,
        only: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().ok_or(format!("{k} needs a value"));
        match k.as_str() {
            "--innkeeper" => a.innkeeper = PathBuf::from(v()?),
            "--sillytavern" => a.st = PathBuf::from(v()?),
            "--runs" => a.runs = v()?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--duration" => a.duration = v()?.parse().map_err(|e| format!("--duration: {e}"))?,
            "--out" => a.out = Some(PathBuf::from(v()?)),
            "--only" => a.only = v()?.split(',').map(str::to_string).collect(),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    a.innkeeper = std::path::absolute(&a.innkeeper).map_err(|e| e.to_string())?;
    a.st = std::path::absolute(&a.st).map_err(|e| e.to_string())?;
    Ok(a)
}

fn log(msg: &str) {
    eprintln!(
        "[bench-hosting {}] {msg}",
        chrono::Local::now().format("%H:%M:%S")
    );
}

/// One row of the report.
struct Row {
    figure: String,
    median: String,
    runs: String,
    target: String,
    reference: String,
    result: String,
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    if s.is_empty() {
        return f64::NAN;
    }
    s[s.len() / 2]
}

fn list(v: &[f64], digits: usize) -> String {
    v.iter()
        .map(|x| format!("{x:.digits$}"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ------------------------------------------------------------ processes

/// The release server as a child, with its output kept.
struct Server {
    child: Child,
    base: String,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(bin: &Path, dir: &Path) -> Res<Server> {
        let mut child = Command::new(bin)
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        for (stream, tx) in [
            (
                Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
                Some(tx),
            ),
            (Box::new(child.stderr.take().unwrap()), None),
        ] {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let (Some(tx), Some(u)) =
                        (&tx, line.strip_prefix("Innkeeper is listening on "))
                    {
                        let _ = tx.send(u.trim_end_matches('/').to_string());
                    }
                    lines.lock().unwrap().push(line);
                }
            });
        }
        let base = rx.recv_timeout(Duration::from_secs(60)).map_err(|_| {
            format!(
                "the server did not start:\n{}",
                lines.lock().unwrap().join("\n")
            )
        })?;
        Ok(Server { child, base, lines })
    }

    /// The start time of the newest "ready after N ms" line for `handle`.
    fn last_start_ms(&self, handle: &str) -> Option<f64> {
        let lines = self.lines.lock().unwrap();
        lines
            .iter()
            .rev()
            .filter(|l| l.contains(&format!("SillyTavern of {handle} is running")))
            .find_map(|l| {
                l.split("ready after ")
                    .nth(1)?
                    .split(' ')
                    .next()?
                    .parse()
                    .ok()
            })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let end = Instant::now() + Duration::from_secs(20);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// SillyTavern started by hand (no Innkeeper), killed on drop.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free loopback port for a process that must bind it itself (the one
/// helper the supervisor uses too).
fn free_port() -> Res<u16> {
    innkeeper::hosting::process::free_port(&Default::default()).map_err(|e| e.to_string())
}

/// Starts `node server.js` on `data_root` as Innkeeper would (`own_csrf`
/// false) or as SillyTavern's own multi-user server (`own_csrf` true).
fn node(st: &Path, data_root: &Path, port: u16, own_mode: bool) -> Res<Node> {
    let mut cmd = Command::new("node");
    cmd.current_dir(st)
        .arg("server.js")
        .args([
            "--port",
            &port.to_string(),
            "--listen",
            "false",
            "--autorun",
            "false",
        ])
        .arg("--dataRoot")
        .arg(data_root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if !own_mode {
        cmd.args([
            "--disableCsrf",
            "--enableIPv4",
            "true",
            "--enableIPv6",
            "false",
            "--whitelist",
            "false",
        ]);
    }
    cmd.spawn().map(Node).map_err(|e| format!("node: {e}"))
}

/// Waits until something answers HTTP on the port; returns the time taken.
async fn until_answers(port: u16, within: Duration) -> Res<Duration> {
    let http = reqwest::Client::new();
    let t = Instant::now();
    while t.elapsed() < within {
        if http
            .get(format!("http://127.0.0.1:{port}/api/ping"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_ok()
        {
            return Ok(t.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err(format!("nothing answered on port {port} within {within:?}"))
}

// ------------------------------------------------------------ HTTP

struct Session {
    http: reqwest::Client,
    base: String,
    token: String,
    cookie: String,
}

async fn login(base: &str, handle: &str) -> Res<Session> {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .map_err(|e| e.to_string())?;
    let csrf = |http: reqwest::Client| async move {
        let v: Value = http
            .get(format!("{base}/csrf-token"))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        Ok::<String, String>(v["token"].as_str().unwrap_or_default().to_string())
    };
    let token = csrf(http.clone()).await?;
    let resp = http
        .post(format!("{base}/api/users/login"))
        .header("X-CSRF-Token", &token)
        .json(&json!({ "handle": handle, "password": "" }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("login {handle}: {}", resp.status()));
    }
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|l| l.strip_prefix("innkeeper_sid="))
        .map(|v| format!("innkeeper_sid={}", v.split(';').next().unwrap_or("")))
        .ok_or("no session cookie")?;
    let token = csrf(http.clone()).await?;
    Ok(Session {
        http,
        base: base.to_string(),
        token,
        cookie,
    })
}

impl Session {
    async fn post(&self, path: &str, body: Value) -> Res<Value> {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("X-CSRF-Token", &self.token)
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{path}: {status} {text}"));
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn process(&self, handle: &str) -> Res<Value> {
        let st = self.post("/api/app/status", json!({})).await?;
        Ok(st["processes"]
            .as_array()
            .and_then(|p| p.iter().find(|p| p["handle"] == handle).cloned())
            .unwrap_or(json!({ "state": "stopped" })))
    }

    async fn wait_running(&self, handle: &str) -> Res<Value> {
        let end = Instant::now() + Duration::from_secs(120);
        while Instant::now() < end {
            let p = self.process(handle).await?;
            if p["state"] == "running" {
                return Ok(p);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("{handle} did not start"))
    }
}

// ------------------------------------------------------------ wrk

struct Wrk {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// One wrk run with `conns` connections (2 threads, or 1 for one
/// connection), the given headers and an optional POST body.
fn wrk(
    url: &str,
    headers: &[(String, String)],
    post: bool,
    secs: u64,
    conns: u32,
    dir: &Path,
) -> Res<Wrk> {
    let script = dir.join("wrk.lua");
    let mut lua = String::new();
    if post {
        lua.push_str("wrk.method = \"POST\"\nwrk.body = \"{}\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n");
    }
    for (k, v) in headers {
        lua.push_str(&format!("wrk.headers[\"{k}\"] = \"{v}\"\n"));
    }
    lua.push_str(
        "function response(status, headers, body)\n  if status >= 300 then bad = (bad or 0) + 1 end\nend\n\
         function done(summary, latency, requests)\n  io.write(string.format(\"non2xx %d\\n\", summary.errors.status))\nend\n",
    );
    std::fs::write(&script, lua).map_err(|e| e.to_string())?;
    let threads = if conns > 1 { "2" } else { "1" };
    let out = Command::new("wrk")
        .args(["-t", threads, "-c", &conns.to_string()])
        .args(["-d", &format!("{secs}s"), "--latency", "-s"])
        .arg(&script)
        .arg(url)
        .output()
        .map_err(|e| format!("wrk: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if text.contains("Socket errors") || !text.contains("non2xx 0") {
        return Err(format!("wrk saw errors against {url}:\n{text}"));
    }
    let num = |prefix: &str| -> Res<f64> {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .ok_or(format!("no {prefix} in wrk output:\n{text}"))?;
        let word = line.trim_start()[prefix.len()..]
            .split_whitespace()
            .next()
            .unwrap_or("");
        parse_wrk_number(word).ok_or(format!("cannot read {word}"))
    };
    Ok(Wrk {
        rps: num("Requests/sec:")?,
        p50_ms: num("50%")?,
        p99_ms: num("99%")?,
    })
}

/// wrk's numbers: `1.23ms`, `850.00us`, `1.02s`, or plain.
fn parse_wrk_number(w: &str) -> Option<f64> {
    if let Some(v) = w.strip_suffix("us") {
        return v.parse::<f64>().ok().map(|x| x / 1000.0);
    }
    if let Some(v) = w.strip_suffix("ms") {
        return v.parse().ok();
    }
    if let Some(v) = w.strip_suffix('s') {
        return v.parse::<f64>().ok().map(|x| x * 1000.0);
    }
    w.parse().ok()
}

// ------------------------------------------------------------ SSE model

/// A tiny OpenAI-compatible server: answers every request with a stream
/// whose first chunk goes out at once.
async fn model_server() -> Res<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let url = format!(
        "http://{}/v1",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut tmp = [0u8; 8192];
                loop {
                    let Ok(n) = s.read(&mut tmp).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&tmp[..n]);
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..p]).to_ascii_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        while buf.len() < p + 4 + len {
                            let Ok(n) = s.read(&mut tmp).await else {
                                return;
                            };
                            if n == 0 {
                                return;
                            }
                            buf.extend_from_slice(&tmp[..n]);
                        }
                        break;
                    }
                }
                let event =
                    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n";
                let done = "data: [DONE]\n\n";
                let out = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\
                     Connection: close\r\n\r\n{:x}\r\n{event}\r\n{:x}\r\n{done}\r\n0\r\n\r\n",
                    event.len(),
                    done.len()
                );
                let _ = s.write_all(out.as_bytes()).await;
            });
        }
    });
    Ok(url)
}

/// Time from sending a streamed generation request to its first body byte.
async fn first_token(
    http: &reqwest::Client,
    url: &str,
    headers: &[(String, String)],
    model: &str,
) -> Res<f64> {
    let mut req = http.post(url).json(&json!({
        "chat_completion_source": "custom",
        "custom_url": model,
        "model": "test",
        "messages": [{ "role": "user", "content": "Hi" }],
        "stream": true,
    }));
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let t = Instant::now();
    let mut resp = req.send().await.map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("generate: {}", resp.status()));
    }
    resp.chunk()
        .await
        .map_err(|e| e.to_string())?
        .ok_or("empty stream")?;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    while resp.chunk().await.map_err(|e| e.to_string())?.is_some() {}
    Ok(ms)
}

// ------------------------------------------------------------ Chromium

struct Browser {
    c: fantoccini::Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start() -> Res<Browser> {
        use std::os::unix::process::CommandExt;
        let profile = tempfile::tempdir().map_err(|e| e.to_string())?;
        let port = free_port()?;
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("chromedriver: {e}"))?;
        let caps: serde_json::Map<String, Value> = serde_json::from_value(json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-quic", "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                         format!("--user-data-dir={}", profile.path().display())],
            },
        }))
        .map_err(|e| e.to_string())?;
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            match ClientBuilder::native()
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(c) => {
                    return Ok(Browser {
                        c,
                        driver,
                        _profile: profile,
                    })
                }
                Err(e) if Instant::now() > end => return Err(format!("no browser session: {e}")),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// From a same-origin page with no session: log in with fetch, open
    /// `/`, wait for SillyTavern's character list. Milliseconds taken.
    async fn login_to_characters(&self, base: &str) -> Res<f64> {
        self.c
            .goto(&format!("{base}/csrf-token"))
            .await
            .map_err(|e| e.to_string())?;
        let script = r#"
            const done = arguments[arguments.length - 1];
            (async () => {
              const t = await (await fetch('/csrf-token')).json();
              const r = await fetch('/api/users/login', { method: 'POST',
                headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': t.token },
                body: JSON.stringify({ handle: 'alice', password: '' }) });
              if (!r.ok) { done('login ' + r.status); return; }
              location.href = '/';
              done('ok');
            })();
        "#;
        let t = Instant::now();
        let said = self
            .c
            .execute_async(script, vec![])
            .await
            .map_err(|e| e.to_string())?;
        if said != json!("ok") {
            return Err(format!("login in the browser: {said}"));
        }
        let end = Instant::now() + Duration::from_secs(90);
        loop {
            if self
                .c
                .find(Locator::Css("#rm_print_characters_block .character_select"))
                .await
                .is_ok()
            {
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                if std::env::var_os("BENCH_HOSTING_TRACE").is_some() {
                    self.trace(base, ms).await;
                }
                return Ok(ms);
            }
            if Instant::now() > end {
                return Err("the character list never rendered".into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Prints where the page load spent its time (BENCH_HOSTING_TRACE).
    async fn trace(&self, base: &str, ms: f64) {
        let script = r#"
            const nav = performance.getEntriesByType('navigation')[0];
            const res = performance.getEntriesByType('resource')
              .map(r => [Math.round(r.startTime), Math.round(r.duration), r.name.replace(location.origin, '')]);
            res.sort((a, b) => b[1] - a[1]);
            return { count: res.length, nav: nav ? [Math.round(nav.responseEnd), Math.round(nav.domContentLoadedEventEnd), Math.round(nav.loadEventEnd)] : null,
                     slowest: res.slice(0, 12), last: res.slice().sort((a, b) => (b[0] + b[1]) - (a[0] + a[1])).slice(0, 8) };
        "#;
        if let Ok(v) = self.c.execute(script, vec![]).await {
            eprintln!("trace {base}: {ms:.0} ms total; {v}");
        }
    }

    async fn close(mut self) {
        let _ = self.c.clone().close().await;
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.wait();
    }
}

/// One fresh browser per measurement: nothing cached.
async fn browser_login(base: &str) -> Res<f64> {
    let b = Browser::start().await?;
    let r = b.login_to_characters(base).await;
    b.close().await;
    r
}

// ------------------------------------------------------------ setup

/// SillyTavern's default settings, made to boot offline without popups.
fn quiet_settings(st: &Path) -> Res<String> {
    let text = std::fs::read_to_string(st.join("default/content/settings.json"))
        .map_err(|e| e.to_string())?;
    let mut v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    v["firstRun"] = json!(false);
    v["main_api"] = json!("textgenerationwebui");
    serde_json::to_string_pretty(&v).map_err(|e| e.to_string())
}

fn cli(bin: &Path, dir: &Path, args: &[&str]) -> Res {
    let out = Command::new(bin)
        .current_dir(dir)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "innkeeper {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

fn rss_mib(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = s
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_hosting: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Res {
    let a = args()?;
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = work.path();
    std::fs::write(
        dir.join("config.yaml"),
        format!(
            "port: 0\ndataRoot: data\npasswordHash:\n  logN: 4\n  r: 8\n  p: 1\n\
             app:\n  sillytavern:\n    dir: {}\n  maxRunning: 8\n  idleMinutes: 120\n",
            a.st.display()
        ),
    )
    .map_err(|e| e.to_string())?;
    // With default-user (the admin below), 8 accounts run a process.
    let users = ["alice", "u1", "u2", "u3", "u4", "u5", "u6"];
    for u in users {
        cli(&a.innkeeper, dir, &["user", "create", u])?;
    }
    let settings = quiet_settings(&a.st)?;
    std::fs::write(dir.join("data/alice/settings.json"), &settings).map_err(|e| e.to_string())?;
    log("starting Innkeeper");
    let server = Server::start(&a.innkeeper, dir)?;
    let base = server.base.clone();
    let admin = login(&base, "default-user").await?;
    let alice = login(&base, "alice").await?;
    let p = admin.wait_running("alice").await?;
    let port = p["port"].as_u64().ok_or("no port")? as u16;

    let secret = {
        let text = std::fs::read_to_string(a.st.join("config.yaml")).map_err(|e| e.to_string())?;
        match innkeeper::config::top_level_scalars(&text)?.get("cookieSecret") {
            Some(innkeeper::config::YamlScalar::Text(s)) => s.clone(),
            _ => return Err("the install has no cookieSecret".into()),
        }
    };
    let hostname = machine_hostname().map_err(|e| e.to_string())?;
    let st_cookie = StSession::new(&hostname, &secret).cookie_header("alice");
    let direct = format!("http://127.0.0.1:{port}");
    let via_headers = vec![
        ("Cookie".to_string(), alice.cookie.clone()),
        ("X-CSRF-Token".to_string(), alice.token.clone()),
    ];
    let direct_headers = vec![("Cookie".to_string(), st_cookie.clone())];
    let mut rows = Vec::new();

    // Proxy against direct, alternating which goes first.
    let proxy_parts: &[(&str, &str, bool)] = if a.wants("proxy") {
        &[
            (
                "GET /css/st-tailwind.css (static)",
                "/css/st-tailwind.css",
                false,
            ),
            ("POST /api/characters/all", "/api/characters/all", true),
        ]
    } else {
        &[]
    };
    for &(label, path, post) in proxy_parts {
        let (mut d, mut v) = (Vec::new(), Vec::new());
        let (mut d1, mut v1) = (Vec::new(), Vec::new());
        for run in 0..a.runs {
            log(&format!("wrk {path}, run {}", run + 1));
            let go_direct = |conns| {
                wrk(
                    &format!("{direct}{path}"),
                    &direct_headers,
                    post,
                    a.duration,
                    conns,
                    dir,
                )
            };
            let go_via = |conns| {
                wrk(
                    &format!("{base}{path}"),
                    &via_headers,
                    post,
                    a.duration,
                    conns,
                    dir,
                )
            };
            for conns in [32, 1] {
                let (dd, vv) = if conns == 32 {
                    (&mut d, &mut v)
                } else {
                    (&mut d1, &mut v1)
                };
                if run % 2 == 0 {
                    dd.push(go_direct(conns)?);
                    vv.push(go_via(conns)?);
                } else {
                    vv.push(go_via(conns)?);
                    dd.push(go_direct(conns)?);
                }
            }
        }
        let ratio: Vec<f64> = v
            .iter()
            .zip(&d)
            .map(|(v, d)| 100.0 * v.rps / d.rps)
            .collect();
        // Added latency is read at one connection, where a request's time
        // is its own work and not a queue behind 31 others.
        let added: Vec<f64> = v1
            .iter()
            .zip(&d1)
            .map(|(v, d)| v.p50_ms - d.p50_ms)
            .collect();
        let p50_d1: Vec<f64> = d1.iter().map(|w| w.p50_ms).collect();
        let p50_v1: Vec<f64> = v1.iter().map(|w| w.p50_ms).collect();
        let rps_v: Vec<f64> = v.iter().map(|w| w.rps).collect();
        let rps_d: Vec<f64> = d.iter().map(|w| w.rps).collect();
        let p99_v: Vec<f64> = v.iter().map(|w| w.p99_ms).collect();
        let p99_d: Vec<f64> = d.iter().map(|w| w.p99_ms).collect();
        let p50_d: Vec<f64> = d.iter().map(|w| w.p50_ms).collect();
        let p50_v: Vec<f64> = v.iter().map(|w| w.p50_ms).collect();
        rows.push(Row {
            figure: format!("{label}, 32 conns: req/s through Innkeeper"),
            median: format!("{:.0}", median(&rps_v)),
            runs: list(&rps_v, 0),
            target: "—".into(),
            reference: format!("direct: {:.0} req/s", median(&rps_d)),
            result: "figure".into(),
        });
        let r = median(&ratio);
        rows.push(Row {
            figure: format!("{label}, 32 conns: throughput through ÷ direct"),
            median: format!("{r:.0} %"),
            runs: list(&ratio, 0),
            target: "≥ 90 %".into(),
            reference: "—".into(),
            result: pass(r >= 90.0),
        });
        let add = median(&added);
        rows.push(Row {
            figure: format!("{label}: p50 added by the proxy at 1 connection, ms"),
            median: format!("{add:.2}"),
            runs: list(&added, 2),
            target: "≤ 0.5".into(),
            reference: format!(
                "1 conn: p50 direct {:.2} ms, through {:.2} ms; 32 conns: p50 direct {:.2} ms, through {:.2} ms, p99 direct {:.2} ms, through {:.2} ms",
                median(&p50_d1),
                median(&p50_v1),
                median(&p50_d),
                median(&p50_v),
                median(&p99_d),
                median(&p99_v)
            ),
            result: pass(add <= 0.5),
        });
    }

    // Time to first token, alternating.
    if a.wants("proxy") {
        log("time to first token");
        let model = model_server().await?;
        let http = reqwest::Client::new();
        let (mut td, mut tv) = (Vec::new(), Vec::new());
        let rounds = 20 * a.runs;
        for i in 0..rounds {
            let d_url = format!("{direct}/api/backends/chat-completions/generate");
            let v_url = format!("{base}/api/backends/chat-completions/generate");
            if i % 2 == 0 {
                td.push(first_token(&http, &d_url, &direct_headers, &model).await?);
                tv.push(first_token(&http, &v_url, &via_headers, &model).await?);
            } else {
                tv.push(first_token(&http, &v_url, &via_headers, &model).await?);
                td.push(first_token(&http, &d_url, &direct_headers, &model).await?);
            }
        }
        let added = median(&tv) - median(&td);
        rows.push(Row {
            figure: format!(
                "Streamed generation: time to first token added by the proxy, ms ({rounds} each)"
            ),
            median: format!("{added:.2}"),
            runs: "—".into(),
            target: "≤ 1".into(),
            reference: format!(
                "direct {:.2} ms, through {:.2} ms (medians)",
                median(&td),
                median(&tv)
            ),
            result: pass(added <= 1.0),
        });
    }

    // Chromium: the reference is SillyTavern in its own multi-user mode.
    if a.wants("browser") {
        log("Chromium: SillyTavern's own multi-user mode");
        let own_root = dir.join("st-own");
        std::fs::create_dir_all(own_root.join("alice")).map_err(|e| e.to_string())?;
        std::fs::write(own_root.join("alice/settings.json"), &settings)
            .map_err(|e| e.to_string())?;
        {
            // One passwordless account, as in Innkeeper.
            let view =
                innkeeper::hosting::view_root::ViewRoot::prepare(&own_root.join("unused"), "alice")
                    .map_err(|e| e.to_string())?;
            let record = std::fs::read_dir(view.root.join("_storage"))
                .map_err(|e| e.to_string())?
                .flatten()
                .next()
                .ok_or("no record")?;
            let mut v: Value =
                serde_json::from_slice(&std::fs::read(record.path()).map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
            v["value"]["password"] = json!("");
            v["value"]["salt"] = json!("");
            std::fs::create_dir_all(own_root.join("_storage")).map_err(|e| e.to_string())?;
            std::fs::write(
                own_root.join("_storage").join(record.file_name()),
                v.to_string(),
            )
            .map_err(|e| e.to_string())?;
        }
        let own_port = free_port()?;
        let own = node(&a.st, &own_root, own_port, true)?;
        until_answers(own_port, Duration::from_secs(120)).await?;
        let own_base = format!("http://127.0.0.1:{own_port}");
        browser_login(&own_base).await?; // first-ever load of that root, not counted
        let mut reference = Vec::new();
        let mut warm = Vec::new();
        let mut cold = Vec::new();
        let mut cold_start = Vec::new();
        // The page loads vary by about a second from run to run: more
        // runs, and each compares its own warm, cold and reference loads.
        for run in 0..a.runs.max(5) {
            log(&format!("Chromium run {}", run + 1));
            reference.push(browser_login(&own_base).await?);
            admin.wait_running("alice").await?;
            warm.push(browser_login(&base).await?);
            admin
                .post("/api/app/stop", json!({ "handle": "alice" }))
                .await?;
            cold.push(browser_login(&base).await?);
            cold_start.push(
                server
                    .last_start_ms("alice")
                    .ok_or("no start time logged")?,
            );
        }
        drop(own);
        let over_ref: Vec<f64> = warm.iter().zip(&reference).map(|(w, r)| w - r).collect();
        rows.push(Row {
            figure: "Login → character list in Chromium, warm (process running): ms".into(),
            median: format!("{:.0}", median(&warm)),
            runs: list(&warm, 0),
            target: "—".into(),
            reference: format!(
                "SillyTavern's own multi-user mode: {:.0} ms ({})",
                median(&reference),
                list(&reference, 0)
            ),
            result: "figure".into(),
        });
        rows.push(Row {
            figure: "Warm − reference, per run (the same run's loads compared): ms".into(),
            median: format!("{:.0}", median(&over_ref)),
            runs: list(&over_ref, 0),
            target: "≤ 0 (no slower than the reference)".into(),
            reference: "—".into(),
            result: pass(median(&over_ref) <= 0.0),
        });
        // What a stopped process costs the user: cold − warm of the same run,
        // against that start's own time (spawn → first answer).
        let penalty: Vec<f64> = cold.iter().zip(&warm).map(|(c, w)| c - w).collect();
        let beyond: Vec<f64> = penalty
            .iter()
            .zip(&cold_start)
            .map(|(p, s)| p - s)
            .collect();
        rows.push(Row {
            figure: "Login → character list in Chromium, cold (process stopped): ms".into(),
            median: format!("{:.0}", median(&cold)),
            runs: list(&cold, 0),
            target: "—".into(),
            reference: format!(
                "the process's own start: {:.0} ms ({})",
                median(&cold_start),
                list(&cold_start, 0)
            ),
            result: "figure".into(),
        });
        rows.push(Row {
            figure: "Cold − warm (what a stopped process costs), per run: ms".into(),
            median: format!("{:.0}", median(&penalty)),
            runs: list(&penalty, 0),
            target: "—".into(),
            reference: "—".into(),
            result: "figure".into(),
        });
        rows.push(Row {
            figure: "Cold − warm beyond the process's own start, per run: ms".into(),
            median: format!("{:.0}", median(&beyond)),
            runs: list(&beyond, 0),
            target: "≤ 1000".into(),
            reference: "—".into(),
            result: pass(median(&beyond) <= 1000.0),
        });
    }

    // Memory with 8 running.
    if a.wants("memory") {
        log("memory with 8 processes");
        let mut sessions = Vec::new();
        for u in &users[1..] {
            sessions.push(login(&base, u).await?);
        }
        for u in users.iter().chain(["default-user"].iter()) {
            admin.wait_running(u).await?;
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        let st = admin.post("/api/app/status", json!({})).await?;
        let per: Vec<f64> = st["processes"]
            .as_array()
            .ok_or("no processes")?
            .iter()
            .filter(|p| p["state"] == "running")
            .filter_map(|p| p["rss"].as_f64())
            .map(|b| b / 1_048_576.0)
            .collect();
        rows.push(Row {
            figure: format!("RSS per running SillyTavern ({} running): MiB", per.len()),
            median: format!("{:.0}", median(&per)),
            runs: list(&per, 0),
            target: "—".into(),
            reference: "—".into(),
            result: "figure".into(),
        });
        let own_rss = rss_mib(server.child.id()).ok_or("no RSS of Innkeeper")?;
        rows.push(Row {
            figure: format!(
                "Innkeeper's own RSS with {} processes running: MiB",
                per.len()
            ),
            median: format!("{own_rss:.1}"),
            runs: "—".into(),
            target: "—".into(),
            reference: "—".into(),
            result: "figure".into(),
        });
    }
    drop(server);

    // A user's very first start, with and without the thumbnail seed.
    if a.wants("first") {
        log("first-ever starts");
        let (mut without, mut with) = (Vec::new(), Vec::new());
        for run in 0..a.runs {
            for seeded in [false, true] {
                let root = dir.join(format!("first-{run}-{seeded}"));
                std::fs::create_dir_all(root.join("fresh")).map_err(|e| e.to_string())?;
                let view = innkeeper::hosting::view_root::ViewRoot::prepare(&root, "fresh")
                    .map_err(|e| e.to_string())?;
                if !seeded {
                    std::fs::remove_file(
                        root.join("fresh/thumbnails/bg")
                            .join(innkeeper::hosting::view_root::THUMBNAIL_SEED),
                    )
                    .map_err(|e| e.to_string())?;
                }
                let port = free_port()?;
                let n = node(&a.st, &view.root, port, false)?;
                let took = until_answers(port, Duration::from_secs(180)).await?;
                drop(n);
                let ms = took.as_secs_f64() * 1000.0;
                if seeded {
                    with.push(ms)
                } else {
                    without.push(ms)
                }
            }
        }
        rows.push(Row {
            figure: "A user's very first start (spawn → first answer), thumbnails seeded: ms"
                .into(),
            median: format!("{:.0}", median(&with)),
            runs: list(&with, 0),
            target: "—".into(),
            reference: format!(
                "without the seed (all background thumbnails first): {:.0} ms ({})",
                median(&without),
                list(&without, 0)
            ),
            result: "figure".into(),
        });
    }

    let report = report(&a, &rows);
    println!("{report}");
    if let Some(out) = &a.out {
        write_section(out, &report)?;
        log(&format!("wrote {}", out.display()));
    }
    Ok(())
}

fn pass(ok: bool) -> String {
    if ok { "PASS" } else { "MISS" }.into()
}

fn report(a: &Args, rows: &[Row]) -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let mut s = String::from("## Hosting SillyTavern (`bench/hosting.sh`)\n\n");
    s.push_str(&format!(
        "- Date: {}\n- Built from: commit {commit}\n- SillyTavern 1.12.6, Node {}; {} run(s), wrk {} s each, 2 threads, 32 connections\n- Load average at the end: {}\n\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        Command::new("node").arg("--version").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default(),
        a.runs,
        a.duration,
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    ));
    s.push_str("| Figure | Median | Runs | Target | Reference, same run | Result |\n|---|---:|---|---|---|---|\n");
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            r.figure, r.median, r.runs, r.target, r.reference, r.result
        ));
    }
    s.push_str(
        "\nHow: one SillyTavern process is measured both through Innkeeper (with the user's \
         Innkeeper session and CSRF token) and directly on its loopback port (with the signed \
         SillyTavern session Innkeeper would send), wrk and the server sharing the machine's cores; \
         runs alternate which goes first. Time to first token: a small OpenAI-compatible server \
         that answers at once; time from sending the request to the first body byte. Chromium: a \
         fresh headless browser per measurement starts on a same-origin page, logs in with \
         fetch, opens `/` and waits for SillyTavern's character list \
         (`#rm_print_characters_block .character_select`); the reference is SillyTavern itself in \
         its own multi-user mode with the same account and settings; cold = the user's process \
         stopped before the login. What a stopped process costs (cold − warm of the same run) is \
         held against that start's own time (spawn → first answer, from Innkeeper's log): the \
         target is that the cold login costs at most 1 s more than the process's start itself. \
         First starts: SillyTavern started directly on a new \
         user's empty folder, with and without the marker Innkeeper puts in `thumbnails/bg/`.\n",
    );
    s
}

/// Replaces the hosting section of the benchmarks file (or appends it).
fn write_section(path: &Path, section: &str) -> Res {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let head = "## Hosting SillyTavern";
    let new = match old.find(head) {
        Some(start) => {
            let rest = &old[start + head.len()..];
            let end = rest
                .find("\n## ")
                .map(|i| start + head.len() + i + 1)
                .unwrap_or(old.len());
            format!("{}{section}\n{}", &old[..start], &old[end..])
        }
        None => format!(
            "{}\n{section}",
            old.trim_end_matches('\n').to_string() + "\n"
        ),
    };
    std::fs::write(path, new).map_err(|e| e.to_string())
}
