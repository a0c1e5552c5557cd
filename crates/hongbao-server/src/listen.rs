//! Connections: the accept loop, the bound on open connections, and the timeouts that keep a
//! slow or idle client from holding the service.
//!
//! Every connection gets `http.header_timeout_ms` to send a complete request head, counted from
//! when it opens and again from each answer, so an idle keep-alive connection closes after it
//! too; a body then gets `http.body_timeout_ms` to arrive ([`crate::read_body`]). At most
//! `http.connections_max` connections are open at once: beyond it the server stops accepting
//! (new clients wait in the kernel's queue) until one closes. An accept that fails because the
//! process is out of file descriptors backs off instead of spinning. With TLS ([`crate::tls`]),
//! the handshake comes first, under the header timeout too.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;

use crate::HttpConfig;

/// File descriptors kept for everything but connections: the database, its journal, the log
/// key, the connections to PostgreSQL, standard streams.
const RESERVED_FDS: u64 = 128;
/// The first pause after an accept failed for want of descriptors or memory, and the longest.
const BACKOFF_MIN: Duration = Duration::from_millis(5);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Raises the soft open-file limit to the hard one and answers how many connections fit under
/// it: `configured`, or fewer (with a warning) when the limit is lower.
pub(crate) fn connections_allowed(configured: usize) -> usize {
    let Some(limit) = raise_open_file_limit() else { return configured };
    let fit = usize::try_from(limit.saturating_sub(RESERVED_FDS)).unwrap_or(usize::MAX).max(1);
    if fit < configured {
        tracing::warn!(
            configured,
            allowed = fit,
            open_file_limit = limit,
            "http.connections_max is above what the open-file limit allows; serving at most {fit} connections"
        );
        return fit;
    }
    configured
}

#[cfg(unix)]
fn raise_open_file_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    let current = limit.current?;
    if let Some(maximum) = limit.maximum
        && maximum > current
    {
        limit.current = Some(maximum);
        if setrlimit(Resource::Nofile, limit).is_ok() {
            tracing::debug!(from = current, to = maximum, "raised the open-file limit");
            return Some(maximum);
        }
    }
    Some(current)
}

#[cfg(not(unix))]
fn raise_open_file_limit() -> Option<u64> {
    None
}

/// Serves `app` on `listener` until `stop` turns true, then closes every connection once its
/// request in flight is answered. The caller bounds how long that may take.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    config: &HttpConfig,
    tls: Option<TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let connections_max = connections_allowed(config.connections_max);
    let open = Arc::new(Semaphore::new(connections_max));
    let graceful = GracefulShutdown::new();
    let header_timeout = Duration::from_millis(config.header_timeout_ms);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(header_timeout);
    let mut backoff = BACKOFF_MIN;
    let mut saturated = false;
    loop {
        let permit = match open.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if !saturated {
                    saturated = true;
                    tracing::warn!(connections_max, "connections at their bound; accepting again once one closes");
                }
                tokio::select! {
                    permit = open.clone().acquire_owned() => permit.map_err(io::Error::other)?,
                    _ = stop.changed() => break,
                }
            }
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => break,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => {
                backoff = BACKOFF_MIN;
                saturated = false;
                stream
            }
            Err(err) if out_of_resources(&err) => {
                // Retrying at once would spin: wait for descriptors to be given back.
                tracing::warn!(%err, pause_ms = backoff.as_millis(), "accept failed; pausing");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => break,
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
            Err(err) => {
                // The peer gave up between connecting and being accepted: nothing to do.
                tracing::debug!(%err, "accept failed");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        metrics::gauge!("hongbao_http_connections").increment(1);
        let (http, service, watcher, tls) =
            (http.clone(), TowerToHyperService::new(app.clone()), graceful.watcher(), tls.clone());
        tokio::spawn(async move {
            let served = match tls {
                None => watcher.watch(http.serve_connection(TokioIo::new(stream), service)).await,
                Some(tls) => match tokio::time::timeout(header_timeout, tls.accept(stream)).await {
                    Ok(Ok(stream)) => watcher.watch(http.serve_connection(TokioIo::new(stream), service)).await,
                    Ok(Err(err)) => {
                        tracing::debug!(%err, "TLS handshake failed");
                        Ok(())
                    }
                    Err(_) => {
                        tracing::debug!("TLS handshake timed out");
                        Ok(())
                    }
                },
            };
            if let Err(err) = served {
                // A timeout, a reset, a malformed request: the connection's end, not the server's.
                tracing::debug!(%err, "connection closed");
            }
            metrics::gauge!("hongbao_http_connections").decrement(1);
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Whether an accept failed for want of descriptors, buffers or memory: conditions that last
/// until something is given back.
fn out_of_resources(err: &io::Error) -> bool {
    #[cfg(unix)]
    {
        use rustix::io::Errno;
        let errno = err.raw_os_error().map(Errno::from_raw_os_error);
        matches!(errno, Some(Errno::MFILE | Errno::NFILE | Errno::NOBUFS | Errno::NOMEM))
    }
    #[cfg(not(unix))]
    {
        let _ = err;
        false
    }
}
