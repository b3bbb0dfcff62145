//! The audit log's pure logic: the record, the hash chain, its verification, and the redaction of
//! the parent process's command line.
//!
//! The log (`audit.jsonl`) is JSON Lines. Every record carries `seq` (1 for the first line, then
//! +1) and `prev`, the hex SHA-256 of the previous line's bytes without its newline (64 zeros for the
//! first line). Editing a line changes its hash, so the next line no longer matches; deleting or
//! reordering lines breaks the `seq` run; a cut-off last line is not a record or lacks its newline.
//! The chain cannot reveal lines removed from the *end* (the new last line is still consistent):
//! compare the head that `audit verify` prints with a copy kept elsewhere for that.
//!
//! Nothing here reads a file or a clock: the binary passes the time, the parent's command line and
//! the log's lines in, and does the locking and appending.

use crate::Catalogue;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// The `prev` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What replaces a secret in a recorded command line.
pub const REDACTED: &str = "<redacted>";

/// One line of the audit log. Never holds a value: `references` are `tv://` strings and the
/// parent's command line is redacted before it gets here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// 1 for the first line of the log, then +1 per line.
    pub seq: u64,
    /// RFC 3339, UTC.
    pub time: String,
    /// `get`, `set`, `rm`, `run`, `export`, `inject`, `git-credential`, …
    pub action: String,
    /// `tv://ITEM/FIELD` references, never values.
    #[serde(default)]
    pub references: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// `ok`, or a short reason.
    pub outcome: String,
    pub pid: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ppid: Option<u32>,
    /// The parent process's name (Linux: `/proc/<ppid>/comm`): which client launched us.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_name: Option<String>,
    /// The parent's argv, redacted with [`redact_argv`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_cmdline: Option<Vec<String>>,
    /// The file vault's generation after the action (file backend only): a vault later found
    /// older than a generation the log recorded was rolled back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<u64>,
    /// Who asked, when it is not the person at the keyboard: the MCP client's name (from its
    /// `initialize`) for `mcp serve`'s tool calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Hex SHA-256 of the previous line's bytes (without its newline); [`GENESIS`] for the first.
    pub prev: String,
}

/// What the writer knows about an access; [`ChainHead::seal`] adds `seq` and `prev`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    pub time: String,
    pub action: String,
    pub references: Vec<String>,
    pub backend: Option<String>,
    pub outcome: String,
    pub pid: u32,
    pub ppid: Option<u32>,
    pub parent_name: Option<String>,
    pub parent_cmdline: Option<Vec<String>>,
    pub generation: Option<u64>,
    pub actor: Option<String>,
}

impl Record {
    /// The record as one line of JSON, without the newline. JSON escapes control characters, so
    /// the line never contains a newline of its own.
    pub fn to_line(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// Parses one line (with or without its newline).
    pub fn parse(line: &[u8]) -> Result<Record, serde_json::Error> {
        serde_json::from_slice(strip_newline(line).0)
    }
}

/// Hex SHA-256 of a line's bytes; a trailing newline is not part of the line.
pub fn line_hash(line: &[u8]) -> String {
    let mut h = LineHasher::new();
    h.update(strip_newline(line).0);
    h.finish()
}

/// [`line_hash`] in pieces, for a last line too long to hold in memory. The caller leaves out the
/// newline.
#[derive(Clone, Default)]
pub struct LineHasher(Sha256);

impl LineHasher {
    pub fn new() -> Self {
        LineHasher(Sha256::new())
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub fn finish(self) -> String {
        to_hex(&self.0.finalize())
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    s
}

fn strip_newline(line: &[u8]) -> (&[u8], bool) {
    match line.strip_suffix(b"\n") {
        Some(body) => (body, true),
        None => (line, false),
    }
}

/// Where the chain ends: what the next record links to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    /// The last record's `seq` (0 for an empty log).
    pub seq: u64,
    /// The last line's hash ([`GENESIS`] for an empty log).
    pub hash: String,
    /// The last line is not a record (cut off or edited): the next record still links to its
    /// bytes, and `audit verify` will name it.
    pub damaged: bool,
}

impl ChainHead {
    /// The head of an empty log.
    pub fn genesis() -> ChainHead {
        ChainHead {
            seq: 0,
            hash: GENESIS.to_owned(),
            damaged: false,
        }
    }

