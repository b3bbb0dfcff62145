//! Text that looks like a secret: the one test every message and every command-line argument
//! passes before tokenvault echoes it.
//!
//! A token pasted where a reference or a name belongs (`run -e HF_TOKEN=hf_…`, `get hf_…`) used to
//! come back in full in the error, several times over. Checking each call site cannot last, so the
//! binary asks two questions here, at two places only: before parsing, "does an argument look like a
//! secret?" (refuse it, naming the provider, never the value) and, in the printer, "does any word of
//! this message look like one?" (replace the word). A word looks like a secret when it matches a
//! secret format of the provider catalogue (the same test the audit log uses on a parent's argv), or
//! when it passes the generic rule: at least [`GENERIC_MIN_LEN`] characters of the token alphabet,
//! upper- and lower-case letters and digits mixed, and high entropy (the leak scanner's generic
//! rule uses the same threshold).

use crate::provider::{Catalogue, Field, Provider};
use std::borrow::Cow;

/// Shortest word the generic rule considers. Shorter random-looking words are names and ids.
pub const GENERIC_MIN_LEN: usize = 20;

/// Minimum Shannon entropy (bits per character) for the generic rule, as the scanner's generic rule.
pub const GENERIC_MIN_ENTROPY: f64 = 3.5;

/// What a secret-looking text was recognised as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookalike {
    /// A value in the format of this provider's field.
    Provider {
        id: String,
        name: String,
        field: String,
        /// Whether `field` is the provider's default field (`tokenvault set ID` stores it).
        default_field: bool,
    },
    /// A long, random-looking value no provider describes.
    Generic,
}

impl Lookalike {
    fn of(p: &Provider, f: &Field) -> Lookalike {
        Lookalike::Provider {
            id: p.id.clone(),
            name: p.name.clone(),
            field: f.name.clone(),
            default_field: p.default_field == f.name,
        }
    }

    /// "a Hugging Face token", "an AWS secret_access_key", "a secret value".
    pub fn describe(&self) -> String {
        match self {
            Lookalike::Provider { name, field, .. } => {
                let what = if field == "token" {
                    format!("{name} token")
                } else {
                    format!("{name} {field}")
                };
                crate::words::with_article(&what)
            }
            Lookalike::Generic => "a secret value".to_owned(),
        }
    }

    /// The command that stores such a value properly.
    pub fn store_hint(&self) -> String {
        match self {
            Lookalike::Provider {
                id,
                field,
                default_field: true,
                ..
            } if !field.is_empty() => format!("tokenvault set {id}"),
            Lookalike::Provider { id, field, .. } => format!("tokenvault set {id}/{field}"),
            Lookalike::Generic => "tokenvault set ITEM/FIELD".to_owned(),
        }
    }
}

/// Characters that separate words when looking for secrets inside a longer text (an argument like
/// `HF_TOKEN=hf_…`, a header `Authorization: Bearer …`, a URL query, a quoted message).
fn is_separator(c: char) -> bool {
    c.is_whitespace() || "\"'`=,;&?()[]{}<>|:@/\\".contains(c)
}

/// Whether `text` (the whole of it, or any word in it) looks like a secret; what it looks like.
pub fn secret_lookalike(text: &str, catalogue: &Catalogue) -> Option<Lookalike> {
    // The whole text against the catalogue only: the generic rule would take a long path for a
    // random value, so it sees words (split at '/', among others).
    if let Some((p, f)) = catalogue.detect_value(text) {
        return Some(Lookalike::of(p, f));
    }
    text.split(is_separator)
        .find_map(|w| word_lookalike(w, catalogue))
}

/// The test for one word: a catalogue format, else the generic rule.
fn word_lookalike(word: &str, catalogue: &Catalogue) -> Option<Lookalike> {
    let word = word.trim_matches(|c: char| ".,;:!".contains(c));
    if word.len() < 8 {
        return None;
    }
    if let Some((p, f)) = catalogue.detect_value(word) {
        return Some(Lookalike::of(p, f));
    }
    generic(word).then_some(Lookalike::Generic)
}

/// The generic rule (see the module docs).
pub fn generic(word: &str) -> bool {
    let b = word.as_bytes();
    if b.len() < GENERIC_MIN_LEN || b.len() > 4096 {
        return false;
    }
    if !b
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || b"+=_-.~".contains(c))
    {
        return false;
    }
    let has = |f: fn(&u8) -> bool| b.iter().any(f);
    if !(has(u8::is_ascii_uppercase) && has(u8::is_ascii_lowercase) && has(u8::is_ascii_digit)) {
        return false;
    }
    shannon_entropy(b) >= GENERIC_MIN_ENTROPY
}

