//! `lockwell check`: the simulator's workloads and checks against a live
//! S3-compatible endpoint, over real sockets (DESIGN.md "Instruments";
//! `docs/live-checker.md`).
//!
//! A run has the simulator's shape without its faults:
//! 1. **set-up**: a bucket of its own (or `--bucket`, whose workload keys
//!    must all be absent: the checks assume every key starts so), and a
//!    native request when a client speaks the native API, so that an
//!    endpoint that cannot be checked says so before anything is recorded;
//! 2. **clients**: one task per workload client, each running its op
//!    stream from lockwell-workload's generator through
//!    [`lockwell_sim::driver`] (the simulator's own mapping of ops to
//!    client calls), every request recorded with its invocation and
//!    completion times on tokio's monotonic clock, for the workload's ops
//!    or until `--duration` has passed;
//! 3. **final reads**: a process of its own (the checker's) reads every
//!    key over S3 once every client has finished;
//! 4. **checks**: the history goes to a file and through the simulator's
//!    own checks, [`lockwell_sim::checks::check`], exactly as a seed's
//!    history does: the rule checks (the final state against what clients
//!    were told, each workload's invariants) and lockwell-check's
//!    linearizability against the SPEC's object model. The verdict names
//!    each rule broken, with the smallest failing window drawn as a
//!    timeline, or the requests that show it.
//!
//! Jepsen-style, not deterministic: the seed fixes each client's ops, but
//! the interleaving is the network's and the endpoint's, so a run that
//! finds a violation may not find it again. The history file is what
//! stays.
//!
//! This is the one place of the live checker that reads a clock (tokio's,
//! which the driver gets through [`RunClock`]) and draws OS randomness
//! (the seed and the bucket's name when none is given).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use clap::{Args, ValueEnum};
use lockwell_client::native::{NativeClient, NativeConfig};
use lockwell_client::s3::types::GetOptions;
use lockwell_client::{ClientRuntime, Error, Observer, S3Client, S3Config, SeededRandom};
use lockwell_sim::checks::{self, Violation};
use lockwell_sim::driver::{
    ClientDriver, MAX_ACTING_ATTEMPTS_PER_REQUEST, ProcessObserver, RunClock, TokenStats,
    WorkloadClient,
};
use lockwell_sim::history::{History, HistoryRecorder, OpResult, Outcome};
use lockwell_workload::generator::key_name;
use lockwell_workload::spec::MAX_OPS_PER_CLIENT;
use lockwell_workload::{ClientApi, OpGenerator, WorkloadSpec};
use serde::Serialize;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::object_commands::{ACCESS_KEY_ENV, SECRET_KEY_ENV, credential};

/// Exit status: no violation.
const EXIT_PASS: u8 = 0;
/// Exit status: the checks found violations.
const EXIT_VIOLATIONS: u8 = 1;
/// Exit status: the run could not be made (no credentials, an unknown
/// workload, an unreachable endpoint, refused credentials, no bucket).
const EXIT_CANNOT_CHECK: u8 = 3;

/// Appended to `lockwell check --help`.
pub(crate) const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  the checks found no violation
  1  the checks found violations, or part of the history was past the
     linearizability checker's bound (`unchecked`): printed, with the
     history file
  2  bad arguments
  3  the run could not be made: no credentials, unknown workload,
     endpoint unreachable, credentials refused, bucket not created";

/// Each request's one attempt gives up after this long: a hung endpoint
/// shows as indeterminate requests within seconds, not the client's
/// default minute.
const ATTEMPT_TIMEOUT_MS: u64 = 10_000;
/// Connecting gives up after this long.
const CONNECT_TIMEOUT_MS: u64 = 5_000;
/// After `--duration`, clients finish the op they are in; one still busy
/// this much later is cut off (its requests in flight are indeterminate)
/// and reported as a liveness violation, as the simulator reports one.
const LIVENESS_BOUND_MS: u64 = 60_000;
/// A progress line on stderr every this many seconds (redrawn in place on
/// a terminal).
const PROGRESS_EVERY_S: u64 = 5;
/// Entries printed under a finding without a timeline, at most (the
/// last ones).
const MAX_ENTRIES_SHOWN: usize = 10;
/// Findings printed of each rule, at most (the first ones);
/// `--summary-out` has them all.
const MAX_FINDINGS_SHOWN_PER_RULE: usize = 3;
/// A timeline longer than this many rows is printed around its rows
/// that could not be placed (marked `*`): the window shrinking stops at a
/// bound, and a window of thousands of rows hides the few that matter.
const MAX_TIMELINE_ROWS_SHOWN: usize = 30;
/// Rows printed before and after each row marked `*` of a long timeline.
const TIMELINE_ROWS_BEFORE_MARK: usize = 12;
const TIMELINE_ROWS_AFTER_MARK: usize = 3;
/// The prefix of a bucket made for one run.
const RUN_BUCKET_PREFIX: &str = "lockwell-check-";
/// The format of `--summary-out` files.
const SUMMARY_FORMAT: &str = "lockwell-live-check";
const SUMMARY_VERSION: u32 = 1;

/// Which API the workload's clients speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CheckApi {
    /// S3 with SigV4: any S3-compatible endpoint.
    S3,
    /// Lockwell's native API (multipart uploads still over S3): only
    /// `lockwell serve`.
    Native,
    /// Each client's API drawn from the seed, as the simulator does: only
    /// `lockwell serve`.
    Mixed,
}

impl CheckApi {
    const fn workload_api(self) -> lockwell_workload::Api {
        match self {
            Self::S3 => lockwell_workload::Api::S3,
            Self::Native => lockwell_workload::Api::Native,
            Self::Mixed => lockwell_workload::Api::Mixed,
        }
    }

