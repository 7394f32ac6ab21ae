//! Two-factor login (issue 15, point 5): enrolment with a code, a login
//! that asks for the code after the password, codes that work once,
//! single-use recovery codes, wrong codes under the login limits,
//! `twoFactor.requireForAdmins`, and removal by an admin or the console.

mod common;

use base64::Engine;
use common::{Client, Server};
use innkeeper::accounts::totp;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The secret of RFC 6238's test vectors (SHA-1).
const RFC_SECRET: &[u8] = b"12345678901234567890";

/// Moves the server's clock to `unix_s` seconds (plus `extra_ms`).
fn set_time(s: &Server, unix_s: i64, extra_ms: i64) {
    let now = s.app.clock.now_ms();
    s.app.clock.advance(unix_s * 1000 + extra_ms - now);
}

/// The app's code for the server's current time.
fn code_now(s: &Server, secret: &[u8]) -> String {
    totp::code_at(secret, totp::step_at(s.app.clock.now_ms()))
}

/// Turns two-factor login on for the client's account through the API;
/// returns the secret (read from its text, as a person would type it
/// into an app) and the recovery codes.
async fn enrol(s: &Server, c: &mut Client) -> (Vec<u8>, Vec<String>) {
    let a = c.send("/api/users/two-factor/begin", json!({}), &[]).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let secret = totp::from_base32(a.body["secret"].as_str().unwrap()).unwrap();
    assert_eq!(secret.len(), 20);
    assert!(a.body["uri"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/Innkeeper:"));
    let qr = a.body["qr"].as_str().unwrap();
    let svg = base64::engine::general_purpose::STANDARD
        .decode(qr.strip_prefix("data:image/svg+xml;base64,").unwrap())
        .unwrap();
    assert!(String::from_utf8(svg).unwrap().contains("<svg"));
    let a = c
        .send(
            "/api/users/two-factor/confirm",
            json!({ "code": code_now(s, &secret) }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let codes: Vec<String> = a.body["recoveryCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

/// The password step: 401 with a ticket.
async fn password_step(c: &mut Client, handle: &str, password: &str) -> String {
    let a = c
        .send(
            "/api/users/login",
            json!({ "handle": handle, "password": password }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    assert_eq!(a.body["twoFactor"], true);
    assert!(a.session_cookie().is_none(), "no session yet");
    a.body["ticket"].as_str().unwrap().to_string()
}

async fn code_step(c: &mut Client, ticket: &str, code: &str) -> common::Answer {
    let a = c
        .send(
            "/api/users/login-2fa",
            json!({ "ticket": ticket, "code": code }),
            &[],
        )
        .await;
    if a.status.is_success() {
        c.token = None;
    }
    a
}

async fn audit_actions(s: &Server, handle: &str) -> Vec<String> {
    let h = handle.to_string();
    s.app
        .store
        .run(move |c| innkeeper::store::audit::list(c, None, 500))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.target.as_deref() == Some(h.as_str()))
        .map(|e| e.action)
        .collect()
}

#[tokio::test]
async fn the_rfc_6238_vectors_log_in_at_their_times() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw"), false).await;
    let user = s
        .app
        .accounts()
        .find_user_fresh("alice")
        .await
        .unwrap()
        .unwrap();
    s.app
        .two_factor()
        .begin_with(&user, RFC_SECRET)
        .await
        .unwrap();
    let mut alice = s.login("alice", "pw").await;
    // T = 59 s: 94287082, of which an app shows the last six digits.
    set_time(&s, 59, 0);
    alice.refresh_token().await;
    let a = alice
        .send(
            "/api/users/two-factor/confirm",
            json!({ "code": "287082" }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);

    for (t, code8) in [
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ] {
        set_time(&s, t, 0);
        let mut c = s.client();
        let ticket = password_step(&mut c, "alice", "pw").await;
        let a = code_step(&mut c, &ticket, &code8[2..]).await;
        assert_eq!(a.status, StatusCode::OK, "T={t}: {}", a.body);
        assert_eq!(a.body, json!({ "handle": "alice" }));
        assert!(a.session_cookie().is_some());
        let me = c.fetch("/api/users/me").await;
        assert_eq!(me.status, StatusCode::OK, "T={t}");
        assert_eq!(me.body["twoFactor"], true);
    }
    // A vector's code at another vector's time is wrong.
    set_time(&s, 1234567890 + 3600, 0);
    let mut c = s.client();
    let ticket = password_step(&mut c, "alice", "pw").await;
    let a = code_step(&mut c, &ticket, "005924").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.error(), "Incorrect code");
}

#[tokio::test]
async fn accounts_without_it_log_in_as_before_and_a_password_alone_opens_nothing() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw"), false).await;
    s.create_user("bob", Some("pw"), false).await;
    let mut alice = s.login("alice", "pw").await;
    enrol(&s, &mut alice).await;

    // Without two-factor login: exactly the answer SillyTavern knows.
    let mut bob = s.client();
    let a = bob
        .send(
            "/api/users/login",
            json!({ "handle": "bob", "password": "pw" }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, json!({ "handle": "bob" }));

    // With it: a wrong password is the usual refusal, saying nothing of a
    // second factor; a right one gives no session, only a ticket.
    let mut c = s.client();
    let a = c
        .send(
            "/api/users/login",
            json!({ "handle": "alice", "password": "nope" }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.body, json!({ "error": "Incorrect credentials" }));
    password_step(&mut c, "alice", "pw").await;
    let me = c.fetch("/api/users/me").await;
    assert_eq!(me.status, StatusCode::FORBIDDEN, "not logged in");
    let a = c.send("/api/settings/get", json!({}), &[]).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);

    // A made-up ticket, a missing code, an expired ticket.
    let a = code_step(&mut c, "0123", "123456").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.error().contains("expired"), "{}", a.body);
    let ticket = password_step(&mut c, "alice", "pw").await;
    let a = c
        .send("/api/users/login-2fa", json!({ "ticket": ticket }), &[])
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    s.app.clock.advance(5 * 60 * 1000 + 1000);
    c.refresh_token().await;
    let a = code_step(&mut c, &ticket, "123456").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.error().contains("expired"), "{}", a.body);

    // The code step needs CSRF like every POST.
    let resp = c
        .http
        .post(s.url("/api/users/login-2fa"))
        .json(&json!({ "ticket": ticket, "code": "123456" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_code_works_once() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw"), false).await;
    let mut alice = s.login("alice", "pw").await;
    let (secret, _) = enrol(&s, &mut alice).await;

    // The code that turned it on is used: not again, not even for a login.
    let used = code_now(&s, &secret);
    let mut c = s.client();
    let ticket = password_step(&mut c, "alice", "pw").await;
    let a = code_step(&mut c, &ticket, &used).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "replay of the set-up code");

    // The next window's code works once; then neither it nor the older
    // one (still inside the tolerance) works again.
    s.app.clock.advance(30_000);
    let fresh = code_now(&s, &secret);
    let a = code_step(&mut c, &ticket, &fresh).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let mut other = s.client();
    let ticket = password_step(&mut other, "alice", "pw").await;
    let a = code_step(&mut other, &ticket, &fresh).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "replay within its window");
    assert_eq!(a.error(), "Incorrect code");
    let a = code_step(&mut other, &ticket, &used).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "an older step");

    // One step later, the new code works; spaces are fine.
    s.app.clock.advance(30_000);
    let next = code_now(&s, &secret);
    let spaced = format!("{} {}", &next[..3], &next[3..]);
    let a = code_step(&mut other, &ticket, &spaced).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // The ticket went with the login.
    let a = code_step(&mut other, &ticket, &next).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn recovery_codes_work_once_each() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw"), false).await;
    let mut alice = s.login("alice", "pw").await;
    let (_, codes) = enrol(&s, &mut alice).await;
    let mut distinct = codes.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 10);

    let mut c = s.client();
    let ticket = password_step(&mut c, "alice", "pw").await;
    let a = code_step(&mut c, &ticket, &codes[0]).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["recoveryCodesLeft"], 9);

    let mut c = s.client();
    let ticket = password_step(&mut c, "alice", "pw").await;
    let a = code_step(&mut c, &ticket, &codes[0]).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "used already");
    // Typed in capitals without the dash: the same code.
    let typed = codes[1].replace('-', "").to_uppercase();
    let a = code_step(&mut c, &ticket, &typed).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["recoveryCodesLeft"], 8);

    let a = c.send("/api/users/two-factor/status", json!({}), &[]).await;
    assert_eq!(a.body["enabled"], true);
    assert_eq!(a.body["recoveryCodesLeft"], 8);
    let actions = audit_actions(&s, "alice").await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "2fa.recovery-code-used")
            .count(),
        2
    );

    // New codes replace the old ones (with the password).
    let a = c
        .send(
            "/api/users/two-factor/recovery-codes",
            json!({ "password": "wrong" }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = c
        .send(
            "/api/users/two-factor/recovery-codes",
            json!({ "password": "pw" }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let fresh = a.body["recoveryCodes"][0].as_str().unwrap().to_string();
    let mut c = s.client();
    let ticket = password_step(&mut c, "alice", "pw").await;
    let a = code_step(&mut c, &ticket, &codes[2]).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "an old code");
    let a = code_step(&mut c, &ticket, &fresh).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["recoveryCodesLeft"], 9);
}

#[tokio::test]
async fn guessing_codes_meets_the_login_limits() {
    let s = Server::start_with(common::forwarding).await;
    s.create_user("alice", Some("pw"), false).await;
    let mut alice = s.login("alice", "pw").await;
    let (secret, _) = enrol(&s, &mut alice).await;
    s.app.clock.advance(30_000);
    let wrong = |right: &str| {
        let n: u32 = right.parse().unwrap();
        format!("{:06}", (n + 1) % 1_000_000)
    };

    // One address: the right password before each guess does not clear
    // the count; after 5 wrong codes within a minute, 429.
    let mut c = s.client();
    for i in 0..5 {
        let a = c
            .post_from(
                "10.1.0.7",
                "/api/users/login",
                json!({ "handle": "alice", "password": "pw" }),
            )
            .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "guess {i}: {}", a.body);
        let ticket = a.body["ticket"].as_str().unwrap().to_string();
        let a = c
            .post_from(
                "10.1.0.7",
                "/api/users/login-2fa",
                json!({ "ticket": ticket, "code": wrong(&code_now(&s, &secret)) }),
            )
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "guess {i}");
    }
    let a = c
        .post_from(
            "10.1.0.7",
            "/api/users/login",
            json!({ "handle": "alice", "password": "pw" }),
        )
        .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.body);
    assert!(a.header("retry-after").is_some());

    // A ticket in hand meets the same limit for the right code.
    let mut c = s.client();
    let a = c
        .post_from(
            "10.1.0.8",
            "/api/users/login",
            json!({ "handle": "alice", "password": "pw" }),
        )
        .await;
    let ticket = a.body["ticket"].as_str().unwrap().to_string();
    for i in 0..4 {
        let a = c
            .post_from(
                "10.1.0.8",
                "/api/users/login-2fa",
                json!({ "ticket": ticket, "code": wrong(&code_now(&s, &secret)) }),
            )
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "guess {i}");
    }
    // The account has 9 failures now; the 10th (from a third address)
    // locks it for every address.
    let a = c
        .post_from(
            "10.1.0.9",
            "/api/users/login-2fa",
            json!({ "ticket": ticket, "code": wrong(&code_now(&s, &secret)) }),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = c
        .post_from(
            "10.2.0.1",
            "/api/users/login",
            json!({ "handle": "alice", "password": "pw" }),
        )
        .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.body);
    assert_eq!(
        a.error(),
        "Too many attempts. Try again later or recover your password."
    );
    let failures = audit_actions(&s, "alice")
        .await
        .into_iter()
        .filter(|a| a == "login.failure")
        .count();
    assert_eq!(failures, 10);

    // An admin's unlock opens it again.
    s.app.accounts().clear_limits_of("alice").await.unwrap();
    let mut c = s.client();
    let a = c
        .post_from(
            "10.2.0.2",
            "/api/users/login",
            json!({ "handle": "alice", "password": "pw" }),
        )
        .await;
    let ticket = a.body["ticket"].as_str().unwrap().to_string();
    let a = c
        .post_from(
            "10.2.0.2",
            "/api/users/login-2fa",
            json!({ "ticket": ticket, "code": code_now(&s, &secret) }),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

#[tokio::test]
async fn a_ticket_dies_after_five_wrong_codes() {
    let s = Server::start_with(common::forwarding).await;
    s.create_user("alice", Some("pw"), false).await;
    let mut alice = s.login("alice", "pw").await;
    let (secret, _) = enrol(&s, &mut alice).await;
    s.app.clock.advance(30_000);
    let mut c = s.client();
    let ticket = password_step(&mut c, "alice", "pw").await;
    for ip in ["10.3.0.1", "10.3.0.2", "10.3.0.3", "10.3.0.4", "10.3.0.5"] {
        let a = c
            .post_from(
                ip,
                "/api/users/login-2fa",
                json!({ "ticket": ticket, "code": "abcdefghij" }),
            )
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
        assert_eq!(a.error(), "Incorrect code");
    }
    let a = c
        .post_from(
            "10.3.0.6",
            "/api/users/login-2fa",
            json!({ "ticket": ticket, "code": code_now(&s, &secret) }),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.error().contains("expired"), "{}", a.body);
}

#[tokio::test]
async fn turning_it_off_takes_the_password() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw"), false).await;
    let mut alice = s.login("alice", "pw").await;
    enrol(&s, &mut alice).await;
    let a = alice
        .send("/api/users/two-factor/begin", json!({}), &[])
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "already on");
    let a = alice
        .send(
            "/api/users/two-factor/disable",
            json!({ "password": "nope" }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.error(), "Incorrect password");
    let a = alice
        .send(
            "/api/users/two-factor/disable",
            json!({ "password": "pw" }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    assert!(audit_actions(&s, "alice")
        .await
        .contains(&"2fa.disable".to_string()));
    let a = alice
        .send("/api/users/two-factor/status", json!({}), &[])
        .await;
    assert_eq!(a.body["enabled"], false);
    s.login("alice", "pw").await;
}

#[tokio::test]
async fn a_wrong_first_code_leaves_it_off() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw"), false).await;
    let mut alice = s.login("alice", "pw").await;
    let a = alice
        .send(
            "/api/users/two-factor/confirm",
            json!({ "code": "123456" }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "nothing started");
    let a = alice
        .send("/api/users/two-factor/begin", json!({}), &[])
        .await;
    let secret = totp::from_base32(a.body["secret"].as_str().unwrap()).unwrap();
    let right = code_now(&s, &secret);
    let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000);
    let a = alice
        .send(
            "/api/users/two-factor/confirm",
            json!({ "code": wrong }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.error(), "Incorrect code");
    // Still off: the password alone logs in.
    s.login("alice", "pw").await;
    let a = alice
        .send("/api/users/two-factor/status", json!({}), &[])
        .await;
    assert_eq!(a.body["enabled"], false);
}

#[tokio::test]
async fn an_admin_removes_someones_second_factor_and_it_is_audited() {
    let s = Server::start().await;
    s.create_user("boss", Some("pw"), true).await;
    s.create_user("alice", Some("pw"), false).await;
    s.create_user("bob", Some("pw"), false).await;
    let mut alice = s.login("alice", "pw").await;
    enrol(&s, &mut alice).await;
    let mut boss = s.login("boss", "pw").await;
    let a = boss.send("/api/users/get", json!({}), &[]).await;
    let row = |body: &Value, h: &str| {
        body.as_array()
            .unwrap()
            .iter()
            .find(|u| u["handle"] == h)
            .cloned()
            .unwrap()
    };
    assert_eq!(row(&a.body, "alice")["twoFactor"], true);
    assert_eq!(row(&a.body, "bob")["twoFactor"], false);

    // Not for users, and not for unknown handles.
    let mut bob = s.login("bob", "pw").await;
    let a = bob
        .send(
            "/api/users/two-factor/remove",
            json!({ "handle": "alice" }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = boss
        .send(
            "/api/users/two-factor/remove",
            json!({ "handle": "nobody" }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    let a = boss
        .send(
            "/api/users/two-factor/remove",
            json!({ "handle": "alice" }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    let a = boss.send("/api/users/get", json!({}), &[]).await;
    assert_eq!(row(&a.body, "alice")["twoFactor"], false);
    let entries = s
        .app
        .store
        .run(|c| innkeeper::store::audit::list(c, None, 50))
        .await
        .unwrap();
    let removal = entries
        .iter()
        .find(|e| e.action == "2fa.remove")
        .expect("audited");
    assert_eq!(removal.actor.as_deref(), Some("boss"));
    assert_eq!(removal.target.as_deref(), Some("alice"));
    // The password alone logs in again.
    s.login("alice", "pw").await;
}

#[tokio::test]
async fn the_console_recovery_removes_it_too() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw"), false).await;
    let mut alice = s.login("alice", "pw").await;
    enrol(&s, &mut alice).await;
    let removed = s
        .app
        .accounts()
        .console_recover("alice", Some("new"))
        .await
        .unwrap();
    assert!(removed);
    s.login("alice", "new").await;
    let again = s
        .app
        .accounts()
        .console_recover("alice", Some("new"))
        .await
        .unwrap();
    assert!(!again, "nothing to remove the second time");
}

#[tokio::test]
async fn required_for_admins_allows_nothing_but_enrolment() {
    let s = Server::start_with(|c| c.two_factor.require_for_admins = true).await;
    s.create_user("boss", Some("pw"), true).await;
    s.create_user("alice", Some("pw"), false).await;

    // Users are not asked.
    let mut alice = s.login("alice", "pw").await;
    let a = alice.send("/api/settings/get", json!({}), &[]).await;
    assert_eq!(a.status, StatusCode::OK);

    let mut boss = s.login("boss", "pw").await;
    let me = boss.fetch("/api/users/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["twoFactorRequired"], true);
    for path in [
        "/api/settings/get",
        "/api/users/get",
        "/api/users/change-name",
        "/api/users/change-password",
        "/api/users/two-factor/remove",
    ] {
        let a = boss.send(path, json!({ "handle": "boss" }), &[]).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}: {}", a.body);
        assert_eq!(a.body["twoFactorRequired"], true, "{path}");
    }
    let a = boss
        .send("/api/users/two-factor/status", json!({}), &[])
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["required"], true);

    enrol(&s, &mut boss).await;
    let me = boss.fetch("/api/users/me").await;
    assert_eq!(me.body["twoFactorRequired"], false);
    let a = boss.send("/api/users/get", json!({}), &[]).await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn logins_a_proxy_vouches_for_skip_the_second_factor() {
    // Per-user basic auth: the handle and password in the header are the
    // login, and the requirement for admins does not apply.
    let s = Server::start_with(|c| {
        c.basic_auth_mode = true;
        c.per_user_basic_auth = true;
        c.two_factor.require_for_admins = true;
    })
    .await;
    s.create_user("erin", Some("secret"), true).await;
    let user = s
        .app
        .accounts()
        .find_user_fresh("erin")
        .await
        .unwrap()
        .unwrap();
    s.app
        .two_factor()
        .begin_with(&user, RFC_SECRET)
        .await
        .unwrap();
    let h = "erin".to_string();
    s.app
        .store
        .run(move |c| innkeeper::store::two_factor::enable(c, &h, 0, &[]))
        .await
        .unwrap();
    s.app.directory.invalidate();
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("erin:secret")
    );
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let resp = client
        .get(s.url("/api/users/me"))
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let me: Value = resp.json().await.unwrap();
    assert_eq!(me["handle"], "erin");
    assert_eq!(me["twoFactor"], true);
    assert_eq!(me["twoFactorRequired"], false);

    // A trusted SSO header likewise.
    let s = Server::start_with(|c| {
        c.sso.trusted_header.enabled = true;
        c.two_factor.require_for_admins = true;
    })
    .await;
    s.create_user("dora", Some("pw"), true).await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let me: Value = client
        .get(s.url("/api/users/me"))
        .header("Remote-User", "dora")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["handle"], "dora");
    assert_eq!(me["twoFactorRequired"], false);
    let token: Value = client
        .get(s.url("/csrf-token"))
        .header("Remote-User", "dora")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let resp = client
        .post(s.url("/api/users/get"))
        .header("Remote-User", "dora")
        .header("X-CSRF-Token", token["token"].as_str().unwrap())
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn secrets_are_sealed_in_the_database() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw"), false).await;
    let mut alice = s.login("alice", "pw").await;
    let (secret, codes) = enrol(&s, &mut alice).await;
    let stored: Vec<String> = s
        .app
        .store
        .run(|c| {
            let mut out = Vec::new();
            let secret: String = c.query_row("SELECT secret FROM two_factor", [], |r| r.get(0))?;
            out.push(secret);
            let mut stmt = c.prepare("SELECT code_hash FROM recovery_codes")?;
            for h in stmt.query_map([], |r| r.get::<_, String>(0))? {
                out.push(h?);
            }
            Ok(out)
        })
        .await
        .unwrap();
    assert_eq!(stored.len(), 11);
    let text = totp::base32(&secret);
    for value in &stored {
        assert!(!value.contains(&text));
        assert!(!value.contains(&hex_lower(&secret)));
        for code in &codes {
            assert!(!value.contains(&code.replace('-', "")));
        }
    }
    let key = s
        .data_root()
        .join(innkeeper::accounts::two_factor::KEY_FILE);
    let meta = std::fs::metadata(&key).expect("key file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    let _ = meta;
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn parallel_code_guesses_cannot_outrun_the_limit() {
    let s = Server::start_with(common::forwarding).await;
    s.create_user("alice", Some("pw"), false).await;
    let mut alice = s.login("alice", "pw").await;
    enrol(&s, &mut alice).await;
    // Four tickets (a right password costs no count), three guesses each.
    let mut c = s.client();
    let mut tickets = Vec::new();
    for _ in 0..4 {
        let a = c
            .post_from(
                "10.4.0.1",
                "/api/users/login",
                json!({ "handle": "alice", "password": "pw" }),
            )
            .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
        tickets.push(a.body["ticket"].as_str().unwrap().to_string());
    }
    let token = c.token.clone().expect("token");
    let mut tasks = Vec::new();
    for i in 0..12 {
        let req = c
            .http
            .post(s.url("/api/users/login-2fa"))
            .header("X-CSRF-Token", &token)
            .header("X-Forwarded-For", "10.4.0.1")
            .json(&json!({ "ticket": tickets[i % 4], "code": "zzzzzzzzzz" }));
        tasks.push(tokio::spawn(async move {
            req.send().await.expect("send").status()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("task"));
    }
    let wrong = statuses
        .iter()
        .filter(|s| **s == StatusCode::FORBIDDEN)
        .count();
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((wrong, limited), (5, 7), "{statuses:?}");
}

#[tokio::test]
async fn turning_it_on_ends_the_other_sessions() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw"), false).await;
    let (_, elsewhere) = s.login_with_cookie("alice", "pw").await;
    let mut here = s.login("alice", "pw").await;
    enrol(&s, &mut here).await;
    let resp = reqwest::Client::new()
        .get(s.url("/api/ping"))
        .header("Cookie", format!("innkeeper_sid={elsewhere}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["sessionEnded"], "two_factor_on");
    // The session that turned it on stays.
    assert_eq!(here.fetch("/api/users/me").await.status, StatusCode::OK);
}
