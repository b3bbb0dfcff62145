//! The scan engine: bytes in, findings out, no I/O.
//!
//! Speed comes from doing almost nothing on most bytes. One Aho-Corasick automaton holds every
//! rule's keywords (as written for case-sensitive provider rules; in lower, UPPER, Title and
//! written case for rules that ignore case, which keeps the automaton case-sensitive and so eligible
//! for the SIMD "Teddy" prefilter); a regex runs only on the line around a keyword hit,
//! and only once per rule per line. The exact-value matcher is a second automaton, built only
//! when the caller holds values. Candidates of one buffer are collected, overlapping ones merged
//! (a provider rule beats the exact matcher beats a generic rule, and an exact match lends its vault
//! reference to the winner), and then line, column, the `tokenvault:allow` marker and the mask are
//! computed for the few that survive. Nothing is allocated per line; a [`Scratch`] carries the
//! per-thread regex caches between buffers.
//!
//! An input too large for memory is scanned in windows ([`Scanner::scan_window`]): each window owns
//! a range of the input and carries [`Scanner::context`] bytes of the input on either side of it.
//! What a finding depends on is bounded: a regex only ever runs inside a keyword's line window (at
//! most [`MAX_WINDOW`] bytes either side of the keyword, so no rule's match is longer than
//! `2 × MAX_WINDOW` plus a keyword, whatever its regex says), an exact match is at most the longest
//! value's longest encoding, and the `tokenvault:allow` marker is looked for at most [`MAX_WINDOW`]
//! bytes either side of a finding on its line. The state that chains from one keyword hit to the
//! next (which rule windows are already searched, where the exact matcher resumes, candidates whose
//! overlap cluster is not closed yet) is kept in the [`Scratch`] in absolute offsets, so a chunked
//! scan reports exactly what one scan of the whole input would.
//!
//! A [`Finding`] never holds the value: only its masked form (`hf_ab…wxyz`, see
//! `tokenvault_core::mask`) and an in-memory digest used to de-duplicate, which is never serialized.

use crate::exact::ExactMatcher;
use crate::rules::{Rule, RuleKind, RuleSet};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex_automata::util::captures::Captures;
use regex_automata::{meta, Anchored, Input};
use serde::Serialize;
use std::hash::{Hash, Hasher};

/// The inline marker that suppresses findings on its line.
pub const ALLOW_MARKER: &[u8] = b"tokenvault:allow";

/// How far around a keyword hit a regex may look when a line is very long (minified files); also
/// how far from a finding the `tokenvault:allow` marker counts on such a line.
pub const MAX_WINDOW: usize = 4096;

/// A cluster of overlapping candidates that is still open this far behind a window's end is closed
/// there (only a pathological chain of overlapping matches gets this long). Bounds what a chunked
/// scan keeps from earlier windows.
pub const MAX_PENDING: u64 = 1 << 20;

/// Look-around assertions (`\b` and friends) read up to one UTF-8 character past a search span.
const LOOK_AROUND: usize = 16;

/// One leaked value. Offsets are bytes into the scanned input; `line` and `column` are 1-based
/// (column in bytes).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// `huggingface/token`, `generic/secret-assignment`, or `vault/value` for an exact match.
    pub rule: String,
    pub kind: RuleKind,
    pub provider: Option<String>,
    pub description: String,
    /// The vault entry this value equals (`tv://huggingface/token`), when it is one you hold.
    pub reference: Option<String>,
    /// How the value appeared when it was not verbatim: `base64` or `url`.
    pub encoding: Option<&'static str>,
    pub start: u64,
    pub end: u64,
    pub line: u64,
    pub column: u64,
    /// The value, masked: never more than a third of it, never under 12 characters.
    pub masked: String,
    #[serde(skip)]
    digest: u64,
}

impl Finding {
    /// A hash of the value, for de-duplicating the same leak across files and commits in memory.
    /// It is not part of any output (short values could be brute-forced from it).
    pub fn digest(&self) -> u64 {
        self.digest
    }
}

