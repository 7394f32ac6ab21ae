//! Password recovery with console codes, its limits (per IP, per handle),
//! and the account reset, against SPEC §6 and Appendix A.

mod common;

use common::{Answer, Client, Server};
use innkeeper::app::Actor;
use reqwest::StatusCode;
use serde_json::{json, Value};

const LIMITED: &str = "Too many attempts. Try again later or contact your admin.";
const RECOVERY: &str = "Password recovery code:";
const RESET: &str = "Account reset code:";

async fn step1(c: &mut Client, ip: &str, handle: &str) -> Answer {
    c.post_from(ip, "/api/users/recover-step1", json!({ "handle": handle }))
        .await
}

async fn step2(c: &mut Client, ip: &str, body: Value) -> Answer {
    c.post_from(ip, "/api/users/recover-step2", body).await
}

async fn step2_code(c: &mut Client, ip: &str, handle: &str, code: &str, pw: &str) -> Answer {
    step2(
        c,
        ip,
        json!({ "handle": handle, "code": code, "newPassword": pw }),
    )
    .await
}

/// A code that is not `code`.
fn other_than(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:04}", (n + 1) % 10_000)
}

fn is_closed(a: &Answer) -> bool {
    a.status == StatusCode::FORBIDDEN && a.error().contains("contact your admin")
}

async fn start() -> Server {
    let s = Server::start_with(common::forwarding).await;
    s.create_user("alice", Some("pw-alice"), false).await;
    s
}

/// A server where alice asked for a recovery code from `ip`: the server,
/// the client that asked, and the code the console printed.
async fn code_sent(ip: &str) -> (Server, Client, String) {
    let s = start().await;
    let mut c = s.client();
    step1(&mut c, ip, "alice").await;
    let code = s.last_code(RECOVERY, "alice");
    (s, c, code)
}

#[tokio::test]
async fn step1_answers_and_the_console_line() {
    let s = start().await;
    s.create_user("carol", Some("pw-carol"), false).await;
    s.app
        .accounts()
        .set_enabled(&Actor::console(), "carol", false)
        .await
        .unwrap();
    let mut c = s.client();
    let ip = "10.0.0.1";
    for body in [
        json!({}),
        json!({ "handle": "" }),
        json!({ "handle": null }),
    ] {
        let a = c.post_from(ip, "/api/users/recover-step1", body).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        assert_eq!(a.error(), "Missing required fields");
    }
    let a = step1(&mut c, ip, "nobody").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.error(), "User not found");
    let a = step1(&mut c, ip, "carol").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.error(), "User is disabled");
    assert!(s.console_lines().is_empty(), "{:?}", s.console_lines());

    let a = step1(&mut c, ip, "alice").await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let lines = s.console_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    let code = line
        .strip_prefix("Password recovery code: ")
        .and_then(|r| r.strip_suffix(" (for alice name, alice)"))
        .unwrap_or_else(|| panic!("line format: {line:?}"));
    assert_eq!(code.len(), 4, "{line:?}");
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "{line:?}");
    assert!(!line.contains('\x1b') && !line.contains('\n'), "{line:?}");
    assert_eq!(s.last_code(RECOVERY, "alice"), code);

    // A full recovery and a reset: only the code lines mention codes.
    let a = step2_code(&mut c, ip, "alice", code, "pw2").await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let (mut u, _) = s.login_with_cookie("alice", "pw2").await;
    let (status, _) = u.post("/api/users/reset-step1", json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let reset = s.console_line(RESET).expect("reset line");
    let rcode = reset
        .strip_prefix("Account reset code: ")
        .and_then(|r| r.strip_suffix(" (for alice name, alice)"))
        .unwrap_or_else(|| panic!("line format: {reset:?}"));
    assert!(rcode.len() == 4 && rcode.bytes().all(|b| b.is_ascii_digit()));
    for l in s.console_lines() {
        let lower = l.to_lowercase();
        if lower.contains("recovery code") || lower.contains("reset code") {
            assert!(
                l.starts_with("Password recovery code: ") || l.starts_with("Account reset code: "),
                "{l:?}"
            );
        }
    }
    s.stop().await;
}

#[tokio::test]
async fn discreet_mode_hides_unknown_handles() {
    let s = Server::start_with(|c| c.enable_discreet_login = true).await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let mut c = s.client();
    let a = step1(&mut c, "127.0.0.1", "nobody").await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert!(s.console_lines().is_empty());
    let a = step1(&mut c, "127.0.0.1", "alice").await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    // Step 2 for an unknown handle answers as a wrong code would.
    let a = step2_code(&mut c, "127.0.0.1", "nobody", "0000", "x").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.error(), "Incorrect code");
    // Login answers alike too.
    let a = c
        .send(
            "/api/users/login",
            json!({ "handle": "nobody", "password": "x" }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.error(), "Incorrect credentials");
    s.stop().await;
}

