//! Hosting the real SillyTavern 1.12.6 (SPEC §11), in a real Chromium:
//! two people log in through Innkeeper's login page and each gets their
//! own SillyTavern with their own characters; SillyTavern's own Account
//! panel shows the right handle and changes the password (ending the
//! person's other sessions); the Innkeeper button leads to Innkeeper's own
//! pages and back; admins see, stop and restart the processes and read
//! their logs, on a phone too. The server side is cross-checked: files in
//! the right folder only, the supervisor's process states, sessions.

use std::path::{Path, PathBuf};
use std::time::Duration;

use innkeeper::hosting::supervisor::StopReason;
use serde_json::{json, Value};

use crate::common::sillytavern::wait_gone;
use crate::common::Server;
use crate::st_page::{self, BOOT};
use crate::support::{screenshot_dir, t, updating_docs_screenshots, Browser};

/// The characters SillyTavern gives every new user (its default content).
const DEFAULT_CHARACTER: &str = "Seraphina";

fn card(handle: &str) -> String {
    format!("{}[data-handle=\"{handle}\"]", t("login-user-card"))
}

/// A per-row hook of the processes card, scoped to `handle`'s row.
fn app_row(handle: &str, name: &str) -> String {
    format!("[data-test=\"app-row\"][data-handle=\"{handle}\"] [data-test=\"{name}\"]")
}

fn app_row_itself(handle: &str) -> String {
    format!("[data-test=\"app-row\"][data-handle=\"{handle}\"]")
}

/// Logs in through Innkeeper's login page (list style) and waits until the
/// browser is on `/`, which is SillyTavern (or the page saying it starts).
async fn log_in_to_sillytavern(b: &Browser, handle: &str, password: &str) {
    b.goto("/login").await;
    b.wait_login_page().await;
    b.click(&card(handle)).await;
    b.wait_attr(&t("login-chosen"), "data-handle", handle).await;
    b.fill(&t("login-password"), password).await;
    b.click(&t("login-submit")).await;
    b.wait_for_within(
        "SillyTavern's page (or Innkeeper's starting page) at /",
        "return location.pathname === '/' \
         && (document.title === 'SillyTavern' || document.title === 'Starting SillyTavern…');",
        BOOT,
    )
    .await;
}

/// settings.json of `handle`, from disk.
fn settings_on_disk(s: &Server, handle: &str) -> Value {
    let text =
        std::fs::read_to_string(s.user_dir(handle).join("settings.json")).expect("settings.json");
    serde_json::from_str(&text).expect("settings.json is JSON")
}

