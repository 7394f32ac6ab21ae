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
