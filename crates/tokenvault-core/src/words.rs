//! Small English helpers for messages, so that every command reads "an acme key" rather than
//! "a acme key", and "1 variable" / "2 variables" rather than "1 variable(s)".

/// "an" before a word that starts with a vowel letter (a, e, i, o, u), else "a". By letter, not
/// by sound: good enough for provider names and field names, which is what messages put here.
pub fn article(word: &str) -> &'static str {
    match word.chars().next().map(|c| c.to_ascii_lowercase()) {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ => "a",
    }
}

/// `word` with its indefinite article: "an acme", "a GitHub".
pub fn with_article(word: &str) -> String {
    format!("{} {word}", article(word))
}

/// `n` and the noun, singular for exactly one: "1 variable", "0 variables", "2 variables".
/// The plural adds "s"; use [`count_with`] for other plurals.
pub fn count(n: usize, singular: &str) -> String {
    if n == 1 {
        format!("1 {singular}")
    } else {
        format!("{n} {singular}s")
    }
}

/// [`count`] with the plural given: `count_with(2, "entry", "entries")` is "2 entries".
pub fn count_with(n: usize, singular: &str, plural: &str) -> String {
    if n == 1 {
        format!("1 {singular}")
    } else {
        format!("{n} {plural}")
    }
}

/// Words joined as English: "a", "a or b", "a, b or c".
pub fn or_list(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternatives_read_as_english() {
        assert_eq!(or_list(&[]), "");
        assert_eq!(or_list(&["file"]), "file");
        assert_eq!(or_list(&["file", "memory"]), "file or memory");
        assert_eq!(
            or_list(&["keychain", "file", "memory"]),
            "keychain, file or memory"
        );
    }

    #[test]
    fn articles_follow_the_first_letter() {
        assert_eq!(with_article("acme"), "an acme");
        assert_eq!(with_article("OpenAI"), "an OpenAI");
        assert_eq!(with_article("huggingface"), "a huggingface");
        assert_eq!(with_article("GitHub"), "a GitHub");
        assert_eq!(article(""), "a");
    }

    #[test]
    fn counts_are_singular_for_one_only() {
        assert_eq!(count(1, "variable"), "1 variable");
        assert_eq!(count(2, "variable"), "2 variables");
        assert_eq!(count(0, "variable"), "0 variables");
        assert_eq!(count_with(1, "entry", "entries"), "1 entry");
        assert_eq!(count_with(3, "entry", "entries"), "3 entries");
    }
}
