//! lockwell-core's entity-tag parsers, `ETag::parse` and
//! `ETagCondition::parse`, and the write preconditions they feed (SPEC
//! E3, C1, C1a, C2).
//!
//! Invariants: a parsed ETag is 1..=`MAX_ETAG_LEN_BYTES` bytes without
//! quotes, quoted or not it parses to itself (E3); a condition list holds
//! 1..=`MAX_ETAGS_PER_CONDITION` tags; `If-None-Match` rejects a write over
//! any tag it lists and `*` over any object (C1, C1a); `If-Match` admits an
//! object whose ETag it lists strongly and answers 404 when there is none
//! (C2).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use lockwell_core::object::{ETag, MAX_ETAG_LEN_BYTES};
use lockwell_core::precondition::{
    ETagCondition, MAX_ETAGS_PER_CONDITION, Rejected, Rule, WriteConditions, evaluate_write,
};

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    etag: &'a str,
    condition: &'a str,
}

fn check_etag(etag: &ETag) {
    let bare = etag.as_str();
    assert!((1..=MAX_ETAG_LEN_BYTES).contains(&bare.len()), "{bare:?}");
    assert!(!bare.contains('"'), "{bare:?}");
    assert_eq!(etag.to_string(), format!("\"{bare}\""));
    assert_eq!(ETag::parse(&etag.to_string()).as_ref(), Ok(etag));
    // Unquoted, `W/...` reads as a weak tag, which is not an ETag of ours.
    if !bare.starts_with("W/") {
        assert_eq!(ETag::parse(bare).as_ref(), Ok(etag));
    }
}

fn check_condition(condition: ETagCondition) {
    let existing = ETag::of_content(b"some other object");
    let create_only = WriteConditions {
        if_none_match: Some(condition.clone()),
        if_match: None,
    };
    assert_eq!(evaluate_write(None, &create_only), Ok(()));
    let overwrite_only = WriteConditions {
        if_match: Some(condition.clone()),
        if_none_match: None,
    };
    assert_eq!(
        evaluate_write(None, &overwrite_only),
        Err(Rejected::NotFound { rule: Rule::C2 })
    );
    let tags = match condition {
        ETagCondition::Any => {
            assert!(evaluate_write(Some(&existing), &create_only).is_err());
            assert_eq!(evaluate_write(Some(&existing), &overwrite_only), Ok(()));
            return;
        }
        ETagCondition::OneOf(tags) => tags,
    };
    assert!((1..=MAX_ETAGS_PER_CONDITION).contains(&tags.len()));
    for tag in &tags {
        check_etag(&tag.etag);
        assert!(
            evaluate_write(Some(&tag.etag), &create_only).is_err(),
            "If-None-Match admitted a write over {} which it lists",
            tag.etag
        );
        let listed_strongly = tags
            .iter()
            .any(|other| !other.weak && other.etag == tag.etag);
        assert_eq!(
            evaluate_write(Some(&tag.etag), &overwrite_only).is_ok(),
            listed_strongly,
            "If-Match over {}",
            tag.etag
        );
    }
}

fuzz_target!(|input: Input<'_>| {
    if let Ok(etag) = ETag::parse(input.etag) {
        check_etag(&etag);
    }
    if let Ok(condition) = ETagCondition::parse(input.condition) {
        check_condition(condition);
    }
});
