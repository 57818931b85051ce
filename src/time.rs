//! Beijing time: the one place that knows the city's clock is UTC+8.
//!
//! China has one time zone (Asia/Shanghai) and no daylight saving time since 1991, so local time
//! is a fixed offset. Instants are microseconds since the Unix epoch (as PostgreSQL stores
//! `timestamptz`) or `DateTime<Utc>`; a *local day number* counts Beijing days since 1970-01-01.

use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat, Utc};

/// The offset of Beijing time from UTC, seconds.
pub const OFFSET_S: i32 = 8 * 3600;
const OFFSET_US: i64 = OFFSET_S as i64 * 1_000_000;
/// One day, microseconds.
pub const DAY_US: i64 = 86_400_000_000;

/// The UTC+8 offset.
pub fn beijing() -> FixedOffset {
    FixedOffset::east_opt(OFFSET_S).expect("UTC+8 is a valid offset")
}

/// Now, µs since the epoch.
pub fn now_us() -> i64 {
    Utc::now().timestamp_micros()
}

/// The Beijing day number of an instant (µs since the epoch).
pub fn local_day(t_us: i64) -> i64 {
    (t_us + OFFSET_US).div_euclid(DAY_US)
}

/// The first instant (µs since the epoch) of a Beijing day number: its local midnight.
pub fn day_start(day: i64) -> i64 {
    day * DAY_US - OFFSET_US
}

/// The Beijing day number of a calendar date.
pub fn day_of_date(d: NaiveDate) -> i64 {
    d.signed_duration_since(NaiveDate::default()).num_days()
}

/// The calendar date of a Beijing day number (`None` beyond chrono's range).
pub fn date_of_day(day: i64) -> Option<NaiveDate> {
    NaiveDate::default().checked_add_signed(chrono::Duration::try_days(day)?)
}

/// Parses a bare date `YYYY-MM-DD` (surrounding spaces ignored) into its Beijing day number.
pub fn parse_day(s: &str) -> Option<i64> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .ok()
        .map(day_of_date)
}

/// An instant as `DateTime<Utc>` (`None` beyond chrono's range).
pub fn utc(t_us: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(t_us)
}

/// An instant in Beijing time.
pub fn to_beijing(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&beijing())
}

/// RFC 3339 in Beijing time, whole seconds: `2026-11-01T08:00:00+08:00`.
pub fn format_time(t_us: i64) -> Option<String> {
    utc(t_us).map(|t| to_beijing(t).to_rfc3339_opts(SecondsFormat::Secs, false))
}

/// `YYYY-MM-DD` of a Beijing day number (empty beyond chrono's range).
pub fn format_day(day: i64) -> String {
    date_of_day(day).map(|d| d.to_string()).unwrap_or_default()
}

/// Beijing wall-clock time `YYYY-MM-DD HH:MM:SS` (as the CSV export shows times).
pub fn format_local(t: DateTime<Utc>) -> String {
    to_beijing(t).format("%Y-%m-%d %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_days_start_at_local_midnight() {
        let day = parse_day("2026-11-01").unwrap();
        let t = day_start(day);
        assert_eq!(format_time(t).unwrap(), "2026-11-01T00:00:00+08:00");
        assert_eq!(utc(t).unwrap().to_rfc3339(), "2026-10-31T16:00:00+00:00");
        assert_eq!(local_day(t), day);
        assert_eq!(local_day(t - 1), day - 1);
        assert_eq!(local_day(t + DAY_US - 1), day);
        assert_eq!(format_day(day), "2026-11-01");
        assert_eq!(format_local(utc(t).unwrap()), "2026-11-01 00:00:00");
        assert_eq!(parse_day(" 1970-01-01 "), Some(0));
        assert_eq!(day_start(0), -8 * 3_600_000_000);
        assert_eq!(parse_day("2026-02-30"), None);
        assert_eq!(parse_day("2026-11-01T00:00:00Z"), None);
        // Before the epoch, days still start at local midnight.
        let d = parse_day("1969-12-31").unwrap();
        assert_eq!(d, -1);
        assert_eq!(local_day(day_start(d)), -1);
    }
}
