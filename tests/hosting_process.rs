//! The hosted processes from outside the server (issue 12): the real
//! `innkeeper` binary killed with SIGKILL leaves no SillyTavern behind once
//! it is started again; a start ends processes an earlier server left by
//! their pid files (and only those); `innkeeper app status|stop|restart`
//! work against a running server; a broken install stops the start with a
//! message that says what to do.

#[path = "common/child.rs"]
mod child;
mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use child::{run, ChildServer, FAST_CONFIG};
use common::sillytavern::{alive, install, wait_gone};

fn hosted_config(dir: &Path) {
    let text = format!(
        "{FAST_CONFIG}app:\n  sillytavern:\n    dir: {}\n",
        install().display()
    );
    std::fs::write(dir.join("config.yaml"), text).unwrap();
}

/// The pid of `handle`'s process as `innkeeper app status` prints it,
/// waiting (bounded) for it to run.
fn running_pid(dir: &Path, handle: &str) -> u32 {
    let end = Instant::now() + Duration::from_secs(90);
    loop {
        let out = run(dir, &["app", "status"]);
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let row: Vec<&str> = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(handle))
            .map(|l| l.split_whitespace().collect())
            .unwrap_or_default();
        if row.get(1) == Some(&"running") {
            // HANDLE STATE SINCE(2 words) PID …
            return row[4].parse().unwrap_or_else(|_| panic!("{text}"));
        }
        assert!(Instant::now() < end, "{handle} never ran:\n{text}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn state_in_status(dir: &Path, handle: &str) -> String {
    let out = run(dir, &["app", "status"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(handle))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("absent")
        .to_string()
}

#[tokio::test]
async fn a_sigkilled_innkeeper_leaves_no_sillytavern_behind_after_its_next_start() {
    let dir = tempfile::tempdir().unwrap();
    hosted_config(dir.path());
    let mut server = ChildServer::start(dir.path()).unwrap();
    assert_eq!(
        child::http_login(&server.base, "default-user", "").await,
        200
    );
    let pid = running_pid(dir.path(), "default-user");
    assert!(alive(pid));
    // The server fixed its own malloc setting (src/allocator.rs); the
    // SillyTavern it runs gets the environment the server started with.
    let environ = |p: u32| {
        String::from_utf8_lossy(&std::fs::read(format!("/proc/{p}/environ")).unwrap()).into_owned()
    };
    assert!(
        environ(server.pid()).contains("glibc.malloc.mmap_threshold="),
        "the server runs with a fixed mmap threshold"
    );
    let node = environ(pid);
    assert!(!node.contains("glibc.malloc.mmap_threshold"), "{node}");
    assert!(!node.contains("INNKEEPER_ORIGINAL"), "{node}");
    server.kill();
    let server = ChildServer::start(dir.path()).unwrap();
    // Gone before the new server listens (by its pid file, or earlier by
    // the watchdog that sees the old server's end of its stdin close).
    assert!(!alive(pid), "the old SillyTavern {pid} outlived the server");
    let st_pids: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&*dir.path().to_string_lossy()))
        })
        .filter(|p| alive(*p) && *p != server.pid())
        .collect();
    assert!(st_pids.is_empty(), "left running: {st_pids:?}");
    server.stop();
}

