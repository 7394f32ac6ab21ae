//! Limits that cannot be talked around (issue 13, points 9 and 10; SPEC
//! §6): a second per-IP counter that no success clears (20 failures within
//! an hour), IPv6 clients counted by their /64, failures per account only
//! for real handles, a recovery that ends the lockout it was needed for,
//! recovery codes kept for 30 s against a flood, discreet mode counting
//! and answering alike for every handle, refused attempts counted rather
//! than audited one by one, a counter for passwords confirmed while logged
//! in, and checks that parallel guesses cannot outrun.

mod common;

use common::{forwarding, Server};
use innkeeper::app::Actor;
use innkeeper::store::audit::AuditEntry;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn logging_in_to_ones_own_account_between_guesses_does_not_reset_the_hourly_count() {
    let s = Server::start_with(forwarding).await;
    s.create_user("mallory", Some("mine"), false).await;
    for i in 0..8 {
        s.create_user(&format!("victim{i}"), Some("secret"), false)
            .await;
    }
    let ip = "10.9.8.7";
    let mut c = s.client();
    let mut failures = 0;
    let mut limited_at = None;
    for i in 0..36 {
        if i > 0 && i % 4 == 0 {
            // Clears the 5-per-minute counter, as in SillyTavern.
            let own = c
                .post_from(
                    ip,
                    "/api/users/login",
                    json!({ "handle": "mallory", "password": "mine" }),
                )
                .await;
            if own.status == StatusCode::TOO_MANY_REQUESTS {
                limited_at.get_or_insert(failures);
                break;
            }
            assert_eq!(own.status, StatusCode::OK, "{}", own.body);
        }
        let a = c
            .post_from(
                ip,
                "/api/users/login",
                json!({ "handle": format!("victim{}", i % 8), "password": format!("guess{i}") }),
            )
            .await;
        match a.status {
            StatusCode::FORBIDDEN => failures += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(a
                    .header("retry-after")
                    .is_some_and(|v| v.parse::<u64>().unwrap() > 60));
                limited_at = Some(failures);
                break;
            }
            other => panic!("{other}: {}", a.body),
        }
    }
    assert_eq!(
        limited_at,
        Some(20),
        "the hourly count never stopped the guessing"
    );
    // Another address is not affected.
    let a = c
        .post_from(
            "10.9.8.8",
            "/api/users/login",
            json!({ "handle": "mallory", "password": "mine" }),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn ipv6_clients_are_counted_by_their_64() {
    let s = Server::start_with(|c| c.whitelist.push("2001:db8::/32".into())).await;
    s.create_user("alice", Some("pw"), false).await;
    let mut c = s.client();
    for i in 1..=5 {
        let a = c
            .post_from(
                &format!("2001:db8:1:2::{i:x}"),
                "/api/users/login",
                json!({ "handle": "alice", "password": "wrong" }),
            )
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "try {i}");
    }
    let a = c
        .post_from(
            "2001:db8:1:2:ffff::9",
            "/api/users/login",
            json!({ "handle": "alice", "password": "pw" }),
        )
        .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.body);
    // The next /64 is someone else.
    let a = c
        .post_from(
            "2001:db8:1:3::1",
            "/api/users/login",
            json!({ "handle": "alice", "password": "pw" }),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    s.stop().await;
}

