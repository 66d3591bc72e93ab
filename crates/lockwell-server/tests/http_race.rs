//! SPEC C1 over HTTP: of N racers creating the same absent key with
//! `If-None-Match: *`, exactly one gets 200 and the others 412 (or 409,
//! C5), round after round, and the stored object is the winner's.
//!
//! Each round opens all connections and signs all requests first, then
//! releases the racers through a barrier so their requests reach the
//! server together.

mod support;

use std::sync::Arc;

use support::{ALICE, Client, TestRequest, TestServer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::Barrier;

/// Racers per round: the 64-way race.
const RACERS: usize = 64;
/// Rounds on the memory backend, each on a fresh key.
const ROUNDS: usize = 100;
/// Rounds on the file backend, where every answer waits for the
/// group-committed log.
const FILE_BACKEND_ROUNDS: usize = 20;

/// One racer: connects and signs, waits for the others, sends its create
/// and returns the status it got.
async fn race_once(client: Arc<Client>, key: String, racer: usize, start: Arc<Barrier>) -> u16 {
    let request = TestRequest::put(&key, format!("racer {racer}")).header("if-none-match", "*");
    let (headers, _) = client.sign(&request);
    let mut bytes = client.head(&request, &headers, request.body.len() as u64);
    bytes.extend_from_slice(&request.body);
    let mut stream = TcpStream::connect(client.addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    start.wait().await;
    stream.write_all(&bytes).await.expect("send");
    support::read_response(&mut stream, false).await.status
}

/// Runs `rounds` rounds of the race against `server`, asserting C1 in each.
async fn race(server: &TestServer, rounds: usize, backend: &str) {
    let alice = Arc::new(server.client(ALICE));
    assert_eq!(alice.send(TestRequest::put("/race", "")).await.status, 200);
    #[allow(
        clippy::disallowed_methods,
        reason = "wall-clock duration of a real-socket test"
    )]
    let started = std::time::Instant::now();
    let mut rounds_with_one_winner = 0;
    for round in 0..rounds {
        let key = format!("/race/round-{round}");
        let start = Arc::new(Barrier::new(RACERS));
        let racers: Vec<_> = (0..RACERS)
            .map(|racer| tokio::spawn(race_once(alice.clone(), key.clone(), racer, start.clone())))
            .collect();
        let mut statuses = Vec::with_capacity(RACERS);
        for racer in racers {
            statuses.push(racer.await.expect("racer task"));
        }
        let winners: Vec<usize> = (0..RACERS)
            .filter(|&racer| statuses[racer] == 200)
            .collect();
        let losers = statuses
            .iter()
            .filter(|status| matches!(status, 412 | 409))
            .count();
        assert_eq!(
            winners.len(),
            1,
            "{backend} round {round}: winners {winners:?}, statuses {statuses:?}"
        );
        assert_eq!(
            losers,
            RACERS - 1,
            "{backend} round {round}: statuses {statuses:?}"
        );
        let stored = alice.send(TestRequest::get(&key)).await;
        assert_eq!(
            stored.body,
            format!("racer {}", winners[0]).into_bytes(),
            "{backend} round {round}: the stored object is the winner's"
        );
        rounds_with_one_winner += 1;
    }
    println!(
        "C1 race ({backend} backend): {rounds_with_one_winner}/{rounds} rounds of {RACERS} racers \
         had exactly one winner ({} requests in {:.2} s)",
        rounds * RACERS,
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn c1_racing_creators_of_one_key_have_exactly_one_winner_every_round() {
    let server = TestServer::start().await;
    race(&server, ROUNDS, "memory").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn c1_racing_creators_have_one_winner_on_the_file_backend_too() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server =
        TestServer::start_on(support::file_engine(dir.path()), support::test_config()).await;
    race(&server, FILE_BACKEND_ROUNDS, "file").await;
    server.stop().await;
}
