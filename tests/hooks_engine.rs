//! The hook engine end to end: real Lua files in a temp folder, dispatched
//! the way the server does, with the results read back from the outcome or
//! from files the scripts wrote into the user's folder.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use innkeeper::hooks::{
    EventKind, HookEvent, HookOutcome, HookSettings, Hooks, HOOK_FAILED_REASON,
};
use serde_json::{json, Map, Value};

const TIMEOUT_MS: u64 = 300;

struct Setup {
    _root: tempfile::TempDir,
    scripts: PathBuf,
    user: PathBuf,
    outside: PathBuf,
}

fn setup() -> Setup {
    let root = tempfile::tempdir().unwrap();
    let scripts = root.path().join("scripts");
    let user = root.path().join("data").join("alice");
    let outside = root.path().join("outside");
    for dir in [&scripts, &user, &outside] {
        fs::create_dir_all(dir).unwrap();
    }
    Setup {
        scripts,
        user,
        outside,
        _root: root,
    }
}

fn settings(dir: &Path, fail_closed: bool) -> HookSettings {
    HookSettings {
        dir: dir.to_path_buf(),
        timeout_ms: TIMEOUT_MS,
        memory_limit_mb: 16,
        fail_closed,
    }
}

fn hooks(dir: &Path) -> Hooks {
    Hooks::new(
        settings(dir, true),
        json!({"siteName": "Test Inn", "limits": {"users": 5}}),
    )
}

fn write(dir: &Path, name: &str, text: &str) {
    fs::write(dir.join(name), text).unwrap();
}

fn adjust(outcome: HookOutcome) -> Map<String, Value> {
    match outcome {
        HookOutcome::Allow { adjust } => adjust,
        HookOutcome::Refuse { reason } => panic!("refused: {reason}"),
    }
}

fn reason(outcome: HookOutcome) -> String {
    match outcome {
        HookOutcome::Refuse { reason } => reason,
        HookOutcome::Allow { adjust } => panic!("allowed: {adjust:?}"),
    }
}

fn login(handle: &str) -> HookEvent {
    HookEvent::new(EventKind::BeforeLogin)
        .with_handle(handle)
        .with_ip("192.0.2.7")
}

/// Collects what tracing prints while `f` runs on this thread.
fn capture_logs<R>(f: impl FnOnce() -> R) -> (R, String) {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    let result = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8_lossy(&buffer.0.lock().unwrap()).into_owned();
    (result, text)
}

