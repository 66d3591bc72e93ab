//! `Range` and `x-amz-copy-source-range` parsing and resolution against an
//! object length.
//!
//! Invariants: a resolved range lies inside the object and is never empty;
//! a copy-source range resolves exactly as written or not at all; the
//! `HeaderMap` form agrees with the string form.
#![no_main]

use arbitrary::Arbitrary;
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use lockwell_proto::headers::{
    ByteRange, RangeSpec, copy_source_range, parse_copy_source_range, parse_range, range,
};

#[derive(Debug, Arbitrary)]
struct Input {
    value: String,
    object_len_bytes: u64,
}

fn check_inside(byte_range: ByteRange, object_len_bytes: u64) {
    assert!(
        byte_range.start <= byte_range.end_inclusive,
        "{byte_range:?}"
    );
    assert!(
        byte_range.end_inclusive < object_len_bytes,
        "{byte_range:?}"
    );
    assert!(byte_range.len_bytes() <= object_len_bytes);
}

fuzz_target!(|input: Input| {
    let parsed = parse_range(&input.value);
    if let Some(spec) = parsed {
        if let RangeSpec::FromTo { first, last } = spec {
            assert!(first <= last, "{spec:?}");
        }
        if let Ok(byte_range) = spec.resolve(input.object_len_bytes) {
            check_inside(byte_range, input.object_len_bytes);
        }
    }
    let copy_range = parse_copy_source_range(&input.value);
    if let Ok(copy) = copy_range {
        assert!(copy.first <= copy.last);
        assert_eq!(
            parsed,
            Some(RangeSpec::FromTo {
                first: copy.first,
                last: copy.last
            })
        );
        if let Ok(byte_range) = copy.resolve(input.object_len_bytes) {
            check_inside(byte_range, input.object_len_bytes);
            assert_eq!(
                (byte_range.start, byte_range.end_inclusive),
                (copy.first, copy.last)
            );
        }
    }
    // Header values beyond ASCII are refused before parsing, by design.
    let Some(value) = Some(&input.value)
        .filter(|value| value.is_ascii())
        .and_then(|value| HeaderValue::from_str(value).ok())
    else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert("range", value.clone());
    headers.insert("x-amz-copy-source-range", value);
    assert_eq!(range(&headers), parsed);
    assert_eq!(copy_source_range(&headers).ok().flatten(), copy_range.ok());
});
