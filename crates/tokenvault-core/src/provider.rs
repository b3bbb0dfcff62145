//! The provider catalogue: what tokenvault knows about each service, as data.
//!
//! The catalogue is parsed from `rules/providers.toml` (embedded in the binary) and extended by the
//! `[[provider]]` tables of the user's config: a provider with a new id is added, one with a known id
//! replaces the built-in entry. The engine code knows no provider by name; it only reads this data.

use regex::Regex;
use serde::Deserialize;

/// The catalogue that ships with tokenvault.
pub const BUILTIN_TOML: &str = include_str!("../../../rules/providers.toml");
/// The same catalogue as JSON, converted by `build.rs`: what every command parses at start.
const BUILTIN_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/providers.json"));

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("provider catalogue {origin} is not valid TOML: {message}")]
    Toml { origin: String, message: String },
    #[error("provider '{provider}' in {origin}: {message}")]
    Invalid {
        origin: String,
        provider: String,
        message: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogue {
    #[serde(default)]
    provider: Vec<RawProvider>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    id: String,
    name: String,
    default_field: String,
    #[serde(default)]
    create_url: Option<String>,
    #[serde(default)]
    revoke_url: Option<String>,
    #[serde(default = "none_string")]
    verify: String,
    #[serde(default)]
    check: Option<LiveCheck>,
    #[serde(default)]
    proxy: Option<crate::proxy::ProxyTable>,
    #[serde(default)]
    fields: Vec<RawField>,
}

/// What a provider's live check sends and where the facts are in its answer (`[provider.check]`).
/// The `tokenvault-verify` crate reads it; the per-check code there covers only what has no common
/// shape. JSON locations are JSON pointers (`/error/message`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveCheck {
    /// The API base when no variable sets it; `{region}` stands for the item's region.
    pub base: String,
    /// Variables that set the API base, first wins.
    #[serde(default)]
    pub base_env: Vec<String>,
    #[serde(default = "get_method")]
    pub method: String,
    pub path: String,
    /// `bearer`, `header` (with `auth_header`) or `aws-sigv4` (with `sign_service`).
    pub auth: String,
    #[serde(default)]
    pub auth_header: Option<String>,
    #[serde(default)]
    pub sign_service: Option<String>,
    /// Sent as they are (and signed, for SigV4).
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    /// The service's name in messages; the provider's name when empty.
    #[serde(default)]
    pub service: String,
    /// What the credential is called in messages.
    #[serde(default = "token_noun")]
    pub noun: String,
    #[serde(default)]
    pub status_page: Option<String>,
    /// What a refused (403) credential may not do: "it is known but not allowed to …".
    #[serde(default = "forbidden_default")]
    pub forbidden: String,
    /// Where the provider's error code is, first found wins.
    #[serde(default)]
    pub error_code: Vec<String>,
    /// Where the provider's error message is.
    #[serde(default)]
    pub error_message: Option<String>,
    /// Said of a 429 instead of the provider's text.
    #[serde(default)]
    pub rate_limit_note: Option<String>,
    /// A valid answer's facts, for checks whose answer has the common JSON shape.
    #[serde(default)]
    pub account: Option<AccountFields>,
}

/// Where a valid answer names the account, its kind, further details, scopes and expiry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountFields {
    /// The account's name; without it (or when absent from an answer) `name_default`.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub name_default: Option<String>,
    /// The account's kind, shown lower-case; `kind_default` when absent.
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub kind_default: String,
    /// Label → pointer.
    #[serde(default)]
    pub details: std::collections::BTreeMap<String, String>,
    /// Label → response header.
    #[serde(default)]
    pub header_details: std::collections::BTreeMap<String, String>,
    /// A response header listing the scopes, comma-separated.
    #[serde(default)]
    pub scopes_header: Option<String>,
    /// Said when the scopes header is absent.
    #[serde(default)]
    pub no_scopes_note: Option<String>,
    #[serde(default)]
    pub expires_header: Option<String>,
    /// A list answer: the array, counted as `list_label`.
    #[serde(default)]
    pub list: Option<String>,
    #[serde(default)]
    pub list_label: String,
    /// Pointers that say there are more (true, or a string such as a page token).
    #[serde(default)]
    pub list_more: Vec<String>,
    /// A missing list is an empty one.
    #[serde(default)]
    pub list_may_be_absent: bool,
}

