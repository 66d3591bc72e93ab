//! The store against a reference model: random sequences of puts with
//! random conditions, deletes, copies, conditional reads, listings,
//! idempotent claims that commit, replay, mismatch or are released, and time
//! jumping across the retention window. After every operation the store's
//! answer must equal the model's, and at the end a store rebuilt from the
//! journal must hold the same objects and replay the same stored results.
//!
//! The model is a `BTreeMap` and the SPEC rules written out plainly, with
//! its own representation of conditions and its own MD5; it shares only the
//! result types with the code under test.

use std::collections::BTreeMap;
use std::convert::Infallible;

use md5::{Digest as _, Md5};
use proptest::prelude::*;

use lockwell_core::checksum::{ChecksumAlgorithm, digest};
use lockwell_core::idempotency::{
    ClaimOutcome, ClaimTicket, Fingerprint, IdempotencyConfig, IdempotencyKey, IdempotencyScope,
    Principal, StoredOutcome,
};
use lockwell_core::object::{BucketName, ETag, NewObject, ObjectKey, ObjectPath};
use lockwell_core::precondition::{
    Condition, CopyDestinationCondition, DeleteConditions, ETagCondition, Rejected, RequestETag,
    Rule, ValidatorConditions, Validators, WriteConditions, evaluate_read,
};
use lockwell_core::store::{
    CommitError, CommitRecord, Committed, CopyRequest, Deleted, ListQuery, MetadataDirective,
    Store, StoreConfig,
};

const RETENTION_MS: u64 = 10_000;
const CAPACITY_RECORDS: usize = 3;
const START_MS: u64 = 1_000_000;

/// Keys chosen so that prefixes select different subsets.
const KEYS: [&str; 3] = ["a", "ab", "b"];
const PREFIXES: [&str; 4] = ["", "a", "b", "c"];
const CONTENTS: [&str; 3] = ["zero", "one", "two"];
const PRINCIPALS: [&str; 2] = ["alice", "bob"];
const IDEMPOTENCY_KEYS: [&str; 2] = ["op-1", "op-2"];

