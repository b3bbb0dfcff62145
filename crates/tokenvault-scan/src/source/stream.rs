//! Scanning a reader in bounded memory: files of any size, and stdin.
//!
//! Input is read in chunks of [`CHUNK`] bytes cut after the last newline, so no token (they never
//! span lines) is split and line numbers carry on from chunk to chunk. A chunk without any newline
//! (a huge minified line) is cut hard, and its last [`OVERLAP`] bytes are scanned again with the next
//! chunk; findings are reported only once. Most files fit in one chunk and are read with one call.

use crate::engine::{Finding, Origin, Scanner, Scratch, Sink};
use std::io::{self, Read};

/// Bytes scanned at a time.
pub const CHUNK: usize = 8 << 20;
/// Re-scanned bytes at a hard cut: longer than any token.
pub const OVERLAP: usize = 4096;
/// How much of the start of an input decides whether it is binary.
pub const BINARY_PROBE: usize = 8192;

/// What happened to one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scanned {
    /// Scanned this many bytes.
    Text(u64),
    /// A NUL byte in the first 8 KiB: not scanned.
    Binary,
}

/// Whether `head` (the start of an input) looks binary.
pub fn is_binary(head: &[u8]) -> bool {
    memchr::memchr(0, &head[..head.len().min(BINARY_PROBE)]).is_some()
}

/// Drops findings that start at or after an absolute offset: after a hard cut they are found, whole,
/// in the next chunk, which starts there.
struct Until<'a> {
    max: u64,
    inner: &'a mut dyn Sink,
}

impl Sink for Until<'_> {
    fn finding(&mut self, finding: Finding) {
        if finding.start < self.max {
            self.inner.finding(finding);
        }
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

/// Scans everything `r` yields. `buf` is reused between calls (one per thread).
pub fn scan_reader(
    scanner: &Scanner,
    scratch: &mut Scratch,
    r: &mut dyn Read,
    buf: &mut Vec<u8>,
    sink: &mut dyn Sink,
    check_binary: bool,
) -> io::Result<Scanned> {
    buf.clear();
    let mut origin = Origin::default();
    let mut first = true;
    let mut total = 0u64;
    loop {
        let before = buf.len();
        let eof = fill(r, buf, CHUNK.max(before + OVERLAP))?;
        total += (buf.len() - before) as u64;
        if first {
            first = false;
            if check_binary && is_binary(buf) {
                return Ok(Scanned::Binary);
            }
        }
        if buf.is_empty() {
            return Ok(Scanned::Text(total));
        }
        let (scan_to, advance) = if eof {
            (buf.len(), buf.len())
        } else {
            match memchr::memrchr(b'\n', buf) {
                Some(p) => (p + 1, p + 1),
                None => (buf.len(), buf.len() - OVERLAP),
            }
        };
        let mut until = Until {
            max: if advance < scan_to {
                origin.offset + advance as u64
            } else {
                u64::MAX
            },
            inner: sink,
        };
        scanner.scan_with(scratch, &buf[..scan_to], origin, &mut until);
        if eof {
            return Ok(Scanned::Text(total));
        }
        origin.line += memchr::memchr_iter(b'\n', &buf[..advance]).count() as u64;
        origin.offset += advance as u64;
        buf.drain(..advance);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;
    use tokenvault_core::Catalogue;

    /// A reader that returns a few bytes at a time, like a pipe.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(out.len()).min(1 << 20);
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn chunks_keep_lines_offsets_and_report_once() {
        let s = Scanner::new(
            RuleSet::from_catalogue(&Catalogue::builtin()).unwrap(),
            None,
        )
        .unwrap();
        let token = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";
        let mut text = Vec::new();
        let mut expect = Vec::new();
        let mut line = 1;
        while text.len() < 3 * CHUNK {
            if line % 50_000 == 0 {
                expect.push((line, text.len() as u64 + 4));
                text.extend_from_slice(format!("t = {token}\n").as_bytes());
            } else {
                text.extend_from_slice(b"an ordinary line of text\n");
            }
            line += 1;
        }
        // One huge line without a newline, with a token across the hard cut region.
        let start = text.len();
        text.resize(start + CHUNK + CHUNK / 2, b'a');
        let at = start + CHUNK - 20;
        text[at - 1] = b' ';
        text[at..at + token.len()].copy_from_slice(token.as_bytes());
        text[at + token.len()] = b' ';
        expect.push((line, at as u64));

        let mut out = Vec::new();
        let mut scratch = s.scratch();
        let mut buf = Vec::new();
        let got = scan_reader(
            &s,
            &mut scratch,
            &mut Trickle(&text),
            &mut buf,
            &mut out,
            true,
        )
        .unwrap();
        assert_eq!(got, Scanned::Text(text.len() as u64));
        let found: Vec<(u64, u64)> = out.iter().map(|f| (f.line, f.start)).collect();
        assert_eq!(found, expect);
    }

    #[test]
    fn binary_inputs_are_skipped() {
        let s = Scanner::new(
            RuleSet::from_catalogue(&Catalogue::builtin()).unwrap(),
            None,
        )
        .unwrap();
        let mut data = b"\x7fELF\0\0hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567".to_vec();
        let mut out = Vec::new();
        let got = scan_reader(
            &s,
            &mut s.scratch(),
            &mut &data[..],
            &mut Vec::new(),
            &mut out,
            true,
        )
        .unwrap();
        assert_eq!(got, Scanned::Binary);
        data[4] = b' ';
        data[5] = b' ';
        scan_reader(
            &s,
            &mut s.scratch(),
            &mut &data[..],
            &mut Vec::new(),
            &mut out,
            true,
        )
        .unwrap();
        assert_eq!(out.len(), 1);
    }
}
