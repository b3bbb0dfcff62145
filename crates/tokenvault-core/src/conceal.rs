//! Streaming concealment of secret values, for `run --mask` (SPEC §2).
//!
//! `run --mask` keeps tokenvault as the parent of the child and pipes the child's stdout and stderr
//! through a [`Concealer`], which replaces every occurrence of every injected value with
//! `<concealed:VAR>`. A child writes whatever it likes whenever it likes, so a value may arrive split
//! across any number of reads; the concealer must never let a piece of it through, must not buffer
//! output it knows to be harmless (an interactive program's prompt has to show up at once), and must
//! keep its memory bounded whatever the output size. This module is pure (bytes in, bytes out); the
//! binary owns the pipes.
//!
//! How it works. The output is, byte for byte, what a whole-buffer leftmost-longest replacement of the
//! concatenated stream would give, however the stream is cut into feeds:
//! - the search over each feed is one Aho-Corasick pass (`aho-corasick`, leftmost-longest), whose
//!   prefilters (memchr / Teddy) skip non-matching text in bulk; non-matching spans are copied with
//!   one `extend_from_slice` each, so there is no per-byte work in our own loops;
//! - a match is committed as soon as no longer or earlier match could still complete with later
//!   input; the only bytes held back between feeds are the longest suffix of the stream that is a
//!   proper prefix of some value (found with a small prefix trie over at most `longest − 1` bytes),
//!   so at most `longest value − 1` bytes are held, and only when they could be the start of a value;
//! - [`Concealer::finish`] settles the held tail at end of stream.
//!
//! Choices:
//! - empty values are ignored (they would match everywhere);
//! - values of 1–3 bytes ARE concealed. Short values make false positives likely (a value `1` turns
//!   every `1` of the output into `<concealed:VAR>`), but the caller asked for this value to be
//!   concealed and leaking it is worse than noisy output; choosing what to conceal is the caller's job;
//! - when two values overlap in the output, the leftmost occurrence wins, then the longest; the tail
//!   of the losing value that lies after the winner stays visible (it is not a whole value);
//! - a value listed twice (two variables holding the same token) is concealed under the first name;
//! - the automaton keeps copies of the values that cannot be zeroized (they live inside
//!   `aho-corasick`); the buffers this module owns (held tail, stitching buffer, prefix trie) are.

use aho_corasick::{AhoCorasick, Input, MatchKind};
use zeroize::{Zeroize, Zeroizing};

use crate::Secret;

/// Why a [`Concealer`] could not be built. Never carries a value.
#[derive(Debug, thiserror::Error)]
pub enum ConcealError {
    /// The automaton exceeded its size limits (an enormous number or size of values).
    #[error("cannot build the masking automaton for {count} values: {reason}")]
    Build { count: usize, reason: String },
}

