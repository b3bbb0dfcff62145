//! Detection rules, compiled from data: the provider catalogue and the generic rule file.
//!
//! gitleaks' model: a rule is keywords (a cheap prefilter), a regex, and optionally an entropy
//! floor, and it ships with examples that must and must not match. Nothing here names a provider;
//! every rule comes from `rules/providers.toml` (and the user's `[[provider]]` tables) or from
//! `rules/generic.toml` in this crate.
//!
//! How a catalogue field becomes a rule (see docs/scanning.md):
//! - only secret fields take part; a region or a bucket name is not a leak;
//! - with `scan_regex` (plus `scan_keywords`), that regex is the rule, unchanged;
//! - otherwise a field with `formats` and `keywords` gets one rule whose regex is the alternation
//!   of its formats with `^`/`$` replaced by token boundaries (`\b{start-half}`, `\b{end-half}`:
//!   not preceded / not followed by a word character), so `hf_…` is found inside a URL, a quoted
//!   string or an assignment, but not as the tail of a longer identifier;
//! - `entropy` sets the rule's floor; fields with neither are left to the exact-value matcher.

use regex_automata::meta;
use regex_automata::util::syntax;
use serde::Deserialize;
use tokenvault_core::Catalogue;

/// The generic rules shipped with the scanner.
pub const GENERIC_TOML: &str = include_str!("../rules/generic.toml");

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("scan rule '{rule}': regex does not compile: {message}")]
    Regex { rule: String, message: String },
    #[error("scan rules {origin} are not valid TOML: {message}")]
    Toml { origin: String, message: String },
    #[error("scan rule '{rule}': {message}")]
    Invalid { rule: String, message: String },
}

/// Where a rule came from; decides which finding wins when two cover the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    /// A name-based heuristic (`*_TOKEN = …`).
    Generic,
    /// A value held in the vault (the exact-value matcher).
    Exact,
    /// A provider's token format.
    Provider,
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `provider/field` for catalogue rules (`huggingface/token`), `generic/…` for the others.
    pub id: String,
    pub provider: Option<String>,
    pub description: String,
    pub kind: RuleKind,
    /// Prefilter keywords as written; the automaton also gets their lower, UPPER and Title forms.
    pub keywords: Vec<String>,
    pub regex_source: String,
    pub entropy: Option<f64>,
    pub min_digits: usize,
    /// Known prefixes, longest first, shown by masking (`hf_ab…wxyz`).
    pub prefixes: Vec<String>,
    /// Texts the rule must find something in, and texts it must find nothing in (tested as data).
    pub examples_match: Vec<String>,
    pub examples_no_match: Vec<String>,
    /// Exact values never reported: keys a vendor publishes in its SDKs and documentation (the
    /// catalogue's `scan_ignore_values`), sorted.
    pub ignore_values: Vec<String>,
    /// Whether keywords are also looked for in lower, UPPER and Title case: for rules whose regex
    /// ignores case where the keyword is (generic rules, `scan_regex`). A derived provider rule is
    /// case-sensitive, so other spellings of its keyword could never match and are not searched.
    pub keyword_case_variants: bool,
    pub(crate) regex: meta::Regex,
    /// Capture groups that hold the value, in order of preference; empty means the whole match.
    pub(crate) secret_groups: Vec<usize>,
}