    const fn name(self) -> &'static str {
        match self {
            Self::S3 => "s3",
            Self::Native => "native",
            Self::Mixed => "mixed",
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The endpoint's URL (`http://host:port`).
    #[arg(long, env = "LOCKWELL_ENDPOINT")]
    endpoint: String,
    /// The workload: `<workloads-dir>/<name>.toml` (racing-creators,
    /// cas-counter, idempotent-retries, copy-snapshots,
    /// multipart-conditional, mixed-with-deletes).
    #[arg(long)]
    workload: String,
    /// Where the workload specs are.
    #[arg(long, default_value = "workloads")]
    workloads_dir: PathBuf,
    /// Keep issuing ops until this much time has passed (`30s`, `2m`):
    /// each client's op stream then runs past the workload's
    /// ops_per_client. Without it, each client runs the workload's ops.
    #[arg(long, value_parser = lockwell_bench::cli::parse_duration)]
    duration: Option<Duration>,
    /// Clients racing, instead of the workload's.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(lockwell_workload::spec::MAX_CLIENTS)))]
    clients: Option<u32>,
    /// Parts per multipart upload, instead of the workload's. S3 stores
    /// refuse a part other than the last under 5 MiB (EntityTooSmall, a
    /// definite failure the checks accept), so the workloads' small parts
    /// never complete there; 1 makes every upload one part, the last,
    /// which they accept.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(lockwell_workload::spec::MAX_MULTIPART_PARTS)))]
    multipart_parts: Option<u32>,
    /// The API the clients speak; native and mixed need `lockwell serve`.
    #[arg(long, value_enum, default_value_t = CheckApi::S3)]
    api: CheckApi,
    /// Work in this bucket (created if absent; the workload's keys must
    /// not exist in it). Default: a new bucket `lockwell-check-<random>`.
    #[arg(long)]
    bucket: Option<String>,
    /// Region S3 requests are signed for.
    #[arg(long, default_value = lockwell_server::http::config::DEFAULT_REGION)]
    region: String,
    /// Access key id. Else LOCKWELL_ACCESS_KEY, else AWS_ACCESS_KEY_ID.
    #[arg(long)]
    access_key: Option<String>,
    /// Secret key. Else LOCKWELL_SECRET_KEY, else AWS_SECRET_ACCESS_KEY.
    #[arg(long)]
    secret_key: Option<String>,
    /// The seed of the clients' op streams (default: random; printed).
    #[arg(long)]
    seed: Option<u64>,
    /// Write the history here (JSON lines). Default:
    /// `lockwell-check-<workload>-<seed>.jsonl` in the current directory.
    #[arg(long)]
    history_out: Option<PathBuf>,
    /// Also write the verdict as JSON here.
    #[arg(long)]
    summary_out: Option<PathBuf>,
    /// No progress lines on stderr.
    #[arg(long, short)]
    quiet: bool,
}

/// Runs `lockwell check`; prints the verdict on stdout.
pub(crate) fn run(args: &CheckArgs) -> ExitCode {
    let verdict = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .and_then(|runtime| runtime.block_on(check(args)));
    match verdict {
        Ok(verdict) => {
            print!("{}", verdict.text);
            ExitCode::from(verdict.exit_status)
        }
        Err(error) => {
            eprintln!("lockwell check: {error:#}");
            ExitCode::from(EXIT_CANNOT_CHECK)
        }
    }
}

/// What `run` prints and how it exits.
struct Verdict {
    text: String,
    exit_status: u8,
}

/// Nanoseconds since the run started, on tokio's monotonic clock.
#[derive(Debug)]
struct MonotonicClock {
    started: Instant,
}

impl RunClock for MonotonicClock {
    fn elapsed_ns(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// How to reach the endpoint.
#[derive(Debug, Clone)]
struct Target {
    endpoint: String,
    region: String,
    access_key: String,
    secret_key: String,
}

impl Target {
    fn from_args(args: &CheckArgs) -> anyhow::Result<Self> {
        let missing = |what: &str, flag: &str, env: [&str; 2]| {
            anyhow!("no {what}: pass {flag} or set {} or {}", env[0], env[1])
        };
        Ok(Self {
            endpoint: args.endpoint.clone(),
            region: args.region.clone(),
            access_key: credential(args.access_key.as_ref(), ACCESS_KEY_ENV)
                .ok_or_else(|| missing("access key", "--access-key", ACCESS_KEY_ENV))?,
            secret_key: credential(args.secret_key.as_ref(), SECRET_KEY_ENV)
                .ok_or_else(|| missing("secret key", "--secret-key", SECRET_KEY_ENV))?,
        })
    }

    /// An S3 client whose backoff jitter is drawn from `jitter_seed`.
    fn s3(&self, jitter_seed: u64, observer: &Arc<ProcessObserver>) -> anyhow::Result<S3Client> {
        let mut config = S3Config::new(
            &self.endpoint,
            &self.region,
            &self.access_key,
            &self.secret_key,
        );
        config.transport.attempt_timeout_ms = ATTEMPT_TIMEOUT_MS;
        config.transport.connect_timeout_ms = CONNECT_TIMEOUT_MS;
        let observer: Arc<dyn Observer> = observer.clone();
        let runtime = ClientRuntime::new(SeededRandom::new(jitter_seed)).with_observer(observer);
        S3Client::with_connector(config, lockwell_client::TcpConnector, runtime)
            .with_context(|| format!("--endpoint {}", self.endpoint))
    }

    fn native(
        &self,
        jitter_seed: u64,
        observer: &Arc<ProcessObserver>,
    ) -> anyhow::Result<NativeClient> {
        let mut config = NativeConfig::new(&self.endpoint, &self.access_key, &self.secret_key);
        config.transport.attempt_timeout_ms = ATTEMPT_TIMEOUT_MS;
        config.transport.connect_timeout_ms = CONNECT_TIMEOUT_MS;
        let observer: Arc<dyn Observer> = observer.clone();
        let runtime = ClientRuntime::new(SeededRandom::new(jitter_seed)).with_observer(observer);
        NativeClient::with_connector(config, lockwell_client::TcpConnector, runtime)
            .with_context(|| format!("--endpoint {}", self.endpoint))
    }

    /// The client of workload process `process`, speaking `api`.
    fn workload_client(
        &self,
        api: ClientApi,
        seed: u64,
        process: u32,
        tokens: &Arc<TokenStats>,
        observer: &Arc<ProcessObserver>,
    ) -> anyhow::Result<WorkloadClient> {
        let jitter_seed = seed ^ u64::from(process).rotate_left(32);
        Ok(match api {
            ClientApi::Native => WorkloadClient::Native {
                native: self.native(jitter_seed, observer)?,
                s3: self.s3(jitter_seed, observer)?,
                tokens: Arc::clone(tokens),
            },
            _ => WorkloadClient::S3(self.s3(jitter_seed, observer)?),
        })
    }
}

/// Random bits from the OS, for a seed or a bucket name.
fn random_u64() -> anyhow::Result<u64> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|error| anyhow!("drawing a random seed: {error}"))?;
    Ok(u64::from_le_bytes(bytes))
}

/// Explains a set-up request's failure: the endpoint is down, refuses the
/// credentials, or refused the request itself.
fn setup_failure(target: &Target, doing: &str, error: &Error) -> anyhow::Error {
    match error {
        Error::Transport { .. } | Error::Timeout { .. } => anyhow!(
            "cannot reach {} while {doing}: {error} (is the endpoint up, and is the URL right?)",
            target.endpoint
        ),
        Error::Unauthorized(_) | Error::AccessDenied(_) => anyhow!(
            "{} refused the credentials while {doing}: {error} (check --access-key, \
             --secret-key and --region)",
            target.endpoint
        ),
        other => anyhow!("{doing} failed: {other}"),
    }
}

/// Creates the run's bucket, or checks that `--bucket`'s workload keys
/// are absent.
async fn prepare_bucket(
    target: &Target,
    setup: &S3Client,
    bucket: &str,
    given: bool,
    keys: u32,
) -> anyhow::Result<()> {
    let doing = format!("creating bucket {bucket}");
    match setup.create_bucket(bucket).await {
        // A bucket made for this run is empty. A given one may not be,
        // even when creating it succeeded: us-east-1 answers 200 to its
        // owner creating it again.
        Ok(()) if !given => return Ok(()),
        Ok(()) => {}
        Err(error) if given && error.code() == Some("BucketAlreadyOwnedByYou") => {}
        Err(error) => return Err(setup_failure(target, &doing, &error)),
    }
    for rank in 0..keys {
        let key = key_name(rank);
        match setup.get_object(bucket, &key, &GetOptions::default()).await {
            Err(Error::NotFound(_)) => {}
            Ok(_) => {
                return Err(anyhow!(
                    "bucket {bucket} already holds {key}: the checks assume every workload key \
                     starts absent; use a fresh bucket (leave out --bucket for a new one)"
                ));
            }
            Err(error) => {
                return Err(setup_failure(target, &format!("reading {key}"), &error));
            }
        }
    }
    Ok(())
}

/// The native API answers only on `lockwell serve`: one request before
/// the run says whether it does.
async fn probe_native(target: &Target, bucket: &str, seed: u64) -> anyhow::Result<()> {
    let native = target.native(seed, &ProcessObserver::new(None))?;
    match native.get_object(bucket, &key_name(0)).await {
        Ok(_) | Err(Error::NotFound(_)) => Ok(()),
        Err(error) => Err(anyhow!(
            "{} did not answer a native-API request ({error}): only `lockwell serve` speaks \
             it; use --api s3",
            target.endpoint
        )),
    }
}

/// The workload as this run plays it.
fn live_spec(args: &CheckArgs) -> anyhow::Result<WorkloadSpec> {
    let mut spec = WorkloadSpec::load(&args.workloads_dir, &args.workload)
        .with_context(|| format!("workload {:?}", args.workload))?;
    if let Some(clients) = args.clients {
        spec.clients = clients;
    }
    if let Some(parts) = args.multipart_parts {
        spec.multipart_parts = parts;
    }
    spec.api = args.api.workload_api();
    if args.duration.is_some() {
        // The deadline ends the run; the stream must not end first.
        spec.ops_per_client = MAX_OPS_PER_CLIENT;
    }
    spec.validate()
        .with_context(|| format!("workload {:?}", args.workload))?;
    Ok(spec)
}

async fn check(args: &CheckArgs) -> anyhow::Result<Verdict> {
    let target = Target::from_args(args)?;
    let spec = live_spec(args)?;
    let seed = match args.seed {
        Some(seed) => seed,
        None => random_u64()?,
    };
    let bucket = match &args.bucket {
        Some(bucket) => bucket.clone(),
        None => format!("{RUN_BUCKET_PREFIX}{:08x}", random_u64()? >> 32),
    };
    let history_path = args
        .history_out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("lockwell-check-{}-{seed}.jsonl", spec.name)));
    let generator =
        OpGenerator::new(&spec, seed).with_context(|| format!("workload {:?}", args.workload))?;

    let setup = target.s3(seed, &ProcessObserver::new(None))?;
    prepare_bucket(&target, &setup, &bucket, args.bucket.is_some(), spec.keys).await?;
    if args.api != CheckApi::S3 {
        probe_native(&target, &bucket, seed).await?;
    }

    let run = Run {
        target: &target,
        spec: &spec,
        generator: &generator,
        seed,
        bucket: &bucket,
        duration: args.duration,
        quiet: args.quiet,
    };
    let outcome = run.execute().await?;

    let file = File::create(&history_path)
        .with_context(|| format!("creating {}", history_path.display()))?;
    let mut writer = BufWriter::new(file);
    outcome
        .history
        .write_jsonl(&mut writer)
        .and_then(|()| writer.flush())
        .with_context(|| format!("writing {}", history_path.display()))?;

    if !args.quiet {
        eprintln!(
            "check: {} requests recorded in {}; checking them",
            outcome.history.entries.len(),
            history_path.display()
        );
    }
    let checking = Instant::now();
    let mut findings: Vec<Finding> =
        checks::check(&outcome.history, &spec, outcome.checker_process)
            .into_iter()
            .map(Finding::from)
            .collect();
    if !outcome.unfinished_clients.is_empty() {
        findings.push(Finding {
            rule: "liveness",
            message: format!(
                "clients {:?} were still running {LIVENESS_BOUND_MS} ms after the run's \
                 duration and were cut off",
                outcome.unfinished_clients
            ),
            entries: Vec::new(),
            timeline: None,
        });
    }
    let report = Report {
        endpoint: &target.endpoint,
        workload: &spec.name,
        seed,
        api: args.api,
        clients: spec.clients,
        bucket: &bucket,
        history_path: &history_path,
        outcome: &outcome,
        findings: &findings,
        check_elapsed: checking.elapsed(),
    };
    if let Some(path) = &args.summary_out {
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        serde_json::to_writer_pretty(BufWriter::new(file), &report.summary())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(Verdict {
        text: report.text(),
        exit_status: if findings.is_empty() {
            EXIT_PASS
        } else {
            EXIT_VIOLATIONS
        },
    })
}

