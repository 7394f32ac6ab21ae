//! The `innkeeper` binary as an admin uses it: first start, config errors,
//! console recovery and user commands on a real data root, start refusal,
//! graceful stop.

#[path = "common/child.rs"]
mod child;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use child::{http_login as login, run, ChildServer};

/// Cheap hashes so console commands run fast.
const FAST_HASH: &str = "passwordHash:\n  logN: 4\n  r: 8\n  p: 1\n";

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Starts the server (bounded wait for its URL line): the process and its
/// base URL without the trailing slash.
fn start(dir: &Path, args: &[&str]) -> (ChildServer, String) {
    let server = ChildServer::start_with(dir, args).expect("server starts");
    let base = server.base.clone();
    (server, base)
}

fn stop(server: ChildServer) -> std::process::ExitStatus {
    server.stop().expect("server stopped on SIGTERM")
}

/// Started with `--port 0` so nothing else listening on 8000 can fail it:
/// the override is for this run only, so the config.yaml written is the
/// embedded one, port 8000 included, and the URL is on loopback.
#[tokio::test]
async fn first_start_in_an_empty_folder_uses_the_embedded_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let began = Instant::now();
    let (child, url) = start(dir.path(), &["--port", "0"]);
    let port = url
        .strip_prefix("http://127.0.0.1:")
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or_else(|| panic!("not a loopback URL with a port: {url}"));
    assert_ne!(port, 0, "{url}");
    let written = std::fs::read_to_string(dir.path().join("config.yaml")).unwrap();
    assert_eq!(
        written,
        innkeeper::config::DEFAULT_CONFIG_TEXT,
        "the embedded config, untouched by the override"
    );
    assert!(written.lines().any(|l| l == "port: 8000"), "{written}");
    let (config, _) = innkeeper::config::parse(&written).unwrap();
    assert_eq!(config.port, 8000);
    let resp = reqwest::get(format!("{url}/healthz")).await.unwrap();
    let took = began.elapsed();
    assert_eq!(resp.status(), 200);
    // Generous for a debug build on a busy machine; the release figure is in BENCHMARKS.md.
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(dir.path().join("data/innkeeper.db").is_file());
    for folder in innkeeper::userdata::layout::FOLDERS {
        assert!(
            dir.path().join("data/default-user").join(folder).is_dir(),
            "{folder}"
        );
    }
    // On loopback an admin without a password is a warning (SPEC §9): the
    // normal first start prints no error.
    let out = child.output();
    assert!(
        out.lines()
            .any(|l| l.contains("WARN")
                && l.contains("admin account 'default-user' has no password")),
        "{out}"
    );
    assert!(!out.contains("ERROR"), "{out}");
    assert!(stop(child).success(), "SIGTERM exits 0");
}

#[test]
fn config_errors_name_key_and_line_and_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.yaml"),
        "listen: false\nport: lots\n",
    )
    .unwrap();
    let out = run(dir.path(), &["user", "list"]);
    assert!(!out.status.success());
    let t = text(&out);
    assert!(t.contains("port") && t.contains("line 2"), "{t}");

    std::fs::write(
        dir.path().join("config.yaml"),
        "recovery:\n  codeDigits: 99\n",
    )
    .unwrap();
    let out = run(dir.path(), &["user", "list"]);
    assert!(!out.status.success());
    let t = text(&out);
    assert!(
        t.contains("recovery.codeDigits") && t.contains("line 2"),
        "{t}"
    );
}

#[test]
fn unknown_keys_warn_and_sillytavern_keys_are_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!("{FAST_HASH}autorun: true\nrequestProxy:\n  enabled: false\nextras:\n  x: 1\nopenai:\n  y: 2\nmystery: 1\n");
    std::fs::write(dir.path().join("config.yaml"), cfg).unwrap();
    let out = run(dir.path(), &["user", "list"]);
    assert!(out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown config key 'mystery'"), "{err}");
    for quiet in ["autorun", "requestProxy", "extras", "openai"] {
        assert!(!err.contains(&format!("'{quiet}")), "{quiet} warned: {err}");
    }
}