    /// The head after `line`, the log's last line (its newline is ignored).
    pub fn after_line(line: &[u8]) -> ChainHead {
        ChainHead::from_parts(line_hash(line), Record::parse(line).ok().map(|r| r.seq))
    }

    /// The head from a last line's hash and its `seq`, when it could be read (`None`: damaged).
    pub fn from_parts(hash: String, seq: Option<u64>) -> ChainHead {
        ChainHead {
            seq: seq.unwrap_or(0),
            hash,
            damaged: seq.is_none(),
        }
    }

    /// The record that follows this head.
    pub fn seal(&self, entry: Entry) -> Record {
        Record {
            seq: self.seq.saturating_add(1),
            time: entry.time,
            action: entry.action,
            references: entry.references,
            backend: entry.backend,
            outcome: entry.outcome,
            pid: entry.pid,
            ppid: entry.ppid,
            parent_name: entry.parent_name,
            parent_cmdline: entry.parent_cmdline,
            generation: entry.generation,
            actor: entry.actor,
            prev: self.hash.clone(),
        }
    }
}

/// What is wrong at the first bad line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakKind {
    /// The line's bytes changed after the next line was written, or it is not a record any more.
    Edited,
    /// One or more lines are missing before this one.
    Deleted,
    /// Lines are out of order (or a line was copied).
    Reordered,
    /// The last line was cut short (no newline, or not a whole record).
    Truncated,
}

impl BreakKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakKind::Edited => "edited",
            BreakKind::Deleted => "deleted",
            BreakKind::Reordered => "reordered",
            BreakKind::Truncated => "truncated",
        }
    }
}

impl fmt::Display for BreakKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The first place where the chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// 1-based line number of the first bad line.
    pub line: u64,
    pub kind: BreakKind,
    /// One sentence: what was found there.
    pub detail: String,
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} ({}): {}", self.line, self.kind, self.detail)
    }
}

impl std::error::Error for ChainBreak {}

/// An intact chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSummary {
    pub entries: u64,
    pub last_seq: u64,
    /// The last line's hash ([`GENESIS`] when the log is empty): keep a copy elsewhere to detect
    /// lines removed from the end later.
    pub head: String,
}

/// A line whose `seq` skips ahead: a deletion or a reordering, told apart by the next line.
#[derive(Debug, Clone)]
struct Gap {
    line: u64,
    seq: u64,
    prev_seq: u64,
    /// Its `prev` matches the line before it: it was written right after that line, so only its
    /// `seq` changed.
    links: bool,
}

/// Checks the chain line by line, in constant memory (one line of lookahead). Feed each line
/// with its newline (only the file's last line may lack one), stop at the first error, and call
/// [`Verifier::finish`] at the end.
#[derive(Debug, Clone)]
pub struct Verifier {
    line_no: u64,
    prev_hash: String,
    prev_seq: u64,
    pending: Option<Gap>,
    unterminated: Option<u64>,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier::new()
    }
}

impl Verifier {
    pub fn new() -> Verifier {
        Verifier {
            line_no: 0,
            prev_hash: GENESIS.to_owned(),
            prev_seq: 0,
            pending: None,
            unterminated: None,
        }
    }

