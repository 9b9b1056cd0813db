//! Wall-clock timestamps for every JSON record: RFC 3339 in UTC with microseconds
//! (`2026-11-25T14:05:09.123456Z`), which sorts as text and parses everywhere.

use std::time::SystemTime;

/// The time now, as every JSON record carries it.
pub fn now() -> String {
    format(SystemTime::now())
}

pub fn format(at: SystemTime) -> String {
    humantime::format_rfc3339_micros(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn rfc3339_utc_with_microseconds() {
        let at = UNIX_EPOCH + Duration::from_micros(1_795_010_709_123_456);
        assert_eq!(format(at), "2026-11-18T14:05:09.123456Z");
        let now = now();
        assert_eq!(now.len(), "2026-11-18T11:25:09.123456Z".len());
        assert!(now.ends_with('Z'));
        assert!(humantime::parse_rfc3339(&now).is_ok());
    }
}
