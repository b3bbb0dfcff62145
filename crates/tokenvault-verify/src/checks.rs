//! Every live check tokenvault knows: which request it sends, where the credential goes (both
//! catalogue data, `[provider.check]`), and what each provider's answer means ([`crate::shape`]
//! reads the common shape where the catalogue says, [`crate::providers`] holds the code for what
//! has no common shape), explained with a next step.
//!
//! The provider catalogue names a check with its `verify` key (`github`, `aws-sts`, …);
//! [`Check::from_key`] is the one dispatch on it. The binary builds the request from
//! [`Check::request`], puts the credential where [`Credential`] says, sends it, and hands the
//! [`Answer`] back to [`Check::interpret`]. Nothing here sees a credential: the few facts an
//! interpretation needs from the key itself (a Stripe key's `sk_live` prefix, the item name for a
//! hint) come in through [`CheckContext`], and every message is built from the provider's answer —
//! with any echo of the key cut off (`Invalid API Key provided: sk_test_…`).

use crate::outcome::{explain, LiveOutcome};
use crate::providers;
use crate::whoami::WhoAmI;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use tokenvault_core::{Catalogue, LiveCheck, Provider};

/// A live check the binary can run, named by a provider's `verify` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    HuggingFace,
    GitHub,
    OpenAi,
    Anthropic,
    Google,
    Slack,
    Stripe,
    AwsSts,
}

/// Where the credential travels. Never the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer <value>`.
    Bearer,
    /// A header of its own holding the bare value (`x-api-key`, `x-goog-api-key`).
    Header(&'static str),
    /// AWS Signature Version 4 over the whole request, for this service name.
    AwsSigV4 { service: &'static str },
}

/// The request a check sends, minus the credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestPlan {
    pub method: &'static str,
    pub url: String,
    pub credential: Credential,
    /// Further headers, sent (and, for SigV4, signed) as they are.
    pub headers: Vec<(&'static str, &'static str)>,
    /// The body, for POST.
    pub body: Option<&'static str>,
}

/// An HTTP answer, whatever its status. Header names are lower-case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(String, String)>,
}

impl Answer {
    /// The first value of header `name` (give it lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What an interpretation may know besides the answer; nothing in it is secret.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckContext<'a> {
    /// Where a new credential is made (the catalogue's `create_url`).
    pub create_url: Option<&'a str>,
    /// The key's type prefix, for keys whose prefix says what they are (`sk_live`, `rk_test`).
    pub key_prefix: Option<&'a str>,
    /// The item the credential is stored under, for `tokenvault set ITEM/FIELD` hints.
    pub item: Option<&'a str>,
}

/// What a check learned about a credential from a provider other than Hugging Face.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The account, user, key or role the credential belongs to (a login, an ARN, …).
    pub name: String,
    /// What `name` is (`user`, `bot`, `IAM user`, `secret key`, …); empty when it says nothing.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Further facts shown after the name (`account`, `team`, `models visible`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
    /// The permissions the provider reports; `None` when it reports none for this credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// One remark about the credential (why no scopes are shown, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The least-privilege warning, when the credential is broader than most programs need.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

impl Identity {
    pub(crate) fn new(name: impl Into<String>, kind: impl Into<String>) -> Self {
        Identity {
            name: name.into(),
            kind: kind.into(),
            details: BTreeMap::new(),
            scopes: None,
            expires_at: None,
            note: None,
            warning: None,
        }
    }

    pub(crate) fn detail(mut self, label: &str, value: Option<impl Into<String>>) -> Self {
        if let Some(v) = value {
            let v = v.into();
            if !v.is_empty() {
                self.details.insert(label.to_owned(), v);
            }
        }
        self
    }

    /// One line for people: `octocat (user), name: The Octocat, scopes: repo, read:org`.
    pub fn summary(&self) -> String {
        let mut s = self.name.clone();
        if !self.kind.is_empty() {
            s.push_str(&format!(" ({})", self.kind));
        }
        for (k, v) in &self.details {
            s.push_str(&format!(", {k}: {v}"));
        }
        if let Some(scopes) = &self.scopes {
            if scopes.is_empty() {
                s.push_str(", scopes: none");
            } else {
                s.push_str(&format!(", scopes: {}", scopes.join(", ")));
            }
        }
        if let Some(e) = &self.expires_at {
            s.push_str(&format!(", expires {e}"));
        }
        if let Some(n) = &self.note {
            s.push_str(&format!("; {n}"));
        }
        s
    }
}

