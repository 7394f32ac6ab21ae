//! Crash safety: the real binary under a storm of writes from several
//! tasks (settings saves, snapshot makes and restores, user creates and
//! deletes, password and avatar changes), killed with SIGKILL at random
//! moments and started again, many times over.
//!
//! After each kill, before the restart: the database passes
//! `integrity_check`, every settings.json and snapshot parses, and every
//! write the server acknowledged (2xx) is there — each register holds its
//! last acknowledged value or one attempted after it. After each restart:
//! the server answers, no temp file is left, every account has its folder.
//!
//! Each round must have writes to check: its storm logs in before the kill
//! is armed (a failed login fails the test), the kill comes at a random
//! moment after the round's first acknowledged write, and a round without
//! one fails, named. A request that fails before the kill is announced, or
//! an answer other than the expected one, fails the test too.
//!
//! 50 kills by default; `INNKEEPER_LONG_TESTS=1` makes it 500.

#[path = "common/child.rs"]
mod child;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use child::ChildServer;
use innkeeper::accounts::password::{Hasher, Stored};
use innkeeper::userdata::atomic::TEMP_PREFIX;
use serde_json::{json, Value};

const SAVERS: &[&str] = &["saver-1", "saver-2"];
const SNAP_USER: &str = "snap-user";
const PW_USER: &str = "pw-user";
const AVATAR_USER: &str = "avatar-user";
const CHURN: &[&str] = &["churn-a", "churn-b", "churn-c"];

/// A value the server was asked to hold: the last acknowledged one, and
/// every one attempted since (which a crash may or may not have kept).
#[derive(Debug, Clone, Default)]
struct Reg<T> {
    acked: T,
    pending: Vec<T>,
}

impl<T: Clone + PartialEq + std::fmt::Debug> Reg<T> {
    fn new(v: T) -> Self {
        Reg {
            acked: v,
            pending: Vec::new(),
        }
    }
    fn attempt(&mut self, v: T) {
        self.pending.push(v);
    }
    fn ack(&mut self, v: T) {
        self.acked = v;
        self.pending.clear();
    }
    fn allows(&self, v: &T) -> bool {
        &self.acked == v || self.pending.contains(v)
    }
    /// After a check: what is on disk now is the acknowledged state.
    fn settle(&mut self, v: T) {
        self.ack(v);
    }
}

#[derive(Debug, Default)]
struct Tracker {
    /// settings.json `counter` per saver.
    saves: HashMap<String, Reg<Option<u64>>>,
    /// settings.json `snap` of the snapshot user.
    snap_settings: Reg<Option<u64>>,
    /// `snap` values some snapshot file must hold (acknowledged snapshots).
    snap_required: BTreeSet<u64>,
    /// Whether each churn handle exists.
    exists: HashMap<String, Reg<bool>>,
    /// The number in pw-user's password.
    password: Reg<u64>,
    /// The number in avatar-user's avatar.
    avatar: Reg<Option<u64>>,
    acked_writes: u64,
    /// Acknowledged writes of the current round.
    round_acked: u64,
}

/// A logged-in client that reports failures instead of panicking (the
/// server dies under it on purpose).
struct Session {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Session {
    async fn login(base: &str, handle: &str, password: &str) -> Result<Session, String> {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| e.to_string())?;
        let mut s = Session {
            http,
            base: base.to_string(),
            token: String::new(),
        };
        s.refresh().await?;
        let (status, body) = s
            .post(
                "/api/users/login",
                json!({ "handle": handle, "password": password }),
            )
            .await?;
        if status != 200 {
            return Err(format!("login {handle}: {status} {body}"));
        }
        s.refresh().await?;
        Ok(s)
    }

    async fn refresh(&mut self) -> Result<(), String> {
        let v: Value = self
            .http
            .get(format!("{}/csrf-token", self.base))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        self.token = v["token"].as_str().unwrap_or_default().to_string();
        Ok(())
    }

    /// Status and body text, or Err when the connection failed.
    async fn post(&self, path: &str, body: Value) -> Result<(u16, String), String> {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("X-CSRF-Token", &self.token)
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| e.to_string())?;
        Ok((status, text))
    }
}

/// A small deterministic generator (the seed is printed to replay a run).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn settings_value(dir: &Path, key: &str) -> Result<Option<u64>, String> {
    let path = dir.join("settings.json");
    let text = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: Value = serde_json::from_slice(&text).map_err(|e| {
        format!(
            "{} is not JSON ({e}): {:?}",
            path.display(),
            String::from_utf8_lossy(&text)
        )
    })?;
    Ok(v.get(key).and_then(Value::as_u64))
}

