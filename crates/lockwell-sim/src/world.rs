//! The simulated world of one run: a server node running the real
//! lockwell-server over a [`SimDisk`], one node per client running the real
//! native or S3 client through its workload's op stream, and a fault
//! schedule drawn from the seed by the workload's fault profile.
//!
//! A run has three phases, in simulated time:
//! 1. **faults**: the clients run their ops while the network is slow and
//!    lossy, nodes are clogged, clients are cut off from the server, the
//!    server is killed (its disk crashing) and restarted, responses to
//!    committed writes are lost (BUGGIFY), and the server's wall clock
//!    jumps ahead, for at most [`FAULT_WINDOW_MS`];
//! 2. **liveness**: every fault heals; every client must finish its ops
//!    within [`LIVENESS_BOUND_MS`];
//! 3. **final reads**: a checker process reads every key, for the checks
//!    ([`crate::checks`]).
//!
//! Every client node runs its op stream through a [`ClientDriver`]
//! ([`crate::driver`], shared with the live checker), which records each
//! request in the [`HistoryRecorder`] with simulated time, and the API it
//! went through.
//!
//! # Clients
//!
//! The workload says which API each client speaks (`api = "native"`,
//! `"s3"`, or `"mixed"`: drawn per client from the seed); a native client
//! ([`WorkloadClient::Native`]) has an S3 companion for multipart uploads.
//!
//! # Time and tokens
//!
//! Each native client asks for tokens of a lifetime drawn from the fault
//! profile (`token_ttl_ms`) and refreshes them a quarter of that before
//! they expire (R1), on the simulator's clock. The clock-advance fault
//! moves only the server's wall clock ahead
//! ([`lockwell_server::clock::advance_ms`]), so a native client's token
//! expires sooner than it thinks: it meets a 401, re-mints and sends once
//! more (R1), and the run counts those re-mints. S3 clients sign with the
//! server's clock instead ([`ServerClock`]), as AWS SDKs correct their
//! skew from a RequestTimeTooSkewed answer: a clock jump is about tokens
//! here, not about SigV4's 15-minute window (A1). The jumps of a run add
//! up to at most [`MAX_TOTAL_CLOCK_ADVANCE_MS`], inside the idempotency
//! retention, so a retry within a run is always inside its window (I1).
//!
//! # Planted bugs
//!
//! Built with the feature `planted-bugs` (forwarded to lockwell-client's;
//! lockwell-core's loom bugs stay off), the clients carry the bugs of
//! `lockwell_client::planted`, and `tests/planted_bugs.rs` proves a
//! shipped workload catches them within 200 seeds and replays the failing
//! seed in a fresh process. Build that in its own target dir, so the
//! correct simulator in `target/sim` is never replaced:
//! `RUSTFLAGS="--cfg madsim" cargo test --release -p lockwell-sim
//! --features planted-bugs --target-dir target/sim-planted --test
//! planted_bugs -- --nocapture`.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use lockwell_client::{
    ClientRuntime, Clock, NativeClient, NativeConfig, Observer, S3Client, S3Config, TcpConnector,
    runtime::SimRandom,
};
use lockwell_server::buggify;
use lockwell_server::engine::{Engine, EngineConfig};
use lockwell_server::http::{self as server_http, HttpConfig};
use lockwell_server::storage::sim_disk::{CrashMode, SimDisk, SimDiskConfig, SimDiskStats};
use lockwell_workload::{Bounds, ClientApi, FaultProfile, OpGenerator, WorkloadSpec};
use madsim::net::NetSim;
use madsim::rand::{Rng, thread_rng};
use madsim::runtime::Handle;
use madsim::task::JoinHandle;
use madsim::task::NodeId;
use madsim::time::{Instant, TimeHandle};
use tokio::sync::Notify;

