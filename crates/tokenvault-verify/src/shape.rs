//! The common shape of provider answers, read where the catalogue says (`[provider.check]` and
//! `[provider.check.account]` in `rules/providers.toml`): status codes, the provider's error text,
//! and a valid answer's account, kind, details, scopes, expiry and list count. A check with nothing
//! of its own is [`common`]; the others ([`crate::providers`]) use these parts for what they share.

use crate::checks::{Account, Answer, Check, Identity, Verdict};
use serde_json::Value;
use tokenvault_core::AccountFields;

/// The status handling most JSON APIs share: 401 invalid, 403 forbidden, 429 limited (with the
/// catalogue's `rate_limit_note` when it has one), 5xx down.
pub(crate) fn by_status(check: Check, answer: &Answer, detail: Option<String>) -> Verdict {
    match answer.status {
        401 => Verdict::Invalid(detail),
        403 => Verdict::Forbidden { detail, hint: None },
        429 => Verdict::RateLimited(check.spec().rate_limit_note.clone().or(detail)),
        500..=599 => Verdict::ServerError,
        _ => Verdict::Unexpected(detail),
    }
}

pub(crate) fn json(body: &str) -> Result<Value, String> {
    serde_json::from_str(body).map_err(|e| format!("the answer is not JSON ({e})"))
}

pub(crate) fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for k in path {
        cur = cur.get(k)?;
    }
    cur.as_str()
}

/// The string at JSON pointer `pointer`.
pub(crate) fn str_ptr<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// The last step of a JSON pointer, for messages (`/login` → `login`).
pub(crate) fn last_step(pointer: &str) -> &str {
    pointer.rsplit('/').next().unwrap_or(pointer)
}

/// A provider's error text, shortened, with any echo of the key cut off: OpenAI and Stripe say
/// `Incorrect API key provided: sk-abc***xyz`, which is a masked key — still not ours to print.
pub(crate) fn clean(text: &str) -> String {
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
pub(crate) fn code_and_message(code: Option<String>, message: Option<String>) -> Option<String> {
    match (code, message) {
        (Some(c), Some(m)) => Some(format!("{c}: {m}")),
        (c, m) => m.or(c),
    }
}

/// The provider's error text where the catalogue says it is (`error_code`, first found, and
/// `error_message`), with any key echo cut off.
pub(crate) fn error_text(check: Check, v: &Value) -> Option<String> {
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
pub(crate) fn error_detail(check: Check, a: &Answer) -> Option<String> {
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
pub(crate) fn account(check: Check, a: &Answer) -> Result<Identity, String> {
    let v = json(&a.body)?;
    let fields = check
        .spec()
        .account
        .as_ref()
        .ok_or("the catalogue does not say where its facts are")?;
    identity(fields, a, &v)
}

/// The common shape: a 2xx is read with the catalogue's account fields, anything else by status.
pub(crate) fn common(check: Check, a: &Answer) -> Verdict {
    match a.status {
        200..=299 => match account(check, a) {
            Ok(id) => Verdict::Valid(Account::Service(id)),
            Err(why) => Verdict::BadResponse(why),
        },
        _ => by_status(check, a, error_detail(check, a)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::outcome::LiveOutcome;
    use tokenvault_core::Catalogue;

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

    #[test]
    fn key_echoes_are_cut() {
        assert_eq!(
            clean("Invalid API Key provided: sk_test_****1234"),
            "Invalid API Key provided"
        );
        assert_eq!(clean("Bad credentials"), "Bad credentials");
    }
}