/// The clients' phase and the final reads.
struct Run<'a> {
    target: &'a Target,
    spec: &'a WorkloadSpec,
    generator: &'a OpGenerator,
    seed: u64,
    bucket: &'a str,
    duration: Option<Duration>,
    quiet: bool,
}

/// What a run recorded.
struct RunOutcome {
    history: History,
    checker_process: u32,
    /// Ops the clients ran to their end.
    ops: u64,
    /// Clients cut off after the liveness bound.
    unfinished_clients: Vec<u32>,
    elapsed: Duration,
    token_remints: u64,
}

impl Run<'_> {
    async fn execute(&self) -> anyhow::Result<RunOutcome> {
        let started = Instant::now();
        let run_clock: Arc<dyn RunClock> = Arc::new(MonotonicClock { started });
        // The final reads are made by a process of their own, after the
        // clients' processes.
        let checker_process = self.spec.clients;
        let recorder =
            HistoryRecorder::new(&self.spec.name, self.seed).with_final_reader(checker_process);
        let deadline = self.duration.map(|duration| started + duration);
        let ops_done = Arc::new(AtomicU64::new(0));
        let tokens = Arc::new(TokenStats::default());

        let mut clients = JoinSet::new();
        for process in 0..self.spec.clients {
            let ops = self.generator.client(process);
            let observer =
                ProcessObserver::new((ops.api() == ClientApi::Native).then(|| Arc::clone(&tokens)));
            let driver = ClientDriver::new(
                process,
                self.target
                    .workload_client(ops.api(), self.seed, process, &tokens, &observer)?,
                observer,
                self.bucket,
                recorder.clone(),
                Arc::clone(&run_clock),
            );
            let ops_done = Arc::clone(&ops_done);
            clients.spawn(async move {
                for (op_index, op) in ops.enumerate() {
                    if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                        break;
                    }
                    let op_index = u32::try_from(op_index).expect("at most MAX_OPS_PER_CLIENT");
                    driver.run_op(op_index, op).await;
                    ops_done.fetch_add(1, Ordering::Relaxed);
                }
                process
            });
        }
        let unfinished_clients = self
            .await_clients(&mut clients, deadline, started, &ops_done)
            .await?;

        // The final reads, once no client runs.
        let observer = ProcessObserver::new(None);
        let checker = ClientDriver::new(
            checker_process,
            WorkloadClient::S3(
                self.target
                    .s3(self.seed ^ u64::from(checker_process), &observer)?,
            ),
            observer,
            self.bucket,
            recorder.clone(),
            Arc::clone(&run_clock),
        );
        for rank in 0..self.spec.keys {
            checker.final_read(&key_name(rank)).await;
        }
        Ok(RunOutcome {
            history: recorder.history(run_clock.elapsed_ns(), MAX_ACTING_ATTEMPTS_PER_REQUEST),
            checker_process,
            ops: ops_done.load(Ordering::Relaxed),
            unfinished_clients,
            elapsed: started.elapsed(),
            token_remints: tokens.remints(),
        })
    }

    /// Waits for every client, printing progress; past the deadline and
    /// the liveness bound, cuts off those still running and names them.
    async fn await_clients(
        &self,
        clients: &mut JoinSet<u32>,
        deadline: Option<Instant>,
        started: Instant,
        ops_done: &AtomicU64,
    ) -> anyhow::Result<Vec<u32>> {
        let mut running: BTreeSet<u32> = (0..self.spec.clients).collect();
        let cut_off = deadline.map(|deadline| deadline + Duration::from_millis(LIVENESS_BOUND_MS));
        let mut progress = tokio::time::interval_at(
            started + Duration::from_secs(PROGRESS_EVERY_S),
            Duration::from_secs(PROGRESS_EVERY_S),
        );
        let terminal = std::io::stderr().is_terminal();
        while !running.is_empty() {
            let cut_off_reached = async {
                match cut_off {
                    Some(cut_off) => tokio::time::sleep_until(cut_off).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                joined = clients.join_next() => match joined {
                    Some(Ok(process)) => {
                        running.remove(&process);
                    }
                    Some(Err(error)) => return Err(anyhow!("a client task failed: {error}")),
                    None => break,
                },
                _ = progress.tick() => {
                    if !self.quiet {
                        let line = progress_line(
                            started.elapsed(),
                            self.duration,
                            ops_done.load(Ordering::Relaxed),
                            running.len(),
                        );
                        if terminal {
                            eprint!("\r{line}");
                        } else {
                            eprintln!("{line}");
                        }
                    }
                }
                () = cut_off_reached => {
                    clients.abort_all();
                    break;
                }
            }
        }
        if terminal && !self.quiet && started.elapsed() >= Duration::from_secs(PROGRESS_EVERY_S) {
            eprintln!();
        }
        Ok(running.into_iter().collect())
    }
}

