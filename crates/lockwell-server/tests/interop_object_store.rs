//! Interop with the Rust `object_store` crate (Apache Arrow's), the S3
//! client of DataFusion, Delta-rs and friends: its `AmazonS3` store against
//! the server over loopback, path style, plain HTTP.
//!
//! `object_store` expresses conditional writes as `PutMode::Create`
//! (`If-None-Match: *`) and `PutMode::Update` (`If-Match: <etag>`), and maps
//! our answers to its own errors: 412 on a create is `AlreadyExists`, 412 on
//! an update (and the 404 of an update on an absent key) is `Precondition`.
//! These tests check that mapping end to end (SPEC C1, C2, C4, E1, E2) and
//! that the everyday calls (get, ranged get, list, delete) work.
//!
//! `object_store` brings its own HTTP stack (reqwest on real tokio), so
//! this runs in normal builds only, never under madsim.
#![cfg(not(madsim))]

mod support;

use std::sync::Arc;

use lockwell_core::ETag;
use object_store::aws::{AmazonS3, AmazonS3Builder, S3ConditionalPut};
use object_store::path::Path;
use object_store::{
    Error, ObjectStore, ObjectStoreExt, PutMode, PutPayload, PutResult, UpdateVersion,
};
use support::{ALICE, Client, REGION, TestRequest, TestServer};

/// Racers per round of the create race (C1), and rounds.
const CREATE_RACERS: usize = 16;
const CREATE_RACE_ROUNDS: usize = 8;

async fn create_bucket(client: &Client, bucket: &str) {
    let response = client
        .send(TestRequest::put(&format!("/{bucket}"), ""))
        .await;
    assert_eq!(response.status, 200, "create {bucket}: {}", response.text());
}

/// A server with one bucket of Alice's, and an `object_store` client on it.
async fn start(bucket: &str) -> (TestServer, AmazonS3) {
    let server = TestServer::start().await;
    create_bucket(&server.client(ALICE), bucket).await;
    let (access_key_id, secret) = ALICE;
    let store = AmazonS3Builder::new()
        .with_endpoint(format!("http://{}", server.addr))
        .with_allow_http(true)
        .with_virtual_hosted_style_request(false)
        .with_access_key_id(access_key_id)
        .with_secret_access_key(secret)
        .with_region(REGION)
        .with_bucket_name(bucket)
        // The default, stated because every test here depends on it.
        .with_conditional_put(S3ConditionalPut::ETagMatch)
        .build()
        .expect("an S3 store for the test server");
    (server, store)
}

/// E1: a single-part ETag is the quoted hex MD5 of the body.
fn md5_etag(body: &[u8]) -> String {
    ETag::of_content(body).to_string()
}

async fn put(
    store: &AmazonS3,
    path: &Path,
    body: &[u8],
    mode: PutMode,
) -> object_store::Result<PutResult> {
    store
        .put_opts(path, PutPayload::from(body.to_vec()), mode.into())
        .await
}

async fn content(store: &AmazonS3, path: &Path) -> Vec<u8> {
    let result = store.get(path).await.expect("get");
    result.bytes().await.expect("body").to_vec()
}

fn update(e_tag: Option<String>) -> PutMode {
    PutMode::Update(UpdateVersion {
        e_tag,
        version: None,
    })
}

#[tokio::test]
async fn c1_create_twice_second_is_already_exists_and_changes_nothing() {
    let (server, store) = start("objects").await;
    let path = Path::from("docs/report.txt");

    let created = put(&store, &path, b"first", PutMode::Create)
        .await
        .expect("the first create wins");
    assert_eq!(created.e_tag, Some(md5_etag(b"first")), "E1/E2");

    let again = put(&store, &path, b"second", PutMode::Create).await;
    assert!(
        matches!(again, Err(Error::AlreadyExists { .. })),
        "C1: {again:?}"
    );
    assert_eq!(content(&store, &path).await, b"first", "C4");
    server.stop().await;
}

#[tokio::test]
async fn c2_update_with_the_head_etag_succeeds_and_returns_the_new_etag() {
    let (server, store) = start("objects").await;
    let path = Path::from("counter");
    put(&store, &path, b"1", PutMode::Create)
        .await
        .expect("create");

    let head = store.head(&path).await.expect("head");
    assert_eq!(
        head.e_tag,
        Some(md5_etag(b"1")),
        "E2: HEAD returns the ETag"
    );
    assert_eq!(head.size, 1);

    let updated = put(&store, &path, b"2", update(head.e_tag))
        .await
        .expect("C2: the current ETag admits the write");
    assert_eq!(updated.e_tag, Some(md5_etag(b"2")), "E2: the new ETag");
    assert_eq!(store.head(&path).await.expect("head").e_tag, updated.e_tag);
    assert_eq!(content(&store, &path).await, b"2");
    server.stop().await;
}

