//! Sessions under pressure (issue 13, points 7 and 8): anonymous CSRF
//! tokens are stateless, so a flood of `/csrf-token` cannot push out a real
//! visitor's token; the idle sweep judges by the in-memory time of last use,
//! not the database's up-to-a-minute-old copy.

mod common;

use std::time::Duration;

use common::Server;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_flood_of_csrf_tokens_does_not_push_out_a_visitors_token() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw"), false).await;
    let mut visitor = s.client();
    visitor.refresh_token().await;
    // Anyone can ask for tokens, as many as they like.
    let flood = reqwest::Client::new();
    let url = s.url("/csrf-token");
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (flood, url) = (flood.clone(), url.clone());
            tokio::spawn(async move {
                for _ in 0..1400 {
                    let r = flood.get(&url).send().await.expect("csrf");
                    assert_eq!(r.status(), 200);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    // 22,400 tokens later, the visitor's own still logs in.
    let (status, body) = visitor
        .post(
            "/api/users/login",
            json!({ "handle": "alice", "password": "pw" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A made-up or altered anonymous cookie gets no token that works.
    let forged = common::Replay::new(&s.base, "anon.1.00000000000000000000000000000000");
    let a = forged
        .post(
            "/api/users/login",
            "x",
            json!({ "handle": "alice", "password": "pw" }),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    s.stop().await;
}

#[tokio::test]
async fn the_idle_sweep_goes_by_the_last_use_in_memory() {
    let s = Server::start_with(|c| c.session_timeout = 120).await;
    s.create_user("alice", Some("pw"), false).await;
    let (alice, cookie) = s.login_with_cookie("alice", "pw").await;
    // Used 50 s later: too soon to be written to the database again.
    s.app.clock.advance(50_000);
    assert_eq!(alice.fetch("/api/users/me").await.status, StatusCode::OK);
    // 80 s after that, the stored time is 130 s old, the real one 80 s.
    s.app.clock.advance(80_000);
    tokio::time::sleep(Duration::from_millis(2500)).await; // two sweeps
                                                           // The session survives a restart: the database kept it.
    let s = s.restart().await;
    let again = common::Replay::new(&s.base, &cookie)
        .get("/api/users/me")
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    s.stop().await;
}

/// Slow hashes, so a login is still hashing when the account changes.
fn slow_hashes(c: &mut innkeeper::config::Config) {
    c.password_hash.log_n = 15;
    c.password_hash.r = 8;
    c.password_hash.p = 1;
}

#[tokio::test]
async fn a_login_hashing_while_the_password_changes_gets_no_working_session() {
    let s = Server::start_with(slow_hashes).await;
    let mut admin = s.login("default-user", "").await;
    for round in 0..3 {
        let handle = format!("racer{round}");
        s.create_user(&handle, Some("old"), false).await;
        let mut c = s.client();
        c.refresh_token().await;
        let h = handle.clone();
        let login = tokio::spawn(async move {
            let a = c
                .send(
                    "/api/users/login",
                    json!({ "handle": h, "password": "old" }),
                    &[],
                )
                .await;
            (a, c)
        });
        // The login is hashing now; the admin removes the password (no
        // hashing, so it lands meanwhile), which ends every session.
        tokio::time::sleep(Duration::from_millis(15)).await;
        let (status, body) = admin
            .post(
                "/api/users/change-password",
                json!({ "handle": handle, "newPassword": "" }),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let (answer, c) = login.await.unwrap();
        assert_ne!(answer.status.as_u16(), 500, "{}", answer.body);
        if answer.status == StatusCode::OK {
            // It finished before the change: the change ended it.
            assert_eq!(
                c.fetch("/api/users/me").await.status,
                StatusCode::FORBIDDEN,
                "round {round}"
            );
        } else {
            assert_eq!(
                answer.status,
                StatusCode::FORBIDDEN,
                "round {round}: {}",
                answer.body
            );
        }
    }
    s.stop().await;
}

#[tokio::test]
async fn a_login_racing_a_delete_is_refused_not_a_server_error() {
    let s = Server::start_with(slow_hashes).await;
    let mut admin = s.login("default-user", "").await;
    for round in 0..3 {
        let handle = format!("gone{round}");
        s.create_user(&handle, Some("pw"), false).await;
        let mut c = s.client();
        c.refresh_token().await;
        let h = handle.clone();
        let login = tokio::spawn(async move {
            c.send(
                "/api/users/login",
                json!({ "handle": h, "password": "pw" }),
                &[],
            )
            .await
        });
        tokio::time::sleep(Duration::from_millis(15)).await;
        let (status, _) = admin
            .post(
                "/api/users/delete",
                json!({ "handle": handle, "purge": true }),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let answer = login.await.unwrap();
        assert!(
            answer.status.is_client_error() || answer.status == StatusCode::OK,
            "round {round}: {} {}",
            answer.status,
            answer.body
        );
    }
    s.stop().await;
}

#[tokio::test]
async fn an_account_keeps_at_most_fifty_sessions_the_oldest_end_first() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw"), false).await;
    let mut cookies = Vec::new();
    for i in 0..55 {
        s.app.clock.advance(1); // distinct creation times
        let (_, cookie) = s.login_with_cookie("alice", "pw").await;
        cookies.push(cookie);
        let _ = i;
    }
    let count: i64 = s
        .app
        .store
        .run(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM sessions WHERE handle = 'alice'",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(count, innkeeper::sessions::MAX_SESSIONS_PER_USER as i64);
    for (i, cookie) in cookies.iter().enumerate() {
        let me = common::Replay::new(&s.base, cookie)
            .get("/api/users/me")
            .await;
        let want = if i < 5 {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::OK
        };
        assert_eq!(me.status, want, "session {i}");
    }
    s.stop().await;
}

/// Why a session ended is told to the browser that still holds its cookie
/// (`GET /api/ping` → 403 with `sessionEnded`), for each way one ends.
#[tokio::test]
async fn a_browser_learns_why_its_session_ended() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw-alice"), false).await;
    s.create_user("boss", Some("pw-boss"), true).await;
    let ended = |cookie: String| {
        let base = s.base.clone();
        async move {
            let resp = reqwest::Client::new()
                .get(format!("{base}/api/ping"))
                .header("Cookie", format!("innkeeper_sid={cookie}"))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 403);
            resp.json::<serde_json::Value>().await.unwrap()["sessionEnded"].clone()
        }
    };
    let (mut c, cookie) = s.login_with_cookie("alice", "pw-alice").await;
    let (status, _) = c.post("/api/users/logout", serde_json::json!({})).await;
    assert_eq!(status, 204);
    assert_eq!(ended(cookie).await, "logged_out");

    let (_, cookie) = s.login_with_cookie("alice", "pw-alice").await;
    let mut admin = s.login("boss", "pw-boss").await;
    let (status, _) = admin
        .post(
            "/api/users/change-password",
            serde_json::json!({ "handle": "alice", "newPassword": "pw-2" }),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(ended(cookie).await, "password_changed");

    let (_, cookie) = s.login_with_cookie("alice", "pw-2").await;
    let (status, _) = admin
        .post(
            "/api/users/disable",
            serde_json::json!({ "handle": "alice" }),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(ended(cookie).await, "disabled");
    let (status, _) = admin
        .post(
            "/api/users/enable",
            serde_json::json!({ "handle": "alice" }),
        )
        .await;
    assert_eq!(status, 204);

    let (_, cookie) = s.login_with_cookie("alice", "pw-2").await;
    let (status, _) = admin
        .post(
            "/api/users/delete",
            serde_json::json!({ "handle": "alice" }),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(ended(cookie).await, "deleted");
    // A cookie that never was a session gets no reason.
    assert_eq!(ended("f".repeat(64)).await, serde_json::Value::Null);
    s.stop().await;
}
