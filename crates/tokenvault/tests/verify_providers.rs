//! Live verification of every provider other than Hugging Face (see `verify_hf.rs`) against local
//! stand-ins on 127.0.0.1 that answer with the real response shapes and status codes: GitHub
//! `/user` (with `X-OAuth-Scopes`), OpenAI and Anthropic model lists, Google `v1beta/models`, Slack
//! `auth.test`, Stripe `/v1/balance` and AWS STS `GetCallerIdentity`.
//!
//! Each stand-in records every request, so tests check that the credential travelled in the
//! provider's header and nowhere else (never the URL). The STS stand-in checks the SigV4 signature
//! of each request by having botocore — the AWS CLI's signer — sign the same request for the same
//! time (`tests/aws/sigv4_botocore.py`) and comparing the `Authorization` headers byte for byte;
//! a mismatch gets STS's own `SignatureDoesNotMatch` answer.

// Test helpers outside #[test] functions panic on failure by design.
#![allow(clippy::unwrap_used)]

mod common;

use common::standin::{start, Reply, Seen, StandIn};
use common::table;
use common::*;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// A stand-in that answers by the value of the credential found by `credential_of`.
fn keyed(
    path: &'static str,
    credential_of: fn(&Seen) -> Option<String>,
    answers: HashMap<String, Reply>,
    unknown: Reply,
) -> StandIn {
    start(Arc::new(move |req: &Seen| {
        if req.target != path {
            return (404, vec![], r#"{"message":"Not Found"}"#.to_owned());
        }
        credential_of(req)
            .and_then(|c| answers.get(&c).cloned())
            .unwrap_or_else(|| unknown.clone())
    }))
}

fn bearer(req: &Seen) -> Option<String> {
    req.header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(str::to_owned)
}

fn random(alphabet: &[u8], n: usize) -> String {
    let mut bytes = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut bytes)
        .unwrap();
    bytes
        .iter()
        .map(|b| alphabet[*b as usize % alphabet.len()] as char)
        .collect()
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn github_token() -> String {
    format!("ghp_{}", random(ALNUM, 36))
}
fn openai_key() -> String {
    format!("sk-proj-{}T3BlbkFJ{}", random(ALNUM, 24), random(ALNUM, 24))
}
fn anthropic_key() -> String {
    format!("sk-ant-api03-{}AA", random(ALNUM, 93))
}
fn google_key() -> String {
    format!("AIza{}", random(ALNUM, 35))
}
fn slack_token() -> String {
    format!(
        "xoxb-{}-{}-{}",
        random(b"0123456789", 13),
        random(b"0123456789", 13),
        random(ALNUM, 24)
    )
}
fn stripe_key(mode: &str) -> String {
    format!("sk_{mode}_{}", random(ALNUM, 32))
}
fn aws_key_id() -> String {
    format!("AKIA{}", random(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16))
}
fn aws_secret() -> String {
    random(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+",
        40,
    )
}

fn ok(body: &str) -> Reply {
    (200, vec![], body.to_owned())
}

fn all_output(o: &std::process::Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

/// The credential was sent in header `header` of every request and in nothing else: not the URL,
/// not the body, not another header. `what` names the case in every message.
fn assert_only_in_header(reqs: &[Seen], secret: &str, header: &str, what: &str) {
    assert!(!reqs.is_empty(), "{what}: no request reached the stand-in");
    for r in reqs {
        assert!(
            !r.target.contains(secret),
            "{what}: credential in the URL: {r:?}"
        );
        assert!(!r.body.contains(secret), "{what}: credential in the body");
        let mut carried = false;
        for (k, v) in &r.headers {
            if k == header {
                assert!(v.contains(secret), "{what}: {header} lacks the credential");
                carried = true;
            } else {
                assert!(!v.contains(secret), "{what}: credential in header {k}");
            }
        }
        assert!(carried, "{what}: no {header} header in {:?}", r.headers);
    }
}

/// No file under the tokenvault home (index, audit log, config) holds `secret` in plain text.
fn assert_no_secret_in_files(env: &Env, secret: &str, what: &str) {
    for f in files_under(&env.home) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(secret),
            "{what}: the value is in {}",
            f.display()
        );
    }
}

/// The audit log has a `verify` record.
fn assert_verify_audited(env: &Env, what: &str) {
    let audit = std::fs::read_to_string(env.home.join("audit.jsonl")).unwrap_or_default();
    assert!(
        audit.lines().any(|l| l.contains("\"verify\"")),
        "{what}: verify was not audited:\n{audit}"
    );
}

/// No file under the home holds `secret`, and `verify` was audited.
fn assert_no_secret_in_home(env: &Env, secret: &str, what: &str) {
    assert_no_secret_in_files(env, secret, what);
    assert_verify_audited(env, what);
}

fn index_json(env: &Env) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(env.home.join("index.json")).unwrap()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// GitHub