/// The account behind a valid credential: Hugging Face's full whoami, or another provider's
/// [`Identity`]. Serialised as the inner value, so `--json` shows `account.name` either way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Account {
    HuggingFace(WhoAmI),
    Service(Identity),
}

impl Account {
    pub fn summary(&self) -> String {
        match self {
            Account::HuggingFace(w) => w.summary(),
            Account::Service(i) => i.summary(),
        }
    }

    /// The least-privilege warning, if the credential is broader than most uses need.
    pub fn privilege_warning(&self) -> Option<String> {
        match self {
            Account::HuggingFace(w) => w.privilege_warning(),
            Account::Service(i) => i.warning.clone(),
        }
    }

    /// The account's name (login, ARN, …).
    pub fn name(&self) -> &str {
        match self {
            Account::HuggingFace(w) => &w.name,
            Account::Service(i) => &i.name,
        }
    }

    /// The role or scopes, for the index: Hugging Face's role, or the reported scopes.
    pub fn scopes(&self) -> Option<Vec<String>> {
        match self {
            Account::HuggingFace(w) => w.token.as_ref().map(|t| vec![t.role.describe()]),
            Account::Service(i) => i.scopes.clone(),
        }
    }

    pub fn expires_at(&self) -> Option<&str> {
        match self {
            Account::HuggingFace(w) => w.token.as_ref().and_then(|t| t.expires_at.as_deref()),
            Account::Service(i) => i.expires_at.as_deref(),
        }
    }
}

/// What one answer means, before it becomes a message.
pub(crate) enum Verdict {
    Valid(Account),
    /// 401-like: invalid, revoked or expired. The detail is the provider's own error text.
    Invalid(Option<String>),
    /// Known but not allowed (403-like); `hint` replaces the generic one.
    Forbidden {
        detail: Option<String>,
        hint: Option<String>,
    },
    /// The provider says the credential has expired.
    Expired(Option<String>),
    RateLimited(Option<String>),
    ServerError,
    /// A 200 whose body is not what the check expects.
    BadResponse(String),
    /// A status the check does not expect.
    Unexpected(Option<String>),
    /// A provider-specific outcome with its own words.
    Other {
        rejected: bool,
        code: &'static str,
        message: String,
        hint: String,
    },
}

impl Check {
    /// The check a catalogue `verify` key names; `None` for `none` and unknown keys.
    pub fn from_key(key: &str) -> Option<Check> {
        Check::ALL.into_iter().find(|c| c.key() == key)
    }

    /// Every check, for tables and tests.
    pub const ALL: [Check; 8] = [
        Check::HuggingFace,
        Check::GitHub,
        Check::OpenAi,
        Check::Anthropic,
        Check::Google,
        Check::Slack,
        Check::Stripe,
        Check::AwsSts,
    ];

