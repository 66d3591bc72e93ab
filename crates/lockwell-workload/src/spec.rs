//! Workload specs: `workloads/<name>.toml`, named by the file's stem
//! (`--workload cas-counter` reads `workloads/cas-counter.toml`).
//!
//! ```toml
//! description = "What the workload exercises and what must hold."
//! clients = 8             # concurrent clients (simulated nodes)
//! keys = 1                # key space: k00000000 .. k{keys-1}
//! key_skew = 0.0          # zipf exponent over the keys (0: uniform)
//! key_choice = "zipf"     # or "round": op i of every client uses key i % keys
//! ops_per_client = 40
//! value_len_bytes = 0     # values are padded with '.' to at least this
//! faults = "lossy"        # a fault profile (see `faults`)
//! api = "mixed"           # native, s3, or mixed (each client's API drawn from the seed)
//! multipart_parts = 2     # parts of each multipart upload
//! idempotent_attempts = 3 # sends of an idempotent put while its outcome is unknown
//!
//! [mix]                   # relative weights; kinds left out weigh 0
//! cas = 4
//! get = 1
//!
//! [write_conditions]      # idempotent puts and multipart completes;
//! if_absent = 1           # when the table is absent every condition
//! if_match_read = 1       # weighs 1, when present a missing one weighs 0
//!
//! [copy_conditions]       # the same, for copies
//! destination_absent = 1
//! ```
//!
//! Unknown fields are errors, so a typo never silently falls back to a
//! default. Every limit is a named constant; a value outside one is an
//! error naming the field.

use std::path::{Path, PathBuf};
use std::{fs, io};

use serde::{Deserialize, Serialize};

use crate::faults::FaultProfile;
use crate::op::{CopyCondition, OpKind, WriteCondition};
use crate::rng::SplitMix64;
use crate::zipf;

/// Most clients of one run.
pub const MAX_CLIENTS: u32 = 1024;
/// Most keys: the zipf sampler's limit.
pub const MAX_KEYS: u32 = zipf::MAX_KEY_COUNT as u32;
pub const MAX_OPS_PER_CLIENT: u32 = 1_000_000;
/// Largest value padding: values are held in histories, so keep them small.
pub const MAX_VALUE_LEN_BYTES: u32 = 1024 * 1024;
/// S3's most parts per upload.
pub const MAX_MULTIPART_PARTS: u32 = 10_000;
/// Most sends of one idempotent put.
pub const MAX_IDEMPOTENT_ATTEMPTS: u32 = 10;
/// Longest workload name.
pub const MAX_NAME_LEN_CHARS: usize = 64;

const DEFAULT_MULTIPART_PARTS: u32 = 2;
/// R3's default attempt count.
const DEFAULT_IDEMPOTENT_ATTEMPTS: u32 = 3;

/// Why a workload (or fault profile) cannot be used.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{0:?} is not a workload name: use 1 to {MAX_NAME_LEN_CHARS} of a-z, 0-9 and '-'")]
    Name(String),
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{origin}: {source}")]
    Parse {
        origin: String,
        #[source]
        source: toml::de::Error,
    },
    #[error("{origin}: `{field}` {reason}")]
    Invalid {
        origin: String,
        field: &'static str,
        reason: String,
    },
    #[error("{origin}: `faults`: no fault profile is named {name:?}; known: {known}")]
    UnknownFaultProfile {
        origin: String,
        name: String,
        known: String,
    },
}

/// Which API the clients use.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    Native,
    S3,
    /// Each client's API drawn from the run's seed: a fair coin per
    /// client, from a stream of its own, so a client keeps its API
    /// whatever the other clients are (a shrinker may drop some).
    Mixed,
}

/// The API one client uses.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientApi {
    Native,
    S3,
}

/// Mixed into a run's seed for the streams the client APIs are drawn
/// from, so that they are not the clients' op streams.
const API_STREAM_SALT: u64 = 0x6170_692d_6d69_7865;

