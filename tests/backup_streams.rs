//! Backup downloads against a real server: a handful of downloads that
//! never read cannot take the server down (the rest are refused with 503
//! and `Retry-After`, other requests still answer), and a backup is
//! audited, and its hook runs, only once its last byte went out.

mod common;

use std::time::Duration;

use common::{Answer, Client, Server};
use reqwest::StatusCode;
use serde_json::json;

/// Bytes no compressor shrinks (xorshift), quickly made.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Larger than everything between a stalled reader and the zip thread
/// (the socket buffers of both ends, which may grow to tens of MiB, and
/// the channel), so an unread download cannot finish into them.
const BIG: usize = 80 << 20;

/// A user whose folder holds one big picture (stored, not deflated).
async fn user_with_big_folder(s: &Server, handle: &str) -> Vec<u8> {
    s.create_user(handle, Some("pw"), false).await;
    let data = noise(BIG, 7);
    std::fs::write(s.user_dir(handle).join("user/images/big.png"), &data).unwrap();
    data
}

async fn backup_of(c: &mut Client, handle: &str) -> reqwest::Response {
    c.post_raw("/api/users/backup", json!({ "handle": handle }))
        .await
}

/// Rows of one action in the audit log.
async fn audited(s: &Server, action: &'static str) -> usize {
    s.app
        .store
        .run(|c| innkeeper::store::audit::list(c, None, 1000))
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == action)
        .count()
}

/// Answers within a generous bound (a stalled server would never answer).
async fn promptly<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .unwrap_or_else(|_| panic!("{what} did not answer"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_downloads_are_capped_and_the_server_keeps_answering() {
    let s = Server::start_with(|c| c.backups.allow_full_data_backup = true).await;
    let data = user_with_big_folder(&s, "bob").await;
    let mut bob = s.login("bob", "pw").await;
    let cap = innkeeper::userdata::backup::MAX_CONCURRENT;

    // Downloads whose bodies are never read: their archives stall.
    let mut stalled = Vec::new();
    for _ in 0..cap {
        let resp = promptly("a backup", backup_of(&mut bob, "bob")).await;
        assert_eq!(resp.status(), StatusCode::OK);
        stalled.push(resp);
    }
    // Beyond the cap: refused at once, with a JSON reason and Retry-After.
    for _ in 0..3 {
        let a = Answer::read(promptly("a refused backup", backup_of(&mut bob, "bob")).await).await;
        // (The error text only: a wrong answer here may be a whole zip.)
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.error());
        assert!(a.error().contains("Too many backups"), "{}", a.error());
        let retry: u64 = a.header("retry-after").unwrap().parse().unwrap();
        assert!(retry > 0);
    }
    // The whole-root backup shares the places.
    let mut admin = s.login("default-user", "").await;
    let a = Answer::read(
        promptly(
            "a full backup",
            admin.post_raw("/api/backup/full", json!({})),
        )
        .await,
    )
    .await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.error());

    // Everything else still answers, the database included.
    let me = promptly("/api/users/me", bob.fetch("/api/users/me")).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["handle"], "bob");
    let (status, body) = promptly(
        "a settings save",
        bob.post("/api/settings/save", json!({ "stalled": true })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) =
        promptly("a settings read", bob.post("/api/settings/get", json!({}))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["settings"].as_str().unwrap().contains("stalled"),
        "{body}"
    );

    // Clients that leave give their places back.
    drop(stalled);
    let mut fresh = None;
    for _ in 0..200 {
        let resp = backup_of(&mut bob, "bob").await;
        if resp.status() == StatusCode::OK {
            fresh = Some(resp);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let resp = fresh.expect("a place came back after the stalled clients left");
    let bytes = promptly("a whole backup", resp.bytes()).await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut entry = zip.by_name("user/images/big.png").unwrap();
    let mut got = Vec::new();
    std::io::Read::read_to_end(&mut entry, &mut got).unwrap();
    assert!(got == data, "the archive holds the whole file");
    s.stop().await;
}

const RECORDER: &str = r#"
innkeeper.on("backup_created", function(ev)
  innkeeper.admin_file_append("events.log", "backup_created " .. tostring(ev.handle))
end)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_is_audited_and_announced_only_once_complete() {
    let s = Server::start_with(|c| {
        std::fs::create_dir_all(&c.hooks.dir).unwrap();
        std::fs::write(c.hooks.dir.join("record.lua"), RECORDER).unwrap();
    })
    .await;
    user_with_big_folder(&s, "bob").await;
    let events = s.app.config.hooks.dir.join("private/events.log");
    let announced = || {
        std::fs::read_to_string(&events)
            .unwrap_or_default()
            .lines()
            .filter(|l| *l == "backup_created bob")
            .count()
    };
    let mut bob = s.login("bob", "pw").await;
    let mut resp = backup_of(&mut bob, "bob").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let first = promptly("the first bytes", resp.chunk())
        .await
        .unwrap()
        .expect("some bytes");
    let mut total = first.len();
    assert!(total < BIG, "far from complete");
    assert_eq!(audited(&s, "user.backup").await, 0, "audited mid-download");
    assert_eq!(announced(), 0, "announced mid-download");

    // The rest of the body (each chunk bounded in time, the loop by size).
    while let Some(chunk) = promptly("the next bytes", resp.chunk()).await.unwrap() {
        total += chunk.len();
        assert!(total < 2 * BIG, "more bytes than the archive can hold");
    }
    assert!(total > BIG);
    assert_eq!(audited(&s, "user.backup").await, 1);
    assert_eq!(announced(), 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_cut_short_is_never_audited() {
    let s = Server::start().await;
    user_with_big_folder(&s, "bob").await;
    let mut bob = s.login("bob", "pw").await;
    let mut resp = backup_of(&mut bob, "bob").await;
    assert_eq!(resp.status(), StatusCode::OK);
    promptly("the first bytes", resp.chunk()).await.unwrap();
    drop(resp);
    drop(bob);
    // Its place comes back once the writer has noticed (bounded wait).
    for _ in 0..200 {
        if s.app.backups.free() == innkeeper::userdata::backup::MAX_CONCURRENT {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        s.app.backups.free(),
        innkeeper::userdata::backup::MAX_CONCURRENT
    );
    assert_eq!(audited(&s, "user.backup").await, 0);
    s.stop().await;
}
