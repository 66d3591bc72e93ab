//! HTTP/1.1 over connections the client opens itself: hyper's
//! `client::conn::http1` on a stream from a [`Connector`], with a bounded
//! pool of idle connections.
//!
//! No hyper-util legacy client, executor or timer (they call real tokio and
//! panic under madsim): connections are driven by `tokio::spawn`, which is
//! madsim's under simulation, and timeouts are `tokio::time`. The simulator
//! or a test plugs in its own [`Connector`] (a fault-injecting stream, a
//! simulated node's address); [`TcpConnector`] is the default, with
//! TCP_NODELAY set, because Nagle's algorithm plus the server's delayed ACK
//! adds ~40 ms to requests written in more than one segment.
//!
//! One attempt is one call to `Transport::send`: it either returns the
//! whole response, or an error that says whether any byte of the request was
//! written ([`RequestSent`]). Retrying is not this module's business.

use std::future::Future;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use hyper::client::conn::http1::{self, SendRequest};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::body::{BodySourceError, CollectError, RequestBody, collect};
use crate::error::{Error, RequestSent};
use crate::io::{CountingIo, WrittenBytes};
use crate::pool::{DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_IDLE_PER_ENDPOINT, IdlePool};
use crate::runtime::monotonic_now;

/// Time to open a connection, when the caller does not say.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 5_000;

/// Time one attempt may take, from sending the request to the end of the
/// response body, when the caller does not say.
pub const DEFAULT_ATTEMPT_TIMEOUT_MS: u64 = 60_000;

/// Largest response body read into memory by default; the same as
/// lockwell-server's largest request body, so any object it stores in one
/// part can be read back.
pub const DEFAULT_MAX_RESPONSE_BODY_LEN_BYTES: u64 = 64 * 1024 * 1024;

/// Where requests go: a plain-HTTP host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    host: String,
    port: u16,
}

/// An endpoint URL the client cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("{url:?} is not a URL with a host")]
    Malformed { url: String },
    #[error("{url:?}: only http:// endpoints are supported (no TLS in this client)")]
    UnsupportedScheme { url: String },
    #[error("{url:?}: an endpoint has no path or query")]
    HasPath { url: String },
}

impl Endpoint {
    /// Parses `http://host[:port][/]`.
    pub fn parse(url: &str) -> Result<Self, EndpointError> {
        let malformed = || EndpointError::Malformed {
            url: url.to_string(),
        };
        let uri: http::Uri = url.parse().map_err(|_| malformed())?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(_) => {
                return Err(EndpointError::UnsupportedScheme {
                    url: url.to_string(),
                });
            }
            None => return Err(malformed()),
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(EndpointError::HasPath {
                url: url.to_string(),
            });
        }
        let host = uri
            .host()
            .filter(|host| !host.is_empty())
            .ok_or_else(malformed)?;
        Ok(Self {
            host: host.to_string(),
            port: uri.port_u16().unwrap_or(80),
        })
    }

    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
        }
    }

    /// The host as written in a URL (IPv6 in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `host:port`, the `Host` header of a path-style request.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The host as a socket address wants it (no IPv6 brackets).
    fn connect_host(&self) -> &str {
        self.host
            .strip_prefix('[')
            .and_then(|host| host.strip_suffix(']'))
            .unwrap_or(&self.host)
    }
}

/// Opens the byte stream a connection runs over.
pub trait Connector: Send + Sync + 'static {
    type Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static;

    fn connect(&self, endpoint: &Endpoint)
    -> impl Future<Output = io::Result<Self::Stream>> + Send;
}

/// TCP through the runtime (madsim's network under simulation), with
/// TCP_NODELAY.
#[derive(Debug, Clone, Copy, Default)]
pub struct TcpConnector;

impl Connector for TcpConnector {
    type Stream = TcpStream;

    async fn connect(&self, endpoint: &Endpoint) -> io::Result<TcpStream> {
        let stream = TcpStream::connect((endpoint.connect_host(), endpoint.port())).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

/// Timeouts and limits of the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportConfig {
    pub connect_timeout_ms: u64,
    pub attempt_timeout_ms: u64,
    pub max_idle_per_endpoint: usize,
    pub idle_timeout_ms: u64,
    pub max_response_body_len_bytes: u64,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            connect_timeout_ms: DEFAULT_CONNECT_TIMEOUT_MS,
            attempt_timeout_ms: DEFAULT_ATTEMPT_TIMEOUT_MS,
            max_idle_per_endpoint: DEFAULT_MAX_IDLE_PER_ENDPOINT,
            idle_timeout_ms: DEFAULT_IDLE_TIMEOUT_MS,
            max_response_body_len_bytes: DEFAULT_MAX_RESPONSE_BODY_LEN_BYTES,
        }
    }
}

/// A response read to its end.
#[derive(Debug, Clone)]
pub(crate) struct CollectedResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// An open connection and the count of bytes written on it.
#[derive(Debug)]
struct Connection {
    sender: SendRequest<RequestBody>,
    written: WrittenBytes,
}

/// Where an attempt's connection stood when it started, to tell afterwards
/// whether it wrote anything; shared with the attempt so that it survives
/// the attempt's cancellation by its timeout.
#[derive(Debug, Default)]
struct Progress(std::sync::OnceLock<(WrittenBytes, u64)>);

impl Progress {
    fn start(&self, written: &WrittenBytes) {
        let started = self.0.set((written.clone(), written.get()));
        debug_assert!(started.is_ok(), "one connection per attempt");
    }

    fn sent(&self) -> RequestSent {
        match self.0.get() {
            Some((written, at_start)) if written.get() > *at_start => RequestSent::Maybe,
            _ => RequestSent::No,
        }
    }
}

