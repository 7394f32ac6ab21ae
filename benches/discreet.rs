//! Discreet login timing (SPEC §6): with `enableDiscreetLogin`, a login for
//! an unknown handle, a disabled one, or a known one whatever its password
//! field holds (a wrong string, missing, null, an array) must take as long
//! as a wrong password for an existing account. Drives a real server over
//! HTTP at the default hash cost, the kinds interleaved round by round, and
//! prints each kind's median and its difference from the wrong-password
//! median. Target: every difference under 5 %. Asserts nothing.
//!
//!   cargo bench --bench discreet [-- TRIES]   (200 tries per kind)

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use innkeeper::app::{Actor, App};
use innkeeper::clock::Clock;
use innkeeper::config;
use innkeeper::console::Console;
use serde_json::{json, Value};

const KINDS: [(&str, &str); 6] = [
    ("existing handle, wrong password", "wrong"),
    ("unknown handle", "unknown"),
    ("disabled handle", "disabled"),
    ("existing handle, no password field", "missing"),
    ("existing handle, password null", "null"),
    ("existing handle, password an array", "array"),
];

fn body(kind: &str) -> Value {
    match kind {
        "wrong" => json!({ "handle": "alice", "password": "not-it" }),
        "unknown" => json!({ "handle": "nobody-here", "password": "not-it" }),
        "disabled" => json!({ "handle": "carol", "password": "not-it" }),
        "missing" => json!({ "handle": "alice" }),
        "null" => json!({ "handle": "alice", "password": null }),
        _ => json!({ "handle": "alice", "password": ["not-it"] }),
    }
}

#[tokio::main]
async fn main() {
    let tries: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200);
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut c, _) = config::parse("").expect("defaults");
    c.data_root = dir.path().join("data");
    c.hooks.dir = dir.path().join("scripts");
    c.enable_discreet_login = true;
    let p = c.password_hash.clone();
    let app = App::open(c, Clock::default(), Console::capturing()).expect("app");
    app.repair(std::time::SystemTime::now()).expect("repair");
    for (handle, pw) in [("alice", "pw-alice"), ("carol", "pw-carol")] {
        app.accounts()
            .create_user(
                &Actor::console(),
                innkeeper::accounts::service::NewUser {
                    handle: handle.into(),
                    name: handle.into(),
                    password: Some(pw.into()),
                    admin: false,
                },
            )
            .await
            .expect("user");
    }
    app.accounts()
        .set_enabled(&Actor::console(), "carol", false)
        .await
        .expect("disable");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let server = app.clone();
    tokio::spawn(innkeeper::serve(server, listener, std::future::pending()));

    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let token: Value = http
        .get(format!("{base}/csrf-token"))
        .send()
        .await
        .expect("csrf")
        .json()
        .await
        .expect("json");
    let token = token["token"].as_str().expect("token").to_string();
    println!(
        "discreet login timing: scrypt ln={} r={} p={}, {tries} tries per kind",
        p.log_n, p.r, p.p
    );
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(tries); KINDS.len()];
    let mut answers: Vec<Option<(u16, String)>> = vec![None; KINDS.len()];
    for _ in 0..tries {
        for (k, (_, kind)) in KINDS.iter().enumerate() {
            forget_limits(&app);
            let start = Instant::now();
            let resp = http
                .post(format!("{base}/api/users/login"))
                .header("X-CSRF-Token", &token)
                .json(&body(kind))
                .send()
                .await
                .expect("login");
            let status = resp.status().as_u16();
            let text = resp.text().await.expect("body");
            times[k].push(start.elapsed().as_secs_f64() * 1000.0);
            answers[k].get_or_insert((status, text));
        }
    }
    let reference = median(&mut times[0]);
    println!("| Kind | Answer | Median ms | Difference from a wrong password |");
    println!("|---|---|---:|---:|");
    let mut worst: f64 = 0.0;
    for (k, (label, _)) in KINDS.iter().enumerate() {
        let m = median(&mut times[k]);
        let diff = (m - reference) / reference * 100.0;
        worst = worst.max(diff.abs());
        let (status, text) = answers[k].clone().unwrap_or_default();
        println!("| {label} | {status} {text} | {m:.1} | {diff:+.1} % |");
    }
    println!(
        "largest difference: {worst:.1} % (target < 5 %): {}",
        if worst < 5.0 { "PASS" } else { "MISS" }
    );
}

/// Every try starts with clean limits: the figure is the answer's time,
/// not a 429's.
fn forget_limits(app: &Arc<App>) {
    let ip: IpAddr = "127.0.0.1".parse().expect("ip");
    app.limits.login_ip.clear(&ip);
    app.limits.login_ip_hour.clear(&ip);
    for h in ["alice", "carol", "nobody-here"] {
        app.limits.login_account.clear(&h.to_string());
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}