#[test]
fn user_commands_manage_accounts_with_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.yaml"), FAST_HASH).unwrap();
    let ok = |args: &[&str]| {
        let o = run(dir.path(), args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        text(&o)
    };
    assert!(ok(&["user", "create", "Hello World!", "--password", "pw"]).contains("'hello-world'"));
    assert!(dir.path().join("data/hello-world/settings.json").is_file());
    ok(&["user", "promote", "hello-world"]);
    ok(&["user", "disable", "hello-world"]);
    let list = ok(&["user", "list"]);
    let row = list
        .lines()
        .find(|l| l.starts_with("hello-world"))
        .expect("listed");
    let flags: Vec<_> = row.split_whitespace().rev().take(3).collect();
    assert_eq!(flags, ["yes", "no", "yes"], "{row}");
    ok(&["user", "enable", "hello-world"]);
    ok(&["user", "demote", "hello-world"]);

    let dup = run(dir.path(), &["user", "create", "hello-world"]);
    assert!(!dup.status.success());
    assert!(text(&dup).contains("User already exists"), "{}", text(&dup));
    let missing = run(dir.path(), &["user", "enable", "nobody"]);
    assert!(!missing.status.success());
    assert!(text(&missing).contains("User not found"));
    let default = run(dir.path(), &["user", "delete", "default-user"]);
    assert!(!default.status.success());
    assert!(text(&default).contains("cannot be deleted"));

    ok(&["user", "delete", "hello-world"]);
    assert!(dir.path().join("data/hello-world").is_dir(), "folder kept");
    ok(&["user", "create", "hello-world"]);
    ok(&["user", "delete", "hello-world", "--purge"]);
    assert!(
        !dir.path().join("data/hello-world").exists(),
        "folder purged"
    );
}