    /// Checks the next line (with its newline, when it has one).
    pub fn feed(&mut self, raw: &[u8]) -> Result<(), ChainBreak> {
        if let Some(line) = self.unterminated {
            // Only the last line can lack its newline; text after it means the caller split wrong
            // or an append was glued onto a cut line.
            return Err(truncated(line));
        }
        self.line_no += 1;
        let n = self.line_no;
        let (body, terminated) = strip_newline(raw);
        if !terminated {
            self.unterminated = Some(n);
        }
        let record = Record::parse(body).ok();
        if let Some(gap) = self.pending.take() {
            return Err(classify_gap(&gap, record.as_ref().map(|r| r.seq)));
        }
        let Some(record) = record else {
            if !terminated {
                return Err(truncated(n));
            }
            return Err(ChainBreak {
                line: n,
                kind: BreakKind::Edited,
                detail: "not a valid audit record (edited or damaged)".into(),
            });
        };
        let expected = self.prev_seq.saturating_add(1);
        if record.seq == expected {
            if record.prev != self.prev_hash {
                return Err(if n == 1 {
                    ChainBreak {
                        line: 1,
                        kind: BreakKind::Edited,
                        detail: "the first record does not start the chain (its prev is not the genesis hash)".into(),
                    }
                } else {
                    ChainBreak {
                        line: n - 1,
                        kind: BreakKind::Edited,
                        detail: format!(
                            "its hash no longer matches what line {n} recorded: it was changed after line {n} was written"
                        ),
                    }
                });
            }
        } else if record.seq > expected {
            self.pending = Some(Gap {
                line: n,
                seq: record.seq,
                prev_seq: self.prev_seq,
                links: record.prev == self.prev_hash,
            });
        } else {
            return Err(ChainBreak {
                line: n,
                kind: BreakKind::Reordered,
                detail: format!(
                    "seq {} comes after seq {}: lines were moved or copied",
                    record.seq, self.prev_seq
                ),
            });
        }
        self.prev_hash = line_hash(body);
        self.prev_seq = record.seq;
        Ok(())
    }

    /// The verdict once every line was fed.
    pub fn finish(self) -> Result<ChainSummary, ChainBreak> {
        if let Some(gap) = &self.pending {
            return Err(classify_gap(gap, None));
        }
        if let Some(line) = self.unterminated {
            return Err(truncated(line));
        }
        Ok(ChainSummary {
            entries: self.line_no,
            last_seq: self.prev_seq,
            head: self.prev_hash,
        })
    }
}

fn truncated(line: u64) -> ChainBreak {
    ChainBreak {
        line,
        kind: BreakKind::Truncated,
        detail: "the last line is cut short (no newline at its end): the file was truncated or an append was torn".into(),
    }
}

/// A line whose seq skipped ahead, judged with the seq of the line after it (`None`: no further
/// line, or not a record).
fn classify_gap(gap: &Gap, next_seq: Option<u64>) -> ChainBreak {
    let first_missing = gap.prev_seq + 1;
    match next_seq {
        _ if gap.links => ChainBreak {
            line: gap.line,
            kind: BreakKind::Edited,
            detail: format!(
                "its seq reads {} where {first_missing} belongs, yet it links to the line before it",
                gap.seq
            ),
        },
        Some(s) if s > gap.prev_seq && s < gap.seq => ChainBreak {
            line: gap.line,
            kind: BreakKind::Reordered,
            detail: format!(
                "seq {} comes before seq {s}: lines were swapped or moved",
                gap.seq
            ),
        },
        _ => {
            let missing = if gap.seq - first_missing == 1 {
                format!("entry {first_missing} is")
            } else {
                format!("entries {first_missing} to {} are", gap.seq - 1)
            };
            ChainBreak {
                line: gap.line,
                kind: BreakKind::Deleted,
                detail: format!("{missing} missing before this line (seq {})", gap.seq),
            }
        }
    }
}

/// Does an environment variable or flag name look like it holds a secret?
/// (`HF_TOKEN`, `--api-key`, `AWS_SECRET_ACCESS_KEY`, `PGPASSWORD`, …). Over-matching only hides
/// harmless text in the log; under-matching would keep a secret.
pub fn name_looks_secret(name: &str) -> bool {
    const WORDS: &[&str] = &[
        "TOKEN",
        "KEY",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "PASSPHRASE",
        "CREDENTIAL",
        "AUTH",
    ];
    let up = name.to_ascii_uppercase();
    WORDS.iter().any(|w| up.contains(w))
}

/// Does `text`, or any word in it, match a secret format of the catalogue? Words are split at
/// whitespace, quotes and `=,;&?`, then again at `:@/` (URLs with credentials, `Bearer` headers).
pub fn contains_known_secret(text: &str, catalogue: &Catalogue) -> bool {
    known_secret_in(text, catalogue).is_some()
}