    /// The catalogue's `verify` key.
    pub fn key(self) -> &'static str {
        match self {
            Check::HuggingFace => "huggingface",
            Check::GitHub => "github",
            Check::OpenAi => "openai",
            Check::Anthropic => "anthropic",
            Check::Google => "google",
            Check::Slack => "slack",
            Check::Stripe => "stripe",
            Check::AwsSts => "aws-sts",
        }
    }

    /// The built-in provider whose `verify` key names this check: its `[provider.check]` table
    /// is this check's data.
    fn provider(self) -> Option<&'static Provider> {
        Catalogue::builtin_shared()
            .providers()
            .iter()
            .find(|p| p.verify == self.key() && p.check.is_some())
    }

    /// The check's catalogue data (`[provider.check]` in `rules/providers.toml`). Every check has
    /// one (a test says so); an empty table stands in for none, so nothing here can panic.
    pub fn spec(self) -> &'static LiveCheck {
        static EMPTY: OnceLock<LiveCheck> = OnceLock::new();
        self.provider()
            .and_then(|p| p.check.as_ref())
            .unwrap_or_else(|| EMPTY.get_or_init(LiveCheck::default))
    }

    /// The service's name in messages.
    pub fn service(self) -> &'static str {
        &self.spec().service
    }

    /// What the credential is called in messages.
    pub(crate) fn noun(self) -> &'static str {
        &self.spec().noun
    }

    /// The environment variables that set the API base, first wins (the names the providers'
    /// own SDKs and tools use where they have one).
    pub fn base_env(self) -> &'static [String] {
        &self.spec().base_env
    }

    /// The API base when no variable sets it; `region` matters only where the base names it (STS).
    pub fn default_base(self, region: &str) -> String {
        self.spec().base.replace("{region}", region)
    }

    /// Where the credential goes.
    pub fn credential(self) -> Credential {
        let spec = self.spec();
        match spec.auth.as_str() {
            "header" => Credential::Header(spec.auth_header.as_deref().unwrap_or("authorization")),
            "aws-sigv4" => Credential::AwsSigV4 {
                service: spec.sign_service.as_deref().unwrap_or(""),
            },
            _ => Credential::Bearer,
        }
    }

    /// The other fields of the item the check reads besides the provider's default field: a
    /// SigV4 signature needs the secret key, the session token of temporary keys, and the region.
    pub fn extra_fields(self) -> &'static [&'static str] {
        match self.credential() {
            Credential::AwsSigV4 { .. } => &["secret_access_key", "session_token", "region"],
            _ => &[],
        }
    }

    /// The request, against `base` (no trailing slash).
    pub fn request(self, base: &str) -> RequestPlan {
        let spec = self.spec();
        RequestPlan {
            method: if spec.method == "POST" { "POST" } else { "GET" },
            url: format!("{}{}", base.trim_end_matches('/'), spec.path),
            credential: self.credential(),
            headers: spec
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
            body: spec.body.as_deref(),
        }
    }

    /// Where outages are announced, for 5xx hints.
    fn status_page(self) -> Option<&'static str> {
        self.spec().status_page.as_deref()
    }

    fn default_create_url(self) -> &'static str {
        self.provider()
            .and_then(|p| p.create_url.as_deref())
            .unwrap_or("the provider's website")
    }

    /// Interprets the answer to [`Check::request`].
    pub fn interpret(self, answer: &Answer, ctx: &CheckContext<'_>) -> LiveOutcome {
        // Each check's own code (`providers`); what they share is read from the catalogue
        // (`shape`).
        let verdict = match self {
            Check::HuggingFace => providers::hf(self, answer),
            Check::GitHub => providers::github(self, answer),
            Check::OpenAi => providers::openai(self, answer),
            Check::Anthropic => providers::anthropic(self, answer),
            Check::Google => providers::google(self, answer),
            Check::Slack => providers::slack(self, answer, ctx),
            Check::Stripe => providers::stripe(self, answer, ctx),
            Check::AwsSts => providers::aws_sts(self, answer, ctx),
        };
        self.explain(verdict, answer, ctx)
    }

    fn explain(self, verdict: Verdict, answer: &Answer, ctx: &CheckContext<'_>) -> LiveOutcome {
        let service = self.service();
        let noun = self.noun();
        let status = answer.status;
        let create = ctx.create_url.unwrap_or(self.default_create_url());
        let with = |d: &Option<String>| d.as_ref().map(|m| format!(": {m}")).unwrap_or_default();
        let base_var = self.base_env().join(" / ");
        match verdict {
            Verdict::Valid(a) => LiveOutcome::Valid(a),
            Verdict::Invalid(d) => LiveOutcome::Rejected(explain(
                "invalid",
                format!(
                    "{service} rejected the {noun} ({status}{}): it is invalid, revoked or expired",
                    with(&d)
                ),
                format!("create a new {noun} at {create}, then store it with `tokenvault set`"),
            )),
            Verdict::Forbidden { detail, hint } => LiveOutcome::Rejected(explain(
                "forbidden",
                format!(
                    "{service} refused the {noun} ({status}{}): it is known but not allowed to {}",
                    with(&detail),
                    self.spec().forbidden
                ),
                hint.unwrap_or_else(|| {
                    format!("check the {noun}'s permissions and any organisation SSO or IP restrictions at {create}")
                }),
            )),
            Verdict::Expired(d) => LiveOutcome::Rejected(explain(
                "expired",
                format!("{service} says the {noun} has expired ({status}{})", with(&d)),
                match self {
                    Check::AwsSts => format!(
                        "temporary credentials (ASIA…) expire: get new ones (e.g. `aws sts get-session-token` or `aws sso login`) and store access_key_id, secret_access_key and session_token again with `tokenvault set {}/…`",
                        ctx.item.unwrap_or("ITEM")
                    ),
                    _ => format!("create a new {noun} at {create}, then store it with `tokenvault set`"),
                },
            )),
            Verdict::RateLimited(d) => LiveOutcome::Unknown(explain(
                "rate-limited",
                format!("{service} rate-limited the check ({status}){}", with(&d)),
                match answer
                    .header("retry-after")
                    .and_then(|r| r.trim().parse::<u64>().ok())
                {
                    Some(s) => format!(
                        "retry in {s} seconds; a recent result is reused unless you pass --fresh"
                    ),
                    None => "retry later; a recent result is reused unless you pass --fresh"
                        .to_owned(),
                },
            )),
            Verdict::ServerError => LiveOutcome::Unknown(explain(
                "server-error",
                format!("{service} answered {status} (a server-side problem; says nothing about the {noun})"),
                match self.status_page() {
                    Some(p) => format!("retry later; {p} shows outages"),
                    None => "retry later".to_owned(),
                },
            )),
            Verdict::BadResponse(why) => LiveOutcome::Unknown(explain(
                "bad-response",
                format!("{service} answered {status}, but {why}"),
                format!(
                    "is {base_var} pointing at the {service} API (or a proxy that serves {})?",
                    // Against an empty base the URL is the path.
                    self.request("").url
                ),
            )),
            Verdict::Unexpected(d) => LiveOutcome::Unknown(explain(
                "unexpected",
                format!(
                    "{service} answered HTTP {status}{}, which this check does not expect",
                    with(&d)
                ),
                format!("is {base_var} right? a proxy or captive portal may be answering instead"),
            )),
            Verdict::Other {
                rejected,
                code,
                message,
                hint,
            } => {
                let e = explain(code, message, hint);
                if rejected {
                    LiveOutcome::Rejected(e)
                } else {
                    LiveOutcome::Unknown(e)
                }
            }
        }
    }
}

