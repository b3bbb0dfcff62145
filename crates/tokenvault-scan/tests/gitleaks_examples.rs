//! gitleaks 8.30.1's own rule examples for our providers (issue 19), read from
//! `tests/data/gitleaks-examples.json` (extracted once from gitleaks' Go sources by
//! `scripts/extract-gitleaks-examples`; MIT licence, see the file's header). gitleaks finds every
//! true-positive example of its rules and none of their false-positive examples; the scanner must
//! do as well for every rule whose token our catalogue knows: each true positive found by a rule of
//! the same provider, no false positive found by one (an example that a sibling gitleaks rule
//! finds, e.g. an Anthropic API key listed against the admin-key rule, is a true token of that
//! provider and not counted). `scripts/recall-gitleaks` prints the same per rule through the CLI.

// Helpers outside #[test] functions unwrap too; clippy.toml allows it only inside tests.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use serde::Deserialize;
use tokenvault_core::Catalogue;
use tokenvault_scan::{Finding, RuleSet, Scanner};

const DATA: &str = include_str!("data/gitleaks-examples.json");

/// gitleaks rules whose token is no credential our catalogue knows: GCP's service-account JSON
/// marker (a file shape, found by `scan --home`'s places, not a token) and Amazon Bedrock API keys.
const NOT_COVERED: &[&str] = &[
    "gcp-service-account",
    "aws-amazon-bedrock-api-key-long-lived",
    "aws-amazon-bedrock-api-key-short-lived",
];

#[derive(Deserialize)]
struct Data {
    gitleaks_version: String,
    rules: Vec<GitleaksRule>,
}

#[derive(Deserialize)]
struct GitleaksRule {
    rule: String,
    provider: String,
    true_positives: Vec<String>,
    false_positives: Vec<String>,
    #[serde(default)]
    false_positives_found_by_other_rules: BTreeMap<String, Vec<String>>,
}

fn data() -> Data {
    serde_json::from_str(DATA).unwrap()
}

fn scanner() -> Scanner {
    Scanner::new(
        RuleSet::from_catalogue(&Catalogue::builtin()).unwrap(),
        None,
    )
    .unwrap()
}

fn scan(s: &Scanner, text: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    s.scan(format!("{text}\n").as_bytes(), &mut out);
    out
}

fn of_provider<'a>(found: &'a [Finding], provider: &str) -> Vec<&'a Finding> {
    found
        .iter()
        .filter(|f| f.provider.as_deref() == Some(provider))
        .collect()
}

#[test]
fn the_data_file_is_gitleaks_8_30_1_and_covers_every_provider_of_the_issue() {
    let d = data();
    assert_eq!(d.gitleaks_version, "8.30.1");
    for provider in [
        "huggingface",
        "aws",
        "github",
        "openai",
        "anthropic",
        "google",
        "slack",
        "stripe",
    ] {
        let n: usize = d
            .rules
            .iter()
            .filter(|r| r.provider == provider && !NOT_COVERED.contains(&r.rule.as_str()))
            .map(|r| r.true_positives.len())
            .sum();
        assert!(n >= 4, "{provider}: only {n} true-positive examples");
    }
    // Every provider of ours that a gitleaks example names is one the catalogue has.
    let catalogue = Catalogue::builtin();
    for r in &d.rules {
        assert!(
            catalogue.providers().iter().any(|p| p.id == r.provider),
            "{}: provider {} is not in the catalogue",
            r.rule,
            r.provider
        );
    }
}

#[test]
fn recall_on_gitleaks_true_positives_is_gitleaks_own_for_every_covered_rule() {
    let s = scanner();
    let mut misses = Vec::new();
    let mut checked = 0;
    for r in data()
        .rules
        .iter()
        .filter(|r| !NOT_COVERED.contains(&r.rule.as_str()))
    {
        for ex in &r.true_positives {
            let found = scan(&s, ex);
            if of_provider(&found, &r.provider).is_empty() {
                misses.push(format!(
                    "{} ({}): {ex:?}; found {:?}",
                    r.rule,
                    r.provider,
                    found.iter().map(|f| &f.rule).collect::<Vec<_>>()
                ));
            }
            checked += 1;
        }
    }
    assert!(checked > 700, "only {checked} examples");
    assert!(
        misses.is_empty(),
        "{} of {checked} missed:\n{}",
        misses.len(),
        misses.join("\n")
    );
}

#[test]
fn no_provider_rule_finds_a_gitleaks_false_positive() {
    let s = scanner();
    let mut wrong = Vec::new();
    let mut checked = 0;
    for r in data()
        .rules
        .iter()
        .filter(|r| !NOT_COVERED.contains(&r.rule.as_str()))
    {
        for ex in &r.false_positives {
            if r.false_positives_found_by_other_rules.contains_key(ex) {
                continue;
            }
            let found = scan(&s, ex);
            let ours = of_provider(&found, &r.provider);
            if !ours.is_empty() {
                wrong.push(format!(
                    "{}: {ex:?} found by {:?}",
                    r.rule,
                    ours.iter().map(|f| &f.rule).collect::<Vec<_>>()
                ));
            }
            checked += 1;
        }
    }
    assert!(checked > 60, "only {checked} examples");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_sibling_rules_token_listed_as_a_false_positive_is_still_found_as_that_providers() {
    // gitleaks lists an Anthropic API key as a false positive of its admin-key rule: it is a real
    // key shape, and the scanner reports it (as Anthropic's), which is why such examples are skipped.
    let s = scanner();
    let d = data();
    let admin = d
        .rules
        .iter()
        .find(|r| r.rule == "anthropic-admin-api-key")
        .unwrap();
    assert!(!admin.false_positives_found_by_other_rules.is_empty());
    for ex in admin.false_positives_found_by_other_rules.keys() {
        assert!(!of_provider(&scan(&s, ex), "anthropic").is_empty(), "{ex}");
    }
}
