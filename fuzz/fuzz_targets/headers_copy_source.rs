//! `x-amz-copy-source` (string and `HeaderMap` forms) and
//! `x-amz-metadata-directive`.
//!
//! Invariants: a parsed source re-encodes to a value that parses back to
//! the same bucket, key and version; the `HeaderMap` form agrees with the
//! string form.
#![no_main]

use arbitrary::Arbitrary;
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use lockwell_fuzz::{FuzzHeader, header_map};
use lockwell_proto::headers::{copy_source, metadata_directive, parse_copy_source};

#[derive(Debug, Arbitrary)]
struct Input {
    value: String,
    headers: Vec<FuzzHeader>,
}

const NAMES: &[&str] = &["x-amz-copy-source", "x-amz-metadata-directive"];

/// Percent-encodes everything but unreserved characters and `/`, as SDKs
/// encode a copy source.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fuzz_target!(|input: Input| {
    let parsed = parse_copy_source(&input.value);
    if let Ok(source) = &parsed {
        let mut reencoded = format!(
            "/{}/{}",
            encode(source.bucket.as_str()),
            encode(source.key.as_str())
        );
        if let Some(version) = &source.version_id {
            reencoded.push_str("?versionId=");
            reencoded.push_str(&encode(version));
        }
        assert_eq!(
            parse_copy_source(&reencoded).as_ref(),
            Ok(source),
            "{reencoded:?} does not parse back"
        );
    }
    // Header values beyond ASCII are refused before parsing, by design.
    if input.value.is_ascii()
        && let Ok(value) = HeaderValue::from_str(&input.value)
    {
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-copy-source", value);
        assert_eq!(copy_source(&headers).map(Option::unwrap), parsed);
    }
    let map = header_map(NAMES, &input.headers);
    let _ = copy_source(&map);
    let _ = metadata_directive(&map);
});
