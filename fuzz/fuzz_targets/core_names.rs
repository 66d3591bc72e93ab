//! lockwell-core's name parsers, `BucketName::parse` and
//! `ObjectKey::parse`, and lockwell-proto's wrappers that give their
//! refusals S3 error codes.
//!
//! Invariants: an accepted name is kept byte for byte and obeys the rules
//! it was checked against (lengths, characters); the proto wrappers accept
//! exactly what core accepts and refuse with a 4xx.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lockwell_core::object::{
    BucketName, MAX_BUCKET_NAME_LEN_BYTES, MAX_OBJECT_KEY_LEN_BYTES, MIN_BUCKET_NAME_LEN_BYTES,
    ObjectKey,
};
use lockwell_fuzz::assert_client_error;
use lockwell_proto::route::{parse_bucket_name, parse_object_key};

fuzz_target!(|name: &str| {
    match BucketName::parse(name) {
        Ok(bucket) => {
            assert_eq!(bucket.as_str(), name);
            assert!((MIN_BUCKET_NAME_LEN_BYTES..=MAX_BUCKET_NAME_LEN_BYTES).contains(&name.len()));
            assert!(name.bytes().all(|byte| matches!(
                byte,
                b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-'
            )));
            assert!(!name.contains(".."));
            assert_eq!(parse_bucket_name(name).as_ref(), Ok(&bucket));
        }
        Err(_) => assert_client_error(&parse_bucket_name(name).expect_err("core refused it")),
    }
    match ObjectKey::parse(name) {
        Ok(key) => {
            assert_eq!(key.as_str(), name);
            assert!((1..=MAX_OBJECT_KEY_LEN_BYTES).contains(&name.len()));
            assert!(!name.chars().any(|c| c <= '\u{1F}'));
            assert_eq!(parse_object_key(name).as_ref(), Ok(&key));
        }
        Err(_) => assert_client_error(&parse_object_key(name).expect_err("core refused it")),
    }
});
