//! Masking for display (SPEC §2): `hf_ab…wxyz` — the known prefix plus two characters, an
//! ellipsis, the last four. Values under 12 characters are masked completely, with a fixed-width
//! mask so that the length does not show either.

/// What a fully masked value looks like.
pub const FULL_MASK: &str = "••••••••";

/// Masks `value` for display. `prefix` is the provider's known token prefix (`hf_`, `ghp_`), if any,
/// and only used when `value` starts with it.
pub fn mask(value: &str, prefix: Option<&str>) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() < 12 {
        return FULL_MASK.to_owned();
    }
    let prefix_len = prefix
        .filter(|p| !p.is_empty() && value.starts_with(*p))
        .map(|p| p.chars().count())
        .unwrap_or(0);
    // Never show more than a third of the value, whatever the prefix.
    let head = (prefix_len + 2).min(chars.len() / 3);
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
        assert_eq!(mask("elevenchars", Some("el")), FULL_MASK);
        assert_eq!(mask("", None), FULL_MASK);
    }

    #[test]
    fn no_prefix_or_wrong_prefix_shows_two() {
        assert_eq!(mask("abcdefghijklmnop", None), "ab…mnop");
        assert_eq!(mask("abcdefghijklmnop", Some("hf_")), "ab…mnop");
    }

    #[test]
    fn long_prefix_never_reveals_more_than_a_third() {
        let v = "github_pat_0123456789";
        let m = mask(v, Some("github_pat_"));
        assert_eq!(m, "github_…6789");
    }
}
