//! Tidy checks: the architecture's rules, enforced as tests (ARCHITECTURE.md
//! "Invariants"). They read the dependency graph with `cargo tree`.

use std::collections::BTreeSet;
use std::process::Command;

/// Crates whose presence under lockwell-core would mean it can do I/O or
/// read the environment: runtimes, sockets, HTTP, file-system helpers.
const IO_CRATES: &[&str] = &[
    "tokio",
    "madsim",
    "madsim-tokio",
    "mio",
    "socket2",
    "hyper",
    "hyper-util",
    "reqwest",
    "async-std",
    "smol",
    "tempfile",
    "walkdir",
    "memmap2",
    "rand",
    "getrandom",
];

fn cargo_tree(package: &str, extra: &[&str]) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-p",
            package,
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .args(["--format", "{p}"])
        .args(extra)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "cargo tree -p {package} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn lockwell_core_depends_on_no_io_crate() {
    let dependencies = cargo_tree("lockwell-core", &[]);
    let io: Vec<&&str> = IO_CRATES
        .iter()
        .filter(|name| dependencies.contains(**name))
        .collect();
    assert!(
        io.is_empty(),
        "lockwell-core must stay sans-I/O but depends on {io:?}"
    );
}

/// Internal crates each crate may depend on directly (DESIGN.md "Layout":
/// core <- proto <- server/client, and server and client never depend on
/// each other; workload/check depend on core only).
/// A crate missing from the workspace is skipped, so the rule is ready before
/// the crate exists.
const ALLOWED_INTERNAL_DEPENDENCIES: &[(&str, &[&str])] = &[
    ("lockwell-core", &[]),
    ("lockwell-proto", &["lockwell-core"]),
    ("lockwell-server", &["lockwell-core", "lockwell-proto"]),
    ("lockwell-client", &["lockwell-core", "lockwell-proto"]),
    ("lockwell-workload", &["lockwell-core"]),
    ("lockwell-check", &["lockwell-core"]),
    ("lockwell-results", &[]),
    ("lockwell-plan", &["lockwell-results"]),
    ("lockwell-tui", &["lockwell-results", "lockwell-plan"]),
];

#[test]
fn internal_dependencies_point_one_way() {
    let workspace = workspace_members();
    for (package, allowed) in ALLOWED_INTERNAL_DEPENDENCIES {
        if !workspace.contains(*package) {
            continue;
        }
        let direct = cargo_tree(package, &["--depth", "1"]);
        let forbidden: Vec<&String> = direct
            .iter()
            .filter(|dependency| {
                dependency.starts_with("lockwell-")
                    && *dependency != package
                    && !allowed.contains(&dependency.as_str())
            })
            .collect();
        assert!(
            forbidden.is_empty(),
            "{package} may depend on {allowed:?} among Lockwell's crates, but depends on {forbidden:?}"
        );
    }
}

fn workspace_members() -> BTreeSet<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates");
    std::fs::read_dir(root)
        .expect("crates/ exists")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect()
}