fn get_method() -> String {
    "GET".to_owned()
}

fn token_noun() -> String {
    "token".to_owned()
}

fn forbidden_default() -> String {
    "list what the check asks for".to_owned()
}

impl LiveCheck {
    /// What is wrong with this table, if anything.
    fn problem(&self) -> Option<String> {
        let pointer = |p: &String| !p.is_empty() && !p.starts_with('/');
        let account = self.account.as_ref();
        let pointers =
            self.error_code
                .iter()
                .chain(&self.error_message)
                .chain(account.into_iter().flat_map(|a| {
                    a.name
                        .iter()
                        .chain(&a.kind)
                        .chain(a.details.values())
                        .chain(&a.list)
                        .chain(&a.list_more)
                }));
        if let Some(p) = pointers.into_iter().find(|p| pointer(p)) {
            return Some(format!(
                "check: '{p}' is not a JSON pointer (start it with '/')"
            ));
        }
        if !matches!(self.method.as_str(), "GET" | "POST") {
            return Some(format!(
                "check: method '{}' is not GET or POST",
                self.method
            ));
        }
        if !self.path.starts_with('/') {
            return Some(format!(
                "check: path '{}' does not start with '/'",
                self.path
            ));
        }
        match (self.auth.as_str(), &self.auth_header, &self.sign_service) {
            ("bearer", None, None) | ("header", Some(_), None) | ("aws-sigv4", None, Some(_)) => None,
            _ => Some(format!(
                "check: auth '{}' must be \"bearer\", \"header\" with auth_header, or \"aws-sigv4\" with sign_service",
                self.auth
            )),
        }
    }
}

fn none_string() -> String {
    "none".to_owned()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    name: String,
    #[serde(default = "yes")]
    secret: bool,
    #[serde(default)]
    env: Vec<String>,
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    formats: Vec<RawFormat>,
    #[serde(default)]
    examples_match: Vec<String>,
    #[serde(default)]
    examples_no_match: Vec<String>,
    #[serde(default)]
    scan_regex: Option<String>,
    #[serde(default)]
    scan_keywords: Vec<String>,
    #[serde(default)]
    entropy: Option<f64>,
    #[serde(default)]
    scan_examples_match: Vec<String>,
    #[serde(default)]
    scan_examples_no_match: Vec<String>,
    #[serde(default)]
    scan_ignore_values: Vec<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFormat {
    regex: String,
    description: String,
}

/// One accepted shape of a field's value. The regex is compiled on first use: most commands
/// (`get`, `run`) never check a format, and compiling the whole catalogue costs more than the rest
/// of such a command. User-supplied patterns are still validated when the catalogue is parsed.
#[derive(Debug, Clone)]
pub struct Format {
    pub pattern: String,
    pub description: String,
    compiled: std::sync::OnceLock<Option<Regex>>,
}

impl Format {
    pub fn new(pattern: String, description: String) -> Self {
        Format {
            pattern,
            description,
            compiled: std::sync::OnceLock::new(),
        }
    }

    /// The compiled regex; `None` only for a pattern that does not compile, which parsing
    /// rejects for user catalogues and the tests rule out for the built-in one.
    pub fn regex(&self) -> Option<&Regex> {
        self.compiled
            .get_or_init(|| Regex::new(&self.pattern).ok())
            .as_ref()
    }

    pub fn is_match(&self, value: &str) -> bool {
        self.regex().is_some_and(|r| r.is_match(value))
    }
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    /// False for values that are identifiers rather than credentials (a region, a bucket name).
    pub secret: bool,
    /// Environment variable names, the preferred one first.
    pub env: Vec<String>,
    pub prefix: Option<String>,
    pub keywords: Vec<String>,
    pub formats: Vec<Format>,
    pub examples_match: Vec<String>,
    pub examples_no_match: Vec<String>,
    /// Leak scanning (`tokenvault scan`), all optional. Without `scan_regex` the scanner derives its
    /// rule from `formats` (unanchored, with token boundaries) and `keywords`.
    pub scan: ScanHints,
}

/// What a field tells the leak scanner beyond its formats (gitleaks-style: keywords, regex, entropy).
#[derive(Debug, Clone, Default)]
pub struct ScanHints {
    /// An unanchored regex that finds the value in running text, for values whose format alone
    /// would match far too much (an AWS secret key is any 40 base64 characters). The value is the
    /// capture group named `secret`, or the whole match. Validated here, compiled by the scanner.
    pub regex: Option<String>,
    /// Prefilter keywords of `regex` (matched ignoring ASCII case); required with `regex`.
    pub keywords: Vec<String>,
    /// Minimum Shannon entropy (bits per byte) of a found value; lower ones are not reported.
    pub entropy: Option<f64>,
    /// Text in which the scanner must find this field's value (tested as data).
    pub examples_match: Vec<String>,
    /// Text in which it must find nothing of this field.
    pub examples_no_match: Vec<String>,
    /// Exact values the scanner never reports: keys the vendor itself publishes in SDKs and
    /// documentation (Firebase's example API keys), which fit the format but open nothing.
    pub ignore_values: Vec<String>,
}

impl Field {
    /// The first format that accepts `value`, if any.
    pub fn matching_format(&self, value: &str) -> Option<&Format> {
        self.formats.iter().find(|f| f.is_match(value))
    }
}

#[derive(Debug, Clone)]
pub struct Provider {
    pub id: String,
    pub name: String,
    pub default_field: String,
    pub create_url: Option<String>,
    pub revoke_url: Option<String>,
    /// The live check the binary runs (`huggingface`, `github`, `aws-sts`, …, or `none`).
    pub verify: String,
    /// What that check sends and reads (`[provider.check]`).
    pub check: Option<LiveCheck>,
    /// Where `run --proxy` may send this provider's credentials (`[provider.proxy]`).
    pub proxy: Option<crate::proxy::ProxyTable>,
    pub fields: Vec<Field>,
}

impl Provider {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// The result of an offline format check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatCheck {
    /// The value matches the format with this description.
    Valid { format: String },
    /// The field has formats and the value matches none of them.
    Invalid { expected: Vec<String> },
    /// Nothing to check against (unknown provider or field, or a field without formats).
    NoRule,
}

#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    providers: Vec<Provider>,
}

