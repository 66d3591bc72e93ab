//! `lockwell check` against the real `lockwell serve` binary: every
//! shipped workload runs over real sockets and its history passes the
//! simulator's checks; an endpoint that cannot be checked is refused with
//! a message that says why, never a panic.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use lockwell_sim::history::{History, Outcome};
use support::{ACCESS_KEY, LOCKWELL, Run, SECRET_KEY, Server};

/// `lockwell check --help`'s exit codes.
const EXIT_VIOLATIONS: i32 = 1;
const EXIT_CANNOT_CHECK: i32 = 3;

/// The shipped workloads, as the simulator's campaigns run them.
const WORKLOADS: [&str; 6] = [
    "racing-creators",
    "cas-counter",
    "idempotent-retries",
    "copy-snapshots",
    "multipart-conditional",
    "mixed-with-deletes",
];

fn workloads_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workloads")
}

/// `lockwell check` against `endpoint` with the test credentials and
/// `extra` arguments.
fn check(endpoint: &str, history: &Path, extra: &[&str]) -> Run {
    let mut command = Command::new(LOCKWELL);
    command
        .args(["check", "--endpoint", endpoint, "--workloads-dir"])
        .arg(workloads_dir())
        .arg("--history-out")
        .arg(history)
        .args([
            "--access-key",
            ACCESS_KEY,
            "--secret-key",
            SECRET_KEY,
            "--quiet",
        ])
        .args(extra);
    support::run(command, &[], &[])
}

/// `lockwell check-history` of `history` with `extra` arguments.
fn check_history(history: &Path, extra: &[&str]) -> Run {
    let mut command = Command::new(LOCKWELL);
    command
        .arg("check-history")
        .arg(history)
        .arg("--quiet")
        .args(extra);
    support::run(command, &[], &[])
}

fn read_history(path: &Path) -> History {
    let file = std::fs::File::open(path).expect("the history was written");
    History::read_jsonl(std::io::BufReader::new(file)).expect("the history reads back")
}

#[test]
fn every_workload_passes_against_lockwell_serve_over_both_apis() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    for workload in WORKLOADS {
        let history_path = dir.path().join(format!("{workload}.jsonl"));
        let run = check(
            &server.endpoint,
            &history_path,
            &["--workload", workload, "--seed", "7", "--api", "mixed"],
        );
        assert_eq!(run.code(), 0, "{workload}: {run}");
        let verdict = run.stdout();
        assert!(verdict.starts_with("PASS workload="), "{workload}: {run}");
        assert!(verdict.contains(" violations=0"), "{workload}: {run}");
        assert!(
            verdict.contains(&format!("history: {}", history_path.display())),
            "{workload}: {run}"
        );
        let history = read_history(&history_path);
        assert_eq!(history.header.workload, workload);
        assert_eq!(history.header.seed, 7);
        assert!(
            history
                .entries
                .iter()
                .any(|entry| matches!(entry.outcome, Outcome::Ok { .. })),
            "{workload}: no request succeeded"
        );
        let final_reader = history
            .header
            .final_reader
            .expect("a live run names its reader");
        let final_reads = history
            .entries
            .iter()
            .filter(|entry| entry.process == final_reader)
            .count();
        assert!(final_reads > 0, "{workload}: no final read");
        let recheck = check_history(&history_path, &[]);
        assert_eq!(recheck.code(), 0, "{workload}: {recheck}");
        assert!(
            recheck.stdout().starts_with(&format!(
                "PASS history={} workload={workload} seed=7 requests={} final_reads={final_reads} \
                 violations=0",
                history_path.display(),
                history.entries.len() - final_reads
            )),
            "{workload}: {recheck}"
        );
        assert!(
            recheck
                .stdout()
                .contains(": the rule checks but the create rounds and counters"),
            "{workload}: {recheck}"
        );
    }
}