impl Api {
    /// The API of `client` in the run seeded with `seed`.
    #[must_use]
    pub fn for_client(self, seed: u64, client: u32) -> ClientApi {
        match self {
            Self::Native => ClientApi::Native,
            Self::S3 => ClientApi::S3,
            Self::Mixed => {
                let mut coin = SplitMix64::for_worker(seed ^ API_STREAM_SALT, client as usize);
                if coin.next_u64() & 1 == 0 {
                    ClientApi::Native
                } else {
                    ClientApi::S3
                }
            }
        }
    }
}

/// How each op picks its key.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyChoice {
    /// Zipf-distributed over the keys with exponent `key_skew`.
    #[default]
    Zipf,
    /// Op `i` of every client uses key `i % keys`: the clients race round
    /// by round (a racing-creators round is one key).
    Round,
}

/// Relative weights of the op kinds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpMix {
    pub create_only: u32,
    pub cas: u32,
    pub put: u32,
    pub get: u32,
    pub delete: u32,
    pub conditional_delete: u32,
    pub copy: u32,
    pub multipart_complete: u32,
    pub idempotent_put: u32,
}

impl OpMix {
    #[must_use]
    pub const fn weights(&self) -> [(OpKind, u32); 9] {
        [
            (OpKind::CreateOnly, self.create_only),
            (OpKind::Cas, self.cas),
            (OpKind::Put, self.put),
            (OpKind::Get, self.get),
            (OpKind::Delete, self.delete),
            (OpKind::ConditionalDelete, self.conditional_delete),
            (OpKind::Copy, self.copy),
            (OpKind::MultipartComplete, self.multipart_complete),
            (OpKind::IdempotentPut, self.idempotent_put),
        ]
    }
}

/// Relative weights of the conditions of idempotent puts and multipart
/// completes. Absent from the spec: all 1; present: missing ones 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteConditionWeights {
    #[serde(default)]
    pub none: u32,
    #[serde(default)]
    pub if_absent: u32,
    #[serde(default)]
    pub if_match_read: u32,
}

impl Default for WriteConditionWeights {
    fn default() -> Self {
        Self {
            none: 1,
            if_absent: 1,
            if_match_read: 1,
        }
    }
}

impl WriteConditionWeights {
    #[must_use]
    pub const fn weights(&self) -> [(WriteCondition, u32); 3] {
        [
            (WriteCondition::None, self.none),
            (WriteCondition::IfAbsent, self.if_absent),
            (WriteCondition::IfMatchRead, self.if_match_read),
        ]
    }
}

/// Relative weights of copy conditions; defaults as for
/// [`WriteConditionWeights`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopyConditionWeights {
    #[serde(default)]
    pub destination_absent: u32,
    #[serde(default)]
    pub destination_matches_read: u32,
    #[serde(default)]
    pub source_matches_read: u32,
}

impl Default for CopyConditionWeights {
    fn default() -> Self {
        Self {
            destination_absent: 1,
            destination_matches_read: 1,
            source_matches_read: 1,
        }
    }
}

impl CopyConditionWeights {
    #[must_use]
    pub const fn weights(&self) -> [(CopyCondition, u32); 3] {
        [
            (CopyCondition::DestinationAbsent, self.destination_absent),
            (
                CopyCondition::DestinationMatchesRead,
                self.destination_matches_read,
            ),
            (CopyCondition::SourceMatchesRead, self.source_matches_read),
        ]
    }
}

/// A workload. See the module docs for the file format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    /// The file's stem; not a field of the file.
    #[serde(skip_deserializing)]
    pub name: String,
    pub description: String,
    pub clients: u32,
    pub keys: u32,
    #[serde(default)]
    pub key_skew: f64,
    #[serde(default)]
    pub key_choice: KeyChoice,
    pub ops_per_client: u32,
    #[serde(default)]
    pub value_len_bytes: u32,
    pub mix: OpMix,
    #[serde(default)]
    pub write_conditions: WriteConditionWeights,
    #[serde(default)]
    pub copy_conditions: CopyConditionWeights,
    #[serde(default = "default_multipart_parts")]
    pub multipart_parts: u32,
    #[serde(default = "default_idempotent_attempts")]
    pub idempotent_attempts: u32,
    /// The name of a [`FaultProfile`].
    pub faults: String,
    pub api: Api,
}