impl Catalogue {
    /// The built-in catalogue. It is tested at build time, so failing here is a bug.
    pub fn builtin() -> Self {
        let raw =
            serde_json::from_str::<RawCatalogue>(BUILTIN_JSON).map_err(|e| CatalogueError::Toml {
                origin: "rules/providers.toml".to_owned(),
                message: e.to_string(),
            });
        match raw.and_then(|raw| Catalogue::from_raw(raw, "rules/providers.toml", false)) {
            Ok(c) => c,
            Err(e) => panic!("built-in provider catalogue is invalid: {e}"),
        }
    }

    /// The built-in catalogue, parsed once per process and shared (the argument check, the
    /// printer's scrubbing and the settings all start from it).
    pub fn builtin_shared() -> &'static Catalogue {
        static BUILTIN: std::sync::OnceLock<Catalogue> = std::sync::OnceLock::new();
        BUILTIN.get_or_init(Catalogue::builtin)
    }

    /// Parses a catalogue from TOML text. `origin` names the text in errors (a path). Every regex
    /// is compiled once to validate it.
    pub fn parse(text: &str, origin: &str) -> Result<Self, CatalogueError> {
        Catalogue::parse_with(text, origin, true)
    }

    /// Parses, compiling regexes to validate them only when `validate` (the built-in catalogue
    /// is validated by its tests instead, to keep every command's start-up cheap).
    fn parse_with(text: &str, origin: &str, validate: bool) -> Result<Self, CatalogueError> {
        let raw: RawCatalogue = toml::from_str(text).map_err(|e| CatalogueError::Toml {
            origin: origin.to_owned(),
            message: e.to_string(),
        })?;
        Catalogue::from_raw(raw, origin, validate)
    }

    fn from_raw(raw: RawCatalogue, origin: &str, validate: bool) -> Result<Self, CatalogueError> {
        let mut providers = Vec::with_capacity(raw.provider.len());
        for p in raw.provider {
            providers.push(compile(p, origin, validate)?);
        }
        Ok(Catalogue { providers })
    }

    /// Adds the providers of `other`, replacing built-in ones with the same id.
    pub fn extend(&mut self, other: Catalogue) {
        for p in other.providers {
            match self.providers.iter_mut().find(|q| q.id == p.id) {
                Some(slot) => *slot = p,
                None => self.providers.push(p),
            }
        }
    }

    pub fn providers(&self) -> &[Provider] {
        &self.providers
    }

    pub fn get(&self, id: &str) -> Option<&Provider> {
        self.providers.iter().find(|p| p.id == id)
    }

    /// The provider an item belongs to by its name's first segment, if it is a known one.
    pub fn for_item(&self, item: &crate::ItemName) -> Option<&Provider> {
        self.get(item.as_str())
            .or_else(|| self.get(item.provider_hint()))
    }

    /// The provider and field whose format `value` matches, for recognising pasted tokens.
    /// Only secret fields take part: a string that looks like a region says nothing.
    /// A field's `keywords` are substrings every match contains, so they are checked first and
    /// most regexes are never compiled (this runs on every launch, over the parent's argv).
    /// A field that needs a `scan_regex` has only a generic shape (an AWS secret key is any 40
    /// base64 characters, which a 40-character path also is); without keywords, its format is
    /// believed only for a value that looks random: upper- and lower-case letters and digits.
    pub fn detect_value(&self, value: &str) -> Option<(&Provider, &Field)> {
        self.providers.iter().find_map(|p| {
            p.fields
                .iter()
                .filter(|f| f.secret)
                .filter(|f| {
                    if f.keywords.is_empty() {
                        f.scan.regex.is_none() || looks_random(value)
                    } else {
                        f.keywords.iter().any(|k| value.contains(k.as_str()))
                    }
                })
                .find(|f| f.matching_format(value).is_some())
                .map(|f| (p, f))
        })
    }

    /// The provider and field an environment variable name belongs to (`HF_TOKEN` → huggingface/token).
    pub fn detect_env(&self, var: &str) -> Option<(&Provider, &Field)> {
        self.providers.iter().find_map(|p| {
            p.fields
                .iter()
                .find(|f| f.env.iter().any(|e| e.eq_ignore_ascii_case(var)))
                .map(|f| (p, f))
        })
    }

    /// Checks `value` against the formats of `provider`'s `field`.
    pub fn check_format(&self, provider: &str, field: &str, value: &str) -> FormatCheck {
        let Some(f) = self.get(provider).and_then(|p| p.field(field)) else {
            return FormatCheck::NoRule;
        };
        if f.formats.is_empty() {
            return FormatCheck::NoRule;
        }
        match f.matching_format(value) {
            Some(fmt) => FormatCheck::Valid {
                format: fmt.description.clone(),
            },
            None => FormatCheck::Invalid {
                expected: f.formats.iter().map(|f| f.description.clone()).collect(),
            },
        }
    }
}

