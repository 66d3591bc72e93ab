//! Planted bugs: deliberate violations of SPEC that the simulator must
//! catch, to prove it finds what it claims (DESIGN.md, "a catalog of
//! planted bugs"). Compiled only with the `planted-bugs` feature, which no
//! shipped build turns on; with it, every bug here is active.
//!
//! `cargo xtask sim planted` builds the simulator with them in a target
//! dir of its own (`target/sim-planted`), so the correct `target/sim`
//! binary is never replaced by a broken one, and runs its detection test.

use crate::observe::Operation;
use crate::retry::RequestClass;

/// Every planted bug: its name, and what it breaks.
pub const CATALOG: &[(&str, &str)] = &[(
    S3_RETRIES_UNKEYED_PUT,
    "the S3 client retries a PutObject without an idempotency key after a transport error or \
     timeout (R3, R4 forbid it): a write whose response was lost is sent again, and the retry \
     of a conditional put that took effect answers 412, or an unconditional one writes twice",
)];

/// The S3 client treats every buffered PutObject as if it carried an
/// idempotency key, so the retry policy replays it (R4: only keyed ones).
pub const S3_RETRIES_UNKEYED_PUT: &str = "s3-retries-unkeyed-put";

/// The request class the S3 client's retry policy sees for `operation`,
/// after [`S3_RETRIES_UNKEYED_PUT`].
pub(crate) fn s3_request_class(operation: Operation, mut class: RequestClass) -> RequestClass {
    if operation == Operation::PutObject {
        class.has_idempotency_key = true;
    }
    class
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;
    use crate::retry::{BodyKind, Replayability};

    #[test]
    fn s3_retries_unkeyed_put_makes_an_unkeyed_put_replayable() {
        let unkeyed_put = RequestClass {
            method: Method::PUT,
            body: BodyKind::Buffered,
            has_idempotency_key: false,
        };
        assert_eq!(unkeyed_put.replayability(), Replayability::Once);
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
