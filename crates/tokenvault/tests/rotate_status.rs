//! `tokenvault rotate` and `tokenvault status`.
//!
//! Rotation runs against the Hub stand-in (`common::hub`): a new token the stand-in accepts
//! replaces the current one and the current one is kept; one it rejects (401) is not stored; a
//! rollback swaps back. `status` is shown each category with fixed index contents: dates are
//! written into `index.json` relative to now, the way `set` and `verify` record them.

// Test helpers outside #[test] functions panic on failure by design.
#![allow(clippy::unwrap_used)]

mod common;

use common::hub::Hub;
use common::*;
use serde_json::{json, Value};

fn env_with_hub(hub: &Hub) -> Env {
    let mut env = Env::new();
    env.vars.push(("HF_ENDPOINT".into(), hub.url.clone()));
    env
}

fn audit_log(env: &Env) -> String {
    std::fs::read_to_string(env.home.join("audit.jsonl")).unwrap_or_default()
}

fn all_output(o: &std::process::Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

#[test]
fn rotate_stores_the_new_token_keeps_the_old_and_rollback_swaps_back() {
    let (old, new) = (hf_token(), hf_token());
    let hub = Hub::start(&[&old, &new]);
    let env = env_with_hub(&hub);
    env.set("huggingface", &old);

    let out = env.run_stdin(&["rotate", "huggingface", "--stdin"], Some(&new));
    assert_ok(&out);
    let err = stderr(&out);
    // With --stdin the new token is in hand: no guide for the prompt.
    assert!(
        !err.contains("Create a new token") && !err.contains("Paste it at the prompt"),
        "{err}"
    );
    assert_has(&err, "The new token works: alice (user)");
    assert_has(&err, "Rotated tv://huggingface/token");
    assert_has(&err, "revoke the old token");
    assert_has(&err, "at https://huggingface.co/settings/tokens");
    assert_has(&err, "--rollback");
    // The new token was checked before it was stored.
    assert_eq!(hub.tokens_seen(), vec![new.clone()]);
    assert_eq!(env.get("huggingface"), new);
    let prev = env.run(&["get", "huggingface", "--previous"]);
    assert_ok(&prev);
    assert_eq!(stdout(&prev).trim_end(), old);

    // The index records the rotation and the check, never a value.
    let index = std::fs::read_to_string(env.home.join("index.json")).unwrap();
    let v: Value = serde_json::from_str(&index).unwrap();
    let f = &v["items"]["huggingface"]["fields"]["token"];
    assert!(f["rotated"].is_string(), "{index}");
    assert_eq!(f["verified"]["ok"], json!(true), "{index}");
    assert_eq!(f["has_previous"], json!(true), "{index}");
    assert!(!index.contains(&old) && !index.contains(&new));

    let back = env.run(&["rotate", "huggingface", "--rollback"]);
    assert_ok(&back);
    assert_has(
        &stderr(&back),
        "Rolled back tv://huggingface/token to its previous value",
    );
    assert_eq!(env.get("huggingface"), old);
    let prev = env.run(&["get", "huggingface", "--previous"]);
    assert_eq!(
        stdout(&prev).trim_end(),
        new,
        "the rolled-back value is kept"
    );
    // A second rollback undoes the first.
    assert_ok(&env.run(&["rotate", "huggingface", "--rollback"]));
    assert_eq!(env.get("huggingface"), new);

    for o in [&out, &back] {
        assert_no_secret(o, &old, "rotate");
        assert_no_secret(o, &new, "rotate");
    }
    let log = audit_log(&env);
    assert_has(&log, r#""action":"rotate""#);
    assert_has(&log, r#""action":"rollback""#);
    assert_has(&log, "tv://huggingface/token");
    assert!(
        !log.contains(&old) && !log.contains(&new),
        "value in the audit log"
    );
}

#[test]
fn a_rejected_new_token_is_not_stored() {
    let (old, new) = (hf_token(), hf_token());
    let hub = Hub::start(&[&old]);
    let env = env_with_hub(&hub);
    env.set("huggingface", &old);
    let out = env.run_stdin(&["rotate", "huggingface", "--stdin"], Some(&new));
    assert_error(
        &out,
        1,
        &[
            "the new token was not stored",
            "still holds the current token",
        ],
    );
    assert_no_secret(&out, &new, "rejected");
    assert_no_secret(&out, &old, "rejected");
    assert_eq!(hub.tokens_seen(), vec![new.clone()]);
    assert_eq!(env.get("huggingface"), old);
    assert!(
        !env.run(&["get", "huggingface", "--previous"])
            .status
            .success(),
        "nothing was replaced, so there is no previous value"
    );
    let log = audit_log(&env);
    assert_has(&log, r#""action":"rotate""#);
    assert!(!log.contains(&new));
}

#[test]
fn rotate_refuses_what_it_cannot_do_safely() {
    let old = hf_token();
    // The harness's HF_ENDPOINT refuses connections: the check cannot get an answer.
    let env = Env::new();

    let missing = env.run_stdin(&["rotate", "huggingface", "--stdin"], Some(&old));
    assert_error(
        &missing,
        2,
        &["nothing to rotate", "tokenvault set huggingface/token"],
    );

    env.set("huggingface", &old);
    let no_prev = env.run(&["rotate", "huggingface", "--rollback"]);
    assert_error(&no_prev, 2, &["has no previous value"]);

    let both = env.run_stdin(
        &["rotate", "huggingface", "--rollback", "--stdin"],
        Some(&old),
    );
    assert_error(&both, 2, &["cannot be used with"]);

    let same = env.run_stdin(&["rotate", "huggingface", "--stdin"], Some(&old));
    assert_error(&same, 2, &["is the one already stored"]);

    let malformed = env.run_stdin(&["rotate", "huggingface", "--stdin"], Some("hf_short"));
    assert_code(&malformed, 2);
    assert_has(
        &stderr(&malformed),
        "does not look like a huggingface token",
    );

    let new = hf_token();
    let offline = env.run_stdin(&["rotate", "huggingface", "--stdin"], Some(&new));
    assert_code(&offline, 2);
    assert_has(
        &stderr(&offline),
        "could not check the new token, so it was not stored",
    );
    assert_has(&stderr(&offline), "--no-verify");
    assert_eq!(env.get("huggingface"), old);

    let unchecked = env.run_stdin(
        &["rotate", "huggingface", "--stdin", "--no-verify"],
        Some(&new),
    );
    assert_ok(&unchecked);
    assert_eq!(env.get("huggingface"), new);
    for o in [&missing, &same, &malformed, &offline, &unchecked] {
        assert_no_secret(o, &old, "refusals");
        assert_no_secret(o, &new, "refusals");
    }
    assert!(!all_output(&malformed).contains("hf_short"));
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn days_ago(days: i64) -> String {
    rfc3339(time::OffsetDateTime::now_utc() - time::Duration::days(days))
}

fn days_ahead(days: i64) -> String {
    rfc3339(time::OffsetDateTime::now_utc() + time::Duration::days(days))
}

/// Rewrites the index with `f`, and tags the result as tokenvault would have written it (dates
/// and verification results in the past cannot be made otherwise).
fn edit_index(env: &Env, edit: impl FnOnce(&mut Value)) {
    let path = env.home.join("index.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    env.reseal_index();
}

fn verified(ok: bool, at: &str, expires: Option<&str>) -> Value {
    let mut v = json!({"at": at, "ok": ok, "summary": if ok { "alice (user)" } else { "the token is invalid (401)" }, "check": "huggingface"});
    if let Some(e) = expires {
        v["expires"] = json!(e);
    }
    v
}

#[test]
fn status_lists_each_category_and_exits_1() {
    let env = Env::new();
    for item in [
        "huggingface",
        "huggingface-work",
        "huggingface-old",
        "huggingface-new",
        "huggingface-fine",
    ] {
        env.set(item, &hf_token());
    }
    env.set("aws/region", "eu-west-1");
    assert_ok(&env.run(&[
        "profile",
        "set",
        "hf-mcp",
        "HF_TOKEN=tv://huggingface/token",
        "GITHUB_TOKEN=tv://github/token",
    ]));
    let recent = days_ago(1);
    edit_index(&env, |v| {
        let items = &mut v["items"];
        let f = &mut items["huggingface"]["fields"]["token"];
        f["updated"] = json!(days_ago(120));
        f["verified"] = verified(true, &recent, None);
        items["huggingface-work"]["fields"]["token"]["verified"] =
            verified(true, &recent, Some(&days_ahead(5)));
        items["huggingface-old"]["fields"]["token"]["verified"] = verified(false, &recent, None);
        items["huggingface-fine"]["fields"]["token"]["verified"] =
            verified(true, &recent, Some(&days_ahead(60)));
        // A region is not a secret: it never goes stale.
        items["aws"]["fields"]["region"]["updated"] = json!(days_ago(400));
    });

    let out = env.run(&["status"]);
    assert_code(&out, 1);
    let text = stdout(&out);
    let line = |r: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{r}  ")))
            .unwrap_or_else(|| panic!("no line for {r} in:\n{text}"))
            .to_owned()
    };
    let stale = line("tv://huggingface/token");
    assert_has(&stale, "  stale  last changed 120 days ago");
    assert_has(&stale, "next: tokenvault rotate huggingface/token");
    let expiring = line("tv://huggingface-work/token");
    assert_has(&expiring, "  expiring  expires in ");
    assert_has(&expiring, "tokenvault rotate");
    let failed = line("tv://huggingface-old/token");
    assert_has(&failed, "  failed  the last live check failed");
    assert_has(&failed, "401");
    let unverified = line("tv://huggingface-new/token");
    assert_has(&unverified, "  unverified  never checked");
    assert_has(&unverified, "next: tokenvault verify huggingface-new/token");
    let missing = line("tv://github/token");
    assert_has(
        &missing,
        "  missing  named by profile hf-mcp (GITHUB_TOKEN)",
    );
    assert_has(&missing, "next: tokenvault set github/token");
    assert_lacks(&text, "huggingface-fine");
    assert_lacks(&text, "aws");
    assert_eq!(text.lines().count(), 5, "{text}");

    // --stale-days moves the threshold.
    let lenient = env.run(&["status", "--stale-days", "200"]);
    assert_lacks(&stdout(&lenient), "stale");

    let j = env.run(&["status", "--json"]);
    assert_code(&j, 1);
    let v: Value = serde_json::from_str(&stdout(&j)).unwrap();
    let statuses: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["stale", "unverified", "failed", "expiring", "missing"],
        "{v}"
    );
}

#[test]
fn status_expired_and_all_well() {
    let env = Env::new();
    env.set("huggingface", &hf_token());
    edit_index(&env, |v| {
        v["items"]["huggingface"]["fields"]["token"]["verified"] =
            verified(true, &days_ago(3), Some(&days_ago(1)));
    });
    let out = env.run(&["status"]);
    assert_code(&out, 1);
    assert_has(&stdout(&out), "tv://huggingface/token  expired  expired (");

    edit_index(&env, |v| {
        v["items"]["huggingface"]["fields"]["token"]["verified"] =
            verified(true, &days_ago(3), None);
    });
    assert_ok(&env.run(&["profile", "set", "hf", "HF_TOKEN=huggingface"]));
    let ok = env.run(&["status"]);
    assert_ok(&ok);
    assert_eq!(stdout(&ok), "");
    assert_has(&stderr(&ok), "All is well: 1 stored value,");
}