fn avatar_number(avatar: Option<String>) -> Option<u64> {
    avatar.and_then(|a| a.rsplit("QUFB").next().and_then(|n| n.parse().ok()))
}

/// Every file under `root` whose name starts with the temp prefix.
fn temp_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else if e.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                out.push(p);
            }
        }
    }
    out
}

/// Opens the database read-only (falling back to a normal open when
/// SQLite wants to recover the WAL index) and checks its integrity.
fn open_db(path: &Path) -> rusqlite::Connection {
    let ro =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| {
                c.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
                    .map(|_| c)
            });
    let conn = match ro {
        Ok(c) => c,
        Err(_) => rusqlite::Connection::open(path).expect("database opens"),
    };
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check runs");
    assert_eq!(check, "ok", "integrity_check after a kill");
    conn
}

/// Everything a kill must not have broken, checked on the files and the
/// database the dead process left. Settles each register to what is there.
async fn check_after_kill(data: &Path, t: &mut Tracker, hasher: &Hasher, round: usize) {
    let ctx = |what: &str| format!("round {round}: {what}");
    let db = open_db(&data.join("innkeeper.db"));

    // Settings saves.
    for (h, reg) in t.saves.iter_mut() {
        let got =
            settings_value(&data.join(h), "counter").unwrap_or_else(|e| panic!("{}", ctx(&e)));
        assert!(
            reg.allows(&got),
            "{}",
            ctx(&format!("{h} holds {got:?}, expected {reg:?}"))
        );
        reg.settle(got);
    }
    // The snapshot user's settings and snapshot files.
    let snap_dir = data.join(SNAP_USER);
    let got = settings_value(&snap_dir, "snap").unwrap_or_else(|e| panic!("{}", ctx(&e)));
    assert!(
        t.snap_settings.allows(&got),
        "{}",
        ctx(&format!(
            "{SNAP_USER} holds {got:?}, expected {:?}",
            t.snap_settings
        ))
    );
    t.snap_settings.settle(got);
    let mut present = BTreeSet::new();
    for dir in std::fs::read_dir(data).unwrap().flatten() {
        let backups = dir.path().join("backups");
        for f in std::fs::read_dir(&backups).into_iter().flatten().flatten() {
            if f.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                continue;
            }
            let bytes = std::fs::read(f.path()).unwrap();
            let v: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!(
                    "{}",
                    ctx(&format!(
                        "snapshot {} is not JSON ({e}): {:?}",
                        f.path().display(),
                        String::from_utf8_lossy(&bytes)
                    ))
                )
            });
            if let Some(n) = v.get("snap").and_then(Value::as_u64) {
                present.insert(n);
            }
        }
    }
    let lost: Vec<_> = t.snap_required.difference(&present).collect();
    assert!(
        lost.is_empty(),
        "{}",
        ctx(&format!("acknowledged snapshots lost: {lost:?}"))
    );

    // Accounts.
    for (h, reg) in t.exists.iter_mut() {
        let n: i64 = db
            .query_row("SELECT count(*) FROM users WHERE handle = ?1", [h], |r| {
                r.get(0)
            })
            .unwrap();
        let got = n == 1;
        assert!(
            reg.allows(&got),
            "{}",
            ctx(&format!("{h} exists={got}, expected {reg:?}"))
        );
        reg.settle(got);
    }
    let (avatar, password): (Option<String>, Option<String>) = db
        .query_row(
            "SELECT (SELECT avatar FROM users WHERE handle = ?1), (SELECT password FROM users WHERE handle = ?2)",
            [AVATAR_USER, PW_USER],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let got = avatar_number(avatar);
    assert!(
        t.avatar.allows(&got),
        "{}",
        ctx(&format!("avatar {got:?}, expected {:?}", t.avatar))
    );
    t.avatar.settle(got);
    let stored = password.expect("pw-user keeps a password");
    let mut candidates = vec![t.password.acked];
    candidates.extend(t.password.pending.iter().copied());
    let mut matched = None;
    for n in candidates {
        if hasher
            .verify(&format!("pw-{n}"), Stored::Phc(&stored))
            .await
            .unwrap()
        {
            matched = Some(n);
            break;
        }
    }
    let n = matched.unwrap_or_else(|| {
        panic!(
            "{}",
            ctx(&format!("password matches none of {:?}", t.password))
        )
    });
    t.password.settle(n);
    drop(db);
}

