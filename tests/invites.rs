//! Invitations (issue 15, point 1): an admin's link lets someone create
//! their own account. Expiry, use counts, revocation, a used-up token,
//! set handles, handles taken, guessing limits, parallel use, the console
//! commands, and that no token is ever listed again.

mod common;

#[path = "common/child.rs"]
mod child;

use common::{Client, Server};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn invite(admin: &mut Client, body: Value) -> (String, Value) {
    let a = admin.send("/api/invites/create", body, &[]).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let token = a.body["token"].as_str().unwrap().to_string();
    assert_eq!(a.body["link"], format!("/invite/{token}"));
    (token, a.body["invite"].clone())
}

async fn accept(s: &Server, token: &str, handle: &str) -> (Client, common::Answer) {
    let mut c = s.client();
    let a = c
        .send(
            "/api/invites/accept",
            json!({ "token": token, "handle": handle, "name": "New Person", "password": "secret-pw" }),
            &[],
        )
        .await;
    (c, a)
}

async fn listed(admin: &mut Client) -> Vec<Value> {
    let a = admin.send("/api/invites/list", json!({}), &[]).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a.body["invites"].as_array().unwrap().clone()
}

#[tokio::test]
async fn an_invitation_creates_one_account_and_logs_it_in() {
    let s = Server::start().await;
    s.create_user("boss", Some("pw"), true).await;
    let mut admin = s.login("boss", "pw").await;
    let (token, row) = invite(&mut admin, json!({})).await;
    assert!(token.len() >= 43, "at least 256 bits: {token}");
    assert_eq!(row["uses"], 1);
    assert_eq!(row["usesLeft"], 1);
    assert_eq!(row["state"], "active");
    assert_eq!(row["createdBy"], "boss");
    let week = 7 * 24 * 3600 * 1000;
    assert_eq!(
        row["expires"].as_i64().unwrap() - row["created"].as_i64().unwrap(),
        week
    );

    // The page, for anyone with the link.
    let mut visitor = s.client();
    let page = visitor.fetch(&format!("/invite/{token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page
        .body
        .as_str()
        .unwrap()
        .contains("/innkeeper/static/invite.js"));
    let a = visitor
        .send("/api/invites/check", json!({ "token": token }), &[])
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["admin"], false);
    assert_eq!(a.body["handle"], Value::Null);

    // Accepting creates the account and logs it in.
    let (newcomer, a) = accept(&s, &token, "New Person").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["handle"], "new-person");
    let me = newcomer.fetch("/api/users/me").await;
    assert_eq!(me.body["handle"], "new-person");
    assert_eq!(me.body["name"], "New Person");
    assert_eq!(me.body["admin"], false);
    assert!(s.user_dir("new-person").is_dir());
    // Its password works from now on.
    s.login("new-person", "secret-pw").await;

    // The link is used up.
    let (_, a) = accept(&s, &token, "another").await;
    assert_eq!(a.status, StatusCode::GONE, "{}", a.body);
    assert!(a.error().contains("already been used"), "{}", a.body);
    let a = visitor
        .send("/api/invites/check", json!({ "token": token }), &[])
        .await;
    assert_eq!(a.status, StatusCode::GONE);
    let rows = listed(&mut admin).await;
    assert_eq!(rows[0]["state"], "used");
    assert_eq!(rows[0]["usesLeft"], 0);
    // No token is ever shown again, nor its stored hash.
    let text = serde_json::to_string(&rows).unwrap();
    assert!(!text.contains(&token));
    assert!(!text.contains(&innkeeper::sessions::hash_id(&token)));
    let a = admin.send("/api/audit/list", json!({}), &[]).await;
    let log = a.body.to_string();
    assert!(
        log.contains("invite.create") && log.contains("invite.accept"),
        "{log}"
    );
    assert!(!log.contains(&token));
    s.stop().await;
}

