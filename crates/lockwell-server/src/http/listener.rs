//! The accept loop: one task per connection, hyper http1 on each, graceful
//! shutdown on a signal future.
//!
//! Written against `tokio::net` and `tokio::time` only, which madsim-tokio
//! swaps for the simulator's under `--cfg madsim`, so the simulator runs
//! this very code. Every accepted socket gets TCP_NODELAY: without it,
//! Nagle's algorithm and the client's delayed ACK add ~40 ms to every
//! response that is written in more than one segment (seen on s3s-fs GETs).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use super::config::{HYPER_HEAD_LIMIT_FACTOR, HttpConfig, MAX_HEADER_COUNT};
use super::io::{RuntimeTimer, TokioIo};
use super::service::{App, ConnectionService};
use crate::engine::Engine;

/// Pause after a failed `accept` (out of file descriptors, most likely) so
/// the loop does not spin while the condition lasts.
const ACCEPT_ERROR_BACKOFF_MS: u64 = 100;

/// Serves the S3 API on `listener` until `shutdown` completes, then stops
/// accepting, lets requests in progress finish (at most
/// [`super::Limits::shutdown_grace_ms`]) and returns.
pub async fn serve<F>(
    listener: TcpListener,
    engine: Arc<Engine>,
    config: HttpConfig,
    shutdown: F,
) -> io::Result<()>
where
    F: Future<Output = ()>,
{
    let limits = config.limits;
    let app = Arc::new(App::new(engine, config));
    let (stop_sender, stop_receiver) = watch::channel(false);
    // Each connection task holds a clone of `alive`; `recv` on `finished`
    // returns `None` once every clone is gone, i.e. every connection ended.
    let (alive, mut finished) = mpsc::channel::<()>(1);
    tokio::pin!(shutdown);
    loop {
        // `biased` here and below: an unbiased select! draws its branch
        // order from tokio's thread RNG, which tokio seeds from a
        // process-wide counter, so under madsim a seed's run depended on
        // how many seeds the process had run before it (a campaign's
        // failing seed did not replay alone).
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let connection = serve_connection(stream, peer, app.clone(), stop_receiver.clone(), alive.clone());
                    tokio::spawn(connection);
                }
                Err(error) => {
                    tracing::warn!(%error, "accept failed; backing off");
                    tokio::time::sleep(Duration::from_millis(ACCEPT_ERROR_BACKOFF_MS)).await;
                }
            },
        }
    }
    drop(listener);
    tracing::info!("shutting down: no new connections, draining requests in progress");
    // Receivers may all be gone already (no connection open): nothing to tell.
    let _no_connections = stop_sender.send(true);
    drop(alive);
    if tokio::time::timeout(limits.shutdown_grace(), finished.recv())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_ms = limits.shutdown_grace_ms,
            "connections still open after the shutdown grace period; dropping them"
        );
    }
    Ok(())
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Arc<App>,
    mut stop: watch::Receiver<bool>,
    _alive: mpsc::Sender<()>,
) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::warn!(%peer, %error, "could not set TCP_NODELAY");
    }
    let limits = app.config().limits;
    let io = TokioIo::with_write_stall_timeout(stream, limits.idle_timeout());
    let mut builder = http1::Builder::new();
    builder
        .timer(RuntimeTimer)
        // hyper's header read timeout also covers the wait for the next
        // request on a kept-alive connection: that is the idle timeout.
        .header_read_timeout(limits.idle_timeout())
        .max_headers(MAX_HEADER_COUNT)
        .max_buf_size(
            (limits.max_header_section_len_bytes * HYPER_HEAD_LIMIT_FACTOR)
                .max(MIN_HYPER_BUF_SIZE_BYTES),
        )
        // A client that shuts down its write side after a short body still
        // gets its 400 IncompleteBody.
        .half_close(true)
        .keep_alive(true);
    let connection = builder.serve_connection(io, ConnectionService::new(app));
    tokio::pin!(connection);
    let outcome = tokio::select! {
        biased;
        outcome = connection.as_mut() => outcome,
        // A new value (shutdown) or a dropped sender (serve returned).
        _ = stop.changed() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = outcome {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}

/// hyper refuses a read buffer smaller than this.
const MIN_HYPER_BUF_SIZE_BYTES: usize = 8192;
