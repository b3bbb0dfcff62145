//! The audit log end to end, through the real binary: what each command appends (references,
//! never values), the parent process it records and redacts, `audit verify` catching edited,
//! deleted, swapped and cut lines, concurrent appenders keeping one unbroken chain, and a log that
//! cannot be written costing a warning rather than the command.

// Helpers outside #[test] functions unwrap too; clippy.toml already allows it in tests.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn log_path(env: &Env) -> PathBuf {
    env.home.join("audit.jsonl")
}

fn log_text(env: &Env) -> String {
    std::fs::read_to_string(log_path(env)).unwrap()
}

fn records(env: &Env) -> Vec<Value> {
    log_text(env)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Writes the log back from lines (each gets its newline).
fn write_lines(env: &Env, lines: &[&str]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(log_path(env), text).unwrap();
}

/// A log with `n` entries: one `set`, then `get`s.
fn env_with_entries(n: usize) -> (Env, String) {
    let (env, token) = Env::with_hf_token();
    for _ in 1..n {
        env.get("huggingface");
    }
    assert_eq!(log_text(&env).lines().count(), n);
    (env, token)
}

#[test]
fn get_set_rm_append_references_and_never_the_value() {
    let env = Env::new();
    let token = hf_token();
    let outs = [
        env.set("huggingface", &token),
        env.run(&["get", "huggingface"]),
        env.run(&["rm", "huggingface/token"]),
        env.run(&["get", "huggingface"]),
    ];
    assert_code(&outs[3], 2);
    for o in &outs[1..] {
        assert!(
            !stderr(o).contains(&token),
            "token on stderr: {}",
            stderr(o)
        );
    }

    let text = log_text(&env);
    assert!(
        !text.contains(&token),
        "the value is in the audit log:\n{text}"
    );
    let recs = records(&env);
    let summary: Vec<(&str, &str)> = recs
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap(),
                r["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("set", "ok"),
            ("get", "ok"),
            ("rm", "ok"),
            ("get", "not found")
        ]
    );
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(
            r["references"],
            serde_json::json!(["tv://huggingface/token"]),
            "{r}"
        );
        assert_eq!(r["backend"], "file");
        assert_eq!(r["seq"], i as u64 + 1);
        assert!(r["pid"].as_u64().unwrap() > 0);
        assert!(r["time"].as_str().unwrap().ends_with('Z'), "UTC time: {r}");
        assert_eq!(r["prev"].as_str().unwrap().len(), 64);
    }
    assert_eq!(recs[0]["prev"], "0".repeat(64));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(log_path(&env))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The listing: a table on stdout, or JSON.
    let list = env.run(&["audit"]);
    assert_ok(&list);
    let table = stdout(&list);
    assert_eq!(table.lines().count(), 5, "{table}");
    assert!(
        table.lines().nth(4).unwrap().contains("not found"),
        "{table}"
    );
    let list = env.run(&["audit", "--json"]);
    assert_ok(&list);
    let v: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 4);
    // --since in the future selects nothing; a duration ago selects everything.
    let none = env.run(&["audit", "--json", "--since", "2999-01-01T00:00:00Z"]);
    assert_eq!(
        serde_json::from_slice::<Value>(&none.stdout).unwrap(),
        serde_json::json!([])
    );
    let all = env.run(&["audit", "--json", "--since", "1h"]);
    assert_eq!(
        serde_json::from_slice::<Value>(&all.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

#[test]
fn verify_accepts_an_intact_log_and_names_each_kind_of_damage() {
    let (env, _) = env_with_entries(5);
    let ok = env.run(&["audit", "verify"]);
    assert_ok(&ok);
    assert_has(&stdout(&ok), "intact: 5 entries");
    let json = env.run(&["audit", "verify", "--json"]);
    let v: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        (v["intact"].as_bool(), v["entries"].as_u64()),
        (Some(true), Some(5))
    );

    let original = log_text(&env);
    let lines: Vec<&str> = original.lines().collect();
    let broken = |lines: &[&str], line: u64, kind: &str| {
        write_lines(&env, lines);
        let out = env.run(&["audit", "verify"]);
        assert_code(&out, 1);
        let msg = stdout(&out);
        assert!(
            msg.contains(&format!("line {line} ({kind})")),
            "expected line {line} {kind}: {msg}"
        );
        let out = env.run(&["audit", "verify", "--json"]);
        assert_code(&out, 1);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            (v["line"].as_u64(), v["problem"].as_str()),
            (Some(line), Some(kind))
        );
    };

    // An edited line: its outcome rewritten.
    let edited = lines[1].replace("\"outcome\":\"ok\"", "\"outcome\":\"denied\"");
    assert_ne!(edited, lines[1]);
    broken(
        &[lines[0], &edited, lines[2], lines[3], lines[4]],
        2,
        "edited",
    );

    // A deleted middle line.
    broken(&[lines[0], lines[1], lines[3], lines[4]], 3, "deleted");

    // Two swapped lines.
    broken(
        &[lines[0], lines[2], lines[1], lines[3], lines[4]],
        2,
        "reordered",
    );

    // A cut-off last line.
    std::fs::write(log_path(&env), &original[..original.len() - 20]).unwrap();
    let out = env.run(&["audit", "verify"]);
    assert_code(&out, 1);
    assert_has(&stdout(&out), "line 5 (truncated)");

    // Restored, it verifies again, and new entries keep the chain.
    std::fs::write(log_path(&env), &original).unwrap();
    env.get("huggingface");
    assert_ok(&env.run(&["audit", "verify"]));
}

