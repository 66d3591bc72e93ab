//! The retry policy as data (SPEC R3, R4).
//!
//! Three independent pieces, combined by [`plan_retry`]:
//! - [`RetryPolicy::verdict`], a pure function of the request's class, the
//!   error and the attempts made: may this request be sent again?
//! - [`RetryPolicy::delay`] / [`RetryPolicy::delays`]: exponential backoff
//!   with full jitter drawn from an injected [`Random`];
//! - [`RetryBudget`]: a client-wide token bucket, so that a failing server
//!   sees its load shrink instead of tripling (the AWS SDKs' standard mode:
//!   a retry costs tokens, a success gives some back).
//!
//! Which requests may be replayed at all (R4): GET, HEAD and DELETE always;
//! PUT and POST only with an idempotency key and a buffered (re-readable)
//! body, which the server collapses into one write (I1); any other request
//! gets exactly one attempt at the server. The one exception is an attempt
//! that provably never reached it (nothing was written to the socket):
//! sending that again is still the first attempt the server sees.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use http::Method;

use crate::error::{Error, RequestSent};
use crate::runtime::{Random, uniform_inclusive};

/// SPEC R3: at most three attempts by default.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Most attempts any policy may allow: past this, retries only add load.
pub const MAX_ATTEMPTS_LIMIT: u32 = 10;
/// SPEC R3: backoff base for transient errors.
pub const DEFAULT_BASE_DELAY_MS: u64 = 50;
/// SPEC R3: backoff base when the server throttles.
pub const DEFAULT_THROTTLING_BASE_DELAY_MS: u64 = 1_000;
/// SPEC R3: no single backoff is longer than this.
pub const DEFAULT_MAX_DELAY_MS: u64 = 20_000;

/// Retry budget defaults: the AWS SDKs' standard retry mode.
pub const DEFAULT_BUDGET_CAPACITY_TOKENS: u32 = 500;
pub const DEFAULT_RETRY_COST_TOKENS: u32 = 5;
/// A timeout costs more: the server may still be working on the request.
pub const DEFAULT_TIMEOUT_RETRY_COST_TOKENS: u32 = 10;
/// What a success on the first attempt gives back.
pub const DEFAULT_SUCCESS_REFILL_TOKENS: u32 = 1;

/// When and how often to send a request again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; 1 disables retries.
    pub max_attempts: u32,
    pub base_delay_ms: u64,
    pub throttling_base_delay_ms: u64,
    pub max_delay_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            base_delay_ms: DEFAULT_BASE_DELAY_MS,
            throttling_base_delay_ms: DEFAULT_THROTTLING_BASE_DELAY_MS,
            max_delay_ms: DEFAULT_MAX_DELAY_MS,
        }
    }
}

/// A policy outside its limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("max_attempts must be 1 to {MAX_ATTEMPTS_LIMIT}, not {max_attempts}")]
pub struct InvalidRetryPolicy {
    pub max_attempts: u32,
}

/// What kind of error a backoff waits after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackoffKind {
    Transient,
    Throttling,
}

/// The body a request carries, as far as replaying it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Empty,
    /// Held in memory: can be sent again byte for byte.
    Buffered,
    /// Read from the caller once: gone after the first attempt (R2, R4).
    Streaming,
}

/// What the retry policy needs to know about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestClass {
    pub method: Method,
    pub body: BodyKind,
    pub has_idempotency_key: bool,
}

/// How safely a request can be sent twice (SPEC R4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replayability {
    /// GET, HEAD, DELETE.
    Always,
    /// PUT or POST with an idempotency key and a re-readable body: the
    /// server applies it at most once (I1).
    Keyed,
    /// Any other PUT or POST: one attempt at the server.
    Once,
    /// A streamed body: never sent again.
    Never,
}

