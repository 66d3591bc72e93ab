//! The op generator: a [`WorkloadSpec`] and a seed give each client its
//! own stream of [`Op`]s.
//!
//! Each client's stream comes from its own [`SplitMix64`], seeded from the
//! run's seed and the client's index, so it is the same whatever the other
//! clients do, however the scheduler interleaves them, and however many
//! clients the run has (a shrinker can drop clients without changing the
//! ops of those that remain). Per op the stream draws, in this order: the
//! kind from the mix, the key, then what the kind needs (a copy's
//! destination, a condition).

use std::sync::Arc;

use crate::op::{CopyCondition, Op, OpKind, WriteCondition};
use crate::rng::SplitMix64;
use crate::spec::{ClientApi, KeyChoice, SpecError, WorkloadSpec, total_weight};
use crate::zipf::Zipf;

/// The name of key `rank`: fixed width, so keys sort in rank order, and a
/// valid S3 object key.
#[must_use]
pub fn key_name(rank: u32) -> String {
    format!("k{rank:08}")
}

/// Picks among items by weight; items of weight 0 are never picked.
#[derive(Debug)]
struct WeightedChoice<T> {
    items: Vec<T>,
    /// Running sums of the positive weights.
    cumulative: Vec<u64>,
}

impl<T: Copy> WeightedChoice<T> {
    /// `weights` must have a positive total (the spec's validation checks).
    fn new(weights: &[(T, u32)]) -> Self {
        assert!(
            total_weight(weights) > 0,
            "a choice needs a positive weight"
        );
        let mut total = 0;
        let (items, cumulative) = weights
            .iter()
            .filter(|&&(_, weight)| weight > 0)
            .map(|&(item, weight)| {
                total += u64::from(weight);
                (item, total)
            })
            .unzip();
        Self { items, cumulative }
    }

    fn pick(&self, rng: &mut SplitMix64) -> T {
        let total = self.cumulative[self.cumulative.len() - 1];
        let target = rng.below(total);
        let index = self.cumulative.partition_point(|&sum| sum <= target);
        self.items[index]
    }
}

#[derive(Debug)]
struct Shared {
    spec: WorkloadSpec,
    seed: u64,
    zipf: Zipf,
    mix: WeightedChoice<OpKind>,
    write_conditions: WeightedChoice<WriteCondition>,
    copy_conditions: WeightedChoice<CopyCondition>,
}

/// Generates the ops of every client of one run. Cheap to clone; each
/// [`ClientOps`] owns what it needs, so it can move into a client's task.
#[derive(Debug, Clone)]
pub struct OpGenerator {
    shared: Arc<Shared>,
}

impl OpGenerator {
    /// # Errors
    /// The spec does not validate.
    pub fn new(spec: &WorkloadSpec, seed: u64) -> Result<Self, SpecError> {
        spec.validate()?;
        let zipf = Zipf::new(spec.keys as usize, spec.key_skew)
            .expect("validated against the zipf limits");
        Ok(Self {
            shared: Arc::new(Shared {
                spec: spec.clone(),
                seed,
                zipf,
                mix: WeightedChoice::new(&spec.mix.weights()),
                write_conditions: WeightedChoice::new(&spec.write_conditions.weights()),
                copy_conditions: WeightedChoice::new(&spec.copy_conditions.weights()),
            }),
        })
    }

    #[must_use]
    pub fn spec(&self) -> &WorkloadSpec {
        &self.shared.spec
    }

    /// The ops of `client`, in order.
    ///
    /// # Panics
    /// If `client` is not below the spec's `clients`.
    #[must_use]
    pub fn client(&self, client: u32) -> ClientOps {
        assert!(
            client < self.shared.spec.clients,
            "client {client} of a workload with {} clients",
            self.shared.spec.clients
        );
        ClientOps {
            shared: Arc::clone(&self.shared),
            client,
            rng: SplitMix64::for_worker(self.shared.seed, client as usize),
            next_index: 0,
        }
    }
}

/// One client's ops: `ops_per_client` of them.
#[derive(Debug, Clone)]
pub struct ClientOps {
    shared: Arc<Shared>,
    client: u32,
    rng: SplitMix64,
    next_index: u32,
}

impl ClientOps {
    #[must_use]
    pub const fn client(&self) -> u32 {
        self.client
    }

