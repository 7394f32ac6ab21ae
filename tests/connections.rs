//! Connections (issue 13, point 6): ~1,000 idle sockets from one client
//! cannot make the server unreachable (a cap per client address and one in
//! total below the descriptor limit), and the accept loop never waits on
//! the database (housekeeping runs in its own task).

mod common;

use std::time::{Duration, Instant};

use common::Server;
use innkeeper::app::MAX_CONNECTIONS_PER_IP;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpSocket, TcpStream};

async fn healthz(base: &str) -> Duration {
    let t = Instant::now();
    let resp = tokio::time::timeout(
        Duration::from_secs(5),
        reqwest::Client::new().get(format!("{base}/healthz")).send(),
    )
    .await
    .expect("the server did not answer within 5 s")
    .expect("healthz");
    assert_eq!(resp.status(), 200);
    t.elapsed()
}

#[tokio::test]
async fn idle_sockets_from_one_client_cannot_lock_others_out() {
    // 127.0.0.2 is loopback but not a trusted proxy: it is held to the
    // per-address cap.
    let s = Server::start_with(|c| c.whitelist.push("127.0.0.2".into())).await;
    let addr: std::net::SocketAddr = s.base.trim_start_matches("http://").parse().unwrap();
    let flood = MAX_CONNECTIONS_PER_IP + 150;
    let mut sockets: Vec<TcpStream> = Vec::new();
    for _ in 0..flood {
        let sock = TcpSocket::new_v4().unwrap();
        sock.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        sockets.push(sock.connect(addr).await.expect("connect"));
    }
    // Everyone else still gets in at once.
    assert!(healthz(&s.base).await < Duration::from_secs(2));
    // The sockets past the cap were closed by the server; the others wait.
    let mut closed = 0;
    for sock in sockets.iter_mut() {
        let mut b = [0u8; 1];
        if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(20), sock.read(&mut b)).await
        {
            closed += 1;
        }
    }
    assert_eq!(
        closed,
        flood - MAX_CONNECTIONS_PER_IP,
        "closed {closed} of {flood}"
    );
    // Freed places are given again.
    sockets.clear();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let mut again = sock.connect(addr).await.unwrap();
    use tokio::io::AsyncWriteExt;
    again
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(5), again.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    s.stop().await;
}

#[tokio::test]
async fn a_busy_database_does_not_stop_the_server_from_accepting() {
    let s = Server::start().await;
    // Let the housekeeping tick run once, then hold the database for 4 s.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let store = s.app.store.clone();
    let held = tokio::spawn(async move {
        store
            .run(|_| {
                std::thread::sleep(Duration::from_secs(4));
                Ok(())
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // The housekeeping tick is now stuck on the database; new connections
    // are accepted and answered anyway.
    for _ in 0..3 {
        let took = healthz(&s.base).await;
        assert!(took < Duration::from_millis(800), "healthz took {took:?}");
    }
    held.await.unwrap().unwrap();
    s.stop().await;
}
