//! The admin view: every action on accounts, the audit log, and what a
//! non-admin does (not) see.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{forwarding, Server};
use crate::support::{in_row, login_list, t, zip_names, Browser};

fn row(handle: &str) -> String {
    format!("{}[data-handle=\"{handle}\"]", t("admin-user-row"))
}

/// A server with an admin (boss) and two users, and a browser logged in as boss on the admin view.
async fn admin_session(test: &str) -> (Server, Browser) {
    let s = Server::start_with(forwarding).await;
    s.create_user("boss", Some("pw-boss"), true).await;
    s.create_user("alice", Some("pw-alice"), false).await;
    s.create_user("bob", Some("pw-bob"), false).await;
    let b = Browser::start(test, &s.base).await;
    login_list(&b, "boss", Some("pw-boss")).await;
    assert_eq!(b.text(&t("header-role")).await, "admin");
    b.open_view("admin").await;
    (s, b)
}

/// Chooses an item of a row's "More" menu and expects an `ok` status.
async fn row_action(b: &Browser, handle: &str, name: &str) -> String {
    let st = b.act_in_row(handle, name).await;
    assert_eq!(st.kind, "ok", "{handle}: {name}: {st:?}");
    st.text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_creates_enables_and_promotes() {
    let (s, b) = admin_session("admin_creates_enables_and_promotes").await;
    assert_eq!(b.text(&t("admin-user-count")).await, "4 accounts");
    // Every row's usage has arrived once the page is idle.
    assert_eq!(
        b.count(&format!("{}[data-state=\"done\"]", t("admin-usage")))
            .await,
        4
    );
    // Own row: disable, demote and delete are not offered.
    for name in ["admin-disable", "admin-demote", "admin-delete"] {
        assert_eq!(
            b.prop(&in_row("boss", name), "disabled").await,
            json!(true),
            "{name}"
        );
    }
    assert_eq!(
        b.prop(&in_row("default-user", "admin-delete"), "disabled")
            .await,
        json!(true)
    );

    // Create: the handle is suggested from the name by the server's slugify.
    b.admin_tab("create").await;
    b.fill(&t("admin-create-name"), "Zoë Quinn").await;
    b.wait_idle().await;
    let expected = innkeeper::accounts::handle::slugify("Zoë Quinn").unwrap();
    assert_eq!(expected, "zoe-quinn");
    assert_eq!(
        b.prop(&t("admin-create-handle"), "value").await,
        json!(expected)
    );
    b.fill(&t("admin-create-password"), "pw-zoe").await;
    b.fill(&t("admin-create-password-confirm"), "pw-zoe").await;
    let msg = b.act_ok(&t("admin-create-submit")).await;
    assert_eq!(msg, "Account zoe-quinn created.");
    assert_eq!(
        b.text(&in_row("zoe-quinn", "admin-user-name")).await,
        "Zoë Quinn"
    );
    assert_eq!(
        b.attr(&in_row("zoe-quinn", "admin-password-state"), "data-state")
            .await
            .as_deref(),
        Some("locked")
    );
    assert_eq!(
        b.prop(&t("admin-create-name"), "value").await,
        json!(""),
        "the form is cleared"
    );
    let zoe = s.user_row("zoe-quinn").await.expect("created");
    assert_eq!(zoe.name, "Zoë Quinn");
    assert!(!zoe.admin && zoe.enabled && zoe.password.is_some());
    s.login("zoe-quinn", "pw-zoe").await;

    // Taken handle: the server's message, inline.
    b.fill(&t("admin-create-name"), "Alice").await;
    b.wait_idle().await;
    assert_eq!(
        b.prop(&t("admin-create-handle"), "value").await,
        json!("alice")
    );
    let st = b.act(&t("admin-create-submit")).await;
    assert_eq!(st.kind, "error");
    assert_eq!(
        b.text(&t("admin-create-error")).await,
        "User already exists: alice"
    );

    // Disable, then enable.
    b.admin_tab("accounts").await;
    row_action(&b, "alice", "admin-disable").await;
    assert_eq!(
        b.attr(&row("alice"), "data-enabled").await.as_deref(),
        Some("0")
    );
    assert_eq!(
        b.attr(&in_row("alice", "admin-enabled"), "data-state")
            .await
            .as_deref(),
        Some("disabled")
    );
    assert!(!s.user_row("alice").await.unwrap().enabled);
    let mut c = s.client();
    let (status, body) = c
        .post(
            "/api/users/login",
            json!({ "handle": "alice", "password": "pw-alice" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "User is disabled");
    row_action(&b, "alice", "admin-enable").await;
    assert_eq!(
        b.attr(&row("alice"), "data-enabled").await.as_deref(),
        Some("1")
    );
    assert!(s.user_row("alice").await.unwrap().enabled);

    // Promote, then demote.
    row_action(&b, "alice", "admin-promote").await;
    assert_eq!(
        b.attr(&row("alice"), "data-admin").await.as_deref(),
        Some("1")
    );
    assert_eq!(
        b.attr(&in_row("alice", "admin-role"), "data-role")
            .await
            .as_deref(),
        Some("admin")
    );
    assert!(s.user_row("alice").await.unwrap().admin);
    b.shot_test().await;
    row_action(&b, "alice", "admin-demote").await;
    assert_eq!(
        b.attr(&row("alice"), "data-admin").await.as_deref(),
        Some("0")
    );
    assert!(!s.user_row("alice").await.unwrap().admin);
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_sets_passwords_downloads_backups_and_clears_limits() {
    let (s, b) = admin_session("admin_sets_passwords_downloads_backups_and_clears_limits").await;

    // Someone else's password: the dialog holds the new one, no old one asked.
    b.choose_in_row("bob", "admin-password").await;
    b.wait_dialog("admin-password").await;
    assert_eq!(b.count(&t("admin-password-old")).await, 0);
    b.fill(&t("admin-password-new"), "bob-new").await;
    b.fill(&t("admin-password-new-confirm"), "bob-new").await;
    let before = b.seq().await;
    b.click(&t("confirm-ok")).await;
    let st = b.status_after(before).await;
    assert_eq!(
        (st.kind.as_str(), st.text.as_str()),
        ("ok", "New password set for bob.")
    );
    // Temporary unless the admin says otherwise: bob chooses his own next.
    let bob = s.login("bob", "bob-new").await;
    assert_eq!(
        bob.fetch("/api/users/me").await.body["mustChangePassword"],
        true
    );

    // Someone's backup.
    let msg = row_action(&b, "bob", "admin-backup").await;
    assert!(msg.starts_with("Backup of bob downloaded"), "{msg}");
    assert_eq!(
        b.attr(&in_row("bob", "admin-backup-status"), "data-state")
            .await
            .as_deref(),
        Some("done")
    );
    let zip = b.wait_download("bob-", ".zip").await;
    let names = zip_names(&zip);
    assert!(
        names.iter().any(|n| n.ends_with("settings.json")),
        "{names:?}"
    );

    // Lock alice out (10 wrong passwords from 10 addresses), then clear it.
    let mut c = s.client();
    for i in 0..10 {
        let a = c
            .post_from(
                &format!("10.9.0.{i}"),
                "/api/users/login",
                json!({ "handle": "alice", "password": "wrong" }),
            )
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    }
    let login = json!({ "handle": "alice", "password": "pw-alice" });
    let a = c
        .post_from("10.9.1.1", "/api/users/login", login.clone())
        .await;
    assert_eq!(
        a.status,
        StatusCode::TOO_MANY_REQUESTS,
        "alice is locked out"
    );
    let msg = row_action(&b, "alice", "admin-unlock").await;
    assert_eq!(
        msg,
        "Login attempts unlocked for alice: they can log in and recover their password again."
    );
    let a = c.post_from("10.9.1.2", "/api/users/login", login).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    b.shot_test().await;
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_deletes_accounts_and_reads_the_audit_log() {
    let (s, b) = admin_session("admin_deletes_accounts_and_reads_the_audit_log").await;

    // Delete keeping the data folder; cancelling first changes nothing.
    b.choose_in_row("bob", "admin-delete").await;
    b.wait_dialog("admin-delete").await;
    let before = b.seq().await;
    b.click(&t("confirm-cancel")).await;
    assert_eq!(b.status_after(before).await.kind, "info");
    assert_eq!(b.count(&row("bob")).await, 1);

    b.choose_in_row("bob", "admin-delete").await;
    let before = b.seq().await;
    b.confirm("admin-delete").await;
    let st = b.status_after(before).await;
    assert_eq!(st.text, "bob was deleted; their data folder was kept.");
    assert_eq!(b.count(&row("bob")).await, 0);
    assert!(s.user_row("bob").await.is_none());
    assert!(s.user_dir("bob").is_dir(), "the folder stays");

    // Delete with "also delete their data".
    b.choose_in_row("alice", "admin-delete").await;
    b.wait_dialog("admin-delete").await;
    b.click(&t("admin-delete-purge")).await;
    assert_eq!(
        b.prop(&t("admin-delete-purge"), "checked").await,
        json!(true)
    );
    b.fill(&t("admin-delete-handle"), "alice").await;
    let before = b.seq().await;
    b.click(&t("confirm-ok")).await;
    let st = b.status_after(before).await;
    assert_eq!(st.text, "alice and their data were deleted.");
    assert_eq!(b.count(&row("alice")).await, 0);
    assert!(s.user_row("alice").await.is_none());
    assert!(!s.user_dir("alice").exists(), "the folder is gone");
    assert_eq!(b.text(&t("admin-user-count")).await, "2 accounts");

    // The audit log, newest first: the two deletes on top.
    let rows: Value = b
        .js(
            "return [...document.querySelectorAll('[data-test=\"audit-row\"]')].map((r) => \
             ({ id: Number(r.dataset.id), action: r.dataset.action, text: r.textContent }));",
        )
        .await;
    let rows = rows.as_array().unwrap();
    assert!(rows.len() >= 4, "{rows:?}");
    let ids: Vec<i64> = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    assert_eq!(rows[0]["action"], "user.delete");
    assert!(
        rows[0]["text"].as_str().unwrap().contains("alice"),
        "{}",
        rows[0]
    );
    assert_eq!(rows[1]["action"], "user.delete");
    assert!(
        rows[1]["text"].as_str().unwrap().contains("bob"),
        "{}",
        rows[1]
    );
    let actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"user.create"), "{actions:?}");
    b.shot_test().await;
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_admin_sees_no_admin_panel() {
    let s = Server::start().await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let b = Browser::start("non_admin_sees_no_admin_panel", &s.base).await;
    login_list(&b, "alice", Some("pw-alice")).await;
    assert_eq!(
        b.js("return document.body.dataset.role;").await,
        json!("user")
    );
    assert_eq!(b.count(&t("nav-admin")).await, 0);
    assert_eq!(b.count(&t("header-role")).await, 0);
    assert_eq!(b.count(&t("view-admin")).await, 0);

    // Going there by hand shows home and nothing of the admin view.
    b.goto("/#admin").await;
    b.c.refresh().await.expect("reload /#admin");
    b.wait_view("home").await;
    assert_eq!(b.js("return location.hash;").await, json!("#admin"));
    let admin_bits = b
        .js(
            "return document.querySelectorAll('[data-test^=\"admin-\"], [data-test^=\"audit-\"]').length;",
        )
        .await;
    assert_eq!(admin_bits, json!(0));
    assert!(!b.text("main").await.contains("Audit log"));
    b.shot_test().await;
    b.close().await;
    s.stop().await;
}

/// The element that has the keyboard focus, by its data-test name.
async fn focused(b: &Browser) -> Value {
    b.js("return document.activeElement?.dataset?.test ?? null;")
        .await
}

/// Presses Enter on whatever has the focus, as a user at the keyboard does.
async fn press_enter(b: &Browser) {
    b.find(":focus").await.send_keys("\u{e007}").await.unwrap();
}

/// Issue 14, point 2: destructive dialogs open with the focus on Cancel,
/// Enter never confirms a delete, and deleting the data too asks for the
/// handle typed out under a button that says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destructive_dialogs_are_safe() {
    let (s, b) = admin_session("destructive_dialogs_are_safe").await;
    b.choose_in_row("bob", "admin-delete").await;
    b.wait_dialog("admin-delete").await;
    assert_eq!(focused(&b).await, json!("confirm-cancel"));
    // Enter, Enter: the first cancels; nothing is deleted.
    let before = b.seq().await;
    press_enter(&b).await;
    assert_eq!(b.status_after(before).await.text, "bob was not deleted.");
    assert!(s.user_row("bob").await.is_some());

    // Enter in the purge box does not confirm either.
    b.choose_in_row("bob", "admin-delete").await;
    b.wait_dialog("admin-delete").await;
    b.click(&t("admin-delete-purge")).await;
    assert_eq!(focused(&b).await, json!("admin-delete-purge"));
    press_enter(&b).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(b.visible(&t("confirm-dialog")).await, "still open");
    assert!(s.user_row("bob").await.is_some());
    assert_eq!(b.text(&t("confirm-ok")).await, "Delete account and data");
    // Without the handle typed out the dialog stays open and says why.
    b.click(&t("confirm-ok")).await;
    b.wait_visible(&t("dialog-error")).await;
    assert_eq!(
        b.text(&t("dialog-error")).await,
        "Type bob exactly to delete their data too."
    );
    b.fill(&t("admin-delete-handle"), "bo").await;
    press_enter(&b).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(s.user_row("bob").await.is_some());
    b.fill(&t("admin-delete-handle"), "bob").await;
    let before = b.seq().await;
    b.click(&t("confirm-ok")).await;
    assert_eq!(
        b.status_after(before).await.text,
        "bob and their data were deleted."
    );
    assert!(!s.user_dir("bob").exists());
    b.close().await;
    s.stop().await;
}

/// Whether anything on the page sticks out to the right of a `w` px screen:
/// the names (data-test or tag) of what does, and the page's scroll width.
async fn overflow(b: &Browser) -> Value {
    b.js("const w = document.documentElement.clientWidth; \
          const out = [...document.querySelectorAll('[data-test=\"view-admin\"] *')] \
            .filter(e => !e.closest('thead') && !e.closest('.sr-only') && e.getClientRects().length \
              && e.getBoundingClientRect().right > w + 1) \
            .map(e => e.dataset.test || e.tagName); \
          return { w, scroll: document.documentElement.scrollWidth, out };")
        .await
}

fn fits(v: &Value) -> bool {
    v["scroll"].as_u64().unwrap() <= v["w"].as_u64().unwrap() && v["out"] == json!([])
}

/// Issue 14, point 9: the admin page on a phone (390 px): five tabs
/// (Accounts, Create, Permissions, App processes, Audit log), one "More" menu per
/// account instead of a row of six buttons, "Unlock login attempts", and
/// the audit log's actions in words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_page_fits_a_phone() {
    let (s, b) = admin_session("admin_page_fits_a_phone").await;
    b.viewport(390, 844).await;

    // Five tabs; Accounts is shown first and only its panel.
    let tabs: Value = b
        .js(
            "return [...document.querySelectorAll('[data-test=\"admin-tabs\"] [role=\"tab\"]')] \
             .map(t => [t.dataset.test, t.textContent.trim(), t.getAttribute('aria-selected')]);",
        )
        .await;
    assert_eq!(
        tabs,
        json!([
            ["admin-tab-accounts", "Accounts", "true"],
            ["admin-tab-create", "Create", "false"],
            ["admin-tab-permissions", "Permissions", "false"],
            ["admin-tab-processes", "App processes", "false"],
            ["admin-tab-audit", "Audit log", "false"],
        ])
    );
    assert!(b.visible(&t("admin-users-card")).await);
    for hidden in [
        "admin-create-card",
        "profiles-card",
        "connections-card",
        "app-card",
        "audit-card",
    ] {
        assert!(
            !b.visible(&t(hidden)).await,
            "{hidden} waits behind its tab"
        );
    }
    let o = overflow(&b).await;
    assert!(fits(&o), "the accounts tab runs off a 390 px screen: {o}");

    // One button per account row: "More".
    let buttons: Value = b
        .js(
            "return [...document.querySelectorAll('[data-test=\"admin-user-row\"]')].map(r => \
             [...r.querySelectorAll('button')].filter(x => x.getClientRects().length) \
               .map(x => x.dataset.test));",
        )
        .await;
    for row in buttons.as_array().unwrap() {
        assert_eq!(row, &json!(["admin-more"]), "{buttons}");
    }

    // The menu opens in place, fits, and says "Unlock login attempts".
    let more = in_row("alice", "admin-more");
    b.click(&more).await;
    assert_eq!(
        b.attr(&more, "aria-expanded").await.as_deref(),
        Some("true")
    );
    b.wait_visible(&in_row("alice", "admin-menu")).await;
    let items: Value = b
        .js("return [...document.querySelectorAll('[data-test=\"admin-user-row\"][data-handle=\"alice\"] [role=\"menuitem\"]')] \
             .map(x => x.textContent.trim());")
        .await;
    assert_eq!(
        items,
        json!([
            "Edit profile…",
            "Change password…",
            "Remove password…",
            "Remove two-factor…",
            "Disable",
            "Promote",
            "Sessions…",
            "Storage quota…",
            "Permissions…",
            "Backup",
            "Unlock login attempts",
            "Delete…"
        ])
    );
    assert_eq!(
        focused(&b).await,
        json!("admin-edit"),
        "focus on the first item"
    );
    let o = overflow(&b).await;
    assert!(fits(&o), "the open menu runs off a 390 px screen: {o}");
    b.shot_test().await;
    // Arrow keys move through it; Escape closes it and returns to the button.
    b.find(":focus").await.send_keys("\u{e015}").await.unwrap();
    assert_eq!(focused(&b).await, json!("admin-password"));
    b.find(":focus").await.send_keys("\u{e00c}").await.unwrap();
    assert!(!b.visible(&in_row("alice", "admin-menu")).await);
    assert_eq!(focused(&b).await, json!("admin-more"));
    // Another row's menu closes the first.
    b.click(&more).await;
    b.click(&in_row("bob", "admin-more")).await;
    assert!(!b.visible(&in_row("alice", "admin-menu")).await);
    assert!(b.visible(&in_row("bob", "admin-menu")).await);

    // Unlock login attempts works from the menu and closes it.
    let msg = row_action(&b, "alice", "admin-unlock").await;
    assert!(
        msg.starts_with("Login attempts unlocked for alice"),
        "{msg}"
    );
    assert!(!b.visible(&in_row("alice", "admin-menu")).await);

    // The tabs by keyboard: arrows choose the next one.
    b.click(&t("admin-tab-accounts")).await;
    b.find(":focus").await.send_keys("\u{e014}").await.unwrap();
    assert_eq!(focused(&b).await, json!("admin-tab-create"));
    assert!(b.visible(&t("admin-create-card")).await);
    assert!(!b.visible(&t("admin-users-card")).await);
    let o = overflow(&b).await;
    assert!(fits(&o), "the create tab runs off a 390 px screen: {o}");

    b.admin_tab("permissions").await;
    assert!(b.visible(&t("profiles-card")).await);
    assert!(b.visible(&t("connections-card")).await);
    let o = overflow(&b).await;
    assert!(
        fits(&o),
        "the permissions tab runs off a 390 px screen: {o}"
    );

    b.admin_tab("processes").await;
    assert!(b.visible(&t("app-none")).await);

    // The audit log says what happened in words; the code stays in data-action.
    b.admin_tab("audit").await;
    b.act_ok(&t("audit-refresh")).await;
    let first = "[data-test=\"audit-row\"]:first-child";
    assert_eq!(
        b.attr(first, "data-action").await.as_deref(),
        Some("user.clear-limits")
    );
    assert_eq!(
        b.text(&format!("{first} {}", t("audit-action"))).await,
        "Unlocked login attempts"
    );
    let created = format!(
        "[data-test=\"audit-row\"][data-action=\"user.create\"] {}",
        t("audit-action")
    );
    assert_eq!(b.text(&created).await, "Created the account");
    let o = overflow(&b).await;
    assert!(fits(&o), "the audit log runs off a 390 px screen: {o}");
    b.shot("admin_page_fits_a_phone-audit").await;
    b.close().await;
    s.stop().await;
}

/// The note under the create form's handle field: (data-state, data-handle, text).
async fn handle_note(b: &Browser) -> (String, String, String) {
    let note = t("admin-create-handle-note");
    assert!(b.visible(&note).await, "the note is shown");
    (
        b.attr(&note, "data-state").await.unwrap_or_default(),
        b.attr(&note, "data-handle").await.unwrap_or_default(),
        b.text(&note).await,
    )
}

/// Issue 14, point 5: the forms say what happened, and what will, before
/// it does: a long name's handle is cut to 64 and said to be too long, a
/// typed handle shows what it becomes, a taken handle is named, a kept
/// data folder is announced; new passwords are typed twice and can be
/// shown; the admin removes a password through its own confirmed dialog;
/// an empty password for a protected account is never sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_say_what_happened() {
    let (s, b) = admin_session("forms_say_what_happened").await;
    b.admin_tab("create").await;

    // A long display name: the suggestion is cut to 64 and says so.
    let long = "Princess Consuela Banana-Hammock of the Far Northern Reaches and the Isles, Third";
    let (cut, was_cut) = innkeeper::accounts::handle::suggest(long);
    assert!(was_cut && cut.len() <= 64);
    b.fill(&t("admin-create-name"), long).await;
    b.wait_idle().await;
    assert_eq!(b.prop(&t("admin-create-handle"), "value").await, json!(cut));
    let (state, handle, text) = handle_note(&b).await;
    assert_eq!((state.as_str(), handle.as_str()), ("cut", cut.as_str()));
    assert!(
        text.starts_with("Too long for a handle (at most 64 characters)"),
        "{text}"
    );
    let msg = b.act_ok(&t("admin-create-submit")).await;
    assert_eq!(msg, format!("Account {cut} created."));
    assert_eq!(s.user_row(&cut).await.unwrap().name, long);

    // A typed handle that gets rewritten shows what it becomes first.
    b.fill(&t("admin-create-name"), "Robert").await;
    // The handle the name suggests arrives first (a later answer would
    // land on what is typed next).
    b.wait_idle().await;
    b.fill(&t("admin-create-handle"), "Bob Smith!").await;
    b.wait_idle().await;
    let (state, handle, text) = handle_note(&b).await;
    assert_eq!(
        (state.as_str(), handle.as_str()),
        ("rewritten", "bob-smith")
    );
    assert!(text.contains("this one becomes bob-smith"), "{text}");
    assert_eq!(
        b.prop(&t("admin-create-handle"), "value").await,
        json!("Bob Smith!"),
        "what was typed stays"
    );
    // New passwords are typed twice; different ones are caught here.
    b.fill(&t("admin-create-password"), "pw-bob-1").await;
    b.fill(&t("admin-create-password-confirm"), "pw-bob-2")
        .await;
    let st = b.act(&t("admin-create-submit")).await;
    let differ = "The two passwords differ: type the same password in both fields.";
    assert_eq!((st.kind.as_str(), st.text.as_str()), ("error", differ));
    assert_eq!(b.text(&t("admin-create-error")).await, differ);
    assert!(s.user_row("bob-smith").await.is_none());
    // …and can be shown.
    b.click(&t("admin-create-password-show")).await;
    for f in ["admin-create-password", "admin-create-password-confirm"] {
        assert_eq!(b.prop(&t(f), "type").await, json!("text"), "{f}");
    }
    b.fill(&t("admin-create-password-confirm"), "pw-bob-1")
        .await;
    let msg = b.act_ok(&t("admin-create-submit")).await;
    assert_eq!(msg, "Account bob-smith created.");
    s.login("bob-smith", "pw-bob-1").await;

    // A taken handle is named, before and after pressing Create.
    b.fill(&t("admin-create-name"), "Alice").await;
    b.wait_idle().await;
    let (state, _, text) = handle_note(&b).await;
    assert_eq!(state, "taken");
    assert_eq!(text, "User already exists: alice. Choose another handle.");
    let st = b.act(&t("admin-create-submit")).await;
    assert_eq!(
        (st.kind.as_str(), st.text.as_str()),
        ("error", "User already exists: alice")
    );

    // A folder kept from a deleted account: the new one takes it over.
    s.app
        .accounts()
        .delete_user(&innkeeper::app::Actor::console(), "bob", false)
        .await
        .unwrap();
    std::fs::write(s.user_dir("bob").join("characters/Old.png"), b"kept").unwrap();
    b.fill(&t("admin-create-name"), "Bob").await;
    b.wait_idle().await;
    let (state, handle, text) = handle_note(&b).await;
    assert_eq!((state.as_str(), handle.as_str()), ("folder", "bob"));
    assert!(
        text.contains("the new account takes over its data"),
        "{text}"
    );
    let msg = b.act_ok(&t("admin-create-submit")).await;
    assert_eq!(
        msg,
        "Account bob created. It took over the data folder bob/ kept from before."
    );
    assert!(s.user_dir("bob").join("characters/Old.png").is_file());

    // The admin's password dialog: a new password, typed twice…
    b.admin_tab("accounts").await;
    b.choose_in_row("alice", "admin-password").await;
    b.wait_dialog("admin-password").await;
    b.click(&t("confirm-ok")).await;
    b.wait_visible(&t("dialog-error")).await;
    assert_eq!(
        b.text(&t("dialog-error")).await,
        "Type the new password (to take it away, use \"Remove password…\" instead)."
    );
    b.fill(&t("admin-password-new"), "alice-new").await;
    b.fill(&t("admin-password-new-confirm"), "alice-typo").await;
    b.click(&t("confirm-ok")).await;
    b.wait_for(
        "the mismatch said",
        &format!(
            "return document.querySelector('[data-test=\"dialog-error\"]').textContent === {};",
            json!(differ)
        ),
    )
    .await;
    b.click(&t("admin-password-show")).await;
    assert_eq!(
        b.prop(&t("admin-password-new"), "type").await,
        json!("text")
    );
    b.fill(&t("admin-password-new-confirm"), "alice-new").await;
    let before = b.seq().await;
    b.click(&t("confirm-ok")).await;
    assert_eq!(
        b.status_after(before).await.text,
        "New password set for alice."
    );
    s.login("alice", "alice-new").await;
    // …and "Remove password…" on its own, confirmed.
    b.choose_in_row("alice", "admin-password-remove").await;
    b.wait_dialog("admin-password-remove").await;
    assert_eq!(focused(&b).await, json!("confirm-cancel"), "a red dialog");
    let before = b.seq().await;
    b.click(&t("confirm-cancel")).await;
    assert_eq!(b.status_after(before).await.kind, "info");
    assert!(s.user_row("alice").await.unwrap().password.is_some());
    b.choose_in_row("alice", "admin-password-remove").await;
    let before = b.seq().await;
    b.confirm("admin-password-remove").await;
    assert_eq!(
        b.status_after(before).await.text,
        "Password removed from alice."
    );
    assert!(s.user_row("alice").await.unwrap().password.is_none());
    assert!(
        !b.visible(&in_row("alice", "admin-password-remove")).await
            && b.attr(&in_row("alice", "admin-password-remove"), "hidden")
                .await
                .is_some(),
        "nothing to remove any more"
    );

    // Own password on the account page: typed twice too.
    b.open_view("account").await;
    b.fill(&t("password-old"), "pw-boss").await;
    b.fill(&t("password-new"), "pw-boss-2").await;
    b.fill(&t("password-new-confirm"), "pw-boss-3").await;
    let st = b.act(&t("password-save")).await;
    assert_eq!((st.kind.as_str(), st.text.as_str()), ("error", differ));
    assert_eq!(b.text(&t("password-error")).await, differ);

    // The login page: an empty password for a protected account is not sent.
    let failures = || async {
        let mut c = s.login("boss", "pw-boss").await;
        let (_, page) = c.post("/api/audit/list", json!({ "limit": 500 })).await;
        page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "login.failure")
            .count()
    };
    let failed_before = failures().await;
    b.goto("/login").await;
    b.wait_login_page().await;
    b.click(&format!("{}[data-handle=\"boss\"]", t("login-user-card")))
        .await;
    b.wait_attr(&t("login-chosen"), "data-handle", "boss").await;
    let st = b.act(&t("login-submit")).await;
    assert_eq!(
        (st.kind.as_str(), st.text.as_str()),
        ("error", "Enter your password.")
    );
    assert_eq!(b.text(&t("login-error")).await, "Enter your password.");
    assert_eq!(failures().await, failed_before, "nothing was sent");

    // Recovery: the new password typed twice as well.
    b.click(&t("forgot-link")).await;
    b.fill(&t("recover-code"), "0000").await;
    b.fill(&t("recover-new-password"), "pw-one").await;
    b.fill(&t("recover-new-password-confirm"), "pw-two").await;
    let st = b.act(&t("recover-submit")).await;
    assert_eq!((st.kind.as_str(), st.text.as_str()), ("error", differ));
    assert_eq!(b.text(&t("recover-error")).await, differ);
    b.click(&t("recover-password-show")).await;
    assert_eq!(
        b.prop(&t("recover-new-password-confirm"), "type").await,
        json!("text")
    );
    b.shot_test().await;
    b.close().await;
    s.stop().await;
}