    /// The API this client uses.
    #[must_use]
    pub fn api(&self) -> ClientApi {
        self.shared
            .spec
            .api
            .for_client(self.shared.seed, self.client)
    }

    fn key_rank(&mut self, index: u32) -> u32 {
        let spec = &self.shared.spec;
        match spec.key_choice {
            KeyChoice::Zipf => {
                u32::try_from(self.shared.zipf.sample(&mut self.rng)).expect("below MAX_KEYS")
            }
            KeyChoice::Round => index % spec.keys,
        }
    }

    /// A copy's destination: another key than its source.
    fn destination_rank(&mut self, source: u32) -> u32 {
        let keys = self.shared.spec.keys;
        let drawn = match self.shared.spec.key_choice {
            KeyChoice::Zipf => {
                u32::try_from(self.shared.zipf.sample(&mut self.rng)).expect("below MAX_KEYS")
            }
            KeyChoice::Round => source,
        };
        if drawn == source {
            (source + 1) % keys
        } else {
            drawn
        }
    }

    /// `text` padded with '.' to the spec's value length.
    fn padded(&self, mut text: String) -> String {
        let len = self.shared.spec.value_len_bytes as usize;
        if text.len() < len {
            text.extend(std::iter::repeat_n('.', len - text.len()));
        }
        text
    }

    fn op(&mut self, index: u32) -> Op {
        let kind = self.shared.mix.pick(&mut self.rng);
        let rank = self.key_rank(index);
        let key = key_name(rank);
        let tag = format!("c{}-o{index}", self.client);
        match kind {
            OpKind::CreateOnly => Op::CreateOnly {
                key,
                value: self.padded(tag),
            },
            OpKind::Cas => Op::Cas {
                key,
                tag: self.padded(tag),
            },
            OpKind::Put => Op::Put {
                key,
                value: self.padded(tag),
            },
            OpKind::Get => Op::Get { key },
            OpKind::Delete => Op::Delete {
                key,
                if_match: false,
            },
            OpKind::ConditionalDelete => Op::Delete {
                key,
                if_match: true,
            },
            OpKind::Copy => {
                let destination = key_name(self.destination_rank(rank));
                Op::Copy {
                    source: key,
                    destination,
                    condition: self.shared.copy_conditions.pick(&mut self.rng),
                }
            }
            OpKind::MultipartComplete => Op::MultipartComplete {
                key,
                parts: (0..self.shared.spec.multipart_parts)
                    .map(|part| self.padded(format!("{tag}-p{part}")))
                    .collect(),
                condition: self.shared.write_conditions.pick(&mut self.rng),
            },
            OpKind::IdempotentPut => Op::IdempotentPut {
                key,
                idempotency_key: format!("{:016x}-{tag}", self.shared.seed),
                value: self.padded(tag),
                condition: self.shared.write_conditions.pick(&mut self.rng),
                attempts: self.shared.spec.idempotent_attempts,
            },
        }
    }
}

impl Iterator for ClientOps {
    type Item = Op;

    fn next(&mut self) -> Option<Op> {
        if self.next_index == self.shared.spec.ops_per_client {
            return None;
        }
        let op = self.op(self.next_index);
        self.next_index += 1;
        Some(op)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let remaining = (self.shared.spec.ops_per_client - self.next_index) as usize;
        (remaining, Some(remaining))
    }
}

