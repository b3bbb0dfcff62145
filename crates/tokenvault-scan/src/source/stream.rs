//! Scanning a reader in bounded memory: files of any size, large git blobs, and stdin.
//!
//! Input is read in windows of [`CHUNK`] bytes, each buffered with [`Scanner::context`] bytes of
//! the input on either side (a little over 4 KiB, more when a vault value's encoding is longer), so
//! memory stays at about one chunk per reading thread whatever the input's size or shape: a
//! gigabyte on one line is no different. The engine carries its state from window to window, so the
//! findings — offsets, lines, columns, de-duplication — are exactly those of one scan of the whole
//! input (`windows_find_what_one_buffer_finds` below checks it at every position around a cut).
//!
//! Every input is scanned, binary or not: a NUL byte says nothing about whether text with a token
//! follows (a binary header, a SQLite page, a core dump, a stored zip entry, a PNG text chunk). An
//! input that starts with a UTF-16 byte order mark (`FF FE` little-endian, `FE FF` big-endian) is
//! decoded to UTF-8 as it is read ([`Utf16Decoder`]) and the UTF-8 text is scanned: lines are the
//! file's lines; offsets and columns count bytes of that UTF-8 text.

use crate::engine::{Origin, Scanner, Scratch, Sink, Window};
use std::io::{self, Read};

/// Bytes a window owns (what is scanned at a time, plus context).
pub const CHUNK: usize = 1 << 20;

/// What the input turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Bytes, scanned as they are (UTF-8, ASCII, binary, anything).
    Bytes,
    /// UTF-16 with a byte order mark, decoded to UTF-8.
    Utf16Le,
    Utf16Be,
}

/// What happened to one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scanned {
    /// Bytes scanned (after decoding).
    pub bytes: u64,
    pub encoding: Encoding,
}

/// The encoding a byte order mark at the start of `head` announces.
pub fn sniff(head: &[u8]) -> Encoding {
    match head {
        [0xFF, 0xFE, ..] => Encoding::Utf16Le,
        [0xFE, 0xFF, ..] => Encoding::Utf16Be,
        _ => Encoding::Bytes,
    }
}

fn fill(r: &mut dyn Read, buf: &mut Vec<u8>, want: usize) -> io::Result<bool> {
    let len = buf.len();
    if len >= want {
        return Ok(false);
    }
    // `read_to_end` reads into spare capacity without zeroing it first (files and stdin
    // implement `read_buf`), which matters when most inputs are small files.
    r.take((want - len) as u64).read_to_end(buf)?;
    Ok(buf.len() < want)
}

/// Scans everything `r` yields, decoding UTF-16 when it starts with a byte order mark. `buf` is
/// reused between calls (one per thread).
pub fn scan_reader(
    scanner: &Scanner,
    scratch: &mut Scratch,
    r: &mut dyn Read,
    buf: &mut Vec<u8>,
    sink: &mut dyn Sink,
) -> io::Result<Scanned> {
    scan_reader_in(scanner, scratch, r, buf, sink, CHUNK)
}

/// [`scan_reader`] with windows of `chunk` bytes (tests use small ones).
#[doc(hidden)]
pub fn scan_reader_in(
    scanner: &Scanner,
    scratch: &mut Scratch,
    r: &mut dyn Read,
    buf: &mut Vec<u8>,
    sink: &mut dyn Sink,
    chunk: usize,
) -> io::Result<Scanned> {
    // The first window's bytes are read straight into `buf` (one read for most files), and the
    // byte order mark is looked for there.
    buf.clear();
    fill(r, buf, chunk.max(1) + scanner.context())?;
    let encoding = sniff(buf);
    let bytes = match encoding {
        Encoding::Bytes => scan_windows(scanner, scratch, r, buf, sink, chunk)?,
        Encoding::Utf16Le | Encoding::Utf16Be => {
            let head = std::mem::take(buf);
            let mut decoded =
                Utf16Decoder::new((&head[2..]).chain(r), encoding == Encoding::Utf16Be);
            scan_windows(scanner, scratch, &mut decoded, buf, sink, chunk)?
        }
    };
    Ok(Scanned { bytes, encoding })
}

/// Scans a whole input held in memory: in place, unless it is UTF-16 (then decoded through `buf`).
pub fn scan_bytes(
    scanner: &Scanner,
    scratch: &mut Scratch,
    data: &[u8],
    buf: &mut Vec<u8>,
    sink: &mut dyn Sink,
) -> Scanned {
    match sniff(data) {
        Encoding::Bytes => {
            scanner.scan_with(scratch, data, Origin::default(), sink);
            Scanned {
                bytes: data.len() as u64,
                encoding: Encoding::Bytes,
            }
        }
        encoding => {
            let mut decoded = Utf16Decoder::new(&data[2..], encoding == Encoding::Utf16Be);
            // Reading from memory cannot fail.
            buf.clear();
            let bytes = scan_windows(scanner, scratch, &mut decoded, buf, sink, CHUNK).unwrap_or(0);
            Scanned { bytes, encoding }
        }
    }
}

