//! The history of a run: every request a client made, when it was invoked
//! and when it completed (in simulated time), and what came back. The
//! checks after a run and the linearizability checker read it; a failing
//! seed's history is what a user reads to see the race.
//!
//! # What an entry is
//!
//! One entry per request a client's code issued and saw the end of: a
//! call into the client library, with the library's own retries (R3)
//! inside it. A workload op that takes several requests (a CAS reads, then
//! writes; an idempotent put may be sent several times) has one entry per
//! request, all carrying the op's index, because each request is atomic at
//! the server and the checker reasons about atomic operations.
//!
//! An entry's [`Outcome`] is one of:
//! - [`Outcome::Ok`]: the server answered with success, and the result
//!   (an ETag written, a value read, ...) is what it said;
//! - [`Outcome::Failed`]: the server answered with an error that means the
//!   request did not take effect (a 412, a 404, a 409 ...);
//! - [`Outcome::Indeterminate`]: no answer (a timeout, a dropped
//!   connection, a crash, or still pending when the run ended). The
//!   request may or may not have taken effect, at any moment after its
//!   invocation, even after `complete_ns`.
//!
//! Values written by a workload are unique per op (see lockwell-workload),
//! and an ETag is the MD5 of its value (E1), so a value read or an ETag
//! names the one write that produced it.
//!
//! # Format
//!
//! JSON lines: a [`HistoryHeader`] line, then one [`Entry`] per line in
//! invocation order (`id` 0, 1, 2, ...). Serialisation is deterministic
//! (no maps, no floats), so the [`TraceHash`] of a history, FNV-1a over
//! its JSON lines, is the same whenever the run is: same seed, same build,
//! same hash, also in another process.
//!
//! The request, result and outcome enums are exhaustive on purpose: a new
//! kind of request changes the format's version, and every checker must
//! then say what it means, so the compiler should point at each of them.
//!
//! Time comes in as arguments (nanoseconds since the run started): this
//! module reads no clock, and knows nothing of madsim, so it is tested in
//! normal builds and usable by a live checker.

use std::io::{self, BufRead, Write};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

/// The `format` of a history's header line.
pub const HISTORY_FORMAT: &str = "lockwell-history";

/// The version of this format, which [`HistoryRecorder`] writes.
/// Version 2 added [`Entry::attempts`]: without it a checker cannot bound
/// how often a retried request took effect. Version 3 added
/// [`Entry::retry_gaps_ns`]: without it no check can see how a client
/// spaced its retries.
pub const HISTORY_FORMAT_VERSION: u32 = 3;

/// The oldest version [`History::read_jsonl`] reads: a version 2 history
/// is a version 3 one without retry gaps. Older ones are refused.
pub const OLDEST_READABLE_FORMAT_VERSION: u32 = 2;

/// The most attempts one entry may record: clients make a handful (R3:
/// 3 by default, twice that around a native re-mint); a file with more is
/// refused rather than turned into that many operations.
pub const MAX_ATTEMPTS_PER_ENTRY: u32 = 64;

const POISONED: &str = "a client task panicked while recording the history";

/// The first line of a history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryHeader {
    /// Always [`HISTORY_FORMAT`].
    pub format: String,
    pub version: u32,
    /// The workload's name, and the seed the run was drawn from: with the
    /// build, what replays it.
    pub workload: String,
    pub seed: u64,
    /// The process that read every key once the run was over (the
    /// checks' final reads), when the run made them: what tells a
    /// client's requests from the checker's in a saved history. Version 3
    /// only; written only when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_reader: Option<u32>,
}

/// The API a request went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    Native,
    S3,
}

/// The precondition of a write, with the ETag it named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Precondition {
    None,
    /// `If-None-Match: *` / native `ifNoneMatch` / `requireAbsent` (C1,
    /// C7).
    Absent,
    /// `If-Match` / `requireMatchEtag` of `etag` (C2, C6a, C7).
    Matches {
        etag: String,
    },
}

/// A request, with the concrete values it carried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    Put {
        key: String,
        value: String,
        condition: Precondition,
        idempotency_key: Option<String>,
    },
    Get {
        key: String,
    },
    Delete {
        key: String,
        condition: Precondition,
    },
    /// CopyObject: `destination_condition` on the destination (C7),
    /// `source_if_match` on the source (C8).
    Copy {
        source: String,
        destination: String,
        destination_condition: Precondition,
        source_if_match: Option<String>,
    },
    /// CompleteMultipartUpload of an upload whose parts, concatenated, are
    /// `value`.
    CompleteMultipart {
        key: String,
        value: String,
        part_count: u32,
        condition: Precondition,
        idempotency_key: Option<String>,
    },
}

