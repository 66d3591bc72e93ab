//! A workload's ops as requests to an object store, each recorded in the
//! history: what the simulator's client nodes run (`world`) and what
//! `lockwell check` runs against a live endpoint over real sockets. One
//! mapping of [`Op`] to client calls, so a history means the same thing
//! whether it was simulated or measured.
//!
//! Compiled in both build modes: the clients' sockets and timers are
//! tokio's (madsim's under `--cfg madsim`), and time comes from the
//! caller's [`RunClock`]; nothing here reads a clock or draws randomness
//! of its own.
//!
//! # Ops and requests
//!
//! One history entry per request (see the history's module docs): a CAS
//! reads, then writes under If-Match of what it read (or create-only when
//! it read nothing), and reads again after a lost race (412, or 409 C5),
//! at most [`MAX_CAS_ROUNDS`] times; a conditional delete, a copy under a
//! read condition and a write under `if_match_read` read first; an
//! idempotent put is sent again with the same key while its outcome is
//! unknown (I1). A multipart upload records only its complete, the one
//! request that changes what readers see.
//!
//! # Clients
//!
//! A [`WorkloadClient::Native`] sends every op through [`NativeClient`]
//! except multipart uploads, which the native API has not
//! (`docs/native-api.md` lists its routes): those go through its S3
//! companion, and the history records the complete as [`Api::S3`]. An
//! idempotent native put carries the SHA-256 of its body (I4); the other
//! native puts carry it too, so that every native write is verified (K2).
//!
//! # Outcomes
//!
//! A 4xx answer is a definite failure, except a 401 or 403 (it answers the
//! last attempt only: an earlier attempt of a retried request may have
//! committed) and a failed conditional delete (a retried delete may meet
//! what its own first attempt did). A 404 on GET is an observation, not a
//! failure. Everything else (5xx, transport errors, timeouts) is
//! indeterminate.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use lockwell_client::native::{PutBody, PutOptions as NativePutOptions};
use lockwell_client::retry::DEFAULT_MAX_ATTEMPTS;
use lockwell_client::s3::types::{
    CompleteOptions, CopyOptions, CopySource, CreateMultipartOptions, DeleteOptions, GetOptions,
    PutOptions,
};
use lockwell_client::{
    AttemptEvent, ChecksumAlgorithm, ETag, Error, IdempotencyKey, NativeClient, Observer,
    ReadConditions, RequestEvent, S3Client, TcpConnector, WriteCondition as ClientCondition,
};
use lockwell_proto::native::{
    CopyDestination as NativeCopyDestination, CopyObjectRequest as NativeCopyRequest,
    CopySource as NativeCopySource,
};
use lockwell_workload::{CopyCondition, CounterValue, Op, WriteCondition};

use crate::history::{Api, HistoryRecorder, Invocation, OpResult, Outcome, Precondition, Request};

/// Rounds of read-then-write a CAS makes before it gives up: each lost
/// race (412, 409 C5) re-reads and tries again.
pub const MAX_CAS_ROUNDS: u32 = 5;

/// The time of a run, as its history records it: nanoseconds since the
/// run started, on the simulator's clock or, live, the runtime's
/// monotonic one.
pub trait RunClock: Send + Sync + fmt::Debug {
    fn elapsed_ns(&self) -> u64;
}

/// A client of a run.
#[derive(Debug, Clone)]
pub enum WorkloadClient {
    S3(S3Client<TcpConnector>),
    /// The native API, and S3 for what the native API has not (multipart
    /// uploads).
    Native {
        native: NativeClient<TcpConnector>,
        s3: S3Client<TcpConnector>,
        tokens: Arc<TokenStats>,
    },
}

/// The native clients' 401s: every 401 the server answered is followed
/// by one re-mint (R1), except one returned to the caller (the answer to
/// the request sent again after the re-mint). The processes'
/// [`ProcessObserver`]s count the answered ones.
#[derive(Debug, Default)]
pub struct TokenStats {
    /// Observed: requests the server answered 401.
    answered_401: AtomicU64,
    /// 401s the native client returned to the driver.
    returned_401: AtomicU64,
}