#[test]
fn a_timed_run_goes_past_the_workloads_ops_and_stops_at_its_duration() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let history_path = dir.path().join("racing.jsonl");
    let summary_path = dir.path().join("racing.json");
    let run = check(
        &server.endpoint,
        &history_path,
        &[
            "--workload",
            "racing-creators",
            "--duration",
            "3s",
            "--clients",
            "3",
            "--summary-out",
            summary_path.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code(), 0, "{run}");
    let history = read_history(&history_path);
    let clients: std::collections::BTreeSet<u32> =
        history.entries.iter().map(|entry| entry.process).collect();
    // Three clients and the checker's final reads (process 3).
    assert_eq!(clients, [0, 1, 2, 3].into());
    let last_ns = history.entries.last().unwrap().complete_ns;
    assert!(last_ns >= 3_000_000_000, "stopped at {last_ns} ns");
    let max_op = history.entries.iter().map(|entry| entry.op_index).max();
    // racing-creators' spec has 50 ops per client, one request each:
    // three seconds run more, even on a busy debug build.
    assert!(max_op >= Some(50), "at most op {max_op:?}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary_path).unwrap()).unwrap();
    assert_eq!(summary["verdict"], "PASS");
    assert_eq!(summary["clients"], 3);
    assert_eq!(summary["final_reads"], 50);
}

#[test]
fn an_endpoint_that_cannot_be_checked_is_refused_with_the_reason() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("h.jsonl");
    // A port nothing listens on: bind one, then free it.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let unreachable = check(&closed, &history, &["--workload", "cas-counter"]);
    unreachable.fails_with(EXIT_CANNOT_CHECK, "cannot reach");

    let mut command = Command::new(LOCKWELL);
    command
        .args(["check", "--endpoint", &server.endpoint, "--workloads-dir"])
        .arg(workloads_dir())
        .args(["--workload", "cas-counter", "--access-key", ACCESS_KEY])
        .args(["--secret-key", "not-the-secret"]);
    support::run(command, &[], &[]).fails_with(EXIT_CANNOT_CHECK, "refused the credentials");

    let unknown = check(
        &server.endpoint,
        &history,
        &["--workload", "no-such-workload"],
    );
    unknown.fails_with(EXIT_CANNOT_CHECK, "no-such-workload");
    assert!(!history.exists(), "nothing was recorded");
}

#[test]
fn a_given_bucket_must_not_hold_the_workloads_keys() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("h.jsonl");
    let args = [
        "--workload",
        "cas-counter",
        "--bucket",
        "reused",
        "--seed",
        "1",
    ];
    assert_eq!(check(&server.endpoint, &history, &args).code(), 0);
    // The counter key now exists: a second run would start from its
    // count, which the checks cannot tell from a lost update.
    check(&server.endpoint, &history, &args).fails_with(EXIT_CANNOT_CHECK, "already holds");
}

#[test]
fn a_store_that_forgets_acknowledged_writes_fails_the_check() {
    let store = ForgetfulStore::start();
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("h.jsonl");
    let run = check(
        &store.endpoint,
        &history,
        &["--workload", "cas-counter", "--seed", "3", "--clients", "2"],
    );
    assert_eq!(run.code(), EXIT_VIOLATIONS, "{run}");
    let verdict = run.stdout();
    assert!(verdict.starts_with("FAIL workload=cas-counter"), "{run}");
    // Every increment was acknowledged, and the final read finds nothing.
    assert!(verdict.contains("violates C2:"), "{run}");
    assert!(verdict.contains("violates E4:"), "{run}");
    assert!(!run.stderr().contains("panicked"), "{run}");
    assert!(read_history(&history).entries.len() > 2);

    // The saved history fails again, with the window that shows it.
    let recheck = check_history(&history, &[]);
    assert_eq!(recheck.code(), EXIT_VIOLATIONS, "{recheck}");
    let verdict = recheck.stdout();
    assert!(verdict.starts_with("FAIL history="), "{recheck}");
    // The final read finds nothing where increments were acknowledged:
    // the rule checks see it from the header's final reader.
    assert!(verdict.contains("violates E4:"), "{recheck}");
    assert!(verdict.contains("not linearizable on k"), "{recheck}");
    assert!(
        verdict
            .lines()
            .any(|line| line.trim_start().starts_with('*')),
        "no row marked as unplaceable: {recheck}"
    );
}

