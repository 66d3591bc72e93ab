//! The request loop both clients share: build, send, classify, and retry as
//! the policy says, telling the observer about every attempt.
//!
//! A request is built afresh for every attempt (a signature carries its
//! time), from a closure that cannot hand out a streamed body twice; the
//! policy never asks it to ([`crate::retry::Replayability::Never`]).

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use http::Request;
use tokio::time::Instant;

use crate::body::RequestBody;
use crate::error::Error;
use crate::observe::{AttemptEvent, Observer, Operation, Outcome, RequestEvent};
use crate::retry::{RequestClass, RetryBudget, RetryPolicy, StopReason, plan_retry};
use crate::runtime::{Clock, Random, RuntimeClock, monotonic_now};
use crate::transport::{CollectedResponse, Connector, Transport};

/// What a client draws time, randomness and observation from.
#[derive(Debug)]
pub struct ClientRuntime {
    pub clock: Arc<dyn Clock>,
    /// Backoff jitter; seed it per client for reproducible runs.
    pub random: Box<dyn Random>,
    pub observer: Option<Arc<dyn Observer>>,
}

impl ClientRuntime {
    /// The runtime's clock, the given randomness, no observer.
    pub fn new(random: impl Random + 'static) -> Self {
        Self {
            clock: Arc::new(RuntimeClock),
            random: Box::new(random),
            observer: None,
        }
    }

    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    #[must_use]
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }
}

/// One request's identity for the retry policy and the observer.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) operation: Operation,
    pub(crate) class: RequestClass,
}

/// Transport, retry policy and budget, clock, randomness and observer.
#[derive(Debug)]
pub(crate) struct HttpCore<C> {
    transport: Transport<C>,
    policy: RetryPolicy,
    budget: RetryBudget,
    random: Mutex<Box<dyn Random>>,
    clock: Arc<dyn Clock>,
    observer: Option<Arc<dyn Observer>>,
}

impl<C: Connector> HttpCore<C> {
    pub(crate) fn new(
        transport: Transport<C>,
        policy: RetryPolicy,
        budget: RetryBudget,
        runtime: ClientRuntime,
    ) -> Self {
        Self {
            transport,
            policy,
            budget,
            random: Mutex::new(runtime.random),
            clock: runtime.clock,
            observer: runtime.observer,
        }
    }

    pub(crate) fn transport(&self) -> &Transport<C> {
        &self.transport
    }

    pub(crate) fn budget(&self) -> &RetryBudget {
        &self.budget
    }

    /// Runs `call` to its final outcome. `build` makes attempt n's request
    /// given the wall-clock time to sign it with; `parse` turns a response
    /// into the operation's result or error (a non-success status is an
    /// error, and the policy decides whether to try again).
    pub(crate) async fn execute<T>(
        &self,
        call: &Call,
        mut build: impl FnMut(SystemTime) -> Result<Request<RequestBody>, Error>,
        parse: impl Fn(CollectedResponse) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let started = monotonic_now();
        let mut attempt: u32 = 1;
        let mut last_retry_cost = None;
        loop {
            let attempt_started = monotonic_now();
            let result = match build(self.clock.now()) {
                Ok(request) => self.transport.send(request).await.and_then(|response| {
                    let status = response.status.as_u16();
                    parse(response).map(|value| (status, value))
                }),
                Err(error) => Err(error),
            };
            let attempt_latency = monotonic_now().saturating_duration_since(attempt_started);
            match result {
                Ok((status, value)) => {
                    self.budget.on_success(last_retry_cost);
                    let outcome = Outcome::Succeeded { status };
                    self.observe(call, attempt, attempt_latency, outcome, None);
                    self.finish(call, attempt, started, outcome, None);
                    return Ok(value);
                }
                Err(error) => {
                    let plan = {
                        let mut random = self
                            .random
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        plan_retry(
                            &self.policy,
                            &self.budget,
                            random.as_mut(),
                            &call.class,
                            &error,
                            attempt,
                        )
                    };
                    #[cfg(feature = "planted-bugs")]
                    let plan = crate::planted::retry_without_backoff_or_budget(
                        &self.policy,
                        &call.class,
                        &error,
                        attempt,
                    )
                    .unwrap_or(plan);
                    let outcome = Outcome::Failed(&error);
                    match plan {
                        Ok(plan) => {
                            self.observe(call, attempt, attempt_latency, outcome, Some(plan.delay));
                            tokio::time::sleep(plan.delay).await;
                            last_retry_cost = Some(plan.cost_tokens);
                            attempt += 1;
                        }
                        Err(reason) => {
                            self.observe(call, attempt, attempt_latency, outcome, None);
                            self.finish(call, attempt, started, outcome, Some(reason));
                            return Err(error);
                        }
                    }
                }
            }
        }
    }

    fn observe(
        &self,
        call: &Call,
        attempt: u32,
        latency: std::time::Duration,
        outcome: Outcome<'_>,
        retry_after: Option<std::time::Duration>,
    ) {
        if let Some(observer) = &self.observer {
            observer.on_attempt(&AttemptEvent {
                operation: call.operation,
                attempt,
                latency,
                outcome,
                retry_after,
            });
        }
    }

    fn finish(
        &self,
        call: &Call,
        attempts: u32,
        started: Instant,
        outcome: Outcome<'_>,
        stopped: Option<StopReason>,
    ) {
        if let Some(observer) = &self.observer {
            observer.on_request(&RequestEvent {
                operation: call.operation,
                attempts,
                latency: monotonic_now().saturating_duration_since(started),
                outcome,
                stopped,
            });
        }
    }
}
