//! The CLI against a real Secret Service (gnome-keyring-daemon in its own D-Bus session): the
//! keychain is chosen automatically when usable, values land there (and `secret-tool` sees them),
//! no vault file is written, and `run` reads from it.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::*;
use std::io::Write;
use std::process::{Output, Stdio};
use tokenvault_testkit::KeyringSession;

fn tv(session: &KeyringSession, env: &Env, args: &[&str], stdin: Option<&str>) -> Output {
    if let (Some(value), Some(&("set" | "rotate"))) = (stdin, args.first()) {
        env.secret(stdin_value(value));
    }
    let mut c = session.command(bin());
    c.env("TOKENVAULT_HOME", &env.home)
        .env("NO_COLOR", "1")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    env.check(args, child.wait_with_output().unwrap())
}

#[test]
fn keychain_is_chosen_when_usable_and_holds_the_values() {
    let session = KeyringSession::start().expect("a real Secret Service for the test");
    let env = Env::without_backend();
    let token = hf_token();
    let out = tv(
        &session,
        &env,
        &["set", "huggingface", "--stdin"],
        Some(&token),
    );
    assert_ok(&out);
    assert_has(&stderr(&out), "Using the keychain backend");
    assert_no_secret(&out, &token, "set");
    let config = std::fs::read_to_string(env.home.join("config.toml")).unwrap();
    assert_has(&config, "backend = \"keychain\"");

    let got = tv(&session, &env, &["get", "huggingface"], None);
    assert_ok(&got);
    assert_eq!(stdout(&got).trim_end(), token);

    // secret-tool finds it under the documented attributes.
    let found = session.lookup_tokenvault("huggingface", "token", "current");
    assert_eq!(String::from_utf8_lossy(&found.stdout), token);

    // A value put in with secret-tool is listed and read back.
    env.secret("ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789");
    session.store_tokenvault(
        "by hand",
        "github",
        "token",
        &[],
        "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
    );
    let list = tv(&session, &env, &["list", "--json"], None);
    assert_ok(&list);
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let refs: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reference"].as_str().unwrap())
        .collect();
    assert_eq!(refs, ["tv://github/token", "tv://huggingface/token"]);
    assert_no_secret(&list, &token, "list");

    let probe = env.env_probe(&["GH", "HF_TOKEN"]);
    let run = tv(
        &session,
        &env,
        &[
            "run",
            "-e",
            "GH=github",
            "-e",
            "HF_TOKEN=huggingface",
            "--",
            &probe,
            "sh",
            "-c",
            "printf '%s %s' \"$GH\" \"$HF_TOKEN\"",
        ],
        None,
    );
    assert_ok(&run);
    assert_eq!(
        stdout(&run),
        format!("ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 {token}")
    );

    let doctor = tv(&session, &env, &["doctor"], None);
    assert_has(&stdout(&doctor), "[ok  ] keychain");
    assert_has(&stdout(&doctor), "keychain: remembered");

    assert!(
        !env.vault().exists(),
        "no vault file with the keychain backend"
    );
    for f in files_under(&env.home) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "{}",
            f.display()
        );
    }

    assert_ok(&tv(&session, &env, &["rm", "huggingface", "--yes"], None));
    let gone = session.secret_tool(
        &[
            "search",
            "--all",
            "service",
            "tokenvault",
            "item",
            "huggingface",
        ],
        None,
    );
    assert!(String::from_utf8_lossy(&gone.stdout).trim().is_empty());
}

#[test]
fn locked_keyring_is_a_clear_error_before_the_value_is_asked() {
    let session = KeyringSession::start().expect("a real Secret Service for the test");
    let env = Env::new();
    session.lock_collection().expect("lock the collection");
    let mut c = session.command(bin());
    c.env("TOKENVAULT_HOME", &env.home)
        .env("TOKENVAULT_BACKEND", "keychain")
        .args(["set", "huggingface"])
        .stdin(Stdio::null());
    let out = env.output(&mut c);
    let err = assert_error(&out, 2, &["locked", "--backend file"]);
    assert!(
        !err.contains("no terminal"),
        "fails before asking for the value: {err}"
    );
}

/// The keychain backend authenticates its index entries too: the state key is a keychain entry of
/// its own (not listed as a value), and an edited entry is not believed.
#[test]
fn an_edited_index_entry_is_not_believed_on_the_keychain() {
    let session = KeyringSession::start().expect("a real Secret Service for the test");
    let env = Env::without_backend();
    let token = hf_token();
    let out = tv(
        &session,
        &env,
        &[
            "set",
            "work",
            "--provider",
            "huggingface",
            "--stdin",
            "--no-verify",
        ],
        Some(&token),
    );
    assert_ok(&out);
    let got = tv(&session, &env, &["get", "work"], None);
    assert_eq!(stdout(&got).trim_end(), token);
    // The state key lives in the keychain, under our service, and is not an item.
    let found = session.secret_tool(
        &[
            "search",
            "--all",
            "service",
            "tokenvault",
            "kind",
            "state-key",
        ],
        None,
    );
    assert!(
        String::from_utf8_lossy(&found.stderr).contains("label = tokenvault state key")
            || String::from_utf8_lossy(&found.stdout).contains("label = tokenvault state key"),
        "{:?}",
        found
    );
    let list = tv(&session, &env, &["list"], None);
    assert_lacks(&stdout(&list), "state");
    let path = env.home.join("index.json");
    let mut index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    index["items"]["work"]["provider"] = "aws".into();
    std::fs::write(&path, serde_json::to_string(&index).unwrap()).unwrap();
    let out = tv(&session, &env, &["get", "work"], None);
    assert_error(&out, 2, &["changed outside tokenvault"]);
}