impl Rule {
    /// Compiles `regex` into a rule. The regex is searched unanchored inside a line.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: &str,
        provider: Option<&str>,
        description: &str,
        kind: RuleKind,
        keywords: Vec<String>,
        regex: &str,
        entropy: Option<f64>,
        min_digits: usize,
    ) -> Result<Rule, RuleError> {
        if keywords.iter().all(|k| k.is_empty()) {
            return Err(RuleError::Invalid {
                rule: id.to_owned(),
                message: "no keywords: every rule needs at least one (the prefilter)".into(),
            });
        }
        let compiled = meta::Regex::builder()
            .syntax(syntax::Config::new().utf8(false))
            .build(regex)
            .map_err(|e| RuleError::Regex {
                rule: id.to_owned(),
                message: e.to_string(),
            })?;
        let secret_groups = compiled
            .group_info()
            .pattern_names(regex_automata::PatternID::ZERO)
            .enumerate()
            .filter(|(_, name)| name.is_some_and(|n| n.starts_with("secret")))
            .map(|(i, _)| i)
            .collect();
        Ok(Rule {
            id: id.to_owned(),
            provider: provider.map(str::to_owned),
            description: description.to_owned(),
            kind,
            keywords,
            regex_source: regex.to_owned(),
            entropy,
            min_digits,
            prefixes: Vec::new(),
            keyword_case_variants: true,
            examples_match: Vec::new(),
            examples_no_match: Vec::new(),
            ignore_values: Vec::new(),
            regex: compiled,
            secret_groups,
        })
    }

    /// Whether a candidate value passes this rule's entropy and digit floors and is not one of
    /// its published example values.
    pub fn accepts(&self, value: &[u8]) -> bool {
        if !self.ignore_values.is_empty()
            && self
                .ignore_values
                .binary_search_by(|v| v.as_bytes().cmp(value))
                .is_ok()
        {
            return false;
        }
        if self.min_digits > 0
            && value.iter().filter(|b| b.is_ascii_digit()).count() < self.min_digits
        {
            return false;
        }
        match self.entropy {
            Some(floor) => crate::entropy::shannon(value) >= floor,
            None => true,
        }
    }
}

/// All rules of a scan.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    #[serde(default)]
    rule: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    description: String,
    keywords: Vec<String>,
    regex: String,
    #[serde(default)]
    entropy: Option<f64>,
    #[serde(default)]
    min_digits: usize,
    #[serde(default)]
    examples_match: Vec<String>,
    #[serde(default)]
    examples_no_match: Vec<String>,
}

/// A format regex (`^…$`, written for whole values) made searchable inside text.
fn unanchor(format: &str) -> &str {
    let s = format.strip_prefix('^').unwrap_or(format);
    // A trailing `$` that is not escaped.
    match s.strip_suffix('$') {
        Some(rest) if !rest.ends_with('\\') => rest,
        _ => s,
    }
}

impl RuleSet {
    /// Provider rules from `catalogue` plus the generic rules: what `tokenvault scan` uses.
    pub fn from_catalogue(catalogue: &Catalogue) -> Result<RuleSet, RuleError> {
        let mut set = RuleSet::providers(catalogue)?;
        set.rules.extend(RuleSet::generic()?.rules);
        Ok(set)
    }

    /// Only the rules derived from the provider catalogue.
    pub fn providers(catalogue: &Catalogue) -> Result<RuleSet, RuleError> {
        let mut rules = Vec::new();
        for p in catalogue.providers() {
            for f in p.fields.iter().filter(|f| f.secret) {
                let id = format!("{}/{}", p.id, f.name);
                let description = format!("{} {}", p.name, f.name.replace('_', " "));
                let (regex, keywords, examples_match, examples_no_match) =
                    if let Some(re) = &f.scan.regex {
                        (
                            re.clone(),
                            f.scan.keywords.clone(),
                            f.scan.examples_match.clone(),
                            f.scan.examples_no_match.clone(),
                        )
                    } else if !f.formats.is_empty() && !f.keywords.is_empty() {
                        let alts: Vec<String> = f
                            .formats
                            .iter()
                            .map(|fmt| format!("(?:{})", unanchor(fmt.pattern.as_str())))
                            .collect();
                        (
                            format!(
                                r"(?-u:\b{{start-half}})(?:{})(?-u:\b{{end-half}})",
                                alts.join("|")
                            ),
                            f.keywords.clone(),
                            // The field's own value examples (a value alone is a text), embedded in
                            // more text by the tests, plus any scan examples.
                            f.examples_match
                                .iter()
                                .chain(&f.scan.examples_match)
                                .cloned()
                                .collect(),
                            f.examples_no_match
                                .iter()
                                .chain(&f.scan.examples_no_match)
                                .cloned()
                                .collect(),
                        )
                    } else {
                        continue;
                    };
                let mut rule = Rule::new(
                    &id,
                    Some(&p.id),
                    &description,
                    RuleKind::Provider,
                    keywords,
                    &regex,
                    f.scan.entropy,
                    0,
                )?;
                let mut prefixes: Vec<String> =
                    f.prefix.iter().chain(f.keywords.iter()).cloned().collect();
                prefixes.sort_by_key(|p| std::cmp::Reverse(p.len()));
                prefixes.dedup();
                rule.prefixes = prefixes;
                rule.keyword_case_variants = f.scan.regex.is_some();
                rule.examples_match = examples_match;
                rule.examples_no_match = examples_no_match;
                let mut ignore = f.scan.ignore_values.clone();
                ignore.sort();
                rule.ignore_values = ignore;
                rules.push(rule);
            }
        }
        Ok(RuleSet { rules })
    }