#[tokio::test]
async fn step2_answers_per_appendix_a() {
    let s = start().await;
    s.create_user("carol", Some("pw-carol"), false).await;
    let mut c = s.client();
    let ip = "10.0.0.2";
    for body in [
        json!({}),
        json!({ "handle": "alice" }),
        json!({ "handle": "alice", "code": null }),
        json!({ "handle": "alice", "code": "" }),
        json!({ "code": "1234" }),
    ] {
        let a = step2(&mut c, ip, body.clone()).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(a.error(), "Missing required fields", "{body}");
    }
    let a = step2_code(&mut c, ip, "nobody", "1234", "x").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.error(), "User not found");
    assert_eq!(
        step1(&mut c, ip, "carol").await.status,
        StatusCode::NO_CONTENT
    );
    let carol_code = s.last_code(RECOVERY, "carol");
    s.app
        .accounts()
        .set_enabled(&Actor::console(), "carol", false)
        .await
        .unwrap();
    let a = step2_code(&mut c, ip, "carol", &carol_code, "x").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.error(), "User is disabled");

    assert_eq!(
        step1(&mut c, ip, "alice").await.status,
        StatusCode::NO_CONTENT
    );
    let code = s.last_code(RECOVERY, "alice");
    let a = step2_code(&mut c, ip, "alice", &other_than(&code), "x").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.error(), "Incorrect code");
    let a = step2_code(&mut c, ip, "alice", &code, "new-pw").await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    s.login("alice", "new-pw").await;
    s.stop().await;
}

#[tokio::test]
async fn a_code_works_once() {
    let (s, mut c, code) = code_sent("10.0.0.3").await;
    let ip = "10.0.0.3";
    assert_eq!(
        step2_code(&mut c, ip, "alice", &code, "one").await.status,
        StatusCode::NO_CONTENT
    );
    let a = step2_code(&mut c, ip, "alice", &code, "two").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.error(), "Incorrect code");
    s.login("alice", "one").await;
    s.stop().await;
}

#[tokio::test]
async fn a_code_expires_after_five_minutes() {
    let (s, mut c, code) = code_sent("10.0.0.4").await;
    let ip = "10.0.0.4";
    s.app.clock.advance(5 * 60_000 - 2_000);
    assert_eq!(
        step2_code(&mut c, ip, "alice", &code, "in-time")
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    step1(&mut c, ip, "alice").await;
    let code = s.last_code(RECOVERY, "alice");
    s.app.clock.advance(5 * 60_000 + 1_000);
    let a = step2_code(&mut c, ip, "alice", &code, "late").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.error(), "Incorrect code");
    s.login("alice", "in-time").await;
    s.stop().await;
}

#[tokio::test]
async fn a_code_dies_after_three_wrong_tries_and_a_number_is_wrong() {
    let (s, mut c, code) = code_sent("10.0.0.5").await;
    let ip = "10.0.0.5";
    // The code as a JSON number is a wrong code (and costs a try).
    let n: u64 = code.parse().unwrap();
    let a = step2(
        &mut c,
        ip,
        json!({ "handle": "alice", "code": n, "newPassword": "x" }),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.error(), "Incorrect code");
    // Two wrong tries left: the right one still works.
    assert_eq!(
        step2_code(&mut c, ip, "alice", &code, "still").await.status,
        StatusCode::NO_CONTENT
    );

    let ip = "10.0.0.6";
    step1(&mut c, ip, "alice").await;
    let code = s.last_code(RECOVERY, "alice");
    for _ in 0..3 {
        let a = step2_code(&mut c, ip, "alice", &other_than(&code), "x").await;
        assert_eq!(a.error(), "Incorrect code");
    }
    let a = step2_code(&mut c, "10.0.0.7", "alice", &code, "dead").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.error(), "Incorrect code");
    s.login("alice", "still").await;
    s.stop().await;
}