/// Two create-only puts of one key, both acknowledged: C1 allows one.
const TWO_CREATE_WINNERS: &str = r#"{"format":"lockwell-history","version":3,"workload":"by-hand","seed":1}
{"id":0,"process":0,"op_index":0,"api":"s3","invoke_ns":1000,"complete_ns":2000,"request":{"type":"put","key":"k","value":"a","condition":{"type":"absent"},"idempotency_key":null},"outcome":{"type":"ok","result":{"type":"written","etag":"\"0cc175b9c0f1b6a831c399e269772661\""}}}
{"id":1,"process":1,"op_index":0,"api":"s3","invoke_ns":3000,"complete_ns":4000,"request":{"type":"put","key":"k","value":"b","condition":{"type":"absent"},"idempotency_key":null},"outcome":{"type":"ok","result":{"type":"written","etag":"\"92eb5ffee6ae2fec3ad71c777531578f\""}}}
"#;

#[test]
fn a_saved_history_with_two_create_winners_fails_with_c1_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("two-winners.jsonl");
    std::fs::write(&history, TWO_CREATE_WINNERS).unwrap();
    let summary = dir.path().join("summary.json");
    let run = check_history(&history, &["--summary-out", summary.to_str().unwrap()]);
    assert_eq!(run.code(), EXIT_VIOLATIONS, "{run}");
    let verdict = run.stdout();
    assert!(
        verdict.starts_with(&format!(
            "FAIL history={} workload=by-hand seed=1 requests=2 final_reads=0 violations=1",
            history.display()
        )),
        "{run}"
    );
    assert!(verdict.contains("  outcomes: ok written: 2\n"), "{run}");
    assert!(
        verdict.contains("R3 not judged (0 retries, fewer than 10)"),
        "{run}"
    );
    assert!(
        verdict.contains("violates C1: not linearizable on k:"),
        "{run}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(summary["format"], "lockwell-history-check");
    assert_eq!(summary["verdict"], "FAIL");
    assert_eq!(summary["rules"]["C1"], 1);
    assert_eq!(summary["findings"][0]["entries"], serde_json::json!([0, 1]));

    // Past its bound, the search says so instead of passing.
    let bounded = check_history(&history, &["--max-configurations", "0"]);
    assert_eq!(bounded.code(), EXIT_VIOLATIONS, "{bounded}");
    assert!(
        bounded.stdout().contains("violates unchecked:"),
        "{bounded}"
    );
}

#[test]
fn a_saved_history_whose_retries_never_back_off_fails_r3() {
    let header = r#"{"format":"lockwell-history","version":3,"workload":"by-hand","seed":1}"#;
    let reads = |gap_ns: u64| -> String {
        let mut text = format!("{header}\n");
        for id in 0..12 {
            let invoke_ns = id * 100_000_000;
            text.push_str(&format!(
                r#"{{"id":{id},"process":0,"op_index":{id},"api":"s3","invoke_ns":{invoke_ns},"complete_ns":{},"attempts":2,"retry_gaps_ns":[{gap_ns}],"request":{{"type":"get","key":"k"}},"outcome":{{"type":"ok","result":{{"type":"absent"}}}}}}"#,
                invoke_ns + 50_000_000
            ));
            text.push('\n');
        }
        text
    };
    let dir = tempfile::tempdir().unwrap();
    let storm = dir.path().join("storm.jsonl");
    std::fs::write(&storm, reads(0)).unwrap();
    let run = check_history(&storm, &[]);
    assert_eq!(run.code(), EXIT_VIOLATIONS, "{run}");
    assert!(
        run.stdout()
            .contains("violates R3: 12 of 12 retries started within 1.5 ms"),
        "{run}"
    );

    let backed_off = dir.path().join("backed-off.jsonl");
    std::fs::write(&backed_off, reads(20_000_000)).unwrap();
    let run = check_history(&backed_off, &[]);
    assert_eq!(run.code(), 0, "{run}");
}

