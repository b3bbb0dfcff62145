//! The exact-value matcher: finds the tokens you actually hold, whatever their shape.
//!
//! A provider rule only finds tokens with a known format; a leaked session token, a password or a
//! key of an unknown service has none. The vault knows the values themselves, so the caller hands
//! them in and this module builds one Aho-Corasick automaton over each value and its encoded
//! forms: base64 (standard and URL-safe alphabets, at each of the three byte alignments, so a token
//! inside `Basic base64(user:token)` is found too) and percent-encoding. Everything lives in memory
//! only; the variants are zeroized when the matcher is dropped (the automaton's own tables cannot
//! be, which docs/scanning.md says). Values shorter than [`MIN_LEN`] bytes are skipped: they would
//! match everywhere.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, NO_PAD};
use base64::Engine as _;
use tokenvault_core::Secret;
use zeroize::Zeroizing;

/// Shortest value the matcher looks for.
pub const MIN_LEN: usize = 8;

/// One value the caller holds.
#[derive(Debug, Clone)]
pub struct ExactValue {
    /// What it is, e.g. `tv://huggingface/token`; shown in findings instead of the value.
    pub reference: String,
    pub provider: Option<String>,
    /// The provider's known prefix, shown by masking.
    pub prefix: Option<String>,
    pub value: Secret,
}

#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    pub(crate) value: usize,
    /// `None` for the raw value, else `base64` or `url`.
    pub(crate) encoding: Option<&'static str>,
}

/// The automaton over every value and its encodings.
pub struct ExactMatcher {
    pub(crate) ac: AhoCorasick,
    pub(crate) patterns: Vec<Pattern>,
    pub(crate) values: Vec<ValueMeta>,
    skipped: usize,
    /// The longest pattern, in bytes: how far an exact match can reach.
    longest: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct ValueMeta {
    pub(crate) reference: String,
    pub(crate) provider: Option<String>,
    pub(crate) prefix: Option<String>,
}

impl std::fmt::Debug for ExactMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExactMatcher")
            .field("values", &self.values.len())
            .field("patterns", &self.patterns.len())
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("could not build the exact-value matcher over {count} vault values: {message}")]
pub struct ExactError {
    count: usize,
    message: String,
}

/// The part of base64(pad bytes + value + anything) that depends only on the value: characters
/// whose six bits all come from the value's bytes.
fn base64_core(value: &[u8], shift: usize, engine: &GeneralPurpose) -> Zeroizing<Vec<u8>> {
    let mut buf = Zeroizing::new(vec![0u8; shift]);
    buf.extend_from_slice(value);
    let encoded = Zeroizing::new(engine.encode(buf.as_slice()).into_bytes());
    let first_bit = 8 * shift;
    let last_bit = 8 * (shift + value.len());
    let from = first_bit.div_ceil(6);
    let to = last_bit / 6;
    Zeroizing::new(encoded.get(from..to).unwrap_or_default().to_vec())
}

fn percent_encode(value: &[u8], upper: bool) -> Vec<u8> {
    let hex: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut out = Vec::with_capacity(value.len() * 3);
    for &b in value {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b);
        } else {
            out.push(b'%');
            out.push(hex[usize::from(b >> 4)]);
            out.push(hex[usize::from(b & 15)]);
        }
    }
    out
}

impl ExactMatcher {
    /// Builds the matcher. Values shorter than [`MIN_LEN`] bytes are skipped (see [`Self::skipped`]).
    pub fn new(values: &[ExactValue]) -> Result<ExactMatcher, ExactError> {
        let std_engine = GeneralPurpose::new(&alphabet::STANDARD, NO_PAD);
        let url_engine = GeneralPurpose::new(&alphabet::URL_SAFE, NO_PAD);
        let mut pats: Vec<Zeroizing<Vec<u8>>> = Vec::new();
        let mut patterns = Vec::new();
        let mut metas = Vec::new();
        let mut skipped = 0;
        for v in values {
            let raw = v.value.expose_secret().as_bytes();
            if raw.len() < MIN_LEN {
                skipped += 1;
                continue;
            }
            let idx = metas.len();
            metas.push(ValueMeta {
                reference: v.reference.clone(),
                provider: v.provider.clone(),
                prefix: v.prefix.clone(),
            });
            let mut add = |bytes: Zeroizing<Vec<u8>>, encoding: Option<&'static str>| {
                if bytes.len() < MIN_LEN || pats.iter().any(|p| p.as_slice() == bytes.as_slice()) {
                    return;
                }
                pats.push(bytes);
                patterns.push(Pattern {
                    value: idx,
                    encoding,
                });
            };
            add(Zeroizing::new(raw.to_vec()), None);
            for engine in [&std_engine, &url_engine] {
                for shift in 0..3 {
                    add(base64_core(raw, shift, engine), Some("base64"));
                }
            }
            add(Zeroizing::new(percent_encode(raw, true)), Some("url"));
            add(Zeroizing::new(percent_encode(raw, false)), Some("url"));
        }
        let longest = pats.iter().map(|p| p.len()).max().unwrap_or(0);
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(pats.iter().map(|p| p.as_slice()))
            .map_err(|e| ExactError {
                count: values.len(),
                message: e.to_string(),
            })?;
        Ok(ExactMatcher {
            ac,
            patterns,
            values: metas,
            skipped,
            longest,
        })
    }

    /// How many values were too short to look for.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// The longest byte string the matcher looks for (a value's longest encoding).
    pub fn longest(&self) -> usize {
        self.longest
    }

    /// How many values are looked for.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded_with_prefix(prefix: &[u8], value: &[u8]) -> String {
        let mut b = prefix.to_vec();
        b.extend_from_slice(value);
        b.extend_from_slice(b"!tail");
        base64::engine::general_purpose::STANDARD.encode(b)
    }

    #[test]
    fn base64_core_is_found_at_every_alignment() {
        let engine = GeneralPurpose::new(&alphabet::STANDARD, NO_PAD);
        let value = b"s3cr3t-value-of-any-shape";
        for pre in [&b""[..], b"u", b"us", b"use", b"user:"] {
            let whole = encoded_with_prefix(pre, value);
            let found = (0..3).any(|s| {
                let core = base64_core(value, s, &engine);
                whole
                    .as_bytes()
                    .windows(core.len())
                    .any(|w| w == core.as_slice())
            });
            assert!(found, "prefix {pre:?}");
        }
    }

    #[test]
    fn short_values_are_skipped_and_url_forms_added() {
        let m = ExactMatcher::new(&[
            ExactValue {
                reference: "tv://a/short".into(),
                provider: None,
                prefix: None,
                value: Secret::new("abc".to_owned()),
            },
            ExactValue {
                reference: "tv://a/pw".into(),
                provider: None,
                prefix: None,
                value: Secret::new("p@ss word/with+chars".to_owned()),
            },
        ])
        .unwrap();
        assert_eq!(m.skipped(), 1);
        assert_eq!(m.len(), 1);
        assert!(m.patterns.iter().any(|p| p.encoding == Some("url")));
        assert_eq!(percent_encode(b"a b/", true), b"a%20b%2F");
    }
}
