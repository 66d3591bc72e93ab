//! One request, start to end: admission (the in-flight limit), the header
//! section limit, authentication, routing, the operation's handler, and the
//! error XML. Whatever a handler does, the client gets an S3 answer: a
//! panic becomes 500 InternalError (and a log line), never a dropped
//! connection.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use http::header::{EXPECT, HOST};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::Body as _;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use lockwell_core::idempotency::Principal;
use lockwell_proto::route::{RouteRequest, Router};
use lockwell_proto::sigv4::Verified;
use lockwell_proto::{ProtoError, S3ErrorCode};
use tokio::sync::Semaphore;

use super::auth::authenticate;
use super::config::HttpConfig;
use super::handlers;
use super::response::{Body, Failure, X_AMZ_REQUEST_ID};
use crate::clock;
use crate::engine::Engine;

/// After refusing a request whose body was not read, the server reads and
/// discards up to this much of it before answering, so that the client
/// (still sending) gets the error instead of a connection reset.
const MAX_DRAIN_LEN_BYTES: u64 = 1024 * 1024;

/// Time spent draining a refused request's body, at most.
const DRAIN_TIMEOUT_MS: u64 = 1000;

/// What every connection shares.
#[derive(Debug)]
pub(crate) struct App {
    engine: Arc<Engine>,
    config: HttpConfig,
    router: Router,
    in_flight: Semaphore,
    next_request_id: AtomicU64,
}

impl App {
    pub(crate) fn new(engine: Arc<Engine>, config: HttpConfig) -> Self {
        let router = match &config.virtual_host_domain {
            Some(domain) => Router::with_base_domain(domain),
            None => Router::path_style_only(),
        };
        Self {
            engine,
            in_flight: Semaphore::new(config.limits.max_in_flight_requests),
            config,
            router,
            next_request_id: AtomicU64::new(1),
        }
    }

    pub(crate) fn config(&self) -> &HttpConfig {
        &self.config
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Answers one request; never fails and never panics outward.
    async fn handle(self: Arc<Self>, request: Request<Incoming>) -> Response<Body> {
        let request_id = format!(
            "{:016X}",
            self.next_request_id.fetch_add(1, Ordering::Relaxed)
        );
        let resource = request.uri().path().to_string();
        let method = request.method().clone();
        let mut response = match self.in_flight.try_acquire() {
            Err(_) => Failure::Refused(ProtoError::new(
                S3ErrorCode::SlowDown,
                "Please reduce your request rate.",
            ))
            .into_response(&resource, &request_id),
            Ok(_permit) => {
                match CatchUnwind(Box::pin(self.clone().serve(request, request_id.clone()))).await {
                    Ok(Ok(response)) => response,
                    Ok(Err(failure)) => {
                        tracing::debug!(%method, %resource, code = ?failure.code(), "refused");
                        failure.into_response(&resource, &request_id)
                    }
                    Err(panic) => {
                        tracing::error!(
                            %method,
                            %resource,
                            panic = panic_message(&panic),
                            "a handler panicked; answering 500"
                        );
                        Failure::internal("We encountered an internal error. Please try again.")
                            .into_response(&resource, &request_id)
                    }
                }
            }
        };
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert(X_AMZ_REQUEST_ID, value);
        }
        tracing::debug!(%method, %resource, status = response.status().as_u16(), request_id, "answered");
        response
    }

    async fn serve(
        self: Arc<Self>,
        request: Request<Incoming>,
        request_id: String,
    ) -> Result<Response<Body>, Failure> {
        let (parts, body) = request.into_parts();
        let mut body = Some(body);
        let outcome = self.serve_parts(&parts, &mut body, request_id).await;
        // Answered without reading the body (refused, or an idempotent
        // replay): read what is left so the client sees the answer. A client
        // that sent `Expect: 100-continue` has sent no body yet and sends
        // none on a final answer; reading would invite it with a 100.
        if let Some(body) = body
            && !body.is_end_stream()
            && !expects_continue(&parts.headers)
        {
            drain(body).await;
        }
        outcome
    }

    async fn serve_parts(
        &self,
        parts: &Parts,
        body: &mut Option<Incoming>,
        request_id: String,
    ) -> Result<Response<Body>, Failure> {
        check_header_section(
            &parts.headers,
            self.config.limits.max_header_section_len_bytes,
        )?;
        if lockwell_proto::native::is_native_path(parts.uri.path()) {
            return Ok(super::native::serve(self, parts, body).await);
        }
        let now_ms = clock::now_ms();
        let authenticated = authenticate(parts, &self.config, now_ms)?;
        let operation = self.router.route(&RouteRequest {
            method: &parts.method,
            host: parts.headers.get(HOST).and_then(|host| host.to_str().ok()),
            path: parts.uri.path(),
            query: parts.uri.query(),
            has_copy_source: parts.headers.contains_key("x-amz-copy-source"),
        })?;
        let mut request = S3Request {
            parts,
            body,
            principal: authenticated.principal,
            verified: authenticated.verified,
            request_id,
        };
        handlers::dispatch(self, &mut request, operation).await
    }
}