/// The window loop: reads `chunk` bytes more each round, keeps the context the engine needs.
/// `buf` holds the input's first bytes already read, if any.
fn scan_windows(
    scanner: &Scanner,
    scratch: &mut Scratch,
    r: &mut dyn Read,
    buf: &mut Vec<u8>,
    sink: &mut dyn Sink,
    chunk: usize,
) -> io::Result<u64> {
    let chunk = chunk.max(1);
    let context = scanner.context();
    scratch.begin();
    let mut origin = Origin::default();
    let mut own_from = 0u64;
    loop {
        let ahead = (own_from - origin.offset) as usize;
        let eof = fill(r, buf, ahead + chunk + context)?;
        let end = origin.offset + buf.len() as u64;
        let own_to = if eof { end } else { own_from + chunk as u64 };
        let window = Window {
            origin,
            own_from,
            own_to,
            last: eof,
        };
        scanner.scan_window(scratch, buf, window, sink);
        if eof {
            return Ok(end);
        }
        let keep = scratch.needed_from(own_to, context).max(origin.offset);
        let drop = (keep - origin.offset) as usize;
        origin.advance(&buf[..drop]);
        buf.drain(..drop);
        own_from = own_to;
    }
}

/// Decodes UTF-16 (after its byte order mark) to UTF-8 as it is read. Unpaired surrogates and a
/// dangling odd byte become U+FFFD.
pub struct Utf16Decoder<R> {
    inner: R,
    big_endian: bool,
    raw: Box<[u8]>,
    /// A byte of the next code unit, left over from the last read.
    carry: Option<u8>,
    high: Option<u16>,
    out: Vec<u8>,
    out_pos: usize,
    done: bool,
}

impl<R: Read> Utf16Decoder<R> {
    pub fn new(inner: R, big_endian: bool) -> Utf16Decoder<R> {
        Utf16Decoder {
            inner,
            big_endian,
            raw: vec![0; 64 << 10].into_boxed_slice(),
            carry: None,
            high: None,
            out: Vec::with_capacity(96 << 10),
            out_pos: 0,
            done: false,
        }
    }

    fn push(&mut self, c: char) {
        let mut tmp = [0u8; 4];
        self.out
            .extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
    }

    fn unit(&mut self, u: u16) {
        if let Some(high) = self.high.take() {
            if (0xDC00..0xE000).contains(&u) {
                let c = 0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(u) - 0xDC00);
                self.push(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
                return;
            }
            self.push(char::REPLACEMENT_CHARACTER);
        }
        match u {
            0..=0x7F => self.out.push(u as u8),
            0xD800..=0xDBFF => self.high = Some(u),
            0xDC00..=0xDFFF => self.push(char::REPLACEMENT_CHARACTER),
            _ => self.push(char::from_u32(u32::from(u)).unwrap_or(char::REPLACEMENT_CHARACTER)),
        }
    }