impl TokenStats {
    fn note_returned<T>(&self, result: &Result<T, Error>) {
        if let Err(Error::Unauthorized(_)) = result {
            self.returned_401.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Tokens re-minted after a 401 so far.
    #[must_use]
    pub fn remints(&self) -> u64 {
        self.answered_401
            .load(Ordering::Relaxed)
            .saturating_sub(self.returned_401.load(Ordering::Relaxed))
    }
}

/// The most attempts at one request that may have taken effect: R3's
/// default of [`DEFAULT_MAX_ATTEMPTS`], twice for a native request sent
/// again after a re-mint (R1), less the attempt answered 401. What the
/// history records for a request still pending when the run ends: the
/// recorder cannot see its count, and the most is the safe count.
pub const MAX_ACTING_ATTEMPTS_PER_REQUEST: u32 = 2 * DEFAULT_MAX_ATTEMPTS - 1;

/// The observer of one process's clients: it counts the attempts of the
/// request in flight (a process has one at a time) that may have taken
/// effect, which the history records as `attempts`, times the gaps before
/// its retries on the driver's clock (`retry_gaps_ns`), and tells the
/// run's [`TokenStats`] of every 401 a native process's clients meet.
/// Install it in every client of the process, and give it to the
/// process's [`ClientDriver`].
#[derive(Debug)]
pub struct ProcessObserver {
    /// The request in flight, as seen since the driver last took it.
    in_flight: Mutex<InFlight>,
    /// The driver's clock, once the observer is given to one: an observer
    /// of set-up requests times nothing.
    clock: OnceLock<Arc<dyn RunClock>>,
    /// For a native process: where its 401s are counted.
    tokens: Option<Arc<TokenStats>>,
}

/// What the observer saw of one request, as the history records it.
#[derive(Debug, Default, PartialEq, Eq)]
struct RequestAttempts {
    /// Attempts that may have acted (`attempts`).
    acting: u32,
    /// From each answer to the start of the retry after it.
    retry_gaps_ns: Vec<u64>,
}

/// The request in flight.
#[derive(Debug, Default)]
struct InFlight {
    seen: RequestAttempts,
    /// When its last attempt was answered or gave up, once timed.
    last_answer_ns: Option<u64>,
}

impl ProcessObserver {
    #[must_use]
    pub fn new(tokens: Option<Arc<TokenStats>>) -> Arc<Self> {
        Arc::new(Self {
            in_flight: Mutex::new(InFlight::default()),
            clock: OnceLock::new(),
            tokens,
        })
    }

    /// What was seen since the last call; the next count starts afresh.
    fn take_request_attempts(&self) -> RequestAttempts {
        std::mem::take(&mut *self.lock_in_flight()).seen
    }

    fn lock_in_flight(&self) -> MutexGuard<'_, InFlight> {
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Times retries from now on by `clock` (the first clock given wins:
    /// a process has one driver).
    fn time_by(&self, clock: &Arc<dyn RunClock>) {
        let _ = self.clock.set(Arc::clone(clock));
    }
}

fn whole_ns(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

impl Observer for ProcessObserver {
    fn on_attempt(&self, event: &AttemptEvent<'_>) {
        let may_have_acted = match event.outcome {
            lockwell_client::Outcome::Succeeded { .. } => true,
            lockwell_client::Outcome::Failed(error) => !error.has_no_side_effects(),
        };
        let mut in_flight = self.lock_in_flight();
        if may_have_acted {
            in_flight.seen.acting += 1;
        }
        if let Some(clock) = self.clock.get() {
            let answered_ns = clock.elapsed_ns();
            let started_ns = answered_ns.saturating_sub(whole_ns(event.latency));
            if event.attempt > 1
                && let Some(last_answer_ns) = in_flight.last_answer_ns
            {
                in_flight
                    .seen
                    .retry_gaps_ns
                    .push(started_ns.saturating_sub(last_answer_ns));
            }
            in_flight.last_answer_ns = Some(answered_ns);
        }
    }

    fn on_request(&self, event: &RequestEvent<'_>) {
        if let (lockwell_client::Outcome::Failed(Error::Unauthorized(_)), Some(tokens)) =
            (event.outcome, &self.tokens)
        {
            tokens.answered_401.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn client_condition(condition: &Precondition) -> Option<ClientCondition> {
    match condition {
        Precondition::Absent => Some(ClientCondition::IfAbsent),
        Precondition::Matches { etag } => Some(ClientCondition::IfMatch(parse_etag(etag))),
        Precondition::None => None,
    }
}

/// The outcome of a failed request: a 4xx is a definite failure; anything
/// else (5xx, transport, timeout) may have taken effect. So may a request
/// refused authentication (401, 403): the refusal answers the last
/// attempt only, and an earlier attempt of a retried request (a DELETE, a
/// keyed put) may have committed before its answer was lost, e.g. when the
/// server's clock jumped while the retry was in flight (403
/// RequestTimeTooSkewed). Other 4xx come from the engine, after the
/// idempotency table: a replayed key answers its first result (I1, I7).
fn failure(error: &Error) -> Outcome {
    match error.status() {
        Some(status @ (401 | 403)) => Outcome::Indeterminate {
            reason: format!("authentication refused ({status}) the last attempt: {error}"),
        },
        Some(status) if (400..500).contains(&status) => Outcome::Failed {
            status,
            code: error.code().unwrap_or_default().to_owned(),
        },
        _ => Outcome::Indeterminate {
            reason: error.to_string(),
        },
    }
}

fn read(result: Result<(impl AsRef<[u8]>, ETag), Error>) -> Outcome {
    match result {
        Ok((body, etag)) => Outcome::Ok {
            result: OpResult::Read {
                value: String::from_utf8_lossy(body.as_ref()).into_owned(),
                etag: etag.to_string(),
            },
        },
        Err(Error::NotFound(_)) => Outcome::Ok {
            result: OpResult::Absent,
        },
        Err(error) => failure(&error),
    }
}

/// The outcome of a delete. Both clients retry DELETE (R4): a conditional
/// delete whose first attempt deleted and lost its answer gets 404 or 412
/// on the retry, so its failure is not a definite one.
fn deleted(result: Result<(), Error>, conditional: bool) -> Outcome {
    match result {
        Ok(()) => Outcome::Ok {
            result: OpResult::Deleted,
        },
        Err(error) if conditional => Outcome::Indeterminate {
            reason: format!("a retried conditional delete ended with: {error}"),
        },
        Err(error) => failure(&error),
    }
}

/// An ETag of the history: every one came from a store's answer, through
/// the client's own parser.
fn parse_etag(etag: &str) -> ETag {
    etag.parse().expect("ETags come from the server")
}

fn written(result: Result<ETag, Error>) -> Outcome {
    match result {
        Ok(etag) => Outcome::Ok {
            result: OpResult::Written {
                etag: etag.to_string(),
            },
        },
        Err(error) => failure(&error),
    }
}

impl WorkloadClient {
    /// The API `request` goes through.
    const fn api(&self, request: &Request) -> Api {
        match (self, request) {
            (Self::Native { .. }, Request::CompleteMultipart { .. }) | (Self::S3(_), _) => Api::S3,
            (Self::Native { .. }, _) => Api::Native,
        }
    }

    /// The S3 client: the client itself, or a native client's companion
    /// for multipart uploads.
    const fn s3(&self) -> &S3Client<TcpConnector> {
        match self {
            Self::S3(s3) | Self::Native { s3, .. } => s3,
        }
    }

    /// Sends one recorded request to `bucket` and says how it ended.
    async fn send(&self, bucket: &str, request: &Request) -> Outcome {
        match self {
            Self::S3(s3) => Self::send_s3(s3, bucket, request).await,
            Self::Native { native, tokens, .. } => {
                Self::send_native(native, tokens, bucket, request).await
            }
        }
    }

    async fn send_s3(s3: &S3Client<TcpConnector>, bucket: &str, request: &Request) -> Outcome {
        match request {
            Request::Get { key } => read(
                s3.get_object(bucket, key, &GetOptions::default())
                    .await
                    .map(|got| (got.body, got.info.etag)),
            ),
            Request::Put {
                key,
                value,
                condition,
                idempotency_key,
            } => {
                let options = PutOptions {
                    condition: client_condition(condition),
                    idempotency_key: idempotency_key
                        .as_deref()
                        .map(|key| IdempotencyKey::parse(key).expect("generated keys are valid")),
                    ..PutOptions::default()
                };
                written(
                    s3.put_object(bucket, key, value.clone().into_bytes(), &options)
                        .await
                        .map(|put| put.etag),
                )
            }
            Request::Delete { key, condition } => {
                let options = DeleteOptions {
                    if_match: match client_condition(condition) {
                        Some(ClientCondition::IfMatch(etag)) => Some(etag),
                        _ => None,
                    },
                };
                let conditional = options.if_match.is_some();
                deleted(s3.delete_object(bucket, key, &options).await, conditional)
            }
            Request::Copy {
                source,
                destination,
                destination_condition,
                source_if_match,
            } => {
                let options = CopyOptions {
                    source_conditions: ReadConditions {
                        if_match: source_if_match.as_deref().map(parse_etag),
                        ..ReadConditions::default()
                    },
                    destination_condition: client_condition(destination_condition),
                    replace_metadata: None,
                };
                let source = CopySource {
                    bucket,
                    key: source,
                };
                written(
                    s3.copy_object(&source, bucket, destination, &options)
                        .await
                        .map(|copy| copy.etag),
                )
            }
            Request::CompleteMultipart { .. } => {
                unreachable!("a multipart complete is sent by `ClientDriver::multipart`")
            }
        }
    }

    async fn send_native(
        native: &NativeClient<TcpConnector>,
        tokens: &TokenStats,
        bucket: &str,
        request: &Request,
    ) -> Outcome {
        match request {
            Request::Get { key } => {
                let got = native.get_object(bucket, key).await;
                tokens.note_returned(&got);
                read(got.map(|got| (got.body, got.etag)))
            }
            Request::Put {
                key,
                value,
                condition,
                idempotency_key,
            } => {
                let mut options = NativePutOptions::default()
                    .with_checksum_of(ChecksumAlgorithm::Sha256, value.as_bytes());
                match condition {
                    Precondition::Absent => options = options.if_absent(),
                    Precondition::Matches { etag } => options = options.if_match(parse_etag(etag)),
                    Precondition::None => {}
                }
                if let Some(key) = idempotency_key {
                    options = options.idempotency_key(
                        IdempotencyKey::parse(key).expect("generated keys are valid"),
                    );
                }
                let body = PutBody::from(value.clone().into_bytes());
                let put = native.put_object(bucket, key, body, &options).await;
                tokens.note_returned(&put);
                written(put.map(|put| put.etag))
            }
            Request::Delete { key, condition } => {
                let if_match = match condition {
                    Precondition::Matches { etag } => Some(parse_etag(etag)),
                    Precondition::Absent | Precondition::None => None,
                };
                let delete = native.delete_object(bucket, key, if_match.as_ref()).await;
                tokens.note_returned(&delete);
                deleted(delete, if_match.is_some())
            }
            Request::Copy {
                source,
                destination,
                destination_condition,
                source_if_match,
            } => {
                let copy = NativeCopyRequest {
                    source: NativeCopySource {
                        bucket: bucket.to_owned(),
                        key: source.clone(),
                        if_match: source_if_match.clone(),
                        if_none_match: None,
                        if_modified_since_ms: None,
                        if_unmodified_since_ms: None,
                    },
                    destination: NativeCopyDestination {
                        bucket: bucket.to_owned(),
                        key: destination.clone(),
                        require_absent: *destination_condition == Precondition::Absent,
                        require_match_etag: match destination_condition {
                            Precondition::Matches { etag } => Some(etag.clone()),
                            Precondition::Absent | Precondition::None => None,
                        },
                    },
                };
                let copied = native.copy_object(&copy).await;
                tokens.note_returned(&copied);
                written(copied.map(|copy| copy.etag))
            }
            Request::CompleteMultipart { .. } => {
                unreachable!("a multipart complete is sent by `ClientDriver::multipart`")
            }
        }
    }
}

/// One process of a run: its client, the bucket it works in, and the
/// history it records into. The simulator runs one per client node (and
/// one for the final reads); `lockwell check` one per client task.
#[derive(Debug)]
pub struct ClientDriver {
    process: u32,
    client: WorkloadClient,
    /// The observer installed in `client`'s clients.
    observer: Arc<ProcessObserver>,
    bucket: String,
    recorder: HistoryRecorder,
    clock: Arc<dyn RunClock>,
}

impl ClientDriver {
    /// Process `process` of a run, recording into `recorder` at the times
    /// `clock` gives; `observer` is the one installed in `client`.
    #[must_use]
    pub fn new(
        process: u32,
        client: WorkloadClient,
        observer: Arc<ProcessObserver>,
        bucket: &str,
        recorder: HistoryRecorder,
        clock: Arc<dyn RunClock>,
    ) -> Self {
        observer.time_by(&clock);
        Self {
            process,
            client,
            observer,
            bucket: bucket.to_owned(),
            recorder,
            clock,
        }
    }

    /// Invokes, sends and completes one request in the history.
    async fn record<F: Future<Output = Outcome>>(
        &self,
        op_index: u32,
        request: Request,
        send: impl FnOnce(Request) -> F,
    ) -> Outcome {
        let id = self.recorder.invoke(
            Invocation {
                process: self.process,
                op_index,
                api: self.client.api(&request),
                request: request.clone(),
            },
            self.clock.elapsed_ns(),
        );
        // Attempts of requests the history does not record (a multipart
        // upload's parts) are not this request's.
        self.observer.take_request_attempts();
        let outcome = send(request).await;
        let attempts = self.observer.take_request_attempts();
        self.recorder.complete(
            id,
            outcome.clone(),
            attempts.acting,
            attempts.retry_gaps_ns,
            self.clock.elapsed_ns(),
        );
        outcome
    }

    async fn request(&self, op_index: u32, request: Request) -> Outcome {
        self.record(op_index, request, |request| async move {
            self.client.send(&self.bucket, &request).await
        })
        .await
    }

    /// The read of `key` after the run, recorded as op 0 of this process
    /// (the checker's, see [`crate::checks`]).
    pub async fn final_read(&self, key: &str) {
        self.read(0, key).await;
    }

    /// A GET; `Some(None)` when the key is absent, `None` when the read
    /// failed.
    async fn read(&self, op_index: u32, key: &str) -> Option<Option<(String, String)>> {
        match self
            .request(
                op_index,
                Request::Get {
                    key: key.to_owned(),
                },
            )
            .await
        {
            Outcome::Ok {
                result: OpResult::Read { value, etag },
            } => Some(Some((value, etag))),
            Outcome::Ok {
                result: OpResult::Absent,
            } => Some(None),
            _ => None,
        }
    }

    /// The condition of a write that reads first: If-Match of what it
    /// read, or create-only when absent; `None` when the read failed.
    async fn read_condition(&self, op_index: u32, key: &str) -> Option<Precondition> {
        Some(match self.read(op_index, key).await? {
            Some((_, etag)) => Precondition::Matches { etag },
            None => Precondition::Absent,
        })
    }

    async fn write_condition(
        &self,
        op_index: u32,
        key: &str,
        condition: WriteCondition,
    ) -> Option<Precondition> {
        match condition {
            WriteCondition::IfAbsent => Some(Precondition::Absent),
            WriteCondition::IfMatchRead => self.read_condition(op_index, key).await,
            _ => Some(Precondition::None),
        }
    }

    /// Runs op `op_index` of this process's stream, recording each of its
    /// requests.
    pub async fn run_op(&self, op_index: u32, op: Op) {
        match op {
            Op::CreateOnly { key, value } => {
                self.request(
                    op_index,
                    Request::Put {
                        key,
                        value,
                        condition: Precondition::Absent,
                        idempotency_key: None,
                    },
                )
                .await;
            }
            Op::Cas { key, tag } => self.cas(op_index, &key, &tag).await,
            Op::Put { key, value } => {
                self.request(
                    op_index,
                    Request::Put {
                        key,
                        value,
                        condition: Precondition::None,
                        idempotency_key: None,
                    },
                )
                .await;
            }
            Op::Get { key } => {
                self.read(op_index, &key).await;
            }
            Op::Delete { key, if_match } => {
                let condition = if if_match {
                    match self.read(op_index, &key).await {
                        Some(Some((_, etag))) => Precondition::Matches { etag },
                        _ => return,
                    }
                } else {
                    Precondition::None
                };
                self.request(op_index, Request::Delete { key, condition })
                    .await;
            }
            Op::Copy {
                source,
                destination,
                condition,
            } => {
                let (destination_condition, source_if_match) = match condition {
                    CopyCondition::DestinationAbsent => (Precondition::Absent, None),
                    CopyCondition::DestinationMatchesRead => {
                        let Some(condition) = self.read_condition(op_index, &destination).await
                        else {
                            return;
                        };
                        (condition, None)
                    }
                    _ => match self.read(op_index, &source).await {
                        Some(Some((_, etag))) => (Precondition::None, Some(etag)),
                        _ => return,
                    },
                };
                self.request(
                    op_index,
                    Request::Copy {
                        source,
                        destination,
                        destination_condition,
                        source_if_match,
                    },
                )
                .await;
            }
            Op::MultipartComplete {
                key,
                parts,
                condition,
            } => self.multipart(op_index, key, parts, condition).await,
            Op::IdempotentPut {
                key,
                idempotency_key,
                value,
                condition,
                attempts,
            } => {
                let Some(condition) = self.write_condition(op_index, &key, condition).await else {
                    return;
                };
                // Re-sent with the same key while the outcome is unknown
                // (I1): together the sends take effect at most once.
                for _ in 0..attempts {
                    let outcome = self
                        .request(
                            op_index,
                            Request::Put {
                                key: key.clone(),
                                value: value.clone(),
                                condition: condition.clone(),
                                idempotency_key: Some(idempotency_key.clone()),
                            },
                        )
                        .await;
                    if !matches!(outcome, Outcome::Indeterminate { .. }) {
                        break;
                    }
                }
            }
            other => unreachable!("the generator makes no {other:?}"),
        }
    }

    /// Read-modify-write of a counter (C2), re-read and retried after a
    /// lost race (412, or 409 C5), at most [`MAX_CAS_ROUNDS`] times.
    async fn cas(&self, op_index: u32, key: &str, tag: &str) {
        for _ in 0..MAX_CAS_ROUNDS {
            let Some(read) = self.read(op_index, key).await else {
                return;
            };
            let (value, condition) = match read {
                Some((value, etag)) => (
                    CounterValue::next_after(Some(&value), tag),
                    Precondition::Matches { etag },
                ),
                None => (CounterValue::next_after(None, tag), Precondition::Absent),
            };
            let outcome = self
                .request(
                    op_index,
                    Request::Put {
                        key: key.to_owned(),
                        value: value.encode(),
                        condition,
                        idempotency_key: None,
                    },
                )
                .await;
            let lost_race =
                matches!(outcome, Outcome::Failed { status, .. } if status == 412 || status == 409);
            if !lost_race {
                return;
            }
        }
    }

    /// Create, upload the parts, complete under `condition` (C6, C3 across
    /// the upload). Only the complete changes what readers see, so only it
    /// is recorded.
    async fn multipart(
        &self,
        op_index: u32,
        key: String,
        parts: Vec<String>,
        condition: WriteCondition,
    ) {
        let s3 = self.client.s3();
        let Ok(upload) = s3
            .create_multipart_upload(&self.bucket, &key, &CreateMultipartOptions::default())
            .await
        else {
            return;
        };
        let mut uploaded = Vec::new();
        for (index, part) in parts.iter().enumerate() {
            let number = u16::try_from(index + 1).expect("at most 10,000 parts");
            match s3
                .upload_part(&upload, number, part.clone().into_bytes())
                .await
            {
                Ok(part) => uploaded.push(part),
                Err(_) => return,
            }
        }
        let Some(condition) = self.write_condition(op_index, &key, condition).await else {
            return;
        };
        let request = Request::CompleteMultipart {
            key,
            value: parts.concat(),
            part_count: u32::try_from(parts.len()).expect("at most 10,000 parts"),
            condition: condition.clone(),
            idempotency_key: None,
        };
        self.record(op_index, request, |_| async {
            let options = CompleteOptions {
                condition: client_condition(&condition),
                idempotency_key: None,
            };
            written(
                s3.complete_multipart_upload(&upload, &uploaded, &options)
                    .await
                    .map(|complete| complete.etag),
            )
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use lockwell_client::Operation;

    use super::*;

    /// A run clock the test sets by hand.
    #[derive(Debug, Default)]
    struct ManualClock(AtomicU64);

    impl RunClock for ManualClock {
        fn elapsed_ns(&self) -> u64 {
            self.0.load(Ordering::Relaxed)
        }
    }

    /// Attempt `attempt` of a GET answered at `at_ns` after `latency_ns`.
    fn answered(
        observer: &ProcessObserver,
        clock: &ManualClock,
        attempt: u32,
        at_ns: u64,
        latency_ns: u64,
    ) {
        clock.0.store(at_ns, Ordering::Relaxed);
        observer.on_attempt(&AttemptEvent {
            operation: Operation::GetObject,
            attempt,
            latency: Duration::from_nanos(latency_ns),
            outcome: lockwell_client::Outcome::Succeeded { status: 200 },
            retry_after: None,
        });
    }

    fn attempts(acting: u32, retry_gaps_ns: Vec<u64>) -> RequestAttempts {
        RequestAttempts {
            acting,
            retry_gaps_ns,
        }
    }

    #[test]
    fn the_observer_times_the_gap_before_each_retry_of_the_request_in_flight() {
        let observer = ProcessObserver::new(None);
        let clock = Arc::new(ManualClock::default());

        // Before a driver gives it a clock, an observer times nothing.
        answered(&observer, &clock, 1, 100, 10);
        answered(&observer, &clock, 2, 200, 10);
        assert_eq!(observer.take_request_attempts(), attempts(2, Vec::new()));

        let run_clock: Arc<dyn RunClock> = Arc::clone(&clock) as Arc<dyn RunClock>;
        observer.time_by(&run_clock);
        // A multipart part retried before the recorded complete: the
        // driver takes it away before the request starts.
        answered(&observer, &clock, 1, 300, 10);
        answered(&observer, &clock, 2, 400, 10);
        observer.take_request_attempts();

        // Answered at 1,000; the retry starts at 1,500 (answered at 1,600
        // after 100 ns); the next one starts at once.
        answered(&observer, &clock, 1, 1_000, 100);
        answered(&observer, &clock, 2, 1_600, 100);
        answered(&observer, &clock, 3, 1_700, 100);
        assert_eq!(observer.take_request_attempts(), attempts(3, vec![500, 0]));

        // The request a native client sends again after a 401 re-mint
        // starts at attempt 1: not a retry.
        answered(&observer, &clock, 1, 2_000, 100);
        answered(&observer, &clock, 1, 2_100, 50);
        assert_eq!(observer.take_request_attempts(), attempts(2, Vec::new()));
    }
}
