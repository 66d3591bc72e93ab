//! `parse_create_bucket_configuration`: the CreateBucket body.
//!
//! Invariants: a blank body is no configuration; a stated region is never
//! empty; a refusal is a 4xx or 501 (SPEC B1).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lockwell_fuzz::assert_client_error;
use lockwell_proto::xml::parse_create_bucket_configuration;

fuzz_target!(|body: &[u8]| {
    match parse_create_bucket_configuration(body) {
        Ok(Some(region)) => assert!(!region.is_empty()),
        Ok(None) => {}
        Err(error) => {
            assert!(!body.iter().all(u8::is_ascii_whitespace));
            assert_client_error(&error);
        }
    }
});
