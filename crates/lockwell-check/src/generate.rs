//! Deterministic histories for the checker's tests and benches: a
//! simulated correct store (one register per key, the SPEC's rules) driven
//! by concurrent processes whose requests overlap at random, some of them
//! ending indeterminate, and mutations that make a history wrong the ways
//! real bugs do.
//!
//! Everything is drawn from the seed, so a failing case is named by its
//! configuration.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use lockwell_core::ETag;

use crate::history::{
    Api, Entry, HISTORY_FORMAT, HISTORY_FORMAT_VERSION, History, HistoryHeader, OpResult, Outcome,
    Precondition, Request,
};

/// The per-mille scale of [`GeneratorConfig::indeterminate_per_mille`].
pub const PER_MILLE: u32 = 1_000;

/// The longest a request takes from invocation to taking effect, and from
/// there to its answer, in simulated nanoseconds.
const LATENCY_NS: u64 = 1_000;

/// The longest a process waits between two requests.
const THINK_NS: u64 = 500;

/// How far after its invocation an indeterminate request may still take
/// effect, in latencies.
const LATE_EFFECT_LATENCIES: u64 = 8;

/// The most sends of one request, the clients' own retries included (R3).
const MAX_SENDS: u32 = 3;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeneratorConfig {
    pub seed: u64,
    /// History entries to generate (the sends of an idempotency key count
    /// one each).
    pub entries: usize,
    pub keys: usize,
    pub processes: u32,
    /// The share of writes whose answer is lost (indeterminate); half of
    /// them take effect, possibly after their recorded completion.
    pub indeterminate_per_mille: u32,
    /// Whether processes also copy between keys (which links keys into
    /// one partition).
    pub copies: bool,
}

