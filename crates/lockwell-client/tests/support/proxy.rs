//! A fault-injecting HTTP proxy between a client and lockwell-server.
//!
//! Each request that arrives takes the next queued [`Fault`], if any, and
//! suffers it; with the queue empty, requests are forwarded untouched. It
//! is an HTTP proxy (hyper on both sides), not a byte pipe, so that it can
//! act at request boundaries: lose exactly one response after the server
//! committed the write, or refuse exactly one request.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use lockwell_server::http::io::TokioIo;
use tokio::net::{TcpListener, TcpStream};

/// What happens to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Forward it, read the server's whole response, then close the
    /// client's connection without sending a byte of it: the write
    /// committed and its answer was lost.
    DropResponseAfterCommit,
    /// Answer 503 with this S3 error code, without forwarding.
    Unavailable { code: &'static str },
    /// Read the request, then close the connection without forwarding it.
    CloseBeforeForwarding,
    /// Forward it with the last body byte flipped.
    CorruptBody,
    /// Never answer (until the client gives up).
    Stall,
}

/// A request as the proxy received it.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    pub method: Method,
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Debug)]
struct State {
    upstream: SocketAddr,
    faults: Mutex<VecDeque<Fault>>,
    seen: Mutex<Vec<SeenRequest>>,
    forwarded: AtomicU32,
    connections: AtomicU32,
}

/// The proxy, listening on a free loopback port until dropped.
pub struct FaultProxy {
    pub addr: SocketAddr,
    state: Arc<State>,
    accept_loop: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

/// The proxy's own failure: hyper closes the client's connection without
/// a response when the service fails, which is how faults drop answers.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Dropped(&'static str);

impl FaultProxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(State {
            upstream,
            faults: Mutex::new(VecDeque::new()),
            seen: Mutex::new(Vec::new()),
            forwarded: AtomicU32::new(0),
            connections: AtomicU32::new(0),
        });
        let accept_state = state.clone();
        let accept_loop = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                accept_state.connections.fetch_add(1, Ordering::SeqCst);
                let state = accept_state.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| handle(state.clone(), request));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            state,
            accept_loop,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues faults for the next requests, in order.
    pub fn inject(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.faults.lock().unwrap().extend(faults);
    }

    /// Requests that arrived at the proxy.
    pub fn seen(&self) -> Vec<SeenRequest> {
        self.state.seen.lock().unwrap().clone()
    }

    /// Connections clients opened to the proxy.
    pub fn connections(&self) -> u32 {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// Requests that reached the server.
    pub fn forwarded(&self) -> u32 {
        self.state.forwarded.load(Ordering::SeqCst)
    }
}

async fn handle(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|_| Dropped("the client's body failed"))?
        .to_bytes();
    state.seen.lock().unwrap().push(SeenRequest {
        method: parts.method.clone(),
        path_and_query: parts
            .uri
            .path_and_query()
            .map(ToString::to_string)
            .unwrap_or_default(),
        headers: parts.headers.clone(),
        body: body.clone(),
    });
    let fault = state.faults.lock().unwrap().pop_front();
    let body = match fault {
        None | Some(Fault::DropResponseAfterCommit) => body,
        Some(Fault::CorruptBody) => {
            let mut corrupted = body.to_vec();
            if let Some(last) = corrupted.last_mut() {
                *last ^= 0xFF;
            }
            Bytes::from(corrupted)
        }
        Some(Fault::Unavailable { code }) => return Ok(unavailable(code)),
        Some(Fault::CloseBeforeForwarding) => return Err(Dropped("closed before forwarding")),
        Some(Fault::Stall) => std::future::pending().await,
    };
    let mut forward = Request::from_parts(parts, Full::new(body));
    *forward.version_mut() = http::Version::HTTP_11;
    let response = send_upstream(state.upstream, forward).await?;
    state.forwarded.fetch_add(1, Ordering::SeqCst);
    if fault == Some(Fault::DropResponseAfterCommit) {
        return Err(Dropped("the response was read and dropped"));
    }
    Ok(response)
}

async fn send_upstream(
    upstream: SocketAddr,
    request: Request<Full<Bytes>>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let stream = TcpStream::connect(upstream)
        .await
        .map_err(|_| Dropped("the server is unreachable"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|_| Dropped("handshake with the server failed"))?;
    tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(|_| Dropped("the server did not answer"))?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|_| Dropped("the server's body failed"))?
        .to_bytes();
    Ok(Response::from_parts(parts, Full::new(body)))
}

fn unavailable(code: &str) -> Response<Full<Bytes>> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
         <Message>injected by the test proxy</Message><RequestId>proxy</RequestId></Error>"
    );
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        "application/xml".parse().unwrap(),
    );
    response
}
