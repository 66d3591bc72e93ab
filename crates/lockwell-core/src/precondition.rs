//! Preconditions as pure functions of the current object state (SPEC C1-C8,
//! E5).
//!
//! Each `evaluate_*` function takes what the store holds for a key at one
//! instant and the conditions a request carries, and answers `Ok(())` or the
//! [`Rejected`] outcome naming the rule and the condition that failed (C9:
//! the XML `<Condition>` element and the native JSON `condition`). The store
//! calls them under the key's lock, which is what makes them atomic with the
//! commit (C3); here they know nothing about locks.
//!
//! Entity tags are compared as RFC 9110 says: `If-Match` with the strong
//! comparison (a weak tag never matches), `If-None-Match` with the weak one.
//! This store never issues weak tags (E3), so a weak tag in a request can
//! only be an echo of one of ours that a proxy weakened.
//!
//! Dates are milliseconds since the Unix epoch but compared in whole seconds,
//! the resolution of HTTP-dates: an object written at 10.5 s is reported as
//! `Last-Modified` 10 s, so `If-Modified-Since` 10 s must find it unmodified.

use std::fmt;

use crate::object::{ETag, ETagParseError, ObjectVersion};

/// The most entity tags one `If-Match` / `If-None-Match` list may hold.
/// RFC 9110 sets no limit; real clients send one. The bound keeps the
/// linear match cheap and a stored idempotency fingerprint small.
pub const MAX_ETAGS_PER_CONDITION: usize = 64;

/// A SPEC rule a precondition outcome is decided by.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// Create-only write, `If-None-Match: *`.
    C1,
    /// `If-None-Match` with entity tags on a write.
    C1a,
    /// Overwrite-only write, `If-Match`.
    C2,
    /// Conditional delete, `If-Match`.
    C6a,
    /// Copy destination preconditions (`requireAbsent`, `requireMatchEtag`).
    C7,
    /// Copy-source conditionals.
    C8,
    /// Conditional GET and HEAD.
    E5,
}

impl Rule {
    /// The id as SPEC.md writes it, for test names, logs and the checker.
    #[must_use]
    pub const fn id(self) -> &'static str {
        match self {
            Self::C1 => "C1",
            Self::C1a => "C1a",
            Self::C2 => "C2",
            Self::C6a => "C6a",
            Self::C7 => "C7",
            Self::C8 => "C8",
            Self::E5 => "E5",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A condition a request can carry; the one that failed goes into the error
/// body (C9).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Condition {
    IfMatch,
    IfNoneMatch,
    IfModifiedSince,
    IfUnmodifiedSince,
    CopySourceIfMatch,
    CopySourceIfNoneMatch,
    CopySourceIfModifiedSince,
    CopySourceIfUnmodifiedSince,
    /// Native copy: the destination must be absent (C7).
    RequireAbsent,
    /// Native copy: the destination's ETag must match (C7).
    RequireMatchEtag,
}

impl Condition {
    /// The S3 request header that carries the condition: the text of the
    /// `<Condition>` element of a 412 body (C9). The native-only copy
    /// destination conditions map to the headers S3 uses for the same test.
    #[must_use]
    pub const fn s3_header_name(self) -> &'static str {
        match self {
            Self::IfMatch | Self::RequireMatchEtag => "If-Match",
            Self::IfNoneMatch | Self::RequireAbsent => "If-None-Match",
            Self::IfModifiedSince => "If-Modified-Since",
            Self::IfUnmodifiedSince => "If-Unmodified-Since",
            Self::CopySourceIfMatch => "x-amz-copy-source-if-match",
            Self::CopySourceIfNoneMatch => "x-amz-copy-source-if-none-match",
            Self::CopySourceIfModifiedSince => "x-amz-copy-source-if-modified-since",
            Self::CopySourceIfUnmodifiedSince => "x-amz-copy-source-if-unmodified-since",
        }
    }

    /// The native API option name: the `condition` of a 412 JSON body (C9).
    #[must_use]
    pub const fn native_name(self) -> &'static str {
        match self {
            Self::IfMatch => "ifMatch",
            Self::IfNoneMatch => "ifNoneMatch",
            Self::IfModifiedSince => "ifModifiedSince",
            Self::IfUnmodifiedSince => "ifUnmodifiedSince",
            Self::CopySourceIfMatch => "sourceIfMatch",
            Self::CopySourceIfNoneMatch => "sourceIfNoneMatch",
            Self::CopySourceIfModifiedSince => "sourceIfModifiedSince",
            Self::CopySourceIfUnmodifiedSince => "sourceIfUnmodifiedSince",
            Self::RequireAbsent => "requireAbsent",
            Self::RequireMatchEtag => "requireMatchEtag",
        }
    }
}