/// Sends requests to one endpoint over pooled connections.
#[derive(Debug)]
pub(crate) struct Transport<C> {
    endpoint: Endpoint,
    authority: String,
    connector: C,
    config: TransportConfig,
    pool: IdlePool<Connection>,
}

impl<C: Connector> Transport<C> {
    pub(crate) fn new(endpoint: Endpoint, connector: C, config: TransportConfig) -> Self {
        Self {
            authority: endpoint.authority(),
            endpoint,
            connector,
            pool: IdlePool::new(
                config.max_idle_per_endpoint,
                Duration::from_millis(config.idle_timeout_ms),
            ),
            config,
        }
    }

    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// One attempt: the whole response, or why there is none.
    pub(crate) async fn send(
        &self,
        request: Request<RequestBody>,
    ) -> Result<CollectedResponse, Error> {
        let progress = Progress::default();
        let timeout = Duration::from_millis(self.config.attempt_timeout_ms);
        match tokio::time::timeout(timeout, self.send_tracked(request, &progress)).await {
            Ok(result) => result,
            Err(_elapsed) => Err(Error::Timeout {
                sent: progress.sent(),
                after_ms: self.config.attempt_timeout_ms,
            }),
        }
    }

    async fn send_tracked(
        &self,
        request: Request<RequestBody>,
        progress: &Progress,
    ) -> Result<CollectedResponse, Error> {
        let mut connection = self.connection().await?;
        progress.start(&connection.written);
        let response = connection
            .sender
            .send_request(request)
            .await
            .map_err(|error| request_error(error, progress.sent()))?;
        let (parts, body) = response.into_parts();
        let body = collect(body, self.config.max_response_body_len_bytes)
            .await
            .map_err(|error| match error {
                CollectError::TooLong { .. } => Error::InvalidResponse {
                    status: parts.status.as_u16(),
                    reason: error.to_string(),
                },
                CollectError::Transport(error) => request_error(error, RequestSent::Maybe),
            })?;
        if !asks_to_close(&parts.headers) {
            self.pool
                .checkin(&self.authority, connection, monotonic_now());
        }
        Ok(CollectedResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    async fn connection(&self) -> Result<Connection, Error> {
        let idle = self
            .pool
            .checkout(&self.authority, monotonic_now(), |connection| {
                connection.sender.is_ready()
            });
        match idle {
            Some(connection) => Ok(connection),
            None => self.connect().await,
        }
    }

    async fn connect(&self) -> Result<Connection, Error> {
        let unsent = |source: Box<dyn std::error::Error + Send + Sync>| Error::Transport {
            sent: RequestSent::No,
            source,
        };
        let timeout = Duration::from_millis(self.config.connect_timeout_ms);
        let stream =
            match tokio::time::timeout(timeout, self.connector.connect(&self.endpoint)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(error)) => return Err(unsent(Box::new(error))),
                Err(_elapsed) => {
                    return Err(Error::Timeout {
                        sent: RequestSent::No,
                        after_ms: self.config.connect_timeout_ms,
                    });
                }
            };
        let written = WrittenBytes::default();
        let (mut sender, driver) = http1::handshake(CountingIo::new(stream, written.clone()))
            .await
            .map_err(|error| unsent(Box::new(error)))?;
        // The driver's error, if any, reaches the request in flight through
        // `send_request`; there is nobody else to tell.
        tokio::spawn(async move {
            let _ = driver.await;
        });
        sender
            .ready()
            .await
            .map_err(|error| unsent(Box::new(error)))?;
        Ok(Connection { sender, written })
    }
}

/// `Connection: close` in the response: the server will not take another
/// request on this connection.
fn asks_to_close(headers: &HeaderMap) -> bool {
    headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("close"))
}

/// A failed `send_request`: the caller's body reader failing is its own
/// error; anything else is the transport's.
fn request_error(error: hyper::Error, sent: RequestSent) -> Error {
    let mut cause = std::error::Error::source(&error);
    while let Some(current) = cause {
        if let Some(body_error) = current.downcast_ref::<BodySourceError>() {
            return Error::Body(io::Error::new(
                body_error.0.kind(),
                body_error.0.to_string(),
            ));
        }
        cause = current.source();
    }
    Error::Transport {
        sent,
        source: Box::new(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_host_and_port_and_refuse_what_they_cannot_serve() {
        let ok = |url: &str| Endpoint::parse(url).map(|e| (e.host, e.port));
        assert_eq!(ok("http://127.0.0.1:9000"), Ok(("127.0.0.1".into(), 9000)));
        assert_eq!(ok("http://localhost/"), Ok(("localhost".into(), 80)));
        assert_eq!(ok("http://[::1]:9000"), Ok(("[::1]".into(), 9000)));
        assert_eq!(Endpoint::new("[::1]", 1).connect_host(), "::1");
        assert!(matches!(
            Endpoint::parse("https://s3.amazonaws.com"),
            Err(EndpointError::UnsupportedScheme { .. })
        ));
        assert!(matches!(
            Endpoint::parse("http://h:1/bucket"),
            Err(EndpointError::HasPath { .. })
        ));
        for url in ["", "localhost:9000", "http://", "not a url"] {
            assert!(Endpoint::parse(url).is_err(), "{url:?}");
        }
    }

    #[test]
    fn connection_close_is_recognised_among_tokens() {
        let headers = |value: &str| {
            let mut map = HeaderMap::new();
            map.insert(http::header::CONNECTION, value.parse().unwrap());
            map
        };
        assert!(asks_to_close(&headers("close")));
        assert!(asks_to_close(&headers("keep-alive, Close")));
        assert!(!asks_to_close(&headers("keep-alive")));
        assert!(!asks_to_close(&HeaderMap::new()));
    }
}