/// An authenticated request on its way through a handler.
pub(crate) struct S3Request<'r> {
    pub(crate) parts: &'r Parts,
    /// Taken by the handler that reads it; left for draining otherwise.
    pub(crate) body: &'r mut Option<Incoming>,
    pub(crate) principal: Principal,
    pub(crate) verified: Verified,
    /// Also in the `x-amz-request-id` header of the answer.
    pub(crate) request_id: String,
}

impl S3Request<'_> {
    pub(crate) fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }
}

/// SPEC B1: an oversized header section is 400 RequestHeaderSectionTooLarge.
/// Counted as HTTP/1.1 sends it: `name: value\r\n` per header.
fn check_header_section(headers: &HeaderMap, max_len_bytes: usize) -> Result<(), ProtoError> {
    let len_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if len_bytes > max_len_bytes {
        return Err(ProtoError::new(
            S3ErrorCode::RequestHeaderSectionTooLarge,
            format!(
                "Your request header section exceeds the maximum allowed size of {max_len_bytes} bytes."
            ),
        ));
    }
    Ok(())
}

fn expects_continue(headers: &HeaderMap) -> bool {
    headers
        .get(EXPECT)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// Reads and discards what is left of a refused request's body, bounded in
/// bytes and time. A body too large or too slow is left unread and hyper
/// closes the connection after the answer.
async fn drain(mut body: Incoming) {
    let discard = async {
        let mut drained_len_bytes = 0u64;
        while drained_len_bytes <= MAX_DRAIN_LEN_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => {
                    drained_len_bytes += frame.data_ref().map_or(0, |data| data.len() as u64);
                }
                Some(Err(_)) | None => break,
            }
        }
    };
    // Either way the answer goes out next; a timeout only means the rest
    // of the body stays unread.
    let _drained = tokio::time::timeout(Duration::from_millis(DRAIN_TIMEOUT_MS), discard).await;
}

fn panic_message(panic: &Box<dyn Any + Send>) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)")
}

/// Polls a future inside `catch_unwind`, so that a panic while handling a
/// request becomes an error value instead of tearing down the connection
/// task (and, under madsim, the whole simulation).
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

/// hyper's per-connection service: hands each request to [`App`].
/// Why a connection is dropped without an answer: the simulator's
/// BUGGIFY point [`crate::buggify::LOST_RESPONSE_AFTER_COMMIT`] fired.
/// hyper closes the connection on a service error, so the client sees its
/// connection end (EOF) right after the commit, as when a server or a
/// middlebox dies between commit and answer; never in a normal build.
#[derive(Debug, thiserror::Error)]
#[error("the response to a committed write was dropped (BUGGIFY)")]
pub(crate) struct ResponseDropped;

#[derive(Debug, Clone)]
pub(crate) struct ConnectionService {
    app: Arc<App>,
}

impl ConnectionService {
    pub(crate) fn new(app: Arc<App>) -> Self {
        Self { app }
    }
}

impl hyper::service::Service<Request<Incoming>> for ConnectionService {
    type Response = Response<Body>;
    type Error = ResponseDropped;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, ResponseDropped>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let app = self.app.clone();
        let is_write = !matches!(*request.method(), http::Method::GET | http::Method::HEAD);
        let resource = request.uri().path().to_string();
        // The request runs as a task of its own, detached from the
        // connection: hyper drops this future when the connection fails,
        // and a request cancelled half way could leave an idempotency
        // claim held or a commit unanswered. Detached, a lost connection
        // only makes its body read fail, and every request ends through
        // its handler.
        let handling = tokio::spawn(app.handle(request));
        Box::pin(async move {
            let response = handling.await.unwrap_or_else(|error| {
                tracing::error!(%error, %resource, "a request task ended without an answer");
                Failure::internal("We encountered an internal error. Please try again.")
                    .into_response(&resource, "")
            });
            // BUGGIFY (simulator only): the write is durable, its answer is
            // lost: the connection closes instead.
            if is_write
                && response.status().is_success()
                && crate::buggify!(crate::buggify::LOST_RESPONSE_AFTER_COMMIT)
            {
                return Err(ResponseDropped);
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderName;

    use super::*;

    #[test]
    fn b1_header_section_limit_counts_names_values_and_separators() {
        let header_of_len = |len_bytes: usize| {
            // "x-pad: <value>\r\n" is 5 + 4 + value bytes.
            let value = "v".repeat(len_bytes - 9);
            HeaderMap::from_iter([(
                HeaderName::from_static("x-pad"),
                HeaderValue::from_str(&value).unwrap(),
            )])
        };
        assert_eq!(check_header_section(&header_of_len(100), 100), Ok(()));
        assert_eq!(
            check_header_section(&header_of_len(101), 100).map_err(|error| error.code),
            Err(S3ErrorCode::RequestHeaderSectionTooLarge)
        );
    }

    #[test]
    fn a_panic_inside_a_future_becomes_an_error_value() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let outcome = runtime.block_on(CatchUnwind(Box::pin(async {
            let empty: Vec<u8> = Vec::new();
            empty[0]
        })));
        let panic = outcome.expect_err("indexing an empty vector panics");
        assert!(
            panic_message(&panic).contains("index out of bounds"),
            "{}",
            panic_message(&panic)
        );
    }
}