impl Request {
    /// The key the request writes or reads (a copy's destination).
    #[must_use]
    pub fn key(&self) -> &str {
        match self {
            Self::Put { key, .. }
            | Self::Get { key }
            | Self::Delete { key, .. }
            | Self::CompleteMultipart { key, .. } => key,
            Self::Copy { destination, .. } => destination,
        }
    }

    /// The idempotency key a put or multipart complete carried (I1): its
    /// sends are one operation.
    #[must_use]
    pub fn idempotency_key(&self) -> Option<&str> {
        match self {
            Self::Put {
                idempotency_key, ..
            }
            | Self::CompleteMultipart {
                idempotency_key, ..
            } => idempotency_key.as_deref(),
            Self::Get { .. } | Self::Delete { .. } | Self::Copy { .. } => None,
        }
    }
}

/// What a successful request returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum OpResult {
    /// A write (put, copy, complete) installed a version with this ETag.
    Written { etag: String },
    /// A read found this value and ETag.
    Read { value: String, etag: String },
    /// A read found no object (404 on GET is an observation, not a
    /// failure).
    Absent,
    /// A delete succeeded. S3 answers 204 also when nothing was there.
    Deleted,
}

/// How a request ended. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Outcome {
    Ok {
        result: OpResult,
    },
    /// A definite failure: `status` and the error `code` the server sent
    /// (`PreconditionFailed`, `NoSuchKey`, `ConditionalRequestConflict`,
    /// ...).
    Failed {
        status: u16,
        code: String,
    },
    /// No answer; `reason` says why (for a human: checkers must not parse
    /// it).
    Indeterminate {
        reason: String,
    },
}

/// One request of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Position in invocation order, from 0.
    pub id: u64,
    /// The client that issued the request.
    pub process: u32,
    /// The index of the workload op the request belongs to, in the
    /// client's op stream.
    pub op_index: u32,
    pub api: Api,
    /// Simulated nanoseconds since the run started.
    pub invoke_ns: u64,
    /// When the answer arrived or the client gave up; the end of the run
    /// for a request still pending then. Never before `invoke_ns`.
    pub complete_ns: u64,
    /// How many of the client library's attempts at the request may have
    /// taken effect at the store, its own retries (R3, R4) included: an
    /// attempt that certainly changed nothing (never sent, or answered
    /// with a 4xx) does not count, so a 412 has 0. Written only when it
    /// is not one. A retried DELETE is not idempotent in effect: each
    /// attempt whose answer was lost may have deleted what was written
    /// since, even after a later attempt was answered.
    #[serde(default = "one_attempt", skip_serializing_if = "is_one_attempt")]
    pub attempts: u32,
    /// For each retry the client library made (R3), the time from the
    /// answer to the attempt before it (or the attempt giving up) to the
    /// retry's start, on the run's clock: the backoff as it happened, not
    /// as the client meant it. Attempts the client never sent count too.
    /// Written only when there were retries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry_gaps_ns: Vec<u64>,
    pub request: Request,
    pub outcome: Outcome,
}

const fn one_attempt() -> u32 {
    1
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
const fn is_one_attempt(attempts: &u32) -> bool {
    *attempts == 1
}

/// What a client states when it issues a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub process: u32,
    pub op_index: u32,
    pub api: Api,
    pub request: Request,
}

/// A whole history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    pub header: HistoryHeader,
    /// In invocation order: `entries[i].id == i`.
    pub entries: Vec<Entry>,
}

/// FNV-1a (64-bit) of a history's JSON lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TraceHash(pub u64);

impl std::fmt::Display for TraceHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Why a history file cannot be read.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("reading the history: {0}")]
    Io(#[from] io::Error),
    #[error("line {line}: {source}")]
    Json {
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("the history is empty: no header line")]
    Empty,
    #[error(
        "line 1: not a {HISTORY_FORMAT} of version {OLDEST_READABLE_FORMAT_VERSION} to \
         {HISTORY_FORMAT_VERSION}: {0:?}"
    )]
    Header(HistoryHeader),
    #[error("line {line}: {reason}")]
    Inconsistent { line: usize, reason: String },
}

/// Incremental FNV-1a, 64-bit (Fowler, Noll, Vo): tiny, stable, and good
/// enough to tell two traces apart. Not a cryptographic hash.
struct Fnv1a64(u64);

