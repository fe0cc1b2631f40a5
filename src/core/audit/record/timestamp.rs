//! The instant on every record: UTC, millisecond precision, RFC 3339 with `Z`. The calendar and
//! the text are the `time` crate's; this type holds the log's one exact form.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// A UTC instant with millisecond precision, written as RFC 3339 (`2026-11-23T09:17:03.120Z`).
/// Years are held to 0000–9999 so every value has that exact form and parses back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    unix_millis: i64,
}

/// The one form a record's time is written and read in: four-digit year, milliseconds, `Z`.
const RFC3339_MILLIS: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

const TIME_OF_DAY: &[BorrowedFormatItem<'static>] =
    format_description!("[hour]:[minute]:[second].[subsecond digits:3]");

/// 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the instants a four-digit year holds.
const EARLIEST_MILLIS: i64 = -62_167_219_200_000;
const LATEST_MILLIS: i64 = 253_402_300_799_999;

impl Timestamp {
    pub fn from_unix_millis(unix_millis: i64) -> Timestamp {
        Timestamp {
            unix_millis: unix_millis.clamp(EARLIEST_MILLIS, LATEST_MILLIS),
        }
    }

    /// Nanoseconds are truncated, not rounded, so a record is never stamped later than it was made.
    pub fn from_unix(secs: i64, nanos: u32) -> Timestamp {
        Timestamp::from_unix_millis(
            secs.saturating_mul(1000)
                .saturating_add(i64::from(nanos / 1_000_000)),
        )
    }

    /// Converts a time the caller read from the clock; this reads no clock itself.
    pub fn from_system_time(time: SystemTime) -> Timestamp {
        match time.duration_since(UNIX_EPOCH) {
            Ok(after) => Timestamp::from_unix(
                i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
                after.subsec_nanos(),
            ),
            Err(before) => {
                let before = before.duration();
                let millis = i64::try_from(before.as_millis()).unwrap_or(i64::MAX);
                Timestamp::from_unix_millis(-millis)
            }
        }
    }

    pub fn unix_millis(self) -> i64 {
        self.unix_millis
    }

    /// Parses exactly the form `Display` writes: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        let utc = PrimitiveDateTime::parse(text, RFC3339_MILLIS)
            .ok()?
            .assume_utc();
        let millis = utc.unix_timestamp_nanos() / 1_000_000;
        i64::try_from(millis).ok().map(Timestamp::from_unix_millis)
    }

    /// `HH:MM:SS.mmm`, for timelines whose date is shown once elsewhere.
    pub fn time_of_day(self) -> String {
        self.format(TIME_OF_DAY)
    }

    fn format(self, description: &[BorrowedFormatItem<'_>]) -> String {
        // Every value `from_unix_millis` lets through is a date `time` holds and formats; the
        // fallback only keeps a broken invariant from panicking inside a log writer.
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.unix_millis) * 1_000_000)
            .ok()
            .and_then(|utc| utc.format(description).ok())
            .unwrap_or_else(|| format!("(unix ms {})", self.unix_millis))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format(RFC3339_MILLIS))
    }
}

serde_as_text!(Timestamp, |text: &str| {
    Timestamp::parse_rfc3339(text)
        .ok_or_else(|| format!("timestamp {text:?} is not UTC RFC 3339 with milliseconds"))
});

#[cfg(test)]
mod tests {
    use super::*;

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_unix_millis(millis)
    }

    #[test]
    fn timestamps_format_as_rfc3339_utc_with_millis() {
        assert_eq!(at(0).to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            Timestamp::from_unix(1_795_425_423, 120_999_999).to_string(),
            "2026-11-23T09:17:03.120Z"
        );
        assert_eq!(at(951_782_400_000).to_string(), "2000-02-29T00:00:00.000Z");
        assert_eq!(at(-1).to_string(), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            at(253_402_300_799_999).to_string(),
            "9999-12-31T23:59:59.999Z"
        );
        assert_eq!(at(i64::MAX).to_string(), "9999-12-31T23:59:59.999Z");
        assert_eq!(at(i64::MIN).to_string(), "0000-01-01T00:00:00.000Z");
    }

    #[test]
    fn timestamps_parse_back_and_reject_other_forms() {
        for ms in [
            0,
            -1,
            1_795_425_423_120,
            951_782_400_000,
            253_402_300_799_999,
        ] {
            let text = at(ms).to_string();
            assert_eq!(Timestamp::parse_rfc3339(&text), Some(at(ms)), "{text}");
        }
        for bad in [
            "2026-11-23T09:17:03Z",
            "2026-11-23T09:17:03.120+00:00",
            "2026-02-29T00:00:00.000Z",
            "2026-13-01T00:00:00.000Z",
            "2026-11-23T24:00:00.000Z",
            "2026-11-23 09:17:03.120Z",
            "+026-11-23T09:17:03.120Z",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn system_time_converts_without_rounding_up() {
        let t = UNIX_EPOCH + std::time::Duration::new(1_795_425_423, 999_999_999);
        assert_eq!(
            Timestamp::from_system_time(t).to_string(),
            "2026-11-23T09:17:03.999Z"
        );
    }

    #[test]
    fn leap_days_follow_the_gregorian_rules() {
        for (day, valid) in [
            ("1900-02-29", false),
            ("2000-02-29", true),
            ("2024-02-29", true),
            ("2100-02-29", false),
            ("0000-02-29", true),
        ] {
            let text = format!("{day}T12:00:00.000Z");
            let parsed = Timestamp::parse_rfc3339(&text);
            assert_eq!(parsed.is_some(), valid, "{text}");
            if let Some(t) = parsed {
                assert_eq!(t.to_string(), text);
            }
        }
        let last_of_february = Timestamp::parse_rfc3339("1900-02-28T23:59:59.999Z");
        assert_eq!(
            last_of_february.map(|t| at(t.unix_millis() + 1).to_string()),
            Some("1900-03-01T00:00:00.000Z".to_string())
        );
    }
}
