//! Temporary passwords (issue 15, point 3): an admin's reset can be
//! marked "change at next login"; that login then works for nothing but
//! choosing a new password, on every route, until it is chosen.

mod common;

use common::Server;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_temporary_password_allows_nothing_but_choosing_ones_own() {
    let s = Server::start().await;
    s.create_user("boss", Some("pw"), true).await;
    s.create_user("alice", Some("old"), false).await;
    let mut admin = s.login("boss", "pw").await;
    let a = admin
        .send(
            "/api/users/change-password",
            json!({ "handle": "alice", "newPassword": "temp-1", "temporary": true }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);

    // The login works and says what comes next.
    let mut alice = s.client();
    let a = alice
        .send(
            "/api/users/login",
            json!({ "handle": "alice", "password": "temp-1" }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["mustChangePassword"], true);
    let me = alice.fetch("/api/users/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["mustChangePassword"], true);

    // Nothing else works: every other route answers 403 and says why.
    for path in [
        "/api/settings/get",
        "/api/settings/save",
        "/api/users/backup",
        "/api/users/usage",
        "/api/users/change-name",
        "/api/users/reset-settings",
        "/api/sessions/list",
        "/api/settings/get-snapshots",
    ] {
        let a = alice.send(path, json!({ "handle": "alice" }), &[]).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}: {}", a.body);
        assert_eq!(a.body["mustChangePassword"], true, "{path}");
    }
    for path in [
        "/characters/x.png",
        "/user/files/a.txt",
        "/api/users/nothing",
    ] {
        let a = alice.fetch(path).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}: {}", a.body);
    }
    // An admin cannot make their own password temporary.
    let a = admin
        .send(
            "/api/users/change-password",
            json!({ "handle": "boss", "newPassword": "temp-2", "temporary": true }),
            &[],
        )
        .await;
    assert_eq!(
        a.status,
        StatusCode::BAD_REQUEST,
        "not one's own: {}",
        a.body
    );

    // Choosing one's own (with the temporary one as the old) ends it.
    let a = alice
        .send(
            "/api/users/change-password",
            json!({ "handle": "alice", "oldPassword": "temp-1", "newPassword": "mine" }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    assert_eq!(
        alice.fetch("/api/users/me").await.body["mustChangePassword"],
        false
    );
    let a = alice.send("/api/settings/get", json!({}), &[]).await;
    assert_eq!(a.status, StatusCode::OK);
    let mut again = s.client();
    let a = again
        .send(
            "/api/users/login",
            json!({ "handle": "alice", "password": "mine" }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.get("mustChangePassword").is_none(), "{}", a.body);

    // A temporary password can be neither one's own nor empty.
    let a = admin
        .send(
            "/api/users/change-password",
            json!({ "handle": "alice", "newPassword": "", "temporary": true }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = admin.send("/api/audit/list", json!({}), &[]).await;
    assert!(a.body.to_string().contains("set, temporary"), "{}", a.body);
    s.stop().await;
}

#[tokio::test]
async fn an_admin_on_a_temporary_password_can_only_change_their_own() {
    let s = Server::start().await;
    s.create_user("boss", Some("pw"), true).await;
    s.create_user("second", Some("pw"), true).await;
    s.create_user("alice", Some("old"), false).await;
    let mut second = s.login("second", "pw").await;
    let a = second
        .send(
            "/api/users/change-password",
            json!({ "handle": "boss", "newPassword": "temp", "temporary": true }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let mut boss = s.login("boss", "temp").await;
    let a = boss
        .send(
            "/api/users/change-password",
            json!({ "handle": "alice", "newPassword": "x" }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.body["mustChangePassword"], true);
    let a = boss.send("/api/users/get", json!({}), &[]).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // A recovery with the console code counts as choosing one's own.
    s.app
        .accounts()
        .console_recover("boss", Some("new-own"))
        .await
        .unwrap();
    let mut boss = s.login("boss", "new-own").await;
    let a = boss.send("/api/users/get", json!({}), &[]).await;
    assert_eq!(a.status, StatusCode::OK);
    s.stop().await;
}
