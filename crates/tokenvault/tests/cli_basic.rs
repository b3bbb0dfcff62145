//! The core CLI on the file backend: set/get/list/show/rm, formats, references, exit codes.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::pty::in_pty;
use common::*;

#[test]
fn set_get_list_show_rm_round_trip() {
    let env = Env::new();
    let token = hf_token();
    let out = env.set("huggingface", &format!("{token}\n"));
    let err = stderr(&out);
    assert_has(&err, "Stored tv://huggingface/token");
    assert_eq!(env.get("huggingface"), token);
    assert_eq!(env.get("tv://huggingface/token"), token);
    assert_eq!(env.get("huggingface/token"), token);

    let list = env.run(&["list"]);
    assert_ok(&list);
    let masked = format!("{}…{}", &token[..5], &token[token.len() - 4..]);
    assert_has(&stdout(&list), &masked);
    assert!(stdout(&list).contains("huggingface"));
    assert_no_secret(&list, &token, "list");

    let json = env.run(&["list", "--json"]);
    assert_ok(&json);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v[0]["reference"], "tv://huggingface/token");
    assert_eq!(v[0]["provider"], "huggingface");
    assert_eq!(v[0]["masked"], masked);

    let show = env.run(&["show", "huggingface"]);
    assert_ok(&show);
    assert_has(&stdout(&show), "Hugging Face");
    assert_no_secret(&show, &token, "show");
    let show_json = env.run(&["show", "huggingface", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&show_json.stdout).unwrap();
    assert_eq!(v["fields"][0]["masked"], masked);

    let rm = env.run(&["rm", "huggingface/token"]);
    assert_ok(&rm);
    let get = env.run(&["get", "huggingface"]);
    assert_error(&get, 2, &["not stored", "hint:"]);
}

#[test]
fn replacing_keeps_previous_value() {
    let env = Env::new();
    let (a, b) = (hf_token(), hf_token());
    env.set("huggingface", &a);
    let out = env.set("huggingface", &b);
    assert_has(&stderr(&out), "Replaced");
    assert_eq!(env.get("huggingface"), b);
    let prev = env.run(&["get", "huggingface", "--previous"]);
    assert_ok(&prev);
    assert_eq!(stdout(&prev).trim_end(), a);
}

#[test]
fn invalid_format_is_rejected_with_the_rule_and_force_overrides() {
    let env = Env::new();
    let out = env.run_stdin(&["set", "huggingface", "--stdin"], Some("hf_tooshort"));
    let err = assert_error(&out, 2, &["34 letters and digits", "--force"]);
    assert!(
        !err.contains("hf_tooshort"),
        "the rejected value is not echoed: {err}"
    );
    assert!(!env.vault().exists(), "nothing was stored");

    let out = env.run_stdin(
        &["set", "huggingface", "--stdin", "--force"],
        Some("hf_tooshort"),
    );
    assert_ok(&out);
    assert_eq!(env.get("huggingface"), "hf_tooshort");
}

#[test]
fn provider_defaults_from_item_name_and_flag() {
    let env = Env::new();
    env.set("huggingface-work", &hf_token());
    env.set("aws-prod", "AKIAIOSFODNN7EXAMPLE");
    let out = env.run_stdin(
        &["set", "aws-prod/secret_access_key", "--stdin"],
        Some("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    );
    assert_ok(&out);
    let bad = env.run_stdin(
        &["set", "mything", "--stdin", "--provider", "github"],
        Some("nope"),
    );
    assert_code(&bad, 2);
    assert!(
        stderr(&bad).contains("GitHub") || stderr(&bad).contains("ghp_"),
        "{}",
        stderr(&bad)
    );
    let unknown = env.run_stdin(
        &["set", "mything", "--stdin", "--provider", "nosuch"],
        Some("x"),
    );
    assert_code(&unknown, 2);
    assert!(stderr(&unknown).contains("unknown provider 'nosuch'"));
    let json = env.run(&["list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let refs: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reference"].as_str().unwrap())
        .collect();
    assert_eq!(
        refs,
        [
            "tv://aws-prod/access_key_id",
            "tv://aws-prod/secret_access_key",
            "tv://huggingface-work/token"
        ]
    );
    // An unknown provider's bare reference means the field `token`.
    env.set("custom-service", "some opaque value 123");
    assert_eq!(env.get("custom-service/token"), "some opaque value 123");
}

#[test]
fn malformed_references_are_usage_errors() {
    let env = Env::new();
    for (r, needle) in [
        ("Hugging/token", "must start with a lowercase"),
        ("a/b/c", "too many parts"),
        ("op://x/y", "unknown scheme"),
        ("tv://", "empty"),
    ] {
        let out = env.run(&["get", r]);
        assert_code(&out, 2);
        assert!(stderr(&out).contains(needle), "{r}: {}", stderr(&out));
    }
}

#[test]
fn value_on_the_command_line_is_refused_without_echo() {
    let env = Env::new();
    let token = hf_token();
    let out = env.run(&["set", "huggingface", &token]);
    assert_error(&out, 2, &["never taken from the command line"]);
    assert_no_secret(&out, &token, "set with argv value");
    assert!(!env.vault().exists());
}

#[test]
fn set_without_terminal_or_stdin_flag_explains() {
    let env = Env::new();
    let out = env.run(&["set", "huggingface"]);
    assert_error(&out, 2, &["--stdin"]);
}

#[test]
fn rm_whole_item_needs_yes_without_terminal() {
    let env = Env::new();
    env.set("aws", "AKIAIOSFODNN7EXAMPLE");
    env.run_stdin(&["set", "aws/region", "--stdin"], Some("us-east-1"));
    let out = env.run(&["rm", "aws"]);
    assert_code(&out, 2);
    assert!(stderr(&out).contains("--yes"));
    assert_eq!(env.get("aws"), "AKIAIOSFODNN7EXAMPLE");
    assert_ok(&env.run(&["rm", "aws", "--yes"]));
    let list = env.run(&["list", "--json"]);
    assert_eq!(stdout(&list).trim(), "[]");
}

#[test]
fn verify_offline_reports_invalid_with_exit_1() {
    let env = Env::new();
    env.set("huggingface", &hf_token());
    let ok = env.run(&["verify", "--offline"]);
    assert_ok(&ok);
    assert_has(&stdout(&ok), "tv://huggingface/token  ok");
    env.run_stdin(
        &["set", "github", "--stdin", "--force"],
        Some("not-a-github-token"),
    );
    let bad = env.run(&["verify", "--offline", "--json"]);
    assert_code(&bad, 1);
    let v: serde_json::Value = serde_json::from_slice(&bad.stdout).unwrap();
    let gh = v
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["reference"] == "tv://github/token")
        .unwrap();
    assert_eq!(gh["status"], "invalid");
    assert_no_secret(&bad, "not-a-github-token", "verify");
}

#[test]
fn completions_are_generated() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = env.run(&["completions", shell]);
        assert_ok(&out);
        assert!(stdout(&out).contains("tokenvault"));
    }
}

#[test]
fn get_refuses_a_terminal_without_reveal() {
    let (env, token) = Env::with_hf_token();
    let out = in_pty(&env, "get huggingface");
    assert_code(&out, 2);
    let text = stdout(&out) + &stderr(&out);
    assert_has(&text, "refusing to print a secret to the terminal");
    assert!(!text.contains(&token));
    let out = in_pty(&env, "get huggingface --reveal");
    assert_ok(&out);
    assert!(stdout(&out).contains(&token));
}