/// SplitMix64: small, fast, and the same everywhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    #[must_use]
    pub const fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (`bound > 0`).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }

    fn chance_per_mille(&mut self, per_mille: u32) -> bool {
        self.below(u64::from(PER_MILLE)) < u64::from(per_mille)
    }

    fn index(&mut self, len: usize) -> usize {
        usize::try_from(self.below(len as u64)).expect("an index")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Stored {
    value: String,
    etag: String,
}

fn md5_etag(value: &str) -> String {
    ETag::of_content(value.as_bytes()).to_string()
}

pub(crate) fn failed(status: u16, code: &str) -> Outcome {
    Outcome::Failed {
        status,
        code: code.to_owned(),
    }
}

pub(crate) fn precondition_failed() -> Outcome {
    failed(412, "PreconditionFailed")
}

pub(crate) fn no_such_key() -> Outcome {
    failed(404, "NoSuchKey")
}

/// C1, C2, C6a against the stored version.
fn condition_outcome(condition: &Precondition, current: Option<&Stored>) -> Option<Outcome> {
    match (condition, current) {
        (Precondition::Absent, Some(_)) => Some(precondition_failed()),
        (Precondition::Matches { .. }, None) => Some(no_such_key()),
        (Precondition::Matches { etag }, Some(stored)) if *etag != stored.etag => {
            Some(precondition_failed())
        }
        _ => None,
    }
}

/// The correct store: applies a request at its linearization point.
fn apply(store: &mut BTreeMap<String, Stored>, request: &Request) -> Outcome {
    let written = |etag: &str| Outcome::Ok {
        result: OpResult::Written {
            etag: etag.to_owned(),
        },
    };
    match request {
        Request::Get { key } => Outcome::Ok {
            result: store
                .get(key)
                .map_or(OpResult::Absent, |stored| OpResult::Read {
                    value: stored.value.clone(),
                    etag: stored.etag.clone(),
                }),
        },
        Request::Put {
            key,
            value,
            condition,
            ..
        } => {
            if let Some(failure) = condition_outcome(condition, store.get(key)) {
                return failure;
            }
            let etag = md5_etag(value);
            store.insert(
                key.clone(),
                Stored {
                    value: value.clone(),
                    etag: etag.clone(),
                },
            );
            written(&etag)
        }
        Request::CompleteMultipart {
            key,
            value,
            part_count,
            condition,
            ..
        } => {
            if let Some(failure) = condition_outcome(condition, store.get(key)) {
                return failure;
            }
            let etag = format!("\"{}-{part_count}\"", md5_etag(value).trim_matches('"'));
            store.insert(
                key.clone(),
                Stored {
                    value: value.clone(),
                    etag: etag.clone(),
                },
            );
            written(&etag)
        }
        Request::Delete { key, condition } => {
            if let Some(failure) = condition_outcome(condition, store.get(key)) {
                return failure;
            }
            store.remove(key);
            Outcome::Ok {
                result: OpResult::Deleted,
            }
        }
        Request::Copy {
            source,
            destination,
            destination_condition,
            source_if_match,
        } => {
            let Some(stored) = store.get(source).cloned() else {
                return no_such_key();
            };
            if source_if_match
                .as_ref()
                .is_some_and(|etag| *etag != stored.etag)
            {
                return precondition_failed();
            }
            // The native API's requireMatchEtag on an absent destination is
            // a 412 (C7).
            let destination_failure = match (destination_condition, store.get(destination)) {
                (Precondition::Matches { .. }, None) => Some(precondition_failed()),
                (condition, current) => condition_outcome(condition, current),
            };
            if let Some(failure) = destination_failure {
                return failure;
            }
            let etag = stored.etag.clone();
            store.insert(destination.clone(), stored);
            written(&etag)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// The process invokes its next request.
    Invoke { process: u32 },
    /// The request in this slot takes effect.
    Apply { slot: usize },
    /// The request in this slot is answered (or given up on).
    Complete { slot: usize },
}

#[derive(Debug, Clone)]
struct Slot {
    process: u32,
    op_index: u32,
    request: Request,
    invoke_ns: u64,
    complete_ns: u64,
    applied_ns: Option<u64>,
    indeterminate: bool,
    /// What the store answered when the request took effect.
    answer: Option<Outcome>,
    /// For a resend of an idempotency key: the first send's slot.
    first_send: Option<usize>,
    /// Sends of the request (R3): a client resends an unconditional
    /// DELETE whose answer was lost (R4), and each lost send may have
    /// deleted.
    sends: u32,
}

struct Simulation {
    config: GeneratorConfig,
    rng: Rng,
    store: BTreeMap<String, Stored>,
    slots: Vec<Slot>,
    events: BinaryHeap<Reverse<(u64, u64, Event)>>,
    sequence: u64,
    /// What each process last read of each key (its ETag), for If-Match.
    known: Vec<BTreeMap<String, String>>,
    op_counts: Vec<u32>,
}

impl Simulation {
    fn schedule(&mut self, time_ns: u64, event: Event) {
        self.sequence += 1;
        self.events.push(Reverse((time_ns, self.sequence, event)));
    }

    fn key(&mut self) -> String {
        format!("k{:05}", self.rng.below(self.config.keys.max(1) as u64))
    }

    fn learned_condition(&mut self, process: u32, key: &str) -> Precondition {
        match self.known[process as usize].get(key) {
            Some(etag) => Precondition::Matches { etag: etag.clone() },
            None => Precondition::Absent,
        }
    }

    /// A request of `process`'s `op_index`-th op, as a workload mixes them.
    fn request(&mut self, process: u32, op_index: u32) -> Request {
        let key = self.key();
        let value = format!("p{process}-o{op_index}");
        let roll = self.rng.below(100);
        let plain = |condition| Request::Put {
            key: key.clone(),
            value: value.clone(),
            condition,
            idempotency_key: None,
        };
        match roll {
            0..30 => Request::Get { key },
            30..42 => plain(Precondition::None),
            42..52 => plain(Precondition::Absent),
            52..66 => plain(self.learned_condition(process, &key)),
            66..72 => Request::Delete {
                key,
                condition: Precondition::None,
            },
            72..76 => Request::Delete {
                condition: match self.known[process as usize].get(&key) {
                    Some(etag) => Precondition::Matches { etag: etag.clone() },
                    None => Precondition::None,
                },
                key,
            },
            76..84 if self.config.copies => {
                let source = self.key();
                let source_if_match = self.known[process as usize].get(&source).cloned();
                let destination_condition = match self.rng.below(3) {
                    0 => Precondition::None,
                    1 => Precondition::Absent,
                    _ => self.learned_condition(process, &key),
                };
                Request::Copy {
                    source,
                    destination: key,
                    destination_condition,
                    source_if_match,
                }
            }
            84..90 => Request::CompleteMultipart {
                condition: self.learned_condition(process, &key),
                key,
                value,
                part_count: 2,
                idempotency_key: None,
            },
            90..100 => Request::Put {
                condition: if self.rng.below(2) == 0 {
                    Precondition::None
                } else {
                    Precondition::Absent
                },
                key,
                value,
                idempotency_key: Some(format!("idem-p{process}-o{op_index}")),
            },
            _ => plain(Precondition::None),
        }
    }

    fn invoke(&mut self, now_ns: u64, process: u32, request: Request, first_send: Option<usize>) {
        let op_index = self.op_counts[process as usize];
        let writes = !matches!(request, Request::Get { .. });
        let indeterminate = writes
            && first_send.is_none()
            && self
                .rng
                .chance_per_mille(self.config.indeterminate_per_mille);
        let slot = self.slots.len();
        let first_applied_ns = first_send.and_then(|first| self.slots[first].applied_ns);
        let (applied_ns, complete_ns) = if let Some(applied_ns) = first_applied_ns {
            // A resend of a key whose first send took effect: the server
            // replays the stored result once it exists.
            let answer_ns = now_ns.max(applied_ns) + 1 + self.rng.below(LATENCY_NS);
            (None, answer_ns)
        } else if indeterminate {
            let applied_ns = (self.rng.below(2) == 0)
                .then(|| now_ns + 1 + self.rng.below(LATE_EFFECT_LATENCIES * LATENCY_NS));
            (applied_ns, now_ns + 1 + self.rng.below(2 * LATENCY_NS))
        } else {
            let applied_ns = now_ns + 1 + self.rng.below(LATENCY_NS);
            (
                Some(applied_ns),
                applied_ns + 1 + self.rng.below(LATENCY_NS),
            )
        };
        let resent = matches!(
            request,
            Request::Delete {
                condition: Precondition::None,
                ..
            }
        );
        // An indeterminate request that takes no effect may never have
        // left the client (the connection was refused).
        let mut sends =
            u32::from(!(indeterminate && applied_ns.is_none() && self.rng.below(2) == 0));
        // An answered delete may follow sends whose answers were lost.
        if resent && !indeterminate {
            while sends < MAX_SENDS
                && self
                    .rng
                    .chance_per_mille(self.config.indeterminate_per_mille)
            {
                sends += 1;
                // The lost send deleted, maybe after the answer to a later
                // one, or never reached the store.
                if self.rng.below(2) == 0 {
                    let lost_ns = now_ns + 1 + self.rng.below(LATE_EFFECT_LATENCIES * LATENCY_NS);
                    self.schedule(lost_ns, Event::Apply { slot });
                }
            }
        }
        self.slots.push(Slot {
            process,
            op_index,
            request,
            invoke_ns: now_ns,
            complete_ns,
            applied_ns,
            indeterminate,
            answer: None,
            first_send,
            sends,
        });
        if let Some(applied_ns) = applied_ns {
            self.schedule(applied_ns, Event::Apply { slot });
        }
        self.schedule(complete_ns, Event::Complete { slot });
    }

    fn complete(&mut self, now_ns: u64, slot: usize) {
        let process = self.slots[slot].process;
        let idempotent = matches!(
            self.slots[slot].request,
            Request::Put {
                idempotency_key: Some(_),
                ..
            }
        );
        if self.slots[slot].indeterminate && idempotent {
            // I1: the client sends the same key again while in doubt.
            let request = self.slots[slot].request.clone();
            self.invoke(now_ns + 1, process, request, Some(slot));
            return;
        }
        let answer = match self.slots[slot].first_send {
            Some(first) if self.slots[slot].answer.is_none() => self.slots[first].answer.clone(),
            _ => self.slots[slot].answer.clone(),
        };
        if let (
            Some(Outcome::Ok {
                result: OpResult::Read { etag, .. },
            }),
            Request::Get { key },
        ) = (&answer, &self.slots[slot].request)
        {
            self.known[process as usize].insert(key.clone(), etag.clone());
        }
        self.op_counts[process as usize] += 1;
        let next_ns = now_ns + 1 + self.rng.below(THINK_NS);
        self.schedule(next_ns, Event::Invoke { process });
    }

    fn run(mut self) -> History {
        for process in 0..self.config.processes {
            let start_ns = self.rng.below(THINK_NS);
            self.schedule(start_ns, Event::Invoke { process });
        }
        while let Some(Reverse((now_ns, _, event))) = self.events.pop() {
            match event {
                Event::Invoke { process } => {
                    if self.slots.len() >= self.config.entries {
                        continue;
                    }
                    let op_index = self.op_counts[process as usize];
                    let request = self.request(process, op_index);
                    self.invoke(now_ns, process, request, None);
                }
                Event::Apply { slot } => {
                    let answer = apply(&mut self.store, &self.slots[slot].request);
                    self.slots[slot].answer = Some(answer);
                }
                Event::Complete { slot } => self.complete(now_ns, slot),
            }
        }
        let mut slots = self.slots;
        slots.sort_by_key(|slot| slot.invoke_ns);
        let entries = slots
            .into_iter()
            .enumerate()
            .map(|(id, slot)| Entry {
                id: id as u64,
                process: slot.process,
                op_index: slot.op_index,
                api: if slot.process.is_multiple_of(2) {
                    Api::Native
                } else {
                    Api::S3
                },
                invoke_ns: slot.invoke_ns,
                complete_ns: slot.complete_ns,
                attempts: slot.sends,
                retry_gaps_ns: Vec::new(),
                outcome: match (slot.indeterminate, slot.answer) {
                    (false, Some(answer)) => answer,
                    _ => Outcome::Indeterminate {
                        reason: "the answer was lost".to_owned(),
                    },
                },
                request: slot.request,
            })
            .collect();
        History {
            header: HistoryHeader {
                format: HISTORY_FORMAT.to_owned(),
                version: HISTORY_FORMAT_VERSION,
                workload: "generated".to_owned(),
                seed: self.config.seed,
                final_reader: None,
            },
            entries,
        }
    }
}

/// A linearizable history: what a correct store answers to `config`'s
/// processes.
#[must_use]
pub fn generate(config: &GeneratorConfig) -> History {
    Simulation {
        config: *config,
        rng: Rng::new(config.seed),
        store: BTreeMap::new(),
        slots: Vec::new(),
        events: BinaryHeap::new(),
        sequence: 0,
        known: vec![BTreeMap::new(); config.processes as usize],
        op_counts: vec![0; config.processes as usize],
    }
    .run()
}

/// `history` with one answer changed the way a bug would change it: a
/// read returns another value of its key or nothing (E4), a lost race is
/// acknowledged (C1, C2), an acknowledged write is reported failed while
/// reads still see it (C4). Usually no longer linearizable; not always (a
/// read concurrent with the write it now returns is still fine). `None`
/// when the history has nothing the drawn mutation applies to.
#[must_use]
pub fn mutate(history: &History, seed: u64) -> Option<History> {
    let mut rng = Rng::new(seed);
    let mut mutated = history.clone();
    let entries = &mut mutated.entries;
    let pick = |rng: &mut Rng, entries: &[Entry], wanted: &dyn Fn(&Entry) -> bool| {
        let matching: Vec<usize> = (0..entries.len())
            .filter(|&index| wanted(&entries[index]))
            .collect();
        (!matching.is_empty()).then(|| matching[rng.index(matching.len())])
    };
    match rng.below(4) {
        0 => {
            let read = pick(&mut rng, entries, &|entry| {
                matches!(entry.request, Request::Get { .. })
                    && matches!(entry.outcome, Outcome::Ok { .. })
            })?;
            let key = entries[read].request.key().to_owned();
            let others: Vec<(String, String)> = entries
                .iter()
                .filter(|entry| entry.request.key() == key)
                .filter_map(|entry| match (&entry.request, &entry.outcome) {
                    (
                        Request::Put { value, .. },
                        Outcome::Ok {
                            result: OpResult::Written { etag },
                        },
                    ) => Some((value.clone(), etag.clone())),
                    _ => None,
                })
                .collect();
            entries[read].outcome = Outcome::Ok {
                result: if others.is_empty() {
                    OpResult::Absent
                } else {
                    let (value, etag) = others[rng.index(others.len())].clone();
                    OpResult::Read { value, etag }
                },
            };
        }
        1 => {
            let lost = pick(&mut rng, entries, &|entry| {
                matches!(entry.request, Request::Put { .. })
                    && matches!(entry.outcome, Outcome::Failed { status: 412, .. })
            })?;
            let Request::Put { value, .. } = &entries[lost].request else {
                return None;
            };
            entries[lost].outcome = Outcome::Ok {
                result: OpResult::Written {
                    etag: md5_etag(value),
                },
            };
        }
        2 => {
            let read = pick(&mut rng, entries, &|entry| {
                matches!(
                    entry.outcome,
                    Outcome::Ok {
                        result: OpResult::Read { .. }
                    }
                )
            })?;
            entries[read].outcome = Outcome::Ok {
                result: OpResult::Absent,
            };
        }
        _ => {
            let written = pick(&mut rng, entries, &|entry| {
                matches!(
                    (&entry.request, &entry.outcome),
                    (
                        Request::Put {
                            idempotency_key: None,
                            ..
                        },
                        Outcome::Ok { .. }
                    )
                )
            })?;
            entries[written].outcome = failed(400, "BadDigest");
        }
    }
    Some(mutated)
}
