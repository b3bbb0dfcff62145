//! The rules' examples, run through the whole engine (prefilter, regex, boundaries, entropy,
//! de-duplication) in the kinds of text tokens leak into: every `examples_match` is found by its own
//! rule, exactly where it is and masked; every `examples_no_match` is not found by that rule.

// Helpers outside #[test] functions unwrap too; clippy.toml allows it only inside tests.
#![allow(clippy::unwrap_used)]

use tokenvault_core::{Catalogue, Secret};
use tokenvault_scan::{ExactMatcher, ExactValue, Finding, RuleSet, Scanner};

const CONTEXTS: &[&str] = &[
    "{}",
    "token = \"{}\"\n",
    "export SOME_VAR={}\n",
    "{\"key\": \"{}\", \"n\": 1}",
    "git clone https://user:{}@example.com/repo.git",
    "some text before {} and after\nnext line\n",
    "\targs = ['--token', '{}'],\n",
    "line one\r\nvalue: {}\r\n",
];

fn scanner() -> Scanner {
    Scanner::new(
        RuleSet::from_catalogue(&Catalogue::builtin()).unwrap(),
        None,
    )
    .unwrap()
}

fn scan(s: &Scanner, text: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    s.scan(text.as_bytes(), &mut out);
    out
}

/// A value example is embedded in every context; a text example (it has spaces or `=`) is used
/// between other lines.
fn texts(example: &str) -> Vec<String> {
    if example.contains([' ', '=', ':']) {
        vec![
            format!("first line\n{example}\nlast line\n"),
            example.to_owned(),
        ]
    } else {
        CONTEXTS.iter().map(|c| c.replace("{}", example)).collect()
    }
}

#[test]
fn every_rule_finds_its_examples_and_not_its_counter_examples() {
    let s = scanner();
    let mut checked = 0;
    for rule in s.rules() {
        assert!(
            !rule.examples_match.is_empty(),
            "{} has no examples",
            rule.id
        );
        for ex in &rule.examples_match {
            for text in texts(ex) {
                let found = scan(&s, &text);
                let f = found.iter().find(|f| f.rule == rule.id).unwrap_or_else(|| {
                    panic!("{}: not found in {text:?}; found {found:?}", rule.id)
                });
                let value = &text[f.start as usize..f.end as usize];
                if !ex.contains([' ', '=', ':']) {
                    assert_eq!(value, ex, "{}: wrong span in {text:?}", rule.id);
                }
                assert!(
                    !f.masked.contains(value),
                    "{}: masked shows the value",
                    rule.id
                );
                assert!(!text
                    .lines()
                    .nth(f.line as usize - 1)
                    .unwrap_or("")
                    .is_empty());
                checked += 1;
            }
        }
        for ex in &rule.examples_no_match {
            for text in texts(ex) {
                let found = scan(&s, &text);
                assert!(
                    !found.iter().any(|f| f.rule == rule.id),
                    "{}: found in {text:?} but should not be: {found:?}",
                    rule.id
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 150, "only {checked} checks");
}

#[test]
fn placeholders_fail_the_entropy_floor() {
    let s = scanner();
    let text = format!("HF_TOKEN=hf_{}\n", "x".repeat(34));
    assert!(scan(&s, &text).is_empty());
    let text = "AWS_SECRET_ACCESS_KEY=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n";
    assert!(scan(&s, text).is_empty());
}

#[test]
fn exact_matcher_finds_a_vault_value_of_any_shape_and_its_encodings() {
    use base64::Engine as _;
    // No provider knows this shape.
    let value = "q9#Lm2!vRt7&zW4pKx8";
    let exact = ExactMatcher::new(&[ExactValue {
        reference: "tv://acme/password".into(),
        provider: None,
        prefix: None,
        value: Secret::new(value.to_owned()),
    }])
    .unwrap();
    let s = Scanner::new(
        RuleSet::from_catalogue(&Catalogue::builtin()).unwrap(),
        Some(exact),
    )
    .unwrap();
    assert_eq!(s.exact_values(), 1);

    let plain = format!("db:\n  pass: {value}\n");
    let found = scan(&s, &plain);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].reference.as_deref(), Some("tv://acme/password"));
    assert_eq!(found[0].rule, "vault/value");
    assert_eq!((found[0].line, found[0].column), (2, 9));
    assert_eq!(found[0].encoding, None);

    let b64 = base64::engine::general_purpose::STANDARD.encode(value);
    let found = scan(&s, &format!("secretdata: {b64}\n"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].encoding, Some("base64"));

    // Inside HTTP basic auth, at an unaligned offset.
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("admin:{value}"));
    let found = scan(&s, &format!("Authorization: Basic {basic}\n"));
    assert!(
        found.iter().any(|f| f.encoding == Some("base64")),
        "{found:?}"
    );

    let url = format!(
        "postgres://admin:{}@db/x",
        value
            .replace('#', "%23")
            .replace('!', "%21")
            .replace('&', "%26")
    );
    let found = scan(&s, &url);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].encoding, Some("url"));

    for f in scan(&s, &format!("{plain}{b64}\n{url}\n")) {
        let json = serde_json::to_string(&f).unwrap();
        assert!(!json.contains(value) && !json.contains(&b64), "{json}");
    }
}

#[test]
fn a_vault_value_that_is_also_a_provider_token_is_one_finding_with_its_reference() {
    let token = "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567";
    let exact = ExactMatcher::new(&[ExactValue {
        reference: "tv://huggingface/token".into(),
        provider: Some("huggingface".into()),
        prefix: Some("hf_".into()),
        value: Secret::new(token.to_owned()),
    }])
    .unwrap();
    let s = Scanner::new(
        RuleSet::from_catalogue(&Catalogue::builtin()).unwrap(),
        Some(exact),
    )
    .unwrap();
    let found = scan(&s, &format!("HF_TOKEN={token}\n"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].rule, "huggingface/token");
    assert_eq!(
        found[0].reference.as_deref(),
        Some("tv://huggingface/token")
    );
}
