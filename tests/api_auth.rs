//! Login, sessions, CSRF, session timeout, revocation, login limits and the
//! login page, against SPEC §5, §6 and Appendix A.

mod common;

use common::{Client, Replay, Server};
use innkeeper::app::Actor;
use reqwest::StatusCode;
use serde_json::json;

const LOGIN_LIMITED: &str = "Too many attempts. Try again later or recover your password.";

async fn login(c: &mut Client, handle: &str, password: Option<&str>) -> common::Answer {
    let body = match password {
        Some(p) => json!({ "handle": handle, "password": p }),
        None => json!({ "handle": handle }),
    };
    c.send("/api/users/login", body, &[]).await
}

async fn login_from(c: &mut Client, ip: &str, handle: &str, password: &str) -> common::Answer {
    c.post_from(
        ip,
        "/api/users/login",
        json!({ "handle": handle, "password": password }),
    )
    .await
}

async fn me(c: &Client) -> common::Answer {
    c.fetch("/api/users/me").await
}

async fn assert_me(c: &Client, handle: &str) {
    let a = me(c).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["handle"], handle);
}

async fn assert_anonymous(c: &Client) {
    assert_eq!(me(c).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        c.fetch("/api/ping").await.status,
        StatusCode::FORBIDDEN,
        "ping"
    );
}

#[tokio::test]
async fn login_answers_per_appendix_a() {
    let s = Server::start_with(common::forwarding).await;
    s.create_user("alice", Some("pw-alice"), false).await;
    s.create_user("carol", Some("pw-carol"), false).await;
    s.app
        .accounts()
        .set_enabled(&Actor::console(), "carol", false)
        .await
        .unwrap();
    let mut c = s.client();

    for body in [
        json!({}),
        json!({ "password": "pw-alice" }),
        json!({ "handle": "" }),
    ] {
        let a = c.send("/api/users/login", body.clone(), &[]).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(a.error(), "Missing required fields", "{body}");
    }
    // Each failure from its own address, so the IP limit stays out of the way.
    let cases = [
        ("10.1.0.1", json!({ "handle": "nobody", "password": "x" })),
        (
            "10.1.0.2",
            json!({ "handle": "alice", "password": "wrong" }),
        ),
        ("10.1.0.3", json!({ "handle": "alice" })),
        ("10.1.0.4", json!({ "handle": "alice", "password": null })),
        // Not slugified: `Alice` and ` alice` are not `alice`.
        (
            "10.1.0.5",
            json!({ "handle": "Alice", "password": "pw-alice" }),
        ),
        (
            "10.1.0.6",
            json!({ "handle": " alice", "password": "pw-alice" }),
        ),
    ];
    for (ip, body) in cases {
        let a = c.post_from(ip, "/api/users/login", body.clone()).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{body}: {}", a.body);
        assert_eq!(a.error(), "Incorrect credentials", "{body}");
    }
    let a = login(&mut c, "carol", Some("pw-carol")).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.error(), "User is disabled");
    assert_anonymous(&c).await;

    let a = login(&mut c, "alice", Some("pw-alice")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, json!({ "handle": "alice" }));
    assert_me(&c, "alice").await;
    s.stop().await;
}

#[tokio::test]
async fn login_rotates_the_session_and_a_failed_login_keeps_it() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw-alice"), false).await;
    s.create_user("bob", Some("pw-bob"), false).await;
    let mut c = s.client();
    let before = c
        .http
        .get(s.url("/csrf-token"))
        .send()
        .await
        .unwrap()
        .headers()
        .clone();
    let anon = common::session_cookie_in(&before).expect("anonymous session cookie");
    c.token = None;
    let a = login(&mut c, "alice", Some("pw-alice")).await;
    assert_eq!(a.status, StatusCode::OK);
    let first = a.session_cookie().expect("new cookie on login");
    assert_ne!(first, anon);

    // A failed login (wrong password, unknown user) leaves the session alone.
    c.refresh_token().await;
    let a = login(&mut c, "bob", Some("wrong")).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.session_cookie().is_none(), "no cookie on a failed login");
    let a = login(&mut c, "nobody", Some("x")).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_me(&c, "alice").await;
    let (status, _) = c.post("/api/users/list", json!({})).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "token still valid after a failed login"
    );

    // Logging in again (as someone else) gives yet another cookie.
    let a = login(&mut c, "bob", Some("pw-bob")).await;
    assert_eq!(a.status, StatusCode::OK);
    let second = a.session_cookie().unwrap();
    assert_ne!(second, first);
    assert_me(&c, "bob").await;
    assert_anonymous(&Replay::new(&s.base, &first).http_client_for(&s)).await;
    s.stop().await;
}