const fn default_multipart_parts() -> u32 {
    DEFAULT_MULTIPART_PARTS
}

const fn default_idempotent_attempts() -> u32 {
    DEFAULT_IDEMPOTENT_ATTEMPTS
}

impl WorkloadSpec {
    /// Reads and validates `dir/<name>.toml`.
    ///
    /// # Errors
    /// A bad name, an unreadable file, or a spec that does not parse or
    /// validate.
    pub fn load(dir: &Path, name: &str) -> Result<Self, SpecError> {
        check_name(name)?;
        let path = dir.join(format!("{name}.toml"));
        let text = fs::read_to_string(&path).map_err(|source| SpecError::Read {
            path: path.clone(),
            source,
        })?;
        Self::parse(name, &text)
    }

    /// Parses and validates the text of workload `name`.
    ///
    /// # Errors
    /// As [`WorkloadSpec::load`], without the reading.
    pub fn parse(name: &str, text: &str) -> Result<Self, SpecError> {
        check_name(name)?;
        let mut spec: Self = toml::from_str(text).map_err(|source| SpecError::Parse {
            origin: origin(name),
            source,
        })?;
        spec.name = name.to_owned();
        spec.validate()?;
        Ok(spec)
    }

    /// Checks every field against its limits.
    ///
    /// # Errors
    /// The first field out of bounds, by name.
    pub fn validate(&self) -> Result<(), SpecError> {
        check_name(&self.name)?;
        let invalid = |field, reason: String| SpecError::Invalid {
            origin: origin(&self.name),
            field,
            reason,
        };
        let within = |field, value: u32, min: u32, max: u32| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(invalid(
                    field,
                    format!("must be between {min} and {max}, not {value}"),
                ))
            }
        };
        within("clients", self.clients, 1, MAX_CLIENTS)?;
        within("keys", self.keys, 1, MAX_KEYS)?;
        if !(0.0..=zipf::MAX_EXPONENT).contains(&self.key_skew) {
            return Err(invalid(
                "key_skew",
                format!(
                    "must be a zipf exponent between 0 and {}, not {}",
                    zipf::MAX_EXPONENT,
                    self.key_skew
                ),
            ));
        }
        within("ops_per_client", self.ops_per_client, 1, MAX_OPS_PER_CLIENT)?;
        within(
            "value_len_bytes",
            self.value_len_bytes,
            0,
            MAX_VALUE_LEN_BYTES,
        )?;
        within(
            "multipart_parts",
            self.multipart_parts,
            1,
            MAX_MULTIPART_PARTS,
        )?;
        within(
            "idempotent_attempts",
            self.idempotent_attempts,
            1,
            MAX_IDEMPOTENT_ATTEMPTS,
        )?;
        let no_weight = "must give at least one entry a positive weight".to_owned();
        if total_weight(&self.mix.weights()) == 0 {
            return Err(invalid("mix", no_weight));
        }
        if total_weight(&self.write_conditions.weights()) == 0 {
            return Err(invalid("write_conditions", no_weight));
        }
        if total_weight(&self.copy_conditions.weights()) == 0 {
            return Err(invalid("copy_conditions", no_weight));
        }
        if self.mix.copy > 0 && self.keys < 2 {
            return Err(invalid(
                "keys",
                "must be at least 2 when the mix has copies: a copy needs a \
                 destination other than its source"
                    .to_owned(),
            ));
        }
        self.fault_profile().map(drop)
    }

    /// The fault profile named by `faults`.
    ///
    /// # Errors
    /// No profile has that name.
    pub fn fault_profile(&self) -> Result<FaultProfile, SpecError> {
        FaultProfile::named(&self.faults).ok_or_else(|| SpecError::UnknownFaultProfile {
            origin: origin(&self.name),
            name: self.faults.clone(),
            known: FaultProfile::names().join(", "),
        })
    }
}

