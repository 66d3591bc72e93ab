//! Numbers and times as the views print them: short, with units, and the
//! same on every machine (UTC, no locale).

use std::time::Duration;

/// A latency in nanoseconds with a unit that keeps three or four digits:
/// `850ns`, `12.3µs`, `4.56ms`, `1.20s`.
#[must_use]
pub fn nanos(value_ns: u64) -> String {
    let value = value_ns as f64;
    if value_ns < 1_000 {
        format!("{value_ns}ns")
    } else if value_ns < 1_000_000 {
        format!("{}µs", three_digits(value / 1e3))
    } else if value_ns < 1_000_000_000 {
        format!("{}ms", three_digits(value / 1e6))
    } else {
        format!("{}s", three_digits(value / 1e9))
    }
}

/// About three significant digits without an exponent.
#[must_use]
pub fn three_digits(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 100.0 || magnitude == 0.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// A count or rate with a k/M suffix: `950`, `12.3k`, `4.56M`.
#[must_use]
pub fn count(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e6 {
        format!("{}M", three_digits(value / 1e6))
    } else if magnitude >= 1e4 {
        format!("{}k", three_digits(value / 1e3))
    } else {
        format!("{value:.0}")
    }
}

/// A ratio as a percentage with one decimal; `-` when there is none.
#[must_use]
pub fn percent(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "-".to_owned(), |ratio| format!("{:.1}%", ratio * 100.0))
}

/// `12.3 s`, `4 m 05 s`.
#[must_use]
pub fn duration(value: Duration) -> String {
    let seconds = value.as_secs_f64();
    if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else {
        let whole = value.as_secs();
        format!("{} m {:02} s", whole / 60, whole % 60)
    }
}

/// `2026-11-27 10:48` (UTC) for milliseconds since the Unix epoch.
#[must_use]
pub fn utc_minute(unix_ms: u64) -> String {
    // `YYYYMMDDTHHMMSS.mmmZ`
    let compact = lockwell_results::schema::compact_utc_timestamp(unix_ms);
    format!(
        "{}-{}-{} {}:{}",
        &compact[0..4],
        &compact[4..6],
        &compact[6..8],
        &compact[9..11],
        &compact[11..13]
    )
}

/// The first `len` characters of a commit hash.
#[must_use]
pub fn short_commit(commit: &str) -> String {
    commit.chars().take(7).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_keep_three_digits_and_a_unit() {
        let cases = [
            (0, "0ns"),
            (999, "999ns"),
            (1_000, "1.00µs"),
            (12_345, "12.3µs"),
            (456_700, "457µs"),
            (4_560_000, "4.56ms"),
            (1_200_000_000, "1.20s"),
        ];
        for (value, expected) in cases {
            assert_eq!(nanos(value), expected, "{value}");
        }
    }

    #[test]
    fn counts_switch_suffix_at_ten_thousand_and_a_million() {
        let cases = [
            (950.0, "950"),
            (9_999.0, "9999"),
            (12_345.0, "12.3k"),
            (4_560_000.0, "4.56M"),
        ];
        for (value, expected) in cases {
            assert_eq!(count(value), expected, "{value}");
        }
    }

    #[test]
    fn dates_are_utc_minutes() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00");
        assert_eq!(utc_minute(1_795_776_493_077), "2026-11-27 10:48");
    }

    #[test]
    fn durations_switch_to_minutes_at_sixty_seconds() {
        assert_eq!(duration(Duration::from_millis(12_340)), "12.3 s");
        assert_eq!(duration(Duration::from_secs(245)), "4 m 05 s");
        assert_eq!(percent(None), "-");
        assert_eq!(percent(Some(0.4567)), "45.7%");
    }
}