    /// The generic rules shipped in `rules/generic.toml`.
    pub fn generic() -> Result<RuleSet, RuleError> {
        RuleSet::parse_rules(GENERIC_TOML, "rules/generic.toml", RuleKind::Generic)
    }

    /// Parses a rule file in the `rules/generic.toml` schema.
    pub fn parse_rules(text: &str, origin: &str, kind: RuleKind) -> Result<RuleSet, RuleError> {
        let raw: RawRules = toml::from_str(text).map_err(|e| RuleError::Toml {
            origin: origin.to_owned(),
            message: e.to_string(),
        })?;
        let mut rules = Vec::with_capacity(raw.rule.len());
        for r in raw.rule {
            let mut rule = Rule::new(
                &r.id,
                None,
                &r.description,
                kind,
                r.keywords,
                &r.regex,
                r.entropy,
                r.min_digits,
            )?;
            rule.examples_match = r.examples_match;
            rule.examples_no_match = r.examples_no_match;
            rules.push(rule);
        }
        Ok(RuleSet { rules })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn push(&mut self, rule: Rule) {
        self.rules.push(rule);
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unanchor_strips_only_real_anchors() {
        assert_eq!(unanchor("^hf_[a-z]{3}$"), "hf_[a-z]{3}");
        assert_eq!(unanchor(r"^a\$"), r"a\$");
        assert_eq!(unanchor("abc"), "abc");
    }

    #[test]
    fn every_secret_field_with_a_format_and_keywords_becomes_a_rule() {
        let cat = Catalogue::builtin();
        let set = RuleSet::providers(&cat).unwrap();
        let ids: Vec<&str> = set.rules().iter().map(|r| r.id.as_str()).collect();
        for id in [
            "huggingface/token",
            "aws/access_key_id",
            "aws/secret_access_key",
            "github/token",
            "openai/api_key",
            "anthropic/api_key",
            "google/api_key",
            "slack/token",
            "stripe/secret_key",
            "storacha/token",
        ] {
            assert!(ids.contains(&id), "{id} missing from {ids:?}");
        }
        // Identifiers are not secrets.
        assert!(!ids
            .iter()
            .any(|i| i.contains("region") || i.contains("bucket")));
    }

    #[test]
    fn bad_rules_say_which_and_why() {
        let e = RuleSet::parse_rules(
            "[[rule]]\nid='x'\ndescription='d'\nkeywords=['a']\nregex='('",
            "t.toml",
            RuleKind::Generic,
        )
        .unwrap_err();
        assert!(e.to_string().contains("'x'"), "{e}");
        let e = RuleSet::parse_rules(
            "[[rule]]\nid='x'\ndescription='d'\nkeywords=[]\nregex='a'",
            "t.toml",
            RuleKind::Generic,
        )
        .unwrap_err();
        assert!(e.to_string().contains("keywords"), "{e}");
        let e = RuleSet::parse_rules("[[rule]]\nid=1", "t.toml", RuleKind::Generic).unwrap_err();
        assert!(e.to_string().contains("t.toml"), "{e}");
    }
}