#[tokio::test]
async fn a_recovery_ends_the_account_lockout_it_was_needed_for() {
    let s = Server::start_with(forwarding).await;
    s.create_user("alice", Some("old"), false).await;
    let mut c = s.client();
    // Ten wrong passwords from ten addresses: the account is locked.
    for i in 0..10 {
        let a = c
            .post_from(
                &format!("10.0.1.{i}"),
                "/api/users/login",
                json!({ "handle": "alice", "password": "nope" }),
            )
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
    }
    let a = c
        .post_from(
            "10.0.2.1",
            "/api/users/login",
            json!({ "handle": "alice", "password": "old" }),
        )
        .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    // Recovery with the console code…
    let a = c
        .post_from(
            "10.0.2.1",
            "/api/users/recover-step1",
            json!({ "handle": "alice" }),
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let code = s.last_code("Password recovery code", "alice");
    let a = c
        .post_from(
            "10.0.2.1",
            "/api/users/recover-step2",
            json!({ "handle": "alice", "code": code, "newPassword": "new" }),
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    // …and the login that follows works.
    let a = c
        .post_from(
            "10.0.2.1",
            "/api/users/login",
            json!({ "handle": "alice", "password": "new" }),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    s.stop().await;
}

async fn audit_rows(s: &Server, action: &'static str) -> Vec<AuditEntry> {
    let rows = s
        .app
        .store
        .run(|c| innkeeper::store::audit::list(c, None, 10_000))
        .await
        .expect("audit");
    rows.into_iter().filter(|r| r.action == action).collect()
}

fn recovery_lines(s: &Server) -> usize {
    s.console_lines()
        .iter()
        .filter(|l| l.starts_with("Password recovery code: "))
        .count()
}

async fn step1(c: &mut common::Client, ip: &str) -> StatusCode {
    c.post_from(ip, "/api/users/recover-step1", json!({ "handle": "alice" }))
        .await
        .status
}

#[tokio::test]
async fn a_flood_of_recovery_requests_prints_one_code_and_keeps_it() {
    let s = Server::start_with(forwarding).await;
    s.create_user("alice", Some("pw"), false).await;
    let mut c = s.client();
    for i in 0..50 {
        let status = step1(&mut c, &format!("10.5.0.{}", i + 1)).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    assert_eq!(recovery_lines(&s), 1, "{:?}", s.console_lines());
    // The code printed first is the one that works.
    let first = s.last_code("Password recovery code:", "alice");
    let step2 = |code: String| json!({ "handle": "alice", "code": code, "newPassword": "new" });
    let a = c
        .post_from("10.5.1.1", "/api/users/recover-step2", step2(first))
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    // A used code is replaced at once; the new one is kept for 30 s.
    assert_eq!(step1(&mut c, "10.5.1.2").await, StatusCode::NO_CONTENT);
    assert_eq!(recovery_lines(&s), 2, "a used code is replaced at once");
    s.app.clock.advance(29_000);
    assert_eq!(step1(&mut c, "10.5.1.3").await, StatusCode::NO_CONTENT);
    assert_eq!(recovery_lines(&s), 2, "kept within 30 s");
    s.app.clock.advance(1_000);
    c.token = None;
    assert_eq!(step1(&mut c, "10.5.1.4").await, StatusCode::NO_CONTENT);
    assert_eq!(recovery_lines(&s), 3, "a new code after 30 s");
    // A dead code (3 wrong tries) is replaced at once too.
    let live = s.last_code("Password recovery code:", "alice");
    let wrong = format!("{:04}", (live.parse::<u32>().unwrap() + 1) % 10_000);
    for i in 0..3 {
        let a = c
            .post_from(
                &format!("10.5.2.{i}"),
                "/api/users/recover-step2",
                step2(wrong.clone()),
            )
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(step1(&mut c, "10.5.3.1").await, StatusCode::NO_CONTENT);
    assert_eq!(recovery_lines(&s), 4, "a dead code is replaced at once");
    s.stop().await;
}

#[tokio::test]
async fn discreet_mode_answers_and_counts_every_handle_alike() {
    let s = Server::start_with(|c| {
        forwarding(c);
        c.enable_discreet_login = true;
    })
    .await;
    s.create_user("alice", Some("pw-alice"), false).await;
    s.create_user("carol", Some("pw-carol"), false).await;
    s.app
        .accounts()
        .set_enabled(&Actor::console(), "carol", false)
        .await
        .unwrap();
    let mut c = s.client();
    // Login: a disabled account answers as a wrong password does, even
    // with its right password; a missing or odd password field alike.
    let mut answers = Vec::new();
    for (i, body) in [
        json!({ "handle": "nobody", "password": "x" }),
        json!({ "handle": "alice", "password": "x" }),
        json!({ "handle": "alice" }),
        json!({ "handle": "alice", "password": null }),
        json!({ "handle": "alice", "password": ["pw-alice"] }),
        json!({ "handle": "carol", "password": "x" }),
        json!({ "handle": "carol", "password": "pw-carol" }),
    ]
    .into_iter()
    .enumerate()
    {
        let a = c
            .post_from(&format!("10.6.0.{i}"), "/api/users/login", body)
            .await;
        answers.push((a.status, a.body));
    }
    for a in &answers {
        assert_eq!(
            a,
            &(
                StatusCode::FORBIDDEN,
                json!({ "error": "Incorrect credentials" })
            ),
            "{answers:?}"
        );
    }
    // Recovery: step 1 answers 204 for all three and counts alike, so the
    // sixth request from one address is refused whichever handle it names.
    for (n, handle) in ["alice", "nobody", "carol"].into_iter().enumerate() {
        let ip = format!("10.6.1.{n}");
        for i in 0..6 {
            let a = c
                .post_from(&ip, "/api/users/recover-step1", json!({ "handle": handle }))
                .await;
            let want = if i < 5 {
                StatusCode::NO_CONTENT
            } else {
                StatusCode::TOO_MANY_REQUESTS
            };
            assert_eq!(a.status, want, "{handle} request {i}: {}", a.body);
        }
        let a = c
            .post_from(
                &format!("10.6.2.{n}"),
                "/api/users/recover-step2",
                json!({ "handle": handle, "code": "not-a-code", "newPassword": "x" }),
            )
            .await;
        assert_eq!(
            (a.status, a.body),
            (StatusCode::FORBIDDEN, json!({ "error": "Incorrect code" })),
            "{handle}"
        );
    }
    assert_eq!(recovery_lines(&s), 1, "only alice got a code");
    s.stop().await;
}

#[tokio::test]
async fn refused_logins_are_counted_in_one_audit_row_a_minute() {
    let s = Server::start_with(forwarding).await;
    s.create_user("alice", Some("pw"), false).await;
    let mut c = s.client();
    let ip = "10.7.0.1";
    let login = json!({ "handle": "alice", "password": "wrong" });
    for _ in 0..5 {
        let a = c.post_from(ip, "/api/users/login", login.clone()).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
    }
    for _ in 0..40 {
        let a = c.post_from(ip, "/api/users/login", login.clone()).await;
        assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(audit_rows(&s, "login.failure").await.len(), 5);
    let rows = audit_rows(&s, "login.limited").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].ip.as_deref(), Some(ip));
    assert_eq!(
        rows[0].detail.as_deref(),
        Some("1 attempt(s) refused by the rate limit")
    );
    // A minute on, housekeeping writes the other 39 as one row.
    s.app.clock.advance(60_000);
    let mut rows = Vec::new();
    for _ in 0..50 {
        rows = audit_rows(&s, "login.limited").await;
        if rows.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        rows[0].detail.as_deref(),
        Some("39 attempt(s) refused by the rate limit")
    );
    s.stop().await;
}

#[tokio::test]
async fn confirming_a_password_while_logged_in_has_its_own_counter() {
    let s = Server::start_with(forwarding).await;
    s.create_user("alice", Some("pw"), false).await;
    let mut u = s.login("alice", "pw").await;
    // Ten wrong passwords, across both routes that ask for one.
    for i in 0..10 {
        let (path, body) = if i % 2 == 0 {
            (
                "/api/users/change-password",
                json!({ "handle": "alice", "oldPassword": format!("guess{i}"), "newPassword": "n" }),
            )
        } else {
            (
                "/api/users/reset-settings",
                json!({ "password": format!("guess{i}") }),
            )
        };
        let (status, body) = u.post(path, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{i}: {body}");
        assert_eq!(body["error"], "Incorrect password");
    }
    // The eleventh is refused, the right password too.
    let (status, body) = u
        .post(
            "/api/users/change-password",
            json!({ "handle": "alice", "oldPassword": "pw", "newPassword": "n" }),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let (status, _) = u
        .post("/api/users/reset-settings", json!({ "password": "pw" }))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Logging in is a separate counter.
    let mut other = s.client();
    let a = other
        .post_from(
            "10.8.0.1",
            "/api/users/login",
            json!({ "handle": "alice", "password": "pw" }),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    // 15 minutes on, it works again.
    s.app.clock.advance(15 * 60_000);
    let (status, body) = u
        .post(
            "/api/users/change-password",
            json!({ "handle": "alice", "oldPassword": "pw", "newPassword": "n" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    s.stop().await;
}

/// Sends `n` POSTs at once in `c`'s session; returns the statuses.
async fn at_once(
    c: &common::Client,
    n: usize,
    send: impl Fn(usize) -> (&'static str, Value),
) -> Vec<StatusCode> {
    let token = c.token.clone().expect("token");
    let mut tasks = Vec::new();
    for i in 0..n {
        let (path, body) = send(i);
        let req = c
            .http
            .post(format!("{}{path}", c.base))
            .header("X-CSRF-Token", &token)
            .json(&body);
        tasks.push(tokio::spawn(async move {
            req.send().await.expect("send").status()
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("task"));
    }
    out
}

fn count(statuses: &[StatusCode], status: StatusCode) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

#[tokio::test]
async fn parallel_reset_code_guesses_cannot_outrun_their_limit() {
    let s = Server::start_with(|c| {
        // A hash long enough that every guess is in flight at once.
        c.password_hash.log_n = 12;
        c.password_hash.concurrency = 1;
    })
    .await;
    s.create_user("alice", Some("pw"), false).await;
    let mut c = s.login("alice", "pw").await;
    let (status, _) = c.post("/api/users/reset-step1", json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let statuses = at_once(&c, 20, |_| {
        (
            "/api/users/reset-step2",
            json!({ "code": "not-a-code", "password": "pw" }),
        )
    })
    .await;
    assert_eq!(
        (
            count(&statuses, StatusCode::BAD_REQUEST),
            count(&statuses, StatusCode::TOO_MANY_REQUESTS)
        ),
        (5, 15),
        "{statuses:?}"
    );
    s.stop().await;
}

#[tokio::test]
async fn parallel_recovery_guesses_cannot_outrun_the_address_limit() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw"), false).await;
    let mut c = s.client();
    let (status, _) = c
        .post("/api/users/recover-step1", json!({ "handle": "alice" }))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let statuses = at_once(&c, 20, |i| {
        let handle = if i % 2 == 0 { "alice" } else { "nobody" };
        (
            "/api/users/recover-step2",
            json!({ "handle": handle, "code": "not-a-code", "newPassword": "x" }),
        )
    })
    .await;
    assert_eq!(
        count(&statuses, StatusCode::TOO_MANY_REQUESTS),
        15,
        "{statuses:?}"
    );
    s.stop().await;
}

/// Discreet mode (point 10): every kind of failed login does the same
/// work as a wrong password for an existing account. The figure against
/// the 5 % target is `cargo bench --bench discreet`; this test only needs
/// to tell a hash from no hash (today a known handle without a password
/// string answered in 1 % of the time), so its bound is wide.
#[tokio::test]
async fn discreet_failures_all_take_a_hash() {
    let s = Server::start_with(|c| {
        c.enable_discreet_login = true;
        c.password_hash.log_n = 13;
        c.password_hash.concurrency = 1;
    })
    .await;
    s.create_user("alice", Some("pw-alice"), false).await;
    s.create_user("carol", Some("pw-carol"), false).await;
    s.app
        .accounts()
        .set_enabled(&Actor::console(), "carol", false)
        .await
        .unwrap();
    let kinds = [
        json!({ "handle": "alice", "password": "x" }),
        json!({ "handle": "nobody", "password": "x" }),
        json!({ "handle": "carol", "password": "x" }),
        json!({ "handle": "alice" }),
        json!({ "handle": "alice", "password": null }),
        json!({ "handle": "alice", "password": ["x"] }),
    ];
    let mut c = s.client();
    let mut times = vec![Vec::new(); kinds.len()];
    for _ in 0..9 {
        for (k, body) in kinds.iter().enumerate() {
            let ip: std::net::IpAddr = "127.0.0.1".parse().unwrap();
            s.app.limits.login_ip.clear(&ip);
            s.app.limits.login_ip_hour.clear(&ip);
            for h in ["alice", "carol", "nobody"] {
                s.app.limits.login_account.clear(&h.to_string());
            }
            let began = std::time::Instant::now();
            let a = c.send("/api/users/login", body.clone(), &[]).await;
            times[k].push(began.elapsed());
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{body}: {}", a.body);
        }
    }
    let medians: Vec<_> = times
        .iter_mut()
        .map(|t| {
            t.sort();
            t[t.len() / 2]
        })
        .collect();
    for (k, m) in medians.iter().enumerate() {
        assert!(
            *m * 2 >= medians[0],
            "{}: median {m:?} against {:?} for a wrong password",
            kinds[k],
            medians[0]
        );
    }
    s.stop().await;
}

/// `passwords.minLength` (issue 14, point 10) is checked before a recovery
/// code is judged: a too-short new password costs no code; SillyTavern's
/// own answers are unchanged at the default of 0.
#[tokio::test]
async fn a_too_short_new_password_costs_no_recovery_code() {
    let s = Server::start_with(|c| c.passwords.min_length = 8).await;
    s.create_user("alice", Some("pw-alice-1"), false).await;
    let mut c = s.client();
    let (status, _) = c
        .post("/api/users/recover-step1", json!({ "handle": "alice" }))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let code = s.last_code("Password recovery code:", "alice");
    let (status, body) = c
        .post(
            "/api/users/recover-step2",
            json!({ "handle": "alice", "code": code, "newPassword": "short" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        "Passwords must be at least 8 characters long."
    );
    let (status, body) = c
        .post(
            "/api/users/recover-step2",
            json!({ "handle": "alice", "code": code, "newPassword": "long-enough" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    s.login("alice", "long-enough").await;
    s.stop().await;
}