const GITHUB_USER: &str = r#"{"login":"octocat","id":583231,"node_id":"MDQ6VXNlcjU4MzIzMQ==","avatar_url":"https://avatars.githubusercontent.com/u/583231?v=4","gravatar_id":"","url":"https://api.github.com/users/octocat","html_url":"https://github.com/octocat","type":"User","user_view_type":"public","site_admin":false,"name":"The Octocat","company":"@github","blog":"https://github.blog","location":"San Francisco","email":null,"hireable":null,"bio":null,"twitter_username":null,"public_repos":8,"public_gists":8,"followers":9999,"following":9,"created_at":"2011-01-25T18:44:36Z","updated_at":"2025-01-01T00:00:00Z"}"#;
const GITHUB_401: &str = r#"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}"#;

#[test]
fn github_classic_token_shows_login_scopes_and_expiry_and_bad_credentials_are_explained() {
    let (classic, fine, revoked) = (github_token(), github_token(), github_token());
    let gh = keyed(
        "/user",
        bearer,
        HashMap::from([
            (
                classic.clone(),
                (
                    200,
                    vec![
                        ("X-OAuth-Scopes".into(), "repo, read:org".into()),
                        (
                            "github-authentication-token-expiration".into(),
                            "2030-01-01 00:00:00 UTC".into(),
                        ),
                        ("X-GitHub-Api-Version-Selected".into(), "2022-11-28".into()),
                    ],
                    GITHUB_USER.to_owned(),
                ),
            ),
            (fine.clone(), ok(GITHUB_USER)),
        ]),
        (401, vec![], GITHUB_401.to_owned()),
    );
    let mut env = Env::new();
    env.vars.push(("GITHUB_API_URL".into(), gh.url.clone()));

    // `set` verifies right away.
    let out = env.run_stdin(&["set", "github", "--stdin"], Some(&classic));
    assert_ok(&out);
    let err = stderr(&out);
    assert_has(&err, "Verified tv://github/token: octocat (user), name: The Octocat, scopes: repo, read:org, expires 2030-01-01 00:00:00 UTC");
    assert_no_secret(&out, &classic, "set github");
    let reqs = gh.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].target, "/user");
    assert_eq!(
        reqs[0].header("authorization"),
        Some(format!("Bearer {classic}").as_str())
    );
    assert_only_in_header(&reqs, &classic, "authorization", "github");

    // The result is in the index (account, scopes, expiry, time) and reused.
    let idx = index_json(&env);
    let v = &idx["items"]["github"]["fields"]["token"]["verified"];
    assert_eq!(v["ok"], true, "{idx}");
    assert_eq!(v["check"], "github");
    assert_eq!(v["account"], "octocat");
    assert_eq!(v["scopes"], serde_json::json!(["repo", "read:org"]));
    assert_eq!(v["expires"], "2030-01-01 00:00:00 UTC");
    assert!(v["at"].as_str().is_some());
    let again = env.run(&["verify", "github", "--json"]);
    assert_ok(&again);
    assert_eq!(gh.requests().len(), 1, "a recent result was not reused");
    let j: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(j[0]["status"], "valid");
    assert_eq!(j[0]["live"]["check"], "github");
    assert_eq!(j[0]["live"]["account"]["name"], "octocat");
    assert_eq!(
        j[0]["live"]["scopes"],
        serde_json::json!(["repo", "read:org"])
    );
    assert!(j[0]["live"]["reused_from"].is_string());
    assert_ok(&env.run(&["verify", "github", "--fresh"]));
    assert_eq!(gh.requests().len(), 2);

    // A fine-grained token: no scopes header, said so.
    env.set("github-fine", &fine);
    let out = env.run(&["verify", "github-fine"]);
    assert_ok(&out);
    assert_has(&stdout(&out), "octocat (user), name: The Octocat; fine-grained or app token: GitHub does not report its permissions");

    // 401 Bad credentials.
    env.set("github-old", &revoked);
    let out = env.run(&["verify", "github-old"]);
    assert_code(&out, 1);
    let text = all_output(&out);
    assert_has(&text, "tv://github-old/token  invalid  GitHub rejected the token (401: Bad credentials): it is invalid, revoked or expired");
    assert!(
        text.contains(
            "create a new token at https://github.com/settings/personal-access-tokens/new"
        ),
        "{text}"
    );
    for t in [&classic, &fine, &revoked] {
        assert_no_secret(&out, t, "verify github");
        assert_only_in_header(
            &gh.requests()
                .into_iter()
                .filter(|r| {
                    r.header("authorization")
                        .is_some_and(|a| a.contains(t.as_str()))
                })
                .collect::<Vec<_>>(),
            t,
            "authorization",
            "github",
        );
        assert_no_secret_in_home(&env, t, "github");
    }
}

#[test]
fn github_rate_limit_is_an_error_not_a_rejection() {
    let token = github_token();
    let gh = keyed(
        "/user",
        bearer,
        HashMap::new(),
        (
            403,
            vec![
                ("x-ratelimit-remaining".into(), "0".into()),
                ("retry-after".into(), "60".into()),
            ],
            r#"{"message":"API rate limit exceeded for user ID 1.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}"#.to_owned(),
        ),
    );
    let mut env = Env::new();
    env.vars.push(("GITHUB_API_URL".into(), gh.url.clone()));
    env.set("github", &token);
    let out = env.run(&["verify"]);
    assert_code(&out, 2);
    let text = all_output(&out);
    assert_has(&text, "rate-limited");
    assert_has(&text, "retry in 60 seconds");
}