#[test]
fn a_file_that_is_not_a_history_is_refused_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.jsonl");
    let run = check_history(&missing, &[]);
    assert_eq!(run.code(), EXIT_CANNOT_CHECK, "{run}");
    assert!(run.stderr().contains("opening "), "{run}");

    let cases = [
        ("empty", "", "no header line"),
        (
            "version-1",
            r#"{"format":"lockwell-history","version":1,"workload":"w","seed":1}"#,
            "line 1",
        ),
        (
            "garbled-entry",
            "{\"format\":\"lockwell-history\",\"version\":2,\"workload\":\"w\",\"seed\":1}\n{\"id\":0,",
            "line 2",
        ),
    ];
    for (name, text, reason) in cases {
        let path = dir.path().join(format!("{name}.jsonl"));
        std::fs::write(&path, text).unwrap();
        let run = check_history(&path, &[]);
        assert_eq!(run.code(), EXIT_CANNOT_CHECK, "{name}: {run}");
        let stderr = run.stderr();
        assert!(
            stderr.starts_with("lockwell check-history: reading "),
            "{name}: {run}"
        );
        assert!(stderr.contains(reason), "{name}: {run}");
        assert!(!stderr.contains("panicked"), "{name}: {run}");
        assert!(run.stdout().is_empty(), "{name}: {run}");
    }
}

#[test]
fn the_native_api_is_refused_before_the_run_where_the_endpoint_has_none() {
    let store = ForgetfulStore::start();
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("h.jsonl");
    let run = check(
        &store.endpoint,
        &history,
        &["--workload", "cas-counter", "--api", "native"],
    );
    run.fails_with(EXIT_CANNOT_CHECK, "use --api s3");
    assert!(!history.exists(), "nothing was recorded");
}

/// An S3 endpoint that acknowledges every write and keeps none: PUTs
/// answer 200 with the body's ETag, GETs 404, anything else (the native
/// API's routes) 501. On a thread per connection; the listener lives as
/// long as the test process.
struct ForgetfulStore {
    endpoint: String,
}

impl ForgetfulStore {
    // A test's stand-in server, outside any simulation.
    #[allow(clippy::disallowed_methods)]
    fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || Self::serve(stream));
            }
        });
        Self { endpoint }
    }

    fn serve(stream: std::net::TcpStream) {
        use std::io::{BufRead as _, Read as _, Write as _};
        let mut writer = stream.try_clone().unwrap();
        let mut reader = std::io::BufReader::new(stream);
        loop {
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                return;
            }
            let mut content_len = 0;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 {
                    return;
                }
                if header == "\r\n" {
                    break;
                }
                if let Some((name, value)) = header.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    content_len = value.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; content_len];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            let mut parts = request_line.split_whitespace();
            let method = parts.next().unwrap_or_default();
            let path = parts.next().unwrap_or_default();
            let response = match method {
                _ if path.starts_with("/_native/") => {
                    "HTTP/1.1 501 Not Implemented\r\ncontent-length: 0\r\n\r\n".to_owned()
                }
                "PUT" => format!(
                    "HTTP/1.1 200 OK\r\netag: {}\r\ncontent-length: 0\r\n\r\n",
                    lockwell_client::ETag::of_content(&body)
                ),
                "GET" => {
                    let error = "<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>";
                    format!(
                        "HTTP/1.1 404 Not Found\r\ncontent-type: application/xml\r\n\
                         content-length: {}\r\n\r\n{error}",
                        error.len()
                    )
                }
                _ => "HTTP/1.1 501 Not Implemented\r\ncontent-length: 0\r\n\r\n".to_owned(),
            };
            if writer.write_all(response.as_bytes()).is_err() {
                return;
            }
        }
    }
}