use crate::driver::{
    ClientDriver, MAX_ACTING_ATTEMPTS_PER_REQUEST, ProcessObserver, RunClock, TokenStats,
    WorkloadClient,
};
use crate::history::{History, HistoryRecorder};

/// The longest the fault phase lasts, in simulated time; the clients may
/// finish sooner, which ends it.
pub const FAULT_WINDOW_MS: u64 = 60_000;
/// After faults heal, every client must finish within this simulated time
/// (liveness). A client may be in the middle of a retry schedule (R3) or a
/// timeout when faults heal.
pub const LIVENESS_BOUND_MS: u64 = 120_000;

/// The server's wall clock runs at most this far ahead of the simulator's
/// by the end of a run: half the idempotency retention (24 h, I1), so a
/// retry in a run is always inside its key's window.
pub const MAX_TOTAL_CLOCK_ADVANCE_MS: u64 = lockwell_core::idempotency::DEFAULT_RETENTION_MS / 2;
/// A native client refreshes its token when less than this fraction of
/// its lifetime is left (R1's margin, `1 / TOKEN_REFRESH_MARGIN_DIVISOR`).
const TOKEN_REFRESH_MARGIN_DIVISOR: u64 = 4;

/// How a server failure to recover from its disk starts.
pub const RECOVERY_FAILED: &str = "recovery failed";

const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const SERVER_PORT: u16 = 9000;
const ACCESS_KEY: &str = "AKSIMULATOR";
const SECRET_KEY: &str = "simulator-secret";
const REGION: &str = "us-east-1";
const BUCKET: &str = "sim";
/// How long the setup waits for the server to come up before the bucket
/// is created.
const SERVER_BOOT_MS: u64 = 10;

/// What one run is made of.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub spec: WorkloadSpec,
    pub profile: FaultProfile,
    pub seed: u64,
}

/// How many faults of each kind a run injected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    pub clogs: u64,
    pub partitions: u64,
    pub server_kills: u64,
    /// Jumps of the server's wall clock.
    pub clock_advances: u64,
}

/// What a run produced: its history and what the checks need besides.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub history: History,
    /// The process id of the final reads.
    pub checker_process: u32,
    /// Clients that did not finish within the liveness bound.
    pub unfinished_clients: Vec<u32>,
    /// Why the server failed to start, each time it did.
    pub server_failures: Vec<String>,
    pub simulated_ns: u64,
    pub buggify: buggify::Report,
    pub faults: FaultCounts,
    pub disk: SimDiskStats,
    /// Tokens native clients re-minted after a 401 (R1).
    pub token_remints: u64,
}

fn server_addr() -> SocketAddr {
    SocketAddr::new(IpAddr::V4(SERVER_IP), SERVER_PORT)
}

fn client_ip(client: u32) -> IpAddr {
    let [_, _, high, low] = (client + 1).to_be_bytes();
    IpAddr::V4(Ipv4Addr::new(10, 1, high, low))
}

fn draw(bounds: Bounds) -> u64 {
    thread_rng().gen_range(bounds.min..=bounds.max)
}

/// Milliseconds until the next event of a Poisson process of `rate_per_s`.
fn next_event_ms(rate_per_s: f64) -> u64 {
    let uniform: f64 = thread_rng().gen_range(f64::EPSILON..1.0);
    (-uniform.ln() / rate_per_s * 1000.0) as u64
}

/// The server node's life: recover the engine from the disk, serve until
/// killed. Runs again on every restart.
async fn serve(disk: Arc<SimDisk>, failures: Arc<Mutex<Vec<String>>>) {
    let engine_config = EngineConfig {
        // Parts as small as the workloads write.
        min_part_size_bytes: 1,
        ..EngineConfig::default()
    };
    let engine = match Engine::open(disk, engine_config) {
        Ok(engine) => engine,
        Err(error) => {
            failures
                .lock()
                .expect("poisoned")
                .push(format!("{RECOVERY_FAILED}: {error}"));
            return;
        }
    };
    let listener = match tokio::net::TcpListener::bind(server_addr()).await {
        Ok(listener) => listener,
        Err(error) => {
            failures
                .lock()
                .expect("poisoned")
                .push(format!("bind failed: {error}"));
            return;
        }
    };
    let config = HttpConfig::single_key(ACCESS_KEY, SECRET_KEY, REGION);
    if let Err(error) =
        server_http::serve(listener, Arc::new(engine), config, std::future::pending()).await
    {
        failures
            .lock()
            .expect("poisoned")
            .push(format!("serve failed: {error}"));
    }
}

