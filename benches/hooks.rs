//! Added latency of a trivial Lua hook on user creation and on login:
//! median and p99 of each, with and without a hook, over the real HTTP
//! server. Cheap scrypt so the hash does not hide the hook. Prints figures.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use serde_json::json;

const ROUNDS: usize = 300;

const TRIVIAL: &str = r#"
innkeeper.on("before_user_create", function(ev) return nil end)
innkeeper.on("user_created", function(ev) end)
innkeeper.on("before_login", function(ev) return nil end)
innkeeper.on("login_succeeded", function(ev) end)
"#;

fn stats(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(v[v.len() / 2]), ms(v[(v.len() * 99) / 100]))
}

async fn measure(with_hook: bool) -> ((f64, f64), (f64, f64)) {
    let dir = tempfile::tempdir().unwrap();
    if with_hook {
        std::fs::create_dir_all(dir.path().join("scripts")).unwrap();
        std::fs::write(dir.path().join("scripts/trivial.lua"), TRIVIAL).unwrap();
    }
    let config = common::test_config(dir.path());
    let s = common::Server::start_in(dir, config).await;
    s.create_user("bench", Some("pw"), false).await;
    let mut admin = s.login("default-user", "").await;
    let mut creates = Vec::with_capacity(ROUNDS);
    for i in 0..ROUNDS {
        let t = Instant::now();
        let (st, _) = admin
            .post(
                "/api/users/create",
                json!({"handle": format!("u{i}"), "name": "U"}),
            )
            .await;
        creates.push(t.elapsed());
        assert_eq!(st, 200);
    }
    let mut logins = Vec::with_capacity(ROUNDS);
    let mut c = s.client();
    c.refresh_token().await;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let a = c
            .send(
                "/api/users/login",
                json!({"handle": "bench", "password": "pw"}),
                &[],
            )
            .await;
        logins.push(t.elapsed());
        assert_eq!(a.status, 200);
        c.refresh_token().await;
    }
    s.stop().await;
    (stats(creates), stats(logins))
}

#[tokio::main]
async fn main() {
    let (c0, l0) = measure(false).await;
    let (c1, l1) = measure(true).await;
    println!("{ROUNDS} requests each, scrypt ln=4 (the hash is not the subject)");
    println!("                    median ms   p99 ms");
    println!("create, no hook      {:>8.3} {:>8.3}", c0.0, c0.1);
    println!("create, trivial hook {:>8.3} {:>8.3}", c1.0, c1.1);
    println!("login, no hook       {:>8.3} {:>8.3}", l0.0, l0.1);
    println!("login, trivial hook  {:>8.3} {:>8.3}", l1.0, l1.1);
    println!(
        "added by the hook: create median {:+.3} ms, p99 {:+.3} ms; login median {:+.3} ms, p99 {:+.3} ms",
        c1.0 - c0.0,
        c1.1 - c0.1,
        l1.0 - l0.0,
        l1.1 - l0.1
    );
}
