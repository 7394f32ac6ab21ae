//! The README's nginx and Caddy snippets (docs/nginx.conf, docs/Caddyfile),
//! run for real in front of a server: login, a session, the client address
//! Innkeeper records, and a streamed backup all pass through.
//! Needs the `nginx` and `caddy` packages (tests/run.sh installs them).

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Server;
use serde_json::json;

struct Proxy(Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn require(program: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "{program} is not installed: run tests/run.sh, which installs it"
    );
}

/// Waits (bounded) until the proxy answers /healthz with 200.
async fn wait_ready(url: &str, proxy: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = reqwest::get(format!("{url}/healthz")).await {
            if r.status() == 200 {
                return;
            }
        }
        if let Ok(Some(status)) = proxy.try_wait() {
            panic!("proxy exited: {status}");
        }
        assert!(Instant::now() < deadline, "proxy did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn exercise(s: &Server, url: &str) {
    s.create_user("hana", Some("pw"), false).await;
    std::fs::write(
        s.user_dir("hana").join("chats/big.bin"),
        vec![7u8; 3_000_000],
    )
    .unwrap();
    let mut c = common::Client::new(url);
    let (status, body) = c
        .post(
            "/api/users/login",
            json!({"handle": "hana", "password": "pw"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let me: serde_json::Value = c.get("/api/users/me").await.json().await.unwrap();
    assert_eq!(me["handle"], "hana");
    let resp = c
        .post_raw("/api/users/backup", json!({"handle": "hana"}))
        .await;
    assert_eq!(resp.status(), 200);
    let bytes = resp.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    assert_eq!(zip.by_name("chats/big.bin").unwrap().size(), 3_000_000);
    // The recorded client is the proxy's client (127.0.0.1 here), taken from
    // the forwarded headers the snippet sets.
    let entries = s
        .app
        .store
        .run(|c| innkeeper::store::audit::list(c, None, 20))
        .await
        .unwrap();
    let login = entries
        .iter()
        .find(|e| e.action == "login.success")
        .expect("login audited");
    assert_eq!(login.ip.as_deref(), Some("127.0.0.1"));
}

/// The snippet from docs/ as shipped.
fn snippet(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs")
            .join(name),
    )
    .expect("snippet")
}

/// Starts a server, runs `program` in front of it with the command
/// `setup` builds (from a temp dir, the proxy's port and the upstream
/// address), and sends the test traffic through it.
async fn through_proxy(program: &str, setup: impl FnOnce(&std::path::Path, u16, &str) -> Command) {
    require(program);
    let s = Server::start().await;
    let upstream = s.base.trim_start_matches("http://").to_string();
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let child = setup(dir.path(), port, &upstream)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} starts: {e}"));
    let mut proxy = Proxy(child);
    let url = format!("http://127.0.0.1:{port}");
    wait_ready(&url, &mut proxy.0).await;
    exercise(&s, &url).await;
    drop(proxy);
    s.stop().await;
}

#[tokio::test]
async fn nginx_snippet_proxies_innkeeper() {
    through_proxy("nginx", |dir, port, upstream| {
        let server = snippet("nginx.conf")
            .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
            .replace("127.0.0.1:8000", upstream);
        let d = dir.display();
        let conf = format!(
            "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{}}\nhttp {{\naccess_log off;\nclient_body_temp_path {d}/body;\nproxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fcgi;\nuwsgi_temp_path {d}/uwsgi;\nscgi_temp_path {d}/scgi;\n{server}\n}}\n"
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let mut cmd = Command::new("nginx");
        cmd.args(["-p", &d.to_string(), "-c", &format!("{d}/nginx.conf")]);
        cmd
    })
    .await;
}

#[tokio::test]
async fn caddy_snippet_proxies_innkeeper() {
    through_proxy("caddy", |dir, port, upstream| {
        let site = snippet("Caddyfile")
            .replace("tavern.example.org", &format!("http://127.0.0.1:{port}"))
            .replace("127.0.0.1:8000", upstream);
        let file = dir.join("Caddyfile");
        std::fs::write(
            &file,
            format!("{{\n\tadmin off\n\tauto_https off\n}}\n{site}"),
        )
        .unwrap();
        let mut cmd = Command::new("caddy");
        cmd.args([
            "run",
            "--config",
            &file.display().to_string(),
            "--adapter",
            "caddyfile",
        ])
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir)
        .env("XDG_CONFIG_HOME", dir);
        cmd
    })
    .await;
}
