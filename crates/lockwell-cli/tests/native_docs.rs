//! Runs the curl examples of `docs/native-api.md` against the real
//! `lockwell serve` binary: every `sh` block, in order, each `curl`
//! command checked against the status on the `# expect: NNN` line above
//! it. The documentation cannot drift from the server without this
//! failing. Needs `sh` and `curl`.

mod support;

use std::process::Command;

use lockwell_proto::native::{MintTokenResponse, TOKENS_PATH, parse_json};
use support::{ACCESS_KEY, SECRET_KEY, Server};

const DOC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/native-api.md");

/// Buckets the examples assume exist.
const EXAMPLE_BUCKETS: [&str; 4] = ["reports", "billing", "live", "snapshots"];

/// Fewer examples than this means the parser or the doc lost some.
const MIN_EXAMPLES: usize = 10;

/// One curl command of the documentation and the status it must answer.
#[derive(Debug, PartialEq, Eq)]
struct Example {
    command: String,
    expected_status: u16,
}

/// The examples of `markdown`'s `sh` blocks, continuation lines joined.
fn examples(markdown: &str) -> Vec<Example> {
    let mut examples = Vec::new();
    let mut in_sh_block = false;
    let mut expected_status = None;
    let mut command: Option<String> = None;
    for line in markdown.lines() {
        if !in_sh_block {
            in_sh_block = line.trim() == "```sh";
            continue;
        }
        if line.trim() == "```" {
            in_sh_block = false;
            continue;
        }
        if let Some(status) = line.strip_prefix("# expect: ") {
            expected_status = Some(status.trim().parse().expect("a status after # expect:"));
            continue;
        }
        let text = command.get_or_insert_with(String::new);
        text.push_str(line.trim_end().trim_end_matches('\\'));
        text.push(' ');
        if !line.trim_end().ends_with('\\') {
            examples.push(Example {
                command: command.take().expect("a command").trim().to_string(),
                expected_status: expected_status
                    .take()
                    .unwrap_or_else(|| panic!("no # expect: line before {line:?}")),
            });
        }
    }
    assert!(!in_sh_block, "an sh block is not closed");
    examples
}

#[test]
fn examples_are_read_with_their_expected_status() {
    let markdown = "text\n```sh\n# expect: 200\ncurl -X PUT a \\\n  -H 'x: y'\n# expect: 412\ncurl b\n```\n```json\n{}\n```\n";
    assert_eq!(
        examples(markdown),
        [
            Example {
                command: "curl -X PUT a    -H 'x: y'".to_string(),
                expected_status: 200
            },
            Example {
                command: "curl b".to_string(),
                expected_status: 412
            },
        ]
    );
}

/// Runs `script` with `sh -c` and the documentation's variables set.
fn shell(script: &str, env: &[(&str, &str)]) -> support::Run {
    let mut command = Command::new("sh");
    command.arg("-c").arg(script);
    support::run(command, env, &[])
}

/// A token for `$TOKEN`, minted with curl as a reader of the doc would.
fn mint_token(endpoint: &str) -> String {
    let body = format!(r#"{{"accessKeyId":"{ACCESS_KEY}","secretAccessKey":"{SECRET_KEY}"}}"#);
    let minted = shell(
        &format!("curl -sS -f -X POST '{endpoint}{TOKENS_PATH}' -d '{body}'"),
        &[],
    );
    assert_eq!(minted.code(), 0, "{minted}");
    let response: MintTokenResponse = parse_json(&minted.0.stdout).expect("a token");
    response.token
}

#[test]
fn every_curl_example_in_the_native_api_doc_answers_as_documented_by_lockwell_serve() {
    let markdown = std::fs::read_to_string(DOC_PATH).expect("docs/native-api.md");
    let examples = examples(&markdown);
    assert!(examples.len() >= MIN_EXAMPLES, "the doc lost its examples");
    let server = Server::start();
    for bucket in EXAMPLE_BUCKETS {
        let made = server.run(&["mb", bucket]);
        assert_eq!(made.code(), 0, "{made}");
    }
    let token = mint_token(&server.endpoint);
    let env = [
        ("ENDPOINT", server.endpoint.as_str()),
        ("ACCESS_KEY", ACCESS_KEY),
        ("SECRET_KEY", SECRET_KEY),
        ("TOKEN", token.as_str()),
    ];
    for example in &examples {
        assert!(example.command.starts_with("curl "), "{example:?}");
        let run = shell(
            &format!("{} -o /dev/null -w '%{{http_code}}'", example.command),
            &env,
        );
        assert_eq!(
            run.stdout().trim(),
            example.expected_status.to_string(),
            "{}\n{run}",
            example.command,
        );
    }
}
