//! Small text helpers shared by the views.

use super::Symbols;

/// Text from a server, a remote command or a file is untrusted: the one escaping routine.
pub use crate::escape::sanitize;

/// A one-line sparkline of the values, scaled between their minimum and maximum.
pub fn sparkline(values: impl IntoIterator<Item = f64>, symbols: &Symbols) -> String {
    let values: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
    let (min, max) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    let span = max - min;
    values
        .iter()
        .map(|v| {
            let level = if span > f64::EPSILON {
                (((v - min) / span) * 7.0).round() as usize
            } else {
                0
            };
            symbols.spark[level.min(7)]
        })
        .collect()
}

/// `0.4s`, `12s`, `3m`, `2h`: the age of a poll or a view.
pub fn age(millis: u64) -> String {
    match millis {
        m if m < 10_000 => format!("{:.1}s", m as f64 / 1000.0),
        m if m < 120_000 => format!("{}s", m / 1000),
        m if m < 7_200_000 => format!("{}m", m / 60_000),
        m => format!("{}h", m / 3_600_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_scales_between_extremes() {
        let line = sparkline([1.0, 2.0, 8.0], &Symbols::UNICODE);
        assert_eq!(line, "▁▂█");
        assert_eq!(sparkline([3.0, 3.0], &Symbols::ASCII), "..");
        assert_eq!(sparkline([f64::NAN], &Symbols::UNICODE), "");
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(age(400), "0.4s");
        assert_eq!(age(45_000), "45s");
        assert_eq!(age(600_000), "10m");
        assert_eq!(age(10_800_000), "3h");
    }
}
