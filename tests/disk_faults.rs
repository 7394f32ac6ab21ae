//! Disk faults: a full disk, a read-only folder, a target that cannot be
//! replaced. Each turns into a clear JSON error for that request (507) and
//! a log line — not a crash, not a torn file, not a leftover temp file —
//! and the server goes on once the fault is gone.
//!
//! The full-disk and read-only variants need `mount`. Run as root (as CI
//! runs the suite) a refused mount fails them; without root they are
//! skipped with a line on the terminal, and the variant that works
//! everywhere (a settings.json replaced by a folder) still runs. Each test
//! reads only its own log lines.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::Server;
use innkeeper::userdata::atomic::TEMP_PREFIX;
use serde_json::json;

/// The log lines of one test. The subscriber is the default of the test's
/// own thread only, where its current-thread runtime runs the server it
/// starts (`#[tokio::test]` without a flavor): tests running side by side
/// in this binary cannot see each other's lines.
struct TestLog {
    buf: Arc<Mutex<Vec<u8>>>,
    _default: tracing::subscriber::DefaultGuard,
}

impl TestLog {
    fn start() -> TestLog {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || LogWriter(writer.clone()))
            .finish();
        TestLog {
            buf,
            _default: tracing::subscriber::set_default(subscriber),
        }
    }

    fn has(&self, needle: &str) -> bool {
        String::from_utf8_lossy(&self.buf.lock().unwrap()).contains(needle)
    }
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);
impl std::io::Write for LogWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Unmounts on drop, whatever happens in the test.
struct Mount(PathBuf);
impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Whether this process runs with effective uid 0 (the `Uid:` line of
/// /proc/self/status: real, effective, saved, filesystem).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// Runs `mount <args> <target>`. A refusal fails the test when running as
/// root (CI runs the suite as root, where mounts work, so a refusal there
/// means the variant silently stopped testing anything); only without root
/// is the variant skipped, said on the terminal even when output is
/// captured.
fn mount(args: &[&str], target: &Path, variant: &str) -> Option<Mount> {
    let why = match Command::new("mount").args(args).arg(target).output() {
        Ok(o) if o.status.success() => return Some(Mount(target.to_path_buf())),
        Ok(o) => format!(
            "{}: {}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Err(e) => format!("mount did not run: {e}"),
    };
    assert!(
        !is_root(),
        "disk faults: mount {args:?} refused although running as root ({why}); \
         the {variant} variant must run here"
    );
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: disk faults: the {variant} variant needs mount, refused without root ({why})"
    );
    None
}

fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            } else if e.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                out.push(e.path());
            }
        }
    }
    out
}

fn settings_of(s: &Server, h: &str) -> String {
    std::fs::read_to_string(s.user_dir(h).join("settings.json")).unwrap()
}

