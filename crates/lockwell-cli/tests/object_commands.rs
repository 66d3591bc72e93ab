//! `lockwell mb/put/get/head/cp/rm` against the real `lockwell serve`
//! binary, over both APIs: the conditional writes, idempotency keys and
//! checksums reach the server, the answers come back on stdout, and the
//! exit codes are the ones `--help` documents.

mod support;

use lockwell_client::ETag;
use support::{EXIT_NOT_FOUND, EXIT_OTHER, EXIT_PRECONDITION_FAILED, EXIT_USAGE, LOCKWELL, Server};

/// Both APIs, each with its own bucket so their objects never meet.
const APIS: [(&str, &str); 2] = [("s3", "via-s3"), ("native", "via-native")];

/// A server with the buckets of [`APIS`].
fn server() -> Server {
    let server = Server::start();
    for (_, bucket) in APIS {
        let made = server.run(&["mb", bucket]);
        assert_eq!(made.code(), 0, "{made}");
    }
    server
}

fn quoted_md5(body: &[u8]) -> String {
    ETag::of_content(body).to_string()
}

/// `lockwell put --api API BUCKET/KEY - EXTRA...` with `body` on stdin.
fn put(server: &Server, api: &str, object: &str, body: &[u8], extra: &[&str]) -> support::Run {
    let mut args = vec!["put", "--api", api, object, "-"];
    args.extend_from_slice(extra);
    server.run_with_stdin(&args, body)
}

fn get(server: &Server, api: &str, object: &str) -> support::Run {
    server.run(&["get", "--api", api, object])
}

#[test]
fn c1_c9_create_only_put_succeeds_once_then_exits_with_the_precondition_code() {
    let server = server();
    for (api, bucket) in APIS {
        let object = format!("{bucket}/reports/q1.txt");
        let created = put(&server, api, &object, b"v1", &["--if-none-match"]);
        assert_eq!(created.line(), quoted_md5(b"v1"), "{api}");
        let again = put(&server, api, &object, b"v2", &["--if-none-match"]);
        again.fails_with(EXIT_PRECONDITION_FAILED, "PreconditionFailed");
        // The failed condition as each API names it (C9): proof that
        // --api picked the API.
        let condition = match api {
            "native" => "(ifNoneMatch)",
            _ => "(If-None-Match)",
        };
        again.fails_with(EXIT_PRECONDITION_FAILED, condition);
        assert!(again.stdout().is_empty(), "{api}: {again}");
        assert_eq!(get(&server, api, &object).stdout(), "v1", "{api}: C4");
    }
}

#[test]
fn c2_if_match_put_replaces_the_current_etag_and_refuses_a_stale_one() {
    let server = server();
    for (api, bucket) in APIS {
        let object = format!("{bucket}/state.json");
        let first = put(&server, api, &object, b"v1", &[]).line();
        let second = put(&server, api, &object, b"v2", &["--if-match", &first]).line();
        assert_eq!(second, quoted_md5(b"v2"), "{api}");
        // The same ETag unquoted, as a script might pass it (E3).
        let unquoted = first.trim_matches('"');
        put(&server, api, &object, b"v3", &["--if-match", unquoted])
            .fails_with(EXIT_PRECONDITION_FAILED, "PreconditionFailed");
        assert_eq!(get(&server, api, &object).stdout(), "v2", "{api}");
        // Overwrite-only on an absent key is 404 (C2).
        put(
            &server,
            api,
            &format!("{bucket}/absent"),
            b"v",
            &["--if-match", &second],
        )
        .fails_with(EXIT_NOT_FOUND, "NoSuchKey");
    }
}

#[test]
fn i1_idempotent_put_retried_with_the_same_key_returns_the_first_etag() {
    let server = server();
    for (api, bucket) in APIS {
        let object = format!("{bucket}/invoice.json");
        // Native puts get a sha256 unless --checksum names one (I4).
        let keyed = ["--idempotency-key", "invoice-1"];
        let first = put(&server, api, &object, b"payload", &keyed).line();
        assert_eq!(first, quoted_md5(b"payload"), "{api}");
        let overwritten = put(&server, api, &object, b"other", &[]).line();
        let retried = put(&server, api, &object, b"payload", &keyed).line();
        assert_eq!(retried, first, "{api}: the retry replays the first answer");
        assert_eq!(
            get(&server, api, &object).stdout(),
            "other",
            "{api}: the retry wrote nothing ({overwritten} stays)"
        );
        put(&server, api, &object, b"tampered", &keyed)
            .fails_with(EXIT_OTHER, "IdempotencyKeyMismatch");
    }
}