#[tokio::test]
async fn c2_update_with_a_stale_or_absent_etag_is_precondition() {
    let (server, store) = start("objects").await;
    let path = Path::from("counter");
    let first = put(&store, &path, b"1", PutMode::Create)
        .await
        .expect("create");
    put(&store, &path, b"2", update(first.e_tag.clone()))
        .await
        .expect("update from the first version");

    // Table: (what, key, ETag held by the writer).
    let cases = [
        ("stale ETag", path.clone(), first.e_tag.clone()),
        ("never-issued ETag", path.clone(), Some(md5_etag(b"nope"))),
        // AWS answers 404 on an absent key (C2); object_store turns it into
        // Precondition, as for a mismatch.
        ("absent key", Path::from("absent"), first.e_tag),
    ];
    for (what, key, e_tag) in cases {
        let outcome = put(&store, &key, b"3", update(e_tag)).await;
        assert!(
            matches!(outcome, Err(Error::Precondition { .. })),
            "{what}: {outcome:?}"
        );
    }
    assert_eq!(content(&store, &path).await, b"2", "C4: nothing changed");
    let absent = store.head(&Path::from("absent")).await;
    assert!(
        matches!(absent, Err(Error::NotFound { .. })),
        "C4: {absent:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn c1_racing_creators_have_exactly_one_winner() {
    let (server, store) = start("race").await;
    let store = Arc::new(store);
    let racer_bodies: Vec<Vec<u8>> = (0..CREATE_RACERS)
        .map(|racer| format!("racer-{racer}").into_bytes())
        .collect();
    for round in 0..CREATE_RACE_ROUNDS {
        let path = Path::from(format!("round-{round}/lock"));
        let racers: Vec<_> = racer_bodies
            .iter()
            .map(|body| {
                let (store, path, body) = (Arc::clone(&store), path.clone(), body.clone());
                tokio::spawn(async move {
                    let outcome = put(&store, &path, &body, PutMode::Create).await;
                    (body, outcome)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for racer in racers {
            let (body, outcome) = racer.await.expect("racer task");
            match outcome {
                Ok(result) => winners.push((body, result)),
                Err(Error::AlreadyExists { .. }) => {}
                Err(other) => panic!("round {round}: a racer failed otherwise: {other}"),
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "C1: round {round} had {} winners",
            winners.len()
        );
        let (winning_body, result) = &winners[0];
        assert_eq!(result.e_tag, Some(md5_etag(winning_body)));
        assert_eq!(
            &content(&store, &path).await,
            winning_body,
            "the winner's bytes"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn e1_get_ranged_get_list_and_delete_round_trip() {
    let (server, store) = start("listing").await;
    let objects: [(&str, &[u8]); 4] = [
        ("a/one.txt", b"one"),
        ("a/two.txt", b"two two"),
        ("a/deeper/three.txt", b"three"),
        ("b.txt", b"bee"),
    ];
    for (key, body) in objects {
        store
            .put(&Path::from(key), PutPayload::from(body.to_vec()))
            .await
            .expect("put");
    }
    for (key, body) in objects {
        assert_eq!(content(&store, &Path::from(key)).await, body, "{key}");
    }
    let range = store
        .get_range(&Path::from("a/two.txt"), 2..5)
        .await
        .expect("ranged get");
    assert_eq!(&range[..], b"o t");

    let listing = store
        .list_with_delimiter(Some(&Path::from("a")))
        .await
        .expect("list a/");
    let listed: Vec<(String, u64, Option<String>)> = listing
        .objects
        .iter()
        .map(|meta| (meta.location.to_string(), meta.size, meta.e_tag.clone()))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("a/one.txt".to_string(), 3, Some(md5_etag(b"one"))),
            ("a/two.txt".to_string(), 7, Some(md5_etag(b"two two"))),
        ]
    );
    let prefixes: Vec<String> = listing
        .common_prefixes
        .iter()
        .map(Path::to_string)
        .collect();
    assert_eq!(prefixes, vec!["a/deeper".to_string()]);

    let root = store.list_with_delimiter(None).await.expect("list root");
    let root_objects: Vec<String> = root
        .objects
        .iter()
        .map(|meta| meta.location.to_string())
        .collect();
    assert_eq!(root_objects, vec!["b.txt".to_string()]);
    let root_prefixes: Vec<String> = root.common_prefixes.iter().map(Path::to_string).collect();
    assert_eq!(root_prefixes, vec!["a".to_string()]);

    store
        .delete(&Path::from("a/one.txt"))
        .await
        .expect("delete");
    let gone = store.get(&Path::from("a/one.txt")).await;
    assert!(matches!(gone, Err(Error::NotFound { .. })), "{gone:?}");
    let after = store
        .list_with_delimiter(Some(&Path::from("a")))
        .await
        .expect("list a/ after delete");
    let remaining: Vec<String> = after
        .objects
        .iter()
        .map(|meta| meta.location.to_string())
        .collect();
    assert_eq!(remaining, vec!["a/two.txt".to_string()]);
    server.stop().await;
}
