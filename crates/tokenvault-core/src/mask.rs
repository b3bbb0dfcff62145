//! Masking for display (SPEC §2): `hf_ab…wxyz` — the known prefix plus two characters, an
//! ellipsis, the last four. A mask never shows more than a quarter of a value's characters beyond
//! its known prefix: values with under 16 characters beyond the prefix are masked completely (a fixed-width mask, so the
//! length does not show either), values with 16 to 23 show only the prefix and the last four, and
//! only values with 24 or more show two characters after the prefix. (A 12-character value used to
//! show 6 of its 12 characters.)

/// What a fully masked value looks like.
pub const FULL_MASK: &str = "••••••••";

/// Shortest value that shows anything.
const MIN_SHOWN: usize = 16;
/// Shortest value that shows two characters after its prefix as well as its last four.
const MIN_HEAD: usize = 24;

/// Masks `value` for display. `prefix` is the provider's known token prefix (`hf_`, `ghp_`), if any,
/// and only used when `value` starts with it.
pub fn mask(value: &str, prefix: Option<&str>) -> String {
    let chars: Vec<char> = value.chars().collect();
    let prefix_len = prefix
        .filter(|p| !p.is_empty() && value.starts_with(*p))
        .map(|p| p.chars().count())
        .unwrap_or(0);
    let body = chars.len() - prefix_len;
    if body < MIN_SHOWN {
        return FULL_MASK.to_owned();
    }
    let extra = if body >= MIN_HEAD { 2 } else { 0 };
    // Never show more than a third of the value, whatever the prefix.
    let head = (prefix_len + extra).min(chars.len() / 3);
    let head: String = chars[..head].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_example() {
        let v = "hf_abcdefghijklmnopqrstuvwxyz0123wxyz";
        assert_eq!(mask(v, Some("hf_")), "hf_ab…wxyz");
    }

    #[test]
    fn short_values_are_fully_masked_without_length() {
        assert_eq!(mask("short", None), FULL_MASK);
        assert_eq!(mask("twelve-chars", None), FULL_MASK);
        assert_eq!(mask("fifteen-chars-x", Some("fi")), FULL_MASK);
        assert_eq!(mask("elevenchars", Some("el")), FULL_MASK);
        assert_eq!(mask("", None), FULL_MASK);
    }

    #[test]
    fn no_prefix_or_wrong_prefix_shows_two() {
        assert_eq!(mask("abcdefghijklmnopqrstuvwx", None), "ab…uvwx");
        assert_eq!(mask("abcdefghijklmnopqrstuvwx", Some("hf_")), "ab…uvwx");
    }

    #[test]
    fn at_most_a_quarter_beyond_the_prefix_is_shown() {
        for len in 0..80 {
            let v: String = "hf_"
                .chars()
                .chain((0..len).map(|i| (b'a' + (i % 26) as u8) as char))
                .collect();
            let m = mask(&v, Some("hf_"));
            let shown = m.chars().filter(|c| *c != '…' && *c != '•').count();
            let body = v.chars().count().saturating_sub(3);
            let beyond_prefix = shown.saturating_sub(3.min(shown));
            assert!(
                beyond_prefix * 4 <= body.max(1) || m == FULL_MASK,
                "{v} → {m}"
            );
        }
        assert_eq!(mask("abcdefghijklmnop", None), "…mnop");
    }

    #[test]
    fn long_prefix_never_reveals_more_than_a_third() {
        let v = "github_pat_0123456789abcdef";
        let m = mask(v, Some("github_pat_"));
        assert_eq!(m, "github_pa…cdef");
        let v = "github_pat_0123456789abcdefghijklmn";
        assert_eq!(mask(v, Some("github_pat_")), "github_pat_…klmn");
    }
}
