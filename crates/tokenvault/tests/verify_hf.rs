//! Live verification against a local stand-in of the Hugging Face Hub API on 127.0.0.1.
//!
//! The stand-in (a thread with a `TcpListener`) answers `GET /api/whoami-v2` with the response
//! shapes the real Hub sends — a user with organisations and a read, write or fine-grained token,
//! the 401 body `{"error":"Invalid credentials in Authorization header"}`, 429 — chosen by the
//! bearer token it receives, and records every request so tests can check the token travelled
//! only in the `Authorization` header. The real Python `huggingface_hub` client, started through
//! `tokenvault run`, is pointed at the same stand-in.

// Test helpers outside #[test] functions panic on failure by design.
#![allow(clippy::unwrap_used)]

mod common;

use common::standin::{start, Seen, StandIn};
use common::*;
use std::collections::HashMap;
use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;

/// `(status, extra headers, body)` per bearer token; unknown tokens get the Hub's 401.
type Answers = HashMap<String, (u16, Vec<(&'static str, String)>, String)>;

const UNAUTHORIZED: &str = r#"{"error":"Invalid credentials in Authorization header"}"#;

fn user_body(role_json: &str) -> String {
    format!(
        r#"{{"type":"user","id":"6475c3b2a1b2c3d4e5f60718","name":"alice","fullname":"Alice Example","email":"alice@example.com","emailVerified":true,"canPay":false,"isPro":false,"avatarUrl":"/avatars/a.svg","orgs":[{{"type":"org","id":"1","name":"acme","fullname":"Acme","email":null,"canPay":false,"avatarUrl":"/a.png","roleInOrg":"write","isEnterprise":false}},{{"type":"org","id":"2","name":"lab","fullname":"Lab","roleInOrg":"read"}}],"auth":{{"type":"access_token","accessToken":{role_json}}}}}"#
    )
}

fn read_body() -> String {
    user_body(
        r#"{"displayName":"laptop-read","role":"read","createdAt":"2025-03-04T05:06:07.000Z"}"#,
    )
}

fn write_body() -> String {
    user_body(r#"{"displayName":"ci-write","role":"write","createdAt":"2025-03-04T05:06:07.000Z"}"#)
}

fn fine_grained_body() -> String {
    user_body(
        r#"{"displayName":"scoped","role":"fineGrained","createdAt":"2025-03-04T05:06:07.000Z","fineGrained":{"canReadGatedRepos":true,"global":["discussion.write"],"scoped":[{"entity":{"_id":"6475c3b2a1b2c3d4e5f60718","type":"user","name":"alice"},"permissions":["repo.content.read","repo.write"]},{"entity":{"_id":"1","type":"org","name":"acme"},"permissions":["repo.content.read","inference.serverless.write"]}]}}"#,
    )
}

/// The Hub stand-in: `GET /api/whoami-v2` answered by bearer token, anything else 404.
fn start_hub(answers: Answers) -> StandIn {
    start(Arc::new(move |req: &Seen| {
        if !req.target.ends_with("/api/whoami-v2") {
            return (404, vec![], r#"{"error":"Not found"}"#.to_owned());
        }
        let token = req
            .header("authorization")
            .and_then(|a| a.strip_prefix("Bearer "))
            .unwrap_or("");
        let (status, headers, body) =
            answers
                .get(token)
                .cloned()
                .unwrap_or((401, vec![], UNAUTHORIZED.to_owned()));
        let headers = headers
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        (status, headers, body)
    }))
}

/// An env whose `HF_ENDPOINT` is the stand-in, with `token` stored as tv://huggingface/token.
fn env_with(hub: &StandIn, token: &str) -> Env {
    let mut env = Env::new();
    env.vars.push(("HF_ENDPOINT".into(), hub.url.clone()));
    env.set("huggingface", token);
    env
}

fn answer(body: String) -> (u16, Vec<(&'static str, String)>, String) {
    (200, vec![], body)
}

fn all_output(o: &std::process::Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

#[test]
fn read_token_shows_account_orgs_name_and_role() {
    let token = hf_token();
    let hub = start_hub(HashMap::from([(token.clone(), answer(read_body()))]));
    let env = env_with(&hub, &token);
    let out = env.run(&["verify", "huggingface"]);
    assert_ok(&out);
    let text = stdout(&out);
    assert_has(&text, "tv://huggingface/token  valid  alice (user)");
    assert_has(&text, "orgs: acme, lab");
    assert_has(&text, "token \"laptop-read\"");
    assert_has(&text, "role read");
    assert_lacks(&stderr(&out), "warning");
    assert_no_secret(&out, &token, "verify");

    let reqs = hub.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(reqs[0].target, "/api/whoami-v2");
    assert_eq!(
        reqs[0].header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    assert!(!reqs[0].target.contains(&token), "token in the URL");

    // The result and its time are in the index; the value is not.
    let index = std::fs::read_to_string(env.home.join("index.json")).unwrap();
    assert_has(&index, "\"verified\"");
    assert_has(&index, "laptop-read");
    assert!(!index.contains(&token));
}

#[test]
fn recent_result_is_reused_unless_fresh() {
    let token = hf_token();
    let hub = start_hub(HashMap::from([(token.clone(), answer(read_body()))]));
    let env = env_with(&hub, &token);
    assert_ok(&env.run(&["verify"]));
    let again = env.run(&["verify"]);
    assert_ok(&again);
    assert_eq!(
        hub.requests().len(),
        1,
        "the second verify asked the Hub again"
    );
    assert_has(&stdout(&again), "alice (user)");
    assert_has(&stderr(&again), "reused; --fresh asks again");
    let fresh = env.run(&["verify", "--fresh"]);
    assert_ok(&fresh);
    assert_eq!(hub.requests().len(), 2);
    // --json carries the account.
    let json = env.run(&["verify", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v[0]["status"], "valid");
    assert_eq!(v[0]["live"]["account"]["name"], "alice");
    // A new value is never vouched for by the old value's result.
    env.set("huggingface", &hf_token());
    let other = env.run(&["verify"]);
    assert_code(&other, 1);
    assert_eq!(hub.requests().len(), 3);
}

#[test]
fn write_token_backing_a_profile_gets_least_privilege_warning() {
    let token = hf_token();
    let hub = start_hub(HashMap::from([(token.clone(), answer(write_body()))]));
    let env = env_with(&hub, &token);
    assert_ok(&env.run(&[
        "profile",
        "set",
        "hf-mcp",
        "HF_TOKEN=tv://huggingface/token",
    ]));
    let out = env.run(&["verify"]);
    assert_ok(&out);
    assert_has(&stdout(&out), "role write");
    let err = stderr(&out);
    assert_has(
        &err,
        "warning: tv://huggingface/token: this token can write",
    );
    assert_has(&err, "only a read token");
    assert_has(&err, "profile hf-mcp uses it");
    assert_has(&err, "https://huggingface.co/settings/tokens");
    assert_no_secret(&out, &token, "verify write");
}

#[test]
fn fine_grained_token_lists_scopes_and_write_permissions() {
    let token = hf_token();
    let hub = start_hub(HashMap::from([(
        token.clone(),
        answer(fine_grained_body()),
    )]));
    let env = env_with(&hub, &token);
    let out = env.run(&["verify"]);
    assert_ok(&out);
    let text = stdout(&out);
    assert_has(&text, "role fineGrained (global: discussion.write; user alice: repo.content.read, repo.write; org acme: repo.content.read, inference.serverless.write)");
    let err = stderr(&out);
    assert_has(&err, "repo.write on user alice");
    assert_has(&err, "discussion.write (global)");
    assert!(
        !err.contains("inference.serverless.write"),
        "inference calls are not a write: {err}"
    );
}

#[test]
fn invalid_token_is_explained_with_where_to_create_a_new_one() {
    let token = hf_token();
    let hub = start_hub(HashMap::new());
    let env = env_with(&hub, &token);
    let out = env.run(&["verify"]);
    assert_code(&out, 1);
    let text = all_output(&out);
    assert_has(&text, "tv://huggingface/token  invalid");
    assert_has(&text, "invalid, revoked or expired");
    assert_has(&text, "Invalid credentials in Authorization header");
    assert_has(
        &text,
        "create a new token at https://huggingface.co/settings/tokens",
    );
    assert_no_secret(&out, &token, "verify 401");
}

#[test]
fn rate_limit_is_an_error_with_retry_advice() {
    let token = hf_token();
    let hub = start_hub(HashMap::from([(
        token.clone(),
        (
            429,
            vec![("Retry-After", "30".to_owned())],
            r#"{"error":"Too many requests"}"#.to_owned(),
        ),
    )]));
    let env = env_with(&hub, &token);
    let out = env.run(&["verify"]);
    assert_code(&out, 2);
    let text = all_output(&out);
    assert_has(&text, "rate-limited");
    assert_has(&text, "(429)");
    assert_has(&text, "retry in 30 seconds");
    // Not a definite answer: nothing recorded, so the next run asks again.
    assert_code(&env.run(&["verify"]), 2);
    assert_eq!(hub.requests().len(), 2);
}

#[test]
fn network_failures_each_have_their_own_message() {
    let token = hf_token();
    // Connection refused: a port nobody listens on.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut env = Env::new();
    env.set("huggingface", &token);
    env.vars
        .push(("HF_ENDPOINT".into(), format!("http://127.0.0.1:{closed}")));
    let out = env.run(&["verify"]);
    assert_code(&out, 2);
    let text = all_output(&out);
    assert_has(&text, "could not connect to 127.0.0.1:");
    assert_has(&text, "check your network and HF_ENDPOINT");
    assert_no_secret(&out, &token, "refused");

    // Timeout: a server that accepts and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in silent.incoming().flatten() {
            held.push(s);
        }
    });
    env.vars.retain(|(k, _)| k != "HF_ENDPOINT");
    env.vars
        .push(("HF_ENDPOINT".into(), format!("http://{addr}")));
    env.vars
        .push(("TOKENVAULT_HTTP_TIMEOUT".into(), "1".into()));
    let started = std::time::Instant::now();
    let out = env.run(&["verify"]);
    assert_code(&out, 2);
    assert!(started.elapsed().as_secs() < 10);
    let text = all_output(&out);
    assert_has(&text, "timeout");
    assert_has(&text, "no answer from");

    // TLS: an https endpoint whose server answers in plain HTTP.
    let plain = TcpListener::bind("127.0.0.1:0").unwrap();
    let plain_addr = plain.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut s in plain.incoming().flatten() {
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    env.vars.retain(|(k, _)| k != "HF_ENDPOINT");
    env.vars
        .push(("HF_ENDPOINT".into(), format!("https://{plain_addr}")));
    let out = env.run(&["verify"]);
    assert_code(&out, 2);
    let text = all_output(&out);
    assert_has(&text, "  tls  TLS with 127.0.0.1:");
    assert_has(&text, "intercepting HTTPS");

    // DNS: a name that cannot resolve (RFC 6761 .invalid).
    env.vars.retain(|(k, _)| k != "HF_ENDPOINT");
    env.vars.push((
        "HF_ENDPOINT".into(),
        "https://hub.tokenvault-test.invalid".into(),
    ));
    let out = env.run(&["verify"]);
    assert_code(&out, 2);
    let text = all_output(&out);
    assert_has(&text, "could not resolve hub.tokenvault-test.invalid");
}

#[test]
fn proxy_settings_are_honoured() {
    let token = hf_token();
    let hub = start_hub(HashMap::from([(token.clone(), answer(read_body()))]));
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut env = env_with(&hub, &token);
    env.vars
        .push(("HTTPS_PROXY".into(), format!("http://127.0.0.1:{closed}")));
    env.vars
        .push(("HTTP_PROXY".into(), format!("http://127.0.0.1:{closed}")));
    // The proxy is used, and its failure is named as such.
    let out = env.run(&["verify", "--fresh"]);
    assert_code(&out, 2);
    let text = all_output(&out);
    assert_has(&text, "  proxy  the proxy failed reaching 127.0.0.1:");
    assert_has(&text, "check HTTPS_PROXY/HTTP_PROXY");
    assert!(hub.requests().is_empty());
    // NO_PROXY exempts the stand-in.
    env.vars.push(("NO_PROXY".into(), "127.0.0.1".into()));
    assert_ok(&env.run(&["verify", "--fresh"]));
    assert_eq!(hub.requests().len(), 1);
}

#[test]
fn offline_skips_the_network() {
    let token = hf_token();
    let hub = start_hub(HashMap::new());
    let env = env_with(&hub, &token);
    let out = env.run(&["verify", "--offline"]);
    assert_ok(&out);
    assert_has(&stdout(&out), "ok  format:");
    assert!(hub.requests().is_empty());
}

#[test]
fn providers_without_a_live_check_say_so() {
    let hub = start_hub(HashMap::new());
    let mut env = Env::new();
    env.vars.push(("HF_ENDPOINT".into(), hub.url.clone()));
    env.set(
        "storacha",
        "MgCYbT1aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789+/aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789+/aBcDeFgHiJk=",
    );
    env.set("huggingface/test_repo", "acme/model");
    let out = env.run(&["verify", "storacha", "huggingface/test_repo"]);
    assert_ok(&out);
    let text = stdout(&out);
    assert_has(&text, "no live check for Storacha");
    assert_has(&text, "test_repo is not a credential field");
    assert!(hub.requests().is_empty());
}

#[test]
fn set_verifies_after_storing() {
    let good = hf_token();
    let hub = start_hub(HashMap::from([(good.clone(), answer(read_body()))]));
    let mut env = Env::new();
    env.vars.push(("HF_ENDPOINT".into(), hub.url.clone()));
    let out = env.run_stdin(&["set", "huggingface", "--stdin"], Some(&good));
    assert_ok(&out);
    assert_has(
        &stderr(&out),
        "Verified tv://huggingface/token: alice (user)",
    );
    assert_no_secret(&out, &good, "set");
    // The result is recorded: verify right after does not ask again.
    assert_ok(&env.run(&["verify"]));
    assert_eq!(hub.requests().len(), 1);

    // Rejected: stored anyway, exit 1, explained.
    let bad = hf_token();
    let out = env.run_stdin(&["set", "huggingface-old", "--stdin"], Some(&bad));
    assert_code(&out, 1);
    let err = stderr(&out);
    assert_has(
        &err,
        "error: tv://huggingface-old/token was stored, but Hugging Face rejected the token (401",
    );
    assert_has(&err, "invalid, revoked or expired");
    assert_eq!(env.get("huggingface-old"), bad);

    // --no-verify: no request.
    env.set("huggingface-quiet", &hf_token());
    assert_eq!(hub.requests().len(), 2);
}

#[test]
fn set_still_succeeds_when_the_hub_is_unreachable() {
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut env = Env::new();
    env.vars
        .push(("HF_ENDPOINT".into(), format!("http://127.0.0.1:{closed}")));
    let token = hf_token();
    let out = env.run_stdin(&["set", "huggingface", "--stdin"], Some(&token));
    assert_ok(&out);
    let err = stderr(&out);
    assert_has(
        &err,
        "warning: tv://huggingface/token was stored but not verified",
    );
    assert_has(&err, "tokenvault verify huggingface/token");
    assert_eq!(env.get("huggingface"), token);
}

/// The Python interpreter that has `huggingface_hub`, if any.
fn python_with_hub() -> Option<std::path::PathBuf> {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys, huggingface_hub; print(sys.executable)"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

#[test]
fn huggingface_hub_client_sees_the_vault_token_through_run() {
    // A real peer is part of what this test shows: fail, never skip, without it.
    let python = python_with_hub()
        .expect("python3 with huggingface_hub (scripts/test installs it: pip install 'huggingface_hub>=0.26')");
    let token = hf_token();
    let hub = start_hub(HashMap::from([(token.clone(), answer(read_body()))]));
    let env = env_with(&hub, &token);
    // `hf` sits next to the interpreter in the same environment; older versions lack it.
    let hf = python.with_file_name("hf");
    let python_s = python.display().to_string();
    let hf_s = hf.display().to_string();
    let cmd: Vec<&str> = if hf.exists() {
        vec![hf_s.as_str(), "auth", "whoami"]
    } else {
        vec![
            python_s.as_str(),
            "-c",
            "from huggingface_hub import whoami; print('user=' + whoami()['name'])",
        ]
    };
    let probe = env.env_probe(&["HF_TOKEN"]);
    let mut args = vec!["run", "-e", "HF_TOKEN=tv://huggingface/token", "--", &probe];
    args.extend(cmd);
    let mut c = env.cmd();
    c.args(&args)
        .env("HF_HUB_DISABLE_TELEMETRY", "1")
        .env("HF_HUB_DISABLE_UPDATE_CHECK", "1")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null());
    let out = env.output(&mut c);
    assert_ok(&out);
    let text = stdout(&out);
    assert!(
        text.contains("alice"),
        "the client did not see the account: {text}\n{}",
        stderr(&out)
    );
    let reqs = hub.requests();
    assert!(
        reqs.iter().any(|r| r.target.ends_with("/api/whoami-v2")
            && r.header("authorization") == Some(format!("Bearer {token}").as_str())),
        "{reqs:?}"
    );
}