/// Why a request was not applied. An outcome, not an error: nothing was
/// changed (C4).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// 412 PreconditionFailed.
    #[error("precondition failed ({rule}): {}", condition.s3_header_name())]
    PreconditionFailed { rule: Rule, condition: Condition },
    /// 404 NoSuchKey: the object the request is about does not exist (for a
    /// copy, the source).
    #[error("no such key ({rule})")]
    NotFound { rule: Rule },
    /// 304 Not Modified, for GET and HEAD only (E5).
    #[error("not modified (E5): {}", condition.s3_header_name())]
    NotModified { condition: Condition },
}

impl Rejected {
    /// The HTTP status both APIs answer with.
    #[must_use]
    pub const fn http_status(&self) -> u16 {
        match self {
            Self::PreconditionFailed { .. } => 412,
            Self::NotFound { .. } => 404,
            Self::NotModified { .. } => 304,
        }
    }

    /// The rule that decided the outcome.
    #[must_use]
    pub const fn rule(&self) -> Rule {
        match self {
            Self::PreconditionFailed { rule, .. } | Self::NotFound { rule } => *rule,
            Self::NotModified { .. } => Rule::E5,
        }
    }

    /// The condition that failed, where one did.
    #[must_use]
    pub const fn condition(&self) -> Option<Condition> {
        match self {
            Self::PreconditionFailed { condition, .. } | Self::NotModified { condition } => {
                Some(*condition)
            }
            Self::NotFound { .. } => None,
        }
    }
}

/// One entity tag of an `If-Match` / `If-None-Match` list, weak or strong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestETag {
    pub etag: ETag,
    pub weak: bool,
}

/// The value of an `If-Match` or `If-None-Match` condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ETagCondition {
    /// `*`: any existing object.
    Any,
    /// One to [`MAX_ETAGS_PER_CONDITION`] entity tags.
    OneOf(Vec<RequestETag>),
}

/// Why an `If-Match` / `If-None-Match` header value was rejected (B1: 400).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ETagConditionError {
    #[error("the header holds no entity tag")]
    Empty,
    #[error("more than {MAX_ETAGS_PER_CONDITION} entity tags")]
    TooMany,
    #[error("'*' must stand alone, not in a list of entity tags")]
    WildcardInList,
    #[error(
        "unexpected {character:?} at byte {position_bytes}; entity tags are separated by commas"
    )]
    Unexpected {
        character: char,
        position_bytes: usize,
    },
    #[error(transparent)]
    InvalidETag(#[from] ETagParseError),
}

impl ETagCondition {
    /// A condition on exactly one strong tag, as the native API sends it.
    #[must_use]
    pub fn one(etag: ETag) -> Self {
        Self::OneOf(vec![RequestETag { etag, weak: false }])
    }

    /// Parses a header value: `*`, or a comma-separated list of entity tags,
    /// each `"tag"` or `W/"tag"` (RFC 9110). A bare tag without quotes is
    /// accepted too, as S3 does (E3); it ends at the next comma.
    pub fn parse(header_value: &str) -> Result<Self, ETagConditionError> {
        const OPTIONAL_WHITESPACE: [char; 2] = [' ', '\t'];
        if header_value.trim_matches(OPTIONAL_WHITESPACE) == "*" {
            return Ok(Self::Any);
        }
        let mut tags = Vec::new();
        let mut rest = header_value;
        loop {
            rest = rest.trim_start_matches(|c| c == ',' || OPTIONAL_WHITESPACE.contains(&c));
            if rest.is_empty() {
                break;
            }
            if tags.len() == MAX_ETAGS_PER_CONDITION {
                return Err(ETagConditionError::TooMany);
            }
            let (weak, tag_start) = match rest.strip_prefix("W/") {
                Some(after) => (true, after),
                None => (false, rest),
            };
            let (tag_text, after_tag) = if let Some(quoted) = tag_start.strip_prefix('"') {
                let close = quoted.find('"').ok_or(ETagParseError::UnbalancedQuotes)?;
                let after = &quoted[close + 1..];
                let next = after.trim_start_matches(OPTIONAL_WHITESPACE);
                if let Some(character) = next.chars().next().filter(|&c| c != ',') {
                    return Err(ETagConditionError::Unexpected {
                        character,
                        position_bytes: header_value.len() - next.len(),
                    });
                }
                (&tag_start[..close + 2], after)
            } else {
                let end = tag_start.find(',').unwrap_or(tag_start.len());
                let bare = tag_start[..end].trim_end_matches(OPTIONAL_WHITESPACE);
                if bare == "*" {
                    return Err(ETagConditionError::WildcardInList);
                }
                if weak {
                    // `W/` must be followed by a quoted tag.
                    return Err(ETagParseError::UnbalancedQuotes.into());
                }
                (bare, &tag_start[end..])
            };
            tags.push(RequestETag {
                etag: ETag::parse(tag_text)?,
                weak,
            });
            rest = after_tag;
        }
        if tags.is_empty() {
            return Err(ETagConditionError::Empty);
        }
        Ok(Self::OneOf(tags))
    }