#[test]
fn eight_concurrent_processes_never_break_the_chain() {
    let (env, token) = Env::with_hf_token();
    const PROCS: usize = 8;
    const GETS: usize = 5;
    std::thread::scope(|s| {
        for _ in 0..PROCS {
            s.spawn(|| {
                for _ in 0..GETS {
                    assert_eq!(env.get("huggingface"), token);
                }
            });
        }
    });
    let text = log_text(&env);
    assert_eq!(
        text.lines().count(),
        1 + PROCS * GETS,
        "one line per access"
    );
    let seqs: Vec<u64> = records(&env)
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=(1 + PROCS * GETS) as u64).collect::<Vec<_>>());
    let out = env.run(&["audit", "verify"]);
    assert_ok(&out);
    assert!(stdout(&out).contains(&format!("intact: {} entries", 1 + PROCS * GETS)));
}

/// `sh` with exactly the environment the harness gives the binary.
fn sh(env: &Env) -> Command {
    let base = env.cmd();
    let mut c = Command::new("sh");
    c.env_clear();
    for (k, v) in base.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    c.current_dir(base.get_current_dir().unwrap());
    c
}

#[cfg(target_os = "linux")]
#[test]
fn the_parent_is_recorded_and_secrets_in_its_argv_are_redacted() {
    let (env, token) = Env::with_hf_token();
    let other = hf_token();
    for secret in [&other[..], "hunter2-correct", "opaque-key-value"] {
        env.secret(secret);
    }
    // `; :` keeps sh from exec'ing the binary in its own place: sh stays our parent. Its argv
    // carries secrets the way `env HF_TOKEN=… tokenvault run …` would.
    let out = sh(&env)
        .args([
            "-c",
            "\"$0\" get huggingface >/dev/null; :",
            bin(),
            &format!("HF_TOKEN={other}"),
            "MY_PASSWORD=hunter2-correct",
            "--api-key",
            "opaque-key-value",
            &other,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = env.check(&["get", "huggingface"], out);
    assert_ok(&out);
    let text = log_text(&env);
    for secret in [&token, &other, "hunter2-correct", "opaque-key-value"] {
        assert!(
            !text.contains(secret),
            "{secret} is in the audit log:\n{text}"
        );
    }
    let recs = records(&env);
    let last = recs.last().unwrap();
    assert_eq!(last["action"], "get");
    assert_eq!(last["parent_name"], "sh", "{last}");
    let argv: Vec<&str> = last["parent_cmdline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        argv,
        [
            "sh",
            "-c",
            "\"$0\" get huggingface >/dev/null; :",
            bin(),
            "HF_TOKEN=<redacted>",
            "MY_PASSWORD=<redacted>",
            "--api-key",
            "<redacted>",
            "<redacted>",
        ]
    );
    assert!(last["ppid"].as_u64().unwrap() > 1);
}

#[test]
fn a_log_that_cannot_be_written_refuses_reads_unless_relaxed() {
    let (env, token) = Env::with_hf_token();
    // A directory where the log belongs: every append fails.
    std::fs::remove_file(log_path(&env)).unwrap();
    std::fs::create_dir(log_path(&env)).unwrap();
    let out = env.run(&["get", "huggingface"]);
    assert_code(&out, 2);
    assert_eq!(stdout(&out), "", "no value handed out unrecorded");
    let err = stderr(&out);
    assert_eq!(
        err.lines().count(),
        2,
        "one error and its hint, said once: {err}"
    );
    assert!(
        err.starts_with("error: could not write the audit log"),
        "{err}"
    );
    // Relaxed in the config: the value, and one warning.
    std::fs::write(
        env.home.join("config.toml"),
        "backend = \"file\"\naudit_required = false\n",
    )
    .unwrap();
    let out = env.run(&["get", "huggingface"]);
    assert_ok(&out);
    assert_eq!(
        stdout(&out),
        format!("{token}\n"),
        "stdout holds the value and nothing else"
    );
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("warning: could not write the audit log"),
        "{err}"
    );
    assert!(!err.contains(&token));
}

#[test]
fn no_log_yet_is_not_an_error() {
    let env = Env::new();
    let out = env.run(&["audit", "verify"]);
    assert_ok(&out);
    assert_has(&stdout(&out), "No audit log yet");
    let out = env.run(&["audit", "--json"]);
    assert_ok(&out);
    assert_eq!(stdout(&out).trim(), "[]");
}
