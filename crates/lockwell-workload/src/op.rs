//! Abstract client operations: what a client means to do, with the values
//! it will write, but not the ETags it will read on the way (those exist
//! only at run time; the history records them).

use serde::{Deserialize, Serialize};

/// One logical operation of a client. Ops that read before they write
/// ("`...Read`" conditions, [`Op::Cas`]) do so as separate requests; the
/// history records each request.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// PUT with `If-None-Match: *` (C1): writes only if `key` is absent.
    CreateOnly {
        key: String,
        value: String,
    },
    /// Read-modify-write of a counter: GET `key`, then PUT the next
    /// [`CounterValue`] with `If-Match` of the ETag read (C2); when the key
    /// is absent, PUT count 1 with `If-None-Match: *` (C1). One attempt: a
    /// lost race is a 412, not a retry.
    Cas {
        key: String,
        tag: String,
    },
    /// Unconditional PUT.
    Put {
        key: String,
        value: String,
    },
    Get {
        key: String,
    },
    /// DELETE; with `if_match`, GET first and delete only if the ETag read
    /// is still current (C6a).
    Delete {
        key: String,
        if_match: bool,
    },
    /// CopyObject of `source` onto `destination` under `condition` (C7,
    /// C8).
    Copy {
        source: String,
        destination: String,
        condition: CopyCondition,
    },
    /// Create a multipart upload, upload `parts` in order, complete it
    /// under `condition` (C6; C3 across the multi-step upload). The object
    /// is the parts concatenated.
    MultipartComplete {
        key: String,
        parts: Vec<String>,
        condition: WriteCondition,
    },
    /// PUT carrying `idempotency_key` under `condition`, sent up to
    /// `attempts` times with the same key and body while the outcome is
    /// unknown (a timeout, a lost response): I1 says all attempts together
    /// take effect at most once.
    IdempotentPut {
        key: String,
        idempotency_key: String,
        value: String,
        condition: WriteCondition,
        attempts: u32,
    },
}

impl Op {
    #[must_use]
    pub const fn kind(&self) -> OpKind {
        match self {
            Self::CreateOnly { .. } => OpKind::CreateOnly,
            Self::Cas { .. } => OpKind::Cas,
            Self::Put { .. } => OpKind::Put,
            Self::Get { .. } => OpKind::Get,
            Self::Delete {
                if_match: false, ..
            } => OpKind::Delete,
            Self::Delete { if_match: true, .. } => OpKind::ConditionalDelete,
            Self::Copy { .. } => OpKind::Copy,
            Self::MultipartComplete { .. } => OpKind::MultipartComplete,
            Self::IdempotentPut { .. } => OpKind::IdempotentPut,
        }
    }

    /// The key the op writes or reads (a copy's destination).
    #[must_use]
    pub fn key(&self) -> &str {
        match self {
            Self::CreateOnly { key, .. }
            | Self::Cas { key, .. }
            | Self::Put { key, .. }
            | Self::Get { key }
            | Self::Delete { key, .. }
            | Self::MultipartComplete { key, .. }
            | Self::IdempotentPut { key, .. } => key,
            Self::Copy { destination, .. } => destination,
        }
    }
}

/// The kinds of op a workload's mix weighs, in the order of
/// [`crate::spec::OpMix`]'s fields.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    CreateOnly,
    Cas,
    Put,
    Get,
    Delete,
    ConditionalDelete,
    Copy,
    MultipartComplete,
    IdempotentPut,
}

/// The condition of a write that is not a plain create or CAS.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteCondition {
    /// No condition: the write always lands.
    None,
    /// `If-None-Match: *` (C1).
    IfAbsent,
    /// GET the key first, then `If-Match` of the ETag read (C2); when the
    /// key is absent, `If-None-Match: *` instead.
    IfMatchRead,
}

/// The condition of a conditional copy.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CopyCondition {
    /// Destination create-only: native `requireAbsent`, S3
    /// `If-None-Match: *` (C7).
    DestinationAbsent,
    /// GET the destination first, then native `requireMatchEtag` / S3
    /// `If-Match` of the ETag read (C7); absent: as `DestinationAbsent`.
    DestinationMatchesRead,
    /// GET the source first, then `x-amz-copy-source-if-match` of the ETag
    /// read (C8): the copy holds exactly that version or fails with 412.
    SourceMatchesRead,
}

/// The value a [`Op::Cas`] writes: a count and the writer's unique tag,
/// as text (`"3 c1-o17"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterValue {
    pub count: u64,
    pub tag: String,
}

impl CounterValue {
    /// The value a CAS writes after reading `read` (`None`: the key was
    /// absent). A value that is not a counter (a plain put's, in a mixed
    /// workload) counts as 0.
    #[must_use]
    pub fn next_after(read: Option<&str>, tag: &str) -> Self {
        let count = read
            .and_then(Self::parse)
            .map_or(0, |counter| counter.count);
        Self {
            count: count + 1,
            tag: tag.to_owned(),
        }
    }

    #[must_use]
    pub fn encode(&self) -> String {
        format!("{} {}", self.count, self.tag)
    }

    /// `None` for text that [`CounterValue::encode`] did not produce.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let (count, tag) = text.split_once(' ')?;
        if count.is_empty() || !count.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
        Some(Self {
            count: count.parse().ok()?,
            tag: tag.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_values_round_trip_and_count_up_from_absent_or_foreign_values() {
        let first = CounterValue::next_after(None, "c0-o0");
        assert_eq!(first.encode(), "1 c0-o0");
        let second = CounterValue::next_after(Some(&first.encode()), "c1-o4..");
        assert_eq!(second.encode(), "2 c1-o4..");
        assert_eq!(CounterValue::parse(&second.encode()), Some(second));
        for foreign in [
            "",
            "c0-o1",
            " c0-o1",
            "+1 c0-o1",
            "x1 c0",
            "99999999999999999999 c",
        ] {
            assert_eq!(CounterValue::parse(foreign), None, "{foreign:?}");
            assert_eq!(CounterValue::next_after(Some(foreign), "t").count, 1);
        }
    }

    #[test]
    fn a_copy_is_keyed_by_its_destination_and_deletes_by_their_condition() {
        let copy = Op::Copy {
            source: "k1".into(),
            destination: "k2".into(),
            condition: CopyCondition::SourceMatchesRead,
        };
        assert_eq!(copy.key(), "k2");
        let delete = |if_match| Op::Delete {
            key: "k".into(),
            if_match,
        };
        assert_eq!(delete(false).kind(), OpKind::Delete);
        assert_eq!(delete(true).kind(), OpKind::ConditionalDelete);
    }
}