fn progress_line(
    elapsed: Duration,
    duration: Option<Duration>,
    ops: u64,
    running_clients: usize,
) -> String {
    let of = duration.map_or_else(String::new, |duration| {
        format!(" of {:.0}s", duration.as_secs_f64())
    });
    format!(
        "check: {:.0}s{of}, {ops} ops done, {running_clients} clients running",
        elapsed.as_secs_f64()
    )
}

/// How the requests of a history ended, by kind: `ok written`, `ok
/// read`, `failed 412 PreconditionFailed`, `indeterminate`, ...; all but
/// those of `left_out_process` (the final reads).
pub(crate) fn outcome_mix(
    history: &History,
    left_out_process: Option<u32>,
) -> BTreeMap<String, u64> {
    let mut mix = BTreeMap::new();
    for entry in history
        .entries
        .iter()
        .filter(|entry| Some(entry.process) != left_out_process)
    {
        let kind = match &entry.outcome {
            Outcome::Ok { result } => match result {
                OpResult::Written { .. } => "ok written".to_owned(),
                OpResult::Read { .. } => "ok read".to_owned(),
                OpResult::Absent => "ok absent".to_owned(),
                OpResult::Deleted => "ok deleted".to_owned(),
            },
            Outcome::Failed { status, code } => format!("failed {status} {code}"),
            Outcome::Indeterminate { .. } => "indeterminate".to_owned(),
        };
        *mix.entry(kind).or_insert(0) += 1;
    }
    mix
}

