//! Helper for `bench/run.sh`: seeds data roots, generates the backup
//! folder, logs in, measures logins and raw hash rates, spawns the server
//! to time its start, times account creation and samples a process's RSS.
//! Every subcommand prints plain `key=value` figures on stdout and asserts
//! nothing about speed; only setup failures make it exit non-zero.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use futures_util::StreamExt;
use serde_json::{json, Value};

use innkeeper::accounts::password::Hasher;
use innkeeper::accounts::service::NewUser;
use innkeeper::app::{Actor, App};
use innkeeper::clock::Clock;
use innkeeper::config::{self, Config, Overrides};
use innkeeper::console::Console;

#[derive(Parser)]
#[command(name = "bench_tool", about = "Helper for bench/run.sh")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Creates accounts in a data root (the server must not be running).
    Seed {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        data_root: PathBuf,
        /// Total number of accounts afterwards, default-user included.
        #[arg(long)]
        users: usize,
        /// Password of the admin `bench-admin`.
        #[arg(long)]
        admin_password: String,
        /// Also create `bench-login` with this password.
        #[arg(long)]
        login_password: Option<String>,
        /// Also create `bench-backup` (no password).
        #[arg(long)]
        backup_user: bool,
    },
    /// Writes the backup test folder: small JSON files and big random files.
    GenBackup {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value_t = 12_000)]
        files: usize,
        #[arg(long, default_value_t = 4)]
        big: usize,
        #[arg(long, default_value_t = 35)]
        big_mib: usize,
    },
    /// Writes a settings.json-like object of about `bytes` bytes.
    GenSettings {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 30 * 1024)]
        bytes: usize,
    },
    /// Logs in; prints `cookie=…` and `token=…` for that session.
    Session {
        #[arg(long)]
        base: String,
        #[arg(long)]
        handle: String,
        #[arg(long)]
        password: String,
    },
    /// Login loops: each iteration GET /csrf-token with no cookie, then
    /// POST /api/users/login. Counts successes inside the measured window.
    Logins {
        #[arg(long)]
        base: String,
        #[arg(long)]
        handle: String,
        #[arg(long)]
        password: String,
        #[arg(long, default_value_t = 8)]
        tasks: usize,
        /// Seconds before the window opens (not counted).
        #[arg(long, default_value_t = 1.0)]
        warmup: f64,
        /// Length of the measured window in seconds.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Raw scrypt rate with the config's parameters in `threads` threads
    /// (0: the server's resolved `passwordHash.concurrency`).
    Hashrate {
        #[arg(long)]
        config: PathBuf,
        #[arg(long, default_value_t = 0)]
        threads: usize,
        #[arg(long, default_value_t = 1.0)]
        warmup: f64,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Spawns the server and times the first 200 from GET /healthz.
    Startup {
        #[arg(long)]
        bin: PathBuf,
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        data_root: PathBuf,
        #[arg(long, default_value_t = 20.0)]
        timeout: f64,
    },
    /// Creates accounts without a password through the admin API, one at a
    /// time; prints the median and p90 latency, then deletes them (untimed).
    Create {
        #[arg(long)]
        base: String,
        #[arg(long)]
        cookie: String,
        #[arg(long)]
        token: String,
        #[arg(long, default_value_t = 30)]
        count: usize,
        /// Creations before the timed ones (also deleted afterwards).
        #[arg(long, default_value_t = 3)]
        warmup: usize,
        #[arg(long, default_value = "bench-create")]
        prefix: String,
    },
    /// Samples VmRSS of `pid` every `interval_ms` until `stop_file` exists
    /// (or `max_seconds` pass); prints the peak VmRSS and the final VmHWM.
    Rss {
        #[arg(long)]
        pid: u32,
        #[arg(long)]
        stop_file: PathBuf,
        #[arg(long, default_value_t = 10)]
        interval_ms: u64,
        #[arg(long, default_value_t = 300.0)]
        max_seconds: f64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Seed {
            config,
            data_root,
            users,
            admin_password,
            login_password,
            backup_user,
        } => runtime().and_then(|rt| {
            rt.block_on(seed(
                &config,
                data_root,
                users,
                &admin_password,
                login_password.as_deref(),
                backup_user,
            ))
        }),
        Cmd::GenBackup {
            dir,
            files,
            big,
            big_mib,
        } => gen_backup(&dir, files, big, big_mib),
        Cmd::GenSettings { out, bytes } => gen_settings(&out, bytes),
        Cmd::Session {
            base,
            handle,
            password,
        } => runtime().and_then(|rt| rt.block_on(session(&base, &handle, &password))),
        Cmd::Logins {
            base,
            handle,
            password,
            tasks,
            warmup,
            seconds,
        } => runtime()
            .and_then(|rt| rt.block_on(logins(&base, &handle, &password, tasks, warmup, seconds))),
        Cmd::Hashrate {
            config,
            threads,
            warmup,
            seconds,
        } => hashrate(&config, threads, warmup, seconds),
        Cmd::Startup {
            bin,
            config,
            data_root,
            timeout,
        } => startup(&bin, &config, &data_root, timeout),
        Cmd::Create {
            base,
            cookie,
            token,
            count,
            warmup,
            prefix,
        } => runtime()
            .and_then(|rt| rt.block_on(create(&base, &cookie, &token, count, warmup, &prefix))),
        Cmd::Rss {
            pid,
            stop_file,
            interval_ms,
            max_seconds,
        } => rss(pid, &stop_file, interval_ms, max_seconds),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_tool: {e}");
            ExitCode::FAILURE
        }
    }
}

