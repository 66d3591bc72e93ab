//! Fault profiles: what the simulator injects, and how often, as data
//! (`fault_profiles.toml` beside this file, built into the crate). A
//! workload names one (`faults = "lossy"`); a campaign may name another.
//!
//! Rates are of a Poisson process in simulated time (events per simulated
//! second); durations and delays are drawn uniformly from their
//! [`Bounds`]. A field a profile leaves out takes the `none` profile's
//! value, which injects nothing. What each fault means under madsim:
//!
//! - network latency and packet loss: one-way delay of each packet; madsim
//!   never drops bytes of a TCP stream, so a lost packet is a later one;
//! - clog: one node (a client or the server) can neither send nor receive;
//! - partition: the links between the server and one client are cut both
//!   ways, while the other clients carry on;
//! - server kill: the server node dies at any moment (mid-commit too), its
//!   disk crashes as `crash_modes` weighs (lose what was not synced, keep a
//!   torn tail, or keep a prefix of the unsynced writes), and it restarts
//!   after the downtime, recovering from its disk;
//! - lost response after commit: the server commits, then drops the
//!   connection instead of answering (a BUGGIFY point), so the client sees
//!   a failure for a write that took effect;
//! - fsync delay: each simulated fsync takes this long (a slow disk);
//! - client timeout: a client gives up on a request after this long, and
//!   records its outcome as unknown;
//! - clock advance: the server's wall clock jumps forward (its monotonic
//!   time does not), so native tokens expire sooner than their clients
//!   think, and they meet a 401 and re-mint (R1);
//! - token lifetime: each native client asks for tokens living this long
//!   (a short one expires many times in a run, so the client refreshes it
//!   before expiry, R1).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::spec::SpecError;

/// The profiles, as shipped.
const PROFILES_TOML: &str = include_str!("fault_profiles.toml");

/// Longest one-way network latency.
pub const MAX_NETWORK_LATENCY_MS: u64 = 10_000;
/// Longest clog, partition or server downtime.
pub const MAX_FAULT_DURATION_MS: u64 = 600_000;
/// Most fault events of one kind per simulated second.
pub const MAX_FAULT_RATE_PER_S: f64 = 100.0;
/// Longest simulated fsync: lockwell-server's `sim_disk::MAX_FSYNC_DELAY_US`
/// (this crate cannot depend on the server).
pub const MAX_FSYNC_DELAY_US: u64 = 10_000_000;
/// Longest client timeout.
pub const MAX_CLIENT_TIMEOUT_MS: u64 = 600_000;
/// Largest clock jump: a day, beyond any token lifetime.
pub const MAX_CLOCK_ADVANCE_MS: u64 = 86_400_000;
/// Shortest and longest native token lifetime the server mints
/// (`docs/native-api.md`; this crate cannot depend on the server).
pub const MIN_TOKEN_TTL_MS: u64 = 1_000;
pub const MAX_TOKEN_TTL_MS: u64 = 43_200_000;
/// The server's default token lifetime: 15 minutes, longer than a run.
pub const DEFAULT_TOKEN_TTL_MS: u64 = 900_000;

/// An inclusive range, `{ min = 1, max = 50 }` in TOML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    pub min: u64,
    pub max: u64,
}

impl Bounds {
    #[must_use]
    pub const fn exactly(value: u64) -> Self {
        Self {
            min: value,
            max: value,
        }
    }
}

/// Relative weights of what a crash leaves of the unsynced log tail (the
/// simulated disk's crash modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrashModeWeights {
    #[serde(default)]
    pub lose_unsynced: u32,
    #[serde(default)]
    pub torn_tail: u32,
    #[serde(default)]
    pub partial_flush: u32,
}

impl CrashModeWeights {
    #[must_use]
    pub fn total(&self) -> u64 {
        [self.lose_unsynced, self.torn_tail, self.partial_flush]
            .into_iter()
            .map(u64::from)
            .sum()
    }
}

impl Default for CrashModeWeights {
    fn default() -> Self {
        Self {
            lose_unsynced: 1,
            torn_tail: 1,
            partial_flush: 1,
        }
    }
}

/// One fault profile. See the module docs for what each fault means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultProfile {
    /// The profile's table name; not a field of it.
    #[serde(skip_deserializing)]
    pub name: String,
    pub description: String,
    pub network_latency_ms: Bounds,
    /// Probability that a packet is lost (and arrives later).
    pub packet_loss_rate: f64,
    pub clog_rate_per_s: f64,
    pub clog_duration_ms: Bounds,
    pub partition_rate_per_s: f64,
    pub partition_duration_ms: Bounds,
    pub server_kill_rate_per_s: f64,
    pub server_downtime_ms: Bounds,
    pub crash_modes: CrashModeWeights,
    /// Probability that the server drops a write's connection after
    /// committing it.
    pub lost_response_after_commit_probability: f64,
    pub fsync_delay_us: Bounds,
    pub client_timeout_ms: u64,
    pub clock_advance_rate_per_s: f64,
    pub clock_advance_ms: Bounds,
    /// The lifetime each native client asks its tokens for.
    pub token_ttl_ms: Bounds,
}

