//! Crash test of the file backend over HTTP (issue 4, part 6; SPEC E4, I1,
//! I8): runs the server as a child process, drives concurrent conditional
//! and idempotent writes at it, kills it with SIGKILL at a random moment,
//! restarts it on the same data directory, and checks that
//!
//! - every acknowledged write (put or delete) is there, or was overwritten
//!   by a later acknowledged one, never lost;
//! - a write that was in flight at the kill is either wholly there or not
//!   at all: an object's bytes are always those of one write, with the
//!   ETag of those bytes (nothing half-visible);
//! - every acknowledged idempotent write replays its original result after
//!   the restart (I1, I8), and a retry of an idempotent write that was in
//!   flight at the kill applies it exactly once.
//!
//! ```text
//! lockwell-crash-harness [--cycles N] [--seed S] [--data DIR]
//! lockwell-crash-harness serve DIR     (the child: what the harness runs)
//! ```
//!
//! `cargo xtask crash --cycles N` builds it in release mode and runs it.
//! Each writer owns its keys, so the harness knows what every key must
//! hold: its last acknowledged state, or the one write in doubt. Kill
//! moments, operations and body sizes come from the seed; the interleaving
//! of writers and the kill's place in it do not (this is a real process on
//! a real disk), so a failing seed names the rule broken rather than
//! replaying exactly. The simulator is the place for exact replay.
//!
//! The harness can see what it is for: with the engine changed to answer
//! without waiting for the log to be durable, 5 cycles found 38 lost
//! acknowledged writes.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use lockwell_core::ETag;
use lockwell_core::checksum::{ChecksumAlgorithm, digest};
use lockwell_proto::sigv4::{self, ContentSha256, Credentials, SecretKey, SigningParams};
use lockwell_server::engine::{Engine, EngineConfig};
use lockwell_server::http::HttpConfig;
use lockwell_server::storage::{FileStorage, FileStorageConfig, INLINE_CONTENT_MAX_BYTES};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

const ACCESS_KEY_ID: &str = "LWCRASHHARNESS";
const SECRET_KEY: &str = "crash-harness-secret";
const REGION: &str = "us-east-1";
const BUCKET: &str = "crash";

const DEFAULT_CYCLES: u32 = 10;
const DEFAULT_SEED: u64 = 0x10C4_3E11;
const WRITERS: usize = 16;
const KEYS_PER_WRITER: usize = 4;
/// The server is killed this long after the writers start, drawn
/// uniformly from the seed; 0 kills it while the first requests arrive.
const MAX_RUN_BEFORE_KILL_MS: u64 = 400;
/// One write in this many carries a body that is staged in a data file
/// rather than inline in the log record.
const LARGE_BODY_ONE_IN: u64 = 8;
const SMALL_BODY_MAX_LEN_BYTES: u64 = 2048;
const LARGE_BODY_LEN_BYTES: usize = INLINE_CONTENT_MAX_BYTES + 4096;
/// How long a restarted server may take to recover and listen: the log is
/// never compacted, so recovery grows with the run.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
/// After each restart every writer replays all idempotent writes
/// acknowledged since the previous restart, and this many older ones drawn
/// from the seed: replaying every one every time would make a run
/// quadratic in its length.
const OLDER_REPLAYS_PER_WRITER: usize = 8;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let result = match args.first().map(String::as_str) {
        Some("serve") => match args.get(1) {
            Some(dir) => runtime.block_on(serve(Path::new(dir))),
            None => Err("serve needs the data directory".to_owned()),
        },
        _ => parse_options(&args).and_then(|options| runtime.block_on(drive(options))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("lockwell-crash-harness: {error}");
            ExitCode::FAILURE
        }
    }
}

// ---- The child: the server under test ---------------------------------------

