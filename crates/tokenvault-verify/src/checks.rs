//! Every live check tokenvault knows, as data and pure functions: which request it sends, where the
//! credential goes, and what each provider's answer means.
//!
//! The provider catalogue names a check with its `verify` key (`github`, `aws-sts`, …);
//! [`Check::from_key`] is the one dispatch on it. The binary builds the request from
//! [`Check::request`], puts the credential where [`Credential`] says, sends it, and hands the
//! [`Answer`] back to [`Check::interpret`]. Nothing here sees a credential: the few facts an
//! interpretation needs from the key itself (a Stripe key's `sk_live` prefix, the item name for a
//! hint) come in through [`CheckContext`], and every message is built from the provider's answer —
//! with any echo of the key cut off (`Invalid API Key provided: sk_test_…`).

use crate::outcome::{explain, LiveOutcome};
use crate::whoami::{parse_whoami, WhoAmI};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use tokenvault_core::{AccountFields, Catalogue, LiveCheck, Provider};

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
    fn new(name: impl Into<String>, kind: impl Into<String>) -> Self {
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

    fn detail(mut self, label: &str, value: Option<impl Into<String>>) -> Self {
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
enum Verdict {
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
        Some(match key {
            "huggingface" => Check::HuggingFace,
            "github" => Check::GitHub,
            "openai" => Check::OpenAi,
            "anthropic" => Check::Anthropic,
            "google" => Check::Google,
            "slack" => Check::Slack,
            "stripe" => Check::Stripe,
            "aws-sts" => Check::AwsSts,
            _ => return None,
        })
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
    fn noun(self) -> &'static str {
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
        // Each check's own code; what they share is read from the catalogue (`common`).
        let verdict = match self {
            Check::HuggingFace => hf(self, answer),
            Check::GitHub => github(self, answer),
            Check::OpenAi => openai(self, answer),
            Check::Anthropic => anthropic(self, answer),
            Check::Google => google(self, answer),
            Check::Slack => slack(self, answer, ctx),
            Check::Stripe => stripe(self, answer, ctx),
            Check::AwsSts => aws_sts(self, answer, ctx),
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

/// The status handling most JSON APIs share: 401 invalid, 403 forbidden, 429 limited (with the
/// catalogue's `rate_limit_note` when it has one), 5xx down.
fn by_status(check: Check, answer: &Answer, detail: Option<String>) -> Verdict {
    match answer.status {
        401 => Verdict::Invalid(detail),
        403 => Verdict::Forbidden { detail, hint: None },
        429 => Verdict::RateLimited(check.spec().rate_limit_note.clone().or(detail)),
        500..=599 => Verdict::ServerError,
        _ => Verdict::Unexpected(detail),
    }
}

fn json(body: &str) -> Result<Value, String> {
    serde_json::from_str(body).map_err(|e| format!("the answer is not JSON ({e})"))
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for k in path {
        cur = cur.get(k)?;
    }
    cur.as_str()
}

/// The string at JSON pointer `pointer`.
fn str_ptr<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// The last step of a JSON pointer, for messages (`/login` → `login`).
fn last_step(pointer: &str) -> &str {
    pointer.rsplit('/').next().unwrap_or(pointer)
}

/// A provider's error text, shortened, with any echo of the key cut off: OpenAI and Stripe say
/// `Incorrect API key provided: sk-abc***xyz`, which is a masked key — still not ours to print.
fn clean(text: &str) -> String {
    let text = match text.find(" provided: ") {
        Some(i) => &text[..i + " provided".len()],
        None => text,
    };
    let mut out: String = text.chars().take(200).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// `code: message`, or whichever of the two there is.
fn code_and_message(code: Option<String>, message: Option<String>) -> Option<String> {
    match (code, message) {
        (Some(c), Some(m)) => Some(format!("{c}: {m}")),
        (c, m) => m.or(c),
    }
}

/// The provider's error text where the catalogue says it is (`error_code`, first found, and
/// `error_message`), with any key echo cut off.
fn error_text(check: Check, v: &Value) -> Option<String> {
    let spec = check.spec();
    let code = spec.error_code.iter().find_map(|p| str_ptr(v, p));
    let message = spec
        .error_message
        .as_deref()
        .and_then(|p| str_ptr(v, p))
        .map(clean);
    code_and_message(code.map(str::to_owned), message)
}

/// [`error_text`] of the answer's body, if it is JSON.
fn error_detail(check: Check, a: &Answer) -> Option<String> {
    json(&a.body).ok().and_then(|v| error_text(check, &v))
}

/// The facts of a valid JSON answer where the catalogue's `[provider.check.account]` says they
/// are: the name, kind, details, scopes, expiry, and for a list answer how many entries it has.
pub fn identity(fields: &AccountFields, a: &Answer, v: &Value) -> Result<Identity, String> {
    let name = match fields.name.as_deref().and_then(|p| str_ptr(v, p)) {
        Some(n) => n.to_owned(),
        None => match (&fields.name_default, &fields.name) {
            (Some(d), _) => d.clone(),
            (None, Some(p)) => return Err(format!("it names no account (no `{}`)", last_step(p))),
            (None, None) => return Err("it names no account".to_owned()),
        },
    };
    let kind = fields
        .kind
        .as_deref()
        .and_then(|p| str_ptr(v, p))
        .map(str::to_lowercase)
        .unwrap_or_else(|| fields.kind_default.clone());
    let mut id = Identity::new(name, kind);
    for (label, pointer) in &fields.details {
        id = id.detail(label, str_ptr(v, pointer));
    }
    for (label, header) in &fields.header_details {
        id = id.detail(label, a.header(header));
    }
    id.expires_at = fields
        .expires_header
        .as_deref()
        .and_then(|h| a.header(h))
        .map(str::to_owned);
    if let Some(h) = &fields.scopes_header {
        match a.header(h) {
            Some(s) => {
                id.scopes = Some(
                    s.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                )
            }
            None => id.note = fields.no_scopes_note.clone(),
        }
    }
    if let Some(list) = &fields.list {
        let count = match v.pointer(list) {
            Some(Value::Array(entries)) => {
                let more = fields.list_more.iter().any(|p| match v.pointer(p) {
                    Some(Value::Bool(b)) => *b,
                    Some(Value::String(_)) => true,
                    _ => false,
                });
                format!("{}{}", entries.len(), if more { "+" } else { "" })
            }
            None if fields.list_may_be_absent && v.is_object() => "0".to_owned(),
            _ => {
                return Err(format!(
                    "it is not a model list (no `{}` array)",
                    last_step(list)
                ))
            }
        };
        id = id.detail(&fields.list_label, Some(count));
    }
    Ok(id)
}

/// A valid answer of a check whose answer has the common JSON shape, read with the catalogue.
/// The error is why the answer is not one (a bad response).
fn account(check: Check, a: &Answer) -> Result<Identity, String> {
    let v = json(&a.body)?;
    let fields = check
        .spec()
        .account
        .as_ref()
        .ok_or("the catalogue does not say where its facts are")?;
    identity(fields, a, &v)
}

/// The common shape: a 2xx is read with the catalogue's account fields, anything else by status.
fn common(check: Check, a: &Answer) -> Verdict {
    match a.status {
        200..=299 => match account(check, a) {
            Ok(id) => Verdict::Valid(Account::Service(id)),
            Err(why) => Verdict::BadResponse(why),
        },
        _ => by_status(check, a, error_detail(check, a)),
    }
}

/// Hugging Face: `GET /api/whoami-v2`, read into the typed [`WhoAmI`] (role, fine-grained scopes).
fn hf(check: Check, a: &Answer) -> Verdict {
    match a.status {
        200..=299 => match parse_whoami(&a.body) {
            Ok(w) => Verdict::Valid(Account::HuggingFace(w)),
            Err(e) => Verdict::BadResponse(e.to_string()),
        },
        _ => by_status(check, a, error_detail(check, a)),
    }
}

/// GitHub: `GET /user`, read with the catalogue, plus what is GitHub's own: administrative scopes
/// of a classic token are warned about, and a 403 is a rate limit (no requests left) or a SAML
/// single sign-on refusal.
fn github(check: Check, a: &Answer) -> Verdict {
    let message = error_detail(check, a);
    match a.status {
        200..=299 => {
            let mut id = match account(check, a) {
                Ok(id) => id,
                Err(why) => return Verdict::BadResponse(why),
            };
            let broad: Vec<&str> = id
                .scopes
                .iter()
                .flatten()
                .filter(|s| s.starts_with("admin:") || *s == "delete_repo")
                .map(String::as_str)
                .collect();
            if !broad.is_empty() {
                id.warning = Some(format!(
                    "this classic token has administrative scopes ({}); a fine-grained token limited to the repositories a program needs is safer",
                    broad.join(", ")
                ));
            }
            Verdict::Valid(Account::Service(id))
        }
        // The primary rate limit answers 403 (or 429) with no requests left.
        403 | 429
            if a.header("x-ratelimit-remaining") == Some("0")
                || a.header("retry-after").is_some() =>
        {
            Verdict::RateLimited(message)
        }
        403 if a.header("x-github-sso").is_some()
            || message.as_deref().is_some_and(|m| m.contains("SAML")) =>
        {
            Verdict::Forbidden {
                detail: message,
                hint: Some(
                    "authorize the token for the organisation's SAML single sign-on at https://github.com/settings/tokens"
                        .to_owned(),
                ),
            }
        }
        _ => by_status(check, a, message),
    }
}

/// OpenAI: the common shape, and a 429 that is an empty quota rather than a rate limit.
fn openai(check: Check, a: &Answer) -> Verdict {
    let detail = error_detail(check, a);
    match a.status {
        429 if detail
            .as_deref()
            .is_some_and(|d| d.starts_with("insufficient_quota")) =>
        {
            Verdict::Other {
                rejected: false,
                code: "quota",
                message: format!(
                    "OpenAI accepted the API key but the account is out of quota (429: {})",
                    detail.unwrap_or_default()
                ),
                hint: "check the plan and billing at https://platform.openai.com/settings/organization/billing".to_owned(),
            }
        }
        _ => common(check, a),
    }
}

/// Anthropic: the common shape, and 529 (overloaded) is a server error.
fn anthropic(check: Check, a: &Answer) -> Verdict {
    match a.status {
        529 => Verdict::ServerError,
        _ => common(check, a),
    }
}

/// Google (Generative Language API): `GET /v1beta/models`. A bad key is a 400 whose details carry
/// `reason: API_KEY_INVALID`; a key blocked for this API, or an API not enabled, is a 403.
fn google(check: Check, a: &Answer) -> Verdict {
    let v = json(&a.body).ok();
    let reason = v.as_ref().and_then(|v| {
        v.get("error")?
            .get("details")?
            .as_array()?
            .iter()
            .find_map(|d| str_at(d, &["reason"]))
            .map(str::to_owned)
    });
    let message = v.as_ref().and_then(|v| error_text(check, v));
    let detail = code_and_message(reason.clone(), message);
    let reason = reason.as_deref().unwrap_or("");
    match a.status {
        200..=299 => common(check, a),
        400 if reason.contains("EXPIRED") => Verdict::Expired(detail),
        400 if reason.starts_with("API_KEY_") => Verdict::Invalid(detail),
        403 if reason == "SERVICE_DISABLED" => Verdict::Forbidden {
            detail,
            hint: Some("enable the Generative Language API in the key's Google Cloud project (https://console.cloud.google.com/apis/library/generativelanguage.googleapis.com)".to_owned()),
        },
        403 => Verdict::Forbidden {
            detail,
            hint: Some("the key's restrictions (APIs, referrers, IP addresses) block this API; check them at https://console.cloud.google.com/apis/credentials".to_owned()),
        },
        _ => by_status(check, a, detail),
    }
}

/// Slack: `POST /api/auth.test`. A bad token is a 200 with `{"ok":false,"error":"invalid_auth"}`;
/// a good one is read with the catalogue, and is a `bot` when the answer has a `bot_id`.
fn slack(check: Check, a: &Answer, ctx: &CheckContext<'_>) -> Verdict {
    if !(200..=299).contains(&a.status) {
        return by_status(check, a, None);
    }
    let v = match json(&a.body) {
        Ok(v) => v,
        Err(e) => return Verdict::BadResponse(e),
    };
    match v.get("ok").and_then(Value::as_bool) {
        Some(true) => {
            let mut id = match account(check, a) {
                Ok(id) => id,
                Err(why) => return Verdict::BadResponse(why),
            };
            id.kind = if v.get("bot_id").and_then(Value::as_str).is_some() {
                "bot"
            } else {
                "user"
            }
            .to_owned();
            Verdict::Valid(Account::Service(id))
        }
        Some(false) => {
            let error = str_at(&v, &["error"]).unwrap_or("unknown_error");
            let detail = Some(format!("ok:false, error {error}"));
            match error {
                "invalid_auth" | "not_authed" | "account_inactive" | "token_revoked" => {
                    Verdict::Invalid(detail)
                }
                "token_expired" => Verdict::Expired(detail),
                "no_permission" | "missing_scope" | "not_allowed_token_type" | "ekm_access_denied" => {
                    Verdict::Forbidden { detail, hint: None }
                }
                "ratelimited" => Verdict::RateLimited(detail),
                other => Verdict::Other {
                    rejected: false,
                    code: "unexpected",
                    message: format!("Slack answered auth.test with error {other}"),
                    hint: format!(
                        "see https://api.slack.com/methods/auth.test for what it means; then `tokenvault verify {} --fresh`",
                        ctx.item.unwrap_or("ITEM")
                    ),
                },
            }
        }
        None => Verdict::BadResponse("it is not an auth.test answer (no `ok`)".to_owned()),
    }
}

/// Stripe: `GET /v1/balance`. The key's prefix says live or test mode and secret or restricted
/// key; `livemode` in the answer confirms the mode. A restricted key without balance permission
/// gets 403, which still proves the key authenticated.
fn stripe(check: Check, a: &Answer, ctx: &CheckContext<'_>) -> Verdict {
    let prefix = ctx.key_prefix.unwrap_or("");
    let restricted = prefix.starts_with("rk_");
    let kind = if restricted {
        "restricted key"
    } else {
        "secret key"
    };
    let prefix_mode = if prefix.ends_with("_live") {
        Some("live")
    } else if prefix.ends_with("_test") {
        Some("test")
    } else {
        None
    };
    let detail = error_detail(check, a);
    match a.status {
        200..=299 => {
            let v = match json(&a.body) {
                Ok(v) => v,
                Err(e) => return Verdict::BadResponse(e),
            };
            if str_at(&v, &["object"]) != Some("balance") {
                return Verdict::BadResponse("it is not a balance object".to_owned());
            }
            let mode = match v.get("livemode").and_then(Value::as_bool) {
                Some(true) => "live",
                Some(false) => "test",
                None => prefix_mode.unwrap_or("unknown"),
            };
            let mut currencies: Vec<String> = v
                .get("available")
                .and_then(Value::as_array)
                .map(|l| {
                    l.iter()
                        .filter_map(|b| str_at(b, &["currency"]).map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            currencies.dedup();
            let mut id = Identity::new(format!("{mode} mode"), kind).detail(
                "currencies",
                (!currencies.is_empty()).then(|| currencies.join(", ")),
            );
            if prefix_mode.is_some_and(|p| p != mode) {
                id.note = Some(format!(
                    "the key's prefix says {} mode but Stripe answered for {mode} mode",
                    prefix_mode.unwrap_or("?")
                ));
            }
            if mode == "live" && !restricted {
                id.warning = Some(
                    "a live secret key can do everything on the account; a restricted key (rk_live_…) limited to what the program needs is safer"
                        .to_owned(),
                );
            }
            Verdict::Valid(Account::Service(id))
        }
        403 if restricted => {
            let mut id = Identity::new(format!("{} mode", prefix_mode.unwrap_or("unknown")), kind);
            id.note = Some(
                "the key authenticated but may not read the balance, so its permissions were not checked"
                    .to_owned(),
            );
            Verdict::Valid(Account::Service(id))
        }
        _ => by_status(check, a, detail),
    }
}

/// The text of the first `<tag>…</tag>` element in `xml` (namespaces ignored), with the five
/// predefined entities decoded. STS answers are small and flat; this is all they need.
pub fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let mut from = 0;
    while let Some(i) = xml[from..].find(&format!("<{tag}")) {
        let start = from + i + 1 + tag.len();
        let rest = &xml[start..];
        // `<Arn>` or `<Arn xmlns=…>`, not `<ArnSomething>`.
        match rest.chars().next() {
            Some('>' | '/' | ' ' | '\t' | '\n' | '\r') => {}
            _ => {
                from = start;
                continue;
            }
        }
        let open_end = rest.find('>')?;
        if rest[..open_end].ends_with('/') {
            return Some(String::new());
        }
        let content = &rest[open_end + 1..];
        let end = content.find(&format!("</{tag}>"))?;
        let raw = content[..end].trim();
        return Some(
            raw.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&"),
        );
    }
    None
}

/// What an STS caller ARN says the principal is.
fn principal_kind(arn: &str) -> &'static str {
    let resource = arn.splitn(6, ':').nth(5).unwrap_or("");
    if resource == "root" {
        "root user"
    } else if resource.starts_with("user/") {
        "IAM user"
    } else if resource.starts_with("assumed-role/") {
        "assumed role"
    } else if resource.starts_with("federated-user/") {
        "federated user"
    } else {
        "principal"
    }
}

/// AWS STS `GetCallerIdentity`: XML with `Arn`, `Account`, `UserId`, or an `ErrorResponse` whose
/// `Code` says what is wrong.
fn aws_sts(check: Check, a: &Answer, ctx: &CheckContext<'_>) -> Verdict {
    let item = ctx.item.unwrap_or("ITEM");
    if (200..=299).contains(&a.status) {
        let Some(arn) = xml_text(&a.body, "Arn") else {
            return Verdict::BadResponse(
                "it is not a GetCallerIdentity response (no Arn)".to_owned(),
            );
        };
        let kind = principal_kind(&arn);
        let account = xml_text(&a.body, "Account");
        let mut id = Identity::new(arn.clone(), kind)
            .detail("account", account.clone())
            .detail("user id", xml_text(&a.body, "UserId"));
        if kind == "root user" {
            id.warning = Some(format!(
                "these are the root user's keys of account {}: they can do anything and cannot be limited; use an IAM user or role with only the permissions needed, and delete the root keys",
                account.as_deref().unwrap_or("?")
            ));
        }
        return Verdict::Valid(Account::Service(id));
    }
    let code = xml_text(&a.body, "Code");
    let message = xml_text(&a.body, "Message").map(|m| clean(&m));
    let detail = code.as_ref().map(|c| match &message {
        Some(m) => format!("{c}: {m}"),
        None => c.clone(),
    });
    match code.as_deref() {
        Some("InvalidClientTokenId") => Verdict::Invalid(detail),
        Some("SignatureDoesNotMatch") => Verdict::Other {
            rejected: true,
            code: "signature-mismatch",
            message: format!(
                "AWS STS rejected the signature ({}: {}): the secret access key does not belong to this access key id",
                a.status,
                detail.unwrap_or_default()
            ),
            hint: format!(
                "store the secret that belongs to the key id with `tokenvault set {item}/secret_access_key`; if the system clock is far off, fix it first"
            ),
        },
        Some("ExpiredToken") | Some("ExpiredTokenException") => Verdict::Expired(detail),
        Some("RequestExpired") => Verdict::Other {
            rejected: false,
            code: "clock-skew",
            message: format!(
                "AWS STS refused the request as too old or too new ({}: {}): this machine's clock is off",
                a.status,
                detail.unwrap_or_default()
            ),
            hint: "sync the system clock (e.g. `timedatectl set-ntp true`) and retry".to_owned(),
        },
        Some("Throttling") | Some("ThrottlingException") | Some("RequestLimitExceeded") => {
            Verdict::RateLimited(detail)
        }
        Some("AccessDenied") | Some("AccessDeniedException") => Verdict::Forbidden {
            detail,
            hint: Some(
                "GetCallerIdentity needs no permission; an organisation policy (SCP) or a VPC endpoint policy denies it"
                    .to_owned(),
            ),
        },
        Some("InvalidAccessKeyId") => Verdict::Invalid(detail),
        Some(_) => match a.status {
            500..=599 => Verdict::ServerError,
            _ => Verdict::Unexpected(detail),
        },
        None => by_status(check, a, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Explanation;

    fn answer(status: u16, body: &str, headers: &[(&str, &str)]) -> Answer {
        Answer {
            status,
            body: body.to_owned(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn ctx() -> CheckContext<'static> {
        CheckContext {
            create_url: Some("https://example.invalid/new"),
            key_prefix: None,
            item: Some("it"),
        }
    }

    fn valid(o: LiveOutcome) -> Identity {
        match o {
            LiveOutcome::Valid(Account::Service(i)) => i,
            other => panic!("{other:?}"),
        }
    }

    fn rejected(o: LiveOutcome) -> Explanation {
        match o {
            LiveOutcome::Rejected(e) => e,
            other => panic!("{other:?}"),
        }
    }

    fn unknown(o: LiveOutcome) -> Explanation {
        match o {
            LiveOutcome::Unknown(e) => e,
            other => panic!("{other:?}"),
        }
    }

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

    /// What the account of a valid answer is, per provider: name, kind, details, scopes and expiry,
    /// read where the catalogue says (Hugging Face: its typed whoami, whose role is its scope).
    #[test]
    fn valid_answers_table() {
        struct Row {
            check: Check,
            body: &'static str,
            headers: &'static [(&'static str, &'static str)],
            name: &'static str,
            scopes: Option<&'static [&'static str]>,
            expires: Option<&'static str>,
            summary: &'static str,
        }
        let rows = [
            Row {
                check: Check::HuggingFace,
                body: r#"{"type":"user","name":"alice","orgs":[{"name":"acme"}],"auth":{"accessToken":{"displayName":"ci","role":"fineGrained","expiresAt":"2031-01-01T00:00:00Z","fineGrained":{"scoped":[{"entity":{"type":"model","name":"alice/m"},"permissions":["repo.content.read"]}]}}}}"#,
                headers: &[],
                name: "alice",
                scopes: Some(&["fineGrained (model alice/m: repo.content.read)"]),
                expires: Some("2031-01-01T00:00:00Z"),
                summary: "alice (user), orgs: acme, token \"ci\", role fineGrained (model alice/m: repo.content.read), expires 2031-01-01T00:00:00Z",
            },
            Row {
                check: Check::GitHub,
                body: r#"{"login":"hubot","type":"Bot","name":null}"#,
                headers: &[("x-oauth-scopes", " repo ,, gist"), ("github-authentication-token-expiration", "2030-05-01 00:00:00 UTC")],
                name: "hubot",
                scopes: Some(&["repo", "gist"]),
                expires: Some("2030-05-01 00:00:00 UTC"),
                summary: "hubot (bot), scopes: repo, gist, expires 2030-05-01 00:00:00 UTC",
            },
            Row {
                check: Check::GitHub,
                body: r#"{"login":"octo","name":"Octo Cat"}"#,
                headers: &[("x-oauth-scopes", "")],
                name: "octo",
                scopes: Some(&[]),
                expires: None,
                summary: "octo (user), name: Octo Cat, scopes: none",
            },
            Row {
                check: Check::OpenAi,
                body: r#"{"object":"list","data":[]}"#,
                headers: &[("openai-project", "proj_1")],
                name: "API key",
                scopes: None,
                expires: None,
                summary: "API key, models visible: 0, project: proj_1",
            },
            Row {
                check: Check::Anthropic,
                body: r#"{"data":[{"id":"a"},{"id":"b"}],"has_more":false}"#,
                headers: &[("anthropic-organization-id", "org-9")],
                name: "API key",
                scopes: None,
                expires: None,
                summary: "API key, models visible: 2, organization: org-9",
            },
            Row {
                check: Check::Google,
                body: r#"{}"#,
                headers: &[],
                name: "API key",
                scopes: None,
                expires: None,
                summary: "API key, models visible: 0",
            },
            Row {
                check: Check::Slack,
                body: r#"{"ok":true,"team":"T","user":"ana","user_id":"U1"}"#,
                headers: &[],
                name: "ana",
                scopes: None,
                expires: None,
                summary: "ana (user), team: T, user id: U1",
            },
            Row {
                check: Check::Slack,
                body: r#"{"ok":true}"#,
                headers: &[("x-oauth-scopes", "chat:write")],
                name: "?",
                scopes: Some(&["chat:write"]),
                expires: None,
                summary: "? (user), scopes: chat:write",
            },
            Row {
                check: Check::AwsSts,
                body: "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:sts::111122223333:assumed-role/ci/run</Arn><Account>111122223333</Account></GetCallerIdentityResult></GetCallerIdentityResponse>",
                headers: &[],
                name: "arn:aws:sts::111122223333:assumed-role/ci/run",
                scopes: None,
                expires: None,
                summary: "arn:aws:sts::111122223333:assumed-role/ci/run (assumed role), account: 111122223333",
            },
        ];
        for r in rows {
            let o = r.check.interpret(&answer(200, r.body, r.headers), &ctx());
            let LiveOutcome::Valid(account) = o else {
                panic!("{:?}: {o:?}", r.check)
            };
            assert_eq!(account.name(), r.name, "{:?}", r.check);
            assert_eq!(
                account.scopes(),
                r.scopes
                    .map(|s| s.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
                "{:?}",
                r.check
            );
            assert_eq!(account.expires_at(), r.expires, "{:?}", r.check);
            assert_eq!(account.summary(), r.summary, "{:?}", r.check);
        }
    }

    /// The error text of a rejection, per provider, from where the catalogue says it is.
    #[test]
    fn rejection_details_table() {
        let rows: &[(Check, u16, &str, &str, &str)] = &[
            (
                Check::HuggingFace,
                401,
                r#"{"error":"Invalid username or password."}"#,
                "invalid",
                "(401: Invalid username or password.)",
            ),
            (
                Check::GitHub,
                403,
                r#"{"message":"Must have admin rights"}"#,
                "forbidden",
                "(403: Must have admin rights)",
            ),
            (
                Check::OpenAi,
                401,
                r#"{"error":{"type":"invalid_request_error","message":"Incorrect API key provided: sk-***x."}}"#,
                "invalid",
                "(401: invalid_request_error: Incorrect API key provided)",
            ),
            (
                Check::Anthropic,
                403,
                r#"{"type":"error","error":{"type":"permission_error"}}"#,
                "forbidden",
                "(403: permission_error)",
            ),
            (
                Check::Google,
                400,
                r#"{"error":{"message":"expired","details":[{"reason":"API_KEY_EXPIRED"}]}}"#,
                "expired",
                "(400: API_KEY_EXPIRED: expired)",
            ),
            (
                Check::Stripe,
                401,
                r#"{"error":{"message":"Expired API Key provided: rk_live_***1"}}"#,
                "invalid",
                "(401: Expired API Key provided)",
            ),
        ];
        for (check, status, body, code, detail) in rows {
            let e = rejected(check.interpret(&answer(*status, body, &[]), &ctx()));
            assert_eq!(e.code, *code, "{check:?}: {e:?}");
            assert!(e.message.contains(detail), "{check:?}: {e:?}");
            assert!(e.message.starts_with(check.service()), "{check:?}: {e:?}");
        }
        // Hugging Face's 429 carries the catalogue's note instead of the provider's text.
        let e = unknown(Check::HuggingFace.interpret(&answer(429, "{}", &[]), &ctx()));
        assert!(
            e.message.ends_with(": whoami-v2 allows only a few calls"),
            "{e:?}"
        );
    }

    /// The account fields are data: a catalogue table of a made-up provider reads its answer.
    #[test]
    fn account_fields_from_any_catalogue_table() {
        let toml = r#"
[[provider]]
id = "acme"
name = "Acme"
default_field = "token"
  [provider.check]
  base = "https://api.acme.example"
  path = "/v2/me"
  auth = "header"
  auth_header = "x-acme-key"
    [provider.check.account]
    name = "/who/login"
    kind = "/who/type"
    kind_default = "user"
    details = { plan = "/plan", region = "/where/region" }
    header_details = { org = "x-acme-org" }
    scopes_header = "x-acme-scopes"
    no_scopes_note = "Acme says nothing about scopes"
    expires_header = "x-acme-expires"
  [[provider.fields]]
  name = "token"
"#;
        let cat = Catalogue::parse(toml, "test").unwrap();
        let spec = cat.get("acme").unwrap().check.as_ref().unwrap();
        assert_eq!(spec.service, "Acme");
        let fields = spec.account.as_ref().unwrap();
        let body =
            r#"{"who":{"login":"wile","type":"Coyote"},"plan":"pro","where":{"region":"eu"}}"#;
        let v: Value = serde_json::from_str(body).unwrap();
        let a = answer(
            200,
            body,
            &[
                ("x-acme-org", "desert"),
                ("x-acme-scopes", "read,write"),
                ("x-acme-expires", "2030"),
            ],
        );
        let id = identity(fields, &a, &v).unwrap();
        assert_eq!(
            id.summary(),
            "wile (coyote), org: desert, plan: pro, region: eu, scopes: read, write, expires 2030"
        );
        let a = answer(200, r#"{"who":{"login":"wile"}}"#, &[]);
        let v: Value = serde_json::from_str(&a.body).unwrap();
        let id = identity(fields, &a, &v).unwrap();
        assert_eq!(id.summary(), "wile (user); Acme says nothing about scopes");
        let v: Value = serde_json::from_str(r#"{"who":{}}"#).unwrap();
        assert_eq!(
            identity(fields, &a, &v).unwrap_err(),
            "it names no account (no `login`)"
        );
    }

    const GITHUB_USER: &str = r#"{"login":"octocat","id":1,"node_id":"MDQ6VXNlcjE=","avatar_url":"https://github.com/images/error/octocat_happy.gif","type":"User","site_admin":false,"name":"monalisa octocat","company":"GitHub","public_repos":2,"created_at":"2008-01-14T04:33:35Z"}"#;

    #[test]
    fn github_classic_fine_grained_and_errors() {
        let i = valid(Check::GitHub.interpret(
            &answer(
                200,
                GITHUB_USER,
                &[
                    ("x-oauth-scopes", "repo, read:org"),
                    (
                        "github-authentication-token-expiration",
                        "2030-01-01 00:00:00 UTC",
                    ),
                ],
            ),
            &ctx(),
        ));
        assert_eq!(
            i.summary(),
            "octocat (user), name: monalisa octocat, scopes: repo, read:org, expires 2030-01-01 00:00:00 UTC"
        );
        assert!(i.warning.is_none());
        let i = valid(Check::GitHub.interpret(&answer(200, GITHUB_USER, &[]), &ctx()));
        assert_eq!(i.scopes, None);
        assert!(i.summary().contains("does not report its permissions"));
        let i = valid(Check::GitHub.interpret(
            &answer(
                200,
                GITHUB_USER,
                &[("x-oauth-scopes", "repo, admin:org, delete_repo")],
            ),
            &ctx(),
        ));
        assert!(i.warning.unwrap().contains("admin:org, delete_repo"));

        let e = rejected(Check::GitHub.interpret(
            &answer(
                401,
                r#"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}"#,
                &[],
            ),
            &ctx(),
        ));
        assert_eq!(e.code, "invalid");
        assert_eq!(
            e.message,
            "GitHub rejected the token (401: Bad credentials): it is invalid, revoked or expired"
        );
        assert!(e.hint.contains("https://example.invalid/new"));
        let e = unknown(Check::GitHub.interpret(
            &answer(
                403,
                r#"{"message":"API rate limit exceeded for user ID 1."}"#,
                &[("x-ratelimit-remaining", "0")],
            ),
            &ctx(),
        ));
        assert_eq!(e.code, "rate-limited");
        let e = rejected(Check::GitHub.interpret(
            &answer(
                403,
                r#"{"message":"Resource protected by organization SAML enforcement. You must grant your Personal Access token access to this organization."}"#,
                &[],
            ),
            &ctx(),
        ));
        assert!(e.hint.contains("SAML"), "{e:?}");
    }

    #[test]
    fn openai_models_and_invalid_key_never_echo_the_key() {
        let i = valid(Check::OpenAi.interpret(
            &answer(
                200,
                r#"{"object":"list","data":[{"id":"gpt-4o","object":"model","created":1715367049,"owned_by":"system"},{"id":"o3","object":"model","created":1,"owned_by":"system"}]}"#,
                &[("openai-organization", "org-abc")],
            ),
            &ctx(),
        ));
        assert_eq!(
            i.summary(),
            "API key, models visible: 2, organization: org-abc"
        );
        let e = rejected(Check::OpenAi.interpret(
            &answer(
                401,
                r#"{"error":{"message":"Incorrect API key provided: sk-proj-********************************************abcd. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
                &[],
            ),
            &ctx(),
        ));
        assert_eq!(
            e.message,
            "OpenAI rejected the API key (401: invalid_api_key: Incorrect API key provided): it is invalid, revoked or expired"
        );
        assert!(!e.message.contains("abcd"));
        let e = unknown(Check::OpenAi.interpret(
            &answer(429, r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#, &[]),
            &ctx(),
        ));
        assert_eq!(e.code, "quota");
    }

    #[test]
    fn anthropic_models_and_authentication_error() {
        let i = valid(Check::Anthropic.interpret(
            &answer(
                200,
                r#"{"data":[{"type":"model","id":"claude-sonnet-4-20250514","display_name":"Claude Sonnet 4","created_at":"2025-05-22T00:00:00Z"}],"has_more":true,"first_id":"a","last_id":"b"}"#,
                &[],
            ),
            &ctx(),
        ));
        assert_eq!(i.summary(), "API key, models visible: 1+");
        let e = rejected(Check::Anthropic.interpret(
            &answer(
                401,
                r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}"#,
                &[],
            ),
            &ctx(),
        ));
        assert!(e
            .message
            .contains("(401: authentication_error: invalid x-api-key)"));
        assert_eq!(
            unknown(Check::Anthropic.interpret(
                &answer(529, r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#, &[]),
                &ctx()
            ))
            .code,
            "server-error"
        );
        let e = unknown(Check::Anthropic.interpret(
            &answer(
                429,
                r#"{"type":"error","error":{"type":"rate_limit_error","message":"x"}}"#,
                &[("retry-after", "7")],
            ),
            &ctx(),
        ));
        assert!(e.hint.contains("retry in 7 seconds"));
    }

    const GOOGLE_INVALID: &str = r#"{
  "error": {
    "code": 400,
    "message": "API key not valid. Please pass a valid API key.",
    "status": "INVALID_ARGUMENT",
    "details": [
      {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "API_KEY_INVALID",
        "domain": "googleapis.com",
        "metadata": { "service": "generativelanguage.googleapis.com" }
      },
      { "@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US", "message": "API key not valid. Please pass a valid API key." }
    ]
  }
}"#;

    #[test]
    fn google_invalid_key_is_a_rejection_and_disabled_api_is_explained() {
        let e = rejected(Check::Google.interpret(&answer(400, GOOGLE_INVALID, &[]), &ctx()));
        assert_eq!(e.code, "invalid");
        assert!(e.message.contains("API_KEY_INVALID: API key not valid"));
        let disabled = r#"{"error":{"code":403,"message":"Generative Language API has not been used in project 1 before or it is disabled.","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"SERVICE_DISABLED"}]}}"#;
        let e = rejected(Check::Google.interpret(&answer(403, disabled, &[]), &ctx()));
        assert!(e.hint.contains("enable the Generative Language API"));
        let i = valid(Check::Google.interpret(
            &answer(
                200,
                r#"{"models":[{"name":"models/gemini-2.0-flash"}],"nextPageToken":"x"}"#,
                &[],
            ),
            &ctx(),
        ));
        assert_eq!(i.summary(), "API key, models visible: 1+");
        // A 400 that is not about the key is not a rejection.
        assert!(matches!(
            Check::Google.interpret(
                &answer(400, r#"{"error":{"code":400,"message":"bad"}}"#, &[]),
                &ctx()
            ),
            LiveOutcome::Unknown(_)
        ));
    }

    #[test]
    fn slack_ok_false_is_a_rejection() {
        let i = valid(Check::Slack.interpret(
            &answer(
                200,
                r#"{"ok":true,"url":"https://subarachnoid.slack.com/","team":"Subarachnoid Workspace","user":"grace","team_id":"T12345678","user_id":"W12345678","bot_id":"B1","is_enterprise_install":false}"#,
                &[("x-oauth-scopes", "chat:write,channels:read")],
            ),
            &ctx(),
        ));
        assert_eq!(i.kind, "bot");
        assert!(i
            .summary()
            .contains("team: Subarachnoid Workspace, team id: T12345678"));
        assert_eq!(
            i.scopes,
            Some(vec!["chat:write".to_owned(), "channels:read".to_owned()])
        );
        let e = rejected(Check::Slack.interpret(
            &answer(200, r#"{"ok":false,"error":"invalid_auth"}"#, &[]),
            &ctx(),
        ));
        assert_eq!(e.code, "invalid");
        assert!(e.message.contains("(200: ok:false, error invalid_auth)"));
        assert_eq!(
            rejected(Check::Slack.interpret(
                &answer(200, r#"{"ok":false,"error":"token_expired"}"#, &[]),
                &ctx()
            ))
            .code,
            "expired"
        );
        assert!(matches!(
            Check::Slack.interpret(
                &answer(200, r#"{"ok":false,"error":"fatal_error"}"#, &[]),
                &ctx()
            ),
            LiveOutcome::Unknown(_)
        ));
    }

    #[test]
    fn stripe_modes_and_restricted_keys() {
        let balance = r#"{"object":"balance","available":[{"amount":0,"currency":"usd","source_types":{"card":0}}],"connect_reserved":[{"amount":0,"currency":"usd"}],"livemode":false,"pending":[{"amount":0,"currency":"usd","source_types":{"card":0}}]}"#;
        let test_ctx = CheckContext {
            key_prefix: Some("sk_test"),
            ..ctx()
        };
        let i = valid(Check::Stripe.interpret(&answer(200, balance, &[]), &test_ctx));
        assert_eq!(i.summary(), "test mode (secret key), currencies: usd");
        assert!(i.warning.is_none());
        let live = balance.replace("\"livemode\":false", "\"livemode\":true");
        let live_ctx = CheckContext {
            key_prefix: Some("sk_live"),
            ..ctx()
        };
        let i = valid(Check::Stripe.interpret(&answer(200, &live, &[]), &live_ctx));
        assert!(i.warning.unwrap().contains("restricted key"));
        let e = rejected(Check::Stripe.interpret(
            &answer(
                401,
                r#"{"error":{"message":"Invalid API Key provided: sk_test_********************1234","type":"invalid_request_error"}}"#,
                &[],
            ),
            &test_ctx,
        ));
        assert!(e.message.contains("Invalid API Key provided)"), "{e:?}");
        assert!(!e.message.contains("1234"));
        let rk = CheckContext {
            key_prefix: Some("rk_live"),
            ..ctx()
        };
        let i = valid(Check::Stripe.interpret(
            &answer(403, r#"{"error":{"message":"The provided key 'rk_live_***' does not have the required permissions","type":"invalid_request_error"}}"#, &[]),
            &rk,
        ));
        assert_eq!(i.kind, "restricted key");
    }

    const STS_OK: &str = r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:iam::123456789012:user/Alice</Arn>
    <UserId>AIDACKCEVSQ6C2EXAMPLE</UserId>
    <Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata>
    <RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId>
  </ResponseMetadata>
</GetCallerIdentityResponse>
"#;

    fn sts_error(code: &str, message: &str) -> String {
        format!(
            r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>{code}</Code>
    <Message>{message}</Message>
  </Error>
  <RequestId>4f1b8c7e-1111-2222-3333-444455556666</RequestId>
</ErrorResponse>
"#
        )
    }

    #[test]
    fn sts_identity_and_errors() {
        let i = valid(Check::AwsSts.interpret(&answer(200, STS_OK, &[]), &ctx()));
        assert_eq!(
            i.summary(),
            "arn:aws:iam::123456789012:user/Alice (IAM user), account: 123456789012, user id: AIDACKCEVSQ6C2EXAMPLE"
        );
        assert!(i.warning.is_none());
        let root = STS_OK.replace("user/Alice", "root");
        let i = valid(Check::AwsSts.interpret(&answer(200, &root, &[]), &ctx()));
        assert_eq!(i.kind, "root user");
        assert!(i.warning.unwrap().contains("root user's keys"));

        let e = rejected(Check::AwsSts.interpret(
            &answer(
                403,
                &sts_error(
                    "InvalidClientTokenId",
                    "The security token included in the request is invalid.",
                ),
                &[],
            ),
            &ctx(),
        ));
        assert_eq!(e.code, "invalid");
        assert!(e.message.contains(
            "AWS STS rejected the access key (403: InvalidClientTokenId: The security token included in the request is invalid.)"
        ));
        let e = rejected(Check::AwsSts.interpret(
            &answer(403, &sts_error("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."), &[]),
            &ctx(),
        ));
        assert_eq!(e.code, "signature-mismatch");
        assert!(e.hint.contains("tokenvault set it/secret_access_key"));
        let e = rejected(Check::AwsSts.interpret(
            &answer(
                400,
                &sts_error(
                    "ExpiredToken",
                    "The security token included in the request is expired",
                ),
                &[],
            ),
            &ctx(),
        ));
        assert_eq!(e.code, "expired");
        assert!(e.hint.contains("session_token"));
        assert_eq!(
            unknown(Check::AwsSts.interpret(
                &answer(400, &sts_error("Throttling", "Rate exceeded"), &[]),
                &ctx()
            ))
            .code,
            "rate-limited"
        );
        assert_eq!(
            unknown(Check::AwsSts.interpret(&answer(503, "Service Unavailable", &[]), &ctx())).code,
            "server-error"
        );
        assert_eq!(
            unknown(Check::AwsSts.interpret(&answer(200, "<html/>", &[]), &ctx())).code,
            "bad-response"
        );
    }

    #[test]
    fn xml_text_finds_exact_tags_and_decodes_entities() {
        let x = "<A><ArnX>no</ArnX><Arn xmlns=\"n\">a&amp;b &lt;c&gt;</Arn><E/></A>";
        assert_eq!(xml_text(x, "Arn").as_deref(), Some("a&b <c>"));
        assert_eq!(xml_text(x, "E").as_deref(), Some(""));
        assert_eq!(xml_text(x, "Missing"), None);
        assert_eq!(xml_text("<Arn>unterminated", "Arn"), None);
    }

    #[test]
    fn key_echoes_are_cut() {
        assert_eq!(
            clean("Invalid API Key provided: sk_test_****1234"),
            "Invalid API Key provided"
        );
        assert_eq!(clean("Bad credentials"), "Bad credentials");
    }

    #[test]
    fn bad_response_hint_names_the_path_and_variable() {
        let e = unknown(Check::GitHub.interpret(&answer(200, "<html>", &[]), &ctx()));
        assert!(e.hint.contains("GITHUB_API_URL"), "{e:?}");
        assert!(e.hint.contains("/user"), "{e:?}");
    }
}