#[test]
fn every_event_reaches_its_handler_with_its_fields() {
    let s = setup();
    let names: Vec<String> = EventKind::ALL
        .iter()
        .map(|k| format!("{:?}", k.as_str()))
        .collect();
    write(
        &s.scripts,
        "record.lua",
        &format!(
            r#"
local function dump(ev)
  local keys = {{}}
  for k in pairs(ev) do
    if k ~= "user" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  local out = {{}}
  for _, k in ipairs(keys) do out[#out + 1] = k .. "=" .. tostring(ev[k]) end
  return table.concat(out, ";")
end
for _, name in ipairs({{ {} }}) do
  innkeeper.on(name, function(ev)
    assert(ev.user:write_file("seen/" .. ev.event .. ".txt", dump(ev)))
  end)
end
"#,
            names.join(", ")
        ),
    );
    let hooks = hooks(&s.scripts);
    assert!(hooks.load_errors().is_empty(), "{:?}", hooks.load_errors());

    let u = &s.user;
    let cases: Vec<(HookEvent, &str)> = vec![
        (
            HookEvent::new(EventKind::BeforeUserCreate)
                .with_handle("bob")
                .with_ip("192.0.2.1")
                .with_field("name", "Bob")
                .with_field("admin", false),
            "admin=false;event=before_user_create;handle=bob;ip=192.0.2.1;name=Bob",
        ),
        (
            HookEvent::new(EventKind::UserCreated)
                .with_handle("bob")
                .with_field("name", "Bob")
                .with_field("admin", true),
            "admin=true;event=user_created;handle=bob;name=Bob",
        ),
        (
            HookEvent::new(EventKind::BeforeUserDelete)
                .with_handle("bob")
                .with_field("purge", true),
            "event=before_user_delete;handle=bob;purge=true",
        ),
        (
            HookEvent::new(EventKind::UserDeleted)
                .with_handle("bob")
                .with_field("purge", false),
            "event=user_deleted;handle=bob;purge=false",
        ),
        (login("bob"), "event=before_login;handle=bob;ip=192.0.2.7"),
        (
            HookEvent::new(EventKind::LoginSucceeded)
                .with_handle("bob")
                .with_ip("192.0.2.2"),
            "event=login_succeeded;handle=bob;ip=192.0.2.2",
        ),
        (
            HookEvent::new(EventKind::LoginFailed)
                .with_handle("bob")
                .with_ip("192.0.2.3")
                .with_field("reason", "wrong_password"),
            "event=login_failed;handle=bob;ip=192.0.2.3;reason=wrong_password",
        ),
        (
            HookEvent::new(EventKind::RecoveryRequested)
                .with_handle("bob")
                .with_ip("192.0.2.4")
                .with_field("name", "Bob")
                .with_field("code", "4711"),
            "code=4711;event=recovery_requested;handle=bob;ip=192.0.2.4;name=Bob",
        ),
        (
            HookEvent::new(EventKind::PasswordChanged)
                .with_handle("bob")
                .with_field("by", "admin")
                .with_field("removed", false),
            "by=admin;event=password_changed;handle=bob;removed=false",
        ),
        (
            HookEvent::new(EventKind::BackupCreated)
                .with_handle("bob")
                .with_field("by", "bob"),
            "by=bob;event=backup_created;handle=bob",
        ),
        (
            HookEvent::new(EventKind::SettingsReset).with_handle("bob"),
            "event=settings_reset;handle=bob",
        ),
        (
            HookEvent::new(EventKind::ServerStarted)
                .with_field("version", "0.1.0")
                .with_field("url", "http://127.0.0.1:8000"),
            "event=server_started;url=http://127.0.0.1:8000;version=0.1.0",
        ),
        (
            HookEvent::new(EventKind::AppStarted)
                .with_handle("bob")
                .with_field("port", 40001)
                .with_field("pid", 123)
                .with_field("startMs", 1200),
            "event=app_started;handle=bob;pid=123;port=40001;startMs=1200",
        ),
        (
            HookEvent::new(EventKind::AppStopped)
                .with_handle("bob")
                .with_field("reason", "idle"),
            "event=app_stopped;handle=bob;reason=idle",
        ),
        (
            HookEvent::new(EventKind::SignupRequested)
                .with_handle("newbie")
                .with_ip("192.0.2.9")
                .with_field("name", "Newbie")
                .with_field("pending", true),
            "event=signup_requested;handle=newbie;ip=192.0.2.9;name=Newbie;pending=true",
        ),
        (
            HookEvent::new(EventKind::BeforeGenerate)
                .with_handle("bob")
                .with_field("route", "/api/backends/chat-completions/generate")
                .with_field("kind", "text")
                .with_field("source", "custom")
                .with_field("model", "m1")
                .with_field("profile", "member"),
            "event=before_generate;handle=bob;kind=text;model=m1;profile=member;route=/api/backends/chat-completions/generate;source=custom",
        ),
    ];
    assert_eq!(cases.len(), EventKind::ALL.len());
    for (event, expected) in cases {
        let kind = event.kind;
        assert!(hooks.has_handlers(kind));
        let outcome = hooks.dispatch_blocking(event.with_user_dir(u));
        assert_eq!(outcome, HookOutcome::allow(), "{kind}");
        let seen = fs::read_to_string(u.join("seen").join(format!("{kind}.txt"))).unwrap();
        assert_eq!(seen, expected, "{kind}");
    }
}

#[test]
fn refusal_reason_and_adjustments_come_back() {
    let s = setup();
    write(
        &s.scripts,
        "10-names.lua",
        r#"
innkeeper.on("before_user_create", function(ev)
  return { name = ev.name .. " (guest)", admin = false, note = "first" }
end)
"#,
    );
    write(
        &s.scripts,
        "20-more.lua",
        r#"
innkeeper.on("before_user_create", function(ev)
  if ev.handle == "root" then
    return { allow = false, reason = "Handle root is reserved." }
  end
  -- Sees the name as adjusted by 10-names.lua.
  return { note = "second saw " .. ev.name, tags = { "a", "b" } }
end)
"#,
    );
    let hooks = hooks(&s.scripts);
    let create = |handle: &str| {
        HookEvent::new(EventKind::BeforeUserCreate)
            .with_handle(handle)
            .with_field("name", "Dana")
            .with_field("admin", true)
    };
    assert_eq!(
        reason(hooks.dispatch_blocking(create("root"))),
        "Handle root is reserved."
    );
    let adjust = adjust(hooks.dispatch_blocking(create("dana")));
    assert_eq!(adjust["name"], json!("Dana (guest)"));
    assert_eq!(adjust["admin"], json!(false));
    assert_eq!(adjust["note"], json!("second saw Dana (guest)"));
    assert_eq!(adjust["tags"], json!(["a", "b"]));
}

#[test]
fn handlers_run_in_file_then_registration_order_and_first_refusal_wins() {
    let s = setup();
    let append = r#"
local function mark(ev, text)
  local old = ev.user:read_file("order.txt") or ""
  assert(ev.user:write_file("order.txt", old .. text .. ","))
end
"#;
    write(
        &s.scripts,
        "b-second.lua",
        &format!("{append}innkeeper.on('before_login', function(ev) mark(ev, 'b') return {{allow = false, reason = 'b says no'}} end)"),
    );
    write(
        &s.scripts,
        "a-first.lua",
        &format!(
            "{append}innkeeper.on('before_login', function(ev) mark(ev, 'a1') end)\n\
             innkeeper.on('login_failed', function(ev) mark(ev, 'x') end)\n\
             innkeeper.on('before_login', function(ev) mark(ev, 'a2') return {{allow = true}} end)"
        ),
    );
    write(
        &s.scripts,
        "c-third.lua",
        &format!("{append}innkeeper.on('before_login', function(ev) mark(ev, 'c') return {{allow = false, reason = 'c says no'}} end)"),
    );
    let hooks = hooks(&s.scripts);
    assert_eq!(
        hooks.loaded_scripts(),
        ["a-first.lua", "b-second.lua", "c-third.lua"]
    );
    let outcome = hooks.dispatch_blocking(login("alice").with_user_dir(&s.user));
    assert_eq!(reason(outcome), "b says no");
    assert_eq!(
        fs::read_to_string(s.user.join("order.txt")).unwrap(),
        "a1,a2,b,"
    );
}

#[test]
fn after_events_ignore_return_values_and_run_every_handler() {
    let s = setup();
    for name in ["1.lua", "2.lua"] {
        write(
            &s.scripts,
            name,
            r#"innkeeper.on("login_failed", function(ev)
  local old = ev.user:read_file("count.txt") or ""
  ev.user:write_file("count.txt", old .. "x")
  return { allow = false, reason = "ignored" }
end)"#,
        );
    }
    let hooks = hooks(&s.scripts);
    let event = HookEvent::new(EventKind::LoginFailed)
        .with_handle("alice")
        .with_field("reason", "wrong_password")
        .with_user_dir(&s.user);
    assert_eq!(hooks.dispatch_blocking(event), HookOutcome::allow());
    assert_eq!(fs::read_to_string(s.user.join("count.txt")).unwrap(), "xx");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runaway_loop_is_stopped_and_fail_closed_decides() {
    let s = setup();
    write(
        &s.scripts,
        "spin.lua",
        r#"
innkeeper.on("before_login", function(ev)
  while true do end
end)
innkeeper.on("login_succeeded", function(ev)
  local n = 0
  while true do n = n + 1 end
end)
"#,
    );
    let limit = Duration::from_millis(TIMEOUT_MS * 5);

    let closed = Hooks::new(settings(&s.scripts, true), Value::Null);
    let started = Instant::now();
    let outcome = closed.dispatch(login("alice")).await;
    assert!(started.elapsed() < limit, "took {:?}", started.elapsed());
    assert_eq!(reason(outcome), HOOK_FAILED_REASON);

    // An observing event: the action stands whatever fail_closed says.
    let started = Instant::now();
    let outcome = closed
        .dispatch(HookEvent::new(EventKind::LoginSucceeded).with_handle("alice"))
        .await;
    assert!(started.elapsed() < limit);
    assert_eq!(outcome, HookOutcome::allow());

    let open = Hooks::new(settings(&s.scripts, false), Value::Null);
    let started = Instant::now();
    let outcome = open.dispatch(login("alice")).await;
    assert!(started.elapsed() < limit, "took {:?}", started.elapsed());
    assert_eq!(outcome, HookOutcome::allow());
}

#[test]
fn runaway_is_logged_with_file_and_line() {
    let s = setup();
    write(
        &s.scripts,
        "spin.lua",
        "innkeeper.on('before_login', function(ev)\n  local n = 0\n  while true do\n    n = n + 1\n  end\nend)\n",
    );
    let hooks = hooks(&s.scripts);
    let (outcome, logs) = capture_logs(|| hooks.dispatch_blocking(login("alice")));
    assert!(outcome.is_refused());
    assert!(logs.contains("ERROR"), "{logs}");
    assert!(
        logs.contains("spin.lua:3:") || logs.contains("spin.lua:4:"),
        "{logs}"
    );
    assert!(logs.contains("ran longer than 300 ms"), "{logs}");
}

#[test]
fn memory_bomb_is_stopped_and_the_script_keeps_working() {
    let s = setup();
    write(
        &s.scripts,
        "bomb.lua",
        r#"
innkeeper.on("before_login", function(ev)
  if ev.handle == "bomb" then
    local t = {} for i=1,1e9 do t[i] = string.rep("x", 1000) .. i end
  end
  return { allow = false, reason = "checked " .. ev.handle }
end)
"#,
    );
    let hooks = hooks(&s.scripts);
    let started = Instant::now();
    let (outcome, logs) = capture_logs(|| hooks.dispatch_blocking(login("bomb")));
    assert_eq!(reason(outcome), HOOK_FAILED_REASON);
    assert!(started.elapsed() < Duration::from_millis(TIMEOUT_MS * 5));
    assert!(logs.contains("bomb.lua:4:"), "{logs}");
    assert!(
        logs.contains("memory") || logs.contains("ran longer"),
        "{logs}"
    );
    // The next call works.
    assert_eq!(
        reason(hooks.dispatch_blocking(login("alice"))),
        "checked alice"
    );
}

#[test]
fn memory_kept_in_a_global_gets_the_script_reloaded() {
    let s = setup();
    write(
        &s.scripts,
        "hoard.lua",
        r#"
hoard = {}
innkeeper.on("before_login", function(ev)
  if ev.handle == "hoard" then
    for i = 1, 1e9 do hoard[i] = string.rep("x", 1000) .. i end
  end
  return { allow = false, reason = "hoarded " .. #hoard }
end)
"#,
    );
    // A generous time limit, so the memory limit is what stops the loop.
    let mut settings = settings(&s.scripts, true);
    settings.timeout_ms = 10_000;
    let hooks = Hooks::new(settings, Value::Null);
    let (outcome, logs) = capture_logs(|| hooks.dispatch_blocking(login("hoard")));
    assert_eq!(reason(outcome), HOOK_FAILED_REASON);
    assert!(logs.contains("hoard.lua:5: out of memory"), "{logs}");
    // The full state was replaced by a fresh load of the same file.
    assert_eq!(reason(hooks.dispatch_blocking(login("alice"))), "hoarded 0");
}

#[test]
fn load_errors_name_file_and_line_and_other_files_still_work() {
    let s = setup();
    write(&s.scripts, "1-syntax.lua", "local x = 1\n\nlocal = oops\n");
    write(
        &s.scripts,
        "2-runtime.lua",
        "local a = 1\nlocal b = nil\nlocal c = b.field\n",
    );
    write(
        &s.scripts,
        "3-unknown.lua",
        "\ninnkeeper.on('user_create', function() end)\n",
    );
    write(
        &s.scripts,
        "4-good.lua",
        "innkeeper.on('before_login', function(ev) return {allow = false, reason = 'good ran'} end)\n",
    );
    let (hooks, logs) = capture_logs(|| hooks(&s.scripts));
    let errors = hooks.load_errors();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[0].starts_with("1-syntax.lua:3:"), "{errors:?}");
    assert!(errors[1].starts_with("2-runtime.lua:3:"), "{errors:?}");
    assert!(errors[2].starts_with("3-unknown.lua:2:"), "{errors:?}");
    assert!(
        errors[2].contains("unknown event \"user_create\""),
        "{errors:?}"
    );
    for line in ["1-syntax.lua:3:", "2-runtime.lua:3:", "3-unknown.lua:2:"] {
        assert!(logs.contains(line), "{line} not logged: {logs}");
    }
    assert_eq!(hooks.loaded_scripts(), ["4-good.lua"]);
    assert_eq!(reason(hooks.dispatch_blocking(login("alice"))), "good ran");
}

#[test]
fn runtime_errors_in_handlers_are_logged_and_fail_closed() {
    let s = setup();
    write(
        &s.scripts,
        "oops.lua",
        "innkeeper.on('before_login', function(ev)\n  local t = nil\n  return t.x\nend)\n",
    );
    let hooks = hooks(&s.scripts);
    let (outcome, logs) = capture_logs(|| hooks.dispatch_blocking(login("alice")));
    assert_eq!(reason(outcome), HOOK_FAILED_REASON);
    assert!(logs.contains("oops.lua:3:"), "{logs}");
    let open = Hooks::new(settings(&s.scripts, false), Value::Null);
    assert_eq!(open.dispatch_blocking(login("alice")), HookOutcome::allow());
}

#[test]
fn editing_a_script_takes_effect_on_the_next_dispatch() {
    let s = setup();
    let script = |word: &str| {
        format!("innkeeper.on('before_login', function() return {{allow = false, reason = '{word}'}} end)\n")
    };
    write(&s.scripts, "policy.lua", &script("v1"));
    let hooks = hooks(&s.scripts);
    assert_eq!(reason(hooks.dispatch_blocking(login("a"))), "v1");

    // Same length, written at once: only the content tells the difference.
    write(&s.scripts, "policy.lua", &script("v2"));
    assert_eq!(reason(hooks.dispatch_blocking(login("a"))), "v2");

    // A broken edit is logged, and the last good version keeps running.
    write(
        &s.scripts,
        "policy.lua",
        "innkeeper.on('before_login', function()\n",
    );
    assert_eq!(reason(hooks.dispatch_blocking(login("a"))), "v2");
    assert_eq!(hooks.load_errors().len(), 1);
    assert!(
        hooks.load_errors()[0].starts_with("policy.lua:2:"),
        "{:?}",
        hooks.load_errors()
    );
    write(&s.scripts, "policy.lua", &script("v3"));
    assert_eq!(reason(hooks.dispatch_blocking(login("a"))), "v3");
    assert!(hooks.load_errors().is_empty());

    // New files are picked up, removed ones dropped.
    assert!(!hooks.has_handlers(EventKind::UserDeleted));
    write(
        &s.scripts,
        "later.lua",
        "innkeeper.on('user_deleted', function() end)",
    );
    assert!(hooks.has_handlers(EventKind::UserDeleted));
    fs::remove_file(s.scripts.join("policy.lua")).unwrap();
    assert_eq!(hooks.dispatch_blocking(login("a")), HookOutcome::allow());
    assert_eq!(hooks.loaded_scripts(), ["later.lua"]);
    assert!(!hooks.has_handlers(EventKind::BeforeLogin));
    assert!(hooks.has_handlers(EventKind::UserDeleted));
    // A removed file stops counting at once, without a dispatch.
    fs::remove_file(s.scripts.join("later.lua")).unwrap();
    assert!(!hooks.has_handlers(EventKind::UserDeleted));
}

#[test]
fn has_handlers_and_subfolders() {
    let s = setup();
    let examples = s.scripts.join("examples");
    fs::create_dir_all(&examples).unwrap();
    write(
        &examples,
        "deny-all.lua",
        "innkeeper.on('before_login', function() return {allow = false, reason = 'example'} end)",
    );
    write(&s.scripts, "notes.txt", "not a script");
    write(
        &s.scripts,
        ".hidden.lua",
        "error('hidden files are not loaded')",
    );
    let hooks = hooks(&s.scripts);
    assert!(hooks.loaded_scripts().is_empty());
    assert!(hooks.load_errors().is_empty());
    assert!(!hooks.has_handlers(EventKind::BeforeLogin));
    assert_eq!(hooks.dispatch_blocking(login("a")), HookOutcome::allow());

    write(
        &s.scripts,
        "watch.lua",
        "innkeeper.on('login_failed', function() end)",
    );
    let hooks = self::hooks(&s.scripts);
    assert!(hooks.has_handlers(EventKind::LoginFailed));
    assert!(!hooks.has_handlers(EventKind::LoginSucceeded));

    let missing = Hooks::new(settings(&s.scripts.join("nope"), true), Value::Null);
    assert!(missing.loaded_scripts().is_empty());
    for kind in EventKind::ALL {
        assert!(!missing.has_handlers(kind));
    }
    assert_eq!(missing.dispatch_blocking(login("a")), HookOutcome::allow());
}

#[test]
fn scripts_cannot_reach_the_system() {
    let s = setup();
    fs::write(s.outside.join("secret.txt"), "top secret").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(s.outside.join("secret.txt"), s.user.join("link")).unwrap();
        std::os::unix::fs::symlink(&s.outside, s.user.join("linkdir")).unwrap();
    }
    write(
        &s.scripts,
        "probe.lua",
        r#"
innkeeper.on("before_login", function(ev)
  local u = ev.user
  local function show(a, b) return tostring(a) .. "|" .. tostring(b) end
  return {
    globals = show(io, os) .. "|" .. show(load, loadfile) .. "|" .. show(dofile, require)
      .. "|" .. show(string.dump, package) .. "|" .. show(debug, collectgarbage),
    dotdot = show(u:read_file("../../etc/passwd")),
    absolute = show(u:read_file("/etc/passwd")),
    backslash = show(u:read_file("..\\..\\etc\\passwd")),
    nul = show(u:read_file("ok\0.txt")),
    link = show(u:read_file("link")),
    linkdir = show(u:read_file("linkdir/secret.txt")),
    write_link = show(u:write_file("link", "pwned")),
    write_linkdir = show(u:write_file("linkdir/new.txt", "pwned")),
    write_up = show(u:write_file("../escape.txt", "pwned")),
    write_abs = show(u:write_file("/tmp/escape.txt", "pwned")),
    exists_up = show(u:exists("../alice")),
    list_up = show(u:list("..")),
    list_linkdir = show(u:list("linkdir")),
  }
end)
"#,
    );
    let hooks = hooks(&s.scripts);
    let got = adjust(hooks.dispatch_blocking(login("alice").with_user_dir(&s.user)));
    let refused = json!("nil|path not allowed");
    assert_eq!(
        got["globals"],
        json!("nil|nil|nil|nil|nil|nil|nil|nil|nil|nil")
    );
    for key in [
        "dotdot",
        "absolute",
        "backslash",
        "nul",
        "write_up",
        "write_abs",
        "exists_up",
        "list_up",
    ] {
        assert_eq!(got[key], refused, "{key}");
    }
    #[cfg(unix)]
    for key in [
        "link",
        "linkdir",
        "write_link",
        "write_linkdir",
        "list_linkdir",
    ] {
        assert_eq!(got[key], refused, "{key}");
    }
    assert_eq!(
        fs::read_to_string(s.outside.join("secret.txt")).unwrap(),
        "top secret"
    );
    assert!(!s.outside.join("new.txt").exists());
    assert!(!s.user.parent().unwrap().join("escape.txt").exists());
}

