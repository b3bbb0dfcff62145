//! The leak check of tests/common/leak.rs can fail: a registered value on stderr, a value on
//! stdout of a command whose job is not to print it, the passphrase anywhere, a plaintext file
//! left readable by others, and a child environment with the passphrase variable are all caught,
//! and the failure message never holds the value. (A check that cannot fail checks nothing.)
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::leak::{base64, LeakCheck};
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::{ExitStatus, Output};

fn output(stdout: &str, stderr: &str) -> Output {
    Output {
        status: ExitStatus::from_raw(0),
        stdout: stdout.as_bytes().to_vec(),
        stderr: stderr.as_bytes().to_vec(),
    }
}

/// The panic message of `f`, which must panic.
fn panic_message(f: impl FnOnce()) -> String {
    let err = catch_unwind(AssertUnwindSafe(f)).expect_err("the leak check did not fire");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

fn checker() -> (tempfile::TempDir, LeakCheck, String) {
    let dir = tempfile::tempdir().unwrap();
    let check = LeakCheck::new(dir.path(), PASSPHRASE);
    let token = hf_token();
    check.secret(&token);
    (dir, check, token)
}

#[test]
fn a_registered_value_on_stderr_fails_without_showing_it() {
    let (_dir, check, token) = checker();
    let msg = panic_message(|| {
        check.check(
            &["set", "huggingface", "--stdin"],
            &output("", &format!("error: bad value {token}\n")),
        )
    });
    assert!(msg.contains("stderr"), "{msg}");
    assert!(msg.contains("tokenvault set huggingface --stdin"), "{msg}");
    assert!(
        msg.contains("registered secret #1 (hf_…, 37 chars)"),
        "{msg}"
    );
    assert!(!msg.contains(&token), "the message shows the value: {msg}");
    // Even for a command that may print values on stdout.
    panic_message(|| check.check(&["get", "huggingface"], &output("", &token)));
}

#[test]
fn values_on_stdout_only_where_printing_them_is_the_job() {
    let (_dir, check, token) = checker();
    for ok in [
        &["get", "huggingface"][..],
        &["--backend", "file", "get", "huggingface"],
        &["export", "-e", "HF_TOKEN=huggingface"],
        &["inject", "-i", "t.yaml"],
        &[
            "run",
            "-e",
            "HF_TOKEN=huggingface",
            "--",
            "sh",
            "-c",
            "echo -o",
        ],
        &["git-credential", "get"],
        &["mcp", "headers", "--header", "A: b"],
    ] {
        check.check(ok, &output(&token, ""));
    }
    for leak in [
        &["list"][..],
        &["show", "huggingface"],
        &["export", "-e", "HF_TOKEN=huggingface", "-o", "x.env"],
        &["inject", "-i", "t.yaml", "--output", "out.yaml"],
        &["run", "--mask", "-e", "HF_TOKEN=huggingface", "--", "sh"],
        &["git-credential", "store"],
        &["mcp", "list"],
        &["doctor"],
    ] {
        let msg = panic_message(|| check.check(leak, &output(&token, "")));
        assert!(msg.contains("stdout holds registered secret #1"), "{msg}");
    }
}

#[test]
fn the_passphrase_and_base64_forms_are_caught() {
    let (_dir, check, token) = checker();
    let msg = panic_message(|| check.check(&["get", "x"], &output(PASSPHRASE, "")));
    assert!(msg.contains("the vault passphrase"), "{msg}");
    assert_lacks(&msg, PASSPHRASE);
    // Base64 of the value, alone or inside a longer encoding (an `Authorization: Basic` header).
    let msg = panic_message(|| check.check(&["list"], &output(&base64(token.as_bytes()), "")));
    assert!(msg.contains("(base64)"), "{msg}");
    let basic = base64(format!("{token}:x-oauth-basic").as_bytes());
    panic_message(|| check.check(&["verify"], &output("", &basic)));
    assert_eq!(base64(b"hello!"), "aGVsbG8h");
    assert_eq!(base64(b"hi"), "aGk=");
}

#[test]
fn a_plaintext_file_readable_by_others_is_flagged_unless_0600_or_a_fixture() {
    let (dir, check, token) = checker();
    let leaked = dir.path().join("home/export.env");
    std::fs::create_dir_all(leaked.parent().unwrap()).unwrap();
    std::fs::write(&leaked, format!("HF_TOKEN={token}\n")).unwrap();
    std::fs::set_permissions(&leaked, std::fs::Permissions::from_mode(0o644)).unwrap();
    let problems = check.scan();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("home/export.env (mode 0644) holds registered secret #1"),
        "{problems:?}"
    );
    assert!(!problems[0].contains(&token));
    // finish() (what Env's drop calls) panics on it.
    panic_message(|| check.finish());

    std::fs::set_permissions(&leaked, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(check.scan().is_empty(), "0600 may hold values");

    // A fixture may hold the values the test wrote into it, also once rewritten; not others.
    let fixture = dir.path().join("app.env");
    let text = format!("HF_TOKEN={token}\n");
    std::fs::write(&fixture, &text).unwrap();
    check.fixture_path(&fixture, Some(text.as_bytes()));
    assert!(check.scan().is_empty());
    std::fs::write(&fixture, format!("{text}DEBUG=1\n")).unwrap();
    assert!(check.scan().is_empty());
    let other = hf_token();
    check.secret(&other);
    std::fs::write(&fixture, format!("{text}OTHER={other}\n")).unwrap();
    let problems = check.scan();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("app.env (mode 0644) holds registered secret #2"));
}

#[test]
fn a_child_environment_with_the_passphrase_variable_or_a_stray_value_is_flagged() {
    let (_dir, check, token) = checker();
    let probe = check.env_probe(&["HF_TOKEN"]);
    assert!(
        check.scan().iter().any(|p| p.contains("never ran")),
        "a probe that never ran checked nothing"
    );
    let st = std::process::Command::new(&probe)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("HF_TOKEN", &token)
        .env("OTHER", &token)
        .env("TOKENVAULT_PASSPHRASE_FILE", "/some/file")
        .env("SOMETHING", PASSPHRASE)
        .status()
        .unwrap();
    assert!(st.success());
    let problems = check.scan();
    let all = problems.join("\n");
    assert_eq!(problems.len(), 3, "{all}");
    assert!(
        all.contains("has the variable TOKENVAULT_PASSPHRASE_FILE"),
        "{all}"
    );
    assert!(
        all.contains("variable OTHER holds registered secret #1"),
        "{all}"
    );
    assert!(
        all.contains("variable SOMETHING holds the vault passphrase"),
        "{all}"
    );
    assert!(
        !all.contains("variable HF_TOKEN"),
        "HF_TOKEN was expected: {all}"
    );
    assert!(!all.contains(&token) && !all.contains(PASSPHRASE));
}

#[test]
fn env_registers_stdin_values_and_checks_every_run() {
    let env = Env::new();
    let value = format!("value-{}", hf_token());
    env.set("acme", &format!("{value}\n"));
    assert_eq!(env.leaks.registered(), 2, "the passphrase and the value");
    assert_eq!(env.get("acme"), value);
    // `show` prints a masked form: fine. A command whose stderr would hold the value is caught
    // by the same path every Env runner takes.
    assert_ok(&env.run(&["show", "acme"]));
    let msg = panic_message(|| {
        env.check(&["show", "acme"], output("", &value));
    });
    assert!(
        msg.contains("registered secret #1 (value-…, 43 chars)"),
        "{msg}"
    );
}