/// After a restart: no temp file anywhere, and every account has its
/// folder with the full layout.
fn check_after_start(data: &Path, round: usize) {
    let left = temp_files(data);
    assert!(
        left.is_empty(),
        "round {round}: temp files left after start: {left:?}"
    );
    let db = rusqlite::Connection::open_with_flags(
        data.join("innkeeper.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut stmt = db.prepare("SELECT handle FROM users").unwrap();
    let handles: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for h in handles {
        for f in innkeeper::userdata::layout::FOLDERS {
            assert!(
                data.join(&h).join(f).is_dir(),
                "round {round}: {h}/{f} missing"
            );
        }
        assert!(
            data.join(&h).join("settings.json").is_file(),
            "round {round}: {h}/settings.json missing"
        );
    }
}

/// What one round's storm tasks share: the tracker, the flag that says the
/// kill is coming (set before the kill, so a request that fails while it is
/// still clear failed on a live server), and the round for messages.
#[derive(Clone)]
struct Round {
    t: Arc<Mutex<Tracker>>,
    stop: Arc<AtomicBool>,
    next: Arc<AtomicU64>,
    round: usize,
}

impl Round {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// A request that got no answer: expected once the kill is announced,
    /// a failure of the live server before that.
    fn lost(&self, what: &str, e: &str) {
        assert!(
            self.stopped(),
            "round {}: {what} failed on the live server: {e}",
            self.round
        );
    }

    /// Counts an acknowledged write after `apply` recorded it.
    fn acked(&self, apply: impl FnOnce(&mut Tracker)) {
        let mut t = self.t.lock().unwrap();
        apply(&mut t);
        t.acked_writes += 1;
        t.round_acked += 1;
    }
}

/// Logs in for the storm of `round`; a login that fails fails the test (a
/// storm whose tasks never logged in would write nothing and prove nothing).
async fn storm_login(base: &str, handle: &str, round: usize) -> Session {
    Session::login(base, handle, "")
        .await
        .unwrap_or_else(|e| panic!("round {round}: storm login as {handle} failed: {e}"))
}

/// The storm: one task per kind of write, each with one request in flight.
/// Every task is logged in before this returns, so the kill that follows
/// lands among writes, not logins. A task ends when the kill is announced
/// (or a request dies with the server after it); any other answer than the
/// expected one panics.
async fn storm(base: &str, r: &Round, seed: u64) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    for (i, &h) in SAVERS.iter().enumerate() {
        let s = storm_login(base, h, r.round).await;
        let r = r.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(seed ^ ((i as u64 + 11) * 0x9e37_79b9));
            while !r.stopped() {
                let k = r.next.fetch_add(1, Ordering::Relaxed);
                let pad = "x".repeat(rng.below(30_000) as usize);
                r.t.lock()
                    .unwrap()
                    .saves
                    .get_mut(h)
                    .unwrap()
                    .attempt(Some(k));
                match s
                    .post("/api/settings/save", json!({ "counter": k, "pad": pad }))
                    .await
                {
                    Ok((200, _)) => r.acked(|t| t.saves.get_mut(h).unwrap().ack(Some(k))),
                    Ok((status, body)) => panic!("save answered {status}: {body}"),
                    Err(e) => return r.lost("save", &e),
                }
            }
        }));
    }
    {
        let s = storm_login(base, SNAP_USER, r.round).await;
        let r = r.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(seed ^ 0x5a5a_1234);
            while !r.stopped() {
                let k = r.next.fetch_add(1, Ordering::Relaxed);
                r.t.lock().unwrap().snap_settings.attempt(Some(k));
                match s.post("/api/settings/save", json!({ "snap": k })).await {
                    Ok((200, _)) => r.acked(|t| t.snap_settings.ack(Some(k))),
                    Ok((status, body)) => panic!("save answered {status}: {body}"),
                    Err(e) => return r.lost("save", &e),
                }
                match s.post("/api/settings/make-snapshot", json!({})).await {
                    Ok((204, _)) => r.acked(|t| {
                        t.snap_required.insert(k);
                    }),
                    Ok((status, body)) => panic!("make-snapshot answered {status}: {body}"),
                    Err(e) => return r.lost("make-snapshot", &e),
                }
                if rng.below(3) != 0 {
                    continue;
                }
                let list = match s.post("/api/settings/get-snapshots", json!({})).await {
                    Ok((200, list)) => list,
                    Ok((status, body)) => panic!("get-snapshots answered {status}: {body}"),
                    Err(e) => return r.lost("get-snapshots", &e),
                };
                let list: Vec<Value> = serde_json::from_str(&list).expect("snapshot list");
                if list.is_empty() {
                    continue;
                }
                let name = list[rng.below(list.len() as u64) as usize]["name"]
                    .as_str()
                    .unwrap()
                    .to_string();
                let text = match s
                    .post("/api/settings/load-snapshot", json!({ "name": name }))
                    .await
                {
                    Ok((200, text)) => text,
                    Ok((status, body)) => panic!("load-snapshot answered {status}: {body}"),
                    Err(e) => return r.lost("load-snapshot", &e),
                };
                let j = serde_json::from_str::<Value>(&text)
                    .expect("snapshot is JSON")
                    .get("snap")
                    .and_then(Value::as_u64);
                r.t.lock().unwrap().snap_settings.attempt(j);
                match s
                    .post("/api/settings/restore-snapshot", json!({ "name": name }))
                    .await
                {
                    Ok((204, _)) => r.acked(|t| t.snap_settings.ack(j)),
                    Ok((status, body)) => panic!("restore answered {status}: {body}"),
                    Err(e) => return r.lost("restore-snapshot", &e),
                }
            }
        }));
    }
    {
        // Accounts: create and delete the churn handles.
        let s = storm_login(base, "default-user", r.round).await;
        let r = r.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(seed ^ 0x77_0000);
            while !r.stopped() {
                let h = CHURN[rng.below(CHURN.len() as u64) as usize];
                let create = rng.below(2) == 0;
                r.t.lock()
                    .unwrap()
                    .exists
                    .get_mut(h)
                    .unwrap()
                    .attempt(create);
                let answer = if create {
                    s.post("/api/users/create", json!({ "handle": h, "name": h }))
                        .await
                } else {
                    s.post(
                        "/api/users/delete",
                        json!({ "handle": h, "purge": rng.below(2) == 0 }),
                    )
                    .await
                };
                match answer {
                    Ok((200 | 409, _)) if create => {}
                    Ok((204, _)) if !create => {}
                    Ok((status, body)) => panic!("create={create} answered {status}: {body}"),
                    Err(e) => return r.lost("create or delete", &e),
                }
                r.acked(|t| t.exists.get_mut(h).unwrap().ack(create));
            }
        }));
    }
    {
        // Passwords and avatars, as the admin.
        let s = storm_login(base, "default-user", r.round).await;
        let r = r.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(seed ^ 0x1357);
            while !r.stopped() {
                let k = r.next.fetch_add(1, Ordering::Relaxed);
                if rng.below(2) == 0 {
                    r.t.lock().unwrap().password.attempt(k);
                    match s
                        .post("/api/users/change-password", json!({ "handle": PW_USER, "newPassword": format!("pw-{k}") }))
                        .await
                    {
                        Ok((204, _)) => r.acked(|t| t.password.ack(k)),
                        Ok((status, body)) => panic!("change-password answered {status}: {body}"),
                        Err(e) => return r.lost("change-password", &e),
                    }
                } else {
                    r.t.lock().unwrap().avatar.attempt(Some(k));
                    match s
                        .post("/api/users/change-avatar", json!({ "handle": AVATAR_USER, "avatar": format!("data:image/png;base64,QUFB{k}") }))
                        .await
                    {
                        Ok((204, _)) => r.acked(|t| t.avatar.ack(Some(k))),
                        Ok((status, body)) => panic!("change-avatar answered {status}: {body}"),
                        Err(e) => return r.lost("change-avatar", &e),
                    }
                }
            }
        }));
    }
    tasks
}