/// A streaming replacer: values in, `<concealed:NAME>` out. One per output stream.
pub struct Concealer {
    /// `None` when there is nothing to conceal: every feed passes through.
    searcher: Option<AhoCorasick>,
    /// `<concealed:NAME>` by the automaton's pattern index.
    replacements: Vec<Vec<u8>>,
    names: Vec<String>,
    /// Proper prefixes of the values, to decide which tail must be held back.
    prefixes: PrefixTrie,
    /// Length of the longest value.
    max_len: usize,
    /// The held-back tail: a proper prefix of some value, at most `max_len - 1` bytes.
    pending: Zeroizing<Vec<u8>>,
    /// Reused buffer for stitching `pending` to the next (short) feed.
    scratch: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Concealer {
    // Names only: the derived Debug of the automaton would print the values.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Concealer")
            .field("names", &self.names)
            .field("held", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl Concealer {
    /// A concealer for `(VAR, value)` pairs, as `run` injects them.
    pub fn new(pairs: &[(String, Secret)]) -> Result<Concealer, ConcealError> {
        // Reading the values here is the point of the module: they are compiled into the matcher
        // and never leave it except as `<concealed:VAR>`.
        Concealer::from_bytes(
            pairs
                .iter()
                .map(|(name, value)| (name.as_str(), value.expose_secret().as_bytes())),
        )
    }

    /// A concealer for `(name, value)` pairs given as bytes.
    pub fn from_bytes<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<Concealer, ConcealError> {
        Concealer::build(
            pairs
                .into_iter()
                .map(|(name, value)| (name, value, format!("<concealed:{name}>").into_bytes())),
        )
    }

    /// A concealer that replaces each value with a replacement of the caller's (`run --proxy`
    /// puts the placeholder back where a response echoes the real value); `name` is for `Debug`.
    pub fn replacing<'a>(
        triples: impl IntoIterator<Item = (&'a str, &'a [u8], Vec<u8>)>,
    ) -> Result<Concealer, ConcealError> {
        Concealer::build(triples)
    }

    fn build<'a>(
        triples: impl IntoIterator<Item = (&'a str, &'a [u8], Vec<u8>)>,
    ) -> Result<Concealer, ConcealError> {
        let mut names: Vec<String> = Vec::new();
        let mut values: Vec<&[u8]> = Vec::new();
        let mut replacements: Vec<Vec<u8>> = Vec::new();
        for (name, value, replacement) in triples {
            // Empty values would match between every two bytes; duplicates keep the first name.
            if value.is_empty() || values.contains(&value) {
                continue;
            }
            names.push(name.to_owned());
            values.push(value);
            replacements.push(replacement);
        }
        let max_len = values.iter().map(|v| v.len()).max().unwrap_or(0);
        let searcher = if values.is_empty() {
            None
        } else {
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&values)
                .map_err(|e| ConcealError::Build {
                    count: values.len(),
                    reason: e.to_string(),
                })?;
            Some(ac)
        };
        Ok(Concealer {
            searcher,
            replacements,
            prefixes: PrefixTrie::new(&values),
            names,
            max_len,
            pending: Zeroizing::new(Vec::with_capacity(max_len)),
            scratch: Zeroizing::new(Vec::new()),
        })
    }

    /// The most bytes ever held back between feeds: `longest value − 1`.
    pub fn max_held(&self) -> usize {
        self.max_len.saturating_sub(1)
    }

    /// How many bytes are held back right now (a possible start of a value).
    pub fn held(&self) -> usize {
        self.pending.len()
    }

    /// Appends to `out` everything of `input` (after what earlier feeds held back) that is known to
    /// be final, with values replaced; holds back only a tail that could be the start of a value.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let Some(searcher) = &self.searcher else {
            out.extend_from_slice(input);
            return;
        };
        if self.pending.is_empty() {
            let hold = self.scan(input, 0, out, false);
            self.pending.extend_from_slice(&input[hold..]);
            return;
        }
        if input.len() < self.max_len {
            // A short feed: stitch it to the held tail and treat both as one buffer (< 2 × longest).
            let mut buf = std::mem::take(&mut self.scratch);
            buf.clear();
            buf.extend_from_slice(&self.pending);
            buf.extend_from_slice(input);
            self.pending.zeroize();
            let hold = self.scan(&buf, 0, out, false);
            self.pending.extend_from_slice(&buf[hold..]);
            buf.zeroize();
            self.scratch = buf;
            return;
        }
        // A long feed (≥ longest value): every byte that may need holding at the end lies inside
        // `input`, so matches starting in the held tail are final as soon as they are seen. They end
        // at most `longest − 1` bytes into `input`: settle them on a small stitched window, then
        // continue on `input` itself without copying it.
        let p = self.pending.len();
        let mut window = std::mem::take(&mut self.scratch);
        window.clear();
        window.extend_from_slice(&self.pending);
        window.extend_from_slice(&input[..self.max_len - 1]);
        let mut at = 0;
        loop {
            match searcher.find(Input::new(&window[..]).span(at..window.len())) {
                Some(m) if m.start() < p => {
                    out.extend_from_slice(&window[at..m.start()]);
                    out.extend_from_slice(&self.replacements[m.pattern().as_usize()]);
                    at = m.end();
                    if at >= p {
                        break;
                    }
                }
                // No value starts in the rest of the held tail: it was harmless after all.
                _ => {
                    out.extend_from_slice(&window[at..p]);
                    at = p;
                    break;
                }
            }
        }
        window.zeroize();
        self.scratch = window;
        self.pending.zeroize();
        let hold = self.scan(input, at - p, out, false);
        self.pending.extend_from_slice(&input[hold..]);
    }

    /// Ends the stream: settles and appends the held tail.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.pending.is_empty() {
            return;
        }
        let tail = std::mem::take(&mut self.pending);
        self.scan(&tail, 0, out, true);
        // `tail` zeroizes itself on drop; keep the (now empty) allocation-less buffer.
    }

    /// Replaces values in `data[at..]` and appends the result to `out`, stopping before the first
    /// byte that could still start a value completed by later input (unless `last`). Returns where
    /// the held part begins (`data.len()` when nothing is held).
    fn scan(&self, data: &[u8], mut at: usize, out: &mut Vec<u8>, last: bool) -> usize {
        let Some(searcher) = &self.searcher else {
            out.extend_from_slice(&data[at..]);
            return data.len();
        };
        let end = data.len();
        // A match starting before `certain` cannot be beaten by one still incomplete: any value
        // crossing the end of `data` starts at or after it.
        let certain = end.saturating_sub(self.max_len.saturating_sub(1));
        loop {
            let found = searcher.find(Input::new(data).span(at..end));
            let hold = |at: usize| {
                if last {
                    end
                } else {
                    self.hold_point(data, at)
                }
            };
            match found {
                // Near the end, a match is final only if no value could start before it (or at
                // it, longer) and complete later: i.e. it starts before the hold point.
                Some(m) if m.start() < certain || m.start() < hold(at) => {
                    out.extend_from_slice(&data[at..m.start()]);
                    out.extend_from_slice(&self.replacements[m.pattern().as_usize()]);
                    at = m.end();
                }
                _ => {
                    let h = hold(at);
                    out.extend_from_slice(&data[at..h]);
                    return h;
                }
            }
        }
    }

    /// The first position `≥ at` from which the rest of `data` is a proper prefix of some value
    /// (so it could become a value with more input), or `data.len()` when there is none.
    fn hold_point(&self, data: &[u8], at: usize) -> usize {
        let end = data.len();
        // A proper prefix is at most `longest − 1` bytes long.
        let from = at.max(end.saturating_sub(self.max_len.saturating_sub(1)));
        end - self.prefixes.longest_open_suffix(&data[from..])
    }
}