/// The server's wall clock, what S3 clients sign with: the simulator's,
/// plus the server's clock jumps (see the module docs).
#[derive(Debug, Clone, Copy)]
struct ServerClock;

impl Clock for ServerClock {
    fn now(&self) -> std::time::SystemTime {
        lockwell_server::clock::now()
    }
}

fn s3_client(profile: &FaultProfile, observer: &Arc<ProcessObserver>) -> S3Client<TcpConnector> {
    let mut config = S3Config::new(
        format!("http://{}", server_addr()),
        REGION,
        ACCESS_KEY,
        SECRET_KEY,
    );
    config.transport.attempt_timeout_ms = profile.client_timeout_ms;
    config.transport.connect_timeout_ms = profile.client_timeout_ms;
    let observer: Arc<dyn Observer> = observer.clone();
    let runtime = ClientRuntime::new(SimRandom)
        .with_clock(Arc::new(ServerClock))
        .with_observer(observer);
    S3Client::with_connector(config, TcpConnector, runtime)
        .expect("the simulator's client configuration is valid")
}

/// A native client whose tokens live a lifetime drawn from the profile.
fn native_client(
    profile: &FaultProfile,
    observer: &Arc<ProcessObserver>,
) -> NativeClient<TcpConnector> {
    let mut config = NativeConfig::new(format!("http://{}", server_addr()), ACCESS_KEY, SECRET_KEY);
    let token_ttl_ms = draw(profile.token_ttl_ms);
    config.token_ttl_ms = Some(token_ttl_ms);
    config.token_refresh_margin_ms = token_ttl_ms / TOKEN_REFRESH_MARGIN_DIVISOR;
    config.transport.attempt_timeout_ms = profile.client_timeout_ms;
    config.transport.connect_timeout_ms = profile.client_timeout_ms;
    let observer: Arc<dyn Observer> = observer.clone();
    let runtime = ClientRuntime::new(SimRandom).with_observer(observer);
    NativeClient::with_connector(config, TcpConnector, runtime)
        .expect("the simulator's client configuration is valid")
}

fn sim_client(
    api: ClientApi,
    profile: &FaultProfile,
    tokens: &Arc<TokenStats>,
    observer: &Arc<ProcessObserver>,
) -> WorkloadClient {
    match api {
        ClientApi::Native => WorkloadClient::Native {
            native: native_client(profile, observer),
            s3: s3_client(profile, observer),
            tokens: Arc::clone(tokens),
        },
        _ => WorkloadClient::S3(s3_client(profile, observer)),
    }
}

/// Simulated time since the run started: the history's clock.
#[derive(Debug)]
struct SimClock {
    started: Instant,
}

impl RunClock for SimClock {
    fn elapsed_ns(&self) -> u64 {
        u64::try_from(
            TimeHandle::current()
                .now_instant()
                .duration_since(self.started)
                .as_nanos(),
        )
        .unwrap_or(u64::MAX)
    }
}

/// Completes when every client task has; says which have not.
struct ClientsDone {
    /// `None` once the client (its index) finished.
    tasks: Vec<Option<JoinHandle<()>>>,
}

impl ClientsDone {
    fn unfinished(&self) -> Vec<u32> {
        (0..)
            .zip(&self.tasks)
            .filter(|(_, task)| task.is_some())
            .map(|(client, _)| client)
            .collect()
    }
}