impl Fnv1a64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn new() -> Self {
        Self(Self::OFFSET_BASIS)
    }
}

impl Write for Fnv1a64 {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(Self::PRIME);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl History {
    /// Writes the history as JSON lines.
    ///
    /// # Errors
    /// Writing to `out` failed.
    pub fn write_jsonl(&self, mut out: impl Write) -> io::Result<()> {
        serde_json::to_writer(&mut out, &self.header)?;
        out.write_all(b"\n")?;
        for entry in &self.entries {
            serde_json::to_writer(&mut out, entry)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }

    /// The hash of [`History::write_jsonl`]'s output.
    #[must_use]
    pub fn trace_hash(&self) -> TraceHash {
        let mut hasher = Fnv1a64::new();
        self.write_jsonl(&mut hasher)
            .expect("hashing writes nowhere and cannot fail");
        TraceHash(hasher.0)
    }

    /// Reads a history written by [`History::write_jsonl`], checking its
    /// header and that entries are in order and complete after they start.
    ///
    /// # Errors
    /// Unreadable input, a line that is not JSON of the right shape, a
    /// header of another format or version, or entries out of order.
    pub fn read_jsonl(input: impl BufRead) -> Result<Self, HistoryError> {
        let mut lines = input.lines();
        let header_line = lines.next().ok_or(HistoryError::Empty)??;
        let header: HistoryHeader = serde_json::from_str(&header_line)
            .map_err(|source| HistoryError::Json { line: 1, source })?;
        if header.format != HISTORY_FORMAT
            || !(OLDEST_READABLE_FORMAT_VERSION..=HISTORY_FORMAT_VERSION).contains(&header.version)
        {
            return Err(HistoryError::Header(header));
        }
        let mut entries = Vec::new();
        for (index, line) in lines.enumerate() {
            let line_number = index + 2;
            let entry: Entry =
                serde_json::from_str(&line?).map_err(|source| HistoryError::Json {
                    line: line_number,
                    source,
                })?;
            let inconsistent = |reason| HistoryError::Inconsistent {
                line: line_number,
                reason,
            };
            if entry.id != index as u64 {
                return Err(inconsistent(format!(
                    "entry id {} where {index} was expected",
                    entry.id
                )));
            }
            if entry.retry_gaps_ns.len() >= MAX_ATTEMPTS_PER_ENTRY as usize {
                return Err(inconsistent(format!(
                    "{} retries make {} attempts, more than the {MAX_ATTEMPTS_PER_ENTRY} an entry \
                     may have",
                    entry.retry_gaps_ns.len(),
                    entry.retry_gaps_ns.len() + 1
                )));
            }
            if entry.attempts > MAX_ATTEMPTS_PER_ENTRY {
                return Err(inconsistent(format!(
                    "{} attempts, more than the {MAX_ATTEMPTS_PER_ENTRY} an entry may have",
                    entry.attempts
                )));
            }
            if entry.complete_ns < entry.invoke_ns {
                return Err(inconsistent(format!(
                    "completes at {} ns, before its invocation at {} ns",
                    entry.complete_ns, entry.invoke_ns
                )));
            }
            entries.push(entry);
        }
        Ok(Self { header, entries })
    }
}

/// The handle a client gets for a request it invoked; completing it
/// consumes it, so no request completes twice.
#[derive(Debug)]
#[must_use = "a request must be completed, or it is recorded as indeterminate"]
pub struct InvocationId(u64);

/// Records a run's history as its clients go. Clones share one recording,
/// so each client task holds its own clone.
#[derive(Debug, Clone)]
pub struct HistoryRecorder {
    recording: Arc<Mutex<Recording>>,
}

#[derive(Debug)]
struct Recording {
    header: HistoryHeader,
    /// In invocation order.
    entries: Vec<Recorded>,
}

#[derive(Debug)]
struct Recorded {
    invocation: Invocation,
    invoke_ns: u64,
    /// When and how it ended; `None` while pending.
    completion: Option<Completion>,
}

#[derive(Debug, Clone)]
struct Completion {
    complete_ns: u64,
    attempts: u32,
    retry_gaps_ns: Vec<u64>,
    outcome: Outcome,
}

impl HistoryRecorder {
    #[must_use]
    pub fn new(workload: &str, seed: u64) -> Self {
        Self {
            recording: Arc::new(Mutex::new(Recording {
                header: HistoryHeader {
                    format: HISTORY_FORMAT.to_owned(),
                    version: HISTORY_FORMAT_VERSION,
                    workload: workload.to_owned(),
                    seed,
                    final_reader: None,
                },
                entries: Vec::new(),
            })),
        }
    }

