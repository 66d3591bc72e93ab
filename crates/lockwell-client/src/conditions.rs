//! Conditions a request can carry, as both clients express them.
//!
//! Typed rather than raw header strings so that a caller cannot send a
//! weak tag or a malformed list by accident; each renders to the HTTP
//! header S3 defines for it.

use lockwell_core::ETag;
use lockwell_proto::time::format_http_date_ms;

/// A write's precondition on the key it writes (SPEC C1, C1a, C2, C6, C7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteCondition {
    /// Create-only: `If-None-Match: *` (C1).
    IfAbsent,
    /// Overwrite-only: `If-Match: "<etag>"` (C2).
    IfMatch(ETag),
    /// Overwrite whatever exists: `If-Match: *`.
    IfExists,
    /// Write unless the current ETag is this one: `If-None-Match: "<etag>"`
    /// (C1a).
    IfNoneMatch(ETag),
}

impl WriteCondition {
    /// The header name and value.
    pub fn header(&self) -> (&'static str, String) {
        match self {
            Self::IfAbsent => ("if-none-match", "*".to_string()),
            Self::IfMatch(etag) => ("if-match", etag.to_string()),
            Self::IfExists => ("if-match", "*".to_string()),
            Self::IfNoneMatch(etag) => ("if-none-match", etag.to_string()),
        }
    }
}

/// Validator conditions of a read (SPEC E5) or of a copy's source (C8).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadConditions {
    pub if_match: Option<ETag>,
    pub if_none_match: Option<ETag>,
    pub if_modified_since_ms: Option<u64>,
    pub if_unmodified_since_ms: Option<u64>,
}

impl ReadConditions {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The headers, each name after `prefix` (`""` for a read,
    /// `"x-amz-copy-source-"` for a copy's source).
    pub fn headers(&self, prefix: &str) -> Vec<(String, String)> {
        let mut headers = Vec::new();
        if let Some(etag) = &self.if_match {
            headers.push((format!("{prefix}if-match"), etag.to_string()));
        }
        if let Some(etag) = &self.if_none_match {
            headers.push((format!("{prefix}if-none-match"), etag.to_string()));
        }
        if let Some(epoch_ms) = self.if_modified_since_ms {
            headers.push((
                format!("{prefix}if-modified-since"),
                format_http_date_ms(epoch_ms),
            ));
        }
        if let Some(epoch_ms) = self.if_unmodified_since_ms {
            headers.push((
                format!("{prefix}if-unmodified-since"),
                format_http_date_ms(epoch_ms),
            ));
        }
        headers
    }
}

/// A byte range of a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=start-end`, both inclusive.
    Inclusive { start: u64, end: u64 },
    /// `bytes=start-`.
    From { start: u64 },
    /// `bytes=-len`: the last `len` bytes.
    Suffix { len_bytes: u64 },
}

impl ByteRange {
    pub fn header_value(&self) -> String {
        match self {
            Self::Inclusive { start, end } => format!("bytes={start}-{end}"),
            Self::From { start } => format!("bytes={start}-"),
            Self::Suffix { len_bytes } => format!("bytes=-{len_bytes}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderMap;
    use lockwell_core::precondition::{ETagCondition, RequestETag};
    use lockwell_proto::headers;

    use super::*;

    fn header_map(pairs: &[(String, String)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    value.parse().unwrap(),
                )
            })
            .collect()
    }

    fn one(etag: &ETag) -> Option<ETagCondition> {
        Some(ETagCondition::OneOf(vec![RequestETag {
            etag: etag.clone(),
            weak: false,
        }]))
    }

    /// What the client renders, lockwell-proto's server-side parsers read
    /// back as the same condition.
    #[test]
    fn c1_c2_write_conditions_parse_back_on_the_server() {
        let etag = ETag::of_content(b"v1");
        let cases = [
            (WriteCondition::IfAbsent, None, Some(ETagCondition::Any)),
            (WriteCondition::IfMatch(etag.clone()), one(&etag), None),
            (WriteCondition::IfExists, Some(ETagCondition::Any), None),
            (WriteCondition::IfNoneMatch(etag.clone()), None, one(&etag)),
        ];
        for (condition, if_match, if_none_match) in cases {
            let (name, value) = condition.header();
            let parsed =
                headers::write_conditions(&header_map(&[(name.to_string(), value)])).unwrap();
            assert_eq!(
                (parsed.if_match, parsed.if_none_match),
                (if_match, if_none_match),
                "{condition:?}"
            );
        }
    }

    #[test]
    fn e5_c8_read_conditions_parse_back_on_the_server() {
        let etag = ETag::of_content(b"v1");
        let conditions = ReadConditions {
            if_match: Some(etag.clone()),
            if_none_match: Some(ETag::of_content(b"v2")),
            if_modified_since_ms: Some(1_255_369_830_000),
            if_unmodified_since_ms: Some(1_255_369_831_000),
        };
        let read = headers::read_conditions(&header_map(&conditions.headers(""))).unwrap();
        assert_eq!(read.if_match, one(&etag));
        assert_eq!(read.if_modified_since_ms, Some(1_255_369_830_000));
        let copy =
            headers::copy_source_conditions(&header_map(&conditions.headers("x-amz-copy-source-")))
                .unwrap();
        assert_eq!(copy, read);
        assert!(ReadConditions::default().headers("").is_empty());
        assert!(ReadConditions::default().is_empty());
    }

    #[test]
    fn ranges_render_as_s3_reads_them() {
        let cases = [
            (ByteRange::Inclusive { start: 0, end: 9 }, "bytes=0-9"),
            (ByteRange::From { start: 5 }, "bytes=5-"),
            (ByteRange::Suffix { len_bytes: 3 }, "bytes=-3"),
        ];
        for (range, expected) in cases {
            assert_eq!(range.header_value(), expected);
            assert!(headers::parse_range(expected).is_some(), "{expected}");
        }
    }
}
