//! PLANTED BUGS of the clients: deliberate violations of SPEC that the
//! simulator must catch (DESIGN.md, "a catalog of planted bugs";
//! `docs/planted-bugs.md`). Compiled only with the `planted-bugs` feature,
//! which no shipped build turns on, and each inert until switched on by
//! name at run time through lockwell-core's registry
//! ([`lockwell_core::planted`]): `lockwell-sim --bug NAME`.
//!
//! `cargo xtask sim catalog` builds the simulator with them in a target
//! dir of its own (`target/sim-planted`), so the correct `target/sim`
//! binary is never replaced by a broken one, and runs each bug's campaign.

use std::time::Duration;

use lockwell_core::planted::{PlantedBug, is_enabled};

use crate::error::Error;
use crate::observe::Operation;
use crate::retry::{RequestClass, RetryPlan, RetryPolicy, StopReason, Verdict};

/// The request class the S3 client's retry policy sees for `operation`:
/// [`PlantedBug::S3RetriesUnkeyedPut`] treats every buffered PutObject as
/// if it carried an idempotency key, so the policy replays it (R4: only
/// keyed ones).
pub(crate) fn s3_request_class(operation: Operation, mut class: RequestClass) -> RequestClass {
    if is_enabled(PlantedBug::S3RetriesUnkeyedPut) && operation == Operation::PutObject {
        class.has_idempotency_key = true;
    }
    class
}

/// Whether the native client takes a buffered put as keyed:
/// [`PlantedBug::NativeChecksumAsIdempotencyKey`] counts a body checksum
/// as a key.
pub(crate) fn native_put_is_keyed(has_idempotency_key: bool, has_checksum: bool) -> bool {
    has_idempotency_key || (is_enabled(PlantedBug::NativeChecksumAsIdempotencyKey) && has_checksum)
}

/// [`PlantedBug::NativeRemintLoopsForever`]: whether a 401 after the
/// re-mint sends again with the old token, without a bound.
pub(crate) fn native_remint_loops() -> bool {
    is_enabled(PlantedBug::NativeRemintLoopsForever)
}

/// [`PlantedBug::RetriesWithoutBackoffOrBudget`]: the retry decision
/// without the budget and with no delay; `None` when the bug is off.
pub(crate) fn retry_without_backoff_or_budget(
    policy: &RetryPolicy,
    request: &RequestClass,
    error: &Error,
    attempts_made: u32,
) -> Option<Result<RetryPlan, StopReason>> {
    if !is_enabled(PlantedBug::RetriesWithoutBackoffOrBudget) {
        return None;
    }
    Some(match policy.verdict(request, error, attempts_made) {
        Verdict::Retry(_) => Ok(RetryPlan {
            delay: Duration::ZERO,
            cost_tokens: 0,
        }),
        Verdict::Stop(reason) => Err(reason),
    })
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;
    use crate::retry::{BodyKind, Replayability};

    /// The one test that switches a bug on: the setting is process-wide
    /// and the other tests of this crate run with every bug off.
    #[test]
    fn s3_retries_unkeyed_put_makes_an_unkeyed_put_replayable_once_enabled() {
        let unkeyed_put = RequestClass {
            method: Method::PUT,
            body: BodyKind::Buffered,
            has_idempotency_key: false,
        };
        assert_eq!(
            s3_request_class(Operation::PutObject, unkeyed_put.clone()).replayability(),
            Replayability::Once,
            "off until enabled"
        );
        lockwell_core::planted::enable(PlantedBug::S3RetriesUnkeyedPut);
        assert_eq!(
            s3_request_class(Operation::PutObject, unkeyed_put.clone()).replayability(),
            Replayability::Keyed
        );
        assert_eq!(
            s3_request_class(Operation::CopyObject, unkeyed_put).replayability(),
            Replayability::Once,
            "only PutObject is planted"
        );
    }
}