impl ExactSizeIterator for ClientOps {}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use lockwell_core::ObjectKey;
    use lockwell_core::idempotency::IdempotencyKey;

    use super::*;
    use crate::spec::{Api, CopyConditionWeights, OpMix, WriteConditionWeights};

    fn spec(mix: OpMix) -> WorkloadSpec {
        WorkloadSpec {
            name: "test".to_owned(),
            description: "generator test".to_owned(),
            clients: 4,
            keys: 100,
            key_skew: 0.99,
            key_choice: KeyChoice::Zipf,
            ops_per_client: 500,
            value_len_bytes: 0,
            mix,
            write_conditions: WriteConditionWeights::default(),
            copy_conditions: CopyConditionWeights::default(),
            multipart_parts: 3,
            idempotent_attempts: 3,
            faults: "none".to_owned(),
            api: Api::Mixed,
        }
    }

    /// Every kind, with distinct weights.
    fn every_kind() -> OpMix {
        OpMix {
            create_only: 1,
            cas: 2,
            put: 3,
            get: 4,
            delete: 5,
            conditional_delete: 6,
            copy: 7,
            multipart_complete: 8,
            idempotent_put: 9,
        }
    }

    fn all_ops(generator: &OpGenerator) -> Vec<Vec<Op>> {
        (0..generator.spec().clients)
            .map(|client| generator.client(client).collect())
            .collect()
    }

    /// `count` is within five binomial standard deviations of
    /// `probability * draws`.
    fn assert_frequency(what: &str, count: usize, probability: f64, draws: usize) {
        let expected = probability * draws as f64;
        let sigma = (draws as f64 * probability * (1.0 - probability)).sqrt();
        assert!(
            (count as f64 - expected).abs() <= 5.0 * sigma + 1.0,
            "{what}: {count} of {draws}, expected {expected:.0}"
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_streams_and_another_seed_others() {
        let spec = spec(every_kind());
        let first = all_ops(&OpGenerator::new(&spec, 7).unwrap());
        assert_eq!(all_ops(&OpGenerator::new(&spec, 7).unwrap()), first);
        assert_ne!(all_ops(&OpGenerator::new(&spec, 8).unwrap()), first);
        assert_ne!(first[0], first[1], "clients share a stream");
    }

    #[test]
    fn a_clients_stream_does_not_depend_on_how_many_clients_there_are() {
        let four = spec(every_kind());
        let eight = WorkloadSpec {
            clients: 8,
            ..four.clone()
        };
        let from_four = all_ops(&OpGenerator::new(&four, 3).unwrap());
        let from_eight = all_ops(&OpGenerator::new(&eight, 3).unwrap());
        assert_eq!(from_eight[..4], from_four);
    }

    #[test]
    fn kinds_follow_the_mix() {
        let mix = every_kind();
        let spec = WorkloadSpec {
            clients: 10,
            ops_per_client: 10_000,
            ..spec(mix)
        };
        let mut counts: BTreeMap<OpKind, usize> = BTreeMap::new();
        for op in all_ops(&OpGenerator::new(&spec, 1).unwrap())
            .iter()
            .flatten()
        {
            *counts.entry(op.kind()).or_default() += 1;
        }
        let draws = 100_000;
        let total = total_weight(&mix.weights()) as f64;
        for (kind, weight) in mix.weights() {
            let count = counts.get(&kind).copied().unwrap_or(0);
            assert_frequency(
                &format!("{kind:?}"),
                count,
                f64::from(weight) / total,
                draws,
            );
        }
    }

    #[test]
    fn kinds_of_weight_zero_never_appear() {
        let spec = spec(OpMix {
            cas: 1,
            get: 1,
            ..OpMix::default()
        });
        let kinds: BTreeSet<OpKind> = all_ops(&OpGenerator::new(&spec, 2).unwrap())
            .iter()
            .flatten()
            .map(Op::kind)
            .collect();
        assert_eq!(kinds, BTreeSet::from([OpKind::Cas, OpKind::Get]));
    }

    #[test]
    fn conditions_follow_their_weights() {
        let spec = WorkloadSpec {
            clients: 10,
            ops_per_client: 6_000,
            write_conditions: WriteConditionWeights {
                none: 1,
                if_absent: 0,
                if_match_read: 3,
            },
            copy_conditions: CopyConditionWeights {
                destination_absent: 2,
                destination_matches_read: 1,
                source_matches_read: 1,
            },
            ..spec(OpMix {
                copy: 1,
                idempotent_put: 1,
                ..OpMix::default()
            })
        };
        let mut writes: BTreeMap<WriteCondition, usize> = BTreeMap::new();
        let mut copies: BTreeMap<CopyCondition, usize> = BTreeMap::new();
        for op in all_ops(&OpGenerator::new(&spec, 4).unwrap())
            .iter()
            .flatten()
        {
            match op {
                Op::IdempotentPut { condition, .. } => *writes.entry(*condition).or_default() += 1,
                Op::Copy { condition, .. } => *copies.entry(*condition).or_default() += 1,
                other => panic!("{other:?} is not in the mix"),
            }
        }
        let write_count = writes.values().sum();
        let copy_count = copies.values().sum();
        assert_eq!(writes.get(&WriteCondition::IfAbsent), None);
        assert_frequency(
            "no condition",
            writes[&WriteCondition::None],
            0.25,
            write_count,
        );
        assert_frequency(
            "destination absent",
            copies[&CopyCondition::DestinationAbsent],
            0.5,
            copy_count,
        );
        assert_frequency(
            "source matches",
            copies[&CopyCondition::SourceMatchesRead],
            0.25,
            copy_count,
        );
    }

    #[test]
    fn keys_follow_the_skew() {
        let spec = WorkloadSpec {
            clients: 10,
            ops_per_client: 10_000,
            ..spec(OpMix {
                get: 1,
                ..OpMix::default()
            })
        };
        let zipf = Zipf::new(spec.keys as usize, spec.key_skew).unwrap();
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for op in all_ops(&OpGenerator::new(&spec, 5).unwrap())
            .iter()
            .flatten()
        {
            *counts.entry(op.key().to_owned()).or_default() += 1;
        }
        for rank in [0, 1, 10, 99] {
            let count = counts.get(&key_name(rank)).copied().unwrap_or(0);
            assert_frequency(
                &format!("rank {rank}"),
                count,
                zipf.probability(rank as usize),
                100_000,
            );
        }
    }

    #[test]
    fn round_key_choice_makes_every_client_race_on_the_same_key_per_round() {
        let spec = WorkloadSpec {
            key_choice: KeyChoice::Round,
            keys: 7,
            ops_per_client: 20,
            ..spec(OpMix {
                create_only: 1,
                copy: 1,
                ..OpMix::default()
            })
        };
        for ops in all_ops(&OpGenerator::new(&spec, 6).unwrap()) {
            for (index, op) in ops.iter().enumerate() {
                match op {
                    Op::CreateOnly { key, .. } => assert_eq!(*key, key_name(index as u32 % 7)),
                    Op::Copy {
                        source,
                        destination,
                        ..
                    } => {
                        assert_eq!(*source, key_name(index as u32 % 7));
                        assert_eq!(*destination, key_name((index as u32 + 1) % 7));
                    }
                    other => panic!("{other:?} is not in the mix"),
                }
            }
        }
    }

    #[test]
    fn values_and_idempotency_keys_are_unique_valid_and_tied_to_one_object_key() {
        let spec = WorkloadSpec {
            value_len_bytes: 24,
            keys: 3,
            ..spec(every_kind())
        };
        let mut values = BTreeSet::new();
        let mut idempotency_keys: BTreeMap<String, String> = BTreeMap::new();
        let mut written = |value: &str| {
            assert!(value.len() >= 24, "{value:?} is not padded");
            assert!(values.insert(value.to_owned()), "{value:?} written twice");
        };
        for op in all_ops(&OpGenerator::new(&spec, 9).unwrap())
            .iter()
            .flatten()
        {
            ObjectKey::parse(op.key()).unwrap();
            match op {
                Op::CreateOnly { value, .. } | Op::Put { value, .. } => written(value),
                Op::Cas { tag, .. } => written(tag),
                Op::MultipartComplete { parts, .. } => {
                    assert_eq!(parts.len(), 3);
                    parts.iter().for_each(|part| written(part));
                }
                Op::IdempotentPut {
                    key,
                    idempotency_key,
                    value,
                    attempts,
                    ..
                } => {
                    written(value);
                    assert_eq!(*attempts, 3);
                    IdempotencyKey::parse(idempotency_key).unwrap();
                    let previous = idempotency_keys.insert(idempotency_key.clone(), key.clone());
                    assert_eq!(previous, None, "{idempotency_key} used twice (I2)");
                }
                Op::Copy {
                    source,
                    destination,
                    ..
                } => assert_ne!(source, destination),
                Op::Get { .. } | Op::Delete { .. } => {}
            }
        }
        assert!(!idempotency_keys.is_empty());
    }

    #[test]
    fn each_client_gets_exactly_its_ops_and_its_api() {
        let generator = OpGenerator::new(&spec(every_kind()), 10).unwrap();
        let mut ops = generator.client(3);
        assert_eq!(ops.len(), 500);
        ops.next();
        assert_eq!(ops.len(), 499);
        assert_eq!(ops.count(), 499);
        assert_eq!(generator.client(3).api(), Api::Mixed.for_client(10, 3));
    }

    #[test]
    fn an_invalid_spec_is_refused() {
        let invalid = WorkloadSpec {
            clients: 0,
            ..spec(every_kind())
        };
        assert!(OpGenerator::new(&invalid, 1).is_err());
    }
}