#[test]
fn k1_each_checksum_algorithm_is_accepted_with_an_idempotency_key_on_both_apis() {
    let server = server();
    for (api, bucket) in APIS {
        for algorithm in ["crc32", "crc32c", "crc64nvme", "sha1", "sha256"] {
            let object = format!("{bucket}/checked-{algorithm}");
            let keyed = [
                "--checksum",
                algorithm,
                "--idempotency-key",
                &format!("key-{algorithm}"),
            ];
            let etag = put(&server, api, &object, b"checked", &keyed).line();
            assert_eq!(etag, quoted_md5(b"checked"), "{api} {algorithm}");
        }
    }
    // S3 HEAD asks for the stored checksums (K4).
    let head = server.run(&["head", "via-s3/checked-crc32c"]);
    assert_eq!(head.code(), 0, "{head}");
    let crc32c = lockwell_core::checksum::digest(
        lockwell_core::checksum::ChecksumAlgorithm::Crc32c,
        b"checked",
    );
    assert!(
        head.stdout()
            .contains(&format!("checksum-crc32c\t{}\n", crc32c.to_base64())),
        "{head}"
    );
}

#[test]
fn c7_c8_cp_honours_source_and_destination_conditions() {
    let server = server();
    for (api, bucket) in APIS {
        let source = format!("{bucket}/live/state.json");
        let destination = format!("{bucket}/snapshots/latest.json");
        let source_etag = put(&server, api, &source, b"hello", &[]).line();
        let stale = quoted_md5(b"stale");
        let cp = |extra: &[&str]| {
            let mut args = vec!["cp", "--api", api, source.as_str(), destination.as_str()];
            args.extend_from_slice(extra);
            server.run(&args)
        };
        // (conditions, expected: Ok(etag) or the exit code), in order: each
        // row sees the previous rows' writes.
        let cases: [(&[&str], Result<&str, i32>); 6] = [
            (
                &["--source-if-match", &stale],
                Err(EXIT_PRECONDITION_FAILED),
            ),
            (
                &["--source-if-none-match", &source_etag],
                Err(EXIT_PRECONDITION_FAILED),
            ),
            (
                &["--source-if-match", &source_etag, "--if-none-match"],
                Ok(&source_etag),
            ),
            (&["--if-none-match"], Err(EXIT_PRECONDITION_FAILED)),
            (&["--if-match", &stale], Err(EXIT_PRECONDITION_FAILED)),
            (
                &["--if-match", &source_etag, "--source-if-none-match", &stale],
                Ok(&source_etag),
            ),
        ];
        for (conditions, expected) in cases {
            let run = cp(conditions);
            match expected {
                Ok(etag) => assert_eq!(run.line(), etag, "{api} {conditions:?}"),
                Err(code) => run.fails_with(code, "PreconditionFailed"),
            }
        }
        assert_eq!(get(&server, api, &destination).stdout(), "hello", "{api}");
    }
}

#[test]
fn c6a_rm_with_if_match_deletes_only_the_named_version() {
    let server = server();
    for (api, bucket) in APIS {
        let object = format!("{bucket}/doomed");
        let etag = put(&server, api, &object, b"v1", &[]).line();
        let stale = quoted_md5(b"stale");
        server
            .run(&["rm", "--api", api, &object, "--if-match", &stale])
            .fails_with(EXIT_PRECONDITION_FAILED, "PreconditionFailed");
        assert_eq!(get(&server, api, &object).stdout(), "v1", "{api}");
        let removed = server.run(&["rm", "--api", api, &object, "--if-match", &etag]);
        assert_eq!(
            (removed.code(), removed.stdout().as_str()),
            (0, ""),
            "{removed}"
        );
        get(&server, api, &object).fails_with(EXIT_NOT_FOUND, "NoSuchKey");
        server
            .run(&["rm", "--api", api, &object, "--if-match", &etag])
            .fails_with(EXIT_NOT_FOUND, "NoSuchKey");
        // Unconditional delete of an absent key succeeds, as S3's does.
        assert_eq!(server.run(&["rm", "--api", api, &object]).code(), 0);
    }
}

