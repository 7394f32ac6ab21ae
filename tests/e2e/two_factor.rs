//! Two-factor login in the browser: turning it on from the account page
//! (the secret read from the page, the code worked out here as an
//! authenticator app would), then logging in with password and code, and
//! with a recovery code; an admin the server requires it of; an admin
//! removing someone's.

use innkeeper::accounts::totp;

use crate::common::Server;
use crate::support::{in_row, login_list, t, Browser};

fn card(handle: &str) -> String {
    format!("{}[data-handle=\"{handle}\"]", t("login-user-card"))
}

/// The app's code for the server's current time.
fn code_now(s: &Server, secret: &[u8]) -> String {
    totp::code_at(secret, totp::step_at(s.app.clock.now_ms()))
}

/// On the shown two-factor card: start, read the secret, confirm with its
/// code; returns the secret and the recovery codes the page shows.
async fn turn_on(b: &Browser, s: &Server) -> (Vec<u8>, Vec<String>) {
    b.wait_attr(&t("two-factor-card"), "data-state", "off")
        .await;
    b.act_ok(&t("two-factor-start")).await;
    b.wait_visible(&t("two-factor-secret")).await;
    b.wait_for(
        "the QR code to be drawn",
        "const i = document.querySelector('[data-test=\"two-factor-qr\"]'); \
         return !!i && i.complete && i.naturalWidth > 0;",
    )
    .await;
    b.shot("two_factor_setup").await;
    let text = b.text(&t("two-factor-secret")).await;
    let secret = totp::from_base32(&text).expect("the page shows base32");
    assert_eq!(secret.len(), 20, "{text}");
    b.fill(&t("two-factor-code"), &code_now(s, &secret)).await;
    let said = b.act_ok(&t("two-factor-confirm")).await;
    assert!(said.contains("Two-factor login is on"), "{said}");
    b.wait_visible(&t("two-factor-recovery-codes")).await;
    assert_eq!(b.count(&t("two-factor-recovery-code")).await, 10);
    b.shot("two_factor_recovery_codes").await;
    let codes: Vec<String> = b
        .js("return [...document.querySelectorAll('[data-test=\"two-factor-recovery-code\"]')].map(e => e.textContent);")
        .await
        .as_array()
        .expect("codes")
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect();
    (secret, codes)
}

/// From the login page's account list: the password, then the code step.
async fn password_then_code_step(b: &Browser, handle: &str, password: &str) {
    b.goto("/login").await;
    b.wait_login_page().await;
    b.click(&card(handle)).await;
    b.wait_attr(&t("login-chosen"), "data-handle", handle).await;
    b.fill(&t("login-password"), password).await;
    b.click(&t("login-submit")).await;
    b.wait_attr(&t("login-code-for"), "data-handle", handle)
        .await;
    b.wait_idle().await;
    assert!(b.visible(&t("login-code")).await);
}

