//! Sessions under pressure (issue 13, points 7 and 8): anonymous CSRF
//! tokens are stateless, so a flood of `/csrf-token` cannot push out a real
//! visitor's token; the idle sweep judges by the in-memory time of last use,
//! not the database's up-to-a-minute-old copy. The session list (issue
//! 15, point 4): where an account is signed in, and ending any of it.

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

/// Logs `handle` in as a browser `ua` from `ip` (the test peer is a
/// trusted proxy, so the server believes `X-Forwarded-For`).
async fn login_as_device(s: &Server, handle: &str, ua: &str, ip: &str) -> (common::Client, String) {
    let mut c = s.client();
    let a = c
        .send(
            "/api/users/login",
            json!({ "handle": handle, "password": "pw" }),
            &[("User-Agent", ua), ("X-Forwarded-For", ip)],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let cookie = a.session_cookie().expect("session cookie");
    (c, cookie)
}

async fn ping_status(s: &Server, cookie: &str) -> (StatusCode, serde_json::Value) {
    let resp = reqwest::Client::new()
        .get(s.url("/api/ping"))
        .header("Cookie", format!("innkeeper_sid={cookie}"))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or_default())
}

#[tokio::test]
async fn the_session_list_shows_where_an_account_is_signed_in_and_ends_any_of_them() {
    let s = Server::start_with(common::forwarding).await;
    s.create_user("alice", Some("pw"), false).await;
    s.create_user("bob", Some("pw"), false).await;
    s.create_user("boss", Some("pw"), true).await;
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
    let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    let (mut laptop, laptop_cookie) = login_as_device(&s, "alice", firefox, "10.0.0.5").await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let (_phone, phone_cookie) = login_as_device(&s, "alice", iphone, "10.0.0.6").await;

    // Newest first, with where each came from; the asking one is marked.
    let a = laptop.send("/api/sessions/list", json!({}), &[]).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["handle"], "alice");
    let list = a.body["sessions"].as_array().unwrap().clone();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["device"], "Safari on iPhone");
    assert_eq!(list[0]["ip"], "10.0.0.6");
    assert_eq!(list[0]["current"], false);
    assert_eq!(list[1]["device"], "Firefox on Linux");
    assert_eq!(list[1]["ip"], "10.0.0.5");
    assert_eq!(list[1]["current"], true);
    for row in &list {
        assert!(row["lastSeen"].as_i64().unwrap() >= row["created"].as_i64().unwrap());
    }
    // The reference is neither the cookie nor the key it is stored under.
    let text = a.body.to_string();
    for cookie in [&laptop_cookie, &phone_cookie] {
        assert!(!text.contains(cookie.as_str()));
        let stored = innkeeper::sessions::hash_id(cookie);
        assert!(!text.contains(&stored));
    }
    let phone_id = list[0]["id"].as_str().unwrap().to_string();

    // Another user can neither see nor end them.
    let mut bob = s.login("bob", "pw").await;
    let a = bob
        .send("/api/sessions/list", json!({ "handle": "alice" }), &[])
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = bob
        .send(
            "/api/sessions/end",
            json!({ "handle": "alice", "id": phone_id }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // Nor by naming it as their own.
    let a = bob
        .send("/api/sessions/end", json!({ "id": phone_id }), &[])
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
    assert_eq!(
        ping_status(&s, &phone_cookie).await.0,
        StatusCode::NO_CONTENT
    );

    // Ending one: the phone is signed out and learns why.
    let a = laptop
        .send("/api/sessions/end", json!({ "id": phone_id }), &[])
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    let (status, body) = ping_status(&s, &phone_cookie).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["sessionEnded"], "ended_elsewhere");
    let a = laptop
        .send("/api/sessions/end", json!({ "id": phone_id }), &[])
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = laptop.send("/api/sessions/end", json!({}), &[]).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);

    // Everywhere else: the tablet goes, the laptop stays.
    let (_tablet, tablet_cookie) = login_as_device(&s, "alice", iphone, "10.0.0.7").await;
    let a = laptop
        .send("/api/sessions/end-others", json!({}), &[])
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(
        ping_status(&s, &tablet_cookie).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ping_status(&s, &laptop_cookie).await.0,
        StatusCode::NO_CONTENT
    );
    let a = laptop.send("/api/sessions/list", json!({}), &[]).await;
    assert_eq!(a.body["sessions"].as_array().unwrap().len(), 1);

    // An admin sees anyone's and ends them all.
    let mut boss = s.login("boss", "pw").await;
    let a = boss
        .send("/api/sessions/list", json!({ "handle": "alice" }), &[])
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let rows = a.body["sessions"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["current"], false);
    let a = boss
        .send("/api/sessions/list", json!({ "handle": "nobody" }), &[])
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = boss
        .send(
            "/api/sessions/end-others",
            json!({ "handle": "alice" }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(
        ping_status(&s, &laptop_cookie).await.0,
        StatusCode::FORBIDDEN
    );
    // The admin's own session is not among them.
    let a = boss
        .send("/api/sessions/list", json!({ "handle": "alice" }), &[])
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body["sessions"].as_array().unwrap().is_empty());

    // Both kinds of ending are in the audit log.
    let a = boss.send("/api/audit/list", json!({}), &[]).await;
    let log = a.body.to_string();
    assert!(log.contains("session.end\""), "{log}");
    assert!(log.contains("session.end_others"), "{log}");
    // Without a session nothing is listed.
    let mut anon = s.client();
    let a = anon.send("/api/sessions/list", json!({}), &[]).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
}