// ---------------------------------------------------------------------------------------------
// OpenAI

#[test]
fn openai_rate_limit_gives_retry_after() {
    let key = openai_key();
    let api = keyed(
        "/v1/models",
        bearer,
        HashMap::new(),
        (
            429,
            vec![("retry-after".into(), "20".into())],
            r#"{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#.to_owned(),
        ),
    );
    let mut env = Env::new();
    env.vars
        .push(("OPENAI_BASE_URL".into(), format!("{}/v1/", api.url)));
    env.set("openai", &key);
    let out = env.run(&["verify", "--json"]);
    assert_code(&out, 2);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["status"], "rate-limited");
    assert!(
        v[0]["hint"]
            .as_str()
            .unwrap()
            .contains("retry in 20 seconds"),
        "{v}"
    );
    // Not a definite answer: nothing recorded.
    assert!(index_json(&env)["items"]["openai"]["fields"]["api_key"]["verified"].is_null());
}

// ---------------------------------------------------------------------------------------------
// Redirects

#[test]
fn a_redirect_is_not_followed_so_the_key_header_stays_home() {
    let key = anthropic_key();
    let elsewhere = start(Arc::new(|_: &Seen| ok(r#"{"data":[]}"#)));
    let target = format!("{}/v1/models", elsewhere.url);
    let redirecting = start(Arc::new(move |_: &Seen| {
        (
            307,
            vec![("Location".into(), target.clone())],
            String::new(),
        )
    }));
    let mut env = Env::new();
    env.vars
        .push(("ANTHROPIC_BASE_URL".into(), redirecting.url.clone()));
    env.set("anthropic", &key);
    let out = env.run(&["verify"]);
    assert_code(&out, 2);
    let text = all_output(&out);
    assert_has(
        &text,
        "unexpected  Anthropic answered HTTP 307, which this check does not expect",
    );
    assert_has(&text, "is ANTHROPIC_BASE_URL right?");
    assert_eq!(redirecting.requests().len(), 1);
    assert!(
        elsewhere.requests().is_empty(),
        "the redirect was followed: {:?}",
        elsewhere.requests()
    );
    assert_no_secret(&out, &key, "redirect");
}

// ---------------------------------------------------------------------------------------------
// The key-checking providers as a table: OpenAI, Anthropic, Google, Slack, Stripe

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
        "metadata": {
          "service": "generativelanguage.googleapis.com"
        }
      },
      {
        "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
        "locale": "en-US",
        "message": "API key not valid. Please pass a valid API key."
      }
    ]
  }
}
"#;

const STRIPE_BALANCE: &str = r#"{"object":"balance","available":[{"amount":0,"currency":"usd","source_types":{"card":0}}],"connect_reserved":[{"amount":0,"currency":"usd"}],"livemode":false,"pending":[{"amount":0,"currency":"usd","source_types":{"card":0}}]}"#;

/// One provider's live check: a stand-in at `path` that knows the good values, a good and a bad
/// (or more) stored value, and what `tokenvault` must say about each.
struct Case {
    /// The stand-in's path; any other path is a 404.
    path: &'static str,
    /// The header that must carry the credential (`authorization` holds `Bearer VALUE`).
    header: &'static str,
    /// The method every check request uses.
    method: &'static str,
    /// The variable that points the check at the stand-in, and what follows the stand-in's URL.
    base_var: &'static str,
    base_suffix: &'static str,
    /// Item name, value, and the stand-in's answer for it (`None`: `unknown`).
    items: Vec<(&'static str, String, Option<Reply>)>,
    /// The stand-in's answer to a value it does not know.
    unknown: Reply,
    /// `Verify(args)`: the items are stored without a check, then `args` run. `Set`: each item
    /// is stored with `set NAME --stdin`, which checks it at once.
    how: How,
    /// The exit code of the last command.
    code: i32,
    /// What the output (stderr alone for `Set`) must say.
    says: Vec<String>,
    /// What the output must not say.
    never_says: Vec<String>,
    /// Headers every request must have (`None`: must not have).
    headers: Vec<(&'static str, Option<&'static str>)>,
}

enum How {
    Verify(&'static [&'static str]),
    /// Stored with `set --stdin`; per item, its exit code and what its stderr says.
    Set(Vec<(i32, Vec<String>)>),
}

