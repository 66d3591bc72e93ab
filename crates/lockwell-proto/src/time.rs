//! The three timestamp formats of the S3 wire, as pure conversions.
//!
//! - SigV4's basic ISO 8601 (`20130524T000000Z`) in `x-amz-date`, `X-Amz-Date`
//!   and the credential scope;
//! - extended ISO 8601 with milliseconds (`2009-10-12T17:50:30.000Z`) in XML
//!   bodies (`LastModified`, `Initiated`);
//! - IMF-fixdate HTTP dates (`Fri, 24 May 2013 00:00:00 GMT`) in
//!   `Last-Modified`, `If-Modified-Since` and friends (delegated to `httpdate`).
//!
//! No clock is read here: every function converts a value it is given.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SECONDS_PER_DAY: u64 = 86_400;

/// Latest year the parsers accept; beyond it `SystemTime` arithmetic and the
/// 4-digit year fields stop making sense.
const MAX_YEAR: u64 = 9999;

/// Parses SigV4's `YYYYMMDD'T'HHMMSS'Z'`; `None` for anything else.
pub fn parse_amz_date(text: &str) -> Option<SystemTime> {
    let bytes = text.as_bytes();
    if bytes.len() != 16 || bytes.get(8) != Some(&b'T') || bytes.get(15) != Some(&b'Z') {
        return None;
    }
    let year = digits(bytes, 0, 4)?;
    let month = digits(bytes, 4, 2)?;
    let day = digits(bytes, 6, 2)?;
    let hour = digits(bytes, 9, 2)?;
    let minute = digits(bytes, 11, 2)?;
    let second = digits(bytes, 13, 2)?;
    if !(1970..=MAX_YEAR).contains(&year)
        || !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// Formats SigV4's `YYYYMMDD'T'HHMMSS'Z'`.
pub fn format_amz_date(time: SystemTime) -> String {
    let civil = Civil::from_system_time(time);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        civil.year, civil.month, civil.day, civil.hour, civil.minute, civil.second
    )
}

/// Formats the `YYYY-MM-DDTHH:MM:SS.mmmZ` form S3 uses in XML bodies, from
/// milliseconds since the Unix epoch (lockwell-core's time unit).
pub fn format_iso8601_ms(epoch_ms: u64) -> String {
    let civil = Civil::from_system_time(from_epoch_ms(epoch_ms));
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        civil.year, civil.month, civil.day, civil.hour, civil.minute, civil.second, civil.millis
    )
}

/// Parses an HTTP date (IMF-fixdate, and the obsolete RFC 850 and asctime
/// forms RFC 9110 obliges recipients to accept) to milliseconds since the
/// epoch; `None` when invalid, which RFC 9110 says makes a conditional header
/// ignored.
pub fn parse_http_date_ms(text: &str) -> Option<u64> {
    httpdate::parse_http_date(text).ok().map(to_epoch_ms)
}

/// Formats an IMF-fixdate for `Last-Modified`; HTTP dates carry whole
/// seconds, so the milliseconds are dropped.
pub fn format_http_date_ms(epoch_ms: u64) -> String {
    httpdate::fmt_http_date(from_epoch_ms(epoch_ms))
}

/// Milliseconds since the Unix epoch; times before it are clamped to 0.
pub fn to_epoch_ms(time: SystemTime) -> u64 {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

pub fn from_epoch_ms(epoch_ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(epoch_ms)
}

fn digits(bytes: &[u8], start: usize, len: usize) -> Option<u64> {
    let field = bytes.get(start..start + len)?;
    field.iter().try_fold(0u64, |value, &byte| {
        byte.is_ascii_digit()
            .then(|| value * 10 + u64::from(byte - b'0'))
    })
}

fn is_leap_year(year: u64) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`, restricted to years >= 1970 so it stays unsigned).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year - era * 400;
    let shifted_month = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

struct Civil {
    year: u64,
    month: u64,
    day: u64,
    hour: u64,
    minute: u64,
    second: u64,
    millis: u32,
}

impl Civil {
    /// Times before the epoch are clamped to it: nothing in S3 predates 1970.
    fn from_system_time(time: SystemTime) -> Self {
        let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        let seconds = since_epoch.as_secs();
        let days = seconds / SECONDS_PER_DAY;
        let second_of_day = seconds % SECONDS_PER_DAY;
        // Hinnant's `civil_from_days`.
        let shifted = days + 719_468;
        let era = shifted / 146_097;
        let day_of_era = shifted - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let shifted_month = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
        let month = if shifted_month < 10 {
            shifted_month + 3
        } else {
            shifted_month - 9
        };
        let year = year_of_era + era * 400 + u64::from(month <= 2);
        Self {
            year,
            month,
            day,
            hour: second_of_day / 3600,
            minute: second_of_day % 3600 / 60,
            second: second_of_day % 60,
            millis: since_epoch.subsec_millis(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64, millis: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(seconds * 1000 + millis)
    }

    #[test]
    fn amz_date_round_trips_the_sigv4_examples() {
        let cases = [
            ("20130524T000000Z", 1_369_353_600),
            ("19700101T000000Z", 0),
            ("20000229T235959Z", 951_868_799),
            ("99991231T235959Z", 253_402_300_799),
        ];
        for (text, seconds) in cases {
            assert_eq!(parse_amz_date(text), Some(at(seconds, 0)), "{text}");
            assert_eq!(format_amz_date(at(seconds, 0)), text);
        }
    }

    #[test]
    fn amz_date_rejects_every_malformed_shape() {
        let cases = [
            "",
            "20130524T000000",
            "20130524 000000Z",
            "2013052AT000000Z",
            "20130230T000000Z",
            "20190229T000000Z",
            "20131324T000000Z",
            "20130524T240000Z",
            "20130524T006000Z",
            "20130524T000060Z",
            "19691231T235959Z",
            "20130524T000000Z ",
            "2013-05-24T00:00:00Z",
            "+0130524T000000Z",
            "２0130524T000000Z",
        ];
        for text in cases {
            assert_eq!(parse_amz_date(text), None, "{text:?}");
        }
    }

    #[test]
    fn iso8601_keeps_milliseconds() {
        assert_eq!(
            format_iso8601_ms(1_255_369_830_007),
            "2009-10-12T17:50:30.007Z"
        );
        assert_eq!(format_iso8601_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_iso8601_ms(951_868_799_999),
            "2000-02-29T23:59:59.999Z"
        );
    }

    #[test]
    fn http_dates_parse_all_three_rfc_9110_forms() {
        let expected = Some(1_369_353_600_000);
        assert_eq!(
            parse_http_date_ms("Fri, 24 May 2013 00:00:00 GMT"),
            expected
        );
        assert_eq!(
            parse_http_date_ms("Friday, 24-May-13 00:00:00 GMT"),
            expected
        );
        assert_eq!(parse_http_date_ms("Fri May 24 00:00:00 2013"), expected);
        assert_eq!(parse_http_date_ms("yesterday"), None);
        assert_eq!(
            format_http_date_ms(1_369_353_600_999),
            "Fri, 24 May 2013 00:00:00 GMT"
        );
    }

    #[test]
    fn epoch_ms_round_trips_and_clamps_before_the_epoch() {
        assert_eq!(
            to_epoch_ms(from_epoch_ms(1_369_353_600_123)),
            1_369_353_600_123
        );
        assert_eq!(to_epoch_ms(UNIX_EPOCH - Duration::from_secs(1)), 0);
    }
}