    /// Names `process` as the one whose requests are the final reads (see
    /// [`HistoryHeader::final_reader`]).
    #[must_use]
    pub fn with_final_reader(self, process: u32) -> Self {
        self.lock().header.final_reader = Some(process);
        self
    }

    fn lock(&self) -> MutexGuard<'_, Recording> {
        self.recording.lock().expect(POISONED)
    }

    /// Records that a request was issued at `now_ns`.
    pub fn invoke(&self, invocation: Invocation, now_ns: u64) -> InvocationId {
        let mut recording = self.lock();
        let id = recording.entries.len() as u64;
        recording.entries.push(Recorded {
            invocation,
            invoke_ns: now_ns,
            completion: None,
        });
        InvocationId(id)
    }

    /// Records how the request `id` ended, at `now_ns`, after `attempts`
    /// attempts that may have taken effect (see [`Entry::attempts`]) and
    /// retries spaced by `retry_gaps_ns` (see [`Entry::retry_gaps_ns`]).
    ///
    /// # Panics
    /// If `now_ns` is before the request's invocation: time runs forward.
    pub fn complete(
        &self,
        id: InvocationId,
        outcome: Outcome,
        attempts: u32,
        retry_gaps_ns: Vec<u64>,
        now_ns: u64,
    ) {
        let mut recording = self.lock();
        let entry = &mut recording.entries[usize::try_from(id.0).expect("an index")];
        assert!(
            now_ns >= entry.invoke_ns,
            "request {} completes at {now_ns} ns, before its invocation at {} ns",
            id.0,
            entry.invoke_ns
        );
        entry.completion = Some(Completion {
            complete_ns: now_ns,
            attempts,
            retry_gaps_ns,
            outcome,
        });
    }

