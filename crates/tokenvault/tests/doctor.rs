//! `tokenvault doctor`'s plaintext findings: tokens still lying in the Hub's token files, in `.env`
//! files under the current directory and in the ipfs_kit config — masked, each with the exact
//! import command that fixes it; running those commands (against the Hub stand-in) clears them.

// Test helpers outside #[test] functions panic on failure by design.
#![allow(clippy::unwrap_used)]

mod common;

use common::hub::Hub;
use common::*;
use serde_json::Value;

/// The masked form `doctor` shows for a Hugging Face token.
fn masked_hf(t: &str) -> String {
    format!("{}…{}", &t[..5], &t[t.len() - 4..])
}

/// Every `hint:` fix command in doctor's text output.
fn fix_commands(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            l.split_once("remove the plaintext: ")
                .map(|(_, c)| c.to_owned())
        })
        .collect()
}

#[test]
fn finds_planted_tokens_masked_with_the_command_that_fixes_them() {
    let (active, saved, deep) = (hf_token(), hf_token(), hf_token());
    // As in real life, the same token was also copied into a .env file and the ipfs_kit config.
    let (in_env, ipfs) = (active.clone(), active.clone());
    let hub = Hub::start(&[&active, &saved]);
    let mut env = Env::new();
    env.vars.push(("HF_ENDPOINT".into(), hub.url.clone()));
    for t in [&active, &saved, &deep] {
        env.secret(t);
    }
    let home = env.dir.path().to_owned();

    // The Hub's files at their default place ($HOME/.cache/huggingface).
    let hf_dir = home.join(".cache/huggingface");
    std::fs::create_dir_all(&hf_dir).unwrap();
    env.fixture(hf_dir.join("token"), &active);
    env.fixture(
        hf_dir.join("stored_tokens"),
        format!("[laptop]\nhf_token = {active}\n\n[saved]\nhf_token = {saved}\n"),
    );
    // A project's .env (the harness runs commands in the test directory), and one inside a
    // dependency directory, which is not looked at.
    let proj = home.join("proj");
    std::fs::create_dir_all(proj.join("node_modules/pkg")).unwrap();
    let dotenv = proj.join(".env");
    env.fixture(&dotenv, format!("# local\nHF_TOKEN={in_env}\nPORT=8080\n"));
    env.fixture(
        proj.join("node_modules/pkg/.env"),
        format!("HF_TOKEN={deep}\n"),
    );
    let ipfs_dir = home.join(".ipfs_kit");
    std::fs::create_dir_all(&ipfs_dir).unwrap();
    let ipfs_config = ipfs_dir.join("config.json");
    env.fixture(
        &ipfs_config,
        format!("{{\"huggingface\": {{\"token\": \"{ipfs}\"}}, \"version\": 3}}\n"),
    );

    let out = env.run(&["doctor"]);
    assert_code(&out, 1);
    let text = stdout(&out);
    for t in [&active, &saved, &in_env, &deep, &ipfs] {
        assert_no_secret(&out, t, "doctor");
    }
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("plaintext token"))
        .collect();
    assert_eq!(lines.len(), 4, "{text}");
    let stored = hf_dir.join("stored_tokens");
    let expect = [
        (
            format!(
                "{}:2 [laptop] (active): Hugging Face token",
                stored.display()
            ),
            masked_hf(&active),
        ),
        (
            format!("{}:5 [saved]: Hugging Face token", stored.display()),
            masked_hf(&saved),
        ),
        (
            format!("{}:2 HF_TOKEN: Hugging Face token", dotenv.display()),
            masked_hf(&in_env),
        ),
        (
            format!(
                "{} huggingface.token: Hugging Face token",
                ipfs_config.display()
            ),
            masked_hf(&ipfs),
        ),
    ];
    for (what, masked) in &expect {
        assert!(
            lines
                .iter()
                .any(|l| l.contains(what.as_str()) && l.contains(masked.as_str())),
            "no line with {what} {masked} in:\n{text}"
        );
    }
    assert!(
        !text.contains(&masked_hf(&deep)),
        "node_modules was searched"
    );
    let fixes = fix_commands(&text);
    assert!(
        fixes.contains(&"tokenvault import huggingface --shred".to_owned()),
        "{fixes:?}"
    );
    assert!(
        fixes.contains(&format!(
            "tokenvault import dotenv {} --rewrite --shred",
            dotenv.display()
        )),
        "{fixes:?}"
    );
    assert!(
        fixes.contains(&format!(
            "tokenvault import ipfs-kit {} --shred",
            ipfs_config.display()
        )),
        "{fixes:?}"
    );

    // --json: the same findings, with their files.
    let j = env.run(&["--json", "doctor"]);
    let v: Value = serde_json::from_str(&stdout(&j)).unwrap();
    let paths: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["check"] == "plaintext token")
        .filter_map(|c| c["path"].as_str())
        .collect();
    assert_eq!(paths.len(), 4, "{v}");
    for t in [&active, &saved, &in_env, &ipfs] {
        assert_no_secret(&j, t, "doctor --json");
    }

    // The printed commands, run as printed, clear every finding.
    let mut fixes = fixes;
    fixes.sort();
    fixes.dedup();
    for fix in &fixes {
        let args: Vec<&str> = fix.split(' ').skip(1).collect();
        let o = env.run(&args);
        assert_ok(&o);
    }
    let after = env.run(&["doctor"]);
    assert_lacks(&stdout(&after), "plaintext token");
    assert!(!hf_dir.join("token").exists() && !hf_dir.join("stored_tokens").exists());
    assert_eq!(
        std::fs::read_to_string(&dotenv).unwrap(),
        "# local\nHF_TOKEN=tv://huggingface/token\nPORT=8080\n"
    );
    assert_eq!(env.get("huggingface-saved"), saved);
}
