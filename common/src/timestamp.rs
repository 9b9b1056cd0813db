//! Wall-clock timestamps for every JSON record: RFC 3339 in UTC with microseconds
//! (`2026-11-25T14:05:09.123456Z`), which sorts as text and parses everywhere.

use std::time::SystemTime;

/// `at` as `2026-11-25T14:03:07.123456Z`. Microseconds, because tcpping's attempts can follow
/// each other within a millisecond (`-i 0`) and their records must still sort in order.
pub fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_micros(at).to_string()
}

/// The current time, as [`rfc3339`].
pub fn now() -> String {
    rfc3339(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn rfc3339_utc_with_microseconds() {
        let at = UNIX_EPOCH + Duration::from_micros(1_795_010_709_123_456);
        assert_eq!(rfc3339(at), "2026-11-18T14:05:09.123456Z");
        let now = now();
        assert_eq!(now.len(), "2026-11-18T11:25:09.123456Z".len());
        assert!(now.ends_with('Z'));
        assert!(humantime::parse_rfc3339(&now).is_ok());
    }
}
