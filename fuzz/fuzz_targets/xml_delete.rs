//! `parse_delete`: the DeleteObjects request body.
//!
//! Invariants: an accepted request names 1..=`MAX_DELETE_OBJECTS` objects
//! and every per-object `ETag` condition holds 1..=`MAX_ETAGS_PER_CONDITION`
//! tags; a refusal is a 4xx or 501 (SPEC B1).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lockwell_core::precondition::{ETagCondition, MAX_ETAGS_PER_CONDITION};
use lockwell_fuzz::assert_client_error;
use lockwell_proto::xml::{MAX_DELETE_OBJECTS, parse_delete};

fuzz_target!(|body: &[u8]| {
    match parse_delete(body) {
        Ok(request) => {
            assert!((1..=MAX_DELETE_OBJECTS).contains(&request.objects.len()));
            for object in &request.objects {
                if let Some(ETagCondition::OneOf(tags)) = &object.if_match {
                    assert!((1..=MAX_ETAGS_PER_CONDITION).contains(&tags.len()));
                }
            }
        }
        Err(error) => assert_client_error(&error),
    }
});
