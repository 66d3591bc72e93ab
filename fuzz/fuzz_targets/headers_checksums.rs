//! The checksum and body-encoding headers of lockwell-proto's `headers`
//! (SPEC K1-K5, K3): `x-amz-checksum-*`, `x-amz-sdk-checksum-algorithm`,
//! Content-MD5, the multipart checksum algorithm and type,
//! `x-amz-checksum-mode`, `x-amz-trailer`, `x-amz-decoded-content-length`
//! and Content-Encoding.
//!
//! Invariants: a supplied digest has its algorithm's length and round-trips
//! through base64; it agrees with the announced SDK algorithm; a trailer
//! algorithm is one S3 can send as a header; aws-chunked is never stored as
//! the object's Content-Encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lockwell_core::checksum::Digest;
use lockwell_fuzz::{FuzzHeader, header_map, with_common_headers};
use lockwell_proto::headers::{
    checksum_headers, checksum_mode_enabled, content_encoding, content_md5, decoded_content_length,
    multipart_checksum_algorithm, multipart_checksum_type, parse_content_md5, trailer,
};

const NAMES: &[&str] = &[
    "x-amz-checksum-crc32",
    "x-amz-checksum-crc32c",
    "x-amz-checksum-crc64nvme",
    "x-amz-checksum-sha1",
    "x-amz-checksum-sha256",
    "x-amz-checksum-md5",
    "x-amz-checksum-algorithm",
    "x-amz-checksum-type",
    "x-amz-checksum-mode",
    "x-amz-sdk-checksum-algorithm",
    "content-md5",
    "x-amz-trailer",
    "x-amz-decoded-content-length",
    "content-encoding",
];

fn check_digest(digest: &Digest) {
    assert_eq!(
        digest.as_bytes().len(),
        digest.algorithm().digest_len_bytes(),
        "{digest:?} has the wrong length"
    );
    assert!(digest.algorithm().s3_header_name().is_some());
    assert_eq!(
        Digest::from_base64(digest.algorithm(), &digest.to_base64()).as_ref(),
        Ok(digest),
        "{digest:?} does not round-trip through base64"
    );
}

fuzz_target!(|headers: Vec<FuzzHeader>| {
    let map = header_map(&with_common_headers(NAMES), &headers);
    if let Ok(checksums) = checksum_headers(&map)
        && let Some(digest) = &checksums.supplied
    {
        check_digest(digest);
        if let Some(sdk) = checksums.sdk_algorithm {
            assert_eq!(sdk, digest.algorithm());
        }
    }
    if let Ok(Some(algorithm)) = multipart_checksum_algorithm(&map) {
        assert!(algorithm.s3_header_name().is_some());
    }
    if let Ok(Some(algorithm)) = trailer(&map) {
        assert!(algorithm.s3_header_name().is_some());
    }
    if let Ok(encoding) = content_encoding(&map)
        && let Some(stored) = &encoding.stored
    {
        assert!(
            !stored
                .split(',')
                .any(|coding| coding.trim().eq_ignore_ascii_case("aws-chunked")),
            "aws-chunked stored as a content coding: {stored:?}"
        );
        assert!(!stored.is_empty());
    }
    let _ = multipart_checksum_type(&map);
    let _ = checksum_mode_enabled(&map);
    let _ = decoded_content_length(&map);
    let _ = content_md5(&map);
    for header in &headers {
        if let Ok(text) = std::str::from_utf8(&header.value) {
            let _ = parse_content_md5(text);
        }
    }
});