    /// RFC 9110 strong comparison, for `If-Match`: a weak tag never matches.
    fn matches_strongly(&self, current: &ETag) -> bool {
        match self {
            Self::Any => true,
            Self::OneOf(tags) => tags.iter().any(|tag| !tag.weak && tag.etag == *current),
        }
    }

    /// RFC 9110 weak comparison, for `If-None-Match`.
    fn matches_weakly(&self, current: &ETag) -> bool {
        match self {
            Self::Any => true,
            Self::OneOf(tags) => tags.iter().any(|tag| tag.etag == *current),
        }
    }
}

/// What the date and entity-tag conditions look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validators<'a> {
    pub etag: &'a ETag,
    pub last_modified_ms: u64,
}

impl<'a> From<&'a ObjectVersion> for Validators<'a> {
    fn from(version: &'a ObjectVersion) -> Self {
        Self {
            etag: &version.etag,
            last_modified_ms: version.last_modified_ms,
        }
    }
}

/// Conditions of a PutObject or CompleteMultipartUpload (C1, C1a, C2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteConditions {
    pub if_match: Option<ETagCondition>,
    pub if_none_match: Option<ETagCondition>,
}

impl WriteConditions {
    /// `If-None-Match: *` (C1).
    #[must_use]
    pub fn create_only() -> Self {
        Self {
            if_none_match: Some(ETagCondition::Any),
            ..Self::default()
        }
    }

    /// `If-Match: <etag>` (C2).
    #[must_use]
    pub fn if_match(etag: ETag) -> Self {
        Self {
            if_match: Some(ETagCondition::one(etag)),
            ..Self::default()
        }
    }
}

/// Decides a write against the current ETag of its key (`None`: absent).
///
/// RFC 9110 order: `If-Match` first. On an absent key it answers 404, as
/// AWS does (C2), also for `If-Match: *`.
pub fn evaluate_write(
    current: Option<&ETag>,
    conditions: &WriteConditions,
) -> Result<(), Rejected> {
    if let Some(if_match) = &conditions.if_match {
        let Some(current) = current else {
            return Err(Rejected::NotFound { rule: Rule::C2 });
        };
        if !if_match.matches_strongly(current) {
            return Err(Rejected::PreconditionFailed {
                rule: Rule::C2,
                condition: Condition::IfMatch,
            });
        }
    }
    if let (Some(if_none_match), Some(current)) = (&conditions.if_none_match, current)
        && if_none_match.matches_weakly(current)
    {
        let rule = match if_none_match {
            ETagCondition::Any => Rule::C1,
            ETagCondition::OneOf(_) => Rule::C1a,
        };
        return Err(Rejected::PreconditionFailed {
            rule,
            condition: Condition::IfNoneMatch,
        });
    }
    Ok(())
}

/// Conditions of a DeleteObject (C6a).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteConditions {
    pub if_match: Option<ETagCondition>,
}

/// Decides a delete. Without conditions, deleting an absent key succeeds
/// (S3 answers 204); with `If-Match` it is 404, as in AWS.
pub fn evaluate_delete(
    current: Option<&ETag>,
    conditions: &DeleteConditions,
) -> Result<(), Rejected> {
    let Some(if_match) = &conditions.if_match else {
        return Ok(());
    };
    let Some(current) = current else {
        return Err(Rejected::NotFound { rule: Rule::C6a });
    };
    if if_match.matches_strongly(current) {
        Ok(())
    } else {
        Err(Rejected::PreconditionFailed {
            rule: Rule::C6a,
            condition: Condition::IfMatch,
        })
    }
}

/// The native copy's destination precondition (C7).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CopyDestinationCondition {
    #[default]
    Unconditional,
    /// `requireAbsent`: create-only.
    RequireAbsent,
    /// `requireMatchEtag`: overwrite-only.
    RequireMatchEtag(ETag),
}