/// An outcome mix on one line: `ok written: 10, indeterminate: 2`.
pub(crate) fn mix_line(mix: &BTreeMap<String, u64>) -> String {
    let kinds: Vec<String> = mix
        .iter()
        .map(|(kind, count)| format!("{kind}: {count}"))
        .collect();
    kinds.join(", ")
}

/// The lines of a linearizability timeline to print: all of a short one;
/// of a long one its first line (the time span and legend) and the rows
/// around each row marked `*` (could not be placed), with a line saying
/// how many rows were left out between.
fn shown_timeline(timeline: &str) -> Vec<String> {
    let mut lines = timeline.lines();
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let rows: Vec<&str> = lines.collect();
    if rows.len() <= MAX_TIMELINE_ROWS_SHOWN {
        return std::iter::once(header)
            .chain(rows)
            .map(str::to_owned)
            .collect();
    }
    let mut kept = vec![false; rows.len()];
    for (index, _) in rows
        .iter()
        .enumerate()
        .filter(|(_, row)| row.starts_with('*'))
    {
        let first = index.saturating_sub(TIMELINE_ROWS_BEFORE_MARK);
        let last = (index + TIMELINE_ROWS_AFTER_MARK).min(rows.len() - 1);
        kept[first..=last].fill(true);
    }
    let mut shown = vec![header.to_owned()];
    let mut left_out = 0;
    for (row, kept) in rows.iter().zip(kept) {
        if kept {
            if left_out > 0 {
                shown.push(format!("... {left_out} rows left out"));
                left_out = 0;
            }
            shown.push((*row).to_owned());
        } else {
            left_out += 1;
        }
    }
    if left_out > 0 {
        shown.push(format!("... {left_out} rows left out"));
    }
    shown
}

/// A rule the run broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    /// The SPEC rule id, `liveness`, or `unchecked` (part of the history
    /// past the linearizability checker's bound: not a pass).
    rule: &'static str,
    /// One line.
    message: String,
    /// The history entries (ids) that show it.
    entries: Vec<u64>,
    /// The smallest failing window, drawn by the linearizability checker.
    timeline: Option<String>,
}

impl From<Violation> for Finding {
    /// A violation's first line is its message; what follows it, when
    /// anything does, is the linearizability checker's timeline.
    fn from(violation: Violation) -> Self {
        let (message, timeline) = match violation.message.split_once('\n') {
            Some((message, timeline)) => (message.to_owned(), Some(timeline.to_owned())),
            None => (violation.message, None),
        };
        Self {
            rule: violation.rule,
            message,
            entries: violation.entries,
            timeline,
        }
    }
}

/// The verdict of a run, as text and as JSON.
struct Report<'a> {
    endpoint: &'a str,
    workload: &'a str,
    seed: u64,
    api: CheckApi,
    clients: u32,
    bucket: &'a str,
    history_path: &'a Path,
    outcome: &'a RunOutcome,
    findings: &'a [Finding],
    /// How long the checks took.
    check_elapsed: Duration,
}