impl RequestClass {
    pub fn replayability(&self) -> Replayability {
        if self.body == BodyKind::Streaming {
            return Replayability::Never;
        }
        if self.method == Method::GET
            || self.method == Method::HEAD
            || self.method == Method::DELETE
        {
            Replayability::Always
        } else if self.has_idempotency_key {
            Replayability::Keyed
        } else {
            Replayability::Once
        }
    }
}

/// Why a failed request is not sent again.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StopReason {
    /// Sending it again would not help (R3: 4xx, 501, ...).
    NotRetryable,
    /// Sending it again could apply it twice (R4).
    NotReplayable,
    /// `max_attempts` reached.
    AttemptsExhausted,
    /// The client-wide retry budget is empty.
    BudgetExhausted,
}

impl StopReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NotRetryable => "not-retryable",
            Self::NotReplayable => "not-replayable",
            Self::AttemptsExhausted => "attempts-exhausted",
            Self::BudgetExhausted => "budget-exhausted",
        }
    }
}

/// The policy's answer for one failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Retry(BackoffKind),
    Stop(StopReason),
}

impl RetryPolicy {
    /// One attempt, never a retry.
    pub fn no_retries() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    pub fn validate(&self) -> Result<(), InvalidRetryPolicy> {
        if (1..=MAX_ATTEMPTS_LIMIT).contains(&self.max_attempts) {
            Ok(())
        } else {
            Err(InvalidRetryPolicy {
                max_attempts: self.max_attempts,
            })
        }
    }

    /// Whether a request that failed with `error` after `attempts_made`
    /// attempts may be sent again (R3, R4). Pure: the budget is separate.
    pub fn verdict(&self, request: &RequestClass, error: &Error, attempts_made: u32) -> Verdict {
        if !error.is_retryable() {
            return Verdict::Stop(StopReason::NotRetryable);
        }
        let replayable = match request.replayability() {
            Replayability::Always | Replayability::Keyed => true,
            Replayability::Once => error.sent() == Some(RequestSent::No),
            Replayability::Never => false,
        };
        if !replayable {
            return Verdict::Stop(StopReason::NotReplayable);
        }
        if attempts_made >= self.max_attempts {
            return Verdict::Stop(StopReason::AttemptsExhausted);
        }
        Verdict::Retry(if error.is_throttling() {
            BackoffKind::Throttling
        } else {
            BackoffKind::Transient
        })
    }

    /// The ceiling of the `retry`-th backoff (1-based): base x 2^(retry-1),
    /// capped at `max_delay_ms`.
    pub fn delay_ceiling_ms(&self, retry: u32, kind: BackoffKind) -> u64 {
        let base_ms = match kind {
            BackoffKind::Transient => self.base_delay_ms,
            BackoffKind::Throttling => self.throttling_base_delay_ms,
        };
        let doublings = retry.saturating_sub(1).min(63);
        base_ms
            .saturating_mul(1u64 << doublings)
            .min(self.max_delay_ms)
    }

    /// Full jitter: a uniform draw from zero to the ceiling, so that
    /// clients that failed together do not retry together.
    pub fn delay(&self, retry: u32, kind: BackoffKind, random: &mut dyn Random) -> Duration {
        Duration::from_millis(uniform_inclusive(
            random,
            self.delay_ceiling_ms(retry, kind),
        ))
    }

    /// The delays before retry 1, 2, ... of this policy, as many as it
    /// allows retries.
    pub fn delays<'r>(&self, kind: BackoffKind, random: &'r mut dyn Random) -> Delays<'r> {
        Delays {
            policy: *self,
            kind,
            random,
            next_retry: 1,
        }
    }
}

/// Iterator of backoff delays; see [`RetryPolicy::delays`].
#[derive(Debug)]
pub struct Delays<'r> {
    policy: RetryPolicy,
    kind: BackoffKind,
    random: &'r mut dyn Random,
    next_retry: u32,
}

impl Iterator for Delays<'_> {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        if self.next_retry >= self.policy.max_attempts {
            return None;
        }
        let delay = self.policy.delay(self.next_retry, self.kind, self.random);
        self.next_retry += 1;
        Some(delay)
    }
}