fn live_check_cases() -> Vec<(&'static str, Case)> {
    let (openai_good, openai_bad) = (openai_key(), openai_key());
    let (anthropic_good, anthropic_bad) = (anthropic_key(), anthropic_key());
    let (google_good, google_bad) = (google_key(), google_key());
    let (slack_good, slack_bad) = (slack_token(), slack_token());
    let (stripe_test, stripe_live, stripe_bad) =
        (stripe_key("test"), stripe_key("live"), stripe_key("test"));
    let stripe_masked = format!(
        "sk_test_{}{}",
        "*".repeat(20),
        &stripe_bad[stripe_bad.len() - 4..]
    );
    vec![
        (
            "openai",
            Case {
                path: "/v1/models",
                header: "authorization",
                method: "GET",
                base_var: "OPENAI_BASE_URL",
                base_suffix: "/v1",
                items: vec![
                    (
                        "openai",
                        openai_good,
                        Some((
                            200,
                            vec![("openai-organization".into(), "org-acme".into())],
                            r#"{"object":"list","data":[{"id":"gpt-4o","object":"model","created":1715367049,"owned_by":"system"},{"id":"gpt-4o-mini","object":"model","created":1721172741,"owned_by":"system"},{"id":"text-embedding-3-small","object":"model","created":1705948997,"owned_by":"system"}]}"#.to_owned(),
                        )),
                    ),
                    ("openai-old", openai_bad.clone(), None),
                ],
                // The real API echoes a masked form of the key; this stand-in echoes all of it,
                // to prove tokenvault never passes an echo on.
                unknown: (
                    401,
                    vec![],
                    format!(r#"{{"error":{{"message":"Incorrect API key provided: {openai_bad}. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}}}"#),
                ),
                how: How::Verify(&["verify", "openai", "openai-old"]),
                code: 1,
                says: vec![
                    "tv://openai/api_key  valid  API key, models visible: 3, organization: org-acme".into(),
                    "tv://openai-old/api_key  invalid  OpenAI rejected the API key (401: invalid_api_key: Incorrect API key provided): it is invalid, revoked or expired".into(),
                    "https://platform.openai.com/api-keys".into(),
                ],
                never_says: vec![],
                headers: vec![],
            },
        ),
        (
            "anthropic",
            Case {
                path: "/v1/models",
                header: "x-api-key",
                method: "GET",
                base_var: "ANTHROPIC_BASE_URL",
                base_suffix: "",
                items: vec![
                    (
                        "anthropic",
                        anthropic_good,
                        Some((
                            200,
                            vec![("anthropic-organization-id".into(), "3f1c2a9e-0000-4000-8000-000000000001".into())],
                            r#"{"data":[{"type":"model","id":"claude-opus-4-1-20250805","display_name":"Claude Opus 4.1","created_at":"2025-08-05T00:00:00Z"},{"type":"model","id":"claude-sonnet-4-20250514","display_name":"Claude Sonnet 4","created_at":"2025-05-22T00:00:00Z"}],"has_more":false,"first_id":"claude-opus-4-1-20250805","last_id":"claude-sonnet-4-20250514"}"#.to_owned(),
                        )),
                    ),
                    ("anthropic-old", anthropic_bad, None),
                ],
                unknown: (
                    401,
                    vec![],
                    r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}"#.to_owned(),
                ),
                how: How::Set(vec![
                    (
                        0,
                        vec!["Verified tv://anthropic/api_key: API key, models visible: 2, organization: 3f1c2a9e-0000-4000-8000-000000000001".into()],
                    ),
                    (
                        1,
                        vec![
                            "error: tv://anthropic-old/api_key was stored, but Anthropic rejected the API key (401: authentication_error: invalid x-api-key): it is invalid, revoked or expired".into(),
                            "https://console.anthropic.com/settings/keys".into(),
                        ],
                    ),
                ]),
                code: 1,
                says: vec![],
                never_says: vec![],
                headers: vec![
                    ("anthropic-version", Some("2023-06-01")),
                    ("authorization", None),
                ],
            },
        ),
        (
            "google",
            Case {
                path: "/v1beta/models",
                header: "x-goog-api-key",
                method: "GET",
                base_var: "TOKENVAULT_GOOGLE_API_URL",
                base_suffix: "",
                items: vec![
                    (
                        "google",
                        google_good,
                        Some(ok(
                            r#"{"models":[{"name":"models/gemini-2.5-pro","version":"2.5","displayName":"Gemini 2.5 Pro","inputTokenLimit":1048576,"outputTokenLimit":65536,"supportedGenerationMethods":["generateContent","countTokens"]},{"name":"models/gemini-2.5-flash","displayName":"Gemini 2.5 Flash"}],"nextPageToken":"Chdtb2RlbHMvZ2VtaW5pLTIuNS1mbGFzaA=="}"#,
                        )),
                    ),
                    ("google-old", google_bad, None),
                ],
                unknown: (400, vec![], GOOGLE_INVALID.to_owned()),
                how: How::Verify(&["verify"]),
                code: 1,
                says: vec![
                    "tv://google/api_key  valid  API key, models visible: 2+".into(),
                    "tv://google-old/api_key  invalid  Google rejected the API key (400: API_KEY_INVALID: API key not valid. Please pass a valid API key.)".into(),
                ],
                never_says: vec![],
                headers: vec![],
            },
        ),
        (
            "slack",
            Case {
                path: "/api/auth.test",
                header: "authorization",
                method: "POST",
                base_var: "TOKENVAULT_SLACK_API_URL",
                base_suffix: "",
                items: vec![
                    (
                        "slack",
                        slack_good,
                        Some((
                            200,
                            vec![("x-oauth-scopes".into(), "chat:write,channels:read".into())],
                            r#"{"ok":true,"url":"https://subarachnoid.slack.com/","team":"Subarachnoid Workspace","user":"grace","team_id":"T12345678","user_id":"W12345678","bot_id":"B12345678","is_enterprise_install":false}"#.to_owned(),
                        )),
                    ),
                    ("slack-old", slack_bad, None),
                ],
                unknown: (200, vec![], r#"{"ok":false,"error":"invalid_auth"}"#.to_owned()),
                how: How::Verify(&["verify", "slack", "slack-old"]),
                code: 1,
                says: vec![
                    "tv://slack/token  valid  grace (bot), team: Subarachnoid Workspace, team id: T12345678, url: https://subarachnoid.slack.com/, user id: W12345678, scopes: chat:write, channels:read".into(),
                    "tv://slack-old/token  invalid  Slack rejected the token (200: ok:false, error invalid_auth): it is invalid, revoked or expired".into(),
                    "https://api.slack.com/apps".into(),
                ],
                never_says: vec![],
                headers: vec![],
            },
        ),
        (
            "stripe",
            Case {
                path: "/v1/balance",
                header: "authorization",
                method: "GET",
                base_var: "TOKENVAULT_STRIPE_API_URL",
                base_suffix: "",
                items: vec![
                    ("stripe", stripe_test, Some(ok(STRIPE_BALANCE))),
                    (
                        "stripe-live",
                        stripe_live,
                        Some(ok(&STRIPE_BALANCE.replace("\"livemode\":false", "\"livemode\":true"))),
                    ),
                    ("stripe-old", stripe_bad, None),
                ],
                unknown: (
                    401,
                    vec![],
                    format!(
                        r#"{{"error":{{"message":"Invalid API Key provided: {stripe_masked}","type":"invalid_request_error"}}}}"#
                    ),
                ),
                how: How::Verify(&["verify", "stripe", "stripe-live", "stripe-old"]),
                code: 1,
                says: vec![
                    "tv://stripe/secret_key  valid  test mode (secret key), currencies: usd".into(),
                    "tv://stripe-live/secret_key  valid  live mode (secret key)".into(),
                    "warning: tv://stripe-live/secret_key: a live secret key can do everything".into(),
                    "tv://stripe-old/secret_key  invalid  Stripe rejected the API key (401: invalid_request_error: Invalid API Key provided): it is invalid, revoked or expired".into(),
                ],
                // The echoed (masked) key is not shown.
                never_says: vec![stripe_masked],
                headers: vec![],
            },
        ),
    ]
}

/// The credential a request carries in `header` (`Bearer ` stripped from `authorization`).
fn credential_in(header: &'static str) -> impl Fn(&Seen) -> Option<String> {
    move |req: &Seen| {
        let v = req.header(header)?;
        Some(if header == "authorization" {
            v.strip_prefix("Bearer ")?.to_owned()
        } else {
            v.to_owned()
        })
    }
}

/// Runs one row: each value reaches the stand-in once, only in `case.header`, with `case.method`
/// at `case.path` (no query string), and the output says what the row says; no value is in any
/// output or file under the home, and (for `verify`) the check was audited.
fn check_live(name: &'static str, case: Case) {
    let credential = credential_in(case.header);
    let answers: HashMap<String, Reply> = case
        .items
        .iter()
        .filter_map(|(_, v, r)| Some((v.clone(), r.clone()?)))
        .collect();
    let (path, header, unknown) = (case.path, case.header, case.unknown.clone());
    let api = start(Arc::new(move |req: &Seen| {
        if req.target != path {
            return (404, vec![], r#"{"message":"Not Found"}"#.to_owned());
        }
        credential_in(header)(req)
            .and_then(|c| answers.get(&c).cloned())
            .unwrap_or_else(|| unknown.clone())
    }));
    let mut env = Env::new();
    env.vars.push((
        case.base_var.into(),
        format!("{}{}", api.url, case.base_suffix),
    ));
    let mut outs = Vec::new();
    match &case.how {
        How::Verify(args) => {
            for (item, value, _) in &case.items {
                env.set(item, value);
            }
            outs.push((env.run(args), all_output as fn(&_) -> String));
        }
        How::Set(expected) => {
            assert_eq!(
                expected.len(),
                case.items.len(),
                "{name}: one outcome per item"
            );
            for ((item, value, _), (code, says)) in case.items.iter().zip(expected) {
                let out = env.run_stdin(&["set", item, "--stdin"], Some(value));
                assert_eq!(
                    out.status.code(),
                    Some(*code),
                    "{name}: set {item}:\n{}",
                    all_output(&out)
                );
                for s in says {
                    assert!(
                        stderr(&out).contains(s.as_str()),
                        "{name}: set {item} does not say {s:?}:\n{}",
                        stderr(&out)
                    );
                }
                outs.push((out, stderr as fn(&_) -> String));
            }
        }
    }
    let (last, shown) = outs.last().unwrap();
    assert_eq!(
        last.status.code(),
        Some(case.code),
        "{name}: exit code:\n{}",
        all_output(last)
    );
    let text = shown(last);
    for s in &case.says {
        assert!(
            text.contains(s.as_str()),
            "{name}: the output does not say {s:?}:\n{text}"
        );
    }
    for s in &case.never_says {
        assert!(
            !text.contains(s.as_str()),
            "{name}: the output says {s:?}:\n{text}"
        );
    }
    let reqs = api.requests();
    assert_eq!(
        reqs.len(),
        case.items.len(),
        "{name}: one request per value: {reqs:?}"
    );
    for r in &reqs {
        assert_eq!(r.method, case.method, "{name}: method of {r:?}");
        assert_eq!(
            r.target, case.path,
            "{name}: a query string was added: {r:?}"
        );
        for (h, want) in &case.headers {
            assert_eq!(r.header(h), *want, "{name}: header {h} of {r:?}");
        }
        let k = credential(r).unwrap_or_else(|| panic!("{name}: no {} in {r:?}", case.header));
        assert_only_in_header(std::slice::from_ref(r), &k, case.header, name);
    }
    for (item, value, _) in &case.items {
        for (out, _) in &outs {
            assert_no_secret(out, value, &format!("{name}: {item}"));
        }
        assert_no_secret_in_files(&env, value, name);
    }
    if matches!(case.how, How::Verify(_)) {
        assert_verify_audited(&env, name);
    }
}

#[test]
fn live_checks_accept_the_good_key_and_explain_the_bad_one() {
    table::run(
        "live_checks_accept_the_good_key_and_explain_the_bad_one",
        live_check_cases(),
        check_live,
    );
}

// ---------------------------------------------------------------------------------------------
// Providers without a live check

#[test]
fn s3_and_storacha_say_there_is_no_live_check() {
    let env = Env::new();
    env.set("s3", &aws_key_id());
    env.set(
        "storacha",
        "MgCYbT1aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789+/aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789+/aBcDeFgHiJk=",
    );
    let out = env.run(&["verify", "s3", "storacha"]);
    assert_ok(&out);
    let text = stdout(&out);
    assert_has(&text, "tv://s3/access_key_id  unchecked");
    assert_has(&text, "no live check for S3-compatible storage");
    assert_has(&text, "no live check for Storacha");
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

// ---------------------------------------------------------------------------------------------
// AWS STS with SigV4, checked by botocore

/// The Python interpreter that has botocore.
fn python_with_botocore() -> PathBuf {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys, botocore; print(sys.executable)"])
        .output()
        .ok();
    let found = out
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    // A real signer is what these tests compare against: fail, never skip, without it.
    found.expect("python3 with botocore (scripts/test installs it: pip install botocore)")
}

fn botocore_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/aws/sigv4_botocore.py")
}

/// What botocore signs for this request: its JSON answer.
fn botocore_sign(
    python: &PathBuf,
    url: &str,
    req: &Seen,
    secret: &AwsUser,
    key_id: &str,
    region: &str,
    amz_date: &str,
) -> serde_json::Value {
    let input = serde_json::json!({
        "access_key_id": key_id,
        "secret_access_key": secret.secret,
        "session_token": secret.session_token,
        "region": region,
        "service": "sts",
        "method": req.method,
        "url": url,
        "headers": {"Content-Type": req.header("content-type").unwrap_or("")},
        "body": req.body,
        "amz_date": amz_date,
    });
    let mut child = std::process::Command::new(python)
        .arg(botocore_script())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "botocore signer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[derive(Clone)]
struct AwsUser {
    secret: String,
    session_token: Option<String>,
    arn: String,
    expired: bool,
}

fn sts_error(code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <Error>\n    <Type>Sender</Type>\n    <Code>{code}</Code>\n    <Message>{message}</Message>\n  </Error>\n  <RequestId>4f1b8c7e-1111-2222-3333-444455556666</RequestId>\n</ErrorResponse>\n"
    )
}

/// What the STS stand-in concluded for each request.
#[derive(Debug, Clone)]
struct StsCheck {
    region: String,
    matched_botocore: bool,
}

struct Sts {
    stand_in: StandIn,
    checks: Arc<Mutex<Vec<StsCheck>>>,
}

/// An STS stand-in that knows `users` (key id → user) and validates every signature with botocore.
fn start_sts(users: HashMap<String, AwsUser>) -> Sts {
    let python = python_with_botocore();
    let checks = Arc::new(Mutex::new(Vec::new()));
    let checks2 = checks.clone();
    let url_cell: Arc<Mutex<String>> = Arc::new(Mutex::new(String::new()));
    let url2 = url_cell.clone();
    let stand_in = start(Arc::new(move |req: &Seen| {
        if req.method != "POST"
            || req.target != "/"
            || req.body != "Action=GetCallerIdentity&Version=2011-06-15"
        {
            return (
                400,
                vec![],
                sts_error("InvalidAction", "Could not find operation"),
            );
        }
        let Some(auth) = req.header("authorization") else {
            return (
                403,
                vec![],
                sts_error(
                    "MissingAuthenticationToken",
                    "Request is missing Authentication Token",
                ),
            );
        };
        // AWS4-HMAC-SHA256 Credential=AKID/20240102/us-east-1/sts/aws4_request, SignedHeaders=…, Signature=…
        let scope = auth
            .strip_prefix("AWS4-HMAC-SHA256 Credential=")
            .and_then(|r| r.split(',').next())
            .unwrap_or("");
        let parts: Vec<&str> = scope.split('/').collect();
        if parts.len() != 5 || parts[3] != "sts" || parts[4] != "aws4_request" {
            return (
                400,
                vec![],
                sts_error("IncompleteSignature", "Authorization header malformed"),
            );
        }
        let (key_id, date, region) = (parts[0], parts[1], parts[2]);
        let Some(user) = users.get(key_id) else {
            return (
                403,
                vec![],
                sts_error(
                    "InvalidClientTokenId",
                    "The security token included in the request is invalid.",
                ),
            );
        };
        let amz_date = req.header("x-amz-date").unwrap_or("");
        assert!(
            amz_date.starts_with(date),
            "x-amz-date {amz_date} vs scope {date}"
        );
        let url = format!("{}/", url2.lock().unwrap());
        let expected = botocore_sign(&python, &url, req, user, key_id, region, amz_date);
        let matched = expected["authorization"].as_str() == Some(auth)
            && expected["x-amz-security-token"].as_str() == req.header("x-amz-security-token");
        checks2.lock().unwrap().push(StsCheck {
            region: region.to_owned(),
            matched_botocore: matched,
        });
        if !matched {
            return (
                403,
                vec![],
                sts_error("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."),
            );
        }
        if user.expired {
            return (
                400,
                vec![],
                sts_error(
                    "ExpiredToken",
                    "The security token included in the request is expired",
                ),
            );
        }
        let account = user.arn.split(':').nth(4).unwrap_or("");
        (
            200,
            vec![],
            format!(
                "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <GetCallerIdentityResult>\n    <Arn>{}</Arn>\n    <UserId>AIDACKCEVSQ6C2EXAMPLE</UserId>\n    <Account>{account}</Account>\n  </GetCallerIdentityResult>\n  <ResponseMetadata>\n    <RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n",
                user.arn
            ),
        )
    }));
    *url_cell.lock().unwrap() = stand_in.url.clone();
    Sts { stand_in, checks }
}

impl Sts {
    fn checks(&self) -> Vec<StsCheck> {
        self.checks.lock().unwrap().clone()
    }
}

#[test]
fn aws_sts_signature_matches_botocore_and_shows_the_caller() {
    let (id, secret) = (aws_key_id(), aws_secret());
    let sts = start_sts(HashMap::from([(
        id.clone(),
        AwsUser {
            secret: secret.clone(),
            session_token: None,
            arn: "arn:aws:iam::123456789012:user/alice".into(),
            expired: false,
        },
    )]));
    let mut env = Env::new();
    env.vars
        .push(("AWS_ENDPOINT_URL_STS".into(), sts.stand_in.url.clone()));
    env.set("aws-prod/region", "eu-west-1");
    // The key id alone cannot be checked: said so, not an error.
    let mut outs = Vec::new();
    let out = env.run_stdin(&["set", "aws-prod", "--stdin"], Some(&id));
    assert_ok(&out);
    let err = stderr(&out);
    outs.push(out);
    assert_has(
        &err,
        "not checked online: STS needs tv://aws-prod/secret_access_key too",
    );
    assert_has(&err, "tokenvault set aws-prod/secret_access_key");
    assert!(sts.stand_in.requests().is_empty());
    // Storing the secret checks the pair.
    let out = env.run_stdin(
        &["set", "aws-prod/secret_access_key", "--stdin"],
        Some(&secret),
    );
    assert_ok(&out);
    let err = stderr(&out);
    outs.push(out);
    assert_has(&err, "Verified tv://aws-prod/access_key_id: arn:aws:iam::123456789012:user/alice (IAM user), account: 123456789012, user id: AIDACKCEVSQ6C2EXAMPLE");
    let checks = sts.checks();
    assert_eq!(checks.len(), 1);
    assert!(
        checks[0].matched_botocore,
        "the signature differs from botocore's"
    );
    assert_eq!(checks[0].region, "eu-west-1");
    let reqs = sts.stand_in.requests();
    let auth = reqs[0].header("authorization").unwrap();
    assert!(
        auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential={id}/"))
            && auth.contains("/eu-west-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature="),
        "{auth}"
    );
    assert_eq!(
        reqs[0].header("content-type"),
        Some("application/x-www-form-urlencoded; charset=utf-8")
    );
    assert_eq!(reqs[0].header("x-amz-security-token"), None);
    // The key id travels only in the signature's credential scope; the secret never travels.
    assert_only_in_header(&reqs, &id, "authorization", "aws");
    for r in &reqs {
        assert!(r.headers.iter().all(|(_, v)| !v.contains(&secret)));
        assert!(!r.body.contains(&secret) && !r.target.contains(&secret));
    }

    // verify --json shows the caller; the result is reused until a field of the item changes.
    let out = env.run(&["verify", "aws-prod", "--json"]);
    assert_ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["status"], "valid");
    assert_eq!(v[0]["live"]["check"], "aws-sts");
    assert_eq!(
        v[0]["live"]["account"]["name"],
        "arn:aws:iam::123456789012:user/alice"
    );
    assert_eq!(
        v[0]["live"]["account"]["details"]["account"],
        "123456789012"
    );
    assert_eq!(sts.stand_in.requests().len(), 1);
    outs.push(out);
    // Replacing the secret makes the stored result stale even though it sits on the key id.
    env.set("aws-prod/secret_access_key", &secret);
    let out = env.run(&["verify", "aws-prod"]);
    assert_ok(&out);
    assert_eq!(
        sts.stand_in.requests().len(),
        2,
        "a stale AWS result was reused"
    );
    assert_lacks(&stderr(&out), "reused");
    outs.push(out);
    // The other fields of the item point at the check.
    let out = env.run(&["verify", "aws-prod/secret_access_key"]);
    assert_has(
        &stdout(&out),
        "checked online with tv://aws-prod/access_key_id",
    );
    outs.push(out);
    for o in &outs {
        assert_no_secret(o, &secret, "aws");
        assert_no_secret(o, &id, "aws");
    }
    assert_no_secret_in_home(&env, &secret, "aws");
    assert_no_secret_in_home(&env, &id, "aws");
}

#[test]
fn aws_sts_errors_are_explained() {
    let (id, secret) = (aws_key_id(), aws_secret());
    let (tmp_id, tmp_secret, token) = (
        format!("ASIA{}", &aws_key_id()[4..]),
        aws_secret(),
        format!("IQoJb3JpZ2luX2Vj{}", random(ALNUM, 60)),
    );
    let sts = start_sts(HashMap::from([
        (
            id.clone(),
            AwsUser {
                secret: secret.clone(),
                session_token: None,
                arn: "arn:aws:iam::123456789012:user/alice".into(),
                expired: false,
            },
        ),
        (
            tmp_id.clone(),
            AwsUser {
                secret: tmp_secret.clone(),
                session_token: Some(token.clone()),
                arn: "arn:aws:sts::123456789012:assumed-role/deploy/ci".into(),
                expired: true,
            },
        ),
    ]));
    let mut env = Env::new();
    // AWS_ENDPOINT_URL is the fallback when the STS-specific variable is unset (`run` below
    // removes the harness's default of it).
    env.vars
        .push(("AWS_ENDPOINT_URL".into(), sts.stand_in.url.clone()));

    // Unknown key id: InvalidClientTokenId.
    env.set("aws-gone", &aws_key_id());
    env.set("aws-gone/secret_access_key", &aws_secret());
    // Wrong secret for a known key id: SignatureDoesNotMatch.
    env.set("aws-mixed", &id);
    env.set("aws-mixed/secret_access_key", &aws_secret());
    // Temporary credentials whose session has expired: ExpiredToken.
    env.set("aws-tmp", &tmp_id);
    env.set("aws-tmp/secret_access_key", &tmp_secret);
    env.set("aws-tmp/session_token", &token);
    let run = |args: &[&str]| {
        let mut c = env.cmd();
        c.env_remove("AWS_ENDPOINT_URL_STS")
            .args(args)
            .stdin(std::process::Stdio::null());
        env.output(&mut c)
    };
    let out = run(&["verify", "aws-gone", "aws-mixed", "aws-tmp"]);
    assert_code(&out, 1);
    let text = all_output(&out);
    assert_has(&text, "tv://aws-gone/access_key_id  invalid  AWS STS rejected the access key (403: InvalidClientTokenId: The security token included in the request is invalid.): it is invalid, revoked or expired");
    assert_has(&text, "tv://aws-mixed/access_key_id  signature-mismatch  AWS STS rejected the signature (403: SignatureDoesNotMatch");
    assert_has(
        &text,
        "the secret access key does not belong to this access key id",
    );
    assert_has(&text, "tokenvault set aws-mixed/secret_access_key");
    assert_has(&text, "tv://aws-tmp/access_key_id  expired  AWS STS says the access key has expired (400: ExpiredToken: The security token included in the request is expired)");
    assert_has(&text, "aws sts get-session-token");

    // Every request went to the default region and was signed as botocore signs it — including
    // the session token, which is sent and signed as x-amz-security-token.
    let checks = sts.checks();
    // aws-gone's key id is unknown to the stand-in, so only two requests were compared.
    assert_eq!(checks.len(), 2, "{checks:?}");
    assert!(checks.iter().all(|c| c.region == "us-east-1"), "{checks:?}");
    let tmp_req = sts
        .stand_in
        .requests()
        .into_iter()
        .find(|r| {
            r.header("authorization")
                .is_some_and(|a| a.contains(&tmp_id))
        })
        .unwrap();
    assert_eq!(tmp_req.header("x-amz-security-token"), Some(token.as_str()));
    assert!(tmp_req
        .header("authorization")
        .unwrap()
        .contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token"));
    // aws-mixed carried a wrong secret: botocore, given the right one, disagrees; aws-tmp matched.
    assert_eq!(checks.iter().filter(|c| c.matched_botocore).count(), 1);
    for s in [&secret, &tmp_secret, &token, &id, &tmp_id] {
        assert_no_secret(&out, s, "verify aws errors");
        assert_no_secret_in_home(&env, s, "aws errors");
    }
}