async fn setup(base: &str) {
    let s = Session::login(base, "default-user", "")
        .await
        .expect("admin login");
    for h in SAVERS.iter().chain([&SNAP_USER, &AVATAR_USER]) {
        let (status, body) = s
            .post("/api/users/create", json!({ "handle": h, "name": h }))
            .await
            .unwrap();
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = s
        .post(
            "/api/users/create",
            json!({ "handle": PW_USER, "name": PW_USER, "password": "pw-0" }),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_kills_lose_no_acknowledged_write() {
    let long = std::env::var("INNKEEPER_LONG_TESTS").is_ok_and(|v| v == "1");
    let kills = if long { 500 } else { 50 };
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("crash storm: {kills} kills, seed {seed}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.yaml"),
        format!("{}numberOfBackups: 100000\n", child::FAST_CONFIG),
    )
    .unwrap();
    let data = dir.path().join("data");
    let hasher = Hasher::new(4, 8, 1, 1).unwrap();
    let t = Arc::new(Mutex::new(Tracker {
        saves: SAVERS
            .iter()
            .map(|h| (h.to_string(), Reg::new(None)))
            .collect(),
        snap_settings: Reg::new(None),
        snap_required: BTreeSet::new(),
        exists: CHURN
            .iter()
            .map(|h| (h.to_string(), Reg::new(false)))
            .collect(),
        password: Reg::new(0),
        avatar: Reg::new(None),
        acked_writes: 0,
        round_acked: 0,
    }));
    let next = Arc::new(AtomicU64::new(1));
    let mut rng = Rng(seed);
    let began = Instant::now();
    let mut temp_seen = 0;
    let mut server = ChildServer::start(dir.path()).expect("first start");
    setup(&server.base).await;
    let mut per_round = Vec::with_capacity(kills);
    for round in 0..kills {
        t.lock().unwrap().round_acked = 0;
        let r = Round {
            t: t.clone(),
            stop: Arc::new(AtomicBool::new(false)),
            next: next.clone(),
            round,
        };
        let tasks = storm(&server.base, &r, seed ^ round as u64).await;
        // Kill somewhere in the writes: a random moment after the first one
        // of the round was acknowledged (waited for, bounded).
        let deadline = Instant::now() + Duration::from_secs(30);
        while t.lock().unwrap().round_acked == 0 {
            assert!(
                Instant::now() < deadline,
                "round {round}: no write acknowledged within 30 s of the storm's start"
            );
            if tasks.iter().any(|task| task.is_finished()) {
                break; // its panic is reported below
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.below(400))).await;
        // Announced first: a request that fails while the flag is clear
        // failed on a live server.
        r.stop.store(true, Ordering::SeqCst);
        server.kill();
        for task in tasks {
            tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .unwrap_or_else(|_| panic!("round {round}: a storm task outlived the kill by 30 s"))
                .unwrap_or_else(|e| panic!("round {round}: a storm task failed: {e}"));
        }
        let acked = t.lock().unwrap().round_acked;
        assert!(acked > 0, "round {round}: no write acknowledged");
        per_round.push(acked);
        temp_seen += temp_files(&data).len();
        {
            let mut copy = std::mem::take(&mut *t.lock().unwrap());
            check_after_kill(&data, &mut copy, &hasher, round).await;
            *t.lock().unwrap() = copy;
        }
        server = ChildServer::start(dir.path()).unwrap_or_else(|e| panic!("round {round}: {e}"));
        let health = reqwest::get(server.url("/healthz")).await.expect("healthz");
        assert_eq!(health.status(), 200, "round {round}");
        check_after_start(&data, round);
    }
    let status = server.stop();
    assert!(status.is_some_and(|s| s.success()), "SIGTERM exits 0");
    let acked = t.lock().unwrap().acked_writes;
    assert_eq!(
        acked,
        per_round.iter().sum::<u64>(),
        "every write counted in its round"
    );
    println!(
        "crash storm: survived {kills} SIGKILLs with 0 lost of {acked} acknowledged writes \
         ({} to {} a round; {temp_seen} temp files left by kills, all swept at start) in {:.1} s",
        per_round.iter().min().unwrap_or(&0),
        per_round.iter().max().unwrap_or(&0),
        began.elapsed().as_secs_f64()
    );
}

/// Temp files a crash left anywhere under the data root — in the folder of
/// an account deleted since, or a database copy of an interrupted full
/// backup — are gone after a start; other files stay.
#[test]
fn start_sweeps_temp_files_from_the_whole_root() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.yaml"), child::FAST_CONFIG).unwrap();
    let data = dir.path().join("data");
    let orphans = [
        data.join(format!("{TEMP_PREFIX}backup-0123456789abcdef.db")),
        data.join("gone-user")
            .join(format!("{TEMP_PREFIX}settings.json-1")),
        data.join("gone-user/backups")
            .join(format!("{TEMP_PREFIX}snapshot-2")),
        data.join("default-user/chats")
            .join(format!("{TEMP_PREFIX}x")),
    ];
    for p in &orphans {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "half").unwrap();
    }
    std::fs::write(data.join("gone-user/keep.json"), "{}").unwrap();
    let server = ChildServer::start(dir.path()).expect("starts");
    for p in &orphans {
        assert!(!p.exists(), "{} left", p.display());
    }
    assert!(data.join("gone-user/keep.json").is_file());
    assert!(server.stop().is_some_and(|s| s.success()));
}