    /// Decodes the next read's worth into `out`; false at the end.
    fn refill(&mut self) -> io::Result<bool> {
        self.out.clear();
        self.out_pos = 0;
        while self.out.is_empty() {
            if self.done {
                return Ok(false);
            }
            let mut start = 0;
            if let Some(b) = self.carry.take() {
                self.raw[0] = b;
                start = 1;
            }
            let n = loop {
                match self.inner.read(&mut self.raw[start..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            };
            let len = start + n;
            if n == 0 {
                self.done = true;
                if self.high.take().is_some() {
                    self.push(char::REPLACEMENT_CHARACTER);
                }
                if len == 1 {
                    self.push(char::REPLACEMENT_CHARACTER);
                }
                continue;
            }
            let pairs = len / 2;
            for i in 0..pairs {
                let (a, b) = (self.raw[2 * i], self.raw[2 * i + 1]);
                let u = if self.big_endian {
                    u16::from_be_bytes([a, b])
                } else {
                    u16::from_le_bytes([a, b])
                };
                self.unit(u);
            }
            if len % 2 == 1 {
                self.carry = Some(self.raw[len - 1]);
            }
        }
        Ok(true)
    }
}

impl<R: Read> Read for Utf16Decoder<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.out_pos >= self.out.len() && !self.refill()? {
            return Ok(0);
        }
        let n = out.len().min(self.out.len() - self.out_pos);
        out[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Finding;
    use crate::exact::{ExactMatcher, ExactValue};
    use crate::rules::RuleSet;
    use tokenvault_core::{Catalogue, Secret};

    /// A reader that returns a few bytes at a time, like a pipe.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(out.len()).min(self.1);
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn scanner() -> Scanner {
        Scanner::new(
            RuleSet::from_catalogue(&Catalogue::builtin()).unwrap(),
            None,
        )
        .unwrap()
    }

    const VAULT_VALUE: &str = "Zq8#vault-value-of-no-known-shape!";

    fn scanner_with_vault() -> Scanner {
        let exact = ExactMatcher::new(&[ExactValue {
            reference: "tv://acme/password".into(),
            provider: None,
            prefix: None,
            value: Secret::new(VAULT_VALUE.to_owned()),
        }])
        .unwrap();
        Scanner::new(
            RuleSet::from_catalogue(&Catalogue::builtin()).unwrap(),
            Some(exact),
        )
        .unwrap()
    }

    fn streamed(s: &Scanner, data: &[u8], chunk: usize, read_size: usize) -> Vec<Finding> {
        let mut out = Vec::new();
        let got = scan_reader_in(
            s,
            &mut s.scratch(),
            &mut Trickle(data, read_size),
            &mut Vec::new(),
            &mut out,
            chunk,
        )
        .unwrap();
        assert_eq!(got.bytes, data.len() as u64);
        out
    }

    #[test]
    fn chunks_keep_lines_offsets_and_report_once() {
        let s = scanner();
        let token = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";
        let mut text = Vec::new();
        let mut expect = Vec::new();
        let mut line = 1;
        while text.len() < 3 * CHUNK {
            if line % 50_000 == 0 {
                expect.push((line, text.len() as u64 + 4, 5));
                text.extend_from_slice(format!("t = {token}\n").as_bytes());
            } else {
                text.extend_from_slice(b"an ordinary line of text\n");
            }
            line += 1;
        }
        // One huge line without a newline, with a token across a window's end.
        let start = text.len();
        text.resize(start + 2 * CHUNK + CHUNK / 2, b'a');
        let at = start + 2 * CHUNK - 20;
        text[at - 1] = b' ';
        text[at..at + token.len()].copy_from_slice(token.as_bytes());
        text[at + token.len()] = b' ';
        expect.push((line, at as u64, (at - start + 1) as u64));

        let out = streamed(&s, &text, CHUNK, 1 << 20);
        let found: Vec<(u64, u64, u64)> = out.iter().map(|f| (f.line, f.start, f.column)).collect();
        assert_eq!(found, expect);
        let mut whole = Vec::new();
        s.scan(&text, &mut whole);
        assert_eq!(out, whole);
    }

    /// A deterministic generator, so a failure can be replayed.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) % n as u64) as usize
        }

        fn alnum(&mut self, n: usize) -> String {
            const A: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
            (0..n).map(|_| A[self.next(A.len())] as char).collect()
        }

        /// Random text: words, punctuation, keywords that lead nowhere, newlines (or none at all,
        /// for one long line), and now and then a NUL or a non-ASCII byte.
        fn text(&mut self, len: usize, newlines: bool) -> Vec<u8> {
            const PIECES: &[&str] = &[
                "the ", "token ", "key = ", "secret", " ", "\t", "hf_", "ghp_", "=", "\"", "'",
                "_key", "passw", "\0", "\u{e9}", "x", "AKIA", "sk-",
            ];
            let mut out = Vec::with_capacity(len + 16);
            while out.len() < len {
                match self.next(20) {
                    0 if newlines => out.push(b'\n'),
                    1..=4 => {
                        let n = 1 + self.next(12);
                        out.extend_from_slice(self.alnum(n).as_bytes());
                    }
                    _ => out.extend_from_slice(PIECES[self.next(PIECES.len())].as_bytes()),
                }
            }
            out.truncate(len);
            out
        }
    }

    /// What to plant, each with its own shape of match.
    fn planted(rng: &mut Lcg, kind: usize) -> String {
        match kind % 6 {
            0 => format!(" hf_{} ", rng.alnum(34)),
            1 => format!("\nAPI_TOKEN = \"{}9\"\n", rng.alnum(30)),
            2 => format!(" {VAULT_VALUE} "),
            // Base64 of the vault value inside other base64.
            3 => {
                use base64::Engine as _;
                let raw = format!("user:{VAULT_VALUE}");
                format!(
                    " {} ",
                    base64::engine::general_purpose::STANDARD.encode(raw)
                )
            }
            4 => format!(" ghp_{} tokenvault:allow ", rng.alnum(36)),
            // Two overlapping candidates: a provider token that is also assigned to a name.
            _ => format!("HF_TOKEN=hf_{}\n", rng.alnum(34)),
        }
    }