/// Decides a copy against its destination's current ETag. Unlike C2, an
/// absent destination under `requireMatchEtag` is 412, not 404: C7 says
/// "412 on failure" and the destination is not the object being read.
pub fn evaluate_copy_destination(
    current: Option<&ETag>,
    condition: &CopyDestinationCondition,
) -> Result<(), Rejected> {
    let failed = |condition| {
        Err(Rejected::PreconditionFailed {
            rule: Rule::C7,
            condition,
        })
    };
    match (condition, current) {
        (CopyDestinationCondition::Unconditional, _)
        | (CopyDestinationCondition::RequireAbsent, None) => Ok(()),
        (CopyDestinationCondition::RequireAbsent, Some(_)) => failed(Condition::RequireAbsent),
        (CopyDestinationCondition::RequireMatchEtag(expected), Some(current))
            if expected == current =>
        {
            Ok(())
        }
        (CopyDestinationCondition::RequireMatchEtag(_), _) => failed(Condition::RequireMatchEtag),
    }
}

/// The four validator conditions of RFC 9110, as a GET or HEAD carries them
/// (E5) and as CopyObject carries them for its source (C8).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidatorConditions {
    pub if_match: Option<ETagCondition>,
    pub if_none_match: Option<ETagCondition>,
    pub if_modified_since_ms: Option<u64>,
    pub if_unmodified_since_ms: Option<u64>,
}

/// Which validator condition failed first in RFC 9110 order.
#[expect(
    clippy::enum_variant_names,
    reason = "the variants are the header names"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FailedValidator {
    IfMatch,
    IfUnmodifiedSince,
    IfNoneMatch,
    IfModifiedSince,
}

fn whole_seconds(ms: u64) -> u64 {
    ms / 1000
}

/// RFC 9110 section 13.2.2 evaluation order, as S3 applies it:
/// 1. `If-Match`; when present, `If-Unmodified-Since` is not evaluated (a
///    holding `If-Match` overrides a failing `If-Unmodified-Since`).
/// 2. Otherwise `If-Unmodified-Since`.
/// 3. `If-None-Match`; when present, `If-Modified-Since` is not evaluated (a
///    passing `If-Modified-Since` cannot rescue a failing `If-None-Match`).
/// 4. Otherwise `If-Modified-Since`.
fn evaluate_validators(
    current: Validators<'_>,
    conditions: &ValidatorConditions,
) -> Result<(), FailedValidator> {
    let last_modified_s = whole_seconds(current.last_modified_ms);
    match (&conditions.if_match, conditions.if_unmodified_since_ms) {
        (Some(if_match), _) if !if_match.matches_strongly(current.etag) => {
            return Err(FailedValidator::IfMatch);
        }
        (None, Some(since_ms)) if last_modified_s > whole_seconds(since_ms) => {
            return Err(FailedValidator::IfUnmodifiedSince);
        }
        _ => {}
    }
    match (&conditions.if_none_match, conditions.if_modified_since_ms) {
        (Some(if_none_match), _) if if_none_match.matches_weakly(current.etag) => {
            Err(FailedValidator::IfNoneMatch)
        }
        (None, Some(since_ms)) if last_modified_s <= whole_seconds(since_ms) => {
            Err(FailedValidator::IfModifiedSince)
        }
        _ => Ok(()),
    }
}

/// Decides a GET or HEAD (E5): `If-Match` / `If-Unmodified-Since` failures
/// are 412, `If-None-Match` / `If-Modified-Since` failures 304, an absent
/// object 404 whatever the conditions.
pub fn evaluate_read(
    current: Option<Validators<'_>>,
    conditions: &ValidatorConditions,
) -> Result<(), Rejected> {
    let current = current.ok_or(Rejected::NotFound { rule: Rule::E5 })?;
    evaluate_validators(current, conditions).map_err(|failed| {
        let precondition_failed = |condition| Rejected::PreconditionFailed {
            rule: Rule::E5,
            condition,
        };
        match failed {
            FailedValidator::IfMatch => precondition_failed(Condition::IfMatch),
            FailedValidator::IfUnmodifiedSince => precondition_failed(Condition::IfUnmodifiedSince),
            FailedValidator::IfNoneMatch => Rejected::NotModified {
                condition: Condition::IfNoneMatch,
            },
            FailedValidator::IfModifiedSince => Rejected::NotModified {
                condition: Condition::IfModifiedSince,
            },
        }
    })
}