type Res = Result<(), String>;

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))
}

fn load_config(path: &Path, data_root: Option<PathBuf>) -> Result<Config, String> {
    let overrides = Overrides {
        data_root,
        ..Overrides::default()
    };
    config::load(path, &overrides)
        .map(|l| l.config)
        .map_err(|e| e.to_string())
}

// ---------------------------------------------------------------- seeding

async fn seed(
    config_path: &Path,
    data_root: PathBuf,
    users: usize,
    admin_password: &str,
    login_password: Option<&str>,
    backup_user: bool,
) -> Res {
    let config = load_config(config_path, Some(data_root))?;
    let app = App::open(config, Clock::default(), Console::default()).map_err(|e| e.to_string())?;
    let actor = Actor::console();
    let mut special = vec![NewUser {
        handle: "bench-admin".into(),
        name: "Bench Admin".into(),
        password: Some(admin_password.to_string()),
        admin: true,
    }];
    if let Some(pw) = login_password {
        special.push(NewUser {
            handle: "bench-login".into(),
            name: "Bench Login".into(),
            password: Some(pw.to_string()),
            admin: false,
        });
    }
    if backup_user {
        special.push(NewUser {
            handle: "bench-backup".into(),
            name: "Bench Backup".into(),
            password: None,
            admin: false,
        });
    }
    for u in special {
        let h = u.handle.clone();
        app.accounts()
            .create_user(&actor, u)
            .await
            .map_err(|e| format!("cannot create {h}: {e}"))?;
    }
    let existing = app
        .accounts()
        .list_users()
        .await
        .map_err(|e| e.to_string())?
        .len();
    let missing = users.saturating_sub(existing);
    let started = Instant::now();
    let results: Vec<Result<String, String>> = futures_util::stream::iter(0..missing)
        .map(|i| {
            let app = app.clone();
            let actor = actor.clone();
            async move {
                let req = NewUser {
                    handle: format!("user-{i:05}"),
                    name: format!("User {i}"),
                    password: None,
                    admin: false,
                };
                app.accounts()
                    .create_user(&actor, req)
                    .await
                    .map_err(|e| format!("cannot create user-{i:05}: {e}"))
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    for r in results {
        r?;
    }
    let total = app
        .accounts()
        .list_users()
        .await
        .map_err(|e| e.to_string())?
        .len();
    println!(
        "users={total} created={missing} seconds={:.1}",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

// ------------------------------------------------------ generated content

/// A small deterministic generator (splitmix64), so every run writes the
/// same bytes.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

const WORDS: &[&str] = &[
    "the",
    "innkeeper",
    "pours",
    "a",
    "mug",
    "of",
    "ale",
    "for",
    "weary",
    "traveller",
    "who",
    "speaks",
    "softly",
    "about",
    "dragons",
    "and",
    "old",
    "roads",
    "lantern",
    "night",
    "rain",
    "story",
    "sword",
    "river",
    "quiet",
    "laughs",
    "remembers",
    "village",
    "map",
    "north",
    "bread",
    "fire",
    "window",
    "song",
    "stranger",
    "coin",
    "door",
    "smiles",
    "secret",
    "morning",
];

/// Prose of about `len` bytes from a small vocabulary (compresses like text).
fn prose(mix: &mut Mix, len: usize) -> String {
    let mut s = String::with_capacity(len + 16);
    while s.len() < len {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(WORDS[mix.below(WORDS.len())]);
    }
    s
}

fn write_file(path: &Path, bytes: &[u8]) -> Res {
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn mkdir(path: &Path) -> Res {
    std::fs::create_dir_all(path).map_err(|e| format!("cannot create {}: {e}", path.display()))
}

/// Small JSON files: half under `characters/`, a third under
/// `chats/<character>/`, the rest under `worlds/`; 3–7 KiB each. Big random
/// files under `user/files/`.
fn gen_backup(dir: &Path, files: usize, big: usize, big_mib: usize) -> Res {
    let mut mix = Mix(0x1AB5_EED5);
    let started = Instant::now();
    let mut total: u64 = 0;
    for i in 0..files {
        let (sub, name) = match i % 6 {
            0..=2 => (
                PathBuf::from("characters"),
                format!("character-{i:05}.json"),
            ),
            3 | 4 => (
                PathBuf::from("chats").join(format!("character-{:03}", i % 97)),
                format!("chat-{i:05}.json"),
            ),
            _ => (PathBuf::from("worlds"), format!("world-{i:05}.json")),
        };
        let folder = dir.join(sub);
        if i < 6 * 97 {
            mkdir(&folder)?;
        }
        let size = 3 * 1024 + mix.below(4 * 1024);
        let body = json!({
            "name": format!("Entry {i}"),
            "description": prose(&mut mix, size / 2),
            "first_mes": prose(&mut mix, size / 4),
            "scenario": prose(&mut mix, size / 4),
            "tags": ["bench", "generated"],
            "create_date": 1_700_000_000_000u64 + i as u64,
        });
        let text = body.to_string();
        total += text.len() as u64;
        write_file(&folder.join(name), text.as_bytes())?;
    }
    let files_dir = dir.join("user").join("files");
    mkdir(&files_dir)?;
    let mut buf = vec![0u8; 1024 * 1024];
    for b in 0..big {
        let path = files_dir.join(format!("blob-{b}.bin"));
        let mut f = std::fs::File::create(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        for _ in 0..big_mib {
            mix.fill(&mut buf);
            f.write_all(&buf)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            total += buf.len() as u64;
        }
    }
    println!(
        "files={} bytes={total} seconds={:.1}",
        files + big,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn gen_settings(out: &Path, bytes: usize) -> Res {
    let mut mix = Mix(0x5E77_1165);
    let mut obj = serde_json::Map::new();
    obj.insert("firstRun".into(), json!(false));
    obj.insert("currentVersion".into(), json!("1.12.0"));
    let mut i = 0;
    while Value::Object(obj.clone()).to_string().len() < bytes {
        obj.insert(
            format!("extension_setting_{i:04}"),
            json!({ "enabled": i % 2 == 0, "value": mix.below(1000), "note": prose(&mut mix, 200) }),
        );
        i += 1;
    }
    let text = Value::Object(obj).to_string();
    write_file(out, text.as_bytes())?;
    println!("bytes={}", text.len());
    Ok(())
}

// ---------------------------------------------------------------- HTTP

fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| e.to_string())
}

/// The `innkeeper_sid` value set by a response.
fn session_cookie(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|l| l.strip_prefix("innkeeper_sid="))
        .map(|rest| rest.split(';').next().unwrap_or("").to_string())
        .find(|v| !v.is_empty())
}

/// GET /csrf-token with `cookie` (or none): the session cookie in use and
/// its token.
async fn csrf(
    http: &reqwest::Client,
    base: &str,
    cookie: Option<&str>,
) -> Result<(String, String), String> {
    let mut req = http.get(format!("{base}/csrf-token"));
    if let Some(c) = cookie {
        req = req.header("Cookie", format!("innkeeper_sid={c}"));
    }
    let resp = req.send().await.map_err(|e| format!("csrf-token: {e}"))?;
    let set = session_cookie(&resp);
    let v: Value = resp.json().await.map_err(|e| format!("csrf-token: {e}"))?;
    let token = v["token"]
        .as_str()
        .ok_or("csrf-token: no token in the answer")?
        .to_string();
    let cookie = set
        .or_else(|| cookie.map(str::to_string))
        .ok_or("csrf-token: no session cookie")?;
    Ok((cookie, token))
}

/// One full login from an empty cookie jar: the new session cookie.
async fn login_once(
    http: &reqwest::Client,
    base: &str,
    handle: &str,
    password: &str,
) -> Result<String, String> {
    let (anon, token) = csrf(http, base, None).await?;
    let resp = http
        .post(format!("{base}/api/users/login"))
        .header("Cookie", format!("innkeeper_sid={anon}"))
        .header("X-CSRF-Token", token)
        .json(&json!({ "handle": handle, "password": password }))
        .send()
        .await
        .map_err(|e| format!("login: {e}"))?;
    let status = resp.status();
    let cookie = session_cookie(&resp);
    let body = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(format!("login of {handle}: {status} {body}"));
    }
    cookie.ok_or_else(|| "login: no session cookie".to_string())
}

async fn session(base: &str, handle: &str, password: &str) -> Res {
    let http = http_client()?;
    let cookie = login_once(&http, base, handle, password).await?;
    let (cookie, token) = csrf(&http, base, Some(&cookie)).await?;
    let me = http
        .get(format!("{base}/api/users/me"))
        .header("Cookie", format!("innkeeper_sid={cookie}"))
        .send()
        .await
        .map_err(|e| format!("me: {e}"))?;
    if !me.status().is_success() {
        return Err(format!(
            "GET /api/users/me with the new session: {}",
            me.status()
        ));
    }
    println!("cookie={cookie}");
    println!("token={token}");
    Ok(())
}

async fn logins(
    base: &str,
    handle: &str,
    password: &str,
    tasks: usize,
    warmup: f64,
    seconds: f64,
) -> Res {
    let ok = Arc::new(AtomicU64::new(0));
    // Successes at any time, warm-up and tail included (for CPU per login).
    let all_ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let open = start + Duration::from_secs_f64(warmup);
    let close = open + Duration::from_secs_f64(seconds);
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let http = http_client()?;
        let (base, handle, password) = (base.to_string(), handle.to_string(), password.to_string());
        let (ok, all_ok, failed) = (ok.clone(), all_ok.clone(), failed.clone());
        handles.push(tokio::spawn(async move {
            let mut first_error = None;
            while Instant::now() < close {
                let r = login_once(&http, &base, &handle, &password).await;
                let at = Instant::now();
                let counted = at >= open && at <= close;
                if r.is_ok() {
                    all_ok.fetch_add(1, Ordering::Relaxed);
                }
                match r {
                    Ok(_) if counted => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        first_error.get_or_insert(e);
                        // A refused login is fast: do not spin on it.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            first_error
        }));
    }
    let mut first_error = None;
    for h in handles {
        if let Ok(Some(e)) = h.await {
            first_error.get_or_insert(e);
        }
    }
    let ok = ok.load(Ordering::Relaxed);
    let failed = failed.load(Ordering::Relaxed);
    println!(
        "logins={ok} failed={failed} seconds={seconds:.1} rate={:.3} total_ok={}",
        ok as f64 / seconds,
        all_ok.load(Ordering::Relaxed)
    );
    if let Some(e) = first_error {
        eprintln!("bench_tool: first failed login: {e}");
    }
    if ok == 0 {
        return Err("no login succeeded".into());
    }
    Ok(())
}

fn hashrate(config_path: &Path, threads: usize, warmup: f64, seconds: f64) -> Res {
    let c = load_config(config_path, None)?;
    let p = &c.password_hash;
    let threads = if threads == 0 {
        c.hash_concurrency()
    } else {
        threads
    };
    let hasher = Hasher::new(p.log_n, p.r, p.p, threads).map_err(|e| e.to_string())?;
    let start = Instant::now();
    let open = start + Duration::from_secs_f64(warmup);
    let close = open + Duration::from_secs_f64(seconds);
    let done = AtomicU64::new(0);
    // Hashes at any time, warm-up and tail included (for CPU per hash).
    let all = AtomicU64::new(0);
    let mut error = None;
    std::thread::scope(|s| {
        let mut joins = Vec::new();
        for t in 0..threads {
            let (h, done, all) = (hasher.clone(), &done, &all);
            joins.push(s.spawn(move || -> Res {
                let mut i = 0u64;
                while Instant::now() < close {
                    h.hash_blocking(&format!("bench-password-{t}-{i}"))
                        .map_err(|e| e.to_string())?;
                    let at = Instant::now();
                    if at >= open && at <= close {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    all.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
                Ok(())
            }));
        }
        for j in joins {
            if let Ok(Err(e)) = j.join() {
                error.get_or_insert(e);
            }
        }
    });
    if let Some(e) = error {
        return Err(e);
    }
    let n = done.load(Ordering::Relaxed);
    println!(
        "hashes={n} threads={threads} ln={} r={} p={} seconds={seconds:.1} rate={:.3} total={} cpu_ticks={}",
        p.log_n,
        p.r,
        p.p,
        n as f64 / seconds,
        all.load(Ordering::Relaxed),
        cpu_ticks("self").unwrap_or(0)
    );
    Ok(())
}

// --------------------------------------------------------------- start-up

/// A free loopback port for the server under test (the one helper the
/// supervisor uses too).
fn free_port() -> Result<u16, String> {
    innkeeper::hosting::process::free_port(&Default::default())
        .map_err(|e| format!("no free port: {e}"))
}

/// True when GET /healthz answers 200.
fn healthz(addr: &SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(addr, Duration::from_millis(100)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.set_nodelay(true);
    if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

fn startup(bin: &Path, config: &Path, data_root: &Path, timeout: f64) -> Res {
    let port = free_port()?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let start = Instant::now();
    let mut child = Command::new(bin)
        .arg("--config")
        .arg(config)
        .arg("--data-root")
        .arg(data_root)
        .arg("--port")
        .arg(port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let deadline = start + Duration::from_secs_f64(timeout);
    let mut attempts = 0u64;
    let mut answered = None;
    while Instant::now() < deadline {
        attempts += 1;
        if healthz(&addr) {
            answered = Some(start.elapsed());
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the server exited during start-up: {status}"));
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    stop_child(&mut child);
    match answered {
        Some(t) => {
            println!("ms={:.1} attempts={attempts}", t.as_secs_f64() * 1000.0);
            Ok(())
        }
        None => Err(format!("no 200 from /healthz within {timeout} s")),
    }
}

/// SIGTERM (through `kill`, no unsafe code), then SIGKILL after 10 s.
fn stop_child(child: &mut std::process::Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

// ------------------------------------------------------ account creation

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

async fn admin_post(
    http: &reqwest::Client,
    base: &str,
    cookie: &str,
    token: &str,
    path: &str,
    body: Value,
) -> Result<(), String> {
    let resp = http
        .post(format!("{base}{path}"))
        .header("Cookie", format!("innkeeper_sid={cookie}"))
        .header("X-CSRF-Token", token)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("{path}: {e}"))?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("{path}: {status} {text}"))
    }
}

async fn create(
    base: &str,
    cookie: &str,
    token: &str,
    count: usize,
    warmup: usize,
    prefix: &str,
) -> Res {
    let http = http_client()?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let mut made = Vec::new();
    let mut times = Vec::new();
    let mut result = Ok(());
    for i in 0..warmup + count {
        let handle = format!("{prefix}-{stamp}-{i}");
        let t = Instant::now();
        let r = admin_post(
            &http,
            base,
            cookie,
            token,
            "/api/users/create",
            json!({ "handle": handle, "name": format!("Created {i}") }),
        )
        .await;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        if let Err(e) = r {
            result = Err(e);
            break;
        }
        made.push(handle);
        if i >= warmup {
            times.push(ms);
        }
    }
    for handle in &made {
        admin_post(
            &http,
            base,
            cookie,
            token,
            "/api/users/delete",
            json!({ "handle": handle, "purge": true }),
        )
        .await?;
    }
    result?;
    times.sort_by(f64::total_cmp);
    println!(
        "count={} p50_ms={:.2} p90_ms={:.2} max_ms={:.2}",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.9),
        times.last().copied().unwrap_or(f64::NAN)
    );
    Ok(())
}

// ------------------------------------------------------------------- RSS

/// User + system CPU time of a whole process (every thread) in clock ticks,
/// from /proc/<pid>/stat.
fn cpu_ticks(pid: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the `(comm)`: state is field 3, utime 14 and stime 15.
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// A `Vm…:` line of /proc/<pid>/status in KiB.
fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
}

fn rss(pid: u32, stop_file: &Path, interval_ms: u64, max_seconds: f64) -> Res {
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(max_seconds);
    let (mut peak, mut samples, mut hwm) = (0u64, 0u64, 0u64);
    while Instant::now() < deadline && !stop_file.exists() {
        match status_kib(pid, "VmRSS:") {
            Some(v) => {
                peak = peak.max(v);
                samples += 1;
            }
            None => return Err(format!("process {pid} is gone")),
        }
        hwm = status_kib(pid, "VmHWM:").unwrap_or(hwm);
        std::thread::sleep(Duration::from_millis(interval_ms));
    }
    println!("peak_rss_kib={peak} hwm_kib={hwm} samples={samples}");
    Ok(())
}
