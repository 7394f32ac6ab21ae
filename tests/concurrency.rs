//! 64 clients at once doing conflicting admin actions on a few accounts:
//! create/delete the same handles, promote/demote and enable/disable the
//! same users while they are logged in and busy, change a password while
//! its owner logs in. Afterwards the state is one some serial order of the
//! acknowledged requests gives, every request answered within a bound (no
//! deadlock), revoked sessions stay dead, the in-memory account list agrees
//! with the database, and the database agrees with the folders.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Client, Server};
use innkeeper::accounts::password::{Hasher, Stored};
use serde_json::{json, Value};

const CLIENTS: usize = 64;
const ADMINS: usize = 40;
const OPS_PER_CLIENT: usize = 12;
/// Every request must be answered within this time.
const ANSWER_BOUND: Duration = Duration::from_secs(30);
const CHURN: &[&str] = &["c-0", "c-1", "c-2"];
const FLAGGED: &[&str] = &["f-0", "f-1"];
const PW_USER: &str = "p-0";

/// One acknowledged or failed request with its time interval.
#[derive(Debug, Clone)]
struct Op {
    start: Instant,
    end: Instant,
    kind: &'static str,
    target: String,
    /// For writes: the value it sets (1/0 for flags and existence, k for
    /// passwords).
    value: u64,
    status: u16,
}

/// A client's login and whether it was still meant to be valid.
#[derive(Debug, Clone)]
struct Login {
    handle: String,
    end: Instant,
    cookie: String,
}