/// Where a finding goes. The engine never prints.
pub trait Sink {
    fn finding(&mut self, finding: Finding);
}

impl Sink for Vec<Finding> {
    fn finding(&mut self, finding: Finding) {
        self.push(finding);
    }
}

/// A closure as a sink.
pub struct FnSink<F>(pub F);

impl<F: FnMut(Finding)> Sink for FnSink<F> {
    fn finding(&mut self, finding: Finding) {
        (self.0)(finding)
    }
}

/// Where a buffer sits in a larger input (a chunk of a streamed file): its first byte's offset,
/// line number (1-based), and the offset at which that line starts (for columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    pub offset: u64,
    pub line: u64,
    pub line_start: u64,
}

impl Default for Origin {
    fn default() -> Self {
        Origin {
            offset: 0,
            line: 1,
            line_start: 0,
        }
    }
}

impl Origin {
    /// The origin of `skipped` bytes further on (which must be the start of this buffer).
    pub fn advance(&mut self, skipped: &[u8]) {
        let mut newlines = memchr::memchr_iter(b'\n', skipped);
        if let Some(last) = newlines.next_back() {
            self.line += 1 + newlines.count() as u64;
            self.line_start = self.offset + last as u64 + 1;
        }
        self.offset += skipped.len() as u64;
    }
}

/// A buffer that is part of a larger input, for [`Scanner::scan_window`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Where the buffer's first byte is.
    pub origin: Origin,
    /// The absolute range of the input this window owns: keyword hits and exact matches that
    /// start in it are this window's. The buffer must hold [`Scanner::context`] bytes before it
    /// (or start at the input's start) and after it (or end at the input's end).
    pub own_from: u64,
    pub own_to: u64,
    /// The buffer ends where the input ends.
    pub last: bool,
}

/// Per-thread working memory, reused across buffers; it also carries a chunked scan's state from
/// one window to the next.
pub struct Scratch {
    caches: Vec<meta::Cache>,
    caps: Vec<Captures>,
    /// Per rule, the absolute offset up to which its regex already searched the current line.
    done_until: Vec<u64>,
    /// Candidates (absolute offsets) whose overlap cluster may still grow.
    cands: Vec<Cand>,
    /// Where the exact matcher's non-overlapping search goes on.
    exact_resume: u64,
}

impl Scratch {
    /// Forgets the previous input: the next window starts a new one.
    pub fn begin(&mut self) {
        self.done_until.iter_mut().for_each(|d| *d = 0);
        self.cands.clear();
        self.exact_resume = 0;
    }

    /// The first absolute offset the window after one owning up to `own_to` needs in its buffer.
    pub fn needed_from(&self, own_to: u64, context: usize) -> u64 {
        let pending = self.cands.iter().map(|c| c.start).min().unwrap_or(u64::MAX);
        own_to
            .saturating_sub(context as u64)
            .min(pending.saturating_sub(MAX_WINDOW as u64))
    }
}

#[derive(Debug, Clone, Copy)]
struct Cand {
    start: u64,
    end: u64,
    kind: RuleKind,
    /// Rule index, or exact pattern index for `RuleKind::Exact`.
    index: usize,
}

/// Rules plus the automata built from them. Immutable and `Sync`: share one across threads.
pub struct Scanner {
    rules: Vec<Rule>,
    keywords: Option<AhoCorasick>,
    /// For each keyword pattern, the rules it belongs to: `kw_rules[kw_start[p]..kw_start[p + 1]]`.
    kw_start: Vec<u32>,
    kw_rules: Vec<u32>,
    exact: Option<ExactMatcher>,
    /// Bytes of context a window needs on each side of what it owns.
    context: usize,
    /// Every rule's published example values (`ignore_values`), sorted: a generic rule does not
    /// report them either (Firebase's example key after `apiKey:`).
    ignored: Vec<String>,
}

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("rules", &self.rules.len())
            .field("exact", &self.exact)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("could not build the keyword automaton over {count} keywords: {message}")]
