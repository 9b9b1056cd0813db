//! Presentation format, as dig prints it (RFC 1035 5.1): names with `\.`/`\DDD` escapes and
//! the root as `.`, character-strings quoted with `\"`, `\\` and `\DDD` for every byte that is
//! not printable ASCII. Every record's data is formatted from its wire bytes, so nothing a
//! server sends reaches a terminal unescaped, and JSON can carry the exact bytes beside it.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};

/// One label's bytes in presentation form.
pub fn label(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x21..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
    out
}

/// A name without its final dot, the root as `.`.
pub fn name(name: &Name) -> String {
    let labels: Vec<String> = name.iter().map(label).collect();
    if labels.is_empty() { ".".to_owned() } else { labels.join(".") }
}

/// A character-string, quoted, with `\"`, `\\` and `\DDD` escapes.
pub fn character_string(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
    out.push('"');
    out
}

/// Lowercase hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(TABLE[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Makes a message safe for a terminal: control characters (C0, DEL, C1) become `\DDD` (or
/// `\u{...}` above one byte), everything else is kept.
pub fn terminal_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            if (c as u32) < 256 {
                let _ = write!(out, "\\{:03}", c as u32);
            } else {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The RDATA of `data` as it was on the wire (names uncompressed, case kept).
pub fn wire_bytes(data: &RData) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut encoder = BinEncoder::new(&mut buf);
    encoder.set_name_encoding(NameEncoding::Uncompressed);
    if data.emit(&mut encoder).is_err() {
        return Vec::new();
    }
    buf
}

/// A cursor over RDATA bytes; every read fails cleanly on short data.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let slice = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(slice)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn rest(&mut self) -> &'a [u8] {
        let rest = &self.bytes[self.at.min(self.bytes.len())..];
        self.at = self.bytes.len();
        rest
    }
    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }
    /// An uncompressed name, without its final dot (root: `.`).
    fn name(&mut self) -> Option<String> {
        let mut labels = Vec::new();
        loop {
            let len = usize::from(self.u8()?);
            if len == 0 {
                break;
            }
            // Compression pointers never appear here (names are re-encoded uncompressed).
            if len > 63 {
                return None;
            }
            labels.push(label(self.take(len)?));
        }
        Some(if labels.is_empty() { ".".to_owned() } else { labels.join(".") })
    }
    fn string(&mut self) -> Option<&'a [u8]> {
        let len = usize::from(self.u8()?);
        self.take(len)
    }
}

/// RFC 3597's generic form, for any type we do not spell out or data that does not parse.
fn generic(bytes: &[u8]) -> String {
    if bytes.is_empty() { "\\# 0".to_owned() } else { format!("\\# {} {}", bytes.len(), hex(bytes)) }
}

/// The presentation form of RDATA `bytes` of type `kind`, with names lacking their final dot
/// as everywhere in our output.
pub fn rdata(kind: RecordType, bytes: &[u8]) -> String {
    let mut r = Reader { bytes, at: 0 };
    let parsed = (|| -> Option<String> {
        let text = match kind {
            RecordType::A => Ipv4Addr::from(<[u8; 4]>::try_from(r.take(4)?).ok()?).to_string(),
            RecordType::AAAA => Ipv6Addr::from(<[u8; 16]>::try_from(r.take(16)?).ok()?).to_string(),
            RecordType::CNAME | RecordType::NS | RecordType::PTR | RecordType::ANAME => r.name()?,
            RecordType::DNAME => r.name()?,
            RecordType::MX => format!("{} {}", r.u16()?, r.name()?),
            RecordType::TXT => {
                let mut parts = Vec::new();
                while !r.done() {
                    parts.push(character_string(r.string()?));
                }
                parts.join(" ")
            }
            RecordType::SRV => format!("{} {} {} {}", r.u16()?, r.u16()?, r.u16()?, r.name()?),
            RecordType::SOA => format!(
                "{} {} {} {} {} {} {}",
                r.name()?,
                r.name()?,
                r.u32()?,
                r.u32()?,
                r.u32()?,
                r.u32()?,
                r.u32()?
            ),
            RecordType::CAA => {
                let flags = r.u8()?;
                let tag = r.string()?;
                format!("{flags} {} {}", label(tag), character_string(r.rest()))
            }
            RecordType::DS | RecordType::CDS => {
                format!("{} {} {} {}", r.u16()?, r.u8()?, r.u8()?, hex(r.rest()).to_uppercase())
            }
            RecordType::DNSKEY | RecordType::CDNSKEY => {
                format!("{} {} {} {}", r.u16()?, r.u8()?, r.u8()?, base64(r.rest()))
            }
            RecordType::NAPTR => format!(
                "{} {} {} {} {} {}",
                r.u16()?,
                r.u16()?,
                character_string(r.string()?),
                character_string(r.string()?),
                character_string(r.string()?),
                r.name()?
            ),
            RecordType::SVCB | RecordType::HTTPS => {
                let priority = r.u16()?;
                let target = r.name()?;
                let mut text = format!("{priority} {target}");
                while !r.done() {
                    let key = r.u16()?;
                    let len = usize::from(r.u16()?);
                    let value = r.take(len)?;
                    text.push(' ');
                    text.push_str(&svc_param(key, value)?);
                }
                text
            }
            _ => return None,
        };
        r.done().then_some(text)
    })();
    parsed.unwrap_or_else(|| generic(bytes))
}