/// What the tests of the checks share: answers, a context, and the outcome's parts.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::outcome::Explanation;

    pub(crate) fn answer(status: u16, body: &str, headers: &[(&str, &str)]) -> Answer {
        Answer {
            status,
            body: body.to_owned(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    pub(crate) fn ctx() -> CheckContext<'static> {
        CheckContext {
            create_url: Some("https://example.invalid/new"),
            key_prefix: None,
            item: Some("it"),
        }
    }

    pub(crate) fn valid(o: LiveOutcome) -> Identity {
        match o {
            LiveOutcome::Valid(Account::Service(i)) => i,
            other => panic!("{other:?}"),
        }
    }

    pub(crate) fn rejected(o: LiveOutcome) -> Explanation {
        match o {
            LiveOutcome::Rejected(e) => e,
            other => panic!("{other:?}"),
        }
    }

    pub(crate) fn unknown(o: LiveOutcome) -> Explanation {
        match o {
            LiveOutcome::Unknown(e) => e,
            other => panic!("{other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn every_key_round_trips_and_no_request_puts_a_credential_in_the_url() {
        for c in Check::ALL {
            assert_eq!(Check::from_key(c.key()), Some(c));
            let p = c.request("https://api.example");
            assert!(p.url.starts_with("https://api.example/"), "{p:?}");
            assert!(!p.url.contains('?'), "{p:?}");
        }
        assert_eq!(Check::from_key("none"), None);
        assert_eq!(
            Check::Google.request("https://g.example/").credential,
            Credential::Header("x-goog-api-key")
        );
        assert_eq!(
            Check::AwsSts.default_base("eu-west-1"),
            "https://sts.eu-west-1.amazonaws.com"
        );
    }

    #[test]
    fn every_check_has_its_catalogue_data() {
        for c in Check::ALL {
            let p = c
                .provider()
                .unwrap_or_else(|| panic!("no provider for {c:?}"));
            assert_eq!(c.spec().service, c.service(), "{c:?}");
            assert!(!c.service().is_empty() && !c.noun().is_empty(), "{c:?}");
            assert!(c.default_base("eu-west-1").starts_with("https://"), "{c:?}");
            assert!(!c.base_env().is_empty(), "{c:?}");
            assert!(c.status_page().is_some(), "{c:?}");
            assert_eq!(
                c.default_create_url(),
                p.create_url.as_deref().unwrap(),
                "{c:?}"
            );
        }
        // Only the checks whose answer has the common JSON shape say where its facts are.
        for c in [
            Check::GitHub,
            Check::OpenAi,
            Check::Anthropic,
            Check::Google,
            Check::Slack,
        ] {
            assert!(c.spec().account.is_some(), "{c:?}");
        }
        assert_eq!(Check::AwsSts.extra_fields().len(), 3);
        assert!(Check::GitHub.extra_fields().is_empty());
    }

    /// The requests, as the catalogue describes them: method, path, where the credential goes,
    /// headers and body.
    #[test]
    fn requests_come_from_the_catalogue() {
        /// Check, method, path, credential, headers, body.
        type Row = (
            Check,
            &'static str,
            &'static str,
            Credential,
            &'static [(&'static str, &'static str)],
            Option<&'static str>,
        );
        let table: &[Row] = &[
            (
                Check::HuggingFace,
                "GET",
                "/api/whoami-v2",
                Credential::Bearer,
                &[("accept", "application/json")],
                None,
            ),
            (
                Check::GitHub,
                "GET",
                "/user",
                Credential::Bearer,
                &[
                    ("accept", "application/vnd.github+json"),
                    ("x-github-api-version", "2022-11-28"),
                ],
                None,
            ),
            (
                Check::OpenAi,
                "GET",
                "/models",
                Credential::Bearer,
                &[("accept", "application/json")],
                None,
            ),
            (
                Check::Anthropic,
                "GET",
                "/v1/models",
                Credential::Header("x-api-key"),
                &[
                    ("accept", "application/json"),
                    ("anthropic-version", "2023-06-01"),
                ],
                None,
            ),
            (
                Check::Google,
                "GET",
                "/v1beta/models",
                Credential::Header("x-goog-api-key"),
                &[("accept", "application/json")],
                None,
            ),
            (
                Check::Slack,
                "POST",
                "/api/auth.test",
                Credential::Bearer,
                &[("content-type", "application/x-www-form-urlencoded")],
                Some(""),
            ),
            (
                Check::Stripe,
                "GET",
                "/v1/balance",
                Credential::Bearer,
                &[("accept", "application/json")],
                None,
            ),
            (
                Check::AwsSts,
                "POST",
                "/",
                Credential::AwsSigV4 { service: "sts" },
                &[(
                    "content-type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                )],
                Some("Action=GetCallerIdentity&Version=2011-06-15"),
            ),
        ];
        assert_eq!(table.len(), Check::ALL.len());
        for (check, method, path, credential, headers, body) in table {
            let mut want: Vec<(&str, &str)> = headers.to_vec();
            want.sort();
            let p = check.request("https://b.example/");
            assert_eq!(
                (p.method, p.url.as_str(), p.credential, p.headers, p.body),
                (
                    *method,
                    format!("https://b.example{path}").as_str(),
                    *credential,
                    want,
                    *body
                ),
                "{check:?}"
            );
        }
    }

    #[test]
    fn bad_response_hint_names_the_path_and_variable() {
        let e = unknown(Check::GitHub.interpret(&answer(200, "<html>", &[]), &ctx()));
        assert!(e.hint.contains("GITHUB_API_URL"), "{e:?}");
        assert!(e.hint.contains("/user"), "{e:?}");
    }
}
