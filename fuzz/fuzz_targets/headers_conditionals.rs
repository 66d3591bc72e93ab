//! The conditional-header parsers of lockwell-proto's `headers`: write,
//! delete, read (GET/HEAD) and copy-source conditions (SPEC C1-C8, E5).
//!
//! Invariants: a parsed entity-tag list holds 1..=`MAX_ETAGS_PER_CONDITION`
//! tags and each tag round-trips through its displayed form; an
//! `If-None-Match` on a delete is always refused; a write parsed with
//! `If-None-Match: *` rejects every existing object (C1).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lockwell_core::object::ETag;
use lockwell_core::precondition::{
    ETagCondition, MAX_ETAGS_PER_CONDITION, Rejected, evaluate_write,
};
use lockwell_fuzz::{FuzzHeader, header_map, with_common_headers};
use lockwell_proto::headers::{
    copy_source_conditions, delete_conditions, read_conditions, write_conditions,
};

const NAMES: &[&str] = &[
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "x-amz-copy-source-if-match",
    "x-amz-copy-source-if-none-match",
    "x-amz-copy-source-if-modified-since",
    "x-amz-copy-source-if-unmodified-since",
];

fn check_condition(condition: Option<&ETagCondition>) {
    let Some(ETagCondition::OneOf(tags)) = condition else {
        return;
    };
    assert!(
        (1..=MAX_ETAGS_PER_CONDITION).contains(&tags.len()),
        "{} tags in one condition",
        tags.len()
    );
    for tag in tags {
        let displayed = tag.etag.to_string();
        assert_eq!(
            ETag::parse(&displayed).as_ref(),
            Ok(&tag.etag),
            "{displayed} does not parse back"
        );
    }
}

fuzz_target!(|headers: Vec<FuzzHeader>| {
    let map = header_map(&with_common_headers(NAMES), &headers);
    if let Ok(conditions) = write_conditions(&map) {
        check_condition(conditions.if_match.as_ref());
        check_condition(conditions.if_none_match.as_ref());
        if conditions.if_none_match == Some(ETagCondition::Any) {
            let existing = ETag::of_content(b"existing");
            assert!(
                matches!(
                    evaluate_write(Some(&existing), &conditions),
                    Err(Rejected::PreconditionFailed { .. } | Rejected::NotFound { .. })
                ),
                "If-None-Match: * let a write replace an existing object"
            );
        }
    }
    if let Ok(conditions) = delete_conditions(&map) {
        assert!(!map.contains_key("if-none-match"));
        check_condition(conditions.if_match.as_ref());
    }
    for conditions in [read_conditions(&map), copy_source_conditions(&map)]
        .into_iter()
        .flatten()
    {
        check_condition(conditions.if_match.as_ref());
        check_condition(conditions.if_none_match.as_ref());
    }
});
