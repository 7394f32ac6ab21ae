//! The README's nginx and Caddy snippets (docs/nginx.conf, docs/Caddyfile),
//! run for real in front of a server: login, a session, the client address
//! Innkeeper records, and a streamed backup all pass through.
//! Needs the `nginx` and `caddy` packages (tests/run.sh installs them).
//!
//! The client connects from 127.0.0.2, so the address Innkeeper records
//! can only be the forwarded one, never the proxy's own 127.0.0.1. Each
//! proxy listens on a random high port; when that port turns out to be
//! taken (the proxy exits saying so) another is tried, a few times.

mod common;

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::Server;
use serde_json::json;

/// The proxy process, killed when dropped.
struct Proxy(Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The client's own address: not the proxy's.
const CLIENT_IP: [u8; 4] = [127, 0, 0, 2];

/// Ports tried before giving up.
const PORT_TRIES: usize = 5;

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
    let mut c = common::Client {
        http: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .local_address(std::net::IpAddr::from(CLIENT_IP))
            .build()
            .unwrap(),
        base: url.to_string(),
        token: None,
    };
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
    // The recorded client is the proxy's client, taken from the forwarded
    // headers the snippet sets, not the proxy (127.0.0.1).
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
    assert_eq!(login.ip.as_deref(), Some("127.0.0.2"), "{login:?}");
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

/// What a proxy prints once it listens, and how it says the port is taken.
struct Signs {
    listening: &'static str,
    port_taken: &'static str,
}

/// Starts `program` with the command `setup` builds (from a folder of its
/// own, the port and the upstream address) on a random high port, waiting
/// (bounded) until its log says it listens. When it exits because the
/// port is taken, tries another, up to [`PORT_TRIES`] ports. Everything it
/// prints goes to `output.log` in its folder, and `setup` may point its
/// own log there too.
fn start_proxy(
    program: &str,
    signs: &Signs,
    setup: &impl Fn(&std::path::Path, u16, &str) -> Command,
    root: &std::path::Path,
    upstream: &str,
) -> (Proxy, u16) {
    let mut taken = Vec::new();
    for attempt in 0..PORT_TRIES {
        let port: u16 = rand::random_range(20000..60000);
        let dir = root.join(format!("try-{attempt}"));
        std::fs::create_dir_all(&dir).unwrap();
        let out = std::fs::File::create(dir.join("output.log")).unwrap();
        let child = setup(&dir, port, upstream)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("{program} starts: {e}"));
        let mut proxy = Proxy(child);
        let log = || {
            let mut text = String::new();
            for f in std::fs::read_dir(&dir).unwrap().flatten() {
                if f.file_name().to_string_lossy().ends_with(".log") {
                    text += &std::fs::read_to_string(f.path()).unwrap_or_default();
                }
            }
            text
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if log().contains(signs.listening) {
                return (proxy, port);
            }
            if let Ok(Some(status)) = proxy.0.try_wait() {
                let text = log();
                assert!(
                    text.contains(signs.port_taken),
                    "{program} exited ({status}) on port {port}:\n{text}"
                );
                taken.push(port);
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{program} did not say it listens on port {port} within 20 s:\n{}",
                log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("{program}: every port tried was taken: {taken:?}");
}

/// Starts a server that lets the client's address in, puts `program` in
/// front of it (see [`start_proxy`]), and sends the test traffic through.
async fn through_proxy(
    program: &str,
    signs: Signs,
    setup: impl Fn(&std::path::Path, u16, &str) -> Command,
) {
    require(program);
    let s = Server::start_with(|c| c.whitelist.push("127.0.0.2/32".into())).await;
    let upstream = s.base.trim_start_matches("http://").to_string();
    let dir = tempfile::tempdir().unwrap();
    let (mut proxy, port) = start_proxy(program, &signs, &setup, dir.path(), &upstream);
    let url = format!("http://127.0.0.1:{port}");
    wait_ready(&url, &mut proxy.0).await;
    exercise(&s, &url).await;
    drop(proxy);
    s.stop().await;
}

#[tokio::test]
async fn nginx_snippet_proxies_innkeeper() {
    let signs = Signs {
        listening: "start worker processes",
        port_taken: "Address already in use",
    };
    through_proxy("nginx", signs, |dir, port, upstream| {
        let server = snippet("nginx.conf")
            .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
            .replace("127.0.0.1:8000", upstream);
        let d = dir.display();
        let conf = format!(
            "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log notice;\n\
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
    let signs = Signs {
        listening: "serving initial configuration",
        port_taken: "address already in use",
    };
    through_proxy("caddy", signs, |dir, port, upstream| {
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