#[tokio::test]
async fn a_settings_file_that_cannot_be_replaced_is_a_clean_507() {
    let log = TestLog::start();
    let s = Server::start().await;
    s.create_user("bob", None, false).await;
    let mut c = s.login("bob", "").await;
    assert!(!log.has("storage error"), "a fresh log");
    let target = s.user_dir("bob").join("settings.json");
    std::fs::remove_file(&target).unwrap();
    std::fs::create_dir_all(target.join("in-the-way")).unwrap();
    let a = c.send("/api/settings/save", json!({"x": 1}), &[]).await;
    assert_eq!(a.status, 507, "{}", a.body);
    assert!(
        a.error().starts_with("Could not write to the data folder"),
        "{}",
        a.body
    );
    assert!(target.join("in-the-way").is_dir());
    assert!(temp_files(&s.data_root()).is_empty(), "temp files left");
    assert!(log.has("storage error"), "no log line");
    // Fault gone: the next save works.
    std::fs::remove_dir_all(&target).unwrap();
    let a = c.send("/api/settings/save", json!({"x": 2}), &[]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(settings_of(&s, "bob").contains("\"x\": 2"));
    s.stop().await;
}

#[tokio::test]
async fn a_full_disk_is_a_clean_507_and_the_old_file_stays() {
    let log = TestLog::start();
    let outer = tempfile::tempdir().unwrap();
    let mnt = outer.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let tmpfs = ["-t", "tmpfs", "-o", "size=4m", "tmpfs"];
    let Some(_m) = mount(&tmpfs, &mnt, "full-disk") else {
        return;
    };
    let root = mnt.join("data");
    let s = Server::start_with(|c| c.data_root = root.clone()).await;
    s.create_user("bob", None, false).await;
    s.create_user("boss", Some("pw"), true).await;
    let mut c = s.login("bob", "").await;
    let mut admin = s.login("boss", "pw").await;
    let a = c
        .send("/api/settings/save", json!({"v": "before"}), &[])
        .await;
    assert_eq!(a.status, 200);
    let before = settings_of(&s, "bob");
    assert!(!log.has("storage error"), "a fresh log");
    // Fill the disk to the last byte.
    let filler = mnt.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let small = [0u8; 512];
        while f.write_all(&small).is_ok() {}
        let _ = f.sync_all();
    }
    let big = "y".repeat(200_000);
    let a = c
        .send("/api/settings/save", json!({"v": "after", "pad": big}), &[])
        .await;
    assert_eq!(a.status, 507, "{}", a.body);
    assert!(a.error().contains("data folder"), "{}", a.body);
    assert_eq!(settings_of(&s, "bob"), before, "the old file stays whole");
    assert!(temp_files(&root).is_empty(), "temp files left");
    // Account writes that need new folders fail cleanly too.
    let a = admin
        .send(
            "/api/users/create",
            json!({"handle": "newbie", "name": "N"}),
            &[],
        )
        .await;
    assert!(
        a.status.as_u16() == 507 || a.status.as_u16() == 200,
        "{} {}",
        a.status,
        a.body
    );
    assert!(a.body.is_object(), "a JSON answer");
    assert!(log.has("storage error"), "no log line");
    let r = c.fetch("/healthz").await;
    assert_eq!(r.status, 200);
    // Space again: everything works, and no half-made account is left.
    std::fs::remove_file(&filler).unwrap();
    let a = c
        .send("/api/settings/save", json!({"v": "later"}), &[])
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let rows = s
        .app
        .store
        .run(|c| innkeeper::store::users::list(c))
        .await
        .unwrap();
    for r in rows {
        for f in innkeeper::userdata::layout::FOLDERS {
            assert!(s.user_dir(&r.handle).join(f).is_dir(), "{}/{f}", r.handle);
        }
    }
    assert_eq!(s.app.store.integrity_check().unwrap(), "ok");
    s.stop().await;
}

#[tokio::test]
async fn a_read_only_folder_is_a_clean_507() {
    let log = TestLog::start();
    let s = Server::start().await;
    s.create_user("bob", None, false).await;
    let mut c = s.login("bob", "").await;
    let a = c
        .send("/api/settings/save", json!({"v": "before"}), &[])
        .await;
    assert_eq!(a.status, 200);
    let before = settings_of(&s, "bob");
    let dir = s.user_dir("bob");
    let Some(m) = mount(&["--bind", dir.to_str().unwrap()], &dir, "read-only").map(|m| {
        let ro = Command::new("mount")
            .args(["-o", "remount,ro,bind"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        (m, ro)
    }) else {
        s.stop().await;
        return;
    };
    assert!(m.1, "remount read-only");
    assert!(!log.has("storage error"), "a fresh log");
    for (path, body) in [
        ("/api/settings/save", json!({"v": "after"})),
        ("/api/users/reset-settings", json!({})),
    ] {
        let a = c.send(path, body, &[]).await;
        assert_eq!(a.status, 507, "{path}: {}", a.body);
        assert!(a.body["error"].is_string(), "{path}: {}", a.body);
    }
    assert_eq!(settings_of(&s, "bob"), before);
    assert!(log.has("storage error"), "no log line");
    drop(m);
    let a = c
        .send("/api/settings/save", json!({"v": "after"}), &[])
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(temp_files(&s.data_root()).is_empty());
    s.stop().await;
}