/// The token bucket's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetConfig {
    pub capacity_tokens: u32,
    pub retry_cost_tokens: u32,
    pub timeout_retry_cost_tokens: u32,
    pub success_refill_tokens: u32,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self {
            capacity_tokens: DEFAULT_BUDGET_CAPACITY_TOKENS,
            retry_cost_tokens: DEFAULT_RETRY_COST_TOKENS,
            timeout_retry_cost_tokens: DEFAULT_TIMEOUT_RETRY_COST_TOKENS,
            success_refill_tokens: DEFAULT_SUCCESS_REFILL_TOKENS,
        }
    }
}

/// A client-wide retry budget (SPEC R3): every retry takes tokens, every
/// success puts some back; an empty bucket means no retries until
/// successes refill it. Shared by every request of a client.
#[derive(Debug)]
pub struct RetryBudget {
    config: BudgetConfig,
    tokens: AtomicU32,
}

impl RetryBudget {
    pub fn new(config: BudgetConfig) -> Self {
        Self {
            config,
            tokens: AtomicU32::new(config.capacity_tokens),
        }
    }

    pub fn available_tokens(&self) -> u32 {
        self.tokens.load(Ordering::Relaxed)
    }

    /// What retrying after `error` costs.
    pub fn cost_of(&self, error: &Error) -> u32 {
        match error {
            Error::Timeout { .. } => self.config.timeout_retry_cost_tokens,
            _ => self.config.retry_cost_tokens,
        }
    }

    /// Takes `cost` tokens if there are that many.
    pub fn try_acquire(&self, cost: u32) -> bool {
        self.tokens
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |tokens| {
                tokens.checked_sub(cost)
            })
            .is_ok()
    }

    /// A request succeeded: a retried one returns what its last retry
    /// cost, a first-attempt success adds the small refill.
    pub fn on_success(&self, last_retry_cost: Option<u32>) {
        let refill = last_retry_cost.unwrap_or(self.config.success_refill_tokens);
        let capacity = self.config.capacity_tokens;
        // The closure always returns Some: the update cannot fail.
        let _ = self
            .tokens
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |tokens| {
                Some(tokens.saturating_add(refill).min(capacity))
            });
    }
}

/// A retry that will happen: after `delay`, having paid `cost_tokens`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPlan {
    pub delay: Duration,
    pub cost_tokens: u32,
}

