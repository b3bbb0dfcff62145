//! Shannon entropy, the floor that separates random tokens from placeholders.
//!
//! `hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx` in a README has the shape of a token but almost no
//! information; a real one has about 5 bits per character. Rules that ask for it (an `entropy` key
//! in the catalogue) drop matches below their floor, as gitleaks does.

/// Bits per byte of `bytes` (0 for empty input, at most 8): the one computation, shared with the
/// secret-lookalike test of messages and arguments.
pub fn shannon(bytes: &[u8]) -> f64 {
    tokenvault_core::lookalike::shannon_entropy(bytes)
}

#[cfg(test)]
mod tests {
    use super::shannon;

    #[test]
    fn placeholders_are_low_and_tokens_high() {
        assert_eq!(shannon(b""), 0.0);
        assert_eq!(shannon(b"xxxxxxxx"), 0.0);
        assert!((shannon(b"abab") - 1.0).abs() < 1e-9);
        assert!(shannon(b"hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567") > 5.0);
        assert!(shannon(b"your_token_here_your_token_here") < 3.5);
    }
}
