//! The simulation mode works end to end: two madsim nodes exchange messages
//! over simulated TCP while a fault drawn from the seed delays packets and
//! clogs the client for a while. `cargo xtask test` runs this over several
//! seeds with `MADSIM_TEST_CHECK_DETERMINISM=1`, which runs each seed twice
//! and fails on any divergence.
#![cfg(madsim)]

use std::net::SocketAddr;
use std::time::Duration;

use madsim::net::NetSim;
use madsim::rand::{Rng, thread_rng};
use madsim::runtime::Handle;
use madsim::time::TimeHandle;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SERVER_ADDR: &str = "10.0.0.1:7000";
/// Enough messages, one every `MESSAGE_GAP_MS`, that the exchange outlasts
/// the longest clog the seed can draw.
const MESSAGES: u32 = 150;
const MESSAGE_GAP_MS: u64 = 5;
const MAX_CLOG_MS: u64 = 500;
/// madsim refuses a connect whose first packet is lost, and may delay the
/// server's bind by up to 5 s (its own BUGGIFY): the client tries this
/// often, `CONNECT_RETRY_MS` apart.
const CONNECT_ATTEMPTS: u32 = 100;
const CONNECT_RETRY_MS: u64 = 100;

async fn connect(addr: SocketAddr) -> TcpStream {
    let mut attempts = 0;
    loop {
        attempts += 1;
        match TcpStream::connect(addr).await {
            Ok(stream) => return stream,
            Err(error) if attempts < CONNECT_ATTEMPTS => {
                assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
                tokio::time::sleep(Duration::from_millis(CONNECT_RETRY_MS)).await;
            }
            Err(error) => panic!("connect: {error} after {attempts} attempts"),
        }
    }
}

/// Reads one length-prefixed frame.
async fn read_frame(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let len = stream.read_u32().await?;
    let mut frame = vec![0; len as usize];
    stream.read_exact(&mut frame).await?;
    Ok(frame)
}

async fn write_frame(stream: &mut TcpStream, frame: &[u8]) -> std::io::Result<()> {
    stream
        .write_u32(u32::try_from(frame.len()).expect("test frames are small"))
        .await?;
    stream.write_all(frame).await?;
    stream.flush().await
}

/// Answers every frame with its bytes reversed, so the client can tell a
/// real answer from an echo of its own buffer.
async fn serve_reversed(addr: SocketAddr) {
    let listener = TcpListener::bind(addr).await.expect("bind");
    loop {
        let (mut stream, _) = listener.accept().await.expect("accept");
        tokio::spawn(async move {
            while let Ok(mut frame) = read_frame(&mut stream).await {
                frame.reverse();
                if write_frame(&mut stream, &frame).await.is_err() {
                    break;
                }
            }
        });
    }
}

#[madsim::test]
async fn two_nodes_exchange_messages_under_seeded_faults() {
    let handle = Handle::current();
    let server_addr: SocketAddr = SERVER_ADDR.parse().expect("valid address");

    // The fault comes from the seed: a latency range and a loss rate (under
    // madsim, a lost packet is retransmitted later, so loss shows as delay).
    let (max_latency_ms, loss_rate, clog_ms) = {
        let mut rng = thread_rng();
        (
            rng.gen_range(1..50u64),
            rng.gen_range(0.0..0.2),
            rng.gen_range(10..MAX_CLOG_MS),
        )
    };
    NetSim::current().update_config(|config| {
        config.send_latency = Duration::from_millis(1)..Duration::from_millis(1 + max_latency_ms);
        config.packet_loss_rate = loss_rate;
    });

    let server = handle
        .create_node()
        .name("server")
        .ip(server_addr.ip())
        .build();
    server.spawn(serve_reversed(server_addr));
    let client = handle
        .create_node()
        .name("client")
        .ip("10.0.0.2".parse().expect("ip"))
        .build();
    let client_id = client.id();

    // A clogged node refuses connects: the clog starts once the client is
    // connected.
    let (connected, on_connected) = tokio::sync::oneshot::channel();
    let exchange = client.spawn(async move {
        let mut stream = connect(server_addr).await;
        connected
            .send(())
            .expect("the test waits for the connection");
        let mut round_trips = Vec::new();
        for i in 0..MESSAGES {
            let message = format!("message {i} from client");
            let started = TimeHandle::current().now_instant();
            write_frame(&mut stream, message.as_bytes())
                .await
                .expect("send");
            let answer = read_frame(&mut stream).await.expect("receive");
            let expected: Vec<u8> = message.bytes().rev().collect();
            assert_eq!(answer, expected, "message {i} came back wrong");
            round_trips.push(TimeHandle::current().now_instant() - started);
            tokio::time::sleep(Duration::from_millis(MESSAGE_GAP_MS)).await;
        }
        round_trips
    });

    // Clog the client in the middle of the exchange: its messages wait.
    on_connected.await.expect("the client connects");
    tokio::time::sleep(Duration::from_millis(50)).await;
    NetSim::current().clog_node(client_id);
    tokio::time::sleep(Duration::from_millis(clog_ms)).await;
    NetSim::current().unclog_node(client_id);

    let round_trips = exchange.await.expect("client task");
    assert_eq!(round_trips.len(), MESSAGES as usize);
    // The clog must be visible: the round trip in flight when it began waits
    // for most of it. A fault that does nothing would make this test prove
    // nothing.
    let slowest = round_trips.iter().max().expect("non-empty");
    assert!(
        *slowest >= Duration::from_millis(clog_ms / 2),
        "clogged for {clog_ms} ms, yet the slowest round trip took only {slowest:?}"
    );
}