#[tokio::test]
async fn empty_new_password_removes_it_and_every_session_ends() {
    let s = start().await;
    let a1 = s.login("alice", "pw-alice").await;
    let a2 = s.login("alice", "pw-alice").await;
    let mut c = s.client();
    step1(&mut c, "10.0.0.8", "alice").await;
    let code = s.last_code(RECOVERY, "alice");
    let a = step2(
        &mut c,
        "10.0.0.8",
        json!({ "handle": "alice", "code": code, "newPassword": "" }),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    for old in [&a1, &a2] {
        assert_eq!(
            old.fetch("/api/users/me").await.status,
            StatusCode::FORBIDDEN
        );
    }
    let mut fresh = s.client();
    let a = fresh
        .send("/api/users/login", json!({ "handle": "alice" }), &[])
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let me = fresh.fetch("/api/users/me").await;
    assert_eq!(me.body["password"], false);
    // Absent newPassword also means "no password".
    step1(&mut c, "10.0.0.8", "alice").await;
    let code = s.last_code(RECOVERY, "alice");
    let a = step2(
        &mut c,
        "10.0.0.8",
        json!({ "handle": "alice", "code": code }),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    s.stop().await;
}

#[tokio::test]
async fn five_recovery_failures_from_one_ip_block_it() {
    let s = start().await;
    s.create_user("carol", Some("pw-carol"), false).await;
    s.app
        .accounts()
        .set_enabled(&Actor::console(), "carol", false)
        .await
        .unwrap();
    let mut c = s.client();
    let ip = "10.0.1.1";
    // Missing fields and disabled accounts do not count.
    for _ in 0..6 {
        assert_eq!(
            step2(&mut c, ip, json!({ "handle": "alice" })).await.status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            step1(&mut c, ip, "carol").await.status,
            StatusCode::FORBIDDEN
        );
    }
    step1(&mut c, ip, "alice").await;
    let code = s.last_code(RECOVERY, "alice");
    // Unknown handles (step 1 and 2) and wrong codes count.
    assert_eq!(
        step1(&mut c, ip, "nobody").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        step2_code(&mut c, ip, "nobody", "1234", "x").await.status,
        StatusCode::NOT_FOUND
    );
    for _ in 0..3 {
        let a = step2_code(&mut c, ip, "alice", &other_than(&code), "x").await;
        assert_eq!(a.error(), "Incorrect code");
    }
    step1(&mut c, "10.0.1.2", "alice").await;
    let code = s.last_code(RECOVERY, "alice");
    for a in [
        step2_code(&mut c, ip, "alice", &code, "x").await,
        step1(&mut c, ip, "alice").await,
        step1(&mut c, ip, "nobody").await,
    ] {
        assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.body);
        assert_eq!(a.error(), LIMITED);
        let wait: u64 = a
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .unwrap();
        assert!((1..=300).contains(&wait), "{wait}");
    }
    // Another address is not affected; the window passes.
    assert_eq!(
        step2_code(&mut c, "10.0.1.3", "alice", &code, "new")
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    s.app.clock.advance(4 * 60_000);
    assert_eq!(
        step1(&mut c, ip, "alice").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    s.app.clock.advance(60_001);
    assert_eq!(
        step1(&mut c, ip, "alice").await.status,
        StatusCode::NO_CONTENT
    );
    s.stop().await;
}

#[tokio::test]
async fn a_successful_step2_clears_the_ip_count() {
    let s = start().await;
    let mut c = s.client();
    let ip = "10.0.2.1";
    for _ in 0..4 {
        assert_eq!(
            step1(&mut c, ip, "nobody").await.status,
            StatusCode::NOT_FOUND
        );
    }
    step1(&mut c, ip, "alice").await;
    let code = s.last_code(RECOVERY, "alice");
    assert_eq!(
        step2_code(&mut c, ip, "alice", &code, "x").await.status,
        StatusCode::NO_CONTENT
    );
    for i in 0..4 {
        let a = step1(&mut c, ip, "nobody").await;
        assert_eq!(
            a.status,
            StatusCode::NOT_FOUND,
            "failure {i} after clearing"
        );
    }
    assert_eq!(
        step1(&mut c, ip, "alice").await.status,
        StatusCode::NO_CONTENT
    );
    s.stop().await;
}

/// Wrong codes for `handle`, each from a fresh address; returns the answers.
async fn wrong_guesses(s: &Server, c: &mut Client, handle: &str, n: usize, net: u8) -> Vec<Answer> {
    let mut out = Vec::new();
    for i in 0..n {
        let ip = format!("10.{net}.{}.{}", i / 200, i % 200 + 1);
        let a = step1(c, &ip, handle).await;
        let guess = if a.status == StatusCode::NO_CONTENT {
            other_than(&s.last_code(RECOVERY, handle))
        } else {
            "0000".to_string()
        };
        out.push(step2_code(c, &ip, handle, &guess, "x").await);
    }
    out
}

#[tokio::test]
async fn ten_wrong_codes_a_day_close_recovery_for_the_handle() {
    let s = start().await;
    s.create_user("bob", Some("pw-bob"), false).await;
    let mut c = s.client();
    let answers = wrong_guesses(&s, &mut c, "alice", 10, 10).await;
    for a in &answers {
        assert_eq!(a.error(), "Incorrect code");
    }
    // Closed for this handle (both steps), from any address, even with a
    // code issued before.
    let a = step1(&mut c, "10.11.0.1", "alice").await;
    assert!(is_closed(&a), "{} {}", a.status, a.body);
    let a = step2_code(&mut c, "10.11.0.2", "alice", "1234", "x").await;
    assert!(is_closed(&a), "{} {}", a.status, a.body);
    // Other handles are not affected.
    assert_eq!(
        step1(&mut c, "10.11.0.3", "bob").await.status,
        StatusCode::NO_CONTENT
    );
    // A day later, ten more.
    s.app.clock.advance(24 * 3600 * 1000);
    // The anonymous session (and its token) expired with the day.
    c.token = None;
    let a = step1(&mut c, "10.11.0.4", "alice").await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    s.stop().await;
}

#[tokio::test]
async fn thirty_wrong_codes_close_recovery_until_login_or_admin() {
    let s = start().await;
    s.create_user("boss", Some("pw-boss"), true).await;
    let mut c = s.client();
    for day in 0..3u8 {
        let answers = wrong_guesses(&s, &mut c, "alice", 10, 20 + day).await;
        assert!(answers.iter().all(|a| a.error() == "Incorrect code"));
        s.app.clock.advance(24 * 3600 * 1000 + 1);
        c.token = None;
    }
    // 30 in total: closed even on a new day.
    let a = step1(&mut c, "10.30.0.1", "alice").await;
    assert!(is_closed(&a), "{} {}", a.status, a.body);
    s.app.clock.advance(7 * 24 * 3600 * 1000);
    c.token = None;
    let a = step1(&mut c, "10.30.0.2", "alice").await;
    assert!(is_closed(&a), "{} {}", a.status, a.body);

    // A successful login reopens it.
    let mut u = s.client();
    let a = u
        .post_from(
            "10.30.0.3",
            "/api/users/login",
            json!({ "handle": "alice", "password": "pw-alice" }),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        step1(&mut c, "10.30.0.4", "alice").await.status,
        StatusCode::NO_CONTENT
    );

    // Closed again, then the admin clears it.
    wrong_guesses(&s, &mut c, "alice", 10, 31).await;
    assert!(is_closed(&step1(&mut c, "10.32.0.1", "alice").await));
    let mut admin = s.login("boss", "pw-boss").await;
    let (status, body) = admin
        .post("/api/users/clear-limits", json!({ "handle": "alice" }))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        step1(&mut c, "10.32.0.2", "alice").await.status,
        StatusCode::NO_CONTENT
    );
    let (status, _) = admin
        .post("/api/users/clear-limits", json!({ "handle": "nobody" }))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = admin.post("/api/users/clear-limits", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    s.stop().await;
}

/// Every 4-digit code against one handle, with new codes requested as
/// needed and the per-IP limit dodged through many forwarded addresses.
/// The live code is never submitted while recovery is open (so the test
/// cannot pass or fail by luck); the test proves the server evaluates at
/// most 30 guesses for the handle and refuses everything after, the live
/// code included.
#[tokio::test]
async fn brute_forcing_every_code_never_gets_in() {
    let s = start().await;
    let mut c = s.client();
    let mut evaluated = 0;
    let mut closed = 0;
    let mut skipped = 0;
    let mut live: Option<String> = None;
    let mut tries_on_code = 0;
    let mut attempts_from_ip = 0;
    let mut ip_n = 0u32;
    let mut ip = String::from("10.40.0.1");
    for n in 0..10_000u32 {
        let guess = format!("{n:04}");
        if attempts_from_ip >= 4 {
            ip_n += 1;
            attempts_from_ip = 0;
            ip = format!(
                "10.{}.{}.{}",
                41 + ip_n / 40_000,
                (ip_n / 200) % 200,
                ip_n % 200 + 1
            );
        }
        if live.is_none() || tries_on_code >= 3 {
            let a = step1(&mut c, &ip, "alice").await;
            if a.status == StatusCode::NO_CONTENT {
                live = Some(s.last_code(RECOVERY, "alice"));
                tries_on_code = 0;
            } else {
                assert!(is_closed(&a), "{} {}", a.status, a.body);
            }
        }
        if evaluated < 30 && live.as_deref() == Some(guess.as_str()) {
            skipped += 1;
            continue;
        }
        let a = step2_code(&mut c, &ip, "alice", &guess, "pwned").await;
        assert_ne!(a.status, StatusCode::NO_CONTENT, "got in with {guess}");
        assert_ne!(a.status, StatusCode::TOO_MANY_REQUESTS, "address limit hit");
        if is_closed(&a) {
            closed += 1;
            if evaluated < 30 {
                // The daily cap: wait a day and go on.
                s.app.clock.advance(24 * 3600 * 1000 + 1);
                c.token = None;
                live = None;
            }
        } else {
            assert_eq!(a.error(), "Incorrect code", "{guess}");
            evaluated += 1;
            tries_on_code += 1;
            attempts_from_ip += 1;
        }
    }
    assert_eq!(evaluated, 30, "guesses the server evaluated");
    assert_eq!(evaluated + closed + skipped, 10_000);
    // The last code issued is refused too, and the password is unchanged.
    if let Some(code) = live {
        assert!(is_closed(
            &step2_code(&mut c, "10.99.0.1", "alice", &code, "pwned").await
        ));
    }
    s.login("alice", "pw-alice").await;
    s.stop().await;
}

#[tokio::test]
async fn account_reset_wipes_and_recreates_the_folder() {
    let s = start().await;
    let mut u = s.login("alice", "pw-alice").await;
    let dir = s.user_dir("alice");
    std::fs::write(dir.join("characters/hero.png"), b"png").unwrap();
    std::fs::write(dir.join("settings.json"), b"{\"mine\":true}").unwrap();
    std::fs::create_dir_all(dir.join("chats/hero")).unwrap();
    std::fs::write(dir.join("chats/hero/1.jsonl"), b"{}").unwrap();
    let (status, _) = u.post("/api/settings/make-snapshot", json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // Anonymous: 403.
    let mut anon = s.client();
    let (status, _) = anon.post("/api/users/reset-step1", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = anon
        .post(
            "/api/users/reset-step2",
            json!({ "code": "1234", "password": "pw-alice" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, _) = u.post("/api/users/reset-step1", json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let code = s.last_code(RESET, "alice");
    for body in [
        json!({}),
        json!({ "password": "pw-alice" }),
        json!({ "code": "" }),
    ] {
        let (status, b) = u.post("/api/users/reset-step2", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(b["error"], "Missing required fields", "{body}");
    }
    let (status, b) = u
        .post(
            "/api/users/reset-step2",
            json!({ "code": code, "password": "wrong" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"], "Incorrect password");
    let (status, b) = u
        .post("/api/users/reset-step2", json!({ "code": code }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"], "Incorrect password");
    let (status, b) = u
        .post(
            "/api/users/reset-step2",
            json!({ "code": other_than(&code), "password": "pw-alice" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"], "Incorrect code");
    // A recovery code is not a reset code.
    assert!(dir.join("characters/hero.png").exists());

    let (status, b) = u
        .post(
            "/api/users/reset-step2",
            json!({ "code": code, "password": "pw-alice" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{b}");
    assert!(!dir.join("characters/hero.png").exists());
    assert!(!dir.join("chats/hero").exists());
    for f in innkeeper::userdata::layout::FOLDERS {
        assert!(dir.join(f).is_dir(), "{f} recreated");
    }
    let text = std::fs::read_to_string(dir.join("settings.json")).unwrap();
    assert_ne!(text, "{\"mine\":true}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert!(v.is_object());
    let (status, list) = u.post("/api/settings/get-snapshots", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list, json!([]));
    // The code is used up; the user stays logged in with the same password.
    let (status, b) = u
        .post(
            "/api/users/reset-step2",
            json!({ "code": code, "password": "pw-alice" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"], "Incorrect code");
    assert_eq!(u.fetch("/api/users/me").await.status, StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn account_reset_has_its_own_limit() {
    let s = start().await;
    let mut u = s.login("alice", "pw-alice").await;
    let (status, _) = u.post("/api/users/reset-step1", json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let code = s.last_code(RESET, "alice");
    for _ in 0..5 {
        let (status, _) = u
            .post(
                "/api/users/reset-step2",
                json!({ "code": code, "password": "wrong" }),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    let a = u
        .send(
            "/api/users/reset-step2",
            json!({ "code": code, "password": "pw-alice" }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(a.header("retry-after").is_some());
    assert!(a.error().contains("contact your admin"), "{}", a.body);
    assert!(s.user_dir("alice").join("settings.json").exists());
    // The recovery counter of this address is a different one.
    let mut c = s.client();
    assert_eq!(
        step1(&mut c, "127.0.0.1", "alice").await.status,
        StatusCode::NO_CONTENT
    );
    s.stop().await;
}