impl Future for ClientsDone {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut pending = false;
        for slot in &mut self.tasks {
            if let Some(task) = slot {
                match Pin::new(task).poll(cx) {
                    Poll::Ready(joined) => {
                        joined.expect("client tasks do not panic");
                        *slot = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }
}

/// The fault window's end, awaited by every fault task at once.
///
/// Not a `tokio::sync::watch` channel: each wait on a watch receiver
/// registers with one of eight `Notify`s picked by tokio's thread RNG,
/// which tokio seeds from a process-wide counter, so the order in which
/// the fault tasks woke at the window's end, and the run after it,
/// depended on how many seeds the process had run before (a partition or
/// chaos seed hashed differently after others in the same process than
/// alone). One `Notify` wakes its waiters in an order of its own.
#[derive(Default)]
struct FaultWindow {
    closed: AtomicBool,
    closing: Notify,
}

impl FaultWindow {
    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.closing.notify_waiters();
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Returns once the window is closed.
    async fn closed(&self) {
        let closing = self.closing.notified();
        tokio::pin!(closing);
        // Registered before the check, so a `close` after it still wakes us.
        closing.as_mut().enable();
        if !self.is_closed() {
            closing.await;
        }
    }
}

/// Applies the fault profile until its window closes, then heals what it
/// broke. Each kind of fault is a Poisson process of its own.
struct Faults {
    profile: FaultProfile,
    server: NodeId,
    clients: Vec<NodeId>,
    disk: Arc<SimDisk>,
    counts: Arc<Mutex<FaultCounts>>,
    window: FaultWindow,
}

impl Faults {
    fn count(&self, bump: impl FnOnce(&mut FaultCounts)) {
        bump(&mut self.counts.lock().expect("poisoned"));
    }

    /// Sleeps until the next event of `rate_per_s`; `false` when the fault
    /// window closed first.
    async fn wait_next(&self, rate_per_s: f64) -> bool {
        let delay = Duration::from_millis(next_event_ms(rate_per_s));
        // `biased`: tokio's select! otherwise polls its branches in an
        // order drawn from a per-process seed, which breaks replay.
        let window_open = tokio::select! {
            biased;
            () = tokio::time::sleep(delay) => true,
            () = self.window.closed() => false,
        };
        window_open && !self.window.is_closed()
    }

    async fn clogs(self: Arc<Self>) {
        let rate = self.profile.clog_rate_per_s;
        if rate <= 0.0 {
            return;
        }
        while self.wait_next(rate).await {
            let nodes = self.clients.len() + 1;
            let pick = thread_rng().gen_range(0..nodes);
            let node = self.clients.get(pick).copied().unwrap_or(self.server);
            NetSim::current().clog_node(node);
            tokio::time::sleep(Duration::from_millis(draw(self.profile.clog_duration_ms))).await;
            NetSim::current().unclog_node(node);
            self.count(|counts| counts.clogs += 1);
        }
    }

    async fn partitions(self: Arc<Self>) {
        let rate = self.profile.partition_rate_per_s;
        if rate <= 0.0 || self.clients.is_empty() {
            return;
        }
        while self.wait_next(rate).await {
            let client = self.clients[thread_rng().gen_range(0..self.clients.len())];
            let net = NetSim::current();
            net.clog_link(client, self.server);
            net.clog_link(self.server, client);
            tokio::time::sleep(Duration::from_millis(draw(
                self.profile.partition_duration_ms,
            )))
            .await;
            net.unclog_link(client, self.server);
            net.unclog_link(self.server, client);
            self.count(|counts| counts.partitions += 1);
        }
    }

    fn crash_mode(&self) -> CrashMode {
        let weights = self.profile.crash_modes;
        let total = weights.total();
        if total == 0 {
            return CrashMode::LoseUnsynced;
        }
        let pick = thread_rng().gen_range(0..total);
        if pick < u64::from(weights.lose_unsynced) {
            CrashMode::LoseUnsynced
        } else if pick < u64::from(weights.lose_unsynced) + u64::from(weights.torn_tail) {
            CrashMode::TornTail
        } else {
            CrashMode::PartialFlush
        }
    }

    /// Jumps of the server's wall clock, until they add up to
    /// [`MAX_TOTAL_CLOCK_ADVANCE_MS`]. Nothing to heal: a clock does not
    /// jump back.
    async fn clock_advances(self: Arc<Self>) {
        let rate = self.profile.clock_advance_rate_per_s;
        if rate <= 0.0 {
            return;
        }
        while self.wait_next(rate).await {
            let room_ms = MAX_TOTAL_CLOCK_ADVANCE_MS - lockwell_server::clock::ahead_ms();
            let jump_ms = draw(self.profile.clock_advance_ms).min(room_ms);
            if jump_ms == 0 {
                return;
            }
            lockwell_server::clock::advance_ms(jump_ms);
            self.count(|counts| counts.clock_advances += 1);
        }
    }

    async fn kills(self: Arc<Self>) {
        let rate = self.profile.server_kill_rate_per_s;
        if rate <= 0.0 {
            return;
        }
        while self.wait_next(rate).await {
            let handle = Handle::current();
            handle.kill(self.server);
            self.disk.crash(self.crash_mode());
            tokio::time::sleep(Duration::from_millis(draw(self.profile.server_downtime_ms))).await;
            handle.restart(self.server);
            self.count(|counts| counts.server_kills += 1);
        }
    }
}

/// Runs one seed's world to the end. Call inside a madsim runtime seeded
/// with `config.seed`.
///
/// # Panics
/// If the workload spec does not validate.
pub async fn run(config: &RunConfig) -> RunOutcome {
    let clock: Arc<dyn RunClock> = Arc::new(SimClock {
        started: TimeHandle::current().now_instant(),
    });
    let profile = config.profile.clone();
    let spec = &config.spec;
    let fsync = profile.fsync_delay_us;
    let disk = Arc::new(SimDisk::new(
        SimDiskConfig {
            fsync_delay_us: fsync.min..=fsync.max,
        },
        Box::new(madsim::rand::random::<u64>),
    ));
    let server_failures = Arc::new(Mutex::new(Vec::new()));
    lockwell_server::clock::reset();
    let handle = Handle::current();
    let server = {
        let disk = Arc::clone(&disk);
        let failures = Arc::clone(&server_failures);
        handle
            .create_node()
            .name("server")
            .ip(IpAddr::V4(SERVER_IP))
            .init(move || serve(Arc::clone(&disk), Arc::clone(&failures)))
            .build()
    };

    let checker_process = spec.clients;
    let recorder = HistoryRecorder::new(&spec.name, config.seed).with_final_reader(checker_process);
    let generator = OpGenerator::new(spec, config.seed).expect("a validated workload");
    let checker_node = handle
        .create_node()
        .name("checker")
        .ip(client_ip(checker_process))
        .build();
    let setup_profile = profile.clone();
    buggify::configure(&BTreeMap::new());
    let bucket_ready = checker_node
        .spawn(async move {
            tokio::time::sleep(Duration::from_millis(SERVER_BOOT_MS)).await;
            let unrecorded = ProcessObserver::new(None);
            s3_client(&setup_profile, &unrecorded)
                .create_bucket(BUCKET)
                .await
        })
        .await
        .expect("the setup task runs to its end");
    if let Err(error) = bucket_ready {
        server_failures.lock().expect("poisoned").push(format!(
            "creating the bucket on a healthy network failed: {error}"
        ));
    }

    // Faults start once the bucket exists: the setup is not under test.
    buggify::configure(&BTreeMap::from([(
        buggify::LOST_RESPONSE_AFTER_COMMIT,
        profile.lost_response_after_commit_probability,
    )]));

    let max_latency_ms = draw(profile.network_latency_ms);
    let min_latency_ms = profile.network_latency_ms.min;
    NetSim::current().update_config(|net| {
        net.send_latency =
            Duration::from_millis(min_latency_ms)..Duration::from_millis(max_latency_ms + 1);
        net.packet_loss_rate = profile.packet_loss_rate;
    });

    let tokens = Arc::new(TokenStats::default());
    let mut client_nodes = Vec::new();
    let mut client_tasks = Vec::new();
    for process in 0..spec.clients {
        let node = handle
            .create_node()
            .name(format!("client-{process}"))
            .ip(client_ip(process))
            .build();
        client_nodes.push(node.id());
        let ops = generator.client(process);
        let observer =
            ProcessObserver::new((ops.api() == ClientApi::Native).then(|| Arc::clone(&tokens)));
        let task = ClientDriver::new(
            process,
            sim_client(ops.api(), &profile, &tokens, &observer),
            observer,
            BUCKET,
            recorder.clone(),
            Arc::clone(&clock),
        );
        client_tasks.push(node.spawn(async move {
            for (op_index, op) in ops.enumerate() {
                task.run_op(u32::try_from(op_index).expect("ops fit u32"), op)
                    .await;
            }
        }));
    }

    let counts = Arc::new(Mutex::new(FaultCounts::default()));
    let faults = Arc::new(Faults {
        profile: profile.clone(),
        server: server.id(),
        clients: client_nodes,
        disk: Arc::clone(&disk),
        counts: Arc::clone(&counts),
        window: FaultWindow::default(),
    });
    let fault_tasks = vec![
        tokio::spawn(Arc::clone(&faults).clogs()),
        tokio::spawn(Arc::clone(&faults).partitions()),
        tokio::spawn(Arc::clone(&faults).kills()),
        tokio::spawn(Arc::clone(&faults).clock_advances()),
    ];

    // Phase 1: faults until the clients finish or the window closes.
    let mut all_clients = ClientsDone {
        tasks: client_tasks.into_iter().map(Some).collect(),
    };
    let finished_in_window =
        tokio::time::timeout(Duration::from_millis(FAULT_WINDOW_MS), &mut all_clients)
            .await
            .is_ok();
    // Phase 2: heal (each fault task undoes its fault in progress), then
    // every client must finish within the bound.
    faults.window.close();
    for task in fault_tasks {
        task.await.expect("fault tasks do not panic");
    }
    let unfinished_clients = if finished_in_window {
        Vec::new()
    } else {
        match tokio::time::timeout(Duration::from_millis(LIVENESS_BOUND_MS), &mut all_clients).await
        {
            Ok(()) => Vec::new(),
            Err(_) => all_clients.unfinished(),
        }
    };

    // Phase 3: the checker reads every key.
    let observer = ProcessObserver::new(None);
    let final_reads = ClientDriver::new(
        checker_process,
        WorkloadClient::S3(s3_client(&profile, &observer)),
        observer,
        BUCKET,
        recorder.clone(),
        Arc::clone(&clock),
    );
    let keys: Vec<String> = (0..spec.keys)
        .map(lockwell_workload::generator::key_name)
        .collect();
    checker_node
        .spawn(async move {
            for key in keys {
                final_reads.final_read(&key).await;
            }
        })
        .await
        .expect("the checker task runs to its end");

    let simulated_ns = clock.elapsed_ns();
    let server_failures = server_failures.lock().expect("poisoned").clone();
    let faults = *counts.lock().expect("poisoned");
    RunOutcome {
        history: recorder.history(simulated_ns, MAX_ACTING_ATTEMPTS_PER_REQUEST),
        token_remints: tokens.remints(),
        checker_process,
        unfinished_clients,
        server_failures,
        simulated_ns,
        buggify: buggify::take_report(),
        faults,
        disk: disk.stats(),
    }
}