#[tokio::test]
async fn recover_sets_password_while_stopped_and_while_running() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.yaml"),
        format!("{FAST_HASH}port: 0\n"),
    )
    .unwrap();
    let o = run(dir.path(), &["user", "create", "bob", "--password", "old"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(run(dir.path(), &["user", "disable", "bob"])
        .status
        .success());
    // While stopped: sets the password and re-enables.
    let o = run(dir.path(), &["recover", "bob", "first"]);
    assert!(o.status.success(), "{}", text(&o));

    let (child, url) = start(dir.path(), &[]);
    assert_eq!(login(&url, "bob", "first").await, 200);
    // While running.
    let o = run(dir.path(), &["recover", "bob", "second"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(login(&url, "bob", "first").await, 403);
    assert_eq!(login(&url, "bob", "second").await, 200);
    // Without a password: cleared.
    assert!(run(dir.path(), &["recover", "bob"]).status.success());
    assert_eq!(login(&url, "bob", "anything").await, 200);
    let o = run(dir.path(), &["recover", "nobody", "x"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("User not found"));
    assert!(stop(child).success());
}

#[tokio::test]
async fn listening_beyond_loopback_is_refused_in_an_unsafe_setup() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.yaml"),
        format!("{FAST_HASH}port: 0\n"),
    )
    .unwrap();
    // default-user is an admin without a password.
    let o = run(dir.path(), &["serve", "--listen"]);
    assert!(!o.status.success());
    let t = text(&o);
    assert!(t.contains("innkeeper recover default-user"), "{t}");

    std::fs::write(
        dir.path().join("config.yaml"),
        format!("{FAST_HASH}port: 0\nwhitelistMode: false\nenableUserAccounts: false\n"),
    )
    .unwrap();
    let o = run(dir.path(), &["--listen"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("no whitelist, no basic auth and no user accounts"));

    // With a password on the admin, the same start goes ahead.
    std::fs::write(
        dir.path().join("config.yaml"),
        format!("{FAST_HASH}port: 0\n"),
    )
    .unwrap();
    assert!(run(dir.path(), &["recover", "default-user", "pw"])
        .status
        .success());
    let (child, url) = start(dir.path(), &["--listen"]);
    let port = url.rsplit(':').next().unwrap();
    let resp = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(stop(child).success());
}

#[tokio::test]
async fn recover_also_removes_two_factor_login_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.yaml"),
        format!("{FAST_HASH}port: 0\n"),
    )
    .unwrap();
    let o = run(dir.path(), &["user", "create", "bob", "--password", "old"]);
    assert!(o.status.success(), "{}", text(&o));
    let db = dir.path().join("data").join("innkeeper.db");
    let rows = |sql: &str| -> i64 {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.query_row(sql, [], |r| r.get(0)).unwrap()
    };
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute(
            "INSERT INTO two_factor (handle, secret, enabled, created) VALUES ('bob', 'v1:x', 1, 0)",
            [],
        )
        .unwrap();
        c.execute(
            "INSERT INTO recovery_codes (handle, code_hash) VALUES ('bob', 'h')",
            [],
        )
        .unwrap();
    }
    let o = run(dir.path(), &["recover", "bob", "new"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("Two-factor login of 'bob' removed"),
        "{}",
        text(&o)
    );
    assert_eq!(rows("SELECT COUNT(*) FROM two_factor"), 0);
    assert_eq!(rows("SELECT COUNT(*) FROM recovery_codes"), 0);
    assert_eq!(
        rows("SELECT COUNT(*) FROM audit WHERE action = '2fa.remove' AND target = 'bob'"),
        1
    );
    // Nothing to remove the second time: nothing said about it.
    let o = run(dir.path(), &["recover", "bob", "new"]);
    assert!(o.status.success());
    assert!(!text(&o).contains("Two-factor"), "{}", text(&o));
}

/// `innkeeper profile`: profiles made, shown, assigned and deleted from the
/// console land in the database the server reads, with clear errors.
#[tokio::test]
async fn profiles_are_managed_from_the_console() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.yaml"),
        format!("{FAST_HASH}port: 0\n"),
    )
    .unwrap();
    let ok = |args: &[&str]| {
        let o = run(dir.path(), args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        text(&o)
    };
    ok(&["user", "create", "kid", "--password", "pw"]);
    let list = ok(&["profile", "list"]);
    for name in ["admin", "member*", "guest"] {
        assert!(list.contains(name), "{list}");
    }
    let saved = ok(&[
        "profile",
        "save",
        "kids",
        "--allow",
        "generate,plugins",
        "--per-hour",
        "5",
        "--at-once",
        "1",
    ]);
    assert!(
        saved.contains("kids") && saved.contains("plugins,generate"),
        "{saved}"
    );
    ok(&["profile", "assign", "kid", "kids"]);
    let shown = ok(&["profile", "show", "kids"]);
    assert!(shown.contains("accounts: kid"), "{shown}");
    assert!(shown.contains("no   secrets.own"), "{shown}");
    let db = dir.path().join("data").join("innkeeper.db");
    let c = rusqlite::Connection::open(&db).unwrap();
    let (profile, per_hour): (String, Option<i64>) = c
        .query_row(
            "SELECT u.profile, p.per_hour FROM user_permissions u JOIN profiles p ON p.name = u.profile WHERE u.handle = 'kid'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((profile.as_str(), per_hour), ("kids", Some(5)));

    for (args, says) in [
        (&["profile", "save", "Kids!"][..], "not a profile name"),
        (
            &["profile", "save", "x", "--allow", "fly"][..],
            "'fly' is not a permission",
        ),
        (&["profile", "delete", "guest"][..], "built in"),
        (&["profile", "delete", "member"][..], "default profile"),
        (
            &["profile", "assign", "kid", "nope"][..],
            "No profile 'nope'",
        ),
        (
            &["profile", "assign", "nobody", "kids"][..],
            "User not found",
        ),
        (&["profile", "show", "nope"][..], "no profile 'nope'"),
    ] {
        let o = run(dir.path(), args);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(text(&o).contains(says), "{args:?}: {}", text(&o));
    }
    ok(&["profile", "delete", "kids"]);
    let shown = ok(&["profile", "show", "member"]);
    assert!(
        shown.contains("accounts: kid"),
        "back to the default: {shown}"
    );
    let audited: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE action IN ('profile.create', 'user.permissions', 'profile.delete')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited, 3);
}
