//! Small pieces of English every renderer shares, so a sentence built from a value never
//! reads "a unspecified address" or "after 3s 54ms 173us".

use std::time::Duration;

/// `phrase` with the indefinite article its first sound takes: "an unspecified address",
/// "a unique local address", "an RFC1918 address".
pub fn a_or_an(phrase: &str) -> String {
    let first_word = phrase.split_whitespace().next().unwrap_or("");
    let article = if takes_an(first_word) { "an" } else { "a" };
    format!("{article} {phrase}")
}

fn takes_an(word: &str) -> bool {
    let Some(first) = word.chars().next() else { return false };
    let acronym = word.len() > 1
        && word.chars().take_while(|c| c.is_ascii_alphanumeric()).all(|c| !c.is_ascii_lowercase());
    if acronym {
        // Read letter by letter: "an RFC", "an NSG", "a TCP".
        return "AEFHILMNORSX8".contains(first);
    }
    let lower = word.to_ascii_lowercase();
    // Vowel letters that sound like a consonant, and the silent h.
    if ["uni", "use", "usu", "one", "eu"].iter().any(|p| lower.starts_with(p)) {
        return false;
    }
    if ["hour", "honest"].iter().any(|p| lower.starts_with(p)) {
        return true;
    }
    matches!(lower.chars().next(), Some('a' | 'e' | 'i' | 'o' | 'u' | '8'))
}

/// A duration for a sentence, rounded to what a person can use: `850 ms`, `3.05 s`, `21 s`,
/// `127 s`, never `3s 54ms 173us`. Whole seconds lose their decimals.
pub fn seconds(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 999.5 {
        if ms < 10.0 && !d.subsec_nanos().is_multiple_of(1_000_000) {
            return format!("{ms:.2} ms");
        }
        return format!("{ms:.0} ms");
    }
    let secs = d.as_secs_f64();
    let rounded = (secs * 100.0).round() / 100.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0} s")
    } else {
        let text = format!("{rounded:.2}");
        format!("{} s", text.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn articles() {
        let cases = [
            ("unspecified address", "an unspecified address"),
            ("multicast address", "a multicast address"),
            ("broadcast address", "a broadcast address"),
            ("IPv6 unique local address", "an IPv6 unique local address"),
            ("unique local address", "a unique local address"),
            ("RFC1918 address", "an RFC1918 address"),
            ("TCP timeout", "a TCP timeout"),
            ("NSG", "an NSG"),
            ("link-local address", "a link-local address"),
            ("documentation range (TEST-NET)", "a documentation range (TEST-NET)"),
            ("reserved special-purpose range", "a reserved special-purpose range"),
            ("8 s wait", "an 8 s wait"),
            ("hour", "an hour"),
            ("", "a "),
        ];
        for (phrase, want) in cases {
            assert_eq!(a_or_an(phrase), want, "{phrase:?}");
        }
    }

    #[test]
    fn rounded_seconds() {
        let cases = [
            (Duration::from_nanos(3_054_173_000), "3.05 s"),
            (Duration::from_secs(21), "21 s"),
            (Duration::from_secs(127), "127 s"),
            (Duration::from_millis(1500), "1.5 s"),
            (Duration::from_millis(2999), "3 s"),
            (Duration::from_millis(500), "500 ms"),
            (Duration::from_micros(1_250), "1.25 ms"),
            (Duration::from_millis(3), "3 ms"),
            (Duration::from_micros(999_700), "1 s"),
        ];
        for (d, want) in cases {
            assert_eq!(seconds(d), want, "{d:?}");
        }
    }
}