fn md5_hex(content: &[u8]) -> String {
    Md5::digest(content)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Where a condition's entity tag comes from: the tag of one of the
/// contents, or whatever a key holds when the operation runs.
#[derive(Debug, Clone)]
enum TagSource {
    OfContent(usize),
    CurrentOf(usize),
}

#[derive(Debug, Clone)]
enum TagListChoice {
    Any,
    Tags(Vec<(TagSource, bool)>),
}

/// Seconds relative to the current time, whole or not.
#[derive(Debug, Clone)]
enum DateChoice {
    BeforeNow { ms: u64 },
    LastModifiedOf { key: usize, plus_ms: u64 },
}

#[derive(Debug, Clone, Default)]
struct WriteChoice {
    if_match: Option<TagListChoice>,
    if_none_match: Option<TagListChoice>,
}

#[derive(Debug, Clone, Default)]
struct ValidatorChoice {
    if_match: Option<TagListChoice>,
    if_none_match: Option<TagListChoice>,
    if_modified_since: Option<DateChoice>,
    if_unmodified_since: Option<DateChoice>,
}

#[derive(Debug, Clone)]
enum DestinationChoice {
    Unconditional,
    RequireAbsent,
    RequireMatch(TagSource),
}

#[derive(Debug, Clone)]
enum Op {
    Put {
        key: usize,
        content: usize,
        conditions: WriteChoice,
    },
    Delete {
        key: usize,
        if_match: Option<TagListChoice>,
    },
    Copy {
        source: usize,
        destination: usize,
        source_conditions: ValidatorChoice,
        destination_condition: DestinationChoice,
    },
    Get {
        key: usize,
        conditions: ValidatorChoice,
    },
    List {
        prefix: usize,
        start_after: Option<usize>,
        max_keys: usize,
    },
    Claim {
        principal: usize,
        idempotency_key: usize,
        key: usize,
        content: usize,
        conditions: WriteChoice,
    },
    /// Sends an earlier claim again, same scope and fingerprint.
    RetryClaim {
        sent: usize,
    },
    CommitClaim {
        pending: usize,
    },
    ReleaseClaim {
        pending: usize,
    },
    AdvanceTime {
        ms: u64,
    },
    PurgeExpired,
}

fn tag_source() -> impl Strategy<Value = TagSource> {
    prop_oneof![
        (0..CONTENTS.len()).prop_map(TagSource::OfContent),
        (0..KEYS.len()).prop_map(TagSource::CurrentOf),
    ]
}

fn tag_list() -> impl Strategy<Value = TagListChoice> {
    prop_oneof![
        1 => Just(TagListChoice::Any),
        3 => prop::collection::vec((tag_source(), prop::bool::weighted(0.2)), 1..=2)
            .prop_map(TagListChoice::Tags),
    ]
}

fn date() -> impl Strategy<Value = DateChoice> {
    prop_oneof![
        prop::sample::select(vec![0, 1, 999, 1_000, 1_500, 5_000])
            .prop_map(|ms| DateChoice::BeforeNow { ms }),
        (0..KEYS.len(), prop::sample::select(vec![0, 1, 999, 1_000]))
            .prop_map(|(key, plus_ms)| DateChoice::LastModifiedOf { key, plus_ms }),
    ]
}

fn write_choice() -> impl Strategy<Value = WriteChoice> {
    (
        prop::option::weighted(0.3, tag_list()),
        prop::option::weighted(0.3, tag_list()),
    )
        .prop_map(|(if_match, if_none_match)| WriteChoice {
            if_match,
            if_none_match,
        })
}

fn validator_choice() -> impl Strategy<Value = ValidatorChoice> {
    (
        prop::option::weighted(0.3, tag_list()),
        prop::option::weighted(0.3, tag_list()),
        prop::option::weighted(0.3, date()),
        prop::option::weighted(0.3, date()),
    )
        .prop_map(
            |(if_match, if_none_match, if_modified_since, if_unmodified_since)| ValidatorChoice {
                if_match,
                if_none_match,
                if_modified_since,
                if_unmodified_since,
            },
        )
}

fn destination_choice() -> impl Strategy<Value = DestinationChoice> {
    prop_oneof![
        Just(DestinationChoice::Unconditional),
        Just(DestinationChoice::RequireAbsent),
        tag_source().prop_map(DestinationChoice::RequireMatch),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0..KEYS.len();
    let content = 0..CONTENTS.len();
    prop_oneof![
        4 => (key.clone(), content.clone(), write_choice())
            .prop_map(|(key, content, conditions)| Op::Put { key, content, conditions }),
        2 => (key.clone(), prop::option::of(tag_list()))
            .prop_map(|(key, if_match)| Op::Delete { key, if_match }),
        2 => (key.clone(), key.clone(), validator_choice(), destination_choice()).prop_map(
            |(source, destination, source_conditions, destination_condition)| Op::Copy {
                source,
                destination,
                source_conditions,
                destination_condition,
            }
        ),
        2 => (key.clone(), validator_choice())
            .prop_map(|(key, conditions)| Op::Get { key, conditions }),
        1 => (0..PREFIXES.len(), prop::option::of(key.clone()), 0..=4usize).prop_map(
            |(prefix, start_after, max_keys)| Op::List { prefix, start_after, max_keys }
        ),
        4 => (0..PRINCIPALS.len(), 0..IDEMPOTENCY_KEYS.len(), key, content, write_choice())
            .prop_map(|(principal, idempotency_key, key, content, conditions)| Op::Claim {
                principal,
                idempotency_key,
                key,
                content,
                conditions,
            }),
        3 => (0..8usize).prop_map(|sent| Op::RetryClaim { sent }),
        3 => (0..4usize).prop_map(|pending| Op::CommitClaim { pending }),
        1 => (0..4usize).prop_map(|pending| Op::ReleaseClaim { pending }),
        2 => prop::sample::select(vec![1, 500, 1_000, RETENTION_MS - 1, RETENTION_MS, RETENTION_MS + 1])
            .prop_map(|ms| Op::AdvanceTime { ms }),
        1 => Just(Op::PurgeExpired),
    ]
}

/// A resolved entity-tag list, in the model's own terms.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ModelTags {
    Any,
    Tags(Vec<(String, bool)>),
}

impl ModelTags {
    /// RFC 9110 strong comparison (If-Match).
    fn strong_match(&self, etag: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Tags(tags) => tags.iter().any(|(tag, weak)| !weak && tag == etag),
        }
    }

    /// RFC 9110 weak comparison (If-None-Match).
    fn weak_match(&self, etag: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Tags(tags) => tags.iter().any(|(tag, _)| tag == etag),
        }
    }

    fn to_condition(&self) -> ETagCondition {
        match self {
            Self::Any => ETagCondition::Any,
            Self::Tags(tags) => ETagCondition::OneOf(
                tags.iter()
                    .map(|(tag, weak)| RequestETag {
                        etag: ETag::parse(tag).unwrap(),
                        weak: *weak,
                    })
                    .collect(),
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct ModelWrite {
    if_match: Option<ModelTags>,
    if_none_match: Option<ModelTags>,
}

#[derive(Debug, Clone, Default)]
struct ModelValidators {
    if_match: Option<ModelTags>,
    if_none_match: Option<ModelTags>,
    if_modified_since_ms: Option<u64>,
    if_unmodified_since_ms: Option<u64>,
}

#[derive(Debug, Clone)]
struct ModelObject {
    content: usize,
    etag: String,
    last_modified_ms: u64,
    sequence: u64,
}

impl ModelObject {
    fn committed(&self) -> Committed {
        Committed {
            etag: ETag::parse(&self.etag).unwrap(),
            sequence: self.sequence,
            last_modified_ms: self.last_modified_ms,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ModelFingerprint {
    key: usize,
    content: usize,
    conditions: ModelWrite,
}

#[derive(Debug, Clone)]
enum ModelRecordState {
    InFlight,
    Done(StoredOutcome),
}

#[derive(Debug, Clone)]
struct ModelRecord {
    claim_id: u64,
    fingerprint: ModelFingerprint,
    expires_at_ms: u64,
    state: ModelRecordState,
}

/// The model's answer to a claim: its own claim id, or the outcome the
/// store must give.
enum ModelClaim {
    Claimed(u64),
    Refused(ClaimOutcome),
}

#[derive(Debug, Default)]
struct Model {
    now_ms: u64,
    objects: BTreeMap<usize, ModelObject>,
    records: BTreeMap<(usize, usize), ModelRecord>,
    next_sequence: u64,
    next_claim_id: u64,
}

/// A validator condition that failed.
#[expect(
    clippy::enum_variant_names,
    reason = "the variants are the header names"
)]
#[derive(Debug, Clone, Copy)]
enum Failed {
    IfMatch,
    IfUnmodifiedSince,
    IfNoneMatch,
    IfModifiedSince,
}

fn precondition_failed(rule: Rule, condition: Condition) -> Rejected {
    Rejected::PreconditionFailed { rule, condition }
}

impl Model {
    fn new() -> Self {
        Self {
            now_ms: START_MS,
            next_sequence: 1,
            ..Self::default()
        }
    }

    fn tag(&self, source: &TagSource) -> String {
        match source {
            TagSource::OfContent(content) => md5_hex(CONTENTS[*content].as_bytes()),
            TagSource::CurrentOf(key) => self
                .objects
                .get(key)
                .map_or_else(|| md5_hex(b"never stored"), |object| object.etag.clone()),
        }
    }

    fn tags(&self, choice: &TagListChoice) -> ModelTags {
        match choice {
            TagListChoice::Any => ModelTags::Any,
            TagListChoice::Tags(tags) => ModelTags::Tags(
                tags.iter()
                    .map(|(source, weak)| (self.tag(source), *weak))
                    .collect(),
            ),
        }
    }

    fn date(&self, choice: &DateChoice) -> u64 {
        match choice {
            DateChoice::BeforeNow { ms } => self.now_ms - ms,
            DateChoice::LastModifiedOf { key, plus_ms } => {
                self.objects
                    .get(key)
                    .map_or(self.now_ms, |object| object.last_modified_ms)
                    + plus_ms
            }
        }
    }

    fn write(&self, choice: &WriteChoice) -> ModelWrite {
        ModelWrite {
            if_match: choice.if_match.as_ref().map(|tags| self.tags(tags)),
            if_none_match: choice.if_none_match.as_ref().map(|tags| self.tags(tags)),
        }
    }

    fn validators(&self, choice: &ValidatorChoice) -> ModelValidators {
        ModelValidators {
            if_match: choice.if_match.as_ref().map(|tags| self.tags(tags)),
            if_none_match: choice.if_none_match.as_ref().map(|tags| self.tags(tags)),
            if_modified_since_ms: choice
                .if_modified_since
                .as_ref()
                .map(|date| self.date(date)),
            if_unmodified_since_ms: choice
                .if_unmodified_since
                .as_ref()
                .map(|date| self.date(date)),
        }
    }

    /// C1, C1a, C2: If-Match first (absent key: 404), then If-None-Match.
    fn check_write(&self, key: usize, conditions: &ModelWrite) -> Result<(), Rejected> {
        let current = self.objects.get(&key);
        if let Some(if_match) = &conditions.if_match {
            match current {
                None => return Err(Rejected::NotFound { rule: Rule::C2 }),
                Some(object) if !if_match.strong_match(&object.etag) => {
                    return Err(precondition_failed(Rule::C2, Condition::IfMatch));
                }
                Some(_) => {}
            }
        }
        if let (Some(if_none_match), Some(object)) = (&conditions.if_none_match, current)
            && if_none_match.weak_match(&object.etag)
        {
            let rule = if *if_none_match == ModelTags::Any {
                Rule::C1
            } else {
                Rule::C1a
            };
            return Err(precondition_failed(rule, Condition::IfNoneMatch));
        }
        Ok(())
    }

    /// The first validator condition that fails, in RFC 9110 order; dates
    /// compare in whole seconds.
    fn failed_validator(object: &ModelObject, conditions: &ModelValidators) -> Option<Failed> {
        let seconds = |ms: u64| ms / 1000;
        let modified_s = seconds(object.last_modified_ms);
        // If-Unmodified-Since counts only without If-Match.
        match &conditions.if_match {
            Some(if_match) if !if_match.strong_match(&object.etag) => return Some(Failed::IfMatch),
            None if conditions
                .if_unmodified_since_ms
                .is_some_and(|since_ms| modified_s > seconds(since_ms)) =>
            {
                return Some(Failed::IfUnmodifiedSince);
            }
            _ => {}
        }
        // If-Modified-Since counts only without If-None-Match.
        match &conditions.if_none_match {
            Some(if_none_match) if if_none_match.weak_match(&object.etag) => {
                Some(Failed::IfNoneMatch)
            }
            None if conditions
                .if_modified_since_ms
                .is_some_and(|since_ms| modified_s <= seconds(since_ms)) =>
            {
                Some(Failed::IfModifiedSince)
            }
            _ => None,
        }
    }

    fn stamp(&mut self, key: usize, content: usize, etag: String) -> Committed {
        let object = ModelObject {
            content,
            etag,
            last_modified_ms: self.now_ms,
            sequence: self.next_sequence,
        };
        self.next_sequence += 1;
        let committed = object.committed();
        self.objects.insert(key, object);
        committed
    }

    fn put(&mut self, key: usize, content: usize, conditions: &ModelWrite) -> StoredOutcome {
        self.check_write(key, conditions)?;
        Ok(self.stamp(key, content, md5_hex(CONTENTS[content].as_bytes())))
    }

    fn delete(&mut self, key: usize, if_match: Option<&ModelTags>) -> Result<Deleted, Rejected> {
        if let Some(if_match) = if_match {
            match self.objects.get(&key) {
                None => return Err(Rejected::NotFound { rule: Rule::C6a }),
                Some(object) if !if_match.strong_match(&object.etag) => {
                    return Err(precondition_failed(Rule::C6a, Condition::IfMatch));
                }
                Some(_) => {}
            }
        }
        Ok(Deleted {
            removed_sequence: self.objects.remove(&key).map(|object| object.sequence),
        })
    }

    fn copy(
        &mut self,
        source: usize,
        destination: usize,
        source_conditions: &ModelValidators,
        destination_condition: &DestinationChoice,
        require_etag: Option<&str>,
    ) -> StoredOutcome {
        let Some(source_object) = self.objects.get(&source).cloned() else {
            return Err(Rejected::NotFound { rule: Rule::C8 });
        };
        if let Some(failed) = Self::failed_validator(&source_object, source_conditions) {
            let condition = match failed {
                Failed::IfMatch => Condition::CopySourceIfMatch,
                Failed::IfUnmodifiedSince => Condition::CopySourceIfUnmodifiedSince,
                Failed::IfNoneMatch => Condition::CopySourceIfNoneMatch,
                Failed::IfModifiedSince => Condition::CopySourceIfModifiedSince,
            };
            return Err(precondition_failed(Rule::C8, condition));
        }
        let current = self.objects.get(&destination);
        match (destination_condition, current) {
            (DestinationChoice::RequireAbsent, Some(_)) => {
                return Err(precondition_failed(Rule::C7, Condition::RequireAbsent));
            }
            (DestinationChoice::RequireMatch(_), current)
                if current.map(|object| object.etag.as_str()) != require_etag =>
            {
                return Err(precondition_failed(Rule::C7, Condition::RequireMatchEtag));
            }
            _ => {}
        }
        Ok(self.stamp(destination, source_object.content, source_object.etag))
    }

    fn read(&self, key: usize, conditions: &ModelValidators) -> Result<(), Rejected> {
        let Some(object) = self.objects.get(&key) else {
            return Err(Rejected::NotFound { rule: Rule::E5 });
        };
        match Self::failed_validator(object, conditions) {
            None => Ok(()),
            Some(Failed::IfMatch) => Err(precondition_failed(Rule::E5, Condition::IfMatch)),
            Some(Failed::IfUnmodifiedSince) => {
                Err(precondition_failed(Rule::E5, Condition::IfUnmodifiedSince))
            }
            Some(Failed::IfNoneMatch) => Err(Rejected::NotModified {
                condition: Condition::IfNoneMatch,
            }),
            Some(Failed::IfModifiedSince) => Err(Rejected::NotModified {
                condition: Condition::IfModifiedSince,
            }),
        }
    }

    fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        max_keys: usize,
    ) -> (Vec<(String, u64)>, bool) {
        let matching: Vec<(String, u64)> = self
            .objects
            .iter()
            .map(|(key, object)| (KEYS[*key].to_owned(), object.sequence))
            .filter(|(key, _)| {
                key.starts_with(prefix) && start_after.is_none_or(|after| key.as_str() > after)
            })
            .collect::<BTreeMap<_, _>>()
            .into_iter()
            .collect();
        let is_truncated = matching.len() > max_keys;
        (matching.into_iter().take(max_keys).collect(), is_truncated)
    }

    fn is_live(&self, record: &ModelRecord) -> bool {
        self.now_ms < record.expires_at_ms
    }

    /// I1-I3 and the capacity rule: a claim is refused when the table holds
    /// `CAPACITY_RECORDS` live records.
    fn claim(&mut self, scope: (usize, usize), fingerprint: ModelFingerprint) -> ModelClaim {
        if let Some(record) = self
            .records
            .get(&scope)
            .filter(|record| self.is_live(record))
        {
            return ModelClaim::Refused(match &record.state {
                _ if record.fingerprint != fingerprint => ClaimOutcome::Mismatch,
                ModelRecordState::InFlight => ClaimOutcome::InFlight,
                ModelRecordState::Done(outcome) => ClaimOutcome::Replay(outcome.clone()),
            });
        }
        let live = self
            .records
            .values()
            .filter(|record| self.is_live(record))
            .count();
        if live >= CAPACITY_RECORDS {
            return ModelClaim::Refused(ClaimOutcome::AtCapacity);
        }
        let claim_id = self.next_claim_id;
        self.next_claim_id += 1;
        self.records.insert(
            scope,
            ModelRecord {
                claim_id,
                fingerprint,
                expires_at_ms: self.now_ms + RETENTION_MS,
                state: ModelRecordState::InFlight,
            },
        );
        ModelClaim::Claimed(claim_id)
    }

    fn holds(&self, scope: (usize, usize), claim_id: u64) -> bool {
        self.records.get(&scope).is_some_and(|record| {
            record.claim_id == claim_id
                && self.is_live(record)
                && matches!(record.state, ModelRecordState::InFlight)
        })
    }

    /// Commits a held claim: the write and its stored result together.
    fn commit_claim(&mut self, scope: (usize, usize), claim_id: u64) -> Option<StoredOutcome> {
        if !self.holds(scope, claim_id) {
            return None;
        }
        let fingerprint = self.records[&scope].fingerprint.clone();
        let outcome = self.put(
            fingerprint.key,
            fingerprint.content,
            &fingerprint.conditions,
        );
        self.records.insert(
            scope,
            ModelRecord {
                claim_id,
                fingerprint,
                expires_at_ms: self.now_ms + RETENTION_MS,
                state: ModelRecordState::Done(outcome.clone()),
            },
        );
        Some(outcome)
    }

    fn release(&mut self, scope: (usize, usize), claim_id: u64) {
        if self.records.get(&scope).is_some_and(|record| {
            record.claim_id == claim_id && matches!(record.state, ModelRecordState::InFlight)
        }) {
            self.records.remove(&scope);
        }
    }
}

fn path(key: usize) -> ObjectPath {
    ObjectPath::new(
        BucketName::parse("bucket").unwrap(),
        ObjectKey::parse(KEYS[key]).unwrap(),
    )
}

fn scope(principal: usize, idempotency_key: usize) -> IdempotencyScope {
    IdempotencyScope {
        principal: Principal::new(PRINCIPALS[principal]),
        idempotency_key: IdempotencyKey::parse(IDEMPOTENCY_KEYS[idempotency_key]).unwrap(),
    }
}

fn write_conditions(model: &ModelWrite) -> WriteConditions {
    WriteConditions {
        if_match: model.if_match.as_ref().map(ModelTags::to_condition),
        if_none_match: model.if_none_match.as_ref().map(ModelTags::to_condition),
    }
}

fn validator_conditions(model: &ModelValidators) -> ValidatorConditions {
    ValidatorConditions {
        if_match: model.if_match.as_ref().map(ModelTags::to_condition),
        if_none_match: model.if_none_match.as_ref().map(ModelTags::to_condition),
        if_modified_since_ms: model.if_modified_since_ms,
        if_unmodified_since_ms: model.if_unmodified_since_ms,
    }
}

fn fingerprint(model: &ModelFingerprint) -> Fingerprint {
    Fingerprint {
        path: path(model.key),
        payload_digest: digest(
            ChecksumAlgorithm::Sha256,
            CONTENTS[model.content].as_bytes(),
        ),
        conditions: write_conditions(&model.conditions),
    }
}

fn ok<T>(result: Result<T, Infallible>) -> T {
    let Ok(value) = result;
    value
}

/// A claim the harness holds, with the model's id for it.
struct Pending {
    ticket: ClaimTicket,
    scope: (usize, usize),
    model_claim_id: u64,
    content: usize,
}

struct Harness {
    store: Store,
    model: Model,
    journal: Vec<CommitRecord>,
    pending: Vec<Pending>,
    /// Every claim sent, for retries of the very same request.
    sent: Vec<((usize, usize), ModelFingerprint)>,
}

impl Harness {
    fn new() -> Self {
        Self {
            store: Store::new(store_config()),
            model: Model::new(),
            journal: Vec::new(),
            pending: Vec::new(),
            sent: Vec::new(),
        }
    }

    fn run(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let now_ms = self.model.now_ms;
        match op {
            Op::Put {
                key,
                content,
                conditions,
            } => {
                let conditions = self.model.write(conditions);
                let actual = ok(self.store.put(
                    &path(*key),
                    NewObject::single_part(CONTENTS[*content].as_bytes()),
                    &write_conditions(&conditions),
                    now_ms,
                    &mut self.journal,
                ));
                prop_assert_eq!(actual, self.model.put(*key, *content, &conditions));
            }
            Op::Delete { key, if_match } => {
                let if_match = if_match.as_ref().map(|tags| self.model.tags(tags));
                let conditions = DeleteConditions {
                    if_match: if_match.as_ref().map(ModelTags::to_condition),
                };
                let actual = ok(self
                    .store
                    .delete(&path(*key), &conditions, &mut self.journal));
                prop_assert_eq!(actual, self.model.delete(*key, if_match.as_ref()));
            }
            Op::Copy {
                source,
                destination,
                source_conditions,
                destination_condition,
            } => {
                let source_conditions = self.model.validators(source_conditions);
                let require_etag = match destination_condition {
                    DestinationChoice::RequireMatch(tag) => Some(self.model.tag(tag)),
                    _ => None,
                };
                let request = CopyRequest {
                    source: path(*source),
                    source_conditions: validator_conditions(&source_conditions),
                    destination: path(*destination),
                    destination_condition: match (destination_condition, &require_etag) {
                        (DestinationChoice::Unconditional, _) => {
                            CopyDestinationCondition::Unconditional
                        }
                        (DestinationChoice::RequireAbsent, _) => {
                            CopyDestinationCondition::RequireAbsent
                        }
                        (DestinationChoice::RequireMatch(_), etag) => {
                            CopyDestinationCondition::RequireMatchEtag(
                                ETag::parse(etag.as_deref().unwrap()).unwrap(),
                            )
                        }
                    },
                    metadata: MetadataDirective::Copy,
                };
                let actual = ok(self.store.copy(&request, now_ms, &mut self.journal));
                let expected = self.model.copy(
                    *source,
                    *destination,
                    &source_conditions,
                    destination_condition,
                    require_etag.as_deref(),
                );
                prop_assert_eq!(actual, expected);
            }
            Op::Get { key, conditions } => {
                let conditions = self.model.validators(conditions);
                let version = self.store.get(&path(*key));
                let actual = evaluate_read(
                    version.as_deref().map(Validators::from),
                    &validator_conditions(&conditions),
                );
                prop_assert_eq!(actual, self.model.read(*key, &conditions));
                let expected = self.model.objects.get(key);
                prop_assert_eq!(
                    version.as_deref().map(Committed::from),
                    expected.map(ModelObject::committed)
                );
                if let (Some(version), Some(expected)) = (version, expected) {
                    prop_assert_eq!(&*version.content, CONTENTS[expected.content].as_bytes());
                }
            }
            Op::List {
                prefix,
                start_after,
                max_keys,
            } => {
                let start_after = start_after.map(|key| KEYS[key]);
                let query = ListQuery {
                    prefix: PREFIXES[*prefix].to_owned(),
                    start_after: start_after.map(str::to_owned),
                    max_keys: *max_keys,
                };
                let listing = self.store.list(&path(0).bucket, &query);
                let actual: Vec<(String, u64)> = listing
                    .entries
                    .iter()
                    .map(|(key, version)| (key.as_str().to_owned(), version.sequence))
                    .collect();
                prop_assert_eq!(
                    (actual, listing.is_truncated),
                    self.model.list(PREFIXES[*prefix], start_after, *max_keys)
                );
            }
            Op::Claim {
                principal,
                idempotency_key,
                key,
                content,
                conditions,
            } => {
                let sent = (
                    (*principal, *idempotency_key),
                    ModelFingerprint {
                        key: *key,
                        content: *content,
                        conditions: self.model.write(conditions),
                    },
                );
                self.sent.push(sent.clone());
                self.claim(sent.0, sent.1)?;
            }
            Op::RetryClaim { sent } => {
                if self.sent.is_empty() {
                    return Ok(());
                }
                let (scope_ids, fingerprint) = self.sent[sent % self.sent.len()].clone();
                self.claim(scope_ids, fingerprint)?;
            }
            Op::CommitClaim { pending } => {
                if self.pending.is_empty() {
                    return Ok(());
                }
                let pending = self.pending.remove(pending % self.pending.len());
                let actual = self.store.put_claimed(
                    pending.ticket,
                    NewObject::single_part(CONTENTS[pending.content].as_bytes()),
                    now_ms,
                    &mut self.journal,
                );
                match (
                    actual,
                    self.model
                        .commit_claim(pending.scope, pending.model_claim_id),
                ) {
                    (Ok(actual), Some(expected)) => prop_assert_eq!(actual, expected),
                    (Err(CommitError::ClaimExpired), None) => {}
                    (actual, expected) => {
                        prop_assert!(false, "store {:?}, model {:?}", actual, expected)
                    }
                }
            }
            Op::ReleaseClaim { pending } => {
                if self.pending.is_empty() {
                    return Ok(());
                }
                let pending = self.pending.remove(pending % self.pending.len());
                self.store.release(pending.ticket);
                self.model.release(pending.scope, pending.model_claim_id);
            }
            Op::AdvanceTime { ms } => self.model.now_ms += ms,
            Op::PurgeExpired => {
                self.store.purge_expired_idempotency_records(now_ms);
            }
        }
        Ok(())
    }

    fn claim(
        &mut self,
        scope_ids: (usize, usize),
        model_fingerprint: ModelFingerprint,
    ) -> Result<(), TestCaseError> {
        let content = model_fingerprint.content;
        let actual = self.store.claim(
            scope(scope_ids.0, scope_ids.1),
            fingerprint(&model_fingerprint),
            self.model.now_ms,
        );
        match (actual, self.model.claim(scope_ids, model_fingerprint)) {
            (ClaimOutcome::Claimed(ticket), ModelClaim::Claimed(model_claim_id)) => {
                self.pending.push(Pending {
                    ticket,
                    scope: scope_ids,
                    model_claim_id,
                    content,
                });
            }
            (actual, ModelClaim::Claimed(_)) => {
                prop_assert!(false, "store answered {:?}, model claimed", actual);
            }
            (actual, ModelClaim::Refused(expected)) => prop_assert_eq!(actual, expected),
        }
        Ok(())
    }

    /// I8, E4: a store rebuilt from the journal holds the same objects and
    /// replays every live stored result.
    fn check_recovery(self) -> Result<(), TestCaseError> {
        let recovered = Store::new(store_config());
        for record in self.journal {
            recovered.apply_recovered(record);
        }
        for key in 0..KEYS.len() {
            prop_assert_eq!(recovered.get(&path(key)), self.store.get(&path(key)));
        }
        let now_ms = self.model.now_ms;
        for (&(principal, idempotency_key), record) in &self.model.records {
            if let (ModelRecordState::Done(outcome), true) =
                (&record.state, self.model.is_live(record))
            {
                let claim = recovered.claim(
                    scope(principal, idempotency_key),
                    fingerprint(&record.fingerprint),
                    now_ms,
                );
                prop_assert_eq!(claim, ClaimOutcome::Replay(outcome.clone()));
            }
        }
        let latest = self.model.next_sequence;
        let after = ok(recovered.put(
            &path(0),
            NewObject::single_part(&b"after"[..]),
            &WriteConditions::default(),
            now_ms,
            &mut Vec::new(),
        ));
        prop_assert_eq!(
            after.unwrap().sequence,
            latest,
            "sequences continue after recovery"
        );
        Ok(())
    }
}

fn store_config() -> StoreConfig {
    StoreConfig {
        shard_count: 4,
        idempotency: IdempotencyConfig {
            retention_ms: RETENTION_MS,
            capacity_records: CAPACITY_RECORDS,
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn store_agrees_with_the_reference_model(ops in prop::collection::vec(op(), 1..80)) {
        let mut harness = Harness::new();
        for op in &ops {
            harness.run(op)?;
        }
        harness.check_recovery()?;
    }
}