#[test]
fn user_folder_api_reads_writes_and_lists() {
    let s = setup();
    fs::write(s.user.join("settings.json"), "{}").unwrap();
    write(
        &s.scripts,
        "files.lua",
        r#"
innkeeper.on("before_login", function(ev)
  local u = ev.user
  assert(u:write_file("notes/2024/today.txt", "hello"))
  local text = u:read_file("notes/2024/today.txt")
  local missing, why = u:read_file("nope.txt")
  local big, big_why = u:write_file("big.bin", string.rep("x", 10 * 1024 * 1024 + 1))
  return {
    text = text,
    missing = tostring(missing) .. "|" .. why,
    big = tostring(big) .. "|" .. big_why,
    exists = u:exists("notes/2024/today.txt"),
    not_exists = u:exists("nope.txt"),
    top = u:list(),
    notes = u:list("notes/2024"),
  }
end)
"#,
    );
    let hooks = hooks(&s.scripts);
    let got = adjust(hooks.dispatch_blocking(login("alice").with_user_dir(&s.user)));
    assert_eq!(got["text"], json!("hello"));
    assert_eq!(got["missing"], json!("nil|not found"));
    assert_eq!(got["big"], json!("nil|file too large"));
    assert_eq!(got["exists"], json!(true));
    assert_eq!(got["not_exists"], json!(false));
    assert_eq!(got["top"], json!(["notes", "settings.json"]));
    assert_eq!(got["notes"], json!(["today.txt"]));
    assert_eq!(
        fs::read_to_string(s.user.join("notes/2024/today.txt")).unwrap(),
        "hello"
    );
}