#[derive(Debug, Serialize)]
struct Summary<'a> {
    format: &'static str,
    version: u32,
    verdict: &'static str,
    endpoint: &'a str,
    workload: &'a str,
    seed: u64,
    api: &'static str,
    clients: u32,
    bucket: &'a str,
    elapsed_ms: u64,
    check_ms: u64,
    ops: u64,
    requests: u64,
    final_reads: u64,
    token_remints: u64,
    outcomes: BTreeMap<String, u64>,
    /// How many findings of each rule.
    rules: BTreeMap<&'static str, usize>,
    findings: Vec<SummaryFinding<'a>>,
    history: String,
}

/// A finding in a `--summary-out` file.
#[derive(Debug, Serialize)]
pub(crate) struct SummaryFinding<'a> {
    rule: &'static str,
    message: &'a str,
    entries: &'a [u64],
    timeline: Option<&'a str>,
}

impl<'a> From<&'a Finding> for SummaryFinding<'a> {
    fn from(finding: &'a Finding) -> Self {
        Self {
            rule: finding.rule,
            message: &finding.message,
            entries: &finding.entries,
            timeline: finding.timeline.as_deref(),
        }
    }
}

pub(crate) fn whole_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// `PASS` without findings, `FAIL` with any.
pub(crate) fn verdict_word(findings: &[Finding]) -> &'static str {
    if findings.is_empty() { "PASS" } else { "FAIL" }
}

impl Report<'_> {
    fn verdict(&self) -> &'static str {
        verdict_word(self.findings)
    }

    fn final_reads(&self) -> u64 {
        self.outcome
            .history
            .entries
            .iter()
            .filter(|entry| entry.process == self.outcome.checker_process)
            .count() as u64
    }

    fn client_requests(&self) -> u64 {
        self.outcome.history.entries.len() as u64 - self.final_reads()
    }

    fn summary(&self) -> Summary<'_> {
        Summary {
            format: SUMMARY_FORMAT,
            version: SUMMARY_VERSION,
            verdict: self.verdict(),
            endpoint: self.endpoint,
            workload: self.workload,
            seed: self.seed,
            api: self.api.name(),
            clients: self.clients,
            bucket: self.bucket,
            elapsed_ms: whole_ms(self.outcome.elapsed),
            check_ms: whole_ms(self.check_elapsed),
            ops: self.outcome.ops,
            requests: self.client_requests(),
            final_reads: self.final_reads(),
            token_remints: self.outcome.token_remints,
            outcomes: outcome_mix(&self.outcome.history, Some(self.outcome.checker_process)),
            rules: rule_counts(self.findings),
            findings: self.findings.iter().map(SummaryFinding::from).collect(),
            history: self.history_path.display().to_string(),
        }
    }

    /// A line of counts; the outcome mix; the rules broken; the first
    /// findings of each rule, each with its timeline or its last entries;
    /// the history file.
    fn text(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "{} workload={} endpoint={} api={} clients={} seed={} bucket={} elapsed={:.1}s \
             ops={} requests={} final_reads={} violations={}",
            self.verdict(),
            self.workload,
            self.endpoint,
            self.api.name(),
            self.clients,
            self.seed,
            self.bucket,
            self.outcome.elapsed.as_secs_f64(),
            self.outcome.ops,
            self.client_requests(),
            self.final_reads(),
            self.findings.len(),
        );
        let mix = outcome_mix(&self.outcome.history, Some(self.outcome.checker_process));
        let _ = writeln!(text, "  outcomes: {}", mix_line(&mix));
        let _ = writeln!(
            text,
            "  checked in {:.1}s: the post-run checks and linearizability",
            self.check_elapsed.as_secs_f64()
        );
        write_findings(&mut text, self.findings, &self.outcome.history);
        let _ = writeln!(text, "  history: {}", self.history_path.display());
        text
    }
}

/// How many findings of each rule.
pub(crate) fn rule_counts(findings: &[Finding]) -> BTreeMap<&'static str, usize> {
    let mut rules = BTreeMap::new();
    for finding in findings {
        *rules.entry(finding.rule).or_insert(0) += 1;
    }
    rules
}

/// The rules broken, then the first findings of each rule, each with its
/// timeline or the last entries of `history` that show it.
pub(crate) fn write_findings(text: &mut String, findings: &[Finding], history: &History) {
    let rules = rule_counts(findings);
    if !rules.is_empty() {
        let counts: Vec<String> = rules
            .iter()
            .map(|(rule, count)| format!("{rule} x{count}"))
            .collect();
        let _ = writeln!(text, "  rules broken: {}", counts.join(", "));
    }
    for (&rule, &count) in &rules {
        let of_rule = findings.iter().filter(|finding| finding.rule == rule);
        for finding in of_rule.take(MAX_FINDINGS_SHOWN_PER_RULE) {
            write_finding(text, finding, history);
        }
        if count > MAX_FINDINGS_SHOWN_PER_RULE {
            let _ = writeln!(
                text,
                "  ... and {} more {rule} findings: --summary-out lists them all",
                count - MAX_FINDINGS_SHOWN_PER_RULE,
            );
        }
    }
}

