//! Runs the curl examples of `docs/native-api.md` against a live server:
//! every `sh` block, in order, each `curl` command checked against the
//! status on the `# expect: NNN` line above it. The documentation cannot
//! drift from the server without this failing.

mod support;

use lockwell_proto::native::{self, MintTokenResponse, parse_json};
use support::{ALICE, TestRequest, TestServer, send_raw};

const DOC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/native-api.md");

/// Buckets the examples assume exist.
const EXAMPLE_BUCKETS: [&str; 4] = ["reports", "billing", "live", "snapshots"];

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

async fn mint_token(server: &TestServer) -> String {
    let (id, secret) = ALICE;
    let body = format!(r#"{{"accessKeyId":"{id}","secretAccessKey":"{secret}"}}"#);
    let request = format!(
        "POST {} HTTP/1.1\r\nhost: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        native::TOKENS_PATH,
        server.addr,
        body.len()
    );
    let response = send_raw(server.addr, request.as_bytes(), false, false).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let minted: MintTokenResponse = parse_json(&response.body).expect("a token");
    minted.token
}

#[tokio::test]
async fn every_curl_example_in_the_native_api_doc_answers_as_documented() {
    let markdown = std::fs::read_to_string(DOC_PATH).expect("docs/native-api.md");
    let examples = examples(&markdown);
    assert!(examples.len() >= 10, "the doc lost its examples");
    let server = TestServer::start().await;
    let alice = server.client(ALICE);
    for bucket in EXAMPLE_BUCKETS {
        let created = alice
            .send(TestRequest::put(&format!("/{bucket}"), Vec::new()))
            .await;
        assert_eq!(created.status, 200, "{}", created.text());
    }
    let token = mint_token(&server).await;
    let (access_key, secret_key) = ALICE;
    for example in &examples {
        assert!(example.command.starts_with("curl "), "{example:?}");
        let output = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{} -o /dev/null -w '%{{http_code}}'",
                example.command
            ))
            .env("ENDPOINT", format!("http://{}", server.addr))
            .env("ACCESS_KEY", access_key)
            .env("SECRET_KEY", secret_key)
            .env("TOKEN", &token)
            .output()
            .await
            .expect("sh and curl run");
        let status = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            status.trim(),
            example.expected_status.to_string(),
            "{}\nstderr: {}",
            example.command,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    server.stop().await;
}
