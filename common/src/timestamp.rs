//! One timestamp format for every JSON record: RFC 3339 in UTC with milliseconds, the form
//! log pipelines parse without configuration.

use std::time::SystemTime;

/// `now` as `2026-11-25T14:03:07.123Z`.
pub fn rfc3339(now: SystemTime) -> String {
    humantime::format_rfc3339_millis(now).to_string()
}

/// The current time, as [`rfc3339`].
pub fn now() -> String {
    rfc3339(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn utc_with_milliseconds() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_614_187_123);
        assert_eq!(rfc3339(at), "2026-11-25T13:43:07.123Z");
    }
}