async fn log_out(b: &Browser) {
    b.open_view("account").await;
    b.click(&t("account-logout")).await;
    b.wait_login_page().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turn_on_then_log_in_with_a_code_and_with_a_recovery_code() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let b = Browser::start("two_factor_enrol_and_login", &s.base).await;
    login_list(&b, "alice", Some("pw-alice")).await;
    b.open_view("account").await;
    // Start at the beginning of a 30 s step, so the set-up and the
    // replayed code below fall in the same one.
    let into_step = s.app.clock.now_ms().rem_euclid(30_000);
    s.app.clock.advance(30_000 - into_step);
    let (secret, codes) = turn_on(&b, &s).await;
    b.click(&t("two-factor-codes-done")).await;
    b.wait_attr(&t("two-factor-card"), "data-state", "on").await;
    b.wait_attr(&t("two-factor-state"), "data-codes-left", "10")
        .await;
    let alice = s
        .app
        .accounts()
        .find_user_fresh("alice")
        .await
        .unwrap()
        .unwrap();
    assert!(alice.two_factor);

    // Log out; the password alone now leads to the code step, with no
    // session yet.
    log_out(&b).await;
    password_then_code_step(&b, "alice", "pw-alice").await;
    let sid = b.session_cookie().await;
    assert!(sid.starts_with("anon."), "no login session yet: {sid}");

    // A wrong code is said inline and the form stays.
    let used = code_now(&s, &secret);
    b.fill(&t("login-code"), &used).await;
    let st = b.act(&t("login-code-submit")).await;
    assert_eq!(st.kind, "error");
    assert_eq!(st.text, "Incorrect code", "the set-up code is used");
    assert_eq!(b.text(&t("login-error")).await, "Incorrect code");

    // The next window's code logs in.
    s.app.clock.advance(30_000);
    b.fill(&t("login-code"), &code_now(&s, &secret)).await;
    b.click(&t("login-code-submit")).await;
    b.wait_view("home").await;
    assert_eq!(b.me().await["handle"], "alice");
    assert_eq!(b.me().await["twoFactor"], true);

    // And again with a recovery code instead (typed as shown).
    log_out(&b).await;
    password_then_code_step(&b, "alice", "pw-alice").await;
    b.fill(&t("login-code"), &codes[3]).await;
    b.click(&t("login-code-submit")).await;
    b.wait_view("home").await;
    assert_eq!(b.me().await["handle"], "alice");
    b.open_view("account").await;
    b.wait_attr(&t("two-factor-state"), "data-codes-left", "9")
        .await;

    // That recovery code is spent.
    log_out(&b).await;
    password_then_code_step(&b, "alice", "pw-alice").await;
    b.fill(&t("login-code"), &codes[3]).await;
    let st = b.act(&t("login-code-submit")).await;
    assert_eq!(st.kind, "error");
    assert_eq!(st.text, "Incorrect code");
    b.shot_test().await;
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turn_off_with_the_password() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let b = Browser::start("two_factor_turn_off", &s.base).await;
    login_list(&b, "alice", Some("pw-alice")).await;
    b.open_view("account").await;
    turn_on(&b, &s).await;
    b.click(&t("two-factor-codes-done")).await;
    b.wait_attr(&t("two-factor-card"), "data-state", "on").await;

    b.fill(&t("two-factor-password"), "wrong").await;
    b.click(&t("two-factor-disable")).await;
    b.wait_dialog("two-factor-disable").await;
    let before = b.seq().await;
    b.confirm("two-factor-disable").await;
    let st = b.status_after(before).await;
    assert_eq!(st.kind, "error");
    assert_eq!(st.text, "Incorrect password");

    b.fill(&t("two-factor-password"), "pw-alice").await;
    b.click(&t("two-factor-disable")).await;
    let before = b.seq().await;
    b.confirm("two-factor-disable").await;
    let st = b.status_after(before).await;
    assert_eq!(st.kind, "ok", "{st:?}");
    b.wait_attr(&t("two-factor-card"), "data-state", "off")
        .await;
    assert!(
        !s.app
            .accounts()
            .find_user_fresh("alice")
            .await
            .unwrap()
            .unwrap()
            .two_factor
    );
    // The password alone logs in again.
    log_out(&b).await;
    login_list(&b, "alice", Some("pw-alice")).await;
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_required_to_turn_it_on_sees_only_that_then_removes_someones() {
    let s = Server::start_with(|c| c.two_factor.require_for_admins = true).await;
    s.create_user("boss", Some("pw-boss"), true).await;
    s.create_user("alice", Some("pw-alice"), false).await;
    // alice has two-factor login on already.
    let alice = s
        .app
        .accounts()
        .find_user_fresh("alice")
        .await
        .unwrap()
        .unwrap();
    s.app
        .two_factor()
        .begin_with(&alice, b"12345678901234567890")
        .await
        .unwrap();
    s.app
        .store
        .run(|c| innkeeper::store::two_factor::enable(c, "alice", 0, &[]))
        .await
        .unwrap();
    s.app.directory.invalidate();

    let b = Browser::start("two_factor_required_for_admins", &s.base).await;
    b.goto("/login").await;
    b.wait_login_page().await;
    b.click(&card("boss")).await;
    b.wait_attr(&t("login-chosen"), "data-handle", "boss").await;
    b.fill(&t("login-password"), "pw-boss").await;
    b.click(&t("login-submit")).await;
    b.wait_visible(&t("two-factor-required")).await;
    b.wait_idle().await;
    assert_eq!(b.count(&t("nav-home")).await, 0, "nothing but the set-up");
    assert_eq!(b.count(&t("view-admin")).await, 0);
    turn_on(&b, &s).await;
    b.click(&t("two-factor-codes-done")).await;
    // The page starts over as the usual app.
    b.wait_view("home").await;
    assert_eq!(b.me().await["twoFactorRequired"], false);

    b.open_view("admin").await;
    b.wait_attr(
        &in_row("alice", "admin-two-factor-state"),
        "data-state",
        "on",
    )
    .await;
    b.choose_in_row("alice", "admin-two-factor-remove").await;
    let before = b.seq().await;
    b.confirm("admin-two-factor-remove").await;
    let st = b.status_after(before).await;
    assert_eq!(st.kind, "ok", "{st:?}");
    assert_eq!(st.text, "Removed the two-factor login of alice.");
    b.wait_attr(
        &in_row("alice", "admin-two-factor-state"),
        "data-state",
        "off",
    )
    .await;
    assert!(
        !s.app
            .accounts()
            .find_user_fresh("alice")
            .await
            .unwrap()
            .unwrap()
            .two_factor
    );
    b.close().await;
    s.stop().await;
}