/// The first part of `text` (the whole, or a word split as [`contains_known_secret`] splits)
/// that matches a secret format of the catalogue.
pub fn known_secret_in<'t>(text: &'t str, catalogue: &Catalogue) -> Option<&'t str> {
    let detect = |s: &&str| !s.is_empty() && catalogue.detect_value(s).is_some();
    if detect(&text) {
        return Some(text);
    }
    text.split(|c: char| c.is_whitespace() || "\"'=,;&?".contains(c))
        .find_map(|word| {
            if detect(&word) {
                Some(word)
            } else {
                word.split([':', '@', '/']).find(detect)
            }
        })
}

/// The parent's argv as it may be logged: an element that holds a known token format becomes
/// [`REDACTED`]; in `NAME=value` the value is redacted when NAME looks secret or the value holds a
/// token; after a flag whose name looks secret (`--token X`), the next element is redacted.
pub fn redact_argv(argv: &[String], catalogue: &Catalogue) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len());
    let mut redact_next = false;
    for arg in argv {
        if std::mem::take(&mut redact_next) && !arg.starts_with('-') {
            out.push(REDACTED.to_owned());
            continue;
        }
        if let Some((name, value)) = arg.split_once('=') {
            let plain_name = !name.is_empty() && !name.contains(char::is_whitespace);
            if plain_name {
                if !value.is_empty()
                    && (name_looks_secret(name)
                        || crate::lookalike::secret_lookalike(value, catalogue).is_some())
                {
                    out.push(format!("{name}={REDACTED}"));
                } else {
                    out.push(arg.clone());
                }
                continue;
            }
        }
        // A provider's format, or a long random-looking word (the generic rule the printer
        // scrubs messages with): `--api-key Zq3x…` of an unknown service is a secret too.
        if crate::lookalike::secret_lookalike(arg, catalogue).is_some() {
            out.push(REDACTED.to_owned());
            continue;
        }
        if arg.starts_with('-') && name_looks_secret(arg.trim_start_matches('-')) {
            redact_next = true;
        }
        out.push(arg.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: &str) -> Entry {
        Entry {
            time: "2025-01-02T03:04:05Z".into(),
            action: action.into(),
            references: vec!["tv://huggingface/token".into()],
            backend: Some("file".into()),
            outcome: "ok".into(),
            pid: 42,
            ppid: Some(1),
            parent_name: Some("sh".into()),
            parent_cmdline: Some(vec!["sh".into(), "-c".into(), "x".into()]),
            generation: Some(3),
            actor: None,
        }
    }

    /// A log of `n` records, each line with its newline.
    /// Verifying `lines` fails at `line` with `kind`; returns the break.
    #[track_caller]
    fn assert_break(lines: &[Vec<u8>], line: u64, kind: BreakKind) -> ChainBreak {
        let b = verify(lines).unwrap_err();
        assert_eq!((b.line, b.kind), (line, kind), "{b}");
        b
    }

    /// Replaces `from` with `to` in line `i` (0-based).
    fn edit(lines: &mut [Vec<u8>], i: usize, from: &str, to: &str) {
        lines[i] = String::from_utf8(lines[i].clone())
            .unwrap()
            .replace(from, to)
            .into_bytes();
    }

    fn log(n: usize) -> Vec<Vec<u8>> {
        let mut head = ChainHead::genesis();
        let mut lines = Vec::new();
        for i in 0..n {
            let r = head.seal(entry(&format!("get{i}")));
            let line = r.to_line().unwrap();
            head = ChainHead::after_line(line.as_bytes());
            lines.push(format!("{line}\n").into_bytes());
        }
        lines
    }

    fn verify(lines: &[Vec<u8>]) -> Result<ChainSummary, ChainBreak> {
        let mut v = Verifier::new();
        for l in lines {
            v.feed(l)?;
        }
        v.finish()
    }

    #[test]
    fn an_intact_chain_verifies_and_reports_its_head() {
        let lines = log(5);
        let s = verify(&lines).unwrap();
        assert_eq!(s.entries, 5);
        assert_eq!(s.last_seq, 5);
        assert_eq!(s.head, line_hash(&lines[4]));
        let empty = verify(&[]).unwrap();
        assert_eq!((empty.entries, empty.head.as_str()), (0, GENESIS));
    }

    #[test]
    fn records_link_to_the_previous_line_and_count_from_one() {
        let lines = log(2);
        let first = Record::parse(&lines[0]).unwrap();
        let second = Record::parse(&lines[1]).unwrap();
        assert_eq!((first.seq, first.prev.as_str()), (1, GENESIS));
        assert_eq!(second.seq, 2);
        assert_eq!(second.prev, line_hash(&lines[0][..lines[0].len() - 1]));
    }

    #[test]
    fn hash_is_sha256_hex_of_the_line_without_newline() {
        // sha256("abc")
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(line_hash(b"abc"), abc);
        assert_eq!(line_hash(b"abc\n"), abc);
        let mut h = LineHasher::new();
        h.update(b"a");
        h.update(b"bc");
        assert_eq!(h.finish(), abc);
    }

    #[test]
    fn an_edited_line_is_named() {
        let mut lines = log(5);
        edit(&mut lines, 2, "\"ok\"", "\"denied\"");
        assert_break(&lines, 3, BreakKind::Edited);
    }

    #[test]
    fn a_line_that_is_no_longer_json_is_edited() {
        let mut lines = log(3);
        lines[1] = b"{ garbage\n".to_vec();
        assert_break(&lines, 2, BreakKind::Edited);
        lines[1] = b"\n".to_vec();
        assert_eq!(verify(&lines).unwrap_err().line, 2);
    }

    #[test]
    fn a_deleted_middle_line_is_named() {
        let mut lines = log(5);
        lines.remove(2);
        let b = assert_break(&lines, 3, BreakKind::Deleted);
        assert!(b.detail.contains("entry 3 is missing"), "{b}");
    }

    #[test]
    fn several_deleted_lines_and_a_deleted_first_line() {
        let mut lines = log(6);
        lines.drain(1..4);
        let b = assert_break(&lines, 2, BreakKind::Deleted);
        assert!(b.detail.contains("entries 2 to 4"), "{b}");

        let mut lines = log(3);
        lines.remove(0);
        assert_break(&lines, 1, BreakKind::Deleted);
    }

    #[test]
    fn the_second_to_last_line_deleted_is_found_at_the_end() {
        let mut lines = log(4);
        lines.remove(2);
        assert_break(&lines, 3, BreakKind::Deleted);
    }

    #[test]
    fn swapped_lines_are_reordered() {
        let mut lines = log(5);
        lines.swap(1, 2);
        assert_break(&lines, 2, BreakKind::Reordered);

        let mut lines = log(5);
        lines.swap(1, 3);
        assert_break(&lines, 2, BreakKind::Reordered);

        let mut lines = log(5);
        lines.swap(0, 3);
        assert_break(&lines, 1, BreakKind::Reordered);

        let mut lines = log(3);
        let copy = lines[0].clone();
        lines.push(copy);
        assert_break(&lines, 4, BreakKind::Reordered);
    }

    #[test]
    fn a_changed_seq_is_an_edit() {
        let mut lines = log(4);
        edit(&mut lines, 1, "\"seq\":2", "\"seq\":9");
        assert_break(&lines, 2, BreakKind::Edited);
    }

    #[test]
    fn a_cut_last_line_is_truncated() {
        let mut lines = log(3);
        let last = lines[2].clone();
        lines[2] = last[..last.len() / 2].to_vec();
        assert_break(&lines, 3, BreakKind::Truncated);

        let mut lines = log(3);
        lines[2].pop(); // a whole record, but its newline is gone
        assert_break(&lines, 3, BreakKind::Truncated);
    }

    #[test]
    fn the_head_after_a_damaged_line_still_links_to_its_bytes() {
        let h = ChainHead::after_line(b"{ half a rec");
        assert!(h.damaged);
        assert_eq!(h.hash, line_hash(b"{ half a rec"));
        let r = h.seal(entry("get"));
        assert_eq!((r.seq, r.prev), (1, line_hash(b"{ half a rec")));
        let lines = log(1);
        let h = ChainHead::after_line(&lines[0]);
        assert!(!h.damaged);
        assert_eq!(h.seq, 1);
    }

    #[test]
    fn a_line_never_contains_a_newline() {
        let mut e = entry("get");
        e.parent_cmdline = Some(vec!["a\nb".into()]);
        let line = ChainHead::genesis().seal(e).to_line().unwrap();
        assert!(!line.contains('\n'));
        assert_eq!(
            Record::parse(line.as_bytes())
                .unwrap()
                .parent_cmdline
                .unwrap()[0],
            "a\nb"
        );
    }

    #[test]
    fn unknown_fields_and_missing_optional_ones_still_parse() {
        let r = Record::parse(
            br#"{"seq":1,"time":"t","action":"get","outcome":"ok","pid":1,"prev":"00","future":true}"#,
        )
        .unwrap();
        assert!(r.references.is_empty() && r.backend.is_none() && r.parent_cmdline.is_none());
    }

    const HF: &str = "hf_abcdefghijklmnopqrstuvwxyz01234567";

    fn argv(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_path_of_forty_characters_is_not_taken_for_an_aws_secret_key() {
        let cat = Catalogue::builtin();
        let path = "/check/work/main/target/debug/tokenvault";
        assert_eq!(path.len(), 40);
        assert!(!contains_known_secret(path, &cat));
        assert_eq!(redact_argv(&argv(&["sh", path]), &cat), argv(&["sh", path]));
        let key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        assert!(contains_known_secret(key, &cat));
        assert_eq!(
            redact_argv(&argv(&["sh", key]), &cat),
            argv(&["sh", REDACTED])
        );
    }

    #[test]
    fn argv_secrets_are_redacted() {
        let cat = Catalogue::builtin();
        assert!(
            cat.detect_value(HF).is_some(),
            "test token must look like an HF token"
        );
        let got = redact_argv(
            &argv(&[
                "env",
                &format!("HF_TOKEN={HF}"),
                "MY_API_KEY=opaque-value",
                "PGPASSWORD=hunter2",
                "PATH=/usr/bin",
                "EMPTY_TOKEN=",
                HF,
                "--token",
                "opaque",
                "--secret=shh",
                &format!("https://user:{HF}@huggingface.co/x"),
                &format!("Authorization: Bearer {HF}"),
                "tokenvault",
                "run",
                "--api-key",
                "Zq3xV9pL2mK7rT1wY8bN4cJ6",
                "--opaque=Zq3xV9pL2mK7rT1wY8bN4cJ6",
            ]),
            &cat,
        );
        assert_eq!(
            got,
            argv(&[
                "env",
                "HF_TOKEN=<redacted>",
                "MY_API_KEY=<redacted>",
                "PGPASSWORD=<redacted>",
                "PATH=/usr/bin",
                "EMPTY_TOKEN=",
                "<redacted>",
                "--token",
                "<redacted>",
                "--secret=<redacted>",
                "<redacted>",
                "<redacted>",
                "tokenvault",
                "run",
                "--api-key",
                "<redacted>",
                "--opaque=<redacted>",
            ])
        );
        let joined = got.join(" ");
        for s in [HF, "opaque-value", "hunter2", "shh"] {
            assert!(!joined.contains(s), "{s} leaked: {joined}");
        }
    }

    #[test]
    fn harmless_argv_is_kept() {
        let cat = Catalogue::builtin();
        let a = argv(&["sh", "-c", "tokenvault get huggingface", "--verbose", "x=1"]);
        assert_eq!(redact_argv(&a, &cat), a);
        // a flag with a secret-looking name followed by another flag: nothing to redact
        let a = argv(&["tool", "--token", "--verbose"]);
        assert_eq!(redact_argv(&a, &cat), a);
    }

    #[test]
    fn secret_names() {
        for n in [
            "HF_TOKEN",
            "aws_secret_access_key",
            "--api-key",
            "PASSWORD",
            "GIT_ASKPASS_PASSPHRASE",
        ] {
            assert!(name_looks_secret(n), "{n}");
        }
        for n in ["PATH", "HOME", "--verbose", "HF_ENDPOINT"] {
            assert!(!name_looks_secret(n), "{n}");
        }
    }
}