/// Shannon entropy of `bytes` in bits per byte.
#[inline]
pub fn shannon_entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[usize::from(b)] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// `text` with every secret-looking word replaced by `<hidden: a Hugging Face token>` (or
/// `<hidden: a secret value>`). Borrowed when nothing was replaced, so the common case is free.
pub fn scrub<'t>(text: &'t str, catalogue: &Catalogue) -> Cow<'t, str> {
    // Fast path: nothing long enough to be a secret.
    let mut any = false;
    for w in text.split(is_separator) {
        if word_lookalike(w, catalogue).is_some() {
            any = true;
            break;
        }
    }
    if !any {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest.find(is_separator).unwrap_or(rest.len());
        let (word, after) = rest.split_at(end);
        match word_lookalike(word, catalogue) {
            Some(l) => {
                // Keep trailing punctuation that the word test ignored ("…: hf_xxx.").
                let core_end = word.trim_end_matches(|c: char| ".,;:!".contains(c)).len();
                let core_start =
                    word.len() - word.trim_start_matches(|c: char| ".,;:!".contains(c)).len();
                out.push_str(&word[..core_start]);
                out.push_str(&format!("<hidden: {}>", l.describe()));
                out.push_str(&word[core_end.max(core_start)..]);
            }
            None => out.push_str(word),
        }
        let mut chars = after.chars();
        if let Some(sep) = chars.next() {
            out.push(sep);
        }
        rest = chars.as_str();
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HF: &str = "hf_Zq3xV9pL2mK7rT1wY8bN4cJ6aSdFgHjKlQ";

    fn cat() -> Catalogue {
        Catalogue::builtin()
    }

    #[test]
    fn a_provider_token_is_recognised_alone_and_inside_an_assignment() {
        let c = cat();
        let l = secret_lookalike(HF, &c).unwrap();
        assert_eq!(l.describe(), "a Hugging Face token");
        assert_eq!(l.store_hint(), "tokenvault set huggingface");
        assert!(secret_lookalike(&format!("HF_TOKEN={HF}"), &c).is_some());
        assert!(secret_lookalike(&format!("huggingface/token={HF}"), &c).is_some());
        assert!(secret_lookalike(&format!("Authorization: Bearer {HF}"), &c).is_some());
    }

    #[test]
    fn references_names_and_paths_are_not_secrets() {
        let c = cat();
        for ok in [
            "huggingface",
            "tv://huggingface/token",
            "HF_TOKEN=tv://huggingface/token",
            "aws-prod/secret_access_key",
            "/check/work/main/target/debug/tokenvault",
            "/tmp/.tmpAbC123/project/.env.local",
            "Authorization: Bearer {{ tv://huggingface/token }}",
            "https://huggingface.co/mcp",
            "0123456789abcdef0123456789abcdef01234567",
            "correct horse battery staple",
            "--timeout",
            "8h",
        ] {
            assert_eq!(secret_lookalike(ok, &c), None, "{ok}");
        }
    }

    #[test]
    fn the_generic_rule_needs_length_mixed_classes_and_entropy() {
        assert!(generic("Zq3xV9pL2mK7rT1wY8bN4cJ6"));
        assert!(!generic("Zq3xV9pL2mK7rT1wY8b")); // 19 chars
        assert!(!generic("zq3xv9pl2mk7rt1wy8bn4cj6")); // no upper case
        assert!(!generic("AAAAAAAAAAaaaaaaaaaa1111")); // low entropy
        assert!(!generic("SomeLongCamelCaseIdentifierName"));
    }

    #[test]
    fn scrub_replaces_only_the_secret_words_and_keeps_the_rest() {
        let c = cat();
        let msg = format!("reference '{HF}': item name '{HF}' contains 'Z'.");
        let s = scrub(&msg, &c);
        assert!(!s.contains(HF), "{s}");
        assert_eq!(
            s,
            "reference '<hidden: a Hugging Face token>': item name '<hidden: a Hugging Face token>' contains 'Z'."
        );
        let plain = "not stored in the file backend: tv://huggingface/token";
        assert!(matches!(scrub(plain, &c), Cow::Borrowed(_)));
        let generic_msg = "bad value Zq3xV9pL2mK7rT1wY8bN4cJ6.";
        assert_eq!(
            scrub(generic_msg, &c),
            "bad value <hidden: a secret value>."
        );
    }

    #[test]
    fn entropy_of_uniform_and_constant_text() {
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-9);
    }
}