    /// The history so far, with requests still pending recorded as
    /// indeterminate, completing at `end_ns`, with `pending_attempts`
    /// attempts: the recorder does not see how many a pending request
    /// made so far, so the caller gives the most its clients make for one
    /// request (R3), the safe count for a checker.
    #[must_use]
    pub fn history(&self, end_ns: u64, pending_attempts: u32) -> History {
        let recording = self.lock();
        let entries = recording
            .entries
            .iter()
            .enumerate()
            .map(|(id, recorded)| {
                let Recorded {
                    invocation,
                    invoke_ns,
                    completion,
                } = recorded;
                let Completion {
                    complete_ns,
                    attempts,
                    retry_gaps_ns,
                    outcome,
                } = completion.clone().unwrap_or_else(|| Completion {
                    complete_ns: end_ns.max(*invoke_ns),
                    attempts: pending_attempts,
                    retry_gaps_ns: Vec::new(),
                    outcome: Outcome::Indeterminate {
                        reason: "still pending when the run ended".to_owned(),
                    },
                });
                Entry {
                    id: id as u64,
                    process: invocation.process,
                    op_index: invocation.op_index,
                    api: invocation.api,
                    invoke_ns: *invoke_ns,
                    complete_ns,
                    attempts,
                    retry_gaps_ns,
                    request: invocation.request.clone(),
                    outcome,
                }
            })
            .collect();
        History {
            header: recording.header.clone(),
            entries,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(key: &str, value: &str, condition: Precondition) -> Request {
        Request::Put {
            key: key.to_owned(),
            value: value.to_owned(),
            condition,
            idempotency_key: None,
        }
    }

    fn invocation(process: u32, op_index: u32, request: Request) -> Invocation {
        Invocation {
            process,
            op_index,
            api: if process.is_multiple_of(2) {
                Api::Native
            } else {
                Api::S3
            },
            request,
        }
    }

    /// Two racing creators (C1), a read, and a request cut off by the end
    /// of the run: one of every outcome.
    fn racing_creators() -> History {
        let recorder = HistoryRecorder::new("racing-creators", 42).with_final_reader(2);
        let first = recorder.invoke(
            invocation(0, 0, put("k00000000", "c0-o0", Precondition::Absent)),
            1_000,
        );
        let second = recorder.invoke(
            invocation(1, 0, put("k00000000", "c1-o0", Precondition::Absent)),
            1_500,
        );
        recorder.complete(
            second,
            Outcome::Failed {
                status: 412,
                code: "PreconditionFailed".to_owned(),
            },
            1,
            Vec::new(),
            4_000,
        );
        recorder.complete(
            first,
            Outcome::Ok {
                result: OpResult::Written {
                    etag: "\"4b6a1f7d\"".to_owned(),
                },
            },
            1,
            Vec::new(),
            5_000,
        );
        let read = recorder.invoke(
            invocation(
                1,
                1,
                Request::Get {
                    key: "k00000000".to_owned(),
                },
            ),
            6_000,
        );
        recorder.complete(
            read,
            Outcome::Ok {
                result: OpResult::Read {
                    value: "c0-o0".to_owned(),
                    etag: "\"4b6a1f7d\"".to_owned(),
                },
            },
            2,
            vec![300],
            7_000,
        );
        let _cut_off = recorder.invoke(
            invocation(
                0,
                1,
                Request::Copy {
                    source: "k00000000".to_owned(),
                    destination: "k00000001".to_owned(),
                    destination_condition: Precondition::Absent,
                    source_if_match: Some("\"4b6a1f7d\"".to_owned()),
                },
            ),
            8_000,
        );
        recorder.history(9_000, 3)
    }

    /// `racing_creators()` as JSON lines: the format, pinned.
    const RACING_CREATORS_JSONL: &str = concat!(
        r#"{"format":"lockwell-history","version":3,"workload":"racing-creators","seed":42,"final_reader":2}"#,
        "\n",
        r#"{"id":0,"process":0,"op_index":0,"api":"native","invoke_ns":1000,"complete_ns":5000,"request":{"type":"put","key":"k00000000","value":"c0-o0","condition":{"type":"absent"},"idempotency_key":null},"outcome":{"type":"ok","result":{"type":"written","etag":"\"4b6a1f7d\""}}}"#,
        "\n",
        r#"{"id":1,"process":1,"op_index":0,"api":"s3","invoke_ns":1500,"complete_ns":4000,"request":{"type":"put","key":"k00000000","value":"c1-o0","condition":{"type":"absent"},"idempotency_key":null},"outcome":{"type":"failed","status":412,"code":"PreconditionFailed"}}"#,
        "\n",
        r#"{"id":2,"process":1,"op_index":1,"api":"s3","invoke_ns":6000,"complete_ns":7000,"attempts":2,"retry_gaps_ns":[300],"request":{"type":"get","key":"k00000000"},"outcome":{"type":"ok","result":{"type":"read","value":"c0-o0","etag":"\"4b6a1f7d\""}}}"#,
        "\n",
        r#"{"id":3,"process":0,"op_index":1,"api":"native","invoke_ns":8000,"complete_ns":9000,"attempts":3,"request":{"type":"copy","source":"k00000000","destination":"k00000001","destination_condition":{"type":"absent"},"source_if_match":"\"4b6a1f7d\""},"outcome":{"type":"indeterminate","reason":"still pending when the run ended"}}"#,
        "\n",
    );

    fn jsonl(history: &History) -> String {
        let mut out = Vec::new();
        history.write_jsonl(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn entries_are_in_invocation_order_and_pending_ones_are_indeterminate_at_the_end() {
        let history = racing_creators();
        let ids: Vec<u64> = history.entries.iter().map(|entry| entry.id).collect();
        assert_eq!(ids, [0, 1, 2, 3]);
        let cut_off = &history.entries[3];
        assert_eq!(cut_off.complete_ns, 9_000);
        assert!(matches!(cut_off.outcome, Outcome::Indeterminate { .. }));
        assert_eq!(cut_off.request.key(), "k00000001");
        assert_eq!(
            cut_off.attempts, 3,
            "the count the caller gave for pending requests"
        );
    }

    #[test]
    fn the_json_lines_format_is_stable() {
        assert_eq!(jsonl(&racing_creators()), RACING_CREATORS_JSONL);
    }

    #[test]
    fn a_history_reads_back_as_written() {
        let history = racing_creators();
        let read = History::read_jsonl(jsonl(&history).as_bytes()).unwrap();
        assert_eq!(read, history);
        assert_eq!(read.trace_hash(), history.trace_hash());
    }

    #[test]
    fn a_version_2_history_reads_as_one_without_retry_gaps() {
        let version_2 = RACING_CREATORS_JSONL
            .replace("\"version\":3", "\"version\":2")
            .replace(",\"final_reader\":2", "")
            .replace(",\"retry_gaps_ns\":[300]", "");
        let read = History::read_jsonl(version_2.as_bytes()).unwrap();
        let mut expected = racing_creators();
        expected.header.version = 2;
        expected.header.final_reader = None;
        expected.entries[2].retry_gaps_ns.clear();
        assert_eq!(read, expected);
    }

    #[test]
    fn the_trace_hash_is_stable_and_sees_every_change() {
        let history = racing_creators();
        assert_eq!(history.trace_hash().to_string(), "1914263914b6168b");
        let mut later = history.clone();
        later.entries[2].complete_ns += 1;
        let mut other_seed = history.clone();
        other_seed.header.seed += 1;
        let mut other_value = history.clone();
        other_value.entries[0].request = put("k00000000", "c0-o1", Precondition::Absent);
        let mut retried = history.clone();
        retried.entries[0].attempts += 1;
        let mut sooner = history.clone();
        sooner.entries[2].retry_gaps_ns[0] -= 1;
        let mut other_reader = history.clone();
        other_reader.header.final_reader = None;
        for changed in [
            later,
            other_seed,
            other_value,
            retried,
            sooner,
            other_reader,
        ] {
            assert_ne!(changed.trace_hash(), history.trace_hash());
        }
    }

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        for (input, expected) in [
            (&b""[..], 0xcbf2_9ce4_8422_2325),
            (b"a", 0xaf63_dc4c_8601_ec8c),
            (b"foobar", 0x8594_4171_f739_67e8),
        ] {
            let mut hasher = Fnv1a64::new();
            hasher.write_all(input).unwrap();
            assert_eq!(hasher.0, expected, "{input:?}");
        }
    }

    #[test]
    fn a_malformed_history_is_refused_naming_the_line() {
        let good = jsonl(&racing_creators());
        let lines: Vec<&str> = good.lines().collect();
        let with_line = |index: usize, replacement: String| {
            let mut changed: Vec<String> = lines.iter().map(|line| (*line).to_owned()).collect();
            changed[index] = replacement;
            changed.join("\n")
        };
        let cases = [
            (String::new(), "empty"),
            (
                with_line(0, lines[0].replace("\"version\":3", "\"version\":1")),
                "line 1: not a lockwell-history of version 2 to 3",
            ),
            (
                with_line(0, lines[0].replace("\"version\":3", "\"version\":4")),
                "line 1: not a lockwell-history of version 2 to 3",
            ),
            (with_line(2, "{".to_owned()), "line 3:"),
            (
                with_line(2, lines[2].replace("\"id\":1", "\"id\":7")),
                "line 3: entry id 7 where 1 was expected",
            ),
            (
                with_line(
                    3,
                    lines[3].replace("\"complete_ns\":7000", "\"complete_ns\":5999"),
                ),
                "line 4: completes at 5999 ns, before its invocation at 6000 ns",
            ),
            (
                with_line(3, lines[3].replace("\"attempts\":2", "\"attempts\":65")),
                "line 4: 65 attempts, more than the 64 an entry may have",
            ),
            (
                with_line(
                    3,
                    lines[3].replace("[300]", &format!("[{}300]", "1,".repeat(64))),
                ),
                "line 4: 65 retries make 66 attempts, more than the 64 an entry may have",
            ),
            (
                with_line(1, lines[1].replace(r#"{"type":"ok""#, r#"{"type":"maybe""#)),
                "line 2:",
            ),
        ];
        for (text, expected) in cases {
            let error = History::read_jsonl(text.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{expected}: {error}");
        }
    }

    #[test]
    #[should_panic(expected = "before its invocation")]
    fn a_completion_before_its_invocation_is_a_bug() {
        let recorder = HistoryRecorder::new("w", 1);
        let id = recorder.invoke(
            invocation(
                0,
                0,
                Request::Get {
                    key: "k".to_owned(),
                },
            ),
            10,
        );
        recorder.complete(
            id,
            Outcome::Ok {
                result: OpResult::Absent,
            },
            1,
            Vec::new(),
            9,
        );
    }

    #[test]
    fn the_recorder_can_be_shared_by_client_tasks() {
        fn shareable<T: Send + Sync + Clone + 'static>() {}
        shareable::<HistoryRecorder>();
        let recorder = HistoryRecorder::new("w", 1);
        let clone = recorder.clone();
        let id = clone.invoke(
            invocation(
                0,
                0,
                Request::Get {
                    key: "k".to_owned(),
                },
            ),
            1,
        );
        clone.complete(
            id,
            Outcome::Ok {
                result: OpResult::Absent,
            },
            1,
            Vec::new(),
            2,
        );
        assert_eq!(recorder.history(3, 3).entries.len(), 1);
    }
}