/// The sum of `weights`, which cannot overflow: at most nine u32s.
pub(crate) fn total_weight<T>(weights: &[(T, u32)]) -> u64 {
    weights.iter().map(|&(_, weight)| u64::from(weight)).sum()
}

fn origin(name: &str) -> String {
    format!("workload {name}")
}

fn check_name(name: &str) -> Result<(), SpecError> {
    let valid = (1..=MAX_NAME_LEN_CHARS).contains(&name.len())
        && name
            .bytes()
            .all(|byte| matches!(byte, b'a'..=b'z' | b'0'..=b'9' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(SpecError::Name(name.to_owned()))
    }
}

/// The workloads in `dir` (the stems of its `*.toml` files), sorted.
///
/// # Errors
/// `dir` cannot be listed.
pub fn workload_names(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path
            .extension()
            .is_some_and(|extension| extension == "toml")
            && let Some(stem) = path.file_stem().and_then(|stem| stem.to_str())
        {
            names.push(stem.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The repository's `workloads/`.
    fn shipped_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workloads")
    }

    /// A minimal spec, one top-level field per line (tables inline), so
    /// that a test can replace any field.
    const MINIMAL: &str = r#"description = "d"
clients = 2
keys = 3
ops_per_client = 4
faults = "none"
api = "s3"
mix = { get = 1 }"#;

    /// `MINIMAL` with each line of `overrides` replacing the field of the
    /// same name, or added.
    fn with(overrides: &str) -> String {
        let field = |line: &str| line.split('=').next().unwrap().trim().to_owned();
        let mut lines: Vec<String> = MINIMAL.lines().map(str::to_owned).collect();
        for line in overrides.lines() {
            match lines.iter_mut().find(|kept| field(kept) == field(line)) {
                Some(kept) => *kept = line.to_owned(),
                None => lines.push(line.to_owned()),
            }
        }
        lines.join("\n")
    }

    #[test]
    fn every_shipped_workload_parses_and_validates() {
        let names = workload_names(&shipped_dir()).unwrap();
        for required in [
            "cas-counter",
            "copy-snapshots",
            "idempotent-retries",
            "mixed-with-deletes",
            "multipart-conditional",
            "racing-creators",
        ] {
            assert!(names.iter().any(|name| name == required), "{required}");
        }
        for name in names {
            let spec =
                WorkloadSpec::load(&shipped_dir(), &name).unwrap_or_else(|error| panic!("{error}"));
            assert_eq!(spec.name, name);
            assert!(!spec.description.is_empty(), "{name} says what it is for");
        }
    }

    #[test]
    fn defaults_fill_what_a_minimal_spec_leaves_out() {
        let spec = WorkloadSpec::parse("minimal", MINIMAL).unwrap();
        assert_eq!(spec.key_skew, 0.0);
        assert_eq!(spec.key_choice, KeyChoice::Zipf);
        assert_eq!(spec.value_len_bytes, 0);
        assert_eq!(spec.multipart_parts, DEFAULT_MULTIPART_PARTS);
        assert_eq!(spec.idempotent_attempts, DEFAULT_IDEMPOTENT_ATTEMPTS);
        assert_eq!(spec.write_conditions, WriteConditionWeights::default());
        assert_eq!(spec.copy_conditions, CopyConditionWeights::default());
        let partial = with("write_conditions = { if_absent = 2 }");
        let spec = WorkloadSpec::parse("minimal", &partial).unwrap();
        assert_eq!(
            spec.write_conditions,
            WriteConditionWeights {
                none: 0,
                if_absent: 2,
                if_match_read: 0
            }
        );
    }

    #[test]
    fn a_bad_value_is_an_error_naming_its_field() {
        let cases: &[(&str, &str)] = &[
            ("clients = 0", "`clients`"),
            ("clients = 1025", "`clients`"),
            ("keys = 0", "`keys`"),
            ("keys = 16777217", "`keys`"),
            ("key_skew = -0.5", "`key_skew`"),
            ("key_skew = 20.5", "`key_skew`"),
            ("ops_per_client = 0", "`ops_per_client`"),
            ("ops_per_client = 1000001", "`ops_per_client`"),
            ("value_len_bytes = 1048577", "`value_len_bytes`"),
            ("multipart_parts = 0", "`multipart_parts`"),
            ("multipart_parts = 10001", "`multipart_parts`"),
            ("idempotent_attempts = 0", "`idempotent_attempts`"),
            ("idempotent_attempts = 11", "`idempotent_attempts`"),
            ("faults = \"hurricane\"", "`faults`"),
            ("api = \"ftp\"", "unknown variant `ftp`"),
            ("key_choice = \"random\"", "unknown variant `random`"),
            ("clientz = 3", "unknown field `clientz`"),
            ("clients = -1", "invalid value: integer `-1`"),
            ("mix = {}", "`mix`"),
            ("mix = { get = 0 }", "`mix`"),
            ("mix = { gets = 1 }", "unknown field `gets`"),
            ("write_conditions = { none = 0 }", "`write_conditions`"),
            ("copy_conditions = {}", "`copy_conditions`"),
            ("mix = { copy = 1 }\nkeys = 1", "`keys`"),
        ];
        for (line, expected) in cases {
            let error = WorkloadSpec::parse("bad", &with(line))
                .map(|_| "accepted".to_owned())
                .unwrap_or_else(|error| error.to_string());
            assert!(
                error.contains(expected) && error.starts_with("workload bad:"),
                "{line}: {error}"
            );
        }
    }

    #[test]
    fn values_at_the_limits_are_accepted() {
        for line in [
            "clients = 1024",
            "keys = 16777216",
            "key_skew = 20.0",
            "ops_per_client = 1000000",
            "value_len_bytes = 1048576",
            "multipart_parts = 10000",
            "idempotent_attempts = 10",
        ] {
            WorkloadSpec::parse("edge", &with(line))
                .unwrap_or_else(|error| panic!("{line}: {error}"));
        }
    }

    #[test]
    fn names_are_file_stems_and_nothing_else() {
        for bad in ["", "../etc/passwd", "Cas", "cas counter", &"x".repeat(65)] {
            assert!(
                matches!(WorkloadSpec::parse(bad, MINIMAL), Err(SpecError::Name(_))),
                "{bad:?}"
            );
            assert!(matches!(
                WorkloadSpec::load(&shipped_dir(), bad),
                Err(SpecError::Name(_))
            ));
        }
        let missing = WorkloadSpec::load(&shipped_dir(), "no-such-workload").unwrap_err();
        assert!(
            missing.to_string().contains("no-such-workload.toml"),
            "{missing}"
        );
    }

    #[test]
    fn mixed_api_is_drawn_per_client_from_the_seed() {
        let apis = |seed| -> Vec<ClientApi> {
            (0..64)
                .map(|client| Api::Mixed.for_client(seed, client))
                .collect()
        };
        assert_eq!(apis(7), apis(7), "the same seed gives the same mix");
        assert_ne!(apis(7), apis(8), "another seed gives another mix");
        let native = apis(7)
            .iter()
            .filter(|api| **api == ClientApi::Native)
            .count();
        assert!((16..=48).contains(&native), "a fair coin: {native} of 64");
        assert_eq!(Api::S3.for_client(7, 0), ClientApi::S3);
        assert_eq!(Api::Native.for_client(7, 1), ClientApi::Native);
    }
}
