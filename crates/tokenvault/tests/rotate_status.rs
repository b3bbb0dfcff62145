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
    assert!(err.contains("The new token works: alice (user)"), "{err}");
    assert!(err.contains("Rotated tv://huggingface/token"), "{err}");
    assert!(
        err.contains("revoke the old token")
            && err.contains("at https://huggingface.co/settings/tokens"),
        "{err}"
    );
    assert!(err.contains("--rollback"), "{err}");
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
    assert!(
        stderr(&back).contains("Rolled back tv://huggingface/token to its previous value"),
        "{}",
        stderr(&back)
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
    assert!(
        log.contains(r#""action":"rotate""#) && log.contains(r#""action":"rollback""#),
        "{log}"
    );
    assert!(log.contains("tv://huggingface/token"), "{log}");
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
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("the new token was not stored"), "{err}");
    assert!(err.contains("still holds the current token"), "{err}");
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
    assert!(log.contains(r#""action":"rotate""#), "{log}");
    assert!(!log.contains(&new));
}

#[test]
fn rotate_refuses_what_it_cannot_do_safely() {
    let old = hf_token();
    // The harness's HF_ENDPOINT refuses connections: the check cannot get an answer.
    let env = Env::new();

    let missing = env.run_stdin(&["rotate", "huggingface", "--stdin"], Some(&old));
    assert_code(&missing, 2);
    assert!(
        stderr(&missing).contains("nothing to rotate")
            && stderr(&missing).contains("tokenvault set huggingface/token"),
        "{}",
        stderr(&missing)
    );

    env.set("huggingface", &old);
    let no_prev = env.run(&["rotate", "huggingface", "--rollback"]);
    assert_code(&no_prev, 2);
    assert!(
        stderr(&no_prev).contains("has no previous value"),
        "{}",
        stderr(&no_prev)
    );

    let both = env.run_stdin(
        &["rotate", "huggingface", "--rollback", "--stdin"],
        Some(&old),
    );
    assert_code(&both, 2);
    assert!(
        stderr(&both).contains("cannot be used with"),
        "{}",
        stderr(&both)
    );

    let same = env.run_stdin(&["rotate", "huggingface", "--stdin"], Some(&old));
    assert_code(&same, 2);
    assert!(
        stderr(&same).contains("is the one already stored"),
        "{}",
        stderr(&same)
    );

    let malformed = env.run_stdin(&["rotate", "huggingface", "--stdin"], Some("hf_short"));
    assert_code(&malformed, 2);
    assert!(
        stderr(&malformed).contains("does not look like a huggingface token"),
        "{}",
        stderr(&malformed)
    );

    let new = hf_token();
    let offline = env.run_stdin(&["rotate", "huggingface", "--stdin"], Some(&new));
    assert_code(&offline, 2);
    assert!(
        stderr(&offline).contains("could not check the new token, so it was not stored"),
        "{}",
        stderr(&offline)
    );
    assert!(
        stderr(&offline).contains("--no-verify"),
        "{}",
        stderr(&offline)
    );
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
    assert!(
        stale.contains("  stale  last changed 120 days ago")
            && stale.contains("next: tokenvault rotate huggingface/token"),
        "{stale}"
    );
    let expiring = line("tv://huggingface-work/token");
    assert!(
        expiring.contains("  expiring  expires in ") && expiring.contains("tokenvault rotate"),
        "{expiring}"
    );
    let failed = line("tv://huggingface-old/token");
    assert!(
        failed.contains("  failed  the last live check failed") && failed.contains("401"),
        "{failed}"
    );
    let unverified = line("tv://huggingface-new/token");
    assert!(
        unverified.contains("  unverified  never checked")
            && unverified.contains("next: tokenvault verify huggingface-new/token"),
        "{unverified}"
    );
    let missing = line("tv://github/token");
    assert!(
        missing.contains("  missing  named by profile hf-mcp (GITHUB_TOKEN)")
            && missing.contains("next: tokenvault set github/token"),
        "{missing}"
    );
    assert!(!text.contains("huggingface-fine"), "{text}");
    assert!(!text.contains("aws"), "{text}");
    assert_eq!(text.lines().count(), 5, "{text}");

    // --stale-days moves the threshold.
    let lenient = env.run(&["status", "--stale-days", "200"]);
    assert!(!stdout(&lenient).contains("stale"), "{}", stdout(&lenient));

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
    assert!(
        stdout(&out).contains("tv://huggingface/token  expired  expired ("),
        "{}",
        stdout(&out)
    );

    edit_index(&env, |v| {
        v["items"]["huggingface"]["fields"]["token"]["verified"] =
            verified(true, &days_ago(3), None);
    });
    assert_ok(&env.run(&["profile", "set", "hf", "HF_TOKEN=huggingface"]));
    let ok = env.run(&["status"]);
    assert_ok(&ok);
    assert_eq!(stdout(&ok), "");
    assert!(
        stderr(&ok).contains("All is well: 1 stored value,"),
        "{}",
        stderr(&ok)
    );
}
