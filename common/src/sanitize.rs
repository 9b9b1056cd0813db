//! Showing text that came from a user or a file in a one-line message. Such text may hold
//! terminal escape sequences, newlines that would forge extra lines in a log, or megabytes
//! of garbage; what is shown is always one bounded, inert line.

/// `text` with control and invisible formatting characters escaped (`\n`, `\t`, `\0`,
/// `\u{1b}`, `\u{202e}`, ...; a backslash stays as it is) and cut after `max_chars`
/// characters, with how much was left out. Use it for every piece of user input quoted in an
/// error or warning.
pub fn escape_for_terminal(text: &str, max_chars: usize) -> String {
    let mut out = Escaped::new(max_chars);
    text.chars().for_each(|c| out.push(Piece::Char(c)));
    out.finish()
}

/// Bytes that are not valid UTF-8 are shown as `\xNN`, the rest as [`escape_for_terminal`].
pub fn escape_bytes_for_terminal(bytes: &[u8], max_chars: usize) -> String {
    let mut out = Escaped::new(max_chars);
    for chunk in bytes.utf8_chunks() {
        chunk.valid().chars().for_each(|c| out.push(Piece::Char(c)));
        chunk.invalid().iter().for_each(|b| out.push(Piece::Byte(*b)));
    }
    out.finish()
}

enum Piece {
    Char(char),
    Byte(u8),
}

struct Escaped {
    out: String,
    shown: usize,
    left_out: usize,
    max: usize,
}

impl Escaped {
    fn new(max: usize) -> Self {
        Self { out: String::new(), shown: 0, left_out: 0, max }
    }

    fn push(&mut self, piece: Piece) {
        if self.shown == self.max {
            self.left_out += 1;
            return;
        }
        self.shown += 1;
        match piece {
            Piece::Byte(b) => self.out.push_str(&format!("\\x{b:02x}")),
            Piece::Char('\n') => self.out.push_str("\\n"),
            Piece::Char('\r') => self.out.push_str("\\r"),
            Piece::Char('\t') => self.out.push_str("\\t"),
            Piece::Char('\0') => self.out.push_str("\\0"),
            Piece::Char(c) if needs_escape(c) => self.out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            Piece::Char(c) => self.out.push(c),
        }
    }

    fn finish(mut self) -> String {
        if self.left_out > 0 {
            self.out.push_str(&format!("...({} more characters)", self.left_out));
        }
        self.out
    }
}

/// C0 and C1 controls, DEL, and the characters that reorder or hide text on a terminal
/// (bidirectional overrides, zero-width characters, the byte order mark).
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}')
        || matches!(c, '\u{feff}' | '\u{fffe}' | '\u{ffff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_cuts() {
        let cases = [
            ("plain host:443", 100, "plain host:443"),
            ("a\nb\r\tc\0", 100, "a\\nb\\r\\tc\\0"),
            ("\u{1b}[31mred", 100, "\\u{1b}[31mred"),
            ("evil\u{202e}txt", 100, "evil\\u{202e}txt"),
            ("\u{feff}bom", 100, "\\u{feff}bom"),
            ("abcdef", 3, "abc...(3 more characters)"),
            ("back\\slash", 100, "back\\slash"),
            ("héllo", 100, "héllo"),
        ];
        for (input, max, want) in cases {
            assert_eq!(escape_for_terminal(input, max), want, "{input:?}");
        }
    }

    #[test]
    fn invalid_utf8_is_shown_as_hex() {
        assert_eq!(escape_bytes_for_terminal(b"ok\xff\xfe\n", 100), "ok\\xff\\xfe\\n");
        assert_eq!(escape_bytes_for_terminal(b"\xef\xbf\xbe", 100), "\\u{fffe}");
    }
}