/// The whole decision after a failed attempt: the policy's verdict, then
/// the budget, then the jittered delay.
pub fn plan_retry(
    policy: &RetryPolicy,
    budget: &RetryBudget,
    random: &mut dyn Random,
    request: &RequestClass,
    error: &Error,
    attempts_made: u32,
) -> Result<RetryPlan, StopReason> {
    let kind = match policy.verdict(request, error, attempts_made) {
        Verdict::Retry(kind) => kind,
        Verdict::Stop(reason) => return Err(reason),
    };
    let cost_tokens = budget.cost_of(error);
    if !budget.try_acquire(cost_tokens) {
        return Err(StopReason::BudgetExhausted);
    }
    Ok(RetryPlan {
        delay: policy.delay(attempts_made, kind, random),
        cost_tokens,
    })
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;
    use crate::error::ServiceError;
    use crate::runtime::SeededRandom;

    fn service(status: u16, code: &str) -> Error {
        Error::from_service(
            ServiceError {
                status,
                code: Some(code.to_string()),
                ..ServiceError::default()
            },
            None,
        )
    }

    fn transport(sent: RequestSent) -> Error {
        Error::Transport {
            sent,
            source: Box::new(io::Error::from(io::ErrorKind::ConnectionReset)),
        }
    }

    fn class(method: Method, body: BodyKind, key: bool) -> RequestClass {
        RequestClass {
            method,
            body,
            has_idempotency_key: key,
        }
    }

    const RETRY: Option<StopReason> = None;
    const NOT_RETRYABLE: Option<StopReason> = Some(StopReason::NotRetryable);
    const NOT_REPLAYABLE: Option<StopReason> = Some(StopReason::NotReplayable);

    /// SPEC R3 x R4: error x method x body kind x idempotency key.
    #[test]
    fn r3_r4_retry_table() {
        use BodyKind::{Buffered, Empty, Streaming};
        let get = Method::GET;
        let head = Method::HEAD;
        let delete = Method::DELETE;
        let put = Method::PUT;
        let post = Method::POST;
        let sent = || transport(RequestSent::Maybe);
        let unsent = || transport(RequestSent::No);
        let timeout = || Error::Timeout {
            sent: RequestSent::Maybe,
            after_ms: 10,
        };
        let unavailable = || service(503, "ServiceUnavailable");
        let slow_down = || service(503, "SlowDown");
        let rows: Vec<(Error, RequestClass, Option<StopReason>)> = vec![
            // Safe methods: every retryable error.
            (sent(), class(get.clone(), Empty, false), RETRY),
            (timeout(), class(head.clone(), Empty, false), RETRY),
            (unavailable(), class(delete.clone(), Empty, false), RETRY),
            (slow_down(), class(get.clone(), Empty, false), RETRY),
            (
                service(500, "InternalError"),
                class(get.clone(), Empty, false),
                RETRY,
            ),
            // ... but never a 4xx, whatever the method (R3).
            (
                service(400, "InvalidRequest"),
                class(get.clone(), Empty, false),
                NOT_RETRYABLE,
            ),
            (
                service(403, "AccessDenied"),
                class(get.clone(), Empty, false),
                NOT_RETRYABLE,
            ),
            (
                service(404, "NoSuchKey"),
                class(get.clone(), Empty, false),
                NOT_RETRYABLE,
            ),
            (
                service(409, "IdempotencyKeyInFlight"),
                class(put.clone(), Buffered, true),
                NOT_RETRYABLE,
            ),
            (
                service(409, "ConditionalRequestConflict"),
                class(put.clone(), Buffered, true),
                NOT_RETRYABLE,
            ),
            (
                service(412, "PreconditionFailed"),
                class(put.clone(), Buffered, true),
                NOT_RETRYABLE,
            ),
            (
                service(412, "PreconditionFailed"),
                class(delete.clone(), Empty, false),
                NOT_RETRYABLE,
            ),
            (
                service(422, "IdempotencyKeyMismatch"),
                class(put.clone(), Buffered, true),
                NOT_RETRYABLE,
            ),
            (
                service(501, "NotImplemented"),
                class(get.clone(), Empty, false),
                NOT_RETRYABLE,
            ),
            // Keyed, buffered writes: retried like reads (R4).
            (sent(), class(put.clone(), Buffered, true), RETRY),
            (timeout(), class(put.clone(), Buffered, true), RETRY),
            (unavailable(), class(post.clone(), Buffered, true), RETRY),
            (slow_down(), class(put.clone(), Buffered, true), RETRY),
            // Unkeyed writes: one attempt at the server...
            (sent(), class(put.clone(), Buffered, false), NOT_REPLAYABLE),
            (
                timeout(),
                class(put.clone(), Buffered, false),
                NOT_REPLAYABLE,
            ),
            (
                unavailable(),
                class(put.clone(), Buffered, false),
                NOT_REPLAYABLE,
            ),
            (
                slow_down(),
                class(post.clone(), Empty, false),
                NOT_REPLAYABLE,
            ),
            // ... unless the attempt never reached it.
            (unsent(), class(put.clone(), Buffered, false), RETRY),
            (unsent(), class(post.clone(), Empty, false), RETRY),
            // Streamed bodies: never again, key or not (R2, R4, I6).
            (sent(), class(put.clone(), Streaming, true), NOT_REPLAYABLE),
            (
                unsent(),
                class(put.clone(), Streaming, false),
                NOT_REPLAYABLE,
            ),
            (
                unavailable(),
                class(put.clone(), Streaming, true),
                NOT_REPLAYABLE,
            ),
            (
                service(412, "PreconditionFailed"),
                class(put.clone(), Streaming, false),
                NOT_RETRYABLE,
            ),
            // A client-side refusal was never a request.
            (
                Error::InvalidInput("x".into()),
                class(get, Empty, false),
                NOT_RETRYABLE,
            ),
            (
                Error::Body(io::Error::from(io::ErrorKind::UnexpectedEof)),
                class(put, Streaming, false),
                NOT_RETRYABLE,
            ),
        ];
        let policy = RetryPolicy::default();
        for (error, request, expected) in rows {
            let stop = match policy.verdict(&request, &error, 1) {
                Verdict::Retry(_) => None,
                Verdict::Stop(reason) => Some(reason),
            };
            assert_eq!(stop, expected, "{error} / {request:?}");
        }
    }

    #[test]
    fn r3_attempts_stop_at_max_attempts() {
        let policy = RetryPolicy::default();
        let request = class(Method::GET, BodyKind::Empty, false);
        let error = transport(RequestSent::Maybe);
        let verdicts: Vec<Verdict> = (1..=4)
            .map(|attempts| policy.verdict(&request, &error, attempts))
            .collect();
        assert_eq!(
            verdicts,
            [
                Verdict::Retry(BackoffKind::Transient),
                Verdict::Retry(BackoffKind::Transient),
                Verdict::Stop(StopReason::AttemptsExhausted),
                Verdict::Stop(StopReason::AttemptsExhausted),
            ]
        );
        assert_eq!(
            RetryPolicy::no_retries().verdict(&request, &error, 1),
            Verdict::Stop(StopReason::AttemptsExhausted)
        );
    }

    #[test]
    fn r3_throttling_backs_off_from_the_longer_base() {
        let policy = RetryPolicy::default();
        let request = class(Method::GET, BodyKind::Empty, false);
        assert_eq!(
            policy.verdict(&request, &service(503, "SlowDown"), 1),
            Verdict::Retry(BackoffKind::Throttling)
        );
        assert_eq!(
            policy.verdict(&request, &service(429, "TooManyRequests"), 1),
            Verdict::Retry(BackoffKind::Throttling)
        );
        assert_eq!(
            policy.verdict(&request, &service(500, "InternalError"), 1),
            Verdict::Retry(BackoffKind::Transient)
        );
    }

    #[test]
    fn r3_delay_ceilings_double_from_the_base_up_to_the_cap() {
        let policy = RetryPolicy::default();
        let ceilings = |kind| {
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 64, u32::MAX]
                .map(|retry| policy.delay_ceiling_ms(retry, kind))
        };
        assert_eq!(
            ceilings(BackoffKind::Transient),
            [
                50, 100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800, 20_000, 20_000, 20_000
            ]
        );
        assert_eq!(
            ceilings(BackoffKind::Throttling),
            [
                1_000, 2_000, 4_000, 8_000, 16_000, 20_000, 20_000, 20_000, 20_000, 20_000, 20_000,
                20_000
            ]
        );
    }

    #[test]
    fn r3_jittered_delays_stay_within_their_ceiling_and_replay_from_the_seed() {
        let policy = RetryPolicy {
            max_attempts: MAX_ATTEMPTS_LIMIT,
            ..RetryPolicy::default()
        };
        for kind in [BackoffKind::Transient, BackoffKind::Throttling] {
            let mut random = SeededRandom::new(42);
            for _ in 0..200 {
                let delays: Vec<Duration> = policy.delays(kind, &mut random).collect();
                assert_eq!(delays.len(), (MAX_ATTEMPTS_LIMIT - 1) as usize);
                for (index, delay) in delays.iter().enumerate() {
                    let retry = u32::try_from(index).unwrap() + 1;
                    let ceiling = Duration::from_millis(policy.delay_ceiling_ms(retry, kind));
                    assert!(*delay <= ceiling, "retry {retry}: {delay:?} > {ceiling:?}");
                    assert!(*delay <= Duration::from_millis(DEFAULT_MAX_DELAY_MS));
                }
            }
        }
        let draw = |seed| -> Vec<Duration> {
            RetryPolicy::default()
                .delays(BackoffKind::Transient, &mut SeededRandom::new(seed))
                .collect()
        };
        assert_eq!(draw(9), draw(9));
        assert_eq!(draw(9).len(), 2, "three attempts, two delays");
    }

    #[test]
    fn r3_full_jitter_spreads_over_the_whole_range() {
        let policy = RetryPolicy::default();
        let mut random = SeededRandom::new(3);
        let draws: Vec<u64> = (0..2_000)
            .map(|_| {
                u64::try_from(
                    policy
                        .delay(3, BackoffKind::Transient, &mut random)
                        .as_millis(),
                )
                .unwrap()
            })
            .collect();
        let (low, high) = (draws.iter().min().unwrap(), draws.iter().max().unwrap());
        assert!(*low <= 5 && *high >= 195, "{low}..{high} of 0..=200");
    }

    #[test]
    fn policy_limits_are_enforced_at_the_limit() {
        let with = |max_attempts| RetryPolicy {
            max_attempts,
            ..RetryPolicy::default()
        };
        assert!(with(1).validate().is_ok());
        assert!(with(MAX_ATTEMPTS_LIMIT).validate().is_ok());
        assert!(with(0).validate().is_err());
        assert!(with(MAX_ATTEMPTS_LIMIT + 1).validate().is_err());
    }

    #[test]
    fn r3_budget_exhaustion_stops_retries_until_successes_refill_it() {
        let budget = RetryBudget::new(BudgetConfig {
            capacity_tokens: 12,
            ..BudgetConfig::default()
        });
        let policy = RetryPolicy::default();
        let mut random = SeededRandom::new(5);
        let request = class(Method::GET, BodyKind::Empty, false);
        let reset = transport(RequestSent::Maybe);
        let timeout = Error::Timeout {
            sent: RequestSent::Maybe,
            after_ms: 1,
        };
        let mut plan = |error: &Error| {
            plan_retry(&policy, &budget, &mut random, &request, error, 1).map(|p| p.cost_tokens)
        };
        assert_eq!(plan(&reset), Ok(DEFAULT_RETRY_COST_TOKENS));
        assert_eq!(plan(&reset), Ok(DEFAULT_RETRY_COST_TOKENS));
        // 2 tokens left: a timeout retry (10) and a plain one (5) are refused.
        assert_eq!(plan(&timeout), Err(StopReason::BudgetExhausted));
        assert_eq!(plan(&reset), Err(StopReason::BudgetExhausted));
        assert_eq!(budget.available_tokens(), 2);
        // Three first-attempt successes refill 3 tokens: one retry again.
        for _ in 0..3 {
            budget.on_success(None);
        }
        assert_eq!(plan(&reset), Ok(DEFAULT_RETRY_COST_TOKENS));
        assert_eq!(budget.available_tokens(), 0);
        // A retried success refunds its retry; refills never pass capacity.
        budget.on_success(Some(DEFAULT_RETRY_COST_TOKENS));
        assert_eq!(budget.available_tokens(), 5);
        for _ in 0..100 {
            budget.on_success(Some(DEFAULT_TIMEOUT_RETRY_COST_TOKENS));
        }
        assert_eq!(budget.available_tokens(), 12);
    }

    #[test]
    fn r3_an_unretryable_error_costs_no_budget() {
        let budget = RetryBudget::new(BudgetConfig::default());
        let request = class(Method::PUT, BodyKind::Buffered, true);
        let outcome = plan_retry(
            &RetryPolicy::default(),
            &budget,
            &mut SeededRandom::new(1),
            &request,
            &service(412, "PreconditionFailed"),
            1,
        );
        assert_eq!(outcome, Err(StopReason::NotRetryable));
        assert_eq!(budget.available_tokens(), DEFAULT_BUDGET_CAPACITY_TOKENS);
    }
}