#[tokio::test]
async fn a_start_ends_what_an_earlier_server_left_by_its_pid_files_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let data = std::path::absolute(dir.path().join("data")).unwrap();
    let spawn = |arg: &Path| {
        Command::new("node")
            .args(["-e", "setInterval(() => {}, 1000)"])
            .arg(arg)
            .stdin(Stdio::null())
            .spawn()
            .expect("node runs")
    };
    // A process started on alice's view root, as the old server did.
    let alice_view = data.join(".app/alice");
    std::fs::create_dir_all(&alice_view).unwrap();
    let mut left = spawn(&alice_view);
    std::fs::write(alice_view.join("innkeeper-app.pid"), left.id().to_string()).unwrap();
    // A pid file whose pid now belongs to some other program.
    let bob_view = data.join(".app/bob");
    std::fs::create_dir_all(&bob_view).unwrap();
    let mut stranger = spawn(Path::new("/elsewhere"));
    std::fs::write(
        bob_view.join("innkeeper-app.pid"),
        stranger.id().to_string(),
    )
    .unwrap();

    let c = common::test_config(dir.path());
    assert_eq!(std::path::absolute(&c.data_root).unwrap(), data);
    let s = common::Server::start_in(dir, c).await;
    let end = Instant::now() + Duration::from_secs(15);
    while left.try_wait().unwrap().is_none() {
        assert!(Instant::now() < end, "the left-behind process still runs");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        stranger.try_wait().unwrap().is_none(),
        "a stranger was killed"
    );
    assert!(!alice_view.join("innkeeper-app.pid").exists());
    let _ = stranger.kill();
    let _ = stranger.wait();
    s.stop().await;
}

#[tokio::test]
async fn the_console_shows_stops_and_restarts_processes() {
    let dir = tempfile::tempdir().unwrap();
    hosted_config(dir.path());
    let out = run(dir.path(), &["app", "status"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("not running"));

    let server = ChildServer::start(dir.path()).unwrap();
    assert_eq!(
        child::http_login(&server.base, "default-user", "").await,
        200
    );
    let pid = running_pid(dir.path(), "default-user");
    let status = String::from_utf8_lossy(&run(dir.path(), &["app", "status"]).stdout).into_owned();
    assert!(status.contains("SillyTavern 1.12.6"), "{status}");
    assert!(status.contains("MiB"), "no memory shown: {status}");

    let out = run(dir.path(), &["app", "stop", "default-user"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Stopped"));
    wait_gone(pid, Duration::from_secs(5)).await;
    assert_eq!(state_in_status(dir.path(), "default-user"), "stopped");

    let out = run(dir.path(), &["app", "restart", "default-user"]);
    assert!(out.status.success(), "{out:?}");
    let new_pid = running_pid(dir.path(), "default-user");
    assert_ne!(new_pid, pid);

    let out = run(dir.path(), &["app", "stop", "../etc"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a valid handle"));
    server.stop();
    wait_gone(new_pid, Duration::from_secs(15)).await;
}

#[test]
fn a_broken_install_stops_the_start_and_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("st");
    std::fs::create_dir_all(&st).unwrap();
    std::fs::write(st.join("server.js"), "").unwrap();
    let config = |extra: &str| {
        std::fs::write(
            dir.path().join("config.yaml"),
            format!("{FAST_CONFIG}app:\n  sillytavern:\n    dir: st\n{extra}"),
        )
        .unwrap();
    };
    config("");
    let out = run(dir.path(), &["serve"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("node_modules") && err.contains("npm ci"),
        "{err}"
    );

    std::fs::create_dir(st.join("node_modules")).unwrap();
    std::fs::write(st.join("package.json"), r#"{"version":"1.12.6"}"#).unwrap();
    config("  node: ./no-such-node\n");
    let out = run(dir.path(), &["serve"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("app.node") && err.contains("Node.js"), "{err}");

    std::fs::write(
        dir.path().join("config.yaml"),
        format!("{FAST_CONFIG}app:\n  sillytavern:\n    dir: missing\n"),
    )
    .unwrap();
    let out = run(dir.path(), &["serve"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a folder"));

    std::fs::write(
        dir.path().join("config.yaml"),
        format!("{FAST_CONFIG}app:\n  idleMinutes: 2\n"),
    )
    .unwrap();
    let out = run(dir.path(), &["serve"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("app.idleMinutes"));
}

#[test]
fn a_sillytavern_beside_the_config_is_pointed_out_at_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("SillyTavern")).unwrap();
    std::fs::write(dir.path().join("SillyTavern/server.js"), "").unwrap();
    std::fs::write(dir.path().join("config.yaml"), FAST_CONFIG).unwrap();
    let server = ChildServer::start(dir.path()).unwrap();
    let out = server.output();
    assert!(out.contains("set app.sillytavern.dir to host it"), "{out}");
    server.stop();
}
