//! Dates without a date library: the civil date of a Unix day, and the two timestamp
//! formats web apps write most (ISO 8601 with milliseconds for JSON, IMF-fixdate for
//! HTTP headers).
//!
//! ```
//! use keel_core::time::{iso8601_millis, http_date};
//! assert_eq!(iso8601_millis(1_455_765_776_637), "2016-02-18T03:22:56.637Z");
//! assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
//! ```

/// `(year, month 1–12, day 1–31)` of the day `days` after 1970-01-01 (proleptic
/// Gregorian calendar; negative days are before 1970).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Howard Hinnant's days-to-civil algorithm, with eras of 400 years.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both are in range by construction (1–12, 1–31).
    (year, month as u32, day as u32)
}

/// ISO 8601 / RFC 3339 in UTC with milliseconds (`2016-02-18T03:22:56.637Z`), from
/// milliseconds since the Unix epoch.
pub fn iso8601_millis(unix_ms: i64) -> String {
    let secs = unix_ms.div_euclid(1000);
    let millis = unix_ms.rem_euclid(1000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// IMF-fixdate (RFC 9110 §5.6.7, `Sun, 06 Nov 1994 08:49:37 GMT`), from seconds since
/// the Unix epoch.
pub fn http_date(unix_secs: u64) -> String {
    let days = unix_secs / 86_400;
    let rem = unix_secs % 86_400;
    // 1970-01-01 was a Thursday.
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    let (year, month, day) = civil_from_days(i64::try_from(days).unwrap_or(i64::MAX));
    let month_name = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(month - 1) as usize];
    format!(
        "{weekday}, {day:02} {month_name} {year} {:02}:{:02}:{:02} GMT",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(iso8601_millis(951_782_400_001), "2000-02-29T00:00:00.001Z");
        assert_eq!(iso8601_millis(0), "1970-01-01T00:00:00.000Z");
    }
}
