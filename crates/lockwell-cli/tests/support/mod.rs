//! Shared by the CLI's integration tests: the real `lockwell serve` binary
//! on a free port over the memory backend, and a runner for the other
//! `lockwell` commands pointed at it.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of the support module"
)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, ChildStdout, Command, Output, Stdio};

/// The binary under test, built by cargo for the integration tests.
pub const LOCKWELL: &str = env!("CARGO_BIN_EXE_lockwell");

pub const ACCESS_KEY: &str = "AKCLITEST";
pub const SECRET_KEY: &str = "cli-test-secret";

/// Environment variables a command may read; cleared for every command a
/// test runs, so the developer's own settings never leak in.
const CLEARED_ENV: [&str; 5] = [
    "LOCKWELL_ENDPOINT",
    "LOCKWELL_ACCESS_KEY",
    "LOCKWELL_SECRET_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
];

/// The exit codes `lockwell put --help` documents.
pub const EXIT_OTHER: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_PRECONDITION_FAILED: i32 = 3;
pub const EXIT_NOT_FOUND: i32 = 4;

/// `lockwell serve --memory` on 127.0.0.1:0, killed on drop.
pub struct Server {
    child: Child,
    /// Kept open: the server writes its connection help after the first
    /// line, and a closed pipe would fail that write.
    _stdout: BufReader<ChildStdout>,
    pub endpoint: String,
}

impl Server {
    pub fn start() -> Self {
        let mut command = Command::new(LOCKWELL);
        command
            .args(["serve", "--memory", "--listen", "127.0.0.1:0"])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for name in CLEARED_ENV {
            command.env_remove(name);
        }
        let mut child = command.spawn().expect("lockwell serve starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut first_line = String::new();
        stdout
            .read_line(&mut first_line)
            .expect("lockwell serve prints its address");
        let endpoint = first_line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first_line:?}"))
            .to_string();
        Self {
            child,
            _stdout: stdout,
            endpoint,
        }
    }

    /// `lockwell ARGS --endpoint ... --access-key ... --secret-key ...`.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, &[])
    }

    /// As [`Server::run`], with `stdin` on the command's standard input.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &[u8]) -> Run {
        let mut command = Command::new(LOCKWELL);
        command.args(args).args([
            "--endpoint",
            &self.endpoint,
            "--access-key",
            ACCESS_KEY,
            "--secret-key",
            SECRET_KEY,
        ]);
        run(command, &[], stdin)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `command` with the test environment cleared but for `env`, and
/// `stdin` piped in.
pub fn run(mut command: Command, env: &[(&str, &str)], stdin: &[u8]) -> Run {
    for name in CLEARED_ENV {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lockwell runs");
    let mut input = child.stdin.take().expect("piped stdin");
    input.write_all(stdin).expect("stdin written");
    drop(input);
    Run(child.wait_with_output().expect("lockwell finishes"))
}

/// A finished command.
#[derive(Debug)]
pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().expect("exited, not killed")
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }

    /// Asserts success and returns stdout's one line.
    #[track_caller]
    pub fn line(&self) -> String {
        assert_eq!(self.code(), 0, "{self}");
        let stdout = self.stdout();
        assert_eq!(stdout.lines().count(), 1, "{self}");
        stdout.trim_end().to_string()
    }

    /// Asserts the exit code and that stderr contains `text`.
    #[track_caller]
    pub fn fails_with(&self, code: i32, text: &str) {
        assert_eq!(self.code(), code, "{self}");
        assert!(self.stderr().contains(text), "{self}");
        assert!(!self.stderr().contains("panicked"), "{self}");
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\nstdout: {}\nstderr: {}",
            self.0.status.code(),
            self.stdout(),
            self.stderr()
        )
    }
}