async fn serve(dir: &Path) -> Result<(), String> {
    let storage = FileStorage::open(dir, FileStorageConfig::default())
        .map_err(|error| format!("opening {}: {error}", dir.display()))?;
    let engine = Engine::open(Arc::new(storage), EngineConfig::default())
        .map_err(|error| format!("recovering: {error}"))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|error| format!("binding: {error}"))?;
    let address = listener
        .local_addr()
        .map_err(|error| format!("reading the bound address: {error}"))?;
    println!("listening on {address}");
    lockwell_server::http::serve(
        listener,
        Arc::new(engine),
        HttpConfig::single_key(ACCESS_KEY_ID, SECRET_KEY, REGION),
        std::future::pending(),
    )
    .await
    .map_err(|error| format!("serving: {error}"))
}

// ---- Options and randomness -------------------------------------------------

struct Options {
    cycles: u32,
    seed: u64,
    data: Option<PathBuf>,
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        cycles: DEFAULT_CYCLES,
        seed: DEFAULT_SEED,
        data: None,
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{flag} needs a value"))
                .cloned()
        };
        match flag.as_str() {
            "--cycles" => {
                options.cycles = value()?
                    .parse()
                    .map_err(|error| format!("--cycles: {error}"))?;
            }
            "--seed" => {
                options.seed = value()?
                    .parse()
                    .map_err(|error| format!("--seed: {error}"))?;
            }
            "--data" => options.data = Some(PathBuf::from(value()?)),
            "--help" | "-h" => {
                return Err(
                    "usage: lockwell-crash-harness [--cycles N] [--seed S] [--data DIR]".to_owned(),
                );
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(options)
}

/// SplitMix64: small, seedable, and good enough to pick operations.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Self {
        let mut rng = Self(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        rng.next_u64();
        rng
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (bound > 0; the modulo bias is negligible for
    /// the small bounds used here).
    fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}

// ---- A minimal signed S3 client ---------------------------------------------

struct Response {
    status: u16,
    etag: Option<String>,
    body: Vec<u8>,
}

/// Sends one signed request on a fresh connection. `Err` means the outcome
/// is unknown: the server may or may not have applied the request.
async fn send(
    address: SocketAddr,
    method: Method,
    path: &str,
    extra_headers: &[(&str, String)],
    body: &[u8],
) -> Result<Response, String> {
    let mut headers = HeaderMap::new();
    headers.insert(
        "host",
        HeaderValue::from_str(&address.to_string()).expect("an address is a header value"),
    );
    for (name, value) in extra_headers {
        headers.insert(
            HeaderName::from_bytes(name.as_bytes()).expect("harness header names are valid"),
            HeaderValue::from_str(value).expect("harness header values are valid"),
        );
    }
    let payload_sha256: [u8; 32] = digest(ChecksumAlgorithm::Sha256, body)
        .as_bytes()
        .try_into()
        .expect("SHA-256 is 32 bytes");
    let credentials = Credentials {
        access_key_id: ACCESS_KEY_ID.to_owned(),
        secret_key: SecretKey::new(SECRET_KEY),
    };
    // SigV4 signs with the wall clock the server checks; the harness never
    // runs in the simulator.
    #[allow(clippy::disallowed_methods)]
    let now = std::time::SystemTime::now();
    sigv4::sign(
        &method,
        path,
        None,
        &mut headers,
        &ContentSha256::Sha256(payload_sha256),
        &SigningParams {
            credentials: &credentials,
            region: REGION,
            time: now,
        },
    )
    .map_err(|error| format!("signing: {error}"))?;
    let mut request = format!("{method} {path} HTTP/1.1\r\n").into_bytes();
    for (name, value) in &headers {
        request.extend_from_slice(name.as_str().as_bytes());
        request.extend_from_slice(b": ");
        request.extend_from_slice(value.as_bytes());
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(
        format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    request.extend_from_slice(body);
    let exchange = async {
        let mut stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        stream.write_all(&request).await?;
        let mut received = Vec::new();
        stream.read_to_end(&mut received).await?;
        Ok::<_, std::io::Error>(received)
    };
    let received = tokio::time::timeout(RESPONSE_TIMEOUT, exchange)
        .await
        .map_err(|_| "no response in time".to_owned())?
        .map_err(|error| error.to_string())?;
    parse_response(&received, method == Method::HEAD)
}

fn parse_response(received: &[u8], head_request: bool) -> Result<Response, String> {
    let head_end = received
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or("the connection closed before a whole response head")?;
    let head = String::from_utf8_lossy(&received[..head_end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or("a response without a status code")?;
    let mut etag = None;
    let mut content_len_bytes = 0;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        match name.trim().to_ascii_lowercase().as_str() {
            "etag" => etag = Some(value.trim().to_owned()),
            "content-length" => {
                content_len_bytes = value.trim().parse().map_err(|_| "a bad content-length")?;
            }
            _ => {}
        }
    }
    let body = &received[head_end + 4..];
    let expected_len_bytes = if head_request { 0 } else { content_len_bytes };
    if body.len() != expected_len_bytes {
        return Err(format!(
            "the connection closed after {} of {expected_len_bytes} body bytes",
            body.len()
        ));
    }
    Ok(Response {
        status,
        etag,
        body: body.to_vec(),
    })
}

// ---- What each key must hold --------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Absent,
    /// The body and its quoted ETag.
    Present {
        body: Vec<u8>,
        etag: String,
    },
}

impl State {
    fn of_body(body: Vec<u8>) -> Self {
        let etag = ETag::of_content(&body).to_string();
        Self::Present { body, etag }
    }

    fn describe(&self) -> String {
        match self {
            Self::Absent => "absent".to_owned(),
            Self::Present { body, etag } => {
                let first_line = body.split(|&byte| byte == b'\n').next().unwrap_or_default();
                format!(
                    "{} ({} bytes, ETag {etag})",
                    String::from_utf8_lossy(first_line),
                    body.len()
                )
            }
        }
    }
}

/// A write as sent, to compare with what the server holds and to retry.
#[derive(Debug, Clone)]
struct Write {
    key: String,
    /// `None` deletes.
    body: Option<Vec<u8>>,
    /// The `If-Match` / `If-None-Match` header.
    condition: (&'static str, String),
    idempotency_key: Option<String>,
}

impl Write {
    fn result(&self) -> State {
        self.body.clone().map_or(State::Absent, State::of_body)
    }

    async fn send(&self, address: SocketAddr) -> Result<Response, String> {
        let mut headers = vec![(self.condition.0, self.condition.1.clone())];
        if let Some(idempotency_key) = &self.idempotency_key {
            headers.push(("idempotency-key", idempotency_key.clone()));
        }
        let path = format!("/{BUCKET}/{}", self.key);
        match &self.body {
            Some(body) => send(address, Method::PUT, &path, &headers, body).await,
            None => send(address, Method::DELETE, &path, &headers, &[]).await,
        }
    }
}

#[derive(Debug, Default)]
struct Tally {
    acknowledged_writes: u64,
    keys_verified: u64,
    in_doubt_landed: u64,
    in_doubt_not_landed: u64,
    idempotent_retries_of_in_doubt: u64,
    idempotent_replays_verified: u64,
    violations: Vec<String>,
}

/// One writer's keys: the last acknowledged state of each, the write that
/// was in flight when the server died, and its acknowledged idempotent
/// writes with their ETags (to replay after restarts).
struct Writer {
    index: usize,
    acknowledged: BTreeMap<String, State>,
    in_doubt: Option<Write>,
    idempotent_results: Vec<(Write, String)>,
    /// `idempotent_results[..replayed]` were replayed after a restart.
    replayed: usize,
    writes_sent: u64,
}

impl Writer {
    fn new(index: usize) -> Self {
        Self {
            index,
            acknowledged: (0..KEYS_PER_WRITER)
                .map(|key| (format!("w{index:02}-k{key}"), State::Absent))
                .collect(),
            in_doubt: None,
            idempotent_results: Vec::new(),
            replayed: 0,
            writes_sent: 0,
        }
    }

    /// The next write, conditional on the key's acknowledged state (so it
    /// must succeed: nobody else writes this key).
    fn next_write(&mut self, rng: &mut Rng, cycle: u32) -> Write {
        let key_index = rng.below(KEYS_PER_WRITER as u64);
        let key = format!("w{:02}-k{key_index}", self.index);
        let current = &self.acknowledged[&key];
        self.writes_sent += 1;
        let serial = self.writes_sent;
        let idempotency_key =
            (rng.below(2) == 0).then(|| format!("c{cycle}-w{}-n{serial}", self.index));
        match current {
            State::Present { etag, .. } if rng.below(5) == 0 => Write {
                key,
                body: None,
                condition: ("if-match", etag.clone()),
                idempotency_key: None,
            },
            _ => {
                let len_bytes = if rng.below(LARGE_BODY_ONE_IN) == 0 {
                    LARGE_BODY_LEN_BYTES
                } else {
                    usize::try_from(rng.below(SMALL_BODY_MAX_LEN_BYTES)).expect("small")
                };
                let mut body = format!("{key} cycle {cycle} write {serial}\n").into_bytes();
                let filler = rng.next_u64().to_le_bytes();
                body.extend((0..len_bytes).map(|index| filler[index % filler.len()]));
                let condition = match current {
                    State::Absent => ("if-none-match", "*".to_owned()),
                    State::Present { etag, .. } => ("if-match", etag.clone()),
                };
                Write {
                    key,
                    body: Some(body),
                    condition,
                    idempotency_key,
                }
            }
        }
    }

    /// Writes until the server dies; every answer must be the success the
    /// model predicts.
    async fn run(mut self, address: SocketAddr, mut rng: Rng, cycle: u32) -> (Self, Tally) {
        let mut tally = Tally::default();
        loop {
            let write = self.next_write(&mut rng, cycle);
            let response = match write.send(address).await {
                Ok(response) if response.status < 500 => response,
                // A lost connection or a 5xx: the write may or may not have
                // been applied; the restart decides.
                _ => {
                    self.in_doubt = Some(write);
                    return (self, tally);
                }
            };
            let expected_status = if write.body.is_some() { 200 } else { 204 };
            if response.status != expected_status {
                tally.violations.push(format!(
                    "{}: expected {expected_status}, got {} {}",
                    write.key,
                    response.status,
                    String::from_utf8_lossy(&response.body).replace(['\r', '\n'], "")
                ));
                return (self, tally);
            }
            let result = write.result();
            if let (State::Present { etag, .. }, Some(answered)) = (&result, &response.etag)
                && etag != answered
            {
                tally.violations.push(format!(
                    "{}: answered ETag {answered}, the body's is {etag} (E1)",
                    write.key
                ));
            }
            tally.acknowledged_writes += 1;
            if let (Some(_), Some(etag)) = (&write.idempotency_key, &response.etag) {
                self.idempotent_results.push((write.clone(), etag.clone()));
            }
            self.acknowledged.insert(write.key.clone(), result);
        }
    }

    /// After a restart: every key holds its acknowledged state or, for the
    /// key written in doubt, that write's result; idempotent writes replay.
    async fn verify(
        &mut self,
        address: SocketAddr,
        rng: &mut Rng,
        tally: &mut Tally,
    ) -> Result<(), String> {
        for (key, acknowledged) in &mut self.acknowledged {
            let response = send(address, Method::GET, &format!("/{BUCKET}/{key}"), &[], &[])
                .await
                .map_err(|error| format!("reading {key} after the restart: {error}"))?;
            let observed = match response.status {
                404 => State::Absent,
                200 => {
                    let state = State::of_body(response.body);
                    if let State::Present { etag, .. } = &state
                        && response.etag.as_ref() != Some(etag)
                    {
                        tally.violations.push(format!(
                            "{key}: half-visible object: ETag {:?} over bytes whose ETag is {etag}",
                            response.etag
                        ));
                    }
                    state
                }
                status => return Err(format!("reading {key}: status {status}")),
            };
            tally.keys_verified += 1;
            let in_doubt = self.in_doubt.as_ref().filter(|write| write.key == *key);
            if observed == *acknowledged {
                if in_doubt.is_some() {
                    tally.in_doubt_not_landed += 1;
                }
            } else if in_doubt.is_some_and(|write| write.result() == observed) {
                tally.in_doubt_landed += 1;
                *acknowledged = observed;
            } else {
                tally.violations.push(format!(
                    "{key}: acknowledged {}, but after the restart it is {}{}",
                    acknowledged.describe(),
                    observed.describe(),
                    in_doubt.map_or(String::new(), |write| format!(
                        " (the write in doubt was {})",
                        write.result().describe()
                    )),
                ));
                *acknowledged = observed;
            }
        }
        if let Some(write) = self.in_doubt.take()
            && write.idempotency_key.is_some()
        {
            // Whether it landed or not, a retry with the same key and
            // payload must end with it applied exactly once (I1, I8).
            let response = write
                .send(address)
                .await
                .map_err(|error| format!("retrying {}: {error}", write.key))?;
            let result = write.result();
            let State::Present { etag, .. } = &result else {
                unreachable!("deletes carry no idempotency key");
            };
            if response.status != 200 || response.etag.as_ref() != Some(etag) {
                tally.violations.push(format!(
                    "{}: the retry of an idempotent write in doubt answered {} {:?}, not 200 {etag}",
                    write.key, response.status, response.etag
                ));
            }
            tally.idempotent_retries_of_in_doubt += 1;
            self.idempotent_results.push((write.clone(), etag.clone()));
            self.acknowledged.insert(write.key.clone(), result);
        }
        let older = (0..OLDER_REPLAYS_PER_WRITER.min(self.replayed))
            .map(|_| usize::try_from(rng.below(self.replayed as u64)).expect("an index"));
        let replays: Vec<usize> = older
            .chain(self.replayed..self.idempotent_results.len())
            .collect();
        self.replayed = self.idempotent_results.len();
        for (write, etag) in replays
            .into_iter()
            .map(|index| &self.idempotent_results[index])
        {
            let response = write
                .send(address)
                .await
                .map_err(|error| format!("replaying {}: {error}", write.key))?;
            if response.status != 200 || response.etag.as_ref() != Some(etag) {
                tally.violations.push(format!(
                    "{}: idempotency key {:?} replayed {} {:?}, first answered 200 {etag} (I1, I8)",
                    write.key, write.idempotency_key, response.status, response.etag
                ));
            }
            tally.idempotent_replays_verified += 1;
        }
        Ok(())
    }
}

// ---- The driver -------------------------------------------------------------------

struct Server {
    child: Child,
    address: SocketAddr,
}

async fn start_server(dir: &Path) -> Result<Server, String> {
    let executable =
        std::env::current_exe().map_err(|error| format!("finding this executable: {error}"))?;
    let mut child = Command::new(executable)
        .arg("serve")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| format!("starting the server: {error}"))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut first_line = String::new();
    tokio::time::timeout(
        STARTUP_TIMEOUT,
        BufReader::new(stdout).read_line(&mut first_line),
    )
    .await
    .map_err(|_| "the server did not start in time".to_owned())?
    .map_err(|error| format!("reading the server's address: {error}"))?;
    let address = first_line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|address| address.parse().ok())
        .ok_or_else(|| format!("the server said {first_line:?}, not its address"))?;
    Ok(Server { child, address })
}

async fn drive(options: Options) -> Result<(), String> {
    let dir = options.data.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!(
            "lockwell-crash-{}-{}",
            options.seed,
            std::process::id()
        ))
    });
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|error| format!("clearing {}: {error}", dir.display()))?;
    }
    println!(
        "crash harness: {} cycles, seed {}, {WRITERS} writers x {KEYS_PER_WRITER} keys, data in {}",
        options.cycles,
        options.seed,
        dir.display()
    );
    let mut schedule = Rng::new(options.seed, 0);
    let mut writers: Vec<Writer> = (0..WRITERS).map(Writer::new).collect();
    let mut total = Tally::default();

    let mut server = start_server(&dir).await?;
    let created = send(server.address, Method::PUT, &format!("/{BUCKET}"), &[], &[]).await?;
    if created.status != 200 {
        return Err(format!("creating the bucket: status {}", created.status));
    }
    for cycle in 1..=options.cycles {
        let run_ms = schedule.below(MAX_RUN_BEFORE_KILL_MS + 1);
        let tasks: Vec<_> = writers
            .drain(..)
            .map(|writer| {
                let rng = Rng::new(options.seed, (u64::from(cycle) << 16) | writer.index as u64);
                tokio::spawn(writer.run(server.address, rng, cycle))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(run_ms)).await;
        server
            .child
            .start_kill()
            .map_err(|error| format!("killing the server: {error}"))?;
        server
            .child
            .wait()
            .await
            .map_err(|error| format!("waiting for the killed server: {error}"))?;
        let mut cycle_tally = Tally::default();
        for task in tasks {
            let (writer, tally) = task.await.map_err(|error| error.to_string())?;
            cycle_tally.acknowledged_writes += tally.acknowledged_writes;
            cycle_tally.violations.extend(tally.violations);
            writers.push(writer);
        }

        server = start_server(&dir).await?;
        for writer in &mut writers {
            writer
                .verify(server.address, &mut schedule, &mut cycle_tally)
                .await?;
        }
        println!(
            "cycle {cycle:>3}: killed after {run_ms:>3} ms; {:>4} writes acknowledged; \
             in doubt: {} landed, {} not; {} idempotent replays; violations: {}",
            cycle_tally.acknowledged_writes,
            cycle_tally.in_doubt_landed,
            cycle_tally.in_doubt_not_landed,
            cycle_tally.idempotent_replays_verified,
            cycle_tally.violations.len()
        );
        for violation in &cycle_tally.violations {
            println!("  VIOLATION {violation}");
        }
        merge(&mut total, cycle_tally);
    }
    server
        .child
        .start_kill()
        .map_err(|error| format!("stopping the server: {error}"))?;
    let _ = server.child.wait().await;

    println!(
        "summary: {} cycles, {} acknowledged writes, {} key checks after restarts, \
         {} writes in doubt landed whole, {} left no trace, {} idempotent retries of writes in \
         doubt applied once, {} idempotent replays matched; violations: {}",
        options.cycles,
        total.acknowledged_writes,
        total.keys_verified,
        total.in_doubt_landed,
        total.in_doubt_not_landed,
        total.idempotent_retries_of_in_doubt,
        total.idempotent_replays_verified,
        total.violations.len()
    );
    if total.violations.is_empty() {
        std::fs::remove_dir_all(&dir)
            .map_err(|error| format!("removing {}: {error}", dir.display()))?;
        Ok(())
    } else {
        Err(format!(
            "{} violations; the data directory is kept at {}",
            total.violations.len(),
            dir.display()
        ))
    }
}

fn merge(total: &mut Tally, cycle: Tally) {
    total.acknowledged_writes += cycle.acknowledged_writes;
    total.keys_verified += cycle.keys_verified;
    total.in_doubt_landed += cycle.in_doubt_landed;
    total.in_doubt_not_landed += cycle.in_doubt_not_landed;
    total.idempotent_retries_of_in_doubt += cycle.idempotent_retries_of_in_doubt;
    total.idempotent_replays_verified += cycle.idempotent_replays_verified;
    total.violations.extend(cycle.violations);
}