impl Default for FaultProfile {
    /// No faults: a healthy network and disk.
    fn default() -> Self {
        Self {
            name: "none".to_owned(),
            description: String::new(),
            network_latency_ms: Bounds { min: 1, max: 5 },
            packet_loss_rate: 0.0,
            clog_rate_per_s: 0.0,
            clog_duration_ms: Bounds::exactly(0),
            partition_rate_per_s: 0.0,
            partition_duration_ms: Bounds::exactly(0),
            server_kill_rate_per_s: 0.0,
            server_downtime_ms: Bounds::exactly(0),
            crash_modes: CrashModeWeights::default(),
            lost_response_after_commit_probability: 0.0,
            fsync_delay_us: Bounds::exactly(0),
            client_timeout_ms: 10_000,
            clock_advance_rate_per_s: 0.0,
            clock_advance_ms: Bounds::exactly(0),
            token_ttl_ms: Bounds::exactly(DEFAULT_TOKEN_TTL_MS),
        }
    }
}

impl FaultProfile {
    /// The shipped profile `name`.
    #[must_use]
    pub fn named(name: &str) -> Option<Self> {
        shipped().remove(name)
    }

    /// The names of the shipped profiles, sorted.
    #[must_use]
    pub fn names() -> Vec<String> {
        shipped().into_keys().collect()
    }

    /// Parses a file of profiles, one table each, and validates them.
    ///
    /// # Errors
    /// A profile that does not parse or validate, naming the field.
    pub fn parse_all(text: &str) -> Result<BTreeMap<String, Self>, SpecError> {
        let mut profiles: BTreeMap<String, Self> =
            toml::from_str(text).map_err(|source| SpecError::Parse {
                origin: "fault profiles".to_owned(),
                source,
            })?;
        for (name, profile) in &mut profiles {
            profile.name.clone_from(name);
            profile.validate()?;
        }
        Ok(profiles)
    }

    /// Checks every field against its limits.
    ///
    /// # Errors
    /// The first field out of bounds, by name.
    pub fn validate(&self) -> Result<(), SpecError> {
        let invalid = |field, reason: String| SpecError::Invalid {
            origin: format!("fault profile {}", self.name),
            field,
            reason,
        };
        let bounds = |field, bounds: Bounds, max: u64| {
            if bounds.min <= bounds.max && bounds.max <= max {
                Ok(())
            } else {
                Err(invalid(
                    field,
                    format!(
                        "must have min <= max <= {max}, not {{ min = {}, max = {} }}",
                        bounds.min, bounds.max
                    ),
                ))
            }
        };
        let probability = |field, value: f64| {
            if (0.0..=1.0).contains(&value) {
                Ok(())
            } else {
                Err(invalid(
                    field,
                    format!("must be a probability between 0 and 1, not {value}"),
                ))
            }
        };
        let rate = |field, value: f64| {
            if (0.0..=MAX_FAULT_RATE_PER_S).contains(&value) {
                Ok(())
            } else {
                Err(invalid(
                    field,
                    format!("must be between 0 and {MAX_FAULT_RATE_PER_S} per second, not {value}"),
                ))
            }
        };
        bounds(
            "network_latency_ms",
            self.network_latency_ms,
            MAX_NETWORK_LATENCY_MS,
        )?;
        probability("packet_loss_rate", self.packet_loss_rate)?;
        rate("clog_rate_per_s", self.clog_rate_per_s)?;
        bounds(
            "clog_duration_ms",
            self.clog_duration_ms,
            MAX_FAULT_DURATION_MS,
        )?;
        rate("partition_rate_per_s", self.partition_rate_per_s)?;
        bounds(
            "partition_duration_ms",
            self.partition_duration_ms,
            MAX_FAULT_DURATION_MS,
        )?;
        rate("server_kill_rate_per_s", self.server_kill_rate_per_s)?;
        bounds(
            "server_downtime_ms",
            self.server_downtime_ms,
            MAX_FAULT_DURATION_MS,
        )?;
        if self.crash_modes.total() == 0 {
            return Err(invalid(
                "crash_modes",
                "must give at least one mode a positive weight".to_owned(),
            ));
        }
        probability(
            "lost_response_after_commit_probability",
            self.lost_response_after_commit_probability,
        )?;
        bounds("fsync_delay_us", self.fsync_delay_us, MAX_FSYNC_DELAY_US)?;
        if !(1..=MAX_CLIENT_TIMEOUT_MS).contains(&self.client_timeout_ms) {
            return Err(invalid(
                "client_timeout_ms",
                format!(
                    "must be between 1 and {MAX_CLIENT_TIMEOUT_MS}, not {}",
                    self.client_timeout_ms
                ),
            ));
        }
        rate("clock_advance_rate_per_s", self.clock_advance_rate_per_s)?;
        bounds(
            "clock_advance_ms",
            self.clock_advance_ms,
            MAX_CLOCK_ADVANCE_MS,
        )?;
        bounds("token_ttl_ms", self.token_ttl_ms, MAX_TOKEN_TTL_MS)?;
        if self.token_ttl_ms.min < MIN_TOKEN_TTL_MS {
            return Err(invalid(
                "token_ttl_ms",
                format!(
                    "must be at least {MIN_TOKEN_TTL_MS}, not {}",
                    self.token_ttl_ms.min
                ),
            ));
        }
        Ok(())
    }
}