/// Decides a copy against its source (C8): every failure is 412, never
/// 304; an absent source is 404 NoSuchKey.
pub fn evaluate_copy_source(
    source: Option<Validators<'_>>,
    conditions: &ValidatorConditions,
) -> Result<(), Rejected> {
    let source = source.ok_or(Rejected::NotFound { rule: Rule::C8 })?;
    evaluate_validators(source, conditions).map_err(|failed| Rejected::PreconditionFailed {
        rule: Rule::C8,
        condition: match failed {
            FailedValidator::IfMatch => Condition::CopySourceIfMatch,
            FailedValidator::IfUnmodifiedSince => Condition::CopySourceIfUnmodifiedSince,
            FailedValidator::IfNoneMatch => Condition::CopySourceIfNoneMatch,
            FailedValidator::IfModifiedSince => Condition::CopySourceIfModifiedSince,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn etag(text: &str) -> ETag {
        ETag::parse(text).unwrap()
    }

    fn strong(text: &str) -> RequestETag {
        RequestETag {
            etag: etag(text),
            weak: false,
        }
    }

    fn weak(text: &str) -> RequestETag {
        RequestETag {
            etag: etag(text),
            weak: true,
        }
    }

    fn one_of(tags: &[RequestETag]) -> Option<ETagCondition> {
        Some(ETagCondition::OneOf(tags.to_vec()))
    }

    fn failed(rule: Rule, condition: Condition) -> Result<(), Rejected> {
        Err(Rejected::PreconditionFailed { rule, condition })
    }

    fn not_found(rule: Rule) -> Result<(), Rejected> {
        Err(Rejected::NotFound { rule })
    }

    fn not_modified(condition: Condition) -> Result<(), Rejected> {
        Err(Rejected::NotModified { condition })
    }

    /// A table row: case name, the current ETag (`None`: absent), the
    /// conditions, the expected outcome.
    type Case<'a, Conditions> = (
        &'static str,
        Option<&'a ETag>,
        &'a Conditions,
        Result<(), Rejected>,
    );

    #[test]
    fn e3_etag_condition_parse() {
        let many = vec!["\"t\""; MAX_ETAGS_PER_CONDITION].join(",");
        let too_many = vec!["\"t\""; MAX_ETAGS_PER_CONDITION + 1].join(",");
        let cases: &[(&str, Result<ETagCondition, ETagConditionError>)] = &[
            ("*", Ok(ETagCondition::Any)),
            (" * ", Ok(ETagCondition::Any)),
            ("\"abc\"", Ok(ETagCondition::OneOf(vec![strong("abc")]))),
            ("abc", Ok(ETagCondition::OneOf(vec![strong("abc")]))),
            ("W/\"abc\"", Ok(ETagCondition::OneOf(vec![weak("abc")]))),
            (
                "\"a\", W/\"b\" ,c",
                Ok(ETagCondition::OneOf(vec![
                    strong("a"),
                    weak("b"),
                    strong("c"),
                ])),
            ),
            ("\"a,b\"", Ok(ETagCondition::OneOf(vec![strong("a,b")]))),
            (" , \"a\" ,, ", Ok(ETagCondition::OneOf(vec![strong("a")]))),
            (
                &many,
                Ok(ETagCondition::OneOf(vec![
                    strong("t");
                    MAX_ETAGS_PER_CONDITION
                ])),
            ),
            (&too_many, Err(ETagConditionError::TooMany)),
            ("", Err(ETagConditionError::Empty)),
            (" , ", Err(ETagConditionError::Empty)),
            ("\"a\", *", Err(ETagConditionError::WildcardInList)),
            (
                "\"a\" \"b\"",
                Err(ETagConditionError::Unexpected {
                    character: '"',
                    position_bytes: 4,
                }),
            ),
            ("\"abc", Err(ETagParseError::UnbalancedQuotes.into())),
            ("W/abc", Err(ETagParseError::UnbalancedQuotes.into())),
            (
                "\"a b\"",
                Err(ETagParseError::InvalidCharacter {
                    character: ' ',
                    position_bytes: 1,
                }
                .into()),
            ),
        ];
        for (header, expected) in cases {
            assert_eq!(&ETagCondition::parse(header), expected, "{header:?}");
        }
    }

    #[test]
    fn c1_c1a_c2_write_conditions() {
        let none = WriteConditions::default();
        let create_only = WriteConditions::create_only();
        let if_match_a = WriteConditions::if_match(etag("a"));
        let if_match_any = WriteConditions {
            if_match: Some(ETagCondition::Any),
            ..WriteConditions::default()
        };
        let if_match_weak_a = WriteConditions {
            if_match: one_of(&[weak("a")]),
            ..WriteConditions::default()
        };
        let if_match_list = WriteConditions {
            if_match: one_of(&[strong("x"), strong("a")]),
            ..WriteConditions::default()
        };
        let if_none_match_a_b = WriteConditions {
            if_none_match: one_of(&[strong("a"), strong("b")]),
            ..WriteConditions::default()
        };
        let if_none_match_weak_a = WriteConditions {
            if_none_match: one_of(&[weak("a")]),
            ..WriteConditions::default()
        };
        let both = WriteConditions {
            if_match: Some(ETagCondition::one(etag("a"))),
            if_none_match: one_of(&[strong("a")]),
        };
        let a = etag("a");
        let c = etag("c");
        let cases: &[Case<'_, WriteConditions>] = &[
            ("unconditional on absent", None, &none, Ok(())),
            ("unconditional on present", Some(&a), &none, Ok(())),
            ("C1 create-only on absent", None, &create_only, Ok(())),
            (
                "C1 create-only on present",
                Some(&a),
                &create_only,
                failed(Rule::C1, Condition::IfNoneMatch),
            ),
            ("C2 matching", Some(&a), &if_match_a, Ok(())),
            (
                "C2 mismatch",
                Some(&c),
                &if_match_a,
                failed(Rule::C2, Condition::IfMatch),
            ),
            ("C2 absent is 404", None, &if_match_a, not_found(Rule::C2)),
            ("C2 star on present", Some(&c), &if_match_any, Ok(())),
            (
                "C2 star on absent is 404",
                None,
                &if_match_any,
                not_found(Rule::C2),
            ),
            (
                "C2 weak tag never matches strongly",
                Some(&a),
                &if_match_weak_a,
                failed(Rule::C2, Condition::IfMatch),
            ),
            ("C2 list with a match", Some(&a), &if_match_list, Ok(())),
            ("C1a absent", None, &if_none_match_a_b, Ok(())),
            ("C1a none equal", Some(&c), &if_none_match_a_b, Ok(())),
            (
                "C1a one equal",
                Some(&a),
                &if_none_match_a_b,
                failed(Rule::C1a, Condition::IfNoneMatch),
            ),
            (
                "C1a weak comparison",
                Some(&a),
                &if_none_match_weak_a,
                failed(Rule::C1a, Condition::IfNoneMatch),
            ),
            (
                "If-Match holds, then If-None-Match fails",
                Some(&a),
                &both,
                failed(Rule::C1a, Condition::IfNoneMatch),
            ),
            ("If-Match first on absent", None, &both, not_found(Rule::C2)),
        ];
        for (name, current, conditions, expected) in cases {
            assert_eq!(&evaluate_write(*current, conditions), expected, "{name}");
        }
    }

    #[test]
    fn c6a_delete_conditions() {
        let a = etag("a");
        let c = etag("c");
        let unconditional = DeleteConditions::default();
        let if_match_a = DeleteConditions {
            if_match: Some(ETagCondition::one(etag("a"))),
        };
        let if_match_any = DeleteConditions {
            if_match: Some(ETagCondition::Any),
        };
        let cases: &[Case<'_, DeleteConditions>] = &[
            ("unconditional on absent", None, &unconditional, Ok(())),
            ("unconditional on present", Some(&a), &unconditional, Ok(())),
            ("matching", Some(&a), &if_match_a, Ok(())),
            (
                "mismatch",
                Some(&c),
                &if_match_a,
                failed(Rule::C6a, Condition::IfMatch),
            ),
            ("absent is 404", None, &if_match_a, not_found(Rule::C6a)),
            (
                "star deletes whatever exists",
                Some(&c),
                &if_match_any,
                Ok(()),
            ),
            (
                "star on absent is 404",
                None,
                &if_match_any,
                not_found(Rule::C6a),
            ),
        ];
        for (name, current, conditions, expected) in cases {
            assert_eq!(&evaluate_delete(*current, conditions), expected, "{name}");
        }
    }

    #[test]
    fn c7_copy_destination_conditions() {
        let a = etag("a");
        let c = etag("c");
        let require_a = CopyDestinationCondition::RequireMatchEtag(etag("a"));
        let cases: &[Case<'_, CopyDestinationCondition>] = &[
            (
                "unconditional",
                Some(&a),
                &CopyDestinationCondition::Unconditional,
                Ok(()),
            ),
            (
                "require absent, absent",
                None,
                &CopyDestinationCondition::RequireAbsent,
                Ok(()),
            ),
            (
                "require absent, present",
                Some(&a),
                &CopyDestinationCondition::RequireAbsent,
                failed(Rule::C7, Condition::RequireAbsent),
            ),
            ("require match, matching", Some(&a), &require_a, Ok(())),
            (
                "require match, mismatch",
                Some(&c),
                &require_a,
                failed(Rule::C7, Condition::RequireMatchEtag),
            ),
            (
                "require match, absent is 412",
                None,
                &require_a,
                failed(Rule::C7, Condition::RequireMatchEtag),
            ),
        ];
        for (name, current, condition, expected) in cases {
            assert_eq!(
                &evaluate_copy_destination(*current, condition),
                expected,
                "{name}"
            );
        }
    }

    /// One validator case: conditions against an object with ETag "a"
    /// modified at 10.5 s, and the outcome for a GET (E5) and as a copy
    /// source (C8).
    struct ValidatorCase {
        name: &'static str,
        conditions: ValidatorConditions,
        read: Result<(), Rejected>,
        copy_source: Result<(), Rejected>,
    }

    fn validator_cases() -> Vec<ValidatorCase> {
        let if_match = |tag: &str| Some(ETagCondition::one(etag(tag)));
        let earlier_ms = Some(9_000);
        let same_second_ms = Some(10_000);
        let later_ms = Some(11_000);
        let case = |name, conditions, read, copy_source| ValidatorCase {
            name,
            conditions,
            read,
            copy_source,
        };
        vec![
            case(
                "no conditions",
                ValidatorConditions::default(),
                Ok(()),
                Ok(()),
            ),
            case(
                "If-Match holds",
                ValidatorConditions {
                    if_match: if_match("a"),
                    ..ValidatorConditions::default()
                },
                Ok(()),
                Ok(()),
            ),
            case(
                "If-Match fails",
                ValidatorConditions {
                    if_match: if_match("b"),
                    ..ValidatorConditions::default()
                },
                failed(Rule::E5, Condition::IfMatch),
                failed(Rule::C8, Condition::CopySourceIfMatch),
            ),
            case(
                "If-Match with a weak tag fails",
                ValidatorConditions {
                    if_match: one_of(&[weak("a")]),
                    ..ValidatorConditions::default()
                },
                failed(Rule::E5, Condition::IfMatch),
                failed(Rule::C8, Condition::CopySourceIfMatch),
            ),
            case(
                "If-Unmodified-Since in the same second holds",
                ValidatorConditions {
                    if_unmodified_since_ms: same_second_ms,
                    ..ValidatorConditions::default()
                },
                Ok(()),
                Ok(()),
            ),
            case(
                "If-Unmodified-Since before the write fails",
                ValidatorConditions {
                    if_unmodified_since_ms: earlier_ms,
                    ..ValidatorConditions::default()
                },
                failed(Rule::E5, Condition::IfUnmodifiedSince),
                failed(Rule::C8, Condition::CopySourceIfUnmodifiedSince),
            ),
            case(
                "If-Match holds, so a failing If-Unmodified-Since is ignored",
                ValidatorConditions {
                    if_match: if_match("a"),
                    if_unmodified_since_ms: earlier_ms,
                    ..ValidatorConditions::default()
                },
                Ok(()),
                Ok(()),
            ),
            case(
                "If-Match fails and If-Unmodified-Since would hold",
                ValidatorConditions {
                    if_match: if_match("b"),
                    if_unmodified_since_ms: later_ms,
                    ..ValidatorConditions::default()
                },
                failed(Rule::E5, Condition::IfMatch),
                failed(Rule::C8, Condition::CopySourceIfMatch),
            ),
            case(
                "If-None-Match with another tag holds",
                ValidatorConditions {
                    if_none_match: if_match("b"),
                    ..ValidatorConditions::default()
                },
                Ok(()),
                Ok(()),
            ),
            case(
                "If-None-Match star fails",
                ValidatorConditions {
                    if_none_match: Some(ETagCondition::Any),
                    ..ValidatorConditions::default()
                },
                not_modified(Condition::IfNoneMatch),
                failed(Rule::C8, Condition::CopySourceIfNoneMatch),
            ),
            case(
                "If-None-Match weak comparison fails",
                ValidatorConditions {
                    if_none_match: one_of(&[weak("a")]),
                    ..ValidatorConditions::default()
                },
                not_modified(Condition::IfNoneMatch),
                failed(Rule::C8, Condition::CopySourceIfNoneMatch),
            ),
            case(
                "If-Modified-Since before the write holds",
                ValidatorConditions {
                    if_modified_since_ms: earlier_ms,
                    ..ValidatorConditions::default()
                },
                Ok(()),
                Ok(()),
            ),
            case(
                "If-Modified-Since in the same second fails",
                ValidatorConditions {
                    if_modified_since_ms: same_second_ms,
                    ..ValidatorConditions::default()
                },
                not_modified(Condition::IfModifiedSince),
                failed(Rule::C8, Condition::CopySourceIfModifiedSince),
            ),
            case(
                "If-None-Match fails, a passing If-Modified-Since does not rescue it",
                ValidatorConditions {
                    if_none_match: if_match("a"),
                    if_modified_since_ms: earlier_ms,
                    ..ValidatorConditions::default()
                },
                not_modified(Condition::IfNoneMatch),
                failed(Rule::C8, Condition::CopySourceIfNoneMatch),
            ),
            case(
                "If-None-Match holds, so a failing If-Modified-Since is ignored",
                ValidatorConditions {
                    if_none_match: if_match("b"),
                    if_modified_since_ms: later_ms,
                    ..ValidatorConditions::default()
                },
                Ok(()),
                Ok(()),
            ),
            case(
                "a failing If-Match wins over a failing If-None-Match",
                ValidatorConditions {
                    if_match: if_match("b"),
                    if_none_match: if_match("a"),
                    ..ValidatorConditions::default()
                },
                failed(Rule::E5, Condition::IfMatch),
                failed(Rule::C8, Condition::CopySourceIfMatch),
            ),
            case(
                "a failing If-Unmodified-Since wins over a failing If-Modified-Since",
                ValidatorConditions {
                    if_unmodified_since_ms: earlier_ms,
                    if_modified_since_ms: later_ms,
                    ..ValidatorConditions::default()
                },
                failed(Rule::E5, Condition::IfUnmodifiedSince),
                failed(Rule::C8, Condition::CopySourceIfUnmodifiedSince),
            ),
        ]
    }

    #[test]
    fn e5_read_conditions() {
        let a = etag("a");
        let current = Validators {
            etag: &a,
            last_modified_ms: 10_500,
        };
        for case in validator_cases() {
            assert_eq!(
                evaluate_read(Some(current), &case.conditions),
                case.read,
                "{}",
                case.name
            );
            assert_eq!(
                evaluate_read(None, &case.conditions),
                not_found(Rule::E5),
                "{} on an absent object",
                case.name
            );
        }
    }

    #[test]
    fn c8_copy_source_conditions() {
        let a = etag("a");
        let source = Validators {
            etag: &a,
            last_modified_ms: 10_500,
        };
        for case in validator_cases() {
            let outcome = evaluate_copy_source(Some(source), &case.conditions);
            assert_eq!(outcome, case.copy_source, "{}", case.name);
            assert_ne!(
                outcome.map_err(|rejected| rejected.http_status()),
                Err(304),
                "C8: a failed source condition is never 304 ({})",
                case.name
            );
            assert_eq!(
                evaluate_copy_source(None, &case.conditions),
                not_found(Rule::C8),
                "{} on an absent source",
                case.name
            );
        }
    }

    #[test]
    fn c9_rejections_name_status_rule_and_condition() {
        let cases = [
            (
                Rejected::PreconditionFailed {
                    rule: Rule::C2,
                    condition: Condition::IfMatch,
                },
                412,
                "C2",
                Some(("If-Match", "ifMatch")),
                "precondition failed (C2): If-Match",
            ),
            (
                Rejected::PreconditionFailed {
                    rule: Rule::C7,
                    condition: Condition::RequireAbsent,
                },
                412,
                "C7",
                Some(("If-None-Match", "requireAbsent")),
                "precondition failed (C7): If-None-Match",
            ),
            (
                Rejected::PreconditionFailed {
                    rule: Rule::C8,
                    condition: Condition::CopySourceIfModifiedSince,
                },
                412,
                "C8",
                Some((
                    "x-amz-copy-source-if-modified-since",
                    "sourceIfModifiedSince",
                )),
                "precondition failed (C8): x-amz-copy-source-if-modified-since",
            ),
            (
                Rejected::NotFound { rule: Rule::C6a },
                404,
                "C6a",
                None,
                "no such key (C6a)",
            ),
            (
                Rejected::NotModified {
                    condition: Condition::IfNoneMatch,
                },
                304,
                "E5",
                Some(("If-None-Match", "ifNoneMatch")),
                "not modified (E5): If-None-Match",
            ),
        ];
        for (rejected, status, rule, names, message) in cases {
            assert_eq!(rejected.http_status(), status, "{rejected:?}");
            assert_eq!(rejected.rule().id(), rule, "{rejected:?}");
            assert_eq!(
                rejected
                    .condition()
                    .map(|condition| (condition.s3_header_name(), condition.native_name())),
                names,
                "{rejected:?}"
            );
            assert_eq!(rejected.to_string(), message);
        }
    }
}