/// An Aho-Corasick trie of the values, used only on the last `longest − 1` bytes of a feed to find
/// the longest suffix that is a proper prefix of some value (the `aho-corasick` crate does not expose
/// state depths). Sparse children: the trie has at most as many nodes as the values have bytes.
struct PrefixTrie {
    nodes: Vec<TrieNode>,
}

struct TrieNode {
    /// Sorted by byte.
    children: Vec<(u8, u32)>,
    fail: u32,
    depth: u32,
    /// The nearest node on the failure chain (this one included) that has children, i.e. the
    /// longest suffix that a value extends; the root (depth 0) when there is none.
    open: u32,
}

impl PrefixTrie {
    fn new(values: &[&[u8]]) -> PrefixTrie {
        let mut nodes = vec![TrieNode {
            children: Vec::new(),
            fail: 0,
            depth: 0,
            open: 0,
        }];
        for value in values {
            let mut node = 0usize;
            for &b in *value {
                node = match nodes[node].children.binary_search_by_key(&b, |c| c.0) {
                    Ok(i) => nodes[node].children[i].1 as usize,
                    Err(i) => {
                        let id = nodes.len();
                        let depth = nodes[node].depth + 1;
                        nodes[node].children.insert(i, (b, id as u32));
                        nodes.push(TrieNode {
                            children: Vec::new(),
                            fail: 0,
                            depth,
                            open: 0,
                        });
                        id
                    }
                };
            }
        }
        // Breadth-first: failure links point to shallower nodes, already settled.
        let mut trie = PrefixTrie { nodes };
        let mut queue = std::collections::VecDeque::from([0u32]);
        while let Some(u) = queue.pop_front() {
            let u = u as usize;
            for ci in 0..trie.nodes[u].children.len() {
                let (b, v) = trie.nodes[u].children[ci];
                let fail = if u == 0 {
                    0
                } else {
                    trie.step(trie.nodes[u].fail, b)
                };
                let v = v as usize;
                trie.nodes[v].fail = fail;
                trie.nodes[v].open = if trie.nodes[v].children.is_empty() {
                    trie.nodes[fail as usize].open
                } else {
                    v as u32
                };
                queue.push_back(v as u32);
            }
        }
        trie
    }

    /// The automaton's transition from `state` on `b`.
    fn step(&self, mut state: u32, b: u8) -> u32 {
        loop {
            let node = &self.nodes[state as usize];
            if let Ok(i) = node.children.binary_search_by_key(&b, |c| c.0) {
                return node.children[i].1;
            }
            if state == 0 {
                return 0;
            }
            state = node.fail;
        }
    }