/// Waits (bounded) until SillyTavern's debounced settings save of the
/// first-run answer reached the user's own settings.json through Innkeeper.
async fn wait_onboarding_saved(s: &Server, handle: &str, persona: &str) {
    let end = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let v = settings_on_disk(s, handle);
        if v["firstRun"] == false && v["username"] == persona {
            return;
        }
        assert!(
            std::time::Instant::now() < end,
            "{handle}'s settings.json never got firstRun false and username {persona}: \
             firstRun={} username={}",
            v["firstRun"],
            v["username"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every file called `name` under `root`, without following symbolic links
/// (each view root links to its user's folder).
fn files_named(root: &Path, name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            let path = e.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                todo.push(path);
            } else if e.file_name() == name {
                found.push(path);
            }
        }
    }
    found
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_each_get_their_own_sillytavern() {
    let s = Server::hosted(|_| {}).await;
    s.create_user("alice", Some("pw-alice"), false).await;
    s.create_user("bob", Some("pw-bob"), false).await;
    let (a, b) = Browser::start_two(
        "two_people_each_get_their_own_sillytavern-alice",
        "two_people_each_get_their_own_sillytavern-bob",
        &s.base,
    )
    .await;
    let people = [
        (&a, "alice", "pw-alice", "Alice", "Alicebot"),
        (&b, "bob", "pw-bob", "Bob", "Bobbot"),
    ];

    // Each logs in through Innkeeper's login page and SillyTavern boots,
    // first asking for a persona name (its first-run onboarding).
    for (br, handle, password, persona, _) in people {
        log_in_to_sillytavern(br, handle, password).await;
        let boot = st_page::boot(br, persona).await;
        assert!(
            boot.onboarding,
            "{handle}'s first SillyTavern boot asks for a persona"
        );
        assert_eq!(
            st_page::character_names(br).await,
            vec![DEFAULT_CHARACTER.to_string()],
            "{handle} starts with SillyTavern's default character"
        );
        assert_eq!(br.js("return document.title;").await, json!("SillyTavern"));
        wait_onboarding_saved(&s, handle, persona).await;
    }
    // One process each.
    let (pa, pb) = (s.pid("alice"), s.pid("bob"));
    assert_ne!(pa, pb, "alice and bob share a process");

    // Each creates a character with SillyTavern's own form.
    for (br, _, _, persona, bot) in people {
        st_page::create_character(
            br,
            bot,
            &format!("{persona}'s own character"),
            &format!("Hello, I belong to {persona}."),
        )
        .await;
    }

    // The files land in the creator's own folder (the card, and its
    // thumbnail) and nowhere else.
    for (_, handle, _, _, bot) in people {
        let file = format!("{bot}.png");
        let card = s.user_dir(handle).join("characters").join(&file);
        assert!(card.is_file(), "{} is missing", card.display());
        let everywhere = files_named(&s.data_root(), &file);
        assert!(
            everywhere.contains(&card)
                && everywhere.iter().all(|p| p.starts_with(s.user_dir(handle))),
            "{file} outside {handle}'s folder: {everywhere:?}"
        );
    }

    // After a reload (no onboarding any more: the answer was saved), each
    // list and each API answer holds the person's own characters only.
    for (br, handle, _, persona, bot) in people {
        br.c.refresh().await.expect("reload");
        let boot = st_page::boot(br, persona).await;
        assert!(!boot.onboarding, "{handle} is asked for a persona again");
        let want = sorted(&[bot, DEFAULT_CHARACTER]);
        assert_eq!(st_page::character_names(br).await, want, "{handle}'s list");
        assert_eq!(
            st_page::api_character_names(br).await,
            want,
            "{handle}'s characters/all"
        );
    }
    // The picture routes answer from the caller's own folder too.
    for (br, _, _, _, bot) in people {
        let other = if bot == "Alicebot" {
            "Bobbot"
        } else {
            "Alicebot"
        };
        let own = st_page::page_fetch(br, "GET", &format!("/characters/{bot}.png"), None).await;
        assert_eq!(own.status, 200, "own picture {bot}");
        let theirs =
            st_page::page_fetch(br, "GET", &format!("/characters/{other}.png"), None).await;
        assert_eq!(theirs.status, 404, "someone else's picture {other}");
    }
    a.shot_test().await;
    b.shot_test().await;
    a.close().await;
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sillytavern_account_panel_changes_the_password_and_ends_other_sessions() {
    let s = Server::hosted(|_| {}).await;
    s.create_user("alice", Some("pw-alice"), false).await;
    // Alice is also logged in elsewhere (another device).
    let mut elsewhere = s.login("alice", "pw-alice").await;
    assert_eq!(elsewhere.fetch("/api/users/me").await.status, 200);
    assert_eq!(elsewhere.fetch("/version").await.status, 200);

    let b = Browser::start(
        "sillytavern_account_panel_changes_the_password_and_ends_other_sessions",
        &s.base,
    )
    .await;
    log_in_to_sillytavern(&b, "alice", "pw-alice").await;
    st_page::boot(&b, "Alice").await;
    assert!(!elsewhere.character_names().await.is_empty());

    // SillyTavern's own Account panel, from its User Settings drawer.
    st_page::open_user_settings(&b).await;
    b.click("#account_button").await;
    b.wait_for(
        "SillyTavern's account popup with alice's handle",
        "const e = document.querySelector('dialog.popup[open] .userHandle'); \
         return !!e && e.textContent === 'alice';",
    )
    .await;
    assert_eq!(b.text("dialog.popup[open] .userName").await, "alice name");
    assert!(b.visible("dialog.popup[open] .hasPassword").await);

    // Its Change Password button opens SillyTavern's own password popup.
    b.click("dialog.popup[open] .userChangePasswordButton")
        .await;
    let form = "dialog.popup[open]:has(input[name=\"current\"])";
    b.wait_visible(&format!("{form} input[name=\"current\"]"))
        .await;
    b.fill(&format!("{form} input[name=\"current\"]"), "pw-alice")
        .await;
    b.fill(&format!("{form} input[name=\"password\"]"), "pw-new")
        .await;
    b.fill(&format!("{form} input[name=\"confirm\"]"), "pw-new")
        .await;
    b.click(&format!("{form} .popup-button-ok")).await;
    st_page::wait_toast(&b, "Password changed successfully").await;
    b.shot_test().await;

    // The other session has ended, for Innkeeper's routes and the proxied ones.
    let me = elsewhere.fetch("/api/users/me").await;
    assert_eq!(me.status, 403, "the other session still works: {}", me.body);
    let proxied = elsewhere.fetch("/version").await;
    assert_eq!(proxied.status, 403, "{}", proxied.body);
    elsewhere.refresh_token().await;
    let proxied = elsewhere.st("/api/characters/all", json!({})).await;
    assert_eq!(proxied.status, 403, "{}", proxied.body);

    // This browser's session goes on: Innkeeper's API, SillyTavern's API,
    // and a fresh page boot.
    let me = st_page::page_fetch(&b, "GET", "/api/users/me", None).await;
    assert_eq!(me.status, 200, "{:?}", me.body);
    assert_eq!(me.body["handle"], "alice");
    assert_eq!(
        st_page::api_character_names(&b).await,
        vec![DEFAULT_CHARACTER.to_string()]
    );
    b.c.refresh().await.expect("reload");
    st_page::boot(&b, "Alice").await;

    // The new password logs in; the old one does not.
    let mut c = s.client();
    let (status, _) = c
        .post(
            "/api/users/login",
            json!({ "handle": "alice", "password": "pw-alice" }),
        )
        .await;
    assert_eq!(status, 403, "the old password still works");
    s.login("alice", "pw-new").await;
    b.close().await;
    s.stop().await;
}

/// A `node` that takes `delay_s` longer to start SillyTavern (not to
/// answer `--version`), so a page load deterministically outlasts the
/// server's short wait and gets the starting page.
fn slow_node(dir: &Path, delay_s: u32) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("slow-node");
    std::fs::write(
        &path,
        format!("#!/bin/sh\n[ \"$1\" = --version ] || sleep {delay_s}\nexec node \"$@\"\n"),
    )
    .expect("write slow-node");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_innkeeper_button_leads_to_innkeepers_pages_and_back() {
    let bin = tempfile::tempdir().expect("temp dir");
    let node = slow_node(bin.path(), 5);
    let s = Server::hosted(|c| c.app.node = node).await;
    s.create_user("alice", Some("pw-alice"), false).await;
    let b = Browser::start(
        "the_innkeeper_button_leads_to_innkeepers_pages_and_back",
        &s.base,
    )
    .await;
    log_in_to_sillytavern(&b, "alice", "pw-alice").await;
    st_page::boot(&b, "Alice").await;
    st_page::create_character(
        &b,
        "Wren",
        "A travelling bard who keeps the inn's stories.",
        "Pull up a chair by the fire.",
    )
    .await;

    // The character list stays in view (SillyTavern's pin) beside the
    // User Settings drawer, where the button sits with SillyTavern's own
    // account buttons.
    st_page::pin_character_list(&b).await;
    st_page::open_user_settings(&b).await;
    b.wait_visible("#account_controls #innkeeper_button").await;
    assert_eq!(b.text("#innkeeper_button").await, "Innkeeper");
    st_page::clear_toasts(&b).await;
    // The picture of SillyTavern inside Innkeeper, for people to see.
    let png = b.c.screenshot().await.expect("screenshot");
    std::fs::create_dir_all(screenshot_dir()).expect("screenshot dir");
    std::fs::write(screenshot_dir().join("sillytavern-hosted.png"), &png).expect("write");
    if updating_docs_screenshots() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
        std::fs::write(docs.join("sillytavern-hosted.png"), &png).expect("write docs picture");
    }

    // It leads to Innkeeper's own account page.
    b.click("#innkeeper_button").await;
    b.wait_view("account").await;
    assert_eq!(
        b.js("return location.pathname;").await,
        json!("/innkeeper/")
    );
    // Every file of the page came from Innkeeper's own paths (its pages,
    // its API, the account pictures), none failed.
    let files = b
        .js("return performance.getEntriesByType('resource') \
             .map(e => [new URL(e.name).pathname, e.responseStatus]);")
        .await;
    let files = files.as_array().expect("resource list");
    assert!(!files.is_empty());
    for f in files {
        let (path, status) = (f[0].as_str().unwrap_or(""), f[1].as_u64().unwrap_or(0));
        assert!(
            (200..400).contains(&status),
            "{path} answered {status} on Innkeeper's page"
        );
        assert!(
            path.starts_with("/innkeeper/")
                || path.starts_with("/api/")
                || path.starts_with("/avatars/")
                // The persona pictures, a user-file route Innkeeper keeps.
                || path.starts_with("/User%20Avatars/")
                || path == "/csrf-token"
                || path == "/img/default-user.png",
            "Innkeeper's page loaded {path}, which is SillyTavern's when hosted"
        );
    }
    assert_eq!(b.text(&t("account-handle")).await, "alice");
    assert_eq!(b.text(&t("header-name")).await, "alice name");
    assert_eq!(b.count(&t("nav-admin")).await, 0, "alice is no admin");
    // The way back to SillyTavern is in the menu.
    assert!(b.visible(&t("nav-app")).await);
    assert_eq!(b.attr(&t("nav-app"), "href").await.as_deref(), Some("/"));
    assert!(b.text(&t("nav-app")).await.contains("SillyTavern"));
    b.shot_test().await;

    // While the process is down, the way back shows Innkeeper's starting
    // page first, which reloads itself into SillyTavern.
    let pid = s.pid("alice");
    s.app
        .hosting()
        .expect("hosting")
        .stop("alice", StopReason::Admin)
        .await;
    wait_gone(pid, Duration::from_secs(15)).await;
    b.click(&t("nav-app")).await;
    b.wait_for_within(
        "Innkeeper's starting page",
        "const c = document.querySelector('[data-test=\"starting\"]'); \
         return location.pathname === '/' && document.title === 'Starting SillyTavern…' \
         && !!c && c.getClientRects().length > 0;",
        BOOT,
    )
    .await;
    assert_eq!(
        b.attr(&t("starting-account"), "href").await.as_deref(),
        Some("/innkeeper/#account")
    );
    b.shot("the_innkeeper_button_leads_to_innkeepers_pages_and_back-starting")
        .await;
    // It turns into SillyTavern by itself.
    let boot = st_page::boot(&b, "Alice").await;
    assert!(!boot.onboarding);
    assert_eq!(
        st_page::character_names(&b).await,
        sorted(&[DEFAULT_CHARACTER, "Wren"])
    );
    assert_ne!(s.pid("alice"), pid, "a new process");
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_sees_stops_and_restarts_sillytavern_processes() {
    let s = Server::hosted(|_| {}).await;
    s.create_user("alice", Some("pw-alice"), false).await;
    // The browser first: waiting for a free one must not age the process.
    let b = Browser::start(
        "admin_sees_stops_and_restarts_sillytavern_processes",
        &s.base,
    )
    .await;
    // Alice logs in (her SillyTavern starts at login).
    let mut alice = s.login("alice", "pw-alice").await;
    let p = s
        .wait_state("alice", "running", Duration::from_secs(90))
        .await;
    let pid = p["pid"].as_u64().expect("pid") as u32;

    // The admin (default-user, no password) goes to Innkeeper's admin page.
    b.goto("/login?next=%2Finnkeeper%2F%23admin").await;
    b.wait_login_page().await;
    b.click(&card("default-user")).await;
    b.wait_view("admin").await;
    assert_eq!(
        b.js("return location.pathname + location.hash;").await,
        json!("/innkeeper/#admin")
    );
    b.admin_tab("processes").await;
    assert!(b.visible(&t("app-card")).await);
    assert!(!b.visible(&t("app-none")).await);
    assert!(!b.visible(&t("app-hint")).await);
    let summary = b.text(&t("app-summary")).await;
    assert!(summary.contains("SillyTavern 1.12.6"), "{summary}");
    assert!(summary.contains("at most 8"), "{summary}");

    // Alice's process: running, with its memory, pid and no error.
    let row = app_row_itself("alice");
    assert_eq!(b.attr(&row, "data-state").await.as_deref(), Some("running"));
    assert_eq!(b.text(&app_row("alice", "app-state")).await, "Running");
    let rss: u64 = b
        .attr(&app_row("alice", "app-rss"), "data-bytes")
        .await
        .expect("rss")
        .parse()
        .expect("rss bytes");
    assert!(rss > 20_000_000, "a Node process uses more than {rss} B");
    let shown = b.text(&app_row("alice", "app-rss")).await;
    assert!(shown.ends_with(" MB"), "{shown}");
    assert!(b
        .text(&app_row("alice", "app-pid"))
        .await
        .contains(&format!("pid {pid}")));
    assert_eq!(b.text(&app_row("alice", "app-restarts")).await, "0");
    assert_eq!(b.text(&app_row("alice", "app-since")).await, "just now");
    assert!(b
        .attr(&app_row("alice", "app-since"), "datetime")
        .await
        .is_some_and(|d| d.ends_with('Z')));
    assert_eq!(
        b.attr(&app_row("alice", "app-last-error"), "data-state")
            .await
            .as_deref(),
        Some("none")
    );

    // Its log tail.
    let msg = b.act_ok(&app_row("alice", "app-log")).await;
    assert_eq!(msg, "Log of alice loaded.");
    assert!(b.visible(&t("app-log-viewer")).await);
    assert_eq!(
        b.attr(&t("app-log-viewer"), "data-handle").await.as_deref(),
        Some("alice")
    );
    let log = b.text(&t("app-log-content")).await;
    let port = p["port"].as_u64().expect("port");
    assert!(
        log.contains(&format!(
            "SillyTavern is listening on IPv4: 127.0.0.1:{port}"
        )),
        "{log}"
    );

    // Stop: the process is gone when the list shows it stopped.
    // Stop answers once the process has exited (SIGTERM, SIGKILL after 10 s).
    let msg = b
        .act_ok_within(&app_row("alice", "app-stop"), Duration::from_secs(30))
        .await;
    assert!(msg.starts_with("alice's SillyTavern is stopped."), "{msg}");
    assert_eq!(s.process("alice")["state"], "stopped");
    wait_gone(pid, Duration::from_secs(5)).await;
    assert_eq!(b.attr(&row, "data-state").await.as_deref(), Some("stopped"));
    assert_eq!(b.text(&app_row("alice", "app-rss")).await, "—");
    let log = b.text(&t("app-log-content")).await;
    assert!(
        log.contains("--- Innkeeper: stopped (admin)"),
        "the open log shows the stop: …{}",
        &log[log.len().saturating_sub(300)..]
    );
    assert_eq!(
        b.prop(&app_row("alice", "app-stop"), "disabled").await,
        json!(true)
    );
    assert_eq!(b.text(&app_row("alice", "app-restart")).await, "Start");
    assert!(
        b.count("[data-test=\"audit-row\"][data-action=\"app.stop\"]")
            .await
            >= 1,
        "the stop is in the audit log"
    );
    b.shot("admin_sees_stops_and_restarts_sillytavern_processes-stopped")
        .await;

    // Start it again from the list.
    // Start answers once SillyTavern answers.
    let msg = b
        .act_ok_within(&app_row("alice", "app-restart"), BOOT)
        .await;
    assert_eq!(msg, "alice's SillyTavern is running.");
    let p = s.process("alice");
    assert_eq!(p["state"], "running", "{p}");
    assert_eq!(b.attr(&row, "data-state").await.as_deref(), Some("running"));
    assert_eq!(b.text(&app_row("alice", "app-restarts")).await, "1");
    assert!(
        !alice.character_names().await.is_empty(),
        "alice's requests reach her SillyTavern again"
    );

    // A crash shows as the last error, whole when opened.
    let pid = s.pid("alice");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill");
    wait_gone(pid, Duration::from_secs(5)).await;
    s.wait_state("alice", "stopped", Duration::from_secs(10))
        .await;
    b.act_ok(&t("app-refresh")).await;
    let error = app_row("alice", "app-last-error");
    assert_eq!(b.attr(&error, "data-state").await.as_deref(), Some("some"));
    let full = app_row("alice", "app-last-error-text");
    assert_eq!(
        b.prop(&error, "open").await,
        json!(false),
        "the error starts collapsed"
    );
    assert!(b
        .text(&format!("{error} summary"))
        .await
        .contains("exited unexpectedly"));
    b.click(&format!("{error} summary")).await;
    assert_eq!(b.prop(&error, "open").await, json!(true));
    b.wait_visible(&full).await;
    let text = b.text(&full).await;
    assert!(text.contains("exited unexpectedly"), "{text}");
    assert_eq!(
        s.process("alice")["lastError"].as_str().map(str::trim),
        Some(text.as_str()),
        "the whole message"
    );

    // On a phone (390 px): every row is a card, nothing runs off the side.
    b.viewport(390, 844).await;
    b.act_ok(&t("app-refresh")).await;
    b.js("document.querySelector('[data-test=\"app-card\"]').scrollIntoView(); return true;")
        .await;
    let fits = b
        .js("const w = document.documentElement.clientWidth; \
             const out = [...document.querySelectorAll('[data-test=\"app-card\"] *')] \
               .filter(e => !e.closest('thead') && e.getClientRects().length \
                 && e.getBoundingClientRect().right > w + 1) \
               .map(e => e.dataset.test || e.tagName); \
             return { w, scroll: document.documentElement.scrollWidth, out };")
        .await;
    assert!(
        fits["scroll"].as_u64().unwrap() <= fits["w"].as_u64().unwrap() && fits["out"] == json!([]),
        "the admin page runs off a 390 px screen: {fits}"
    );
    for name in ["app-stop", "app-restart", "app-log", "app-rss", "app-state"] {
        assert!(
            b.visible(&app_row("alice", name)).await,
            "{name} on a phone"
        );
    }
    b.shot("admin_sees_stops_and_restarts_sillytavern_processes-390")
        .await;
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_hosted_app_the_admin_card_says_so() {
    // A SillyTavern folder beside config.yaml: the card says how to host it.
    let beside = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(beside.path().join("SillyTavern")).unwrap();
    std::fs::write(beside.path().join("SillyTavern/server.js"), "// stand-in").unwrap();
    let base_dir = beside.path().to_path_buf();
    let s = Server::start_with(|c| c.base_dir = base_dir).await;
    let b = Browser::start("without_a_hosted_app_the_admin_card_says_so", &s.base).await;
    b.goto("/login").await;
    b.wait_view("home").await;
    assert_eq!(b.count(&t("nav-app")).await, 0, "no SillyTavern to open");
    b.open_view("admin").await;
    b.admin_tab("processes").await;
    assert!(b.visible(&t("app-hint")).await);
    let hint = b.text(&t("app-hint")).await;
    assert!(
        hint.starts_with("Found SillyTavern in ")
            && hint.contains("SillyTavern: set app.sillytavern.dir to host it."),
        "{hint}"
    );
    assert!(!b.visible(&t("app-none")).await);
    assert!(!b.visible(&t("app-table")).await);
    assert!(!b.visible(&t("app-summary")).await);
    b.shot_test().await;
    b.close().await;
    s.stop().await;

    // None at all: one short line.
    let s = Server::start().await;
    let b = Browser::start("without_a_hosted_app_the_admin_card_says_so-none", &s.base).await;
    b.goto("/login").await;
    b.wait_view("home").await;
    b.open_view("admin").await;
    b.admin_tab("processes").await;
    assert!(b.visible(&t("app-none")).await);
    assert!(b.text(&t("app-none")).await.starts_with("No app is hosted"));
    assert!(!b.visible(&t("app-hint")).await);
    assert!(!b.visible(&t("app-table")).await);
    b.close().await;
    s.stop().await;
}
