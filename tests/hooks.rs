//! Lua hook scripts against the real server: every event fires with its
//! fields, refusals reach the client and leave no trace, runaway scripts
//! are stopped while other requests go on, load errors name file and line,
//! edits apply without a restart, and the sandbox holds.

#[path = "common/child.rs"]
mod child;
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::Server;
use innkeeper::config::Config;
use reqwest::StatusCode;
use serde_json::json;

fn script(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), text).unwrap();
}

/// A server whose hooks folder holds `files` (name, text), after `tweak`.
async fn with_scripts(files: &[(&str, &str)], tweak: impl FnOnce(&mut Config)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        script(&dir.path().join("scripts"), name, text);
    }
    let mut config = common::test_config(dir.path());
    tweak(&mut config);
    Server::start_in(dir, config).await
}

fn hooks_dir(s: &Server) -> std::path::PathBuf {
    s.app.config.hooks.dir.clone()
}

/// Lines the recording script appended.
fn recorded(s: &Server) -> Vec<String> {
    std::fs::read_to_string(hooks_dir(s).join("private/events.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

const RECORDER: &str = r#"
local function field(v)
  if v == nil then return "-" end
  return tostring(v)
end
for _, name in ipairs({"before_user_create", "user_created", "before_user_delete", "user_deleted",
    "before_login", "login_succeeded", "login_failed", "recovery_requested", "password_changed",
    "backup_created", "settings_reset", "server_started"}) do
  innkeeper.on(name, function(ev)
    local parts = { ev.event, field(ev.handle), "ip=" .. field(ev.ip) }
    for _, k in ipairs({"name", "admin", "purge", "reason", "code", "by", "removed", "version", "url"}) do
      if ev[k] ~= nil then parts[#parts + 1] = k .. "=" .. field(ev[k]) end
    end
    innkeeper.admin_file_append("events.log", table.concat(parts, " "))
  end)
end
"#;

fn has(lines: &[String], needle: &str) -> bool {
    lines.iter().any(|l| l.contains(needle))
}

#[tokio::test]
async fn every_event_fires_with_its_fields() {
    let s = with_scripts(&[("record.lua", RECORDER)], |_| {}).await;
    let mut admin = s.login("default-user", "").await;
    let (st, _) = admin
        .post(
            "/api/users/create",
            json!({"handle": "ivy", "name": "Ivy", "password": "pw"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let mut ivy = s.client();
    let (st, _) = ivy
        .post(
            "/api/users/login",
            json!({"handle": "ivy", "password": "nope"}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = ivy
        .post(
            "/api/users/login",
            json!({"handle": "ivy", "password": "pw"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = ivy
        .post(
            "/api/users/change-password",
            json!({"handle": "ivy", "oldPassword": "pw", "newPassword": "pw2"}),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let resp = ivy
        .post_raw("/api/users/backup", json!({"handle": "ivy"}))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let _ = resp.bytes().await.unwrap();
    let (st, _) = ivy
        .post("/api/users/reset-settings", json!({"password": "pw2"}))
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let mut anon = s.client();
    let (st, _) = anon
        .post("/api/users/recover-step1", json!({"handle": "ivy"}))
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let code = s.last_code("Password recovery code:", "ivy");
    let (st, _) = admin
        .post("/api/users/delete", json!({"handle": "ivy", "purge": true}))
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);

    let lines = recorded(&s);
    for want in [
        "before_user_create ivy ip=127.0.0.1 name=Ivy admin=false",
        "user_created ivy ip=127.0.0.1 name=Ivy admin=false",
        "before_login ivy ip=127.0.0.1",
        "login_failed ivy ip=127.0.0.1 reason=wrong_password",
        "login_succeeded ivy ip=127.0.0.1",
        "password_changed ivy ip=127.0.0.1 by=ivy removed=false",
        "backup_created ivy ip=127.0.0.1 by=ivy",
        "settings_reset ivy ip=127.0.0.1",
        &format!("recovery_requested ivy ip=127.0.0.1 name=Ivy code={code}"),
        "before_user_delete ivy ip=127.0.0.1 purge=true",
        "user_deleted ivy ip=127.0.0.1 purge=true",
    ] {
        assert!(has(&lines, want), "missing {want:?} in {lines:#?}");
    }
    s.stop().await;
}

#[tokio::test]
async fn refusals_reach_the_client_and_leave_no_trace() {
    let s = with_scripts(
        &[
            ("10-deny.lua", r#"
innkeeper.on("before_user_create", function(ev)
  if ev.handle == "mallory" then return { allow = false, reason = "No Mallorys here." } end
  if ev.handle == "renamed" then return { name = "Given By Hook", admin = true } end
end)
innkeeper.on("before_user_delete", function(ev)
  if ev.handle == "keeper" then return { allow = false, reason = "Keeper stays." } end
end)
innkeeper.on("before_login", function(ev)
  if ev.handle == "night-owl" then return { allow = false, reason = "Logins are closed at night." } end
end)
"#),
            ("20-never-reached.lua", r#"innkeeper.on("before_user_create", function(ev)
  if ev.handle == "mallory" then innkeeper.admin_file_append("reached.log", "yes") end
end)"#),
        ],
        |_| {},
    )
    .await;
    let mut admin = s.login("default-user", "").await;

    let (st, body) = admin
        .post(
            "/api/users/create",
            json!({"handle": "mallory", "name": "M"}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "No Mallorys here.");
    assert!(s.user_row("mallory").await.is_none());
    assert!(!s.user_dir("mallory").exists(), "no folder");
    assert!(
        !hooks_dir(&s).join("private/reached.log").exists(),
        "first refusal wins"
    );

    let (st, _) = admin
        .post(
            "/api/users/create",
            json!({"handle": "renamed", "name": "x"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let u = s.user_row("renamed").await.unwrap();
    assert_eq!(u.name, "Given By Hook");
    assert!(u.admin);

    s.create_user("keeper", None, false).await;
    let (st, body) = admin
        .post(
            "/api/users/delete",
            json!({"handle": "keeper", "purge": true}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "Keeper stays.");
    assert!(s.user_row("keeper").await.is_some());
    assert!(s.user_dir("keeper").join("settings.json").is_file());

    s.create_user("night-owl", Some("pw"), false).await;
    let mut owl = s.client();
    let a = owl
        .send(
            "/api/users/login",
            json!({"handle": "night-owl", "password": "pw"}),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.error(), "Logins are closed at night.");
    assert!(a.session_cookie().is_none(), "no session");
    s.stop().await;
}

/// A /healthz round trip, bounded.
async fn ping(base: &str) -> Duration {
    let t = Instant::now();
    let r = tokio::time::timeout(
        Duration::from_secs(5),
        reqwest::get(format!("{base}/healthz")),
    )
    .await
    .expect("answered in time")
    .unwrap();
    assert_eq!(r.status(), 200);
    t.elapsed()
}

#[tokio::test]
async fn runaway_scripts_are_stopped_and_others_keep_answering() {
    let s = with_scripts(
        &[(
            "runaway.lua",
            r#"
innkeeper.on("before_login", function(ev)
  if ev.handle == "loop" then while true do end end
end)
innkeeper.on("before_user_create", function(ev)
  if ev.handle == "bomb" then
    local t = {}
    for i = 1, 1e9 do t[i] = string.rep("x", 1000) .. i end
  end
end)
"#,
        )],
        |c| {
            c.hooks.timeout_ms = 300;
            c.hooks.memory_limit_mb = 16;
        },
    )
    .await;
    s.create_user("loop", Some("pw"), false).await;

    let base = s.base.clone();
    let pings = tokio::spawn(async move {
        let mut worst = Duration::ZERO;
        for _ in 0..20 {
            worst = worst.max(ping(&base).await);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        worst
    });
    let mut c = s.client();
    let started = Instant::now();
    let a = c
        .send(
            "/api/users/login",
            json!({"handle": "loop", "password": "pw"}),
            &[],
        )
        .await;
    let took = started.elapsed();
    assert_eq!(a.status, StatusCode::FORBIDDEN, "fail closed: {}", a.body);
    assert!(a.error().contains("hook"), "{}", a.error());
    assert!(
        took < Duration::from_secs(5),
        "stopped within the limit: {took:?}"
    );

    let mut admin = s.login("default-user", "").await;
    let (st, body) = admin
        .post("/api/users/create", json!({"handle": "bomb", "name": "B"}))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    assert!(s.user_row("bomb").await.is_none());
    let worst = pings.await.unwrap();
    println!("slowest /healthz while scripts ran away: {worst:?}");
    // After all that the scripts still work for ordinary events.
    let (st, _) = admin
        .post("/api/users/create", json!({"handle": "fine", "name": "F"}))
        .await;
    assert_eq!(st, StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn fail_open_lets_actions_through_when_a_hook_fails() {
    let s = with_scripts(
        &[(
            "broken-at-runtime.lua",
            r#"innkeeper.on("before_user_create", function(ev) error("boom") end)"#,
        )],
        |c| {
            c.hooks.fail_closed = false;
        },
    )
    .await;
    let mut admin = s.login("default-user", "").await;
    let (st, _) = admin
        .post("/api/users/create", json!({"handle": "okay", "name": "O"}))
        .await;
    assert_eq!(st, StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn load_errors_name_file_and_line_and_edits_apply_live() {
    let s = with_scripts(
        &[
            ("broken.lua", "local x = 1\nthis is not lua\n"),
            ("gate.lua", r#"innkeeper.on("before_user_create", function(ev) return { allow = false, reason = "closed" } end)"#),
        ],
        |_| {},
    )
    .await;
    let scripts = hooks_dir(&s);
    let mut admin = s.login("default-user", "").await;
    let (st, body) = admin
        .post("/api/users/create", json!({"handle": "a1", "name": "A"}))
        .await;
    assert_eq!(
        st,
        StatusCode::FORBIDDEN,
        "the good file works despite the broken one"
    );
    assert_eq!(body["error"], "closed");
    let errors = s.app.hooks.load_errors();
    assert!(
        errors.iter().any(|e| e.contains("broken.lua:2")),
        "{errors:?}"
    );

    // Edit without restart: now it lets people in.
    script(
        &scripts,
        "gate.lua",
        r#"innkeeper.on("before_user_create", function(ev) return { name = "edited " .. ev.name } end)"#,
    );
    let (st, _) = admin
        .post("/api/users/create", json!({"handle": "a2", "name": "A"}))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(s.user_row("a2").await.unwrap().name, "edited A");
    // Removing the file removes its handlers.
    std::fs::remove_file(scripts.join("gate.lua")).unwrap();
    let (st, _) = admin
        .post("/api/users/create", json!({"handle": "a3", "name": "A"}))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(s.user_row("a3").await.unwrap().name, "A");
    s.stop().await;
}

#[tokio::test]
async fn the_sandbox_holds() {
    let s = with_scripts(
        &[(
            "probe.lua",
            r#"
innkeeper.on("user_created", function(ev)
  local report = {}
  report[#report + 1] = "io=" .. tostring(io)
  report[#report + 1] = "os=" .. tostring(os)
  report[#report + 1] = "load=" .. tostring(load)
  report[#report + 1] = "require=" .. tostring(require)
  report[#report + 1] = "dofile=" .. tostring(dofile)
  report[#report + 1] = "passwd=" .. tostring(ev.user:read_file("/etc/passwd"))
  report[#report + 1] = "up=" .. tostring(ev.user:read_file("../../outside-secret.txt"))
  report[#report + 1] = "up2=" .. tostring(ev.user:read_file("../outside-secret.txt"))
  local ok = ev.user:write_file("../escaped.txt", "x")
  report[#report + 1] = "write_up=" .. tostring(ok)
  ev.user:write_file("notes/welcome.txt", "Welcome, " .. ev.name)
  ev.user:write_file("probe.txt", table.concat(report, "\n"))
end)
"#,
        )],
        |_| {},
    )
    .await;
    // A secret beside the data root, which no script may read.
    let outside = s.data_root().parent().unwrap().join("outside-secret.txt");
    std::fs::write(&outside, "TOP-SECRET").unwrap();
    let mut admin = s.login("default-user", "").await;
    let (st, _) = admin
        .post(
            "/api/users/create",
            json!({"handle": "probe", "name": "Pat"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let report = std::fs::read_to_string(s.user_dir("probe").join("probe.txt")).unwrap();
    for line in [
        "io=nil",
        "os=nil",
        "load=nil",
        "require=nil",
        "dofile=nil",
        "passwd=nil",
        "up=nil",
        "up2=nil",
        "write_up=nil",
    ] {
        assert!(report.lines().any(|l| l == line), "{line} not in {report}");
    }
    assert!(!report.contains("TOP-SECRET") && !report.contains("root:"));
    assert!(!s.data_root().join("escaped.txt").exists());
    assert_eq!(
        std::fs::read_to_string(s.user_dir("probe").join("notes/welcome.txt")).unwrap(),
        "Welcome, Pat"
    );
    s.stop().await;
}

#[test]
fn server_started_fires_when_the_binary_is_ready() {
    let dir = tempfile::tempdir().unwrap();
    script(&dir.path().join("scripts"), "record.lua", RECORDER);
    std::fs::write(dir.path().join("config.yaml"), child::FAST_CONFIG).unwrap();
    let server = child::ChildServer::start(dir.path()).expect("started");
    let log = dir.path().join("scripts/private/events.log");
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if !text.is_empty() || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let want = format!(
        "server_started - ip=- version={} url={}/",
        env!("CARGO_PKG_VERSION"),
        server.base
    );
    assert!(server.stop().is_some_and(|s| s.success()));
    assert!(text.contains(&want), "{text}");
}

/// A login handle reaches hooks clipped to the 64 characters a handle can
/// have (issue 13, point 14): a 128 KiB "handle" never meets a script's
/// pattern whole.
#[tokio::test]
async fn hooks_see_a_clipped_login_handle() {
    let recorder = r#"
for _, name in ipairs({"before_login", "login_failed"}) do
  innkeeper.on(name, function(ev)
    innkeeper.admin_file_append("events.log", ev.event .. " " .. #ev.handle)
  end)
end
"#;
    let s = with_scripts(&[("record.lua", recorder)], |_| {}).await;
    let mut c = s.client();
    let long = "a".repeat(128 * 1024);
    let a = c
        .send(
            "/api/users/login",
            json!({ "handle": long, "password": "x" }),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    assert_eq!(recorded(&s), ["before_login 64", "login_failed 64"]);
    s.stop().await;
}

#[tokio::test]
async fn a_two_factor_login_succeeds_after_its_code_and_a_wrong_code_fails() {
    use innkeeper::accounts::totp;
    let s = with_scripts(&[("record.lua", RECORDER)], |_| {}).await;
    s.create_user("ivy", Some("pw"), false).await;
    let ivy = s
        .app
        .accounts()
        .find_user_fresh("ivy")
        .await
        .unwrap()
        .unwrap();
    let secret = b"12345678901234567890";
    s.app.two_factor().begin_with(&ivy, secret).await.unwrap();
    s.app
        .store
        .run(|c| innkeeper::store::two_factor::enable(c, "ivy", 0, &[]))
        .await
        .unwrap();
    s.app.directory.invalidate();

    let mut c = s.client();
    let a = c
        .send(
            "/api/users/login",
            json!({"handle": "ivy", "password": "pw"}),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let ticket = a.body["ticket"].as_str().unwrap().to_string();
    let lines = recorded(&s);
    assert!(has(&lines, "before_login ivy"), "{lines:?}");
    assert!(
        !has(&lines, "login_succeeded ivy"),
        "not after the password alone: {lines:?}"
    );

    let a = c
        .send(
            "/api/users/login-2fa",
            json!({"ticket": ticket, "code": "abcdefghij"}),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(has(
        &recorded(&s),
        "login_failed ivy ip=127.0.0.1 reason=wrong_code"
    ));

    let code = totp::code_at(secret, totp::step_at(s.app.clock.now_ms()));
    let a = c
        .send(
            "/api/users/login-2fa",
            json!({"ticket": ticket, "code": code}),
            &[],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let lines = recorded(&s);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("login_succeeded ivy"))
            .count(),
        1,
        "{lines:?}"
    );
}
