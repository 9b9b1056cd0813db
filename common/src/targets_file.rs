//! Reading targets from a file or standard input, one per line, as an iterator, so a caller
//! can check them as they arrive or collect them. Memory stays bounded whatever the input:
//! lines are read one at a time and cut at [`MAX_LINE_BYTES`], and a stream with no line end
//! in sight (`/dev/zero`) is given up after [`MAX_SKIP_BYTES`]. Each bad line gets its own
//! message, naming the line and showing its text escaped and cut.

use std::io::{self, BufRead};

use crate::sanitize::{escape_bytes_for_terminal, escape_for_terminal};
use crate::target::{Port, Target, TargetError};

/// No host:port needs more; longer is not a list of targets.
pub const MAX_LINE_BYTES: usize = 4096;
/// How far past an overlong line's limit to look for its end before giving up on the input.
pub const MAX_SKIP_BYTES: u64 = 1 << 20;
/// How much of a bad line a message shows.
const SHOWN_CHARS: usize = 80;

#[derive(Debug, thiserror::Error)]
pub enum TargetsError {
    #[error("line {line}: bad target '{shown}': {error}")]
    BadTarget { line: usize, shown: String, error: TargetError },
    #[error("line {line}: longer than {MAX_LINE_BYTES} bytes ('{shown}')")]
    TooLong { line: usize, shown: String },
    #[error("line {line}: contains a NUL byte ('{shown}'); is this a binary file?")]
    Nul { line: usize, shown: String },
    #[error("line {line}: not UTF-8 ('{shown}')")]
    NotUtf8 { line: usize, shown: String },
    #[error("line {line}: no line end within {} MiB; not a list of targets", MAX_SKIP_BYTES >> 20)]
    Endless { line: usize },
    #[error("the text is UTF-16; save it as UTF-8")]
    Utf16,
    #[error("line {line}: cannot read: {source}")]
    Io { line: usize, source: io::Error },
}

impl TargetsError {
    /// After a fatal error the input cannot be read further; the iterator ends.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::Endless { .. } | Self::Utf16 | Self::Io { .. })
    }
}

/// The targets in `input`, one per line: `#` starts a comment, blank lines are skipped, a
/// UTF-8 byte order mark and CRLF line ends are accepted.
pub struct TargetsReader<R> {
    input: R,
    default_port: Port,
    line: usize,
    done: bool,
    buf: Vec<u8>,
}

enum RawLine {
    Complete,
    TooLong,
    Eof,
}

impl<R: BufRead> TargetsReader<R> {
    pub fn new(input: R, default_port: Port) -> Self {
        Self { input, default_port, line: 0, done: false, buf: Vec::with_capacity(256) }
    }

    /// Reads up to the next `\n` into `buf`, keeping at most [`MAX_LINE_BYTES`] + 1 bytes and
    /// skipping the rest of an overlong line.
    fn read_raw_line(&mut self) -> Result<RawLine, TargetsError> {
        self.buf.clear();
        let mut skipped: u64 = 0;
        let mut read_any = false;
        loop {
            let chunk = match self.input.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => return Err(TargetsError::Io { line: self.line + 1, source }),
            };
            if chunk.is_empty() {
                return Ok(match (read_any, skipped > 0) {
                    (false, _) => RawLine::Eof,
                    (true, true) => RawLine::TooLong,
                    (true, false) => RawLine::Complete,
                });
            }
            read_any = true;
            let (used, found_end) = match chunk.iter().position(|b| *b == b'\n') {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            let content = &chunk[..if found_end { used - 1 } else { used }];
            let room = (MAX_LINE_BYTES + 1).saturating_sub(self.buf.len());
            let kept = content.len().min(room);
            self.buf.extend_from_slice(&content[..kept]);
            skipped += (content.len() - kept) as u64;
            self.input.consume(used);
            if found_end {
                return Ok(if skipped > 0 { RawLine::TooLong } else { RawLine::Complete });
            }
            if skipped > MAX_SKIP_BYTES {
                return Err(TargetsError::Endless { line: self.line + 1 });
            }
        }
    }

