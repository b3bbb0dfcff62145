//! How strong a new vault passphrase must be. The file vault is only as good as its passphrase:
//! scrypt slows each guess down, but a one-character passphrase still falls at once. The rule is
//! deliberately simple and explained in the error: at least [`MIN_LEN`] characters, at least
//! [`MIN_DISTINCT`] different ones, and not a well-known example. An explicit override exists
//! (`TOKENVAULT_ALLOW_WEAK_PASSPHRASE=1`, `passwd --allow-weak`) for throwaway vaults.

/// Fewest characters a new passphrase may have.
pub const MIN_LEN: usize = 12;
/// Fewest different characters.
pub const MIN_DISTINCT: usize = 5;

/// Passphrases everybody tries first.
const KNOWN: &[&str] = &[
    "password1234",
    "passwordpassword",
    "123456789012",
    "qwertyuiopas",
    "letmeinletmein",
    "tokenvaulttokenvault",
];

/// Why `passphrase` is too weak for a new vault, or `None` when it is acceptable.
pub fn weakness(passphrase: &str) -> Option<String> {
    let len = passphrase.chars().count();
    if len < MIN_LEN {
        return Some(format!(
            "it has {}; use at least {MIN_LEN} (a few random words are easy to type and hard to guess)",
            crate::words::count(len, "character")
        ));
    }
    let mut distinct: Vec<char> = passphrase.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < MIN_DISTINCT {
        return Some(format!(
            "it uses only {}; use at least {MIN_DISTINCT}",
            crate::words::count(distinct.len(), "different character")
        ));
    }
    let lower = passphrase.to_lowercase();
    if KNOWN.iter().any(|k| lower.starts_with(k)) {
        return Some("it starts like a well-known example passphrase".to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_repetitive_and_known_passphrases_are_weak() {
        assert!(weakness("x").unwrap().contains("1 character"));
        assert!(weakness("pw").is_some());
        assert!(weakness("aaaaaaaaaaaaaaaa").unwrap().contains("different"));
        assert!(weakness("Password1234!").is_some());
        assert_eq!(weakness("correct horse battery staple"), None);
        assert_eq!(weakness("wJ7#kq-Lp2!z"), None);
    }
}
