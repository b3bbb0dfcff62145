//! Per-provider code, kept only where a provider's answer has a shape of its own: Hugging Face's
//! typed whoami, GitHub's rate-limit, SAML and admin-scope answers, OpenAI's quota, Anthropic's 529,
//! Google's error reasons, Slack's `ok:false`, Stripe's key modes and AWS STS's XML. Everything
//! else about a check is catalogue data, read by [`crate::shape`].

use crate::checks::{Account, Answer, Check, CheckContext, Identity, Verdict};
use crate::shape::{
    account, by_status, clean, code_and_message, common, error_detail, error_text, json, str_at,
};
use crate::whoami::parse_whoami;
use serde_json::Value;

/// Hugging Face: `GET /api/whoami-v2`, read into the typed [`WhoAmI`] (role, fine-grained scopes).
pub(crate) fn hf(check: Check, a: &Answer) -> Verdict {
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
pub(crate) fn github(check: Check, a: &Answer) -> Verdict {
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
pub(crate) fn openai(check: Check, a: &Answer) -> Verdict {
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
pub(crate) fn anthropic(check: Check, a: &Answer) -> Verdict {
    match a.status {
        529 => Verdict::ServerError,
        _ => common(check, a),
    }
}

/// Google (Generative Language API): `GET /v1beta/models`. A bad key is a 400 whose details carry
/// `reason: API_KEY_INVALID`; a key blocked for this API, or an API not enabled, is a 403.
pub(crate) fn google(check: Check, a: &Answer) -> Verdict {
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
pub(crate) fn slack(check: Check, a: &Answer, ctx: &CheckContext<'_>) -> Verdict {
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
pub(crate) fn stripe(check: Check, a: &Answer, ctx: &CheckContext<'_>) -> Verdict {
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
pub(crate) fn aws_sts(check: Check, a: &Answer, ctx: &CheckContext<'_>) -> Verdict {
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
    use crate::checks::testing::*;
    use crate::outcome::LiveOutcome;

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
}
