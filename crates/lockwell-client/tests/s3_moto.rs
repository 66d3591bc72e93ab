//! The S3 client against moto's S3 server, an implementation that is not
//! ours: proof that the client's SigV4 signing and XML handling are right,
//! not merely consistent with lockwell-server.
//!
//! Ignored by default (they need a running moto): `scripts/client-vs-moto.sh`
//! starts `moto_server`, sets `LOCKWELL_MOTO_ENDPOINT` (and, for its second
//! pass with IAM signature checks on, `LOCKWELL_MOTO_ACCESS_KEY` and
//! `LOCKWELL_MOTO_SECRET_KEY`) and runs them with `--ignored`.

// Real loopback sockets and an in-process server: the simulator has its
// own test (`sim.rs`).
#![cfg(not(madsim))]

mod support;

use lockwell_client::{S3Client, S3Config, SeededRandom};
use support::conformance;

fn moto_client() -> S3Client {
    let endpoint = std::env::var("LOCKWELL_MOTO_ENDPOINT")
        .expect("LOCKWELL_MOTO_ENDPOINT names the moto server (scripts/client-vs-moto.sh sets it)");
    let access_key =
        std::env::var("LOCKWELL_MOTO_ACCESS_KEY").unwrap_or_else(|_| "moto-access-key".into());
    let secret_key =
        std::env::var("LOCKWELL_MOTO_SECRET_KEY").unwrap_or_else(|_| "moto-secret-key".into());
    let config = S3Config::new(endpoint, support::REGION, access_key, secret_key);
    S3Client::new(config, SeededRandom::new(support::TEST_SEED)).expect("valid config")
}

#[tokio::test]
#[ignore = "needs a moto server: scripts/client-vs-moto.sh"]
async fn moto_buckets() {
    conformance::buckets(&moto_client(), "lockwell-client-buckets").await;
}

#[tokio::test]
#[ignore = "needs a moto server: scripts/client-vs-moto.sh"]
async fn moto_objects_round_trip() {
    conformance::objects_round_trip(&moto_client(), "lockwell-client-objects").await;
}

#[tokio::test]
#[ignore = "needs a moto server: scripts/client-vs-moto.sh"]
async fn moto_conditional_puts() {
    conformance::conditional_puts(&moto_client(), "lockwell-client-conditional").await;
}

#[tokio::test]
#[ignore = "needs a moto server: scripts/client-vs-moto.sh"]
async fn moto_listing() {
    conformance::listing(&moto_client(), "lockwell-client-listing").await;
}

#[tokio::test]
#[ignore = "needs a moto server: scripts/client-vs-moto.sh"]
async fn moto_copies() {
    conformance::copies(&moto_client(), "lockwell-client-copies").await;
}

#[tokio::test]
#[ignore = "needs a moto server: scripts/client-vs-moto.sh"]
async fn moto_deletes() {
    conformance::deletes(&moto_client(), "lockwell-client-deletes").await;
}

#[tokio::test]
#[ignore = "needs a moto server: scripts/client-vs-moto.sh"]
async fn moto_multipart() {
    conformance::multipart(&moto_client(), "lockwell-client-multipart").await;
}

#[tokio::test]
#[ignore = "needs a moto server: scripts/client-vs-moto.sh"]
async fn moto_streaming_put() {
    conformance::streaming_put(&moto_client(), "lockwell-client-streaming").await;
}

/// Only meaningful with moto's IAM authentication on (the script's second
/// pass): a signature made with the wrong secret is refused, so the passing
/// scenarios of that pass really had their signatures checked.
#[tokio::test]
#[ignore = "needs a moto server with IAM authentication: scripts/client-vs-moto.sh"]
async fn moto_iam_refuses_a_wrong_secret() {
    let endpoint = std::env::var("LOCKWELL_MOTO_ENDPOINT").expect("LOCKWELL_MOTO_ENDPOINT");
    let access_key = std::env::var("LOCKWELL_MOTO_ACCESS_KEY").expect("LOCKWELL_MOTO_ACCESS_KEY");
    let config = S3Config::new(endpoint, support::REGION, access_key, "not-the-secret");
    let client = S3Client::new(config, SeededRandom::new(support::TEST_SEED)).unwrap();
    let error = client.list_buckets().await.unwrap_err();
    assert!(
        matches!(error, lockwell_client::Error::AccessDenied(_)),
        "{error:?}"
    );
    assert_eq!(error.code(), Some("SignatureDoesNotMatch"));
}