pub struct BuildError {
    count: usize,
    message: String,
}

/// The spellings of a keyword the automaton looks for.
fn case_variants(k: &str) -> Vec<String> {
    let lower = k.to_ascii_lowercase();
    let mut title = lower.clone();
    if let Some(pos) = title.bytes().position(|b| b.is_ascii_alphabetic()) {
        title[pos..=pos].make_ascii_uppercase();
    }
    let mut v = vec![k.to_owned(), lower, k.to_ascii_uppercase(), title];
    v.sort();
    v.dedup();
    v
}

/// Teddy, the SIMD prefilter, takes at most 64 patterns well (and none past 128): keep an eye on it.
fn self_check_pattern_count(n: usize) {
    debug_assert!(
        n < 128,
        "{n} keyword spellings: too many for the SIMD prefilter"
    );
}

fn line_window(hay: &[u8], start: usize, end: usize) -> (usize, usize) {
    let lo = start.saturating_sub(MAX_WINDOW);
    let ws = memchr::memrchr(b'\n', &hay[lo..start]).map_or(lo, |i| lo + i + 1);
    let hi = (end + MAX_WINDOW).min(hay.len());
    // Include the newline itself: rules may end with "followed by whitespace".
    let we = memchr::memchr(b'\n', &hay[end..hi]).map_or(hi, |i| end + i + 1);
    (ws, we)
}

