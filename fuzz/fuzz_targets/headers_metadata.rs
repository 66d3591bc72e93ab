//! `x-amz-meta-*` user metadata.
//!
//! Invariants: accepted metadata stays within
//! `MAX_USER_METADATA_LEN_BYTES`, names are non-empty and lowercase, and
//! every `x-amz-meta-*` header that was sent is in the result.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lockwell_fuzz::{FuzzHeader, header_map, with_common_headers};
use lockwell_proto::headers::{MAX_USER_METADATA_LEN_BYTES, user_metadata};

const NAMES: &[&str] = &[
    "x-amz-meta-",
    "x-amz-meta-a",
    "x-amz-meta-color",
    "x-amz-meta-owner",
    "x-amz-meta-long-name-for-a-metadata-entry",
];

fuzz_target!(|headers: Vec<FuzzHeader>| {
    let map = header_map(&with_common_headers(NAMES), &headers);
    let Ok(metadata) = user_metadata(&map) else {
        return;
    };
    let total_len_bytes: usize = metadata
        .iter()
        .map(|(name, value)| name.len() + value.len())
        .sum();
    assert!(total_len_bytes <= MAX_USER_METADATA_LEN_BYTES);
    for name in metadata.keys() {
        assert!(!name.is_empty());
        assert_eq!(name, &name.to_ascii_lowercase());
    }
    let sent = map
        .keys()
        .filter(|name| name.as_str().starts_with("x-amz-meta-"))
        .count();
    assert_eq!(sent, metadata.len());
});
