//! The accept loop. Our own (rather than warp's) so every connection gets
//! a header-read timeout (slow-loris clients are dropped), the peer address
//! reaches the routes, and shutdown drains requests in flight for a bounded
//! time.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
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

/// Serves `app` on `listener` until `shutdown` resolves, then drains.
pub async fn serve(app: Arc<App>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
    let service = warp::service(crate::http::routes(app.clone()));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut sweep = tokio::time::interval(Duration::from_secs(1));
    let mut data_version = app.store.data_version().await.ok();
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
            _ = sweep.tick() => {
                if let Err(e) = app.sessions.sweep().await {
                    tracing::warn!("session sweep failed: {e}");
                }
                // Console commands may have changed accounts meanwhile.
                let now = app.store.data_version().await.ok();
                if now != data_version {
                    data_version = now;
                    if let Err(e) = app.resync().await {
                        tracing::warn!("session resync failed: {e}");
                    }
                }
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