fn digest(bytes: &[u8]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

impl Scanner {
    /// A scanner over `rules`, and over the caller's values when `exact` is given.
    pub fn new(rules: RuleSet, exact: Option<ExactMatcher>) -> Result<Scanner, BuildError> {
        let rules = rules.rules().to_vec();
        let mut patterns: Vec<String> = Vec::new();
        let mut owners: Vec<Vec<u32>> = Vec::new();
        for (ri, rule) in rules.iter().enumerate() {
            for k in rule.keywords.iter().filter(|k| !k.is_empty()) {
                let spellings = if rule.keyword_case_variants {
                    case_variants(k)
                } else {
                    vec![k.clone()]
                };
                for v in spellings {
                    let ri = ri as u32;
                    match patterns.iter().position(|p| *p == v) {
                        Some(pi) if !owners[pi].contains(&ri) => owners[pi].push(ri),
                        Some(_) => {}
                        None => {
                            patterns.push(v);
                            owners.push(vec![ri]);
                        }
                    }
                }
            }
        }
        self_check_pattern_count(patterns.len());
        let keywords = if patterns.is_empty() {
            None
        } else {
            Some(
                // Leftmost-first (not overlapping) search is what enables the SIMD prefilter;
                // `scan_with` restarts one byte after each hit, so no keyword hides another.
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(&patterns)
                    .map_err(|e| BuildError {
                        count: patterns.len(),
                        message: e.to_string(),
                    })?,
            )
        };
        let mut kw_start = Vec::with_capacity(owners.len() + 1);
        let mut kw_rules = Vec::new();
        for o in &owners {
            kw_start.push(kw_rules.len() as u32);
            kw_rules.extend_from_slice(o);
        }
        kw_start.push(kw_rules.len() as u32);
        let exact = exact.filter(|e| !e.is_empty());
        // A hit's line window reaches MAX_WINDOW bytes past the keyword's end, and look-around a
        // little further; an exact match is at most its longest pattern. The window before a hit is
        // MAX_WINDOW bytes, and the allow marker's reach is the same.
        let longest_keyword = patterns.iter().map(String::len).max().unwrap_or(0);
        let longest_exact = exact.as_ref().map_or(0, ExactMatcher::longest);
        let context = MAX_WINDOW + longest_keyword.max(longest_exact) + LOOK_AROUND;
        let mut ignored: Vec<String> = rules
            .iter()
            .flat_map(|r| r.ignore_values.iter().cloned())
            .collect();
        ignored.sort();
        ignored.dedup();
        Ok(Scanner {
            rules,
            keywords,
            kw_start,
            kw_rules,
            exact,
            context,
            ignored,
        })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    fn is_ignored(&self, value: &[u8]) -> bool {
        !self.ignored.is_empty()
            && self
                .ignored
                .binary_search_by(|v| v.as_bytes().cmp(value))
                .is_ok()
    }

    /// Bytes of the input a window needs on each side of the range it owns
    /// (see [`Scanner::scan_window`]).
    pub fn context(&self) -> usize {
        self.context
    }

    /// How many vault values the exact matcher looks for.
    pub fn exact_values(&self) -> usize {
        self.exact.as_ref().map_or(0, ExactMatcher::len)
    }

    /// How many keyword hits the prefilter finds in `hay` (for the engine benchmark).
    #[doc(hidden)]
    pub fn keyword_hits(&self, hay: &[u8]) -> usize {
        self.keywords
            .as_ref()
            .map_or(0, |ac| ac.find_iter(hay).count())
    }

    /// Working memory for one thread.
    pub fn scratch(&self) -> Scratch {
        Scratch {
            caches: self.rules.iter().map(|r| r.regex.create_cache()).collect(),
            caps: self
                .rules
                .iter()
                .map(|r| r.regex.create_captures())
                .collect(),
            done_until: vec![0; self.rules.len()],
            cands: Vec::new(),
            exact_resume: 0,
        }
    }

    /// Scans one buffer that is a whole input. Returns the number of findings reported.
    pub fn scan(&self, hay: &[u8], sink: &mut dyn Sink) -> usize {
        let mut scratch = self.scratch();
        self.scan_with(&mut scratch, hay, Origin::default(), sink)
    }

    /// Scans `hay`, a whole input that starts at `origin`, reusing `scratch`.
    pub fn scan_with(
        &self,
        scratch: &mut Scratch,
        hay: &[u8],
        origin: Origin,
        sink: &mut dyn Sink,
    ) -> usize {
        scratch.begin();
        let window = Window {
            origin,
            own_from: origin.offset,
            own_to: origin.offset + hay.len() as u64,
            last: true,
        };
        self.scan_window(scratch, hay, window, sink)
    }

    /// Scans one window of a larger input: the keyword hits and exact matches that start in
    /// `window`'s own range, and reports the findings whose overlap cluster is closed (all of them
    /// when the window is the last). Call [`Scratch::begin`] before an input's first window; windows
    /// must come in order and own adjacent ranges. The findings of all windows are those one
    /// [`Scanner::scan_with`] of the whole input reports.
    pub fn scan_window(
        &self,
        scratch: &mut Scratch,
        hay: &[u8],
        window: Window,
        sink: &mut dyn Sink,
    ) -> usize {
        let base = window.origin.offset;
        let from = (window.own_from - base) as usize;
        let to = ((window.own_to - base) as usize).min(hay.len());
        if let Some(ac) = &self.keywords {
            let mut pos = from;
            while let Some(m) = ac.find(aho_corasick::Input::new(hay).span(pos..hay.len())) {
                if m.start() >= to {
                    break;
                }
                pos = m.start() + 1;
                let p = m.pattern().as_usize();
                let owners =
                    &self.kw_rules[self.kw_start[p] as usize..self.kw_start[p + 1] as usize];
                for &ri in owners {
                    let ri = ri as usize;
                    if base + (m.start() as u64) < scratch.done_until[ri] {
                        continue;
                    }
                    let (ws, we) = line_window(hay, m.start(), m.end());
                    self.search_rule(scratch, ri, hay, base, ws, we);
                    scratch.done_until[ri] = base + we as u64;
                }
            }
        }
        if let Some(exact) = &self.exact {
            let pos = (scratch.exact_resume.max(window.own_from) - base) as usize;
            for m in exact
                .ac
                .find_iter(aho_corasick::Input::new(hay).span(pos.min(hay.len())..hay.len()))
            {
                if m.start() >= to {
                    break;
                }
                scratch.cands.push(Cand {
                    start: base + m.start() as u64,
                    end: base + m.end() as u64,
                    kind: RuleKind::Exact,
                    index: m.pattern().as_usize(),
                });
                scratch.exact_resume = base + m.end() as u64;
            }
        }
        if scratch.cands.is_empty() {
            return 0;
        }
        self.report(scratch, hay, window, sink)
    }

    fn search_rule(
        &self,
        scratch: &mut Scratch,
        ri: usize,
        hay: &[u8],
        base: u64,
        ws: usize,
        we: usize,
    ) {
        let rule = &self.rules[ri];
        let mut at = ws;
        while at < we {
            let input = Input::new(hay).span(at..we);
            let Some(mat) = rule.regex.search_with(&mut scratch.caches[ri], &input) else {
                break;
            };
            let (s, e) = if rule.secret_groups.is_empty() {
                (mat.start(), mat.end())
            } else {
                let input = Input::new(hay)
                    .span(mat.start()..mat.end())
                    .anchored(Anchored::Yes);
                let caps = &mut scratch.caps[ri];
                rule.regex
                    .search_captures_with(&mut scratch.caches[ri], &input, caps);
                match rule.secret_groups.iter().find_map(|&g| caps.get_group(g)) {
                    Some(span) => (span.start, span.end),
                    None => (mat.start(), mat.end()),
                }
            };
            if e > s
                && rule.accepts(&hay[s..e])
                && !documentation_example(&hay[s..e])
                && !(rule.kind == RuleKind::Generic
                    && (declared_type(&hay[e..])
                        || type_name(&hay[s..e])
                        || self.is_ignored(&hay[s..e])))
            {
                scratch.cands.push(Cand {
                    start: base + s as u64,
                    end: base + e as u64,
                    kind: rule.kind,
                    index: ri,
                });
            }
            at = if mat.end() > mat.start() {
                mat.end()
            } else {
                mat.end() + 1
            };
        }
    }

    fn report(
        &self,
        scratch: &mut Scratch,
        hay: &[u8],
        window: Window,
        sink: &mut dyn Sink,
    ) -> usize {
        let origin = window.origin;
        let base = origin.offset;
        // Candidates of later windows start at or after this (a line window reaches MAX_WINDOW
        // bytes back from its keyword): a cluster that ends there is closed.
        let closed_before = if window.last {
            u64::MAX
        } else {
            window.own_to.saturating_sub(MAX_WINDOW as u64)
        };
        let cands = &mut scratch.cands;
        // A total order, so the winner of a cluster does not depend on the order candidates were
        // found in.
        cands.sort_unstable_by(|a, b| {
            a.start
                .cmp(&b.start)
                .then(b.kind.cmp(&a.kind))
                .then(b.end.cmp(&a.end))
                .then(a.index.cmp(&b.index))
        });
        let mut reported = 0;
        // Line counting is incremental: findings come in offset order.
        let mut line_pos = 0usize;
        let mut line_no = origin.line;
        let mut i = 0;
        while i < cands.len() {
            // A cluster of overlapping candidates.
            let mut j = i + 1;
            let mut cluster_end = cands[i].end;
            while j < cands.len() && cands[j].start < cluster_end {
                cluster_end = cluster_end.max(cands[j].end);
                j += 1;
            }
            if cluster_end > closed_before && cands[i].start + MAX_PENDING >= window.own_to {
                // Still open: the next window may add to it (and, clusters being in order, to
                // none of the later ones either).
                break;
            }
            let cluster = &cands[i..j];
            i = j;
            let Some(win) = cluster
                .iter()
                .max_by(|a, b| a.kind.cmp(&b.kind).then(b.start.cmp(&a.start)))
            else {
                continue;
            };
            let exact = cluster.iter().find(|c| c.kind == RuleKind::Exact);
            let start = (win.start - base) as usize;
            let end = (win.end - base) as usize;
            line_no += memchr::memchr_iter(b'\n', &hay[line_pos..start]).count() as u64;
            line_pos = start;
            let line_start = memchr::memrchr(b'\n', &hay[..start])
                .map_or(origin.line_start, |p| base + p as u64 + 1);
            // The marker counts on the finding's line, at most MAX_WINDOW bytes away from it.
            let lo = line_start
                .max(win.start.saturating_sub(MAX_WINDOW as u64))
                .max(base)
                - base;
            let hi = (end + MAX_WINDOW).min(hay.len());
            let line_end = memchr::memchr(b'\n', &hay[start..hi]).map_or(hi, |p| start + p);
            if memchr::memmem::find(&hay[lo as usize..line_end], ALLOW_MARKER).is_some() {
                continue;
            }
            let value = &hay[start..end];
            let text = String::from_utf8_lossy(value);
            let mut finding = match win.kind {
                RuleKind::Exact => self.exact_finding(win.index, &text),
                _ => {
                    let rule = &self.rules[win.index];
                    let prefix = rule.prefixes.iter().find(|p| text.starts_with(p.as_str()));
                    Finding {
                        rule: rule.id.clone(),
                        kind: rule.kind,
                        provider: rule.provider.clone(),
                        description: rule.description.clone(),
                        reference: None,
                        encoding: None,
                        start: 0,
                        end: 0,
                        line: 0,
                        column: 0,
                        masked: tokenvault_core::mask(&text, prefix.map(String::as_str)),
                        digest: 0,
                    }
                }
            };
            if let (Some(x), Some(e)) = (exact, &self.exact) {
                finding.reference = Some(e.values[e.patterns[x.index].value].reference.clone());
            }
            finding.start = win.start;
            finding.end = win.end;
            finding.line = line_no;
            finding.column = win.start - line_start + 1;
            finding.digest = digest(value);
            sink.finding(finding);
            reported += 1;
        }
        cands.drain(..i);
        reported
    }

    fn exact_finding(&self, pattern: usize, text: &str) -> Finding {
        let Some(e) = &self.exact else {
            unreachable!("an exact candidate exists only with an exact matcher");
        };
        let p = &e.patterns[pattern];
        let meta = &e.values[p.value];
        let prefix = meta
            .prefix
            .as_deref()
            .filter(|pre| p.encoding.is_none() && text.starts_with(pre));
        Finding {
            rule: "vault/value".into(),
            kind: RuleKind::Exact,
            provider: meta.provider.clone(),
            description: match p.encoding {
                Some(enc) => format!("a value stored in the vault ({enc}-encoded)"),
                None => "a value stored in the vault".into(),
            },
            reference: Some(meta.reference.clone()),
            encoding: p.encoding,
            start: 0,
            end: 0,
            line: 0,
            column: 0,
            masked: tokenvault_core::mask(text, prefix),
            digest: 0,
        }
    }
}

/// Values that vendors print in their documentation and SDK test suites (AWS's
/// `AKIAIOSFODNN7EXAMPLE`, `wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`, …): never a live credential
/// (a real key's random characters do not spell it), and a registry of dependencies holds hundreds.
/// gitleaks allows them the same way.
fn documentation_example(value: &[u8]) -> bool {
    memchr::memmem::find(value, b"EXAMPLE").is_some()
}

/// `der_pub_key: PublicKeyX509Der,`: the "value" of a generic match is a CamelCase type name — capitalised
/// words of at least two lower-case letters (`Public`, `Pkcs8`), acronyms and numbers (`X509`), at
/// least two words. Random text fails it: it has a lone lower-case letter, one after a digit, or
/// begins in lower case.
fn type_name(value: &[u8]) -> bool {
    if !value.first().is_some_and(u8::is_ascii_uppercase) {
        return false;
    }
    let (mut i, mut words) = (0, 0);
    while i < value.len() {
        let b = value[i];
        if b.is_ascii_uppercase() {
            let caps = i;
            while i < value.len() && value[i].is_ascii_uppercase() {
                i += 1;
            }
            let lower = i;
            while i < value.len() && value[i].is_ascii_lowercase() {
                i += 1;
            }
            match i - lower {
                0 => {}
                1 => return false,
                _ => words += 1,
            }
            if lower - caps > 6 {
                return false;
            }
        } else if b.is_ascii_digit() {
            while i < value.len() && value[i].is_ascii_digit() {
                i += 1;
            }
            if value.get(i).is_some_and(u8::is_ascii_lowercase) {
                return false;
            }
        } else {
            return false;
        }
    }
    words >= 2
}

/// `NAME_KEY: TypeName = …`: the "value" of a generic match is a type annotation in a typed
/// declaration (Rust, TypeScript, Kotlin, Swift), followed by the real assignment.
fn declared_type(after: &[u8]) -> bool {
    let rest = after
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .map_or(&[][..], |i| &after[i..]);
    rest.first() == Some(&b'=') && rest.get(1) != Some(&b'=') && rest.get(1) != Some(&b'>')
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokenvault_core::Catalogue;

    fn scanner() -> Scanner {
        Scanner::new(
            RuleSet::from_catalogue(&Catalogue::builtin()).unwrap(),
            None,
        )
        .unwrap()
    }

    #[test]
    fn type_names_are_camel_case_words_and_random_text_is_not() {
        for t in [
            "PublicKeyX509Der",
            "SecretKeyPkcs8Der",
            "AccessTokenString",
            "X509HardwareKeyUsageFlags",
        ] {
            assert!(type_name(t.as_bytes()), "{t}");
        }
        for v in [
            "Zq3xV9pL2mK7rT1wY8bN4cJ6",
            "AB12CD34EF56GH78",
            "q8Zr2LmX4vN7tK1pW9sB3yC6",
            "Kq7vTzN2pR9wXb4mYs8cLf3hJd6gAe1uQo5iWk0B",
            "AIzaSyDMAScliyLx7F0NPDEJi1QmyCgHIAODrlU",
            "Password",
        ] {
            assert!(!type_name(v.as_bytes()), "{v}");
        }
    }

    #[test]
    fn case_variants_cover_the_usual_spellings() {
        assert_eq!(case_variants("token"), vec!["TOKEN", "Token", "token"]);
        assert_eq!(case_variants("_key"), vec!["_KEY", "_Key", "_key"]);
        assert!(case_variants("T3BlbkFJ").contains(&"T3BlbkFJ".to_owned()));
    }

    #[test]
    fn positions_lines_columns_and_mask() {
        let s = scanner();
        let text = b"line one\n  url = \"https://x:hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567@hub\"\n";
        let mut out = Vec::new();
        assert_eq!(s.scan(text, &mut out), 1);
        let f = &out[0];
        assert_eq!(f.rule, "huggingface/token");
        assert_eq!((f.line, f.column), (2, 20));
        assert_eq!(
            &text[f.start as usize..f.end as usize],
            b"hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567"
        );
        assert_eq!(f.masked, "hf_aB…4567");
        assert!(!serde_json::to_string(f).unwrap().contains("hf_aBcDeFgHiJ"));
    }

    #[test]
    fn allow_marker_suppresses_its_line_only() {
        let s = scanner();
        let text = b"a = 'hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567' # tokenvault:allow\nb = 'hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567'\n";
        let mut out = Vec::new();
        s.scan(text, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].line, 2);
    }

    #[test]
    fn provider_rule_wins_over_generic_and_origin_shifts() {
        let s = scanner();
        let text = b"HF_TOKEN=hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567\n";
        let mut out = Vec::new();
        let mut scratch = s.scratch();
        s.scan_with(
            &mut scratch,
            text,
            Origin {
                offset: 100,
                line: 7,
                line_start: 90,
            },
            &mut out,
        );
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].rule, "huggingface/token");
        assert_eq!((out[0].start, out[0].line, out[0].column), (109, 7, 20));
    }

    #[test]
    fn many_hits_on_one_long_line_stay_linear() {
        let s = scanner();
        let mut text = Vec::new();
        for _ in 0..20_000 {
            text.extend_from_slice(b"token token _key secret ");
        }
        let mut out = Vec::new();
        s.scan(&text, &mut out);
        assert!(out.is_empty());
    }
}
