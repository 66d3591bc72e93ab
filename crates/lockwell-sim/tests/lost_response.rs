//! The lost-response BUGGIFY point drops the connection after the commit:
//! the S3 client sees its connection end at once (a transport error, the
//! request maybe sent), not a timeout, and does not send its un-keyed put
//! again (R4); the write took effect all the same (E4).
#![cfg(madsim)]

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use lockwell_client::runtime::SimRandom;
use lockwell_client::s3::types::{GetOptions, PutOptions};
use lockwell_client::{ClientRuntime, Error, RequestSent, S3Client, S3Config, TcpConnector};
use lockwell_server::buggify;
use madsim::runtime::Handle;
use madsim::time::TimeHandle;

use support::{ACCESS_KEY, CLIENT_IP, REGION, SECRET_KEY, SERVER_ADDR, run_memory_server};

/// Far longer than the round trip: an answer that takes this long is a
/// timeout, not a dropped connection.
const ATTEMPT_TIMEOUT_MS: u64 = 30_000;

fn client() -> S3Client<TcpConnector> {
    let mut config = S3Config::new(
        format!("http://{SERVER_ADDR}"),
        REGION,
        ACCESS_KEY,
        SECRET_KEY,
    );
    config.transport.attempt_timeout_ms = ATTEMPT_TIMEOUT_MS;
    S3Client::with_connector(config, TcpConnector, ClientRuntime::new(SimRandom))
        .expect("a valid configuration")
}

#[madsim::test]
async fn a_lost_response_drops_the_connection_right_after_the_commit() {
    let handle = Handle::current();
    let server_addr: SocketAddr = SERVER_ADDR.parse().expect("address");
    handle
        .create_node()
        .name("server")
        .ip(server_addr.ip())
        .init(move || run_memory_server(server_addr))
        .build();
    let client_node = handle
        .create_node()
        .name("client")
        .ip(CLIENT_IP.parse().expect("ip"))
        .build();
    client_node
        .spawn(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            let client = client();
            client.create_bucket("bkt").await.expect("the bucket");

            buggify::configure(&BTreeMap::from([(
                buggify::LOST_RESPONSE_AFTER_COMMIT,
                1.0,
            )]));
            let started = TimeHandle::current().now_instant();
            let lost = client
                .put_object("bkt", "key", b"committed".to_vec(), &PutOptions::default())
                .await
                .expect_err("the response is dropped");
            let waited = TimeHandle::current().now_instant() - started;
            let report = buggify::take_report();
            buggify::configure(&BTreeMap::new());

            assert!(
                matches!(
                    lost,
                    Error::Transport {
                        sent: RequestSent::Maybe,
                        ..
                    }
                ),
                "a dropped connection, not {lost:?}"
            );
            assert!(
                waited < Duration::from_millis(ATTEMPT_TIMEOUT_MS),
                "the client learnt at once, not after its timeout: {waited:?}"
            );
            assert_eq!(
                report[buggify::LOST_RESPONSE_AFTER_COMMIT].fired,
                1,
                "one attempt: an un-keyed put is not sent again (R4)"
            );
            let got = client
                .get_object("bkt", "key", &GetOptions::default())
                .await
                .expect("the write took effect");
            assert_eq!(&got.body[..], b"committed");
        })
        .await
        .expect("the client task runs to its end");
}