#[tokio::test]
async fn expiry_uses_and_revocation_end_a_link() {
    let s = Server::start().await;
    s.create_user("boss", Some("pw"), true).await;
    let mut admin = s.login("boss", "pw").await;

    // Two uses, then no more.
    let (two, _) = invite(&mut admin, json!({ "uses": 2, "admin": true })).await;
    assert_eq!(accept(&s, &two, "first").await.1.status, StatusCode::OK);
    let (second, a) = accept(&s, &two, "second").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(second.fetch("/api/users/me").await.body["admin"], true);
    assert_eq!(accept(&s, &two, "third").await.1.status, StatusCode::GONE);

    // Expired after its days.
    let (short, _) = invite(&mut admin, json!({ "days": 1 })).await;
    s.app.clock.advance(24 * 3600 * 1000 + 1);
    // (The admin's own session has ended by then too.)
    let mut admin = s.login("boss", "pw").await;
    let (_, a) = accept(&s, &short, "late").await;
    assert_eq!(a.status, StatusCode::GONE);
    assert!(a.error().contains("expired"), "{}", a.body);
    assert!(s.user_row("late").await.is_none());

    // Withdrawn.
    let (revoked, row) = invite(&mut admin, json!({})).await;
    let a = admin
        .send("/api/invites/revoke", json!({ "id": row["id"] }), &[])
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let (_, a) = accept(&s, &revoked, "nope").await;
    assert_eq!(a.status, StatusCode::GONE);
    assert!(a.error().contains("withdrawn"), "{}", a.body);
    let a = admin
        .send("/api/invites/revoke", json!({ "id": 999 }), &[])
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    // Bad requests say what is wrong.
    for body in [
        json!({ "days": 0 }),
        json!({ "days": 366 }),
        json!({ "uses": 0 }),
        json!({ "uses": "many" }),
        json!({ "handle": "!!!" }),
        json!({ "handle": "carol", "uses": 2 }),
    ] {
        let a = admin.send("/api/invites/create", body.clone(), &[]).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}: {}", a.body);
    }
    let states: Vec<_> = listed(&mut admin)
        .await
        .iter()
        .map(|r| r["state"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(states, ["revoked", "expired", "used"]);

    // Only admins make, list and withdraw them.
    s.create_user("plain", Some("pw"), false).await;
    let mut user = s.login("plain", "pw").await;
    for path in [
        "/api/invites/create",
        "/api/invites/list",
        "/api/invites/revoke",
    ] {
        let a = user.send(path, json!({ "id": 1 }), &[]).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
    }
    s.stop().await;
}

#[tokio::test]
async fn a_set_handle_is_kept_and_a_taken_handle_costs_no_use() {
    let s = Server::start().await;
    s.create_user("boss", Some("pw"), true).await;
    s.create_user("bob", Some("pw"), false).await;
    let mut admin = s.login("boss", "pw").await;
    let a = admin
        .send("/api/invites/create", json!({ "handle": "Bob" }), &[])
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    assert!(a.error().contains("bob"), "{}", a.body);

    let (carol, row) = invite(&mut admin, json!({ "handle": "Carol", "name": "Carol C." })).await;
    assert_eq!(row["handle"], "carol");
    let mut visitor = s.client();
    let a = visitor
        .send("/api/invites/check", json!({ "token": carol }), &[])
        .await;
    assert_eq!(a.body["handle"], "carol");
    assert_eq!(a.body["name"], "Carol C.");
    // Whatever handle is sent, the set one is made.
    let (_, a) = accept(&s, &carol, "mallory").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["handle"], "carol");
    assert!(s.user_row("mallory").await.is_none());

    // A handle that is taken (in any spelling) is refused and the use stays.
    let (open, _) = invite(&mut admin, json!({})).await;
    let (_, a) = accept(&s, &open, "!!!").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    let (_, a) = accept(&s, &open, "BOB").await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    assert!(a.error().contains("bob"), "{}", a.body);
    let mut c = s.client();
    let a = c
        .send(
            "/api/invites/accept",
            json!({ "token": open, "handle": "dave", "password": "" }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(listed(&mut admin).await[0]["usesLeft"], 1);
    assert_eq!(accept(&s, &open, "dave").await.1.status, StatusCode::OK);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_acceptances_never_create_more_than_allowed() {
    let s = Server::start().await;
    s.create_user("boss", Some("pw"), true).await;
    let mut admin = s.login("boss", "pw").await;
    let (token, _) = invite(&mut admin, json!({ "uses": 2 })).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (base, token) = (s.base.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut c = Client::new(&base);
            c.send(
                "/api/invites/accept",
                json!({ "token": token, "handle": format!("racer-{i}"), "password": "pw" }),
                &[],
            )
            .await
            .status
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::OK => ok += 1,
            StatusCode::GONE => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(ok, 2);
    let racers = s
        .app
        .accounts()
        .list_users()
        .await
        .unwrap()
        .iter()
        .filter(|u| u.handle.starts_with("racer-"))
        .count();
    assert_eq!(racers, 2);
    s.stop().await;
}

#[tokio::test]
async fn guessing_links_hits_the_address_limit() {
    let s = Server::start().await;
    let mut guesser = s.client();
    for i in 0..10 {
        let a = guesser
            .send(
                "/api/invites/check",
                json!({ "token": format!("guess-{i}") }),
                &[],
            )
            .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{i}: {}", a.body);
    }
    let a = guesser
        .send(
            "/api/invites/accept",
            json!({ "token": "guess-x", "handle": "x", "password": "p" }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.body);
    assert!(a.header("retry-after").is_some());
    // A POST without the CSRF token is refused before anything else.
    let resp = reqwest::Client::new()
        .post(s.url("/api/invites/check"))
        .json(&json!({ "token": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    s.stop().await;
}

#[test]
fn the_console_makes_lists_and_withdraws_invitations() {
    let dir = tempfile::tempdir().unwrap();
    let text = |o: std::process::Output| {
        assert!(o.status.success(), "{o:?}");
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let out = text(child::run(
        dir.path(),
        &["invite", "create", "--uses", "3", "--days", "2"],
    ));
    assert!(out.contains("Invitation 1 for 3 account(s)"), "{out}");
    let link = out
        .split_whitespace()
        .find(|w| w.starts_with("/invite/"))
        .unwrap_or_else(|| panic!("no link: {out}"));
    assert!(link.len() > "/invite/".len() + 40, "{link}");
    let out = text(child::run(dir.path(), &["invite", "list"]));
    assert!(out.contains("active"), "{out}");
    assert!(
        !out.contains(&link["/invite/".len()..]),
        "no token in the list: {out}"
    );
    let out = text(child::run(dir.path(), &["invite", "revoke", "1"]));
    assert!(out.contains("withdrawn"), "{out}");
    let out = text(child::run(dir.path(), &["invite", "list"]));
    assert!(out.contains("revoked"), "{out}");
    let o = child::run(dir.path(), &["invite", "revoke", "7"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("No such invitation"));
}
