//! What a result file says about where it was measured: the machine
//! (`/proc/cpuinfo`), the source (`git`), the toolchain (`rustc -V`) and the
//! time. Read at the end of a run; anything unavailable is recorded as
//! unknown rather than failing the run.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::UNIX_EPOCH;

use lockwell_results::{GitState, MachineFingerprint, RunResult};

use crate::loadgen::clock::wall_clock;

/// CPU flags that change what the benchmarks measure: SHA and CRC
/// instructions (checksum engines), carry-less multiply (CRC folding),
/// vector widths. x86 names from `flags`, Arm names from `Features`.
pub const RELEVANT_CPU_FEATURES: [&str; 14] = [
    "aes",
    "avx2",
    "avx512f",
    "avx512vl",
    "bmi2",
    "pclmulqdq",
    "sha_ni",
    "sse4_2",
    "vpclmulqdq",
    "crc32",
    "pmull",
    "sha1",
    "sha2",
    "sha512",
];

/// The fingerprint from the text of `/proc/cpuinfo`, with `logical_cores`
/// counted from its `processor` lines.
#[must_use]
pub fn parse_cpuinfo(cpuinfo: &str) -> MachineFingerprint {
    let mut fingerprint = MachineFingerprint::default();
    let mut features = BTreeSet::new();
    for line in cpuinfo.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim() {
            "processor" => fingerprint.logical_cores += 1,
            "model name" | "Model" if fingerprint.cpu_model.is_empty() => {
                fingerprint.cpu_model = value.to_owned();
            }
            "flags" | "Features" => features.extend(
                value
                    .split_whitespace()
                    .filter(|flag| RELEVANT_CPU_FEATURES.contains(flag))
                    .map(str::to_owned),
            ),
            _ => {}
        }
    }
    fingerprint.cpu_features = features;
    fingerprint
}

/// This machine's fingerprint; an empty one where `/proc/cpuinfo` is
/// missing (not Linux).
#[must_use]
pub fn machine_fingerprint() -> MachineFingerprint {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|cpuinfo| parse_cpuinfo(&cpuinfo))
        .unwrap_or_default()
}

fn command_output(program: &str, arguments: &[&str], directory: &Path) -> Option<String> {
    let output = Command::new(program)
        .args(arguments)
        .current_dir(directory)
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// `HEAD` and whether tracked files have uncommitted changes, for the
/// checkout containing `directory`; `None` outside one.
#[must_use]
pub fn git_state(directory: &Path) -> Option<GitState> {
    let commit = command_output("git", &["rev-parse", "HEAD"], directory)?;
    let status = command_output(
        "git",
        &["status", "--porcelain", "--untracked-files=no"],
        directory,
    )?;
    Some(GitState {
        commit,
        dirty: !status.is_empty(),
    })
}

/// `rustc -V` of the toolchain on the path (`$RUSTC` if set), or `unknown`.
#[must_use]
pub fn toolchain() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    command_output(&rustc, &["-V"], Path::new(".")).unwrap_or_else(|| "unknown".to_owned())
}

/// Fills in git, machine and toolchain, with git read in `directory`.
pub fn describe_environment(result: &mut RunResult, directory: &Path) {
    result.git = git_state(directory);
    result.machine = machine_fingerprint();
    result.toolchain = toolchain();
}

/// Milliseconds since the Unix epoch.
#[must_use]
pub fn unix_ms_now() -> u64 {
    let since_epoch = wall_clock().duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpuinfo_of_x86_and_arm_gives_model_cores_and_relevant_features() {
        let x86 = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu sse4_2 avx2 sha_ni pclmulqdq ht\n\n\
                   processor\t: 1\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu sse4_2 avx2 sha_ni pclmulqdq ht\n";
        let fingerprint = parse_cpuinfo(x86);
        assert_eq!(fingerprint.cpu_model, "AMD EPYC 7B13");
        assert_eq!(fingerprint.logical_cores, 2);
        assert_eq!(
            fingerprint.cpu_features.iter().collect::<Vec<_>>(),
            ["avx2", "pclmulqdq", "sha_ni", "sse4_2"]
        );
        let arm = "processor\t: 0\nFeatures\t: fp asimd aes pmull sha1 sha2 crc32\n\nModel\t: Raspberry Pi 4\n";
        let fingerprint = parse_cpuinfo(arm);
        assert_eq!(fingerprint.cpu_model, "Raspberry Pi 4");
        assert_eq!(fingerprint.logical_cores, 1);
        assert_eq!(
            fingerprint.cpu_features.iter().collect::<Vec<_>>(),
            ["aes", "crc32", "pmull", "sha1", "sha2"]
        );
        assert_eq!(parse_cpuinfo(""), MachineFingerprint::default());
    }

    #[test]
    fn git_state_is_none_outside_a_checkout() {
        assert_eq!(git_state(Path::new("/")), None);
    }
}