/// One SvcParam (RFC 9460 section 7) in presentation form.
fn svc_param(key: u16, value: &[u8]) -> Option<String> {
    let mut r = Reader { bytes: value, at: 0 };
    let list = |r: &mut Reader<'_>, each: &dyn Fn(&mut Reader<'_>) -> Option<String>| {
        let mut items = Vec::new();
        while !r.done() {
            items.push(each(r)?);
        }
        Some(items.join(","))
    };
    let key_name = |k: u16| match k {
        0 => "mandatory".to_owned(),
        1 => "alpn".to_owned(),
        2 => "no-default-alpn".to_owned(),
        3 => "port".to_owned(),
        4 => "ipv4hint".to_owned(),
        5 => "ech".to_owned(),
        6 => "ipv6hint".to_owned(),
        n => format!("key{n}"),
    };
    let text = match key {
        0 => format!("mandatory={}", list(&mut r, &|r| Some(key_name(r.u16()?)))?),
        1 => {
            let ids = list(&mut r, &|r| {
                let id = r.string()?;
                Some(character_string(id).trim_matches('"').replace(',', "\\\\,"))
            })?;
            format!("alpn=\"{ids}\"")
        }
        2 if value.is_empty() => "no-default-alpn".to_owned(),
        3 => format!("port={}", r.u16()?),
        4 => format!(
            "ipv4hint={}",
            list(&mut r, &|r| Some(Ipv4Addr::from(<[u8; 4]>::try_from(r.take(4)?).ok()?).to_string()))?
        ),
        5 => format!("ech={}", base64(r.rest())),
        6 => format!(
            "ipv6hint={}",
            list(&mut r, &|r| Some(Ipv6Addr::from(<[u8; 16]>::try_from(r.take(16)?).ok()?).to_string()))?
        ),
        n if value.is_empty() => format!("key{n}"),
        n => format!("key{n}={}", character_string(r.rest())),
    };
    r.done().then_some(text)
}

/// The type as dig names it: its mnemonic, or `TYPE<n>` for one without.
pub fn type_name(kind: RecordType) -> String {
    match kind {
        RecordType::Unknown(n) => format!("TYPE{n}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_strings_as_dig_prints_them() {
        let cases: [(&[u8], &str); 5] = [
            (b"plain", "plain"),
            (b"a b", "a\\032b"),
            (b"dot.in", "dot\\.in"),
            (b"\x1b[31m", "\\027[31m"),
            (b"back\\slash", "back\\\\slash"),
        ];
        for (bytes, want) in cases {
            assert_eq!(label(bytes), want);
        }
        assert_eq!(name(&Name::root()), ".");
        assert_eq!(character_string(b"say \"hi\"\n\xff."), "\"say \\\"hi\\\"\\010\\255.\"");
        assert_eq!(terminal_safe("a\x1b[2Jb\nc"), "a\\027[2Jb\\010c");
        assert_eq!(base64(b"any carnal pleas"), "YW55IGNhcm5hbCBwbGVhcw==");
        assert_eq!(base64(b"any carnal pleasu"), "YW55IGNhcm5hbCBwbGVhc3U=");
        assert_eq!(base64(b"any carnal pleasur"), "YW55IGNhcm5hbCBwbGVhc3Vy");
    }

    #[test]
    fn rdata_table() {
        let cases: [(RecordType, &[u8], &str); 8] = [
            (RecordType::A, &[10, 0, 0, 1], "10.0.0.1"),
            (RecordType::MX, &[0, 0, 0], "0 ."),
            (RecordType::SRV, &[0, 1, 0, 2, 0, 80, 0], "1 2 80 ."),
            (RecordType::TXT, b"\x03a.b\x00", "\"a.b\" \"\""),
            (RecordType::CAA, b"\x00\x05issueca.example", "0 issue \"ca.example\""),
            (RecordType::DS, &[0x30, 0x39, 8, 2, 0xab, 0xcd], "12345 8 2 ABCD"),
            (RecordType::HTTPS, &[0, 1, 0, 0, 1, 0, 3, 2, b'h', b'2'], "1 . alpn=\"h2\""),
            (RecordType::A, &[10, 0, 0], "\\# 3 0a0000"),
        ];
        for (kind, bytes, want) in cases {
            assert_eq!(rdata(kind, bytes), want, "{kind}");
        }
        assert_eq!(rdata(RecordType::Unknown(65000), &[1, 2]), "\\# 2 0102");
        assert_eq!(type_name(RecordType::Unknown(65000)), "TYPE65000");
    }
}
