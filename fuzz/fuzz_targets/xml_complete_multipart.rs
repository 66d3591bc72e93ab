//! `parse_complete_multipart_upload`: the CompleteMultipartUpload body.
//!
//! Invariants: an accepted list holds 1..=`MAX_MULTIPART_PARTS` parts in
//! strictly ascending part-number order, each numbered
//! 1..=`MAX_PART_NUMBER`, each checksum of its algorithm's length; a
//! refusal is a 4xx or 501 (SPEC B1).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lockwell_core::checksum::MAX_MULTIPART_PARTS;
use lockwell_fuzz::assert_client_error;
use lockwell_proto::xml::{MAX_PART_NUMBER, parse_complete_multipart_upload};

fuzz_target!(|body: &[u8]| {
    match parse_complete_multipart_upload(body) {
        Ok(parts) => {
            assert!((1..=MAX_MULTIPART_PARTS).contains(&parts.len()));
            for part in &parts {
                assert!((1..=MAX_PART_NUMBER).contains(&part.part_number));
                if let Some(checksum) = &part.checksum {
                    assert_eq!(
                        checksum.as_bytes().len(),
                        checksum.algorithm().digest_len_bytes()
                    );
                }
            }
            for pair in parts.windows(2) {
                assert!(pair[0].part_number < pair[1].part_number, "{pair:?}");
            }
        }
        Err(error) => assert_client_error(&error),
    }
});
