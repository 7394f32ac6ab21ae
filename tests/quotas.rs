//! Storage quotas (issue 15, point 6): over the quota, settings saves and
//! snapshots get 507 with how far over, reads keep working and nothing is
//! touched; an admin's per-account quota overrides the default; the usage
//! is measured once and refreshed in the background, not per request.

mod common;

use std::time::Duration;

use common::Server;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn over_the_quota_writes_get_507_and_reads_still_work() {
    let s = Server::start_with(|c| c.quotas.default_mb = 1).await;
    s.create_user("boss", Some("pw"), true).await;
    s.create_user("alice", Some("pw"), false).await;
    let mut alice = s.login("alice", "pw").await;
    let a = alice
        .send("/api/settings/save", json!({ "a": 1 }), &[])
        .await;
    assert_eq!(a.status, StatusCode::OK, "under the quota: {}", a.body);
    let used = alice
        .send("/api/users/usage", json!({ "handle": "alice" }), &[])
        .await;
    assert_eq!(used.body["quotaBytes"], 1024 * 1024);

    // Two MiB land in her folder (as the app would write them).
    let big = s.user_dir("alice").join("chats/big.jsonl");
    std::fs::create_dir_all(big.parent().unwrap()).unwrap();
    std::fs::write(&big, vec![b'x'; 2 * 1024 * 1024]).unwrap();
    // The figure measured before is still trusted for a minute...
    let a = alice
        .send("/api/settings/save", json!({ "a": 2 }), &[])
        .await;
    assert_eq!(a.status, StatusCode::OK);
    // ...then measured again in the background.
    s.app.clock.advance(61_000);
    let (mut refused, mut last_ok) = (None, 2);
    for i in 3..103 {
        let a = alice
            .send("/api/settings/save", json!({ "a": i }), &[])
            .await;
        if a.status == StatusCode::INSUFFICIENT_STORAGE {
            refused = Some(a);
            break;
        }
        assert_eq!(a.status, StatusCode::OK);
        last_ok = i;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let a = refused.expect("the new measurement refuses the save");
    assert!(
        a.error()
            .starts_with("Storage quota exceeded (2.0 MiB of 1.0 MiB used)"),
        "{}",
        a.body
    );
    let settings = std::fs::read_to_string(s.user_dir("alice").join("settings.json")).unwrap();
    assert!(
        settings.contains(&format!("\"a\": {last_ok}")),
        "nothing touched: {settings}"
    );
    let a = alice
        .send("/api/settings/make-snapshot", json!({}), &[])
        .await;
    assert_eq!(a.status, StatusCode::INSUFFICIENT_STORAGE);
    // Reads keep working.
    let a = alice.send("/api/settings/get", json!({}), &[]).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(alice.fetch("/api/users/me").await.status, StatusCode::OK);

    // The admin raises her quota, or takes it away.
    let mut admin = s.login("boss", "pw").await;
    let a = admin
        .send(
            "/api/users/set-quota",
            json!({ "handle": "alice", "mb": 5 }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let a = alice
        .send("/api/settings/save", json!({ "a": 4 }), &[])
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let users = admin.send("/api/users/get", json!({}), &[]).await;
    let row = users
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["handle"] == "alice")
        .cloned()
        .unwrap();
    assert_eq!(row["quotaMb"], 5);
    let a = admin
        .send(
            "/api/users/set-quota",
            json!({ "handle": "alice", "mb": null }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let a = alice
        .send("/api/settings/save", json!({ "a": 5 }), &[])
        .await;
    assert_eq!(
        a.status,
        StatusCode::INSUFFICIENT_STORAGE,
        "back to the default"
    );
    let a = admin
        .send(
            "/api/users/set-quota",
            json!({ "handle": "alice", "mb": 0 }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let a = alice
        .send("/api/settings/save", json!({ "a": 6 }), &[])
        .await;
    assert_eq!(a.status, StatusCode::OK, "0 = no quota");

    // Bad requests, and only admins.
    for body in [
        json!({ "handle": "alice", "mb": -1 }),
        json!({ "handle": "alice", "mb": "lots" }),
        json!({ "handle": "alice" }),
    ] {
        let a = admin.send("/api/users/set-quota", body.clone(), &[]).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}");
    }
    let a = admin
        .send(
            "/api/users/set-quota",
            json!({ "handle": "nobody", "mb": 1 }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = alice
        .send(
            "/api/users/set-quota",
            json!({ "handle": "alice", "mb": 0 }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let log = admin
        .send("/api/audit/list", json!({}), &[])
        .await
        .body
        .to_string();
    assert!(log.contains("user.quota"), "{log}");
    s.stop().await;
}

#[tokio::test]
async fn without_quotas_nothing_is_measured_or_refused() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw"), false).await;
    let mut alice = s.login("alice", "pw").await;
    std::fs::write(
        s.user_dir("alice").join("big.bin"),
        vec![0u8; 3 * 1024 * 1024],
    )
    .unwrap();
    let a = alice
        .send("/api/settings/save", json!({ "a": 1 }), &[])
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let used = alice
        .send("/api/users/usage", json!({ "handle": "alice" }), &[])
        .await;
    assert_eq!(used.body["quotaBytes"], serde_json::Value::Null);
    s.stop().await;
}