#[test]
fn ev_user_is_absent_without_a_folder_and_dead_after_the_call() {
    let s = setup();
    write(
        &s.scripts,
        "keep.lua",
        r#"
innkeeper.on("before_login", function(ev)
  if ev.handle == "first" then kept = ev.user return end
  local ok, err = pcall(function() return kept:read_file("x") end)
  return { has_user = ev.user ~= nil, later_use = tostring(ok) }
end)
"#,
    );
    let hooks = hooks(&s.scripts);
    adjust(hooks.dispatch_blocking(login("first").with_user_dir(&s.user)));
    let got = adjust(hooks.dispatch_blocking(login("second")));
    assert_eq!(got["has_user"], json!(false));
    assert_eq!(got["later_use"], json!("false"));
}

#[test]
fn config_now_and_log_are_available() {
    let s = setup();
    write(
        &s.scripts,
        "api.lua",
        r#"
innkeeper.on("before_login", function(ev)
  innkeeper.log("info", "checking " .. ev.handle)
  innkeeper.log("warn", "a warning")
  print("printed", 42)
  local ok, err = pcall(function() innkeeper.config.siteName = "x" end)
  local ok2 = pcall(function() innkeeper.config.limits.users = 99 end)
  local keys = {}
  for k in pairs(innkeeper.config) do keys[#keys + 1] = k end
  table.sort(keys)
  return {
    site = innkeeper.config.siteName,
    users = innkeeper.config.limits.users,
    keys = table.concat(keys, ","),
    write = tostring(ok) .. "|" .. tostring(ok2) .. "|" .. tostring(err):match("read%-only"),
    now_type = math.type(innkeeper.now()),
    now = innkeeper.now(),
  }
end)
"#,
    );
    let hooks = hooks(&s.scripts);
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let (outcome, logs) = capture_logs(|| hooks.dispatch_blocking(login("alice")));
    let got = adjust(outcome);
    assert_eq!(got["site"], json!("Test Inn"));
    assert_eq!(got["users"], json!(5));
    assert_eq!(got["keys"], json!("limits,siteName"));
    assert_eq!(got["write"], json!("false|false|read-only"));
    assert_eq!(got["now_type"], json!("integer"));
    let now = got["now"].as_i64().unwrap();
    assert!(now >= before && now < before + 60_000);
    assert!(
        logs.contains("checking alice") && logs.contains("api.lua"),
        "{logs}"
    );
    assert!(
        logs.contains("WARN") && logs.contains("a warning"),
        "{logs}"
    );
    assert!(logs.contains("printed\t42"), "{logs}");
}

#[test]
fn innkeeper_on_works_only_while_loading() {
    let s = setup();
    write(
        &s.scripts,
        "late.lua",
        r#"
innkeeper.on("before_login", function(ev)
  local ok, err = pcall(innkeeper.on, "user_created", function() end)
  return { ok = ok, err = tostring(err) }
end)
"#,
    );
    let hooks = hooks(&s.scripts);
    let got = adjust(hooks.dispatch_blocking(login("alice")));
    assert_eq!(got["ok"], json!(false));
    assert!(got["err"]
        .as_str()
        .unwrap()
        .contains("while the script loads"));
    assert!(!hooks.has_handlers(EventKind::UserCreated));
}

#[test]
fn admin_file_append_writes_a_private_file() {
    let s = setup();
    write(
        &s.scripts,
        "codes.lua",
        r#"
innkeeper.on("recovery_requested", function(ev)
  assert(innkeeper.admin_file_append("codes.txt", ev.handle .. " " .. ev.code))
  local ok, err = innkeeper.admin_file_append("../escape.txt", "x")
  assert(ok == nil and err:find("not allowed"))
  ok, err = innkeeper.admin_file_append("sub/file.txt", "x")
  assert(ok == nil and err:find("not allowed"))
end)
"#,
    );
    let hooks = hooks(&s.scripts);
    let event = HookEvent::new(EventKind::RecoveryRequested)
        .with_handle("alice")
        .with_field("code", "1234");
    let (outcome, logs) = capture_logs(|| hooks.dispatch_blocking(event));
    assert_eq!(outcome, HookOutcome::allow());
    assert!(!logs.contains("ERROR"), "{logs}");
    let file = s.scripts.join("private").join("codes.txt");
    assert_eq!(fs::read_to_string(&file).unwrap(), "alice 1234\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert!(!s.scripts.join("escape.txt").exists());
    // private/ is a subfolder, so nothing in it is ever loaded as a script.
    assert!(hooks.loaded_scripts() == ["codes.lua"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_library_call_is_bounded_from_outside() {
    // A pattern search that backtracks quadratically runs inside one C
    // function the instruction hook cannot interrupt (20000²/2 steps: about
    // a second with an optimised Lua, a few without).
    let s = setup();
    write(
        &s.scripts,
        "slow.lua",
        r#"
innkeeper.on("before_login", function(ev)
  if ev.handle == "slow" then
    local s = string.rep("a", 20000)
    s:find(".-b")
  end
  return { allow = false, reason = "fast " .. ev.handle }
end)
"#,
    );
    let mut settings = settings(&s.scripts, true);
    settings.timeout_ms = 20;
    let hooks = Hooks::new(settings, Value::Null);
    assert!(hooks.load_errors().is_empty(), "{:?}", hooks.load_errors());
    let started = Instant::now();
    let outcome = hooks.dispatch(login("slow")).await;
    assert_eq!(reason(outcome), HOOK_FAILED_REASON);
    // The event's budget (20 ms) plus the dispatch's slack.
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "took {:?}",
        started.elapsed()
    );
    // While the stuck call still holds the state, later dispatches wait for
    // it only until their own budget ends, then count as a timeout, fast.
    let started = Instant::now();
    let outcome = reason(hooks.dispatch(login("alice")).await);
    assert!(
        outcome == HOOK_FAILED_REASON || outcome == "fast alice",
        "{outcome}"
    );
    assert!(started.elapsed() < Duration::from_millis(1000));
}

/// A handler that never returns on its own.
const SPIN: &str = "function(ev)\n  local n = 0\n  while true do n = n + 1 end\nend";

/// Writes `files` scripts with `per_file` looping handlers each, for `events`.
fn write_spinners(dir: &Path, files: usize, per_file: usize, events: &[&str]) {
    for file in 0..files {
        let mut text = String::new();
        for _ in 0..per_file {
            for event in events {
                text.push_str(&format!("innkeeper.on({event:?}, {SPIN})\n"));
            }
        }
        write(dir, &format!("spin-{file:02}.lua"), &text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_event_has_one_time_budget_for_all_its_handlers() {
    // Twenty handlers that each loop until stopped: with a budget per
    // handler call, one login would be held for 20 × 300 ms.
    let s = setup();
    write(
        &s.scripts,
        "00-first.lua",
        "innkeeper.on('before_login', function(ev) return { note = 'kept' } end)\n",
    );
    write_spinners(&s.scripts, 4, 5, &["before_login", "login_succeeded"]);
    let limit = Duration::from_millis(2 * TIMEOUT_MS);

    // An observing event runs every handler it reaches.
    let hooks = Hooks::new(settings(&s.scripts, true), Value::Null);
    assert!(hooks.load_errors().is_empty(), "{:?}", hooks.load_errors());
    let started = Instant::now();
    let outcome = hooks
        .dispatch(HookEvent::new(EventKind::LoginSucceeded).with_handle("alice"))
        .await;
    assert!(started.elapsed() < limit, "took {:?}", started.elapsed());
    assert_eq!(outcome, HookOutcome::allow());

    // Fail open: each failed handler counts as allowing, so every one would
    // be tried; the budget stops them together, and what the handlers
    // before them adjusted stands.
    let open = Hooks::new(settings(&s.scripts, false), Value::Null);
    let started = Instant::now();
    let outcome = open.dispatch(login("alice")).await;
    assert!(started.elapsed() < limit, "took {:?}", started.elapsed());
    assert_eq!(adjust(outcome)["note"], json!("kept"));

    // The same through the blocking entry point, with the skip logged.
    let started = Instant::now();
    let (outcome, logs) = capture_logs(|| open.dispatch_blocking(login("alice")));
    assert!(started.elapsed() < limit, "took {:?}", started.elapsed());
    assert!(!outcome.is_refused());
    assert!(logs.contains("ran out; skipped the handlers of"), "{logs}");
    assert!(logs.contains("spin-00.lua:3:"), "{logs}");
}

#[test]
fn loading_changed_files_shares_the_event_budget() {
    // Files edited while the server runs are loaded inside an event's
    // budget. One whose top level never ends uses it up: it is marked as
    // failed, and the files after it wait for later events instead of
    // being marked as failed for lack of time.
    let s = setup();
    let hooks = Hooks::new(settings(&s.scripts, false), Value::Null);
    write(
        &s.scripts,
        "a-stuck.lua",
        "local n = 0\nwhile true do n = n + 1 end\n",
    );
    write(
        &s.scripts,
        "b-stuck.lua",
        "local n = 0\nwhile true do n = n + 1 end\n",
    );
    write(
        &s.scripts,
        "c-good.lua",
        "innkeeper.on('before_login', function(ev) return { note = 'c' } end)\n",
    );
    let limit = Duration::from_millis(2 * TIMEOUT_MS);

    let started = Instant::now();
    assert_eq!(
        hooks.dispatch_blocking(login("alice")),
        HookOutcome::allow()
    );
    assert!(started.elapsed() < limit, "took {:?}", started.elapsed());
    let errors = hooks.load_errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("a-stuck.lua:2:"), "{errors:?}");

    let started = Instant::now();
    assert_eq!(
        hooks.dispatch_blocking(login("alice")),
        HookOutcome::allow()
    );
    assert!(started.elapsed() < limit, "took {:?}", started.elapsed());
    assert_eq!(hooks.load_errors().len(), 2, "{:?}", hooks.load_errors());

    assert_eq!(
        adjust(hooks.dispatch_blocking(login("alice")))["note"],
        json!("c")
    );
    assert_eq!(hooks.loaded_scripts(), ["c-good.lua"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pattern_bomb_is_stopped_at_the_budget_and_the_engine_stays_usable() {
    // `.-.-b` on 60000 `a`s backtracks cubically: inside Lua's own C
    // matcher, one call the deadline hook cannot interrupt, it would run
    // for years; the subject is under the size cap.
    let s = setup();
    write(
        &s.scripts,
        "a-bomb.lua",
        r#"
innkeeper.on("before_login", function(ev)
  if ev.handle == "bomb" then
    local s = string.rep("a", 60000)
    s:find(".-.-b")
  end
  return { allow = false, reason = "fast " .. ev.handle }
end)
"#,
    );
    write(
        &s.scripts,
        "b-welcome.lua",
        r#"
innkeeper.on("user_created", function(ev)
  assert(ev.user:write_file("welcome.txt", "hello " .. ev.handle))
end)
"#,
    );
    let hooks = hooks(&s.scripts);
    assert!(hooks.load_errors().is_empty(), "{:?}", hooks.load_errors());
    let limit = Duration::from_millis(2 * TIMEOUT_MS);
    let started = Instant::now();
    let outcome = hooks.dispatch(login("bomb")).await;
    assert!(started.elapsed() < limit, "took {:?}", started.elapsed());
    assert_eq!(reason(outcome), HOOK_FAILED_REASON);

    // The call was stopped, not abandoned: the same script answers the
    // next event at once, and so do the others.
    let started = Instant::now();
    assert_eq!(reason(hooks.dispatch(login("alice")).await), "fast alice");
    let created = HookEvent::new(EventKind::UserCreated)
        .with_handle("alice")
        .with_user_dir(&s.user);
    assert_eq!(hooks.dispatch(created).await, HookOutcome::allow());
    assert!(started.elapsed() < limit, "took {:?}", started.elapsed());
    assert_eq!(
        fs::read_to_string(s.user.join("welcome.txt")).unwrap(),
        "hello alice"
    );

    // Logged like any timeout, with the line of the call.
    let (outcome, logs) = capture_logs(|| hooks.dispatch_blocking(login("bomb")));
    assert_eq!(reason(outcome), HOOK_FAILED_REASON);
    assert!(
        logs.contains("a-bomb.lua:5: stopped: hooks ran longer than 300 ms"),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pattern_bombs_on_every_hook_thread_leave_them_free_for_the_next_event() {
    // One pattern bomb per hook thread, each on its own event so no bomb
    // waits for another's script; then an event handled by a healthy
    // script still gets its real answer, at once.
    let s = setup();
    let events = [
        EventKind::LoginFailed,
        EventKind::LoginSucceeded,
        EventKind::PasswordChanged,
        EventKind::BackupCreated,
    ];
    assert!(innkeeper::hooks::HOOK_THREADS <= events.len());
    let bombs = &events[..innkeeper::hooks::HOOK_THREADS];
    for (i, kind) in bombs.iter().enumerate() {
        write(
            &s.scripts,
            &format!("bomb-{i}.lua"),
            &format!(
                "innkeeper.on({:?}, function(ev)\n  string.rep('a', 60000):find('.-.-b')\nend)\n",
                kind.as_str()
            ),
        );
    }
    write(
        &s.scripts,
        "healthy.lua",
        "innkeeper.on('before_user_create', function(ev) return { note = 'ok' } end)\n",
    );
    let hooks = hooks(&s.scripts);
    assert!(hooks.load_errors().is_empty(), "{:?}", hooks.load_errors());
    let create = || {
        HookEvent::new(EventKind::BeforeUserCreate)
            .with_handle("dana")
            .with_field("name", "Dana")
    };

    let started = Instant::now();
    let runs: Vec<_> = bombs
        .iter()
        .map(|kind| {
            let hooks = hooks.clone();
            let event = HookEvent::new(*kind).with_handle("alice");
            tokio::spawn(async move { hooks.dispatch(event).await })
        })
        .collect();
    for run in runs {
        assert_eq!(run.await.unwrap(), HookOutcome::allow());
    }
    let limit = Duration::from_millis(2 * TIMEOUT_MS);
    assert!(started.elapsed() < limit, "took {:?}", started.elapsed());
    tokio::time::sleep(Duration::from_millis(150)).await;
    let started = Instant::now();
    assert_eq!(adjust(hooks.dispatch(create()).await)["note"], json!("ok"));
    assert!(
        started.elapsed() < Duration::from_millis(TIMEOUT_MS),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn the_pattern_cap_is_an_error_with_file_and_line() {
    let s = setup();
    write(
        &s.scripts,
        "cap.lua",
        "innkeeper.on('before_login', function(ev)\n  local s = string.rep('a', 70000)\n  local at = s:find('%d')\n  return true\nend)\n",
    );
    let hooks = hooks(&s.scripts);
    let (outcome, logs) = capture_logs(|| hooks.dispatch_blocking(login("alice")));
    assert_eq!(reason(outcome), HOOK_FAILED_REASON);
    assert!(logs.contains("ERROR"), "{logs}");
    assert!(
        logs.contains("cap.lua:3: string.find: subject is longer than 65536 bytes"),
        "{logs}"
    );
}

#[test]
fn every_pattern_function_caps_subject_and_pattern() {
    let s = setup();
    write(
        &s.scripts,
        "caps.lua",
        r#"
local function try(f)
  local ok, err = pcall(f)
  if ok then return "ok" end
  return (tostring(err):match("(string%.%a+: %a+) is longer")) or tostring(err)
end
innkeeper.on("before_user_create", function(ev)
  local limit = 64 * 1024
  local fits, over = string.rep("a", limit), string.rep("a", limit + 1)
  local long_pattern = string.rep("a", 4097)
  local results = {
    try(function() return fits:find("%d") end),
    try(function() return fits:gsub("a", "b") end),
    try(function() return over:find("%d") end),
    try(function() return string.find(over, "%d") end),
    try(function() return over:match("%d") end),
    try(function() return over:gmatch("%d")() end),
    try(function() return over:gsub("%d", "") end),
    try(function() return ("abc"):find(long_pattern) end),
  }
  return { allow = false, reason = table.concat(results, "|") }
end)
"#,
    );
    let hooks = hooks(&s.scripts);
    let outcome = hooks.dispatch_blocking(
        HookEvent::new(EventKind::BeforeUserCreate)
            .with_handle("dana")
            .with_field("name", "Dana"),
    );
    assert_eq!(
        reason(outcome),
        "ok|ok|string.find: subject|string.find: subject|string.match: subject|\
         string.gmatch: subject|string.gsub: subject|string.find: pattern"
    );
}

/// Copies one of the shipped example scripts into the hooks folder.
fn install_example(scripts: &Path, name: &str) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join("examples")
        .join(name);
    fs::copy(source, scripts.join(name)).unwrap();
}

#[test]
fn example_welcome_files_writes_a_readme() {
    let s = setup();
    install_example(&s.scripts, "welcome-files.lua");
    let hooks = hooks(&s.scripts);
    assert!(hooks.load_errors().is_empty(), "{:?}", hooks.load_errors());
    let created = HookEvent::new(EventKind::UserCreated)
        .with_handle("alice")
        .with_field("name", "Alice")
        .with_field("admin", false)
        .with_user_dir(&s.user);
    assert_eq!(
        hooks.dispatch_blocking(created.clone()),
        HookOutcome::allow()
    );
    let text = fs::read_to_string(s.user.join("README.txt")).unwrap();
    assert!(text.starts_with("Welcome, Alice!"), "{text}");
    // An existing README is left alone.
    fs::write(s.user.join("README.txt"), "mine").unwrap();
    hooks.dispatch_blocking(created);
    assert_eq!(
        fs::read_to_string(s.user.join("README.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn example_deny_handles_refuses_reserved_handles() {
    let s = setup();
    install_example(&s.scripts, "deny-handles.lua");
    let hooks = hooks(&s.scripts);
    let create = |handle: &str| {
        hooks.dispatch_blocking(
            HookEvent::new(EventKind::BeforeUserCreate)
                .with_handle(handle)
                .with_field("name", handle)
                .with_field("admin", false),
        )
    };
    assert!(reason(create("root")).contains("\"root\" is reserved"));
    assert!(reason(create("the-admin-2")).contains("containing \"admin\""));
    assert_eq!(create("flux-the-cat"), HookOutcome::allow());
}

#[test]
fn example_recovery_codes_go_to_a_private_file() {
    let s = setup();
    install_example(&s.scripts, "recovery-codes-to-file.lua");
    let hooks = hooks(&s.scripts);
    let event = HookEvent::new(EventKind::RecoveryRequested)
        .with_handle("alice")
        .with_ip("192.0.2.9")
        .with_field("name", "Alice")
        .with_field("code", "8642");
    assert_eq!(hooks.dispatch_blocking(event), HookOutcome::allow());
    let text = fs::read_to_string(s.scripts.join("private").join("recovery-codes.txt")).unwrap();
    let fields: Vec<&str> = text.trim_end().split("  ").collect();
    assert_eq!(fields[1..], ["alice", "8642", "192.0.2.9"]);
    // 2025-01-31T18:04:05Z
    let stamp = fields[0];
    assert_eq!(stamp.len(), 20, "{stamp}");
    assert!(stamp.starts_with("20") && stamp.ends_with('Z'), "{stamp}");
    assert_eq!(&stamp[10..11], "T");
}

#[test]
fn hooks_can_be_shared_across_tasks() {
    fn send_sync<T: Send + Sync + Clone + 'static>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let s = setup();
    let hooks = hooks(&s.scripts);
    send_sync(&hooks);
    // warp handlers need Send futures.
    let future = hooks.dispatch(login("a"));
    send(&future);
}