fn rng_next(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

async fn timed(c: &mut Client, path: &str, body: Value) -> (Instant, Instant, u16, Value) {
    let start = Instant::now();
    let r = tokio::time::timeout(ANSWER_BOUND, c.post(path, body)).await;
    let end = Instant::now();
    let (status, body) =
        r.unwrap_or_else(|_| panic!("{path} not answered within {ANSWER_BOUND:?}"));
    (start, end, status.as_u16(), body)
}

/// The values some serial order could leave: the effects of every
/// acknowledged write not strictly followed by another acknowledged write.
fn possible_finals(ops: &[Op], kinds: &[&str], target: &str, initial: u64) -> Vec<u64> {
    let writes: Vec<&Op> = ops
        .iter()
        .filter(|o| o.target == target && kinds.contains(&o.kind) && (200..300).contains(&o.status))
        .collect();
    if writes.is_empty() {
        return vec![initial];
    }
    writes
        .iter()
        .filter(|w| !writes.iter().any(|o| o.start > w.end))
        .map(|w| w.value)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conflicting_admin_actions_end_in_a_serial_state() {
    // Each client logs in from its own address, as real ones would: from
    // one address, the failed logins of all of them together would reach
    // the hourly per-address limit (SPEC §6).
    let s = Server::start_with(common::forwarding).await;
    s.create_user("boss", Some("boss-pw"), true).await;
    for h in FLAGGED {
        s.create_user(h, Some("pw"), false).await;
    }
    s.create_user(PW_USER, Some("pw-0"), false).await;
    let ops = Arc::new(Mutex::new(Vec::<Op>::new()));
    let logins = Arc::new(Mutex::new(Vec::<Login>::new()));
    let began = Instant::now();
    let mut tasks = Vec::new();
    let barrier = Arc::new(tokio::sync::Barrier::new(CLIENTS));
    for i in 0..CLIENTS {
        let (base, ops, logins, barrier) =
            (s.base.clone(), ops.clone(), logins.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ ((i as u64 + 1) * 0x1234_5678);
            let mut c = Client::new(&base);
            let address = format!("10.1.{i}.1");
            if i < ADMINS {
                let a = c
                    .send(
                        "/api/users/login",
                        json!({"handle": "boss", "password": "boss-pw"}),
                        &[("X-Forwarded-For", &address)],
                    )
                    .await;
                let (status, body) = (a.status.as_u16(), a.body);
                assert_eq!(status, 200, "{body}");
                barrier.wait().await;
                for n in 0..OPS_PER_CLIENT {
                    let pick = rng_next(&mut seed) % 8;
                    let (kind, path, target, value, body) = match pick {
                        0 | 1 => {
                            let h = CHURN[(rng_next(&mut seed) % 3) as usize];
                            (
                                "create",
                                "/api/users/create",
                                h,
                                1,
                                json!({"handle": h, "name": h}),
                            )
                        }
                        2 => {
                            let h = CHURN[(rng_next(&mut seed) % 3) as usize];
                            (
                                "delete",
                                "/api/users/delete",
                                h,
                                0,
                                json!({"handle": h, "purge": n % 2 == 0}),
                            )
                        }
                        3 | 4 => {
                            let h = FLAGGED[(rng_next(&mut seed) % 2) as usize];
                            if pick == 3 {
                                ("promote", "/api/users/promote", h, 1, json!({"handle": h}))
                            } else {
                                ("demote", "/api/users/demote", h, 0, json!({"handle": h}))
                            }
                        }
                        5 | 6 => {
                            let h = FLAGGED[(rng_next(&mut seed) % 2) as usize];
                            if pick == 5 {
                                ("enable", "/api/users/enable", h, 1, json!({"handle": h}))
                            } else {
                                ("disable", "/api/users/disable", h, 0, json!({"handle": h}))
                            }
                        }
                        _ => {
                            let k = (i * 1000 + n) as u64;
                            (
                                "password",
                                "/api/users/change-password",
                                PW_USER,
                                k,
                                json!({"handle": PW_USER, "newPassword": format!("pw-{k}")}),
                            )
                        }
                    };
                    let (start, end, status, answer) = timed(&mut c, path, body).await;
                    let ok = match kind {
                        "create" => status == 200 || status == 409,
                        "delete" => status == 204,
                        _ => status == 204,
                    };
                    assert!(ok, "{kind} {target}: {status} {answer}");
                    ops.lock().unwrap().push(Op {
                        start,
                        end,
                        kind,
                        target: target.to_string(),
                        value,
                        status,
                    });
                }
            } else {
                // Users: log in (as a flagged user, or the one whose
                // password changes under them), ping, save settings.
                let h = if i % 3 == 0 { PW_USER } else { FLAGGED[i % 2] };
                barrier.wait().await;
                for n in 0..OPS_PER_CLIENT {
                    let pw = if h == PW_USER { "pw-0" } else { "pw" };
                    let mut fresh = Client::new(&base);
                    let a = tokio::time::timeout(
                        ANSWER_BOUND,
                        fresh.send(
                            "/api/users/login",
                            json!({"handle": h, "password": pw}),
                            &[("X-Forwarded-For", &address)],
                        ),
                    )
                    .await
                    .expect("login answered in time");
                    let end = Instant::now();
                    assert!(
                        matches!(a.status.as_u16(), 200 | 403 | 429),
                        "login {h}: {} {}",
                        a.status,
                        a.body
                    );
                    if a.status == 200 {
                        let cookie = a.session_cookie().expect("cookie");
                        logins.lock().unwrap().push(Login {
                            handle: h.to_string(),
                            end,
                            cookie,
                        });
                        c = fresh;
                    }
                    let ping = tokio::time::timeout(ANSWER_BOUND, c.get("/api/ping"))
                        .await
                        .expect("ping answered in time");
                    assert!(
                        matches!(ping.status().as_u16(), 204 | 403),
                        "ping {}",
                        ping.status()
                    );
                    let (_, _, status, body) =
                        timed(&mut c, "/api/settings/save", json!({"n": n, "by": i})).await;
                    assert!(matches!(status, 200 | 403), "save {status} {body}");
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("client task");
    }
    let ops = ops.lock().unwrap().clone();
    let logins = logins.lock().unwrap().clone();
    let elapsed = began.elapsed();

    // Final state against every serial order.
    let app = &s.app;
    let rows = app
        .store
        .run(|c| innkeeper::store::users::list(c))
        .await
        .unwrap();
    let row = |h: &str| rows.iter().find(|r| r.handle == h).cloned();
    for h in CHURN {
        let exists = row(h).is_some() as u64;
        let finals = possible_finals(&ops, &["create", "delete"], h, 0);
        // A 409 create is a read; so are creates of existing handles.
        assert!(
            finals.contains(&exists),
            "{h}: exists={exists}, serial orders allow {finals:?}"
        );
    }
    for h in FLAGGED {
        let r = row(h).expect("flagged user kept");
        let admin = possible_finals(&ops, &["promote", "demote"], h, 0);
        assert!(
            admin.contains(&(r.admin as u64)),
            "{h}: admin={}, allowed {admin:?}",
            r.admin
        );
        let enabled = possible_finals(&ops, &["enable", "disable"], h, 1);
        assert!(
            enabled.contains(&(r.enabled as u64)),
            "{h}: enabled={}, allowed {enabled:?}",
            r.enabled
        );
    }
    let stored = row(PW_USER).unwrap().password.expect("a password");
    let allowed = possible_finals(&ops, &["password"], PW_USER, 0);
    let hasher = Hasher::new(4, 8, 1, 1).unwrap();
    let mut matched = false;
    for k in &allowed {
        matched |= hasher
            .verify(&format!("pw-{k}"), Stored::Phc(&stored))
            .await
            .unwrap();
    }
    assert!(
        matched,
        "the password is none of the last writes {allowed:?}"
    );

    // The in-memory list agrees with the database (no lost update). The
    // storm's wrong passwords (password changes racing logins) may have
    // put 127.0.0.1 over the per-IP login limit: let that window pass.
    s.app.clock.advance(61_000);
    let mut admin = s.login("boss", "boss-pw").await;
    let (status, listed) = admin.post("/api/users/get", json!({})).await;
    assert_eq!(status, 200);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), rows.len(), "{listed:?} vs {rows:?}");
    for r in &rows {
        let l = listed
            .iter()
            .find(|u| u["handle"] == r.handle.as_str())
            .expect("listed");
        assert_eq!(l["admin"], r.admin, "{}", r.handle);
        assert_eq!(l["enabled"], r.enabled, "{}", r.handle);
    }

    // Revoked sessions stay dead, re-enabling does not revive them.
    for h in FLAGGED {
        let (st, _) = admin.post("/api/users/enable", json!({"handle": h})).await;
        assert_eq!(st.as_u16(), 204);
    }
    let mut dead = 0;
    for l in &logins {
        let revoked_after = ops.iter().any(|o| {
            o.target == l.handle
                && (o.kind == "disable" || o.kind == "password")
                && o.status == 204
                && o.start > l.end
        });
        if revoked_after {
            let a = common::Replay::new(&s.base, &l.cookie)
                .get("/api/ping")
                .await;
            assert_eq!(
                a.status, 403,
                "a session of {} survived a later disable or password change",
                l.handle
            );
            dead += 1;
        }
    }

    // The database agrees with the folders, and is sound.
    for r in &rows {
        for f in innkeeper::userdata::layout::FOLDERS {
            assert!(s.user_dir(&r.handle).join(f).is_dir(), "{}/{f}", r.handle);
        }
        let text = std::fs::read_to_string(s.user_dir(&r.handle).join("settings.json")).unwrap();
        serde_json::from_str::<Value>(&text).expect("settings.json parses");
    }
    assert_eq!(app.store.integrity_check().unwrap(), "ok");
    println!(
        "concurrency: {CLIENTS} clients, {} admin writes, {} logins ({dead} checked dead after revocation) in {:.1} s",
        ops.len(),
        logins.len(),
        elapsed.as_secs_f64()
    );
    s.stop().await;
}