trait ReplayExt {
    fn http_client_for(self, s: &Server) -> Client;
}

impl ReplayExt for Replay {
    /// A cookie-less client that always sends the replayed cookie.
    fn http_client_for(self, s: &Server) -> Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("cookie", self.cookie.parse().unwrap());
        Client {
            http: reqwest::Client::builder()
                .default_headers(headers)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: s.base.clone(),
            token: None,
        }
    }
}

#[tokio::test]
async fn logout_makes_the_old_cookie_worthless() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let (mut c, cookie) = s.login_with_cookie("alice", "pw-alice").await;
    let token = c.refresh_token().await;
    let replay = Replay::new(&s.base, &cookie);
    assert_eq!(replay.get("/api/users/me").await.status, StatusCode::OK);

    let a = c.send("/api/users/logout", json!({}), &[]).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let line = a.session_cookie_line().expect("cookie cleared");
    assert!(line.contains("Max-Age=0"), "{line}");

    let a = replay.get("/api/users/me").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(replay.get("/api/ping").await.status, StatusCode::FORBIDDEN);
    let a = replay
        .post(
            "/api/users/change-name",
            &token,
            json!({ "handle": "alice", "name": "X" }),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "old token with old cookie");
    assert_anonymous(&c).await;
    let (status, _) = c.post("/api/users/logout", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "logout needs a login");
    s.stop().await;
}

