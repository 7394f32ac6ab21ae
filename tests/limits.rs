//! Login limits that cannot be talked around (issue 13, point 9; SPEC §6):
//! a second per-IP counter that no success clears (20 failures within an
//! hour), IPv6 clients counted by their /64, failures per account only for
//! real handles, and a recovery that ends the lockout it was needed for.

mod common;

use common::{forwarding, Server};
use reqwest::StatusCode;
use serde_json::json;

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