fn compile(p: RawProvider, origin: &str, validate: bool) -> Result<Provider, CatalogueError> {
    let invalid = |message: String| CatalogueError::Invalid {
        origin: origin.to_owned(),
        provider: p.id.clone(),
        message,
    };
    crate::ItemName::new(&p.id).map_err(|e| invalid(format!("id: {e}")))?;
    let mut fields = Vec::with_capacity(p.fields.len());
    for f in &p.fields {
        crate::FieldName::new(&f.name).map_err(|e| invalid(e.to_string()))?;
        let mut formats = Vec::with_capacity(f.formats.len());
        for fmt in &f.formats {
            if validate {
                Regex::new(&fmt.regex).map_err(|e| {
                    invalid(format!("field '{}': regex '{}': {e}", f.name, fmt.regex))
                })?;
            }
            formats.push(Format::new(fmt.regex.clone(), fmt.description.clone()));
        }
        if let Some(re) = &f.scan_regex {
            if validate {
                Regex::new(re)
                    .map_err(|e| invalid(format!("field '{}': scan_regex '{re}': {e}", f.name)))?;
            }
            if f.scan_keywords.is_empty() {
                return Err(invalid(format!(
                    "field '{}': scan_regex needs scan_keywords (the scanner runs a regex only where a keyword occurs)",
                    f.name
                )));
            }
        }
        if let Some(e) = f.entropy {
            if !(0.0..=8.0).contains(&e) {
                return Err(invalid(format!(
                    "field '{}': entropy {e} is outside 0..=8 bits per byte",
                    f.name
                )));
            }
        }
        if let Some(v) = f
            .scan_ignore_values
            .iter()
            .find(|v| !formats.iter().any(|fm| fm.is_match(v)))
        {
            return Err(invalid(format!(
                "field '{}': scan_ignore_values '{v}' fits none of the field's formats (list only published example values of a real shape)",
                f.name
            )));
        }
        fields.push(Field {
            name: f.name.clone(),
            secret: f.secret,
            env: f.env.clone(),
            prefix: f.prefix.clone(),
            keywords: f.keywords.clone(),
            formats,
            examples_match: f.examples_match.clone(),
            examples_no_match: f.examples_no_match.clone(),
            scan: ScanHints {
                regex: f.scan_regex.clone(),
                keywords: f.scan_keywords.clone(),
                entropy: f.entropy,
                examples_match: f.scan_examples_match.clone(),
                examples_no_match: f.scan_examples_no_match.clone(),
                ignore_values: f.scan_ignore_values.clone(),
            },
        });
    }
    let mut check = p.check;
    if let Some(c) = &mut check {
        if let Some(why) = c.problem() {
            return Err(invalid(why));
        }
        if c.service.is_empty() {
            c.service = p.name.clone();
        }
    }
    if let Some(why) = p.proxy.as_ref().and_then(crate::proxy::ProxyTable::problem) {
        return Err(invalid(why));
    }
    if !fields.iter().any(|f| f.name == p.default_field) {
        return Err(invalid(format!(
            "default_field '{}' is not one of its fields",
            p.default_field
        )));
    }
    Ok(Provider {
        id: p.id,
        name: p.name,
        default_field: p.default_field,
        create_url: p.create_url,
        revoke_url: p.revoke_url,
        verify: p.verify,
        check,
        proxy: p.proxy,
        fields,
    })
}

