//! Durations as every JSON report shows them: fractional milliseconds rounded to the
//! microsecond, which is all a network timing can honestly claim.

use std::time::Duration;

pub fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// For `#[serde(serialize_with = "crate::millis::serialize")]`.
pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(ms(*d))
}

/// Like [`serialize`], with `None` as null.
pub fn serialize_option<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => serialize(d, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_to_the_microsecond() {
        assert_eq!(ms(Duration::from_nanos(1_234_567)), 1.235);
        assert_eq!(ms(Duration::from_nanos(499)), 0.0);
        assert_eq!(ms(Duration::from_secs(21)), 21000.0);
    }
}