#[tokio::test]
async fn csrf_missing_wrong_right_and_stale() {
    let s = Server::start().await;
    let mut c = alice_client(&s).await;
    let token = c.refresh_token().await;
    assert_eq!(token.len(), 64);

    let no_header = c
        .http
        .post(s.url("/api/users/list"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(no_header.status(), StatusCode::FORBIDDEN);
    for wrong in ["", "wrong", &"0".repeat(64), &token[..63]] {
        let a = c.send("/api/users/list", json!({}), &[]).await;
        assert_eq!(a.status, StatusCode::OK);
        let resp = c
            .http
            .post(s.url("/api/users/list"))
            .header("X-CSRF-Token", wrong)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{wrong:?}");
    }
    // The login route is CSRF-protected too.
    let resp = c
        .http
        .post(s.url("/api/users/login"))
        .json(&json!({ "handle": "alice", "password": "pw-alice" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_anonymous(&c).await;
    // A token from another session is not ours.
    let mut other = s.client();
    let foreign = other.refresh_token().await;
    let resp = c
        .http
        .post(s.url("/api/users/list"))
        .header("X-CSRF-Token", &foreign)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    // The token from before login dies with the anonymous session.
    let a = login(&mut c, "alice", Some("pw-alice")).await;
    assert_eq!(a.status, StatusCode::OK);
    let resp = c
        .http
        .post(s.url("/api/users/list"))
        .header("X-CSRF-Token", &token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN, "stale token");
    let fresh = c.refresh_token().await;
    assert_ne!(fresh, token);
    let (status, _) = c.post("/api/users/list", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn csrf_can_be_disabled() {
    let s = Server::start_with(|c| c.disable_csrf_protection = true).await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let c = s.client();
    let v: serde_json::Value = c.get("/csrf-token").await.json().await.unwrap();
    assert_eq!(v, json!({ "token": "disabled" }));
    let resp = c
        .http
        .post(s.url("/api/users/login"))
        .json(&json!({ "handle": "alice", "password": "pw-alice" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = c
        .http
        .post(s.url("/api/users/change-name"))
        .json(&json!({ "handle": "alice", "name": "Alice" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(&c).await.body["name"], "Alice");
    s.stop().await;
}

#[tokio::test]
async fn session_expires_after_inactivity_only() {
    let s = Server::start_with(|c| c.session_timeout = 60).await;
    let mut c = alice_client(&s).await;
    let a = login(&mut c, "alice", Some("pw-alice")).await;
    let line = a.session_cookie_line().unwrap();
    assert!(line.contains("HttpOnly"), "{line}");
    assert!(line.contains("SameSite=Strict"), "{line}");
    assert!(line.contains("Max-Age="), "{line}");
    // Used within the timeout, again and again: alive.
    for _ in 0..3 {
        s.app.clock.advance(59_000);
        assert_me(&c, "alice").await;
    }
    s.app.clock.advance(61_000);
    assert_anonymous(&c).await;
    // Dead for good, even when time stops.
    assert_anonymous(&c).await;
    s.stop().await;
}

#[tokio::test]
async fn session_timeout_zero_is_a_browser_session_cookie() {
    let s = Server::start_with(|c| c.session_timeout = 0).await;
    let mut c = alice_client(&s).await;
    let a = login(&mut c, "alice", Some("pw-alice")).await;
    let line = a.session_cookie_line().unwrap();
    assert!(!line.contains("Max-Age"), "{line}");
    assert!(!line.contains("Expires"), "{line}");
    assert_me(&c, "alice").await;
    s.stop().await;
}

#[tokio::test]
async fn negative_session_timeout_never_expires() {
    let s = Server::start_with(|c| c.session_timeout = -1).await;
    let mut c = alice_client(&s).await;
    let a = login(&mut c, "alice", Some("pw-alice")).await;
    let line = a.session_cookie_line().unwrap();
    assert!(
        line.contains(&format!("Max-Age={}", 400 * 24 * 3600)),
        "{line}"
    );
    s.app.clock.advance(1000 * 24 * 3600 * 1000);
    assert_me(&c, "alice").await;
    s.stop().await;
}

#[tokio::test]
async fn own_password_change_keeps_only_the_callers_session() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let mut c1 = s.login("alice", "pw-alice").await;
    let c2 = s.login("alice", "pw-alice").await;
    let (status, _) = c1.post("/api/users/list", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let token = c1.token.clone().unwrap();

    let (status, body) = c1
        .post(
            "/api/users/change-password",
            json!({ "handle": "alice", "oldPassword": "pw-alice", "newPassword": "new-pw" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_anonymous(&c2).await;
    assert_me(&c1, "alice").await;
    assert_eq!(c1.token.as_deref(), Some(token.as_str()));
    let (status, _) = c1.post("/api/users/list", json!({})).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the caller's CSRF token still works"
    );

    let mut c3 = s.client();
    assert_eq!(
        login(&mut c3, "alice", Some("pw-alice")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        login(&mut c3, "alice", Some("new-pw")).await.status,
        StatusCode::OK
    );
    s.stop().await;
}

#[tokio::test]
async fn admin_actions_end_the_targets_sessions() {
    let s = Server::start().await;
    s.create_user("boss", Some("pw-boss"), true).await;
    s.create_user("alice", Some("pw-alice"), false).await;
    s.create_user("bob", Some("pw-bob"), false).await;
    let mut admin = s.login("boss", "pw-boss").await;

    // Admin sets the password: every session of the target ends.
    let a1 = s.login("alice", "pw-alice").await;
    let a2 = s.login("alice", "pw-alice").await;
    let (status, body) = admin
        .post(
            "/api/users/change-password",
            json!({ "handle": "alice", "newPassword": "set-by-admin" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_anonymous(&a1).await;
    assert_anonymous(&a2).await;
    assert_me(&admin, "boss").await;

    // Disable ends them; enabling again does not revive them.
    let a3 = s.login("alice", "set-by-admin").await;
    let (status, _) = admin
        .post("/api/users/disable", json!({ "handle": "alice" }))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_anonymous(&a3).await;
    let (status, _) = admin
        .post("/api/users/enable", json!({ "handle": "alice" }))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_anonymous(&a3).await;
    s.login("alice", "set-by-admin").await;

    // Delete ends them.
    let b = s.login("bob", "pw-bob").await;
    let (status, _) = admin
        .post("/api/users/delete", json!({ "handle": "bob" }))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_anonymous(&b).await;
    assert_me(&admin, "boss").await;
    s.stop().await;
}

#[tokio::test]
async fn disabled_users_next_request_is_anonymous() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let (mut c, cookie) = s.login_with_cookie("alice", "pw-alice").await;
    let (status, _) = c.post("/api/users/list", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    // Disabled behind the server's back (console path): the next request
    // finds the user disabled and is anonymous.
    s.app
        .accounts()
        .set_enabled(&Actor::console(), "alice", false)
        .await
        .unwrap();
    assert_anonymous(&c).await;
    let (status, _) = c
        .post(
            "/api/users/change-name",
            json!({ "handle": "alice", "name": "x" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    s.app
        .accounts()
        .set_enabled(&Actor::console(), "alice", true)
        .await
        .unwrap();
    let replay = Replay::new(&s.base, &cookie);
    assert_eq!(
        replay.get("/api/users/me").await.status,
        StatusCode::FORBIDDEN
    );
    s.stop().await;
}

#[tokio::test]
async fn five_failed_logins_from_one_ip_block_it_for_a_minute() {
    let s = Server::start_with(common::forwarding).await;
    let mut c = alice_client(&s).await;
    let ip = "10.2.0.1";
    for i in 0..5 {
        let a = login_from(&mut c, ip, "alice", "wrong").await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "try {i}");
    }
    // Even the right password is refused now.
    let a = login_from(&mut c, ip, "alice", "pw-alice").await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.error(), LOGIN_LIMITED);
    let wait: u64 = a
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Unknown handles too; an empty body is still a 400.
    let a = login_from(&mut c, ip, "nobody", "x").await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    let a = c
        .send("/api/users/login", json!({}), &[("X-Forwarded-For", ip)])
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.error(), "Missing required fields");
    // Another address is not affected.
    let mut other = s.client();
    assert_eq!(
        login_from(&mut other, "10.2.0.2", "alice", "pw-alice")
            .await
            .status,
        StatusCode::OK
    );
    // Within the window: still blocked; past it: allowed.
    s.app.clock.advance(30_000);
    let a = login_from(&mut c, ip, "alice", "pw-alice").await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    s.app.clock.advance(31_000);
    let a = login_from(&mut c, ip, "alice", "pw-alice").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    s.stop().await;
}

#[tokio::test]
async fn a_successful_login_clears_the_ip_count() {
    let s = Server::start_with(common::forwarding).await;
    let mut c = alice_client(&s).await;
    let ip = "10.3.0.1";
    for _ in 0..4 {
        assert_eq!(
            login_from(&mut c, ip, "alice", "wrong").await.status,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        login_from(&mut c, ip, "alice", "pw-alice").await.status,
        StatusCode::OK
    );
    c.token = None;
    for i in 0..4 {
        let a = login_from(&mut c, ip, "alice", "wrong").await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "try {i} after clearing");
    }
    assert_eq!(
        login_from(&mut c, ip, "alice", "pw-alice").await.status,
        StatusCode::OK
    );
    s.stop().await;
}

#[tokio::test]
async fn ten_failures_lock_the_account_from_anywhere() {
    let s = Server::start_with(common::forwarding).await;
    s.create_user("alice", Some("pw-alice"), false).await;
    s.create_user("bob", Some("pw-bob"), false).await;
    let mut c = s.client();
    for i in 0..10 {
        let a = login_from(&mut c, &format!("10.4.0.{i}"), "alice", "wrong").await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "try {i}");
    }
    let a = login_from(&mut c, "10.4.1.1", "alice", "pw-alice").await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.error(), LOGIN_LIMITED);
    assert!(a.header("retry-after").is_some());
    // Other accounts' logins neither suffer nor clear it.
    let a = login_from(&mut c, "10.4.1.2", "bob", "pw-bob").await;
    assert_eq!(a.status, StatusCode::OK);
    c.token = None;
    let a = login_from(&mut c, "10.4.1.3", "alice", "pw-alice").await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    let a = c
        .send(
            "/api/users/login",
            json!({}),
            &[("X-Forwarded-For", "10.4.1.3")],
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    s.app.clock.advance(14 * 60_000);
    let a = login_from(&mut c, "10.4.1.4", "alice", "pw-alice").await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    s.app.clock.advance(60_001);
    let a = login_from(&mut c, "10.4.1.5", "alice", "pw-alice").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    s.stop().await;
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    // With no trusted proxy, X-Forwarded-For is ignored: every failure is
    // the peer's, so rotating the header does not dodge the IP limit.
    let s = Server::start_with(|c| c.trusted_proxies = vec![]).await;
    let mut c = alice_client(&s).await;
    for i in 0..5 {
        let a = login_from(&mut c, &format!("10.5.0.{i}"), "alice", "wrong").await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
    }
    let a = login_from(&mut c, "10.5.1.1", "alice", "pw-alice").await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    s.stop().await;
}

#[tokio::test]
async fn auto_login_with_one_passwordless_user() {
    let s = Server::start().await;
    let c = s.client();
    let a = c.fetch("/login").await;
    assert_eq!(a.status, StatusCode::FOUND);
    assert_eq!(a.header("location"), Some("/"));
    assert!(a.session_cookie().is_some(), "a session is started");
    assert_me(&c, "default-user").await;
    // A request that already has a session gets the page.
    let a = c.fetch("/login").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.session_cookie().is_none());
    assert_eq!(c.fetch("/").await.status, StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn no_auto_login_with_a_password_or_two_users() {
    let s = Server::start().await;
    s.app
        .accounts()
        .store_password("default-user", "secret")
        .await
        .unwrap();
    let c = s.client();
    let a = c.fetch("/login").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.session_cookie().is_none());
    assert_anonymous(&c).await;
    s.stop().await;

    let s = Server::start().await;
    s.create_user("bob", None, false).await;
    let c = s.client();
    let a = c.fetch("/login").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_anonymous(&c).await;
    // One of the two disabled: the other is the only enabled one.
    s.app
        .accounts()
        .set_enabled(&Actor::console(), "bob", false)
        .await
        .unwrap();
    let a = c.fetch("/login").await;
    assert_eq!(a.status, StatusCode::FOUND);
    assert_me(&c, "default-user").await;
    s.stop().await;

    let s = Server::start_with(|c| c.enable_discreet_login = true).await;
    let c = s.client();
    let a = c.fetch("/login").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_anonymous(&c).await;
    s.stop().await;
}

#[tokio::test]
async fn index_redirects_to_login_keeping_the_query() {
    let s = Server::start().await;
    let mut c = alice_client(&s).await;
    let a = c.fetch("/?a=1&b=two%20words").await;
    assert_eq!(a.status, StatusCode::FOUND);
    assert_eq!(a.header("location"), Some("/login?a=1&b=two%20words"));
    let a = c.fetch("/").await;
    assert_eq!(a.status, StatusCode::FOUND);
    assert_eq!(a.header("location"), Some("/login"));
    login(&mut c, "alice", Some("pw-alice")).await;
    assert_eq!(c.fetch("/").await.status, StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn accounts_off_acts_as_default_user() {
    let s = Server::start_with(|c| c.enable_user_accounts = false).await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let c = s.client();
    let a = c.fetch("/login").await;
    assert_eq!(a.status, StatusCode::FOUND);
    assert_eq!(a.header("location"), Some("/"));
    assert_me(&c, "default-user").await;
    assert_eq!(c.fetch("/").await.status, StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn sessions_survive_a_restart_and_revocations_too() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let (_c, kept) = s.login_with_cookie("alice", "pw-alice").await;
    let (mut out, gone) = s.login_with_cookie("alice", "pw-alice").await;
    let a = out.send("/api/users/logout", json!({}), &[]).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let s = s.restart().await;
    let a = Replay::new(&s.base, &kept).get("/api/users/me").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["handle"], "alice");
    let a = Replay::new(&s.base, &gone).get("/api/users/me").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // Inactivity still counts after the restart.
    s.app.clock.advance(86_400_000 + 61_000);
    let a = Replay::new(&s.base, &kept).get("/api/users/me").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    s.stop().await;
}

#[tokio::test]
async fn discreet_mode_hides_the_user_list() {
    let s = Server::start_with(|c| c.enable_discreet_login = true).await;
    let mut c = alice_client(&s).await;
    let a = c.send("/api/users/list", json!({}), &[]).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(a.body, json!(""));
    let a = login(&mut c, "alice", Some("pw-alice")).await;
    assert_eq!(a.status, StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn the_client_is_the_rightmost_untrusted_forwarded_address() {
    let s = Server::start_with(common::forwarding).await;
    let mut c = alice_client(&s).await;
    // The attacker forges the leftmost entries; the proxy appends the real
    // address (and a chain of trusted proxies may follow it).
    for i in 0..5 {
        let xff = format!("10.7.{i}.9, 10.6.0.1, 127.0.0.1");
        let a = c
            .send(
                "/api/users/login",
                json!({ "handle": "alice", "password": "wrong" }),
                &[("X-Forwarded-For", &xff)],
            )
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
    }
    let a = c
        .send(
            "/api/users/login",
            json!({ "handle": "alice", "password": "pw-alice" }),
            &[("X-Forwarded-For", "10.8.8.8, 10.6.0.1")],
        )
        .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    let a = c
        .send(
            "/api/users/login",
            json!({ "handle": "alice", "password": "pw-alice" }),
            &[("X-Forwarded-For", "10.6.0.1, 10.6.0.2")],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    s.stop().await;
}

/// Creates alice (password "pw-alice", not an admin) and a client for her,
/// not yet logged in.
async fn alice_client(s: &Server) -> Client {
    s.create_user("alice", Some("pw-alice"), false).await;
    s.client()
}
