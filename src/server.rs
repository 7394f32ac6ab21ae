//! The accept loop. Our own (rather than warp's) so every connection gets
//! a header-read timeout (slow-loris clients are dropped), the number of
//! open connections is capped (per client address and in total, below the
//! file-descriptor limit, so a flood of idle sockets from one client cannot
//! make the server unreachable), the peer address reaches the routes, and
//! shutdown drains requests in flight for a bounded time. The loop itself
//! never waits on the database: housekeeping runs in its own task.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Weak};
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tower_service::Service;

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::app::{Actor, App};
use crate::config::{Config, Stack};
use crate::fields;
use crate::hooks::EventKind;
use crate::http::Peer;
use crate::import::{self, ImportOptions};

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
                app.permissions().prune_usage().await;
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

/// Runs the server for `config` until Ctrl-C or SIGTERM: takes the data
/// root's lock, imports a SillyTavern root met for the first time, refuses
/// an unsafe setup, attaches the hosted app, listens on every configured
/// stack, prints the URL line, and at the end drains and stops the
/// processes. Errors are the message the console prints.
pub async fn run(config: Config) -> Result<(), String> {
    let started = std::time::SystemTime::now();
    crate::server::raise_fd_limit();
    // Held until the server exits: a restore (or a second server) on this
    // data root is refused meanwhile.
    std::fs::create_dir_all(&config.data_root).map_err(|e| {
        format!(
            "cannot create the data root {}: {e}",
            config.data_root.display()
        )
    })?;
    let _root_lock = crate::userdata::root_lock::acquire(&config.data_root)
        .map_err(|e| format!("cannot start: {e}"))?;
    // A SillyTavern root started for the first time: take its accounts in
    // before anything checks them (the safety check needs their passwords).
    let auto_import = import::should_auto_import(&config.data_root);
    let app = App::open(
        config,
        crate::clock::Clock::default(),
        crate::console::Console::default(),
    )
    .map_err(|e| e.to_string())?;
    if auto_import {
        let opts = ImportOptions {
            source: app.data_root.clone(),
            dry_run: false,
            overwrite: false,
            progress: true,
        };
        app.console.line(
            "Found a SillyTavern data root without an Innkeeper database: importing it first.",
        );
        let report = import::import_into(&app, &opts).await.map_err(|e| {
            format!(
                "the automatic SillyTavern import failed: {e}\n(fix the cause, then run `innkeeper import-sillytavern {}`)",
                app.data_root.display()
            )
        })?;
        for line in report.to_string().lines() {
            app.console.line(line);
        }
    }
    let verdict = crate::safety::check(&app)
        .await
        .map_err(|e| e.to_string())?;
    for w in &verdict.loud {
        tracing::error!("{w}");
    }
    for w in &verdict.warnings {
        tracing::warn!("{w}");
    }
    if !verdict.refusals.is_empty() {
        let mut msg = String::from("refusing to listen on all interfaces in an unsafe setup:");
        for r in &verdict.refusals {
            msg.push_str(&format!("\n  - {r}"));
        }
        msg.push_str("\n(set securityOverride: true in config.yaml to start anyway)");
        return Err(msg);
    }
    // Processes an earlier, killed Innkeeper left end first; then the
    // hosted app's install is checked, so a broken one stops the start.
    crate::hosting::attach(&app)
        .await
        .map_err(|e| e.to_string())?;
    let c = &app.config;
    let v4 = IpAddr::V4(if c.listen {
        Ipv4Addr::UNSPECIFIED
    } else {
        Ipv4Addr::LOCALHOST
    });
    let v6 = IpAddr::V6(if c.listen {
        Ipv6Addr::UNSPECIFIED
    } else {
        Ipv6Addr::LOCALHOST
    });
    let mut listeners = Vec::new();
    for (stack, ip) in [(c.protocol.ipv4, v4), (c.protocol.ipv6, v6)] {
        if !stack.wanted() {
            continue;
        }
        // A second stack shares the first one's port (useful with port 0).
        let port = listeners
            .first()
            .and_then(|l: &tokio::net::TcpListener| l.local_addr().ok())
            .map_or(c.port, |a| a.port());
        let addr = SocketAddr::new(ip, port);
        match bind(addr) {
            Ok(listener) => listeners.push(listener),
            Err(e) if stack == Stack::Auto => {
                tracing::info!("not listening on {addr} (protocol set to auto): {e}")
            }
            Err(e) => return Err(format!("cannot listen on {addr}: {e}")),
        }
    }
    let first = listeners
        .first()
        .and_then(|l| l.local_addr().ok())
        .ok_or("no address to listen on")?;
    let shown = match first.ip() {
        IpAddr::V4(v) if v.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), first.port())
        }
        IpAddr::V6(v) if v.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), first.port())
        }
        _ => first,
    };
    let scheme = if app.tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{shown}/");
    let stop_signal = shutdown_signal();
    let (stop_tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let mut tasks = Vec::new();
    for listener in listeners {
        let mut stop = stop_tx.subscribe();
        tasks.push(tokio::spawn(serve(app.clone(), listener, async move {
            let _ = stop.recv().await;
        })));
    }
    // Requests are answered from here on; the ready line follows the
    // start-up repair of the data root.
    let repairing = app.clone();
    tokio::task::spawn_blocking(move || repairing.repair(started))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    app.console
        .line(&format!("Innkeeper is listening on {url}"));
    app.hook_after(
        EventKind::ServerStarted,
        None,
        &Actor::console(),
        fields! { "version" => env!("CARGO_PKG_VERSION"), "url" => url },
    )
    .await;
    stop_signal.await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(());
    for t in tasks {
        let _ = t.await;
    }
    if let Some(h) = app.hosting() {
        h.shutdown().await;
    }
    Ok(())
}

/// Binds one stack. IPv6 sockets are IPv6-only, so `0.0.0.0` and `[::]`
/// can both listen on one port.
fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    tokio::net::TcpListener::from_std(socket.into())
}

/// Waits for Ctrl-C or SIGTERM. The SIGTERM handler is installed when this
/// is called, not when first polled, so a stop sent right after the URL
/// line still ends the server gracefully.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async move {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {}
            _ = term => {}
        }
    }
}
