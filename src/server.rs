//! The accept loop. Our own (rather than warp's) so every connection gets
//! a header-read timeout (slow-loris clients are dropped), the number of
//! open connections is capped (per client address and in total, below the
//! file-descriptor limit, so a flood of idle sockets from one client cannot
//! make the server unreachable), the peer address reaches the routes, and
//! shutdown drains requests in flight for a bounded time. The loop itself
//! never waits on the database: housekeeping runs in its own task.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tower_service::Service;

use crate::app::App;

/// The connection's peer address, handed to the routes.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// A client must send its request headers within this time.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Requests in flight get this long to finish at shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves HTTP/1.1 on one connection, plain or TLS, watched for shutdown.
async fn serve_connection<S, H>(
    io: S,
    handler: H,
    watcher: hyper_util::server::graceful::Watcher,
) -> Result<(), String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    H: hyper::service::HttpService<hyper::body::Incoming> + Send + 'static,
    H::Future: Send + 'static,
    H::ResBody: Send + 'static,
    <H::ResBody as hyper::body::Body>::Data: Send,
    <H::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    H::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(io), handler);
    watcher.watch(conn).await.map_err(|e| e.to_string())
}

/// Open connections, per client address and in total.
pub struct Connections {
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    max_total: usize,
    max_per_ip: usize,
    total: std::sync::atomic::AtomicUsize,
}

/// Held while a connection is open; dropping it frees its place.
pub struct Slot {
    conns: Arc<Connections>,
    ip: IpAddr,
}

impl Connections {
    /// Caps from the process's file-descriptor limit: every proxied request
    /// holds two descriptors (client and upstream), and some stay for the
    /// database, logs and the processes' pipes.
    pub fn new(max_per_ip: usize) -> Arc<Connections> {
        let fds = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .map(|(soft, _)| soft)
            .unwrap_or(1024);
        let max_total = (fds.saturating_sub(128) / 2).clamp(64, 16_384) as usize;
        Arc::new(Connections {
            per_ip: Mutex::new(HashMap::new()),
            max_total,
            max_per_ip: max_per_ip.min(max_total),
            total: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// A place for a new connection from `ip`, or None when either cap is
    /// reached (the connection is then closed at once).
    pub fn admit(self: &Arc<Self>, ip: IpAddr, capped: bool) -> Option<Slot> {
        use std::sync::atomic::Ordering;
        let mut per_ip = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        if self.total.load(Ordering::Relaxed) >= self.max_total {
            return None;
        }
        let n = per_ip.entry(ip).or_insert(0);
        if capped && *n >= self.max_per_ip {
            return None;
        }
        *n += 1;
        self.total.fetch_add(1, Ordering::Relaxed);
        Some(Slot {
            conns: self.clone(),
            ip,
        })
    }

    pub fn max_total(&self) -> usize {
        self.max_total
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering;
        let mut per_ip = self.conns.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                per_ip.remove(&self.ip);
            }
        }
        self.conns.total.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Raises the soft limit on open files to the hard one (bounded), so the
/// connection caps are generous where the system allows.
pub fn raise_fd_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let want = hard.min(65_536);
        if want > soft {
            if let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, want, hard) {
                tracing::debug!("cannot raise the open-file limit: {e}");
            }
        }
    }
}

/// Once a second, off the accept loop: ends idle sessions and picks up
/// changes console commands made to the database. Started once per app;
/// ends when the app is gone.
fn start_housekeeping(app: &Arc<App>) {
    if app
        .housekeeping
        .swap(true, std::sync::atomic::Ordering::AcqRel)
    {
        return;
    }
    let weak: Weak<App> = Arc::downgrade(app);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut data_version = None;
        let mut ticks: u64 = 0;
        loop {
            tick.tick().await;
            let Some(app) = weak.upgrade() else { return };
            // Hourly: generation counts past what the usage chart shows.
            if ticks.is_multiple_of(3600) {
                app.prune_usage().await;
            }
            ticks += 1;
            if let Err(e) = app.sessions.sweep().await {
                tracing::warn!("session sweep failed: {e}");
            }
            app.flush_refusals().await;
            app.two_factor.sweep(app.clock.now_ms());
            // Console commands may have changed accounts meanwhile.
            let now = app.store.data_version().await.ok();
            if data_version.is_some() && now != data_version {
                if let Err(e) = app.resync().await {
                    tracing::warn!("session resync failed: {e}");
                }
            }
            data_version = now;
        }
    });
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains.
pub async fn serve(app: Arc<App>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
    let service = warp::service(crate::http::routes(app.clone()));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    start_housekeeping(&app);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of file descriptors and the like: wait, don't spin.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let ip = crate::app::canonical_ip(peer.ip());
                // A trusted proxy carries many clients: only the total cap
                // applies to it.
                let Some(place) = app.connections.admit(ip, !app.is_trusted_proxy(ip)) else {
                    tracing::debug!("refused a connection from {ip}: too many open");
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let svc = service.clone();
                let handler = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(Peer(peer));
                    let mut svc = svc.clone();
                    async move { svc.call(req).await }
                });
                let watcher = graceful.watcher();
                let tls = app.tls.clone();
                tokio::spawn(async move {
                    // Held for the connection's life.
                    let _place = place;
                    let result = match tls {
                        None => serve_connection(stream, handler, watcher).await,
                        Some(acceptor) => {
                            // The handshake gets the same deadline as the headers.
                            match tokio::time::timeout(HEADER_TIMEOUT, acceptor.accept(stream)).await {
                                Ok(Ok(tls_stream)) => serve_connection(tls_stream, handler, watcher).await,
                                Ok(Err(e)) => Err(format!("TLS handshake failed: {e}")),
                                Err(_) => Err("TLS handshake timed out".into()),
                            }
                        }
                    };
                    if let Err(e) = result {
                        tracing::debug!("connection from {peer} ended: {e}");
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(DRAIN_TIMEOUT) => {
            tracing::warn!("some requests were still running at shutdown");
        }
    }
}