    /// Chunked scanning reports exactly what one whole-buffer scan does: every finding with the
    /// same rule, offsets, line, column, mask and digest. Tokens are planted at every position
    /// relative to a window's end (straddling it by each number of bytes), and around the other
    /// places where a window's behaviour changes (its context, and MAX_WINDOW before its end),
    /// in random text with and without newlines.
    #[test]
    fn windows_find_what_one_buffer_finds() {
        let s = scanner_with_vault();
        let ctx = s.context() as i64;
        let w = crate::engine::MAX_WINDOW as i64;
        let chunk = 3 * s.context();
        let mut offsets: Vec<i64> = Vec::new();
        for centre in [0, -w, w, -ctx, ctx, -(w + 40), chunk as i64 / 2] {
            offsets.extend(centre - 70..centre + 70);
        }
        let mut rng = Lcg(11);
        let mut total = 0;
        // Several cuts per buffer, each with its own offset; buffers alternate between text with
        // and without newlines.
        let per_buffer = 12usize;
        for (round, group) in offsets.chunks(per_buffer).enumerate() {
            let newlines = round % 3 != 2;
            let len = chunk * (per_buffer + 2);
            let mut data = rng.text(len, newlines);
            for (k, &off) in group.iter().enumerate() {
                let cut = (chunk * (k + 1)) as i64;
                let what = planted(&mut rng, round + k);
                let at = (cut + off).clamp(0, (len - what.len()) as i64) as usize;
                data[at..at + what.len()].copy_from_slice(what.as_bytes());
            }
            let mut whole = Vec::new();
            s.scan(&data, &mut whole);
            assert!(
                whole.len() >= group.len() / 2,
                "round {round}: {} findings",
                whole.len()
            );
            total += whole.len();
            for (c, read) in [(chunk, 1 << 16), (chunk, 997), (chunk + 1, 4096)] {
                let got = streamed(&s, &data, c, read);
                assert_eq!(got, whole, "round {round}, chunk {c}");
            }
        }
        assert!(total > offsets.len(), "{total} findings");
    }

    #[test]
    fn a_nul_byte_does_not_stop_a_scan() {
        let s = scanner();
        let data = b"\x7fELF\x02\x01\0\0\0\0\nhf_aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567".to_vec();
        let out = streamed(&s, &data, CHUNK, 4096);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].line, out[0].column), (2, 1));
    }

    fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
        let mut out = if big_endian {
            vec![0xFE, 0xFF]
        } else {
            vec![0xFF, 0xFE]
        };
        for u in text.encode_utf16() {
            out.extend_from_slice(&if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            });
        }
        out
    }

    #[test]
    fn utf16_with_a_byte_order_mark_is_decoded() {
        let s = scanner();
        let token = "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567";
        // Non-ASCII text and a character outside the BMP (a surrogate pair) before the token.
        let text = format!("caf\u{e9} \u{1F600}\r\nline two\r\n  HF = \"{token}\"\r\n");
        for be in [false, true] {
            let data = utf16(&text, be);
            for read in [1, 3, 4096] {
                let mut out = Vec::new();
                let got = scan_reader_in(
                    &s,
                    &mut s.scratch(),
                    &mut Trickle(&data, read),
                    &mut Vec::new(),
                    &mut out,
                    CHUNK,
                )
                .unwrap();
                assert_eq!(got.bytes, text.len() as u64);
                assert_eq!(
                    got.encoding,
                    if be {
                        Encoding::Utf16Be
                    } else {
                        Encoding::Utf16Le
                    }
                );
                assert_eq!(out.len(), 1, "{out:?}");
                assert_eq!((out[0].line, out[0].column), (3, 9));
            }
            let mut out = Vec::new();
            let got = scan_bytes(&s, &mut s.scratch(), &data, &mut Vec::new(), &mut out);
            assert_eq!(got.bytes, text.len() as u64);
            assert_eq!(out.len(), 1);
        }
        // Broken UTF-16: a lone surrogate and an odd trailing byte become U+FFFD.
        let mut data = vec![0xFF, 0xFE, b'a', 0, 0x00, 0xD8, b'b', 0, b'c'];
        let mut decoded = String::new();
        Utf16Decoder::new(&data[2..], false)
            .read_to_string(&mut decoded)
            .unwrap();
        assert_eq!(decoded, "a\u{FFFD}b\u{FFFD}");
        data.truncate(4);
        assert_eq!(sniff(&data), Encoding::Utf16Le);
        assert_eq!(sniff(b"\xFE"), Encoding::Bytes);
    }
}
