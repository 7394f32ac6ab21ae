//! Disk faults: a full disk, a read-only folder, a target that cannot be
//! replaced. Each turns into a clear JSON error for that request (507) and
//! a log line — not a crash, not a torn file, not a leftover temp file —
//! and the server goes on once the fault is gone.
//!
//! The full-disk and read-only variants need `mount` (root in a sandbox);
//! where it is refused they say so and the variant that works everywhere
//! (a settings.json replaced by a folder) still runs.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use common::Server;
use innkeeper::userdata::atomic::TEMP_PREFIX;
use serde_json::json;

/// Every log line of this test binary.
fn log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = buf.clone();
        let _ = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || LogWriter(writer.clone()))
            .try_init();
        buf
    })
    .clone()
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

fn logged(needle: &str) -> bool {
    String::from_utf8_lossy(&log().lock().unwrap()).contains(needle)
}

/// Unmounts on drop, whatever happens in the test.
struct Mount(PathBuf);
impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn mount(args: &[&str], target: &Path) -> Option<Mount> {
    let ok = Command::new("mount")
        .args(args)
        .arg(target)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| Mount(target.to_path_buf()))
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
    log();
    let s = Server::start().await;
    s.create_user("bob", None, false).await;
    let mut c = s.login("bob", "").await;
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
    assert!(logged("storage error"), "no log line");
    // Fault gone: the next save works.
    std::fs::remove_dir_all(&target).unwrap();
    let a = c.send("/api/settings/save", json!({"x": 2}), &[]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(settings_of(&s, "bob").contains("\"x\": 2"));
    s.stop().await;
}

#[tokio::test]
async fn a_full_disk_is_a_clean_507_and_the_old_file_stays() {
    log();
    let outer = tempfile::tempdir().unwrap();
    let mnt = outer.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let Some(_m) = mount(&["-t", "tmpfs", "-o", "size=4m", "tmpfs"], &mnt) else {
        println!("disk faults: tmpfs mount refused here; full-disk variant skipped");
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
    assert!(logged("storage error"), "no log line");
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
    log();
    let s = Server::start().await;
    s.create_user("bob", None, false).await;
    let mut c = s.login("bob", "").await;
    let a = c
        .send("/api/settings/save", json!({"v": "before"}), &[])
        .await;
    assert_eq!(a.status, 200);
    let before = settings_of(&s, "bob");
    let dir = s.user_dir("bob");
    let Some(m) = mount(&["--bind", dir.to_str().unwrap()], &dir).map(|m| {
        let ro = Command::new("mount")
            .args(["-o", "remount,ro,bind"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        (m, ro)
    }) else {
        println!("disk faults: bind mount refused here; read-only variant skipped");
        s.stop().await;
        return;
    };
    assert!(m.1, "remount read-only");
    for (path, body) in [
        ("/api/settings/save", json!({"v": "after"})),
        ("/api/users/reset-settings", json!({})),
    ] {
        let a = c.send(path, body, &[]).await;
        assert_eq!(a.status, 507, "{path}: {}", a.body);
        assert!(a.body["error"].is_string(), "{path}: {}", a.body);
    }
    assert_eq!(settings_of(&s, "bob"), before);
    assert!(logged("storage error"));
    drop(m);
    let a = c
        .send("/api/settings/save", json!({"v": "after"}), &[])
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(temp_files(&s.data_root()).is_empty());
    s.stop().await;
}
