//! Password hashing figures at the configured defaults: hashes per second
//! on one core and with the default concurrency, and the peak memory of 8
//! hashes at once. Prints figures; asserts nothing.

use std::time::Instant;

use innkeeper::accounts::password::Hasher;
use innkeeper::config;

mod support;
use support::vm_hwm_kib;

fn main() {
    let (c, _) = config::parse("").expect("defaults");
    let p = &c.password_hash;
    let hasher = Hasher::new(p.log_n, p.r, p.p, 64).expect("hasher");
    println!(
        "scrypt ln={} r={} p={} ({} MiB per hash)",
        p.log_n,
        p.r,
        p.p,
        (128u64 << p.log_n) * p.r as u64 / (1024 * 1024)
    );

    let n = 8;
    let start = Instant::now();
    for i in 0..n {
        hasher.hash_blocking(&format!("password{i}")).expect("hash");
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "one thread: {:.2} hashes/s ({:.0} ms each)",
        n as f64 / secs,
        secs * 1000.0 / n as f64
    );

    let threads = c.hash_concurrency();
    let per = 4;
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let h = hasher.clone();
            s.spawn(move || {
                for i in 0..per {
                    h.hash_blocking(&format!("pw{t}-{i}")).expect("hash");
                }
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    println!(
        "default concurrency ({threads}): {:.2} hashes/s",
        (threads * per) as f64 / secs
    );

    let before = vm_hwm_kib();
    std::thread::scope(|s| {
        for t in 0..8 {
            let h = hasher.clone();
            s.spawn(move || h.hash_blocking(&format!("peak{t}")).expect("hash"));
        }
    });
    let after = vm_hwm_kib();
    println!(
        "8 concurrent hashes: peak RSS {:.1} MiB (process peak before {:.1} MiB)",
        after as f64 / 1024.0,
        before as f64 / 1024.0
    );
}
