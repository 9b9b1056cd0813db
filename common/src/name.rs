//! Host name validation shared by every tool: the limits of RFC 1035 plus IDNA, so that a bad
//! name is rejected before any packet is sent, with a message that names what is wrong.

use std::fmt;

/// The longest name in presentation form, without the trailing dot (RFC 1035 2.3.4: 255 octets
/// on the wire, which leaves 253 characters of text).
pub const MAX_NAME_LEN: usize = 253;
/// The longest label (RFC 1035 2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// Why a host name was rejected.
/// A name as typed, inside an error: escaped and cut, so a megabyte or an escape sequence
/// typed by mistake stays one readable line.
fn shown(text: &str) -> String {
    crate::sanitize::escape_for_terminal(text, 80)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    #[error("the host name is empty")]
    Empty,
    #[error("host name '{}' is {len} characters long; the limit is {MAX_NAME_LEN}", shown(.name))]
    TooLong { name: String, len: usize },
    #[error("label '{}' of host name '{}' is {len} characters long; the limit is {MAX_LABEL_LEN}", shown(.label), shown(.name))]
    LabelTooLong { name: String, label: String, len: usize },
    #[error("host name '{}' has an empty label (two dots in a row, or a leading dot)", shown(.name))]
    EmptyLabel { name: String },
    #[error("host name '{}' contains the illegal character {ch:?}", shown(.name))]
    IllegalChar { name: String, ch: char },
    #[error("label '{}' of host name '{}' starts or ends with a hyphen", shown(.label), shown(.name))]
    HyphenAtEdge { name: String, label: String },
    #[error("host name '{}' is not a valid international name", shown(.name))]
    Idna { name: String },
}

/// A syntactically valid DNS name in ASCII (international names are converted with IDNA),
/// stored without a trailing dot.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DomainName {
    ascii: String,
}

impl DomainName {
    /// Validates `input` and converts an international name to its ASCII (punycode) form.
    pub fn parse(input: &str) -> Result<Self, NameError> {
        let trimmed = input.strip_suffix('.').unwrap_or(input);
        if trimmed.is_empty() {
            return Err(NameError::Empty);
        }
        let ascii = if trimmed.is_ascii() {
            trimmed.to_ascii_lowercase()
        } else {
            idna::domain_to_ascii(trimmed).map_err(|_| NameError::Idna { name: input.to_owned() })?
        };
        // Characters are checked before lengths so that a pasted URL or a stray space gets the
        // more useful message.
        if let Some(ch) = ascii.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(NameError::IllegalChar { name: input.to_owned(), ch });
        }
        for label in ascii.split('.') {
            if label.is_empty() {
                return Err(NameError::EmptyLabel { name: input.to_owned() });
            }
            if label.len() > MAX_LABEL_LEN {
                return Err(NameError::LabelTooLong {
                    name: input.to_owned(),
                    label: label.to_owned(),
                    len: label.len(),
                });
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(NameError::HyphenAtEdge { name: input.to_owned(), label: label.to_owned() });
            }
        }
        if ascii.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong { name: input.to_owned(), len: ascii.len() });
        }
        Ok(Self { ascii })
    }

    /// The ASCII form, without a trailing dot.
    pub fn as_str(&self) -> &str {
        &self.ascii
    }

    /// The name with a trailing dot, as DNS libraries want a fully qualified name.
    pub fn to_fqdn(&self) -> String {
        format!("{}.", self.ascii)
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.ascii)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_and_service_names() {
        for (input, ascii) in [
            ("example.com", "example.com"),
            ("Example.COM.", "example.com"),
            ("_sip._tcp.example.com", "_sip._tcp.example.com"),
            ("localhost", "localhost"),
            ("a-b.c", "a-b.c"),
            ("bücher.example", "xn--bcher-kva.example"),
        ] {
            assert_eq!(DomainName::parse(input).unwrap().as_str(), ascii, "{input}");
        }
    }

    #[test]
    fn rejects_bad_names_with_the_reason() {
        let long_label = "a".repeat(64);
        let long_name = vec!["abcdefghi"; 26].join(".");
        assert_eq!(long_name.len(), 259);
        let cases: Vec<(&str, fn(&NameError) -> bool)> = vec![
            ("", |e| matches!(e, NameError::Empty)),
            (".", |e| matches!(e, NameError::Empty)),
            ("a..b", |e| matches!(e, NameError::EmptyLabel { .. })),
            ("has space.com", |e| matches!(e, NameError::IllegalChar { ch: ' ', .. })),
            ("http://x.com", |e| matches!(e, NameError::IllegalChar { ch: ':', .. })),
            ("-lead.com", |e| matches!(e, NameError::HyphenAtEdge { .. })),
            (&long_label, |e| matches!(e, NameError::LabelTooLong { len: 64, .. })),
            (&long_name, |e| matches!(e, NameError::TooLong { len: 259, .. })),
        ];
        for (input, check) in cases {
            let err = DomainName::parse(input).unwrap_err();
            assert!(check(&err), "{input:?} gave {err:?}");
        }
    }

    #[test]
    fn limits_are_inclusive() {
        let label = "a".repeat(63);
        assert!(DomainName::parse(&label).is_ok());
        let name = format!("{}.{}.{}.{}", "a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61));
        assert_eq!(name.len(), 253);
        assert!(DomainName::parse(&name).is_ok());
    }
}