/// Whether `value` mixes upper-case letters, lower-case letters and digits, as a randomly
/// generated key almost always does (a 40-character base64 key lacks a digit once in a thousand).
fn looks_random(value: &str) -> bool {
    let has = |f: fn(&u8) -> bool| value.as_bytes().iter().any(f);
    has(u8::is_ascii_uppercase) && has(u8::is_ascii_lowercase) && has(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalogue's examples are its tests: each `examples_match` value matches one of its
    /// field's formats and each `examples_no_match` value matches none.
    #[test]
    fn every_example_in_the_catalogue_behaves_as_declared() {
        let cat = Catalogue::builtin();
        let mut checked = 0;
        for p in cat.providers() {
            for f in &p.fields {
                if !f.formats.is_empty() {
                    assert!(
                        !f.examples_match.is_empty(),
                        "{}/{} has formats but no examples_match",
                        p.id,
                        f.name
                    );
                }
                for ex in &f.examples_match {
                    assert!(
                        f.matching_format(ex).is_some(),
                        "{}/{}: example '{ex}' should match",
                        p.id,
                        f.name
                    );
                    if !f.keywords.is_empty() {
                        assert!(
                            f.keywords.iter().any(|k| ex.contains(k.as_str())),
                            "{}/{}: example '{ex}' contains none of the keywords",
                            p.id,
                            f.name
                        );
                    }
                    checked += 1;
                }
                for ex in &f.examples_no_match {
                    assert!(
                        f.matching_format(ex).is_none(),
                        "{}/{}: example '{ex}' should not match",
                        p.id,
                        f.name
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 40, "only {checked} examples checked");
    }

    /// Scan regexes are data too: each one finds the secret in its `scan_examples_match` texts and
    /// nothing in its `scan_examples_no_match` texts, and every match text holds a keyword. (The
    /// scanner's own tests run the full engine, with boundaries and entropy, on every example.)
    #[test]
    fn every_scan_regex_behaves_as_declared() {
        let cat = Catalogue::builtin();
        let mut checked = 0;
        for p in cat.providers() {
            for f in &p.fields {
                let Some(re) = &f.scan.regex else {
                    continue;
                };
                let re = Regex::new(re).unwrap();
                assert!(
                    !f.scan.examples_match.is_empty(),
                    "{}/{}: scan_regex without examples",
                    p.id,
                    f.name
                );
                for ex in &f.scan.examples_match {
                    assert!(
                        re.is_match(ex),
                        "{}/{}: scan example '{ex}' should match",
                        p.id,
                        f.name
                    );
                    let lower = ex.to_ascii_lowercase();
                    assert!(
                        f.scan
                            .keywords
                            .iter()
                            .any(|k| lower.contains(&k.to_ascii_lowercase())),
                        "{}/{}: scan example '{ex}' holds none of the scan_keywords",
                        p.id,
                        f.name
                    );
                    checked += 1;
                }
                for ex in &f.scan.examples_no_match {
                    assert!(
                        !re.is_match(ex),
                        "{}/{}: scan example '{ex}' should not match",
                        p.id,
                        f.name
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked >= 2, "only {checked} scan examples checked");
        let e = Catalogue::parse(
            "[[provider]]\nid='a'\nname='A'\ndefault_field='t'\n[[provider.fields]]\nname='t'\nscan_regex='x'",
            "z.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("scan_keywords"), "{e}");
    }

    #[test]
    fn ignored_values_are_published_examples_of_the_fields_own_shape() {
        let catalogue = Catalogue::builtin();
        let google = catalogue.get("google").unwrap();
        let key = google.fields.iter().find(|f| f.name == "api_key").unwrap();
        assert_eq!(key.scan.ignore_values.len(), 16);
        for v in &key.scan.ignore_values {
            assert!(key.matching_format(v).is_some(), "{v}");
        }
        let field = "[[provider]]\nid='a'\nname='A'\ndefault_field='t'\n[[provider.fields]]\nname='t'\nkeywords=['tk_']\nformats=[{ regex = '^tk_[a-z]{8}$', description = 'd' }]\n";
        let ok = Catalogue::parse(
            &format!("{field}scan_ignore_values=['tk_abcdefgh']"),
            "z.toml",
        )
        .unwrap();
        assert_eq!(
            ok.get("a").unwrap().fields[0].scan.ignore_values,
            ["tk_abcdefgh"]
        );
        let e =
            Catalogue::parse(&format!("{field}scan_ignore_values=['nope']"), "z.toml").unwrap_err();
        assert!(e.to_string().contains("scan_ignore_values 'nope'"), "{e}");
    }

    #[test]
    fn the_json_built_from_the_catalogue_is_the_catalogue() {
        let from_toml = Catalogue::parse_with(BUILTIN_TOML, "rules/providers.toml", false).unwrap();
        assert_eq!(
            format!("{:?}", Catalogue::builtin()),
            format!("{from_toml:?}")
        );
    }

    #[test]
    fn builtin_catalogue_validates_fully() {
        let checked = Catalogue::parse(BUILTIN_TOML, "rules/providers.toml").unwrap();
        for f in checked.providers().iter().flat_map(|p| &p.fields) {
            for fmt in &f.formats {
                assert!(fmt.regex().is_some(), "{}", fmt.pattern);
            }
        }
    }

    #[test]
    fn spec_providers_are_all_present() {
        let cat = Catalogue::builtin();
        for id in [
            "huggingface",
            "aws",
            "s3",
            "github",
            "openai",
            "anthropic",
            "google",
            "slack",
            "stripe",
            "storacha",
        ] {
            let p = cat.get(id).unwrap_or_else(|| panic!("{id} missing"));
            assert!(p.field(&p.default_field).is_some());
        }
    }

    #[test]
    fn secret_examples_are_detected_as_their_own_provider() {
        let cat = Catalogue::builtin();
        for p in cat.providers() {
            for f in p.fields.iter().filter(|f| f.secret) {
                for ex in &f.examples_match {
                    let (dp, df) = cat
                        .detect_value(ex)
                        .unwrap_or_else(|| panic!("{ex} not detected"));
                    assert_eq!(
                        (dp.id.as_str(), df.name.as_str()),
                        (p.id.as_str(), f.name.as_str()),
                        "{ex}"
                    );
                }
            }
        }
    }

    #[test]
    fn huggingface_follows_real_token_shape() {
        let cat = Catalogue::builtin();
        let ok = format!("hf_{}", "a1".repeat(17));
        assert!(matches!(
            cat.check_format("huggingface", "token", &ok),
            FormatCheck::Valid { .. }
        ));
        let loose = format!("hf_{}", "a".repeat(20));
        match cat.check_format("huggingface", "token", &loose) {
            FormatCheck::Invalid { expected } => {
                assert!(expected[0].contains("34"), "{expected:?}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(cat.check_format("nope", "token", "x"), FormatCheck::NoRule);
        assert_eq!(
            cat.check_format("aws", "session_token", "x"),
            FormatCheck::NoRule
        );
    }

    #[test]
    fn item_and_env_detection() {
        let cat = Catalogue::builtin();
        let item = crate::ItemName::new("huggingface-work").unwrap();
        assert_eq!(cat.for_item(&item).unwrap().id, "huggingface");
        assert!(cat
            .for_item(&crate::ItemName::new("mything").unwrap())
            .is_none());
        let (p, f) = cat.detect_env("HUGGING_FACE_HUB_TOKEN").unwrap();
        assert_eq!((p.id.as_str(), f.name.as_str()), ("huggingface", "token"));
        let (p, f) = cat.detect_env("AWS_SECRET_ACCESS_KEY").unwrap();
        assert_eq!(
            (p.id.as_str(), f.name.as_str()),
            ("aws", "secret_access_key")
        );
    }

    #[test]
    fn user_providers_extend_and_override() {
        let mut cat = Catalogue::builtin();
        let user = Catalogue::parse(
            r#"
[[provider]]
id = "acme"
name = "Acme"
default_field = "key"
  [[provider.fields]]
  name = "key"
  env = ["ACME_KEY"]
  formats = [{ regex = '^acme_[0-9]{8}$', description = "acme key" }]
  examples_match = ["acme_12345678"]
[[provider]]
id = "stripe"
name = "Stripe (custom)"
default_field = "secret_key"
  [[provider.fields]]
  name = "secret_key"
"#,
            "config.toml",
        )
        .unwrap();
        let before = cat.providers().len();
        cat.extend(user);
        assert_eq!(cat.providers().len(), before + 1);
        assert_eq!(cat.get("stripe").unwrap().name, "Stripe (custom)");
        assert_eq!(cat.detect_value("acme_12345678").unwrap().0.id, "acme");
    }

    #[test]
    fn bad_catalogues_say_where() {
        let e = Catalogue::parse("[[provider]]\nid = 1", "x.toml").unwrap_err();
        assert!(e.to_string().contains("x.toml"), "{e}");
        let e = Catalogue::parse(
            "[[provider]]\nid='a'\nname='A'\ndefault_field='t'\n[[provider.fields]]\nname='t'\nformats=[{regex='(', description='d'}]",
            "y.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("regex"), "{e}");
        let e = Catalogue::parse(
            "[[provider]]\nid='a'\nname='A'\ndefault_field='zz'",
            "y.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("default_field"), "{e}");
    }

    /// A `[provider.check]` table is checked when the catalogue is read: where the credential
    /// goes, the method, the path and every JSON pointer.
    #[test]
    fn bad_check_tables_say_what_is_wrong() {
        let with = |check: &str| {
            Catalogue::parse(
                &format!("[[provider]]\nid='a'\nname='A'\ndefault_field='t'\n[provider.check]\nbase='https://a.example'\n{check}\n[[provider.fields]]\nname='t'"),
                "c.toml",
            )
        };
        let ok = with("path='/me'\nauth='bearer'").unwrap();
        let check = ok.get("a").unwrap().check.as_ref().unwrap();
        assert_eq!(
            (
                check.method.as_str(),
                check.service.as_str(),
                check.noun.as_str()
            ),
            ("GET", "A", "token")
        );
        for (table, says) in [
            ("path='/me'\nauth='header'", "auth_header"),
            ("path='/me'\nauth='basic'", "auth 'basic'"),
            (
                "path='/me'\nauth='bearer'\nsign_service='sts'",
                "auth 'bearer'",
            ),
            ("path='me'\nauth='bearer'", "path 'me'"),
            ("path='/me'\nauth='bearer'\nmethod='PUT'", "method 'PUT'"),
            (
                "path='/me'\nauth='bearer'\nerror_message='error.message'",
                "'error.message' is not a JSON pointer",
            ),
            (
                "path='/me'\nauth='bearer'\n[provider.check.account]\ndetails={team='team'}",
                "'team' is not a JSON pointer",
            ),
            ("path='/me'\nauth='bearer'\nurl='/x'", "unknown field"),
        ] {
            let e = with(table).unwrap_err().to_string();
            assert!(e.contains(says), "{table}: {e}");
            assert!(e.contains("c.toml"), "{table}: {e}");
        }
    }

    /// Every provider with a live check says what the check sends.
    #[test]
    fn every_live_check_has_its_table() {
        for p in Catalogue::builtin().providers() {
            assert_eq!(p.verify != "none", p.check.is_some(), "{}", p.id);
        }
    }
}