    /// Length of the longest suffix of `tail` that is a proper prefix of some value.
    fn longest_open_suffix(&self, tail: &[u8]) -> usize {
        let state = tail.iter().fold(0, |s, &b| self.step(s, b));
        let open = self.nodes[state as usize].open;
        self.nodes[open as usize].depth as usize
    }
}

impl Drop for PrefixTrie {
    // The edge labels spell the values.
    fn drop(&mut self) {
        for node in &mut self.nodes {
            for (b, _) in &mut node.children {
                b.zeroize();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacing_uses_the_callers_replacement_across_feeds() {
        // `run --proxy`: an echoed value becomes its placeholder, split however the body is.
        let mut c =
            Concealer::replacing([("HF_TOKEN", &b"hf_REALVALUE1"[..], b"hf_PLACEHOLD2".to_vec())])
                .unwrap();
        let mut out = Vec::new();
        for chunk in [&b"{\"you_sent\":\"hf_REAL"[..], b"VALUE1\"}"] {
            c.feed(chunk, &mut out);
        }
        c.finish(&mut out);
        assert_eq!(out, b"{\"you_sent\":\"hf_PLACEHOLD2\"}");
    }

    /// Whole-buffer leftmost-longest replacement, the obvious way.
    fn naive(pairs: &[(&str, &[u8])], text: &[u8]) -> Vec<u8> {
        let mut seen: Vec<&[u8]> = Vec::new();
        let pairs: Vec<(&str, &[u8])> = pairs
            .iter()
            .filter(|(_, v)| {
                let keep = !v.is_empty() && !seen.contains(v);
                seen.push(v);
                keep
            })
            .copied()
            .collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < text.len() {
            let best = pairs
                .iter()
                .filter(|(_, v)| text[i..].starts_with(v))
                .max_by_key(|(_, v)| v.len());
            match best {
                Some((name, v)) => {
                    out.extend_from_slice(format!("<concealed:{name}>").as_bytes());
                    i += v.len();
                }
                None => {
                    out.push(text[i]);
                    i += 1;
                }
            }
        }
        out
    }

    /// Feeds `chunks` one by one, checking the hold bound after each, then finishes.
    fn streamed(c: &mut Concealer, chunks: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in chunks {
            c.feed(chunk, &mut out);
            assert!(
                c.held() <= c.max_held(),
                "held {} > {}",
                c.held(),
                c.max_held()
            );
        }
        c.finish(&mut out);
        assert_eq!(c.held(), 0);
        out
    }

    fn concealer(pairs: &[(&str, &[u8])]) -> Concealer {
        Concealer::from_bytes(pairs.iter().copied()).unwrap()
    }

    fn check_all_splits(pairs: &[(&str, &[u8])], text: &[u8]) {
        let want = naive(pairs, text);
        let mut c = concealer(pairs);
        assert_eq!(streamed(&mut c, &[text]), want, "whole");
        let n = text.len();
        for i in 0..=n {
            let got = streamed(&mut c, &[&text[..i], &text[i..]]);
            assert_eq!(got, want, "split at {i}");
            for j in i..=n {
                let got = streamed(&mut c, &[&text[..i], &text[i..j], &text[j..]]);
                assert_eq!(got, want, "split at {i}, {j}");
            }
        }
    }

    const HF: &[u8] = b"hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345";

    #[test]
    fn whole_value_is_replaced() {
        let mut c = concealer(&[("HF_TOKEN", HF)]);
        let text = [b"token=".as_slice(), HF, b"\n"].concat();
        assert_eq!(
            streamed(&mut c, &[&text]),
            b"token=<concealed:HF_TOKEN>\n".to_vec()
        );
    }

    #[test]
    fn every_split_into_two_and_three_chunks() {
        let text = [b"a ".as_slice(), HF, b" b ", HF, HF, b" hf_ hf_Ab ", HF].concat();
        check_all_splits(&[("HF_TOKEN", HF)], &text);
        let pairs: &[(&str, &[u8])] =
            &[("A", b"abc"), ("B", b"abcabd"), ("C", b"cab"), ("D", b"x")];
        check_all_splits(pairs, b"abcabcabdxabcabxcabd abcab");
        check_all_splits(pairs, b"abcab");
    }

    #[test]
    fn a_split_value_never_appears_in_the_output() {
        let text = [b"<<".as_slice(), HF, b">>"].concat();
        let mut c = concealer(&[("HF_TOKEN", HF)]);
        for i in 0..=text.len() {
            let mut out = Vec::new();
            c.feed(&text[..i], &mut out);
            // Whatever has been emitted so far holds no piece of the value beyond what is harmless.
            let emitted = out.clone();
            c.feed(&text[i..], &mut out);
            c.finish(&mut out);
            assert_eq!(out, b"<<<concealed:HF_TOKEN>>>".to_vec(), "split at {i}");
            assert!(
                !emitted.windows(3).any(|w| w == b"hf_"),
                "split at {i}: a prefix of the value was emitted early"
            );
        }
    }

    #[test]
    fn byte_by_byte() {
        let pairs: &[(&str, &[u8])] = &[("HF_TOKEN", HF), ("SHORT", b"ab")];
        let text = [b"xab".as_slice(), HF, b"hf_AbCab", HF].concat();
        let chunks: Vec<&[u8]> = text.chunks(1).collect();
        let mut c = concealer(pairs);
        assert_eq!(streamed(&mut c, &chunks), naive(pairs, &text));
    }

    #[test]
    fn overlapping_values_leftmost_longest() {
        let pairs: &[(&str, &[u8])] = &[("SHORT", b"hf_abc"), ("LONG", b"hf_abcdef")];
        let mut c = concealer(pairs);
        assert_eq!(
            streamed(&mut c, &[b"hf_abcdef hf_abcde"]),
            b"<concealed:LONG> <concealed:SHORT>de".to_vec()
        );
        // Leftmost beats longest: "abc" starts first, "bcdefgh" loses its head.
        let pairs: &[(&str, &[u8])] = &[("A", b"abc"), ("B", b"bcdefgh")];
        let mut c = concealer(pairs);
        assert_eq!(
            streamed(&mut c, &[b"abcdefgh"]),
            b"<concealed:A>defgh".to_vec()
        );
        check_all_splits(pairs, b"abcdefgh bcdefgh");
        check_all_splits(
            &[("SHORT", b"hf_abc"), ("LONG", b"hf_abcdef")],
            b"hf_abcdef hf_abcde",
        );
    }

    #[test]
    fn value_at_chunk_boundaries() {
        let pairs: &[(&str, &[u8])] = &[("HF_TOKEN", HF)];
        let mut c = concealer(pairs);
        // Ending exactly at a chunk end, starting exactly at a chunk start, filling a chunk.
        let got = streamed(&mut c, &[b"x", HF, HF, b"y", HF]);
        assert_eq!(
            got,
            b"x<concealed:HF_TOKEN><concealed:HF_TOKEN>y<concealed:HF_TOKEN>".to_vec()
        );
        // A long feed after a held tail (the stitched-window path).
        let long = [&HF[10..], b" ".repeat(1000).as_slice(), &HF[..5]].concat();
        let got = streamed(&mut c, &[&HF[..10], &long, &HF[5..]]);
        let text = [HF, b" ".repeat(1000).as_slice(), HF].concat();
        assert_eq!(got, naive(pairs, &text));
    }

    #[test]
    fn harmless_output_is_not_held_back() {
        let mut c = concealer(&[("HF_TOKEN", HF)]);
        let mut out = Vec::new();
        c.feed(b"Password: ", &mut out);
        assert_eq!(out, b"Password: ");
        assert_eq!(c.held(), 0);
        c.feed(b"line\nhf_Ab", &mut out);
        assert_eq!(out, b"Password: line\n");
        assert_eq!(c.held(), 5);
        // The held prefix turned out not to be the value: released with the next feed.
        c.feed(b"X\n", &mut out);
        assert_eq!(out, b"Password: line\nhf_AbX\n");
        assert_eq!(c.held(), 0);
    }

    #[test]
    fn short_values_are_concealed_and_empty_ignored() {
        let pairs: &[(&str, &[u8])] = &[("E", b""), ("ONE", b"1"), ("TWO", b"42")];
        let mut c = concealer(pairs);
        assert_eq!(
            streamed(&mut c, &[b"a1b4", b"2c"]),
            b"a<concealed:ONE>b<concealed:TWO>c".to_vec()
        );
    }

    #[test]
    fn no_values_pass_through() {
        let mut c = concealer(&[("E", b"")]);
        assert_eq!(c.max_held(), 0);
        assert_eq!(streamed(&mut c, &[b"abc", b"", b"def"]), b"abcdef".to_vec());
    }

    #[test]
    fn duplicate_values_keep_the_first_name() {
        let mut c = concealer(&[("FIRST", b"tok"), ("SECOND", b"tok")]);
        assert_eq!(streamed(&mut c, &[b"tok"]), b"<concealed:FIRST>".to_vec());
    }

    #[test]
    fn secrets_constructor_and_debug_hide_values() {
        let pairs = vec![(
            "HF_TOKEN".to_owned(),
            Secret::from_str_copy("hf_secretvalue123"),
        )];
        let mut c = Concealer::new(&pairs).unwrap();
        let mut out = Vec::new();
        c.feed(b"hf_secret", &mut out);
        let debug = format!("{c:?}");
        assert!(!debug.contains("secretvalue"), "{debug}");
        assert!(debug.contains("HF_TOKEN"));
        c.feed(b"value123", &mut out);
        c.finish(&mut out);
        assert_eq!(out, b"<concealed:HF_TOKEN>");
    }

    #[test]
    fn a_hundred_values() {
        let values: Vec<Vec<u8>> = (0..100)
            .map(|i| format!("tok{i:03}_{}", "x".repeat(i % 17)).into_bytes())
            .collect();
        let names: Vec<String> = (0..100).map(|i| format!("VAR{i}")).collect();
        let pairs: Vec<(&str, &[u8])> = names
            .iter()
            .zip(&values)
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .collect();
        let mut text = Vec::new();
        for (i, v) in values.iter().enumerate().rev() {
            text.extend_from_slice(format!("line {i}: ").as_bytes());
            text.extend_from_slice(v);
            text.push(b'\n');
        }
        let want = naive(&pairs, &text);
        assert!(!String::from_utf8_lossy(&want).contains("tok0"));
        let mut c = Concealer::from_bytes(pairs.iter().copied()).unwrap();
        for size in [1, 2, 3, 7, 19, 64, 1000, text.len()] {
            let chunks: Vec<&[u8]> = text.chunks(size).collect();
            assert_eq!(streamed(&mut c, &chunks), want, "chunk size {size}");
        }
    }

    /// xorshift64*: a fixed-seed PRNG, so failures replay.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn random_streams_match_whole_buffer_replacement() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for case in 0..3000 {
            // A tiny alphabet makes overlaps, shared prefixes and near misses common.
            let alphabet: &[u8] = if case % 2 == 0 { b"ab" } else { b"abcd" };
            let nvalues = 1 + rng.below(6);
            let values: Vec<Vec<u8>> = (0..nvalues)
                .map(|_| {
                    let len = rng.below(9); // 0..=8: empty values included
                    (0..len)
                        .map(|_| alphabet[rng.below(alphabet.len())])
                        .collect()
                })
                .collect();
            let names: Vec<String> = (0..nvalues).map(|i| format!("V{i}")).collect();
            let pairs: Vec<(&str, &[u8])> = names
                .iter()
                .zip(&values)
                .map(|(n, v)| (n.as_str(), v.as_slice()))
                .collect();
            let len = rng.below(200);
            let text: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            let want = naive(&pairs, &text);
            let mut c = Concealer::from_bytes(pairs.iter().copied()).unwrap();
            for _ in 0..4 {
                let mut chunks: Vec<&[u8]> = Vec::new();
                let mut i = 0;
                while i < text.len() {
                    // Empty chunks, single bytes and long runs alike.
                    let step = match rng.below(4) {
                        0 => 0,
                        1 => 1,
                        2 => rng.below(12),
                        _ => rng.below(80),
                    };
                    let j = (i + step).min(text.len());
                    chunks.push(&text[i..j]);
                    i = j;
                }
                let got = streamed(&mut c, &chunks);
                assert_eq!(
                    got,
                    want,
                    "case {case}: values {:?} text {:?} chunks {:?}",
                    values
                        .iter()
                        .map(|v| String::from_utf8_lossy(v))
                        .collect::<Vec<_>>(),
                    String::from_utf8_lossy(&text),
                    chunks.iter().map(|c| c.len()).collect::<Vec<_>>()
                );
            }
        }
    }
}