/// The shipped profiles; the file is part of the build, and a test proves
/// it valid.
fn shipped() -> BTreeMap<String, FaultProfile> {
    FaultProfile::parse_all(PROFILES_TOML).expect("the shipped fault profiles are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_profile_validates_and_the_named_ones_exist() {
        let names = FaultProfile::names();
        for required in [
            "chaos",
            "crashes",
            "latency",
            "lossy",
            "none",
            "partitions",
            "slow-disk",
        ] {
            assert!(names.iter().any(|name| name == required), "{required}");
        }
        for name in &names {
            let profile = FaultProfile::named(name).unwrap();
            assert_eq!(&profile.name, name);
            assert!(
                !profile.description.is_empty(),
                "{name} says what it is for"
            );
        }
        assert_eq!(FaultProfile::named("hurricane"), None);
    }

    #[test]
    fn none_injects_nothing_and_chaos_injects_everything() {
        let none = FaultProfile::named("none").unwrap();
        assert_eq!(
            FaultProfile {
                description: none.description.clone(),
                ..FaultProfile::default()
            },
            none
        );
        let chaos = FaultProfile::named("chaos").unwrap();
        for (fault, rate) in [
            ("packet loss", chaos.packet_loss_rate),
            ("clogs", chaos.clog_rate_per_s),
            ("partitions", chaos.partition_rate_per_s),
            ("server kills", chaos.server_kill_rate_per_s),
            (
                "lost responses",
                chaos.lost_response_after_commit_probability,
            ),
            ("clock advances", chaos.clock_advance_rate_per_s),
            ("slow fsyncs", chaos.fsync_delay_us.max as f64),
        ] {
            assert!(rate > 0.0, "chaos injects no {fault}");
        }
    }

    #[test]
    fn a_bad_value_is_an_error_naming_its_field() {
        let cases = [
            (
                "network_latency_ms = { min = 5, max = 1 }",
                "`network_latency_ms`",
            ),
            (
                "network_latency_ms = { min = 0, max = 10001 }",
                "`network_latency_ms`",
            ),
            ("packet_loss_rate = 1.5", "`packet_loss_rate`"),
            ("clog_rate_per_s = -1.0", "`clog_rate_per_s`"),
            (
                "clog_duration_ms = { min = 0, max = 600001 }",
                "`clog_duration_ms`",
            ),
            ("partition_rate_per_s = 100.5", "`partition_rate_per_s`"),
            (
                "server_downtime_ms = { min = 2, max = 1 }",
                "`server_downtime_ms`",
            ),
            ("crash_modes = {}", "`crash_modes`"),
            (
                "lost_response_after_commit_probability = 2.0",
                "`lost_response_after_commit_probability`",
            ),
            (
                "fsync_delay_us = { min = 0, max = 10000001 }",
                "`fsync_delay_us`",
            ),
            ("client_timeout_ms = 0", "`client_timeout_ms`"),
            ("client_timeout_ms = 600001", "`client_timeout_ms`"),
            (
                "clock_advance_ms = { min = 0, max = 86400001 }",
                "`clock_advance_ms`",
            ),
            ("token_ttl_ms = { min = 999, max = 5000 }", "`token_ttl_ms`"),
            (
                "token_ttl_ms = { min = 1000, max = 43200001 }",
                "`token_ttl_ms`",
            ),
            ("packet_loss = 0.1", "unknown field `packet_loss`"),
            ("fsync_delay_us = { min = 1 }", "missing field `max`"),
        ];
        for (line, expected) in cases {
            let text = format!("[bad]\ndescription = \"d\"\n{line}\n");
            let error = FaultProfile::parse_all(&text).unwrap_err().to_string();
            assert!(error.contains(expected), "{line}: {error}");
        }
    }

    #[test]
    fn values_at_the_limits_are_accepted() {
        let text = "[edge]\n\
            description = \"d\"\n\
            network_latency_ms = { min = 10000, max = 10000 }\n\
            packet_loss_rate = 1.0\n\
            clog_rate_per_s = 100.0\n\
            clog_duration_ms = { min = 0, max = 600000 }\n\
            crash_modes = { torn_tail = 1 }\n\
            fsync_delay_us = { min = 0, max = 10000000 }\n\
            client_timeout_ms = 600000\n\
            clock_advance_ms = { min = 86400000, max = 86400000 }\n\
            token_ttl_ms = { min = 1000, max = 43200000 }\n";
        let profiles = FaultProfile::parse_all(text).unwrap();
        assert_eq!(profiles["edge"].client_timeout_ms, MAX_CLIENT_TIMEOUT_MS);
        assert_eq!(
            profiles["edge"].token_ttl_ms,
            Bounds {
                min: MIN_TOKEN_TTL_MS,
                max: MAX_TOKEN_TTL_MS
            }
        );
    }
}