    fn next_line(&mut self) -> Option<Result<Target, TargetsError>> {
        loop {
            let raw = match self.read_raw_line() {
                Ok(RawLine::Eof) => return None,
                Ok(raw) => raw,
                Err(e) => return Some(Err(e)),
            };
            self.line += 1;
            let line = self.line;
            let mut bytes = self.buf.as_slice();
            if line == 1 {
                if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
                    return Some(Err(TargetsError::Utf16));
                }
                bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
            }
            let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
            let shown = || escape_bytes_for_terminal(bytes, SHOWN_CHARS);
            if matches!(raw, RawLine::TooLong) || bytes.len() > MAX_LINE_BYTES {
                return Some(Err(TargetsError::TooLong { line, shown: shown() }));
            }
            if bytes.contains(&0) {
                return Some(Err(TargetsError::Nul { line, shown: shown() }));
            }
            let Ok(text) = std::str::from_utf8(bytes) else {
                return Some(Err(TargetsError::NotUtf8 { line, shown: shown() }));
            };
            let entry = text.split('#').next().unwrap_or_default().trim();
            if entry.is_empty() {
                continue;
            }
            return Some(Target::parse(entry, None, self.default_port).map_err(|error| {
                TargetsError::BadTarget { line, shown: escape_for_terminal(entry, SHOWN_CHARS), error }
            }));
        }
    }
}

impl<R: BufRead> Iterator for TargetsReader<R> {
    type Item = Result<Target, TargetsError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.next_line();
        if item.as_ref().is_none_or(|r| r.as_ref().is_err_and(TargetsError::is_fatal)) {
            self.done = true;
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &[u8]) -> Vec<Result<String, String>> {
        TargetsReader::new(input, Port::new(443).unwrap())
            .map(|r| r.map(|t| t.to_string()).map_err(|e| e.to_string()))
            .collect()
    }

    #[test]
    fn bom_crlf_comments_and_blank_lines() {
        let got =
            read(b"\xef\xbb\xbf127.0.0.1:1\r\n# comment\r\n\r\n  [::1]:2  # trailing\r\nh.example.test\n");
        assert_eq!(
            got,
            [Ok("127.0.0.1:1".to_owned()), Ok("[::1]:2".to_owned()), Ok("h.example.test:443".to_owned())]
        );
    }

    #[test]
    fn each_bad_line_gets_its_own_escaped_message() {
        let mut input = b"127.0.0.1:1\nbad\x00host\n\xff\xfehost\nbad host!\x1b[31m\n".to_vec();
        input.extend(vec![b'a'; MAX_LINE_BYTES + 10]);
        input.extend(b"\n127.0.0.2:2");
        let got = read(&input);
        assert_eq!(got.len(), 6, "{got:?}");
        assert_eq!(got[0], Ok("127.0.0.1:1".to_owned()));
        assert_eq!(
            got[1],
            Err("line 2: contains a NUL byte ('bad\\0host'); is this a binary file?".to_owned())
        );
        assert_eq!(got[2], Err("line 3: not UTF-8 ('\\xff\\xfehost')".to_owned()));
        let bad = got[3].as_ref().unwrap_err();
        assert!(bad.starts_with("line 4: bad target 'bad host!\\u{1b}[31m'"), "{bad}");
        let long = got[4].as_ref().unwrap_err();
        assert!(long.starts_with("line 5: longer than 4096 bytes ('aaaa"), "{long}");
        assert!(long.len() < 200, "cut: {long}");
        assert_eq!(got[5], Ok("127.0.0.2:2".to_owned()));
    }

    #[test]
    fn an_endless_line_is_given_up_with_bounded_memory() {
        let zeros = io::BufReader::new(io::repeat(0));
        let got: Vec<_> = TargetsReader::new(zeros, Port::new(443).unwrap()).collect();
        assert_eq!(got.len(), 1);
        assert!(matches!(got[0], Err(TargetsError::Endless { line: 1 })), "{got:?}");
    }

    #[test]
    fn utf16_is_named() {
        assert_eq!(read(b"\xff\xfe1\x002\x00"), [Err("the text is UTF-16; save it as UTF-8".to_owned())]);
    }
}