#[test]
fn get_to_a_file_and_to_stdout_round_trips_every_byte_value() {
    let server = server();
    let body: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let directory = tempfile::tempdir().unwrap();
    for (api, bucket) in APIS {
        let object = format!("{bucket}/binary.bin");
        let source = directory.path().join(format!("{api}-in.bin"));
        std::fs::write(&source, &body).unwrap();
        let etag = server
            .run(&["put", "--api", api, &object, source.to_str().unwrap()])
            .line();
        assert_eq!(etag, quoted_md5(&body), "{api}");
        let target = directory.path().join(format!("{api}-out.bin"));
        let fetched = server.run(&["get", "--api", api, &object, "-o", target.to_str().unwrap()]);
        assert_eq!(fetched.line(), etag, "{api}");
        assert_eq!(std::fs::read(&target).unwrap(), body, "{api}");
        let streamed = get(&server, api, &object);
        assert_eq!(streamed.code(), 0, "{streamed}");
        assert_eq!(streamed.0.stdout, body, "{api}");
        let head = server.run(&["head", "--api", api, &object]);
        assert_eq!(head.code(), 0, "{head}");
        let fields: Vec<(&str, &str)> = head
            .0
            .stdout
            .split(|byte| *byte == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| {
                let line = std::str::from_utf8(line).unwrap();
                line.split_once('\t').expect("name<TAB>value")
            })
            .collect();
        let mut names: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
        assert!(names.is_sorted(), "{head}");
        names.dedup();
        assert_eq!(names.len(), fields.len(), "{head}");
        assert!(fields.contains(&("etag", etag.as_str())), "{head}");
        assert!(fields.contains(&("content-length", "70000")), "{head}");
    }
}

#[test]
fn b1_bad_input_exits_with_the_usage_code_and_says_what_is_wrong() {
    let server = server();
    // (arguments, text the error must contain).
    let cases: [(&[&str], &str); 7] = [
        (&["put", "no-slash", "-"], "is not BUCKET/KEY"),
        (&["put", "Bad_Bucket/k", "-"], "bucket \"Bad_Bucket\""),
        (&["get", "via-s3/"], "key \"\""),
        (
            &["put", "via-s3/k", "-", "--checksum", "md4"],
            "unknown checksum \"md4\"",
        ),
        (&["put", "via-s3/k", "-", "--if-match", "W/\"x\""], "weak"),
        (
            &[
                "put",
                "via-s3/k",
                "-",
                "--if-match",
                "\"a\"",
                "--if-none-match",
            ],
            "cannot be used with",
        ),
        (
            &["put", "via-s3/k", "/nonexistent/file"],
            "opening /nonexistent/file",
        ),
    ];
    for (args, message) in cases {
        for api in ["s3", "native"] {
            let mut with_api = args.to_vec();
            with_api.extend(["--api", api]);
            server.run(&with_api).fails_with(EXIT_USAGE, message);
        }
    }
    // No credentials anywhere.
    let mut command = std::process::Command::new(LOCKWELL);
    command.args(["head", "via-s3/k", "--endpoint", &server.endpoint]);
    support::run(command, &[], &[]).fails_with(EXIT_USAGE, "no access key: pass --access-key");
}

#[test]
fn credentials_come_from_the_environment_serve_reads_or_the_aws_one() {
    let server = server();
    let environments = [
        [
            ("LOCKWELL_ACCESS_KEY", support::ACCESS_KEY),
            ("LOCKWELL_SECRET_KEY", support::SECRET_KEY),
        ],
        [
            ("AWS_ACCESS_KEY_ID", support::ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", support::SECRET_KEY),
        ],
    ];
    for env in environments {
        let mut command = std::process::Command::new(LOCKWELL);
        command.args([
            "put",
            "via-s3/from-env",
            "-",
            "--endpoint",
            &server.endpoint,
        ]);
        let run = support::run(command, &env, b"env");
        assert_eq!(run.line(), quoted_md5(b"env"), "{env:?}");
    }
}

#[test]
fn transport_failure_exits_1_with_the_cause() {
    // A port nothing listens on: bind one, note it, close it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let mut command = std::process::Command::new(LOCKWELL);
    command.args([
        "head",
        "bucket/key",
        "--endpoint",
        &endpoint,
        "--access-key",
        "a",
        "--secret-key",
        "s",
    ]);
    support::run(command, &[], &[]).fails_with(EXIT_OTHER, "transport error");
}

#[test]
fn help_documents_the_exit_codes() {
    for command in ["put", "get", "head", "cp", "rm", "mb"] {
        let mut help = std::process::Command::new(LOCKWELL);
        help.args([command, "--help"]);
        let run = support::run(help, &[], &[]);
        assert_eq!(run.code(), 0, "{run}");
        assert!(
            run.stdout()
                .contains("3  412 PreconditionFailed: a condition did not hold"),
            "{command}: {run}"
        );
    }
}
