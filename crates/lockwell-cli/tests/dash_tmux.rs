//! End-to-end: `lockwell dash` and `lockwell bench`'s live view in a real
//! terminal. Each test starts a private tmux server (its own socket, no
//! user config), runs the binary in a 120x40 window, drives it with
//! `send-keys` and reads the screen with `capture-pane`.
//!
//! tmux comes from `scripts/install-tui-test-deps.sh` (`cargo xtask test`
//! runs it). With `LOCKWELL_DASHBOARD_CAPTURES=DIR` the screens are also
//! written to DIR (docs/dashboard/ holds the committed ones).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use lockwell_tui::ResultsDir;

/// How long a screen may take to show what a test waits for. Generous:
/// the machine may be busy building.
const SCREEN_TIMEOUT: Duration = Duration::from_secs(30);
const POLL_PERIOD: Duration = Duration::from_millis(50);
const CAPTURES_VARIABLE: &str = "LOCKWELL_DASHBOARD_CAPTURES";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../lockwell-tui/tests/fixtures/results")
}

/// A tmux server of this test alone; killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `shell_command` in a `width`x`height` window.
    fn start(name: &str, shell_command: &str, width: u16, height: u16) -> Self {
        let tmux = Self {
            socket: format!("lockwell-test-{name}-{}", std::process::id()),
        };
        let output = tmux.run(&[
            "new-session",
            "-d",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            shell_command,
        ]);
        assert!(
            output.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux runs; install it with scripts/install-tui-test-deps.sh")
    }

    fn capture(&self) -> String {
        let output = self.run(&["capture-pane", "-p"]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn send(&self, keys: &[&str]) {
        let mut args = vec!["send-keys"];
        args.extend(keys);
        assert!(self.run(&args).status.success(), "send-keys {keys:?}");
    }

    fn resize(&self, width: u16, height: u16) {
        let output = self.run(&[
            "resize-window",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
        ]);
        assert!(output.status.success(), "resize-window");
    }

    /// The screen once it contains every one of `texts`.
    #[allow(clippy::disallowed_methods)] // a test harness waiting on a real terminal
    fn wait_for(&self, texts: &[&str]) -> String {
        let deadline = Instant::now() + SCREEN_TIMEOUT;
        loop {
            let screen = self.capture();
            if texts.iter().all(|text| screen.contains(text)) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the screen never showed {texts:?}; last screen:\n{screen}"
            );
            std::thread::sleep(POLL_PERIOD);
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// Writes `screen` to `$LOCKWELL_DASHBOARD_CAPTURES/name.txt` if set.
fn keep(name: &str, screen: &str) {
    if let Some(dir) = std::env::var_os(CAPTURES_VARIABLE) {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        let trimmed: String = screen
            .lines()
            .map(|line| format!("{}\n", line.trim_end()))
            .collect();
        std::fs::write(dir.join(format!("{name}.txt")), trimmed).unwrap();
    }
}

fn index_of(dir: &ResultsDir, path: &str) -> usize {
    dir.entries
        .iter()
        .position(|entry| entry.path == Path::new(path))
        .unwrap_or_else(|| panic!("no fixture {path}"))
}

/// Moves the selection from `from` to `to` with ↑/↓.
fn move_selection(tmux: &Tmux, from: usize, to: usize) {
    let (key, count) = if to >= from {
        ("Down", to - from)
    } else {
        ("Up", from - to)
    };
    if count > 0 {
        tmux.send(&["-N", &count.to_string(), key]);
    }
}

#[test]
fn dash_browses_every_view_resizes_and_restores_the_terminal_on_quit() {
    let fixtures = fixtures();
    let dir = ResultsDir::load(&fixtures).unwrap();
    let command = format!(
        "cd {} && {} dash . ; echo DASH-EXITED=$?; sleep 600",
        fixtures.display(),
        env!("CARGO_BIN_EXE_lockwell")
    );
    let tmux = Tmux::start("dash", &command, 120, 40);
    let entries = format!("{} entries", dir.entries.len());
    keep(
        "dash-list",
        &tmux.wait_for(&[&entries, "headline", "q quit"]),
    );

    // Each detail view: select, open, check, go back.
    let views = [
        (
            "dash-run",
            "http/memory/r256-k1-backoff-1.json",
            &[
                "latency per op and outcome",
                "outcome mix",
                "goodput writes/s",
                "distribution",
            ][..],
        ),
        (
            "dash-campaign",
            "sim/sim-campaign-racing-creators-planted.json",
            &[
                "violations: 3 in 200 seeds",
                "BUGGIFY coverage",
                "cargo xtask sim run --workload racing-creators --seed 17",
            ][..],
        ),
        (
            "dash-catalog",
            "catalog.json",
            &[
                "3 planted bugs, 2 detected",
                "put-precondition-before-body",
                "replay:",
            ][..],
        ),
        (
            "dash-sweep",
            "sweeps/quick/",
            &[
                "goodput writes/s: ⠤ model",
                "held out",
                "operation p99: ⠤ model",
            ][..],
        ),
        (
            "dash-checksum",
            "checksum/summary-7d5929f.json",
            &["engine GiB/s", "sha256"][..],
        ),
        (
            "dash-report",
            "bench-ab/planted-01.txt",
            &["==> checksum: A = HEAD"][..],
        ),
    ];
    let mut selected = 0;
    for (name, path, expected) in views {
        let index = index_of(&dir, path);
        move_selection(&tmux, selected, index);
        selected = index;
        tmux.send(&["Enter"]);
        keep(name, &tmux.wait_for(expected));
        tmux.send(&["Escape"]);
        tmux.wait_for(&[&entries]);
    }

    // Three runs a side, compared.
    for (side, prefix) in [
        ("a", "http/file/r256-k1-backoff-"),
        ("b", "http/memory/r256-k1-backoff-"),
    ] {
        for run in 1..=3 {
            let index = index_of(&dir, &format!("{prefix}{run}.json"));
            move_selection(&tmux, selected, index);
            selected = index;
            tmux.send(&[side]);
        }
    }
    tmux.send(&["c"]);
    keep(
        "dash-compare",
        &tmux.wait_for(&[
            "compare A with B",
            "verdicts: 10 metrics",
            "goodput_writes_per_s",
            "A: operation/cas/200",
        ]),
    );
    tmux.send(&["?"]);
    keep("dash-help", &tmux.wait_for(&["keys (any key closes)"]));
    tmux.send(&["x", "Escape"]);
    tmux.wait_for(&[&entries]);

    // Live resize: the narrow list drops the commit and machine columns.
    tmux.resize(80, 24);
    let narrow = tmux.wait_for(&[&entries]);
    assert!(!narrow.contains("machine"), "{narrow}");
    keep("dash-list-80x24", &narrow);
    tmux.resize(120, 40);
    tmux.wait_for(&["machine"]);

    tmux.send(&["q"]);
    let after = tmux.wait_for(&["DASH-EXITED=0"]);
    assert!(
        !after.contains("entries"),
        "the alternate screen is gone after q:\n{after}"
    );
}

#[test]
fn bench_shows_the_live_view_and_q_stops_the_run_which_still_writes_its_result() {
    let out = std::env::temp_dir().join(format!("lockwell-live-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let result = out.join("run.json");
    let command = format!(
        "{} bench --inproc --racers 2 --keys 10 --duration 60s --warmup 200ms --interval 200ms --out {}; \
         echo BENCH-EXITED=$?; sleep 600",
        env!("CARGO_BIN_EXE_lockwell"),
        result.display()
    );
    let tmux = Tmux::start("bench", &command, 120, 40);
    keep(
        "live-latency",
        &tmux.wait_for(&["measuring", "latency per op and outcome", "op   cas", "ETA"]),
    );
    tmux.send(&["Tab"]);
    keep(
        "live-outcomes",
        &tmux.wait_for(&["outcome mix (requests)", "totals since warm-up"]),
    );
    tmux.send(&["Tab"]);
    keep(
        "live-errors",
        &tmux.wait_for(&["errors by request and outcome", "warming up for"]),
    );
    tmux.send(&["p"]);
    tmux.wait_for(&["PAUSED"]);
    tmux.send(&["p", "q"]);
    let after = tmux.wait_for(&["BENCH-EXITED=0", "stopped early from the dashboard"]);
    assert!(
        after.contains(&format!("result: {}", result.display())),
        "{after}"
    );
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&result).expect("the stopped run wrote its result"))
            .unwrap();
    assert!(stored["metrics"]["operations_per_s"]["value"].as_f64() > Some(0.0));
    let _ = std::fs::remove_dir_all(&out);
}