/// One finding: its rule and message, then the linearizability checker's
/// timeline or the last entries that show it.
fn write_finding(text: &mut String, finding: &Finding, history: &History) {
    let _ = writeln!(text, "  violates {}: {}", finding.rule, finding.message);
    if let Some(timeline) = &finding.timeline {
        for line in shown_timeline(timeline) {
            let _ = writeln!(text, "    {line}");
        }
        return;
    }
    let shown = finding.entries.len().saturating_sub(MAX_ENTRIES_SHOWN);
    for id in &finding.entries[shown..] {
        let entry = &history.entries[usize::try_from(*id).expect("entry ids index the history")];
        let _ = writeln!(
            text,
            "    {}",
            serde_json::to_string(entry).expect("entries serialise")
        );
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use lockwell_sim::history::{Api, Invocation, Precondition, Request};

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        check: CheckArgs,
    }

    const WORKLOADS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../workloads");

    fn args(extra: &[&str]) -> CheckArgs {
        let mut argv = vec![
            "check",
            "--endpoint",
            "http://127.0.0.1:9",
            "--workloads-dir",
            WORKLOADS_DIR,
        ];
        argv.extend_from_slice(extra);
        Cli::parse_from(argv).check
    }

    /// What a live run changes in a workload: the clients, the API, the
    /// parts per upload, and ops without end under a duration.
    #[derive(Debug, PartialEq, Eq)]
    struct Played {
        clients: u32,
        api: lockwell_workload::Api,
        multipart_parts: u32,
        ops_per_client: u32,
    }

    impl Played {
        fn of(spec: &WorkloadSpec) -> Self {
            Self {
                clients: spec.clients,
                api: spec.api,
                multipart_parts: spec.multipart_parts,
                ops_per_client: spec.ops_per_client,
            }
        }
    }

    #[test]
    fn the_live_spec_overrides_what_is_asked_and_runs_past_its_ops_only_with_a_duration() {
        let workload = "multipart-conditional";
        let shipped = WorkloadSpec::load(Path::new(WORKLOADS_DIR), workload).unwrap();
        let cases: [(&[&str], Played); 3] = [
            (
                &[],
                Played {
                    api: lockwell_workload::Api::S3,
                    ..Played::of(&shipped)
                },
            ),
            (
                &["--clients", "3", "--api", "mixed", "--multipart-parts", "1"],
                Played {
                    clients: 3,
                    api: lockwell_workload::Api::Mixed,
                    multipart_parts: 1,
                    ..Played::of(&shipped)
                },
            ),
            (
                &["--duration", "2s", "--api", "native"],
                Played {
                    api: lockwell_workload::Api::Native,
                    ops_per_client: MAX_OPS_PER_CLIENT,
                    ..Played::of(&shipped)
                },
            ),
        ];
        for (extra, expected) in cases {
            let mut argv = vec!["--workload", workload];
            argv.extend_from_slice(extra);
            assert_eq!(
                Played::of(&live_spec(&args(&argv)).unwrap()),
                expected,
                "{extra:?}"
            );
        }
    }

    #[test]
    fn clients_beyond_the_spec_limit_are_refused_by_the_parser() {
        let limit = lockwell_workload::spec::MAX_CLIENTS.to_string();
        let over = (lockwell_workload::spec::MAX_CLIENTS + 1).to_string();
        for (clients, accepted) in [("0", false), ("1", true), (&*limit, true), (&*over, false)] {
            let parsed = Cli::try_parse_from([
                "check",
                "--endpoint",
                "http://127.0.0.1:9",
                "--workload",
                "cas-counter",
                "--clients",
                clients,
            ]);
            assert_eq!(parsed.is_ok(), accepted, "--clients {clients}");
        }
    }

    #[test]
    fn an_unknown_workload_is_named_in_the_error() {
        let error = live_spec(&args(&["--workload", "no-such-workload"])).unwrap_err();
        assert!(
            format!("{error:#}").contains("no-such-workload"),
            "{error:#}"
        );
    }

    /// Client 0's create wins, client 1's loses, client 1's next is cut
    /// off; process 2 reads the key at the end.
    fn history() -> History {
        let recorder = HistoryRecorder::new("racing-creators", 5);
        let put = |process: u32, op_index: u32| Invocation {
            process,
            op_index,
            api: Api::S3,
            request: Request::Put {
                key: "k00000000".to_owned(),
                value: format!("c{process}-o{op_index}"),
                condition: Precondition::Absent,
                idempotency_key: None,
            },
        };
        let won = recorder.invoke(put(0, 0), 10);
        let lost = recorder.invoke(put(1, 0), 11);
        recorder.complete(
            won,
            Outcome::Ok {
                result: OpResult::Written {
                    etag: "\"e\"".to_owned(),
                },
            },
            1,
            Vec::new(),
            20,
        );
        recorder.complete(
            lost,
            Outcome::Failed {
                status: 412,
                code: "PreconditionFailed".to_owned(),
            },
            1,
            Vec::new(),
            21,
        );
        let _cut_off = recorder.invoke(put(1, 1), 30);
        let read = recorder.invoke(
            Invocation {
                process: 2,
                op_index: 0,
                api: Api::S3,
                request: Request::Get {
                    key: "k00000000".to_owned(),
                },
            },
            40,
        );
        recorder.complete(
            read,
            Outcome::Ok {
                result: OpResult::Absent,
            },
            1,
            Vec::new(),
            50,
        );
        recorder.history(60, 3)
    }

    #[test]
    fn the_outcome_mix_counts_client_requests_only() {
        let mix = outcome_mix(&history(), Some(2));
        let expected: BTreeMap<String, u64> = [
            ("failed 412 PreconditionFailed".to_owned(), 1),
            ("indeterminate".to_owned(), 1),
            ("ok written".to_owned(), 1),
        ]
        .into();
        assert_eq!(mix, expected);
    }

    fn finding(rule: &'static str, entries: Vec<u64>) -> Finding {
        Finding {
            rule,
            message: format!("{rule} broken"),
            entries,
            timeline: None,
        }
    }

    fn outcome() -> RunOutcome {
        RunOutcome {
            history: history(),
            checker_process: 2,
            ops: 3,
            unfinished_clients: Vec::new(),
            elapsed: Duration::from_millis(1_500),
            token_remints: 0,
        }
    }

    fn report<'a>(outcome: &'a RunOutcome, findings: &'a [Finding]) -> Report<'a> {
        Report {
            endpoint: "http://store",
            workload: "racing-creators",
            seed: 5,
            api: CheckApi::S3,
            clients: 2,
            bucket: "b",
            history_path: Path::new("h.jsonl"),
            outcome,
            findings,
            check_elapsed: Duration::from_millis(200),
        }
    }

    #[test]
    fn a_violation_splits_into_its_message_and_the_timeline_after_it() {
        let cases = [
            ("one line", ("one line", None)),
            (
                "not linearizable on k: why\nfrom 0 ns to 9 ns\n* 1 p0 |=| get",
                (
                    "not linearizable on k: why",
                    Some("from 0 ns to 9 ns\n* 1 p0 |=| get"),
                ),
            ),
        ];
        for (message, (expected_message, expected_timeline)) in cases {
            let finding = Finding::from(Violation {
                rule: "E4",
                message: message.to_owned(),
                entries: vec![1],
            });
            assert_eq!(finding.message, expected_message);
            assert_eq!(finding.timeline.as_deref(), expected_timeline);
            assert_eq!((finding.rule, finding.entries), ("E4", vec![1]));
        }
    }

    #[test]
    fn the_verdict_shows_the_first_findings_of_each_rule_with_their_last_entries() {
        let outcome = outcome();
        let mut findings = vec![
            // More entries than shown: the first are left out.
            finding(
                "C1",
                [0; MAX_ENTRIES_SHOWN].into_iter().chain([3]).collect(),
            ),
            Finding {
                timeline: Some("first line\nsecond line".to_owned()),
                ..finding("E4", vec![0, 1])
            },
        ];
        // More C3 findings than shown.
        findings.extend((0..MAX_FINDINGS_SHOWN_PER_RULE + 2).map(|_| finding("C3", vec![1])));
        let report = report(&outcome, &findings);
        let text = report.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[..5],
            [
                "FAIL workload=racing-creators endpoint=http://store api=s3 clients=2 seed=5 \
                 bucket=b elapsed=1.5s ops=3 requests=3 final_reads=1 violations=7",
                "  outcomes: failed 412 PreconditionFailed: 1, indeterminate: 1, ok written: 1",
                "  checked in 0.2s: the post-run checks and linearizability",
                "  rules broken: C1 x1, C3 x5, E4 x1",
                "  violates C1: C1 broken",
            ]
        );
        let shown: Vec<&&str> = lines
            .iter()
            .filter(|line| line.starts_with("    {"))
            .collect();
        // C1's last ten entries, then one for each C3 shown.
        assert_eq!(shown.len(), MAX_ENTRIES_SHOWN + MAX_FINDINGS_SHOWN_PER_RULE);
        assert!(shown[MAX_ENTRIES_SHOWN - 1].contains("\"id\":3,"), "{text}");
        let timeline_at = lines
            .iter()
            .position(|line| *line == "  violates E4: E4 broken")
            .expect(&text);
        assert_eq!(
            lines[timeline_at + 1..timeline_at + 3],
            ["    first line", "    second line"]
        );
        assert!(
            text.contains("  ... and 2 more C3 findings: --summary-out lists them all"),
            "{text}"
        );
        assert_eq!(lines.last(), Some(&"  history: h.jsonl"));
        let summary = serde_json::to_value(report.summary()).unwrap();
        assert_eq!(summary["verdict"], "FAIL");
        assert_eq!(summary["requests"], 3);
        assert_eq!(summary["rules"]["C3"], 5);
        assert_eq!(summary["findings"].as_array().unwrap().len(), 7);
        assert_eq!(
            summary["findings"][1]["timeline"],
            "first line\nsecond line"
        );
    }

    #[test]
    fn a_run_without_findings_passes() {
        let outcome = outcome();
        let report = report(&outcome, &[]);
        assert_eq!(report.verdict(), "PASS");
        assert!(!report.text().contains("rules broken"));
    }

    #[test]
    fn a_long_timeline_is_shown_around_its_marked_rows() {
        let row = |index: usize| {
            let mark = if index == 40 { '*' } else { ' ' };
            format!("{mark} {index:6} p0   |==| get k -> absent")
        };
        let timeline = |rows: usize| {
            std::iter::once("from 0 ns to 9 ns; bars".to_owned())
                .chain((0..rows).map(row))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let short = timeline(MAX_TIMELINE_ROWS_SHOWN);
        assert_eq!(shown_timeline(&short).join("\n"), short);
        let long = shown_timeline(&timeline(100));
        let marked_at = 40;
        let expected: Vec<String> = ["from 0 ns to 9 ns; bars".to_owned()]
            .into_iter()
            .chain([format!(
                "... {} rows left out",
                marked_at - TIMELINE_ROWS_BEFORE_MARK
            )])
            .chain(
                (marked_at - TIMELINE_ROWS_BEFORE_MARK..=marked_at + TIMELINE_ROWS_AFTER_MARK)
                    .map(row),
            )
            .chain([format!(
                "... {} rows left out",
                100 - marked_at - TIMELINE_ROWS_AFTER_MARK - 1
            )])
            .collect();
        assert_eq!(long, expected);
    }

    #[test]
    fn progress_names_the_duration_only_when_there_is_one() {
        assert_eq!(
            progress_line(Duration::from_secs(5), Some(Duration::from_secs(30)), 42, 8),
            "check: 5s of 30s, 42 ops done, 8 clients running"
        );
        assert_eq!(
            progress_line(Duration::from_secs(5), None, 42, 1),
            "check: 5s, 42 ops done, 1 clients running"
        );
    }
}
