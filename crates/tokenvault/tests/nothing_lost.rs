//! Issue "Nothing lost, nothing forged": crashes, rollback and a lost vault file, as a clumsy user
//! or an attacker would cause them, through the real binary.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::*;
use std::process::Stdio;

/// Reproduction 2: `vault.age` copied back to an older version (a rotated-away token comes back)
/// is refused by every reader and writer, and accepted only on purpose.
#[test]
fn a_rolled_back_vault_is_refused_until_accepted() {
    let env = Env::new();
    let old = hf_token();
    let new = hf_token();
    env.set("huggingface", &old);
    let old_copy = std::fs::read(env.vault()).unwrap();
    env.set("huggingface", &new);
    std::fs::write(env.vault(), &old_copy).unwrap();
    for args in [
        vec!["get", "huggingface"],
        vec!["run", "-e", "HF_TOKEN=huggingface", "--", "true"],
    ] {
        let out = env.run(&args);
        assert_code(&out, 2);
        let err = stderr(&out);
        assert!(err.contains("was rolled back"), "{args:?}: {err}");
        assert!(err.contains("--accept-rollback"), "{args:?}: {err}");
    }
    let out = env.run_stdin(
        &["set", "other", "--stdin", "--no-verify"],
        Some("value-123456"),
    );
    assert_error(&out, 2, &["was rolled back"]);
    // doctor says so too.
    let out = env.run(&["doctor"]);
    assert!(stderr(&out).contains("was rolled back") || stdout(&out).contains("was rolled back"));
    // On purpose: accepted once, then it is the vault.
    let out = env.run(&["--accept-rollback", "get", "huggingface"]);
    assert_ok(&out);
    assert_eq!(stdout(&out).trim(), old);
    assert_eq!(env.get("huggingface"), old);
}

/// A rollback that resets `vault.seen` with the vault is still found: the audit chain recorded
/// the generations it saw, and `doctor` compares.
#[test]
fn a_rollback_with_its_seen_file_reset_is_found_through_the_audit_chain() {
    let env = Env::new();
    let old = hf_token();
    let new = hf_token();
    env.set("huggingface", &old);
    let old_copy = std::fs::read(env.vault()).unwrap();
    let old_seen = std::fs::read(env.home.join("vault.seen")).unwrap();
    env.set("huggingface", &new);
    assert_eq!(env.get("huggingface"), new);
    let log = std::fs::read_to_string(env.home.join("audit.jsonl")).unwrap();
    assert_has(&log, "\"generation\":");
    std::fs::write(env.vault(), &old_copy).unwrap();
    std::fs::write(env.home.join("vault.seen"), &old_seen).unwrap();
    let out = env.run(&["doctor"]);
    assert_code(&out, 1);
    let text = stdout(&out) + &stderr(&out);
    assert_has(&text, "but the audit log recorded generation");
    assert_has(&text, "it was rolled back");
}

/// Reproduction 4: a missing `vault.age` is not silently replaced: `get`, `set` and `doctor`
/// say it is missing, and nothing is created in its place. `backup restore` brings it back.
#[test]
fn a_missing_vault_is_reported_and_restored_from_a_backup() {
    let env = Env::new();
    let first = hf_token();
    let second = hf_token();
    env.set("huggingface", &first);
    env.set("huggingface-work", &second);
    std::fs::remove_file(env.vault()).unwrap();
    let out = env.run(&["get", "huggingface"]);
    assert_error(&out, 2, &["is missing"]);
    let out = env.run_stdin(
        &["set", "x", "--stdin", "--no-verify"],
        Some("value-123456"),
    );
    assert_code(&out, 2);
    assert!(!env.vault().exists(), "no empty vault created in its place");
    let out = env.run(&["doctor"]);
    let text = stdout(&out) + &stderr(&out);
    assert_has(&text, "is missing");
    // The backups: generation 1 (before the second set) is kept.
    let out = env.run(&["backup", "list", "--json"]);
    assert_ok(&out);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let gens: Vec<u64> = v["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["generation"].as_u64().unwrap())
        .collect();
    assert_eq!(gens, [1]);
    let out = env.run(&["backup", "restore", "1"]);
    assert_ok(&out);
    assert_eq!(env.get("huggingface"), first);
    // The index follows the restored vault: the item only generation 2 had is gone from it.
    let out = env.run(&["list"]);
    assert_lacks(&stdout(&out), "huggingface-work");
    let out = env.run(&["get", "huggingface-work"]);
    assert_code(&out, 2);
}

/// Reproduction 1: after the index lost fields the vault holds (a crash between the two writes),
/// `rm ITEM --yes` removes what the vault holds, and `unlock` repairs the index, saying so.
#[test]
fn rm_and_unlock_follow_the_vault_not_a_drifted_index() {
    let env = Env::new();
    env.set("acme/token", &hf_token());
    env.set("acme/secret", "another-secret-value-1");
    env.set("keep/token", "kept-secret-value-2222");
    // The index forgets acme/secret, as a crash right after the vault write would leave it.
    let index_path = env.home.join("index.json");
    let mut index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&index_path).unwrap()).unwrap();
    index["items"]["acme"]["fields"]
        .as_object_mut()
        .unwrap()
        .remove("secret");
    std::fs::write(&index_path, serde_json::to_string(&index).unwrap()).unwrap();
    let out = env.run(&["doctor"]);
    let text = stdout(&out) + &stderr(&out);
    assert_has(&text, "the index and the vault disagree");
    let out = env.run(&["rm", "acme", "--yes"]);
    assert_ok(&out);
    assert_has(&stderr(&out), "Deleted tv://acme/secret");
    let out = env.run(&["get", "acme/secret"]);
    assert_code(&out, 2);
    // A drift the other way round is repaired by unlock, with a warning for each field.
    let mut index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&index_path).unwrap()).unwrap();
    index["items"]["keep"]["fields"]
        .as_object_mut()
        .unwrap()
        .remove("token");
    std::fs::write(&index_path, serde_json::to_string(&index).unwrap()).unwrap();
    let out = env.run(&["unlock", "--timeout", "60s"]);
    if stderr(&out).contains("keyctl") || stderr(&out).contains("kernel keyring") {
        return; // no kernel keyring in this sandbox: the rm half above is the test
    }
    assert_ok(&out);
    assert_has(&stderr(&out), "the index did not list tv://keep/token");
    let _ = env.run(&["lock"]);
    let out = env.run(&["list"]);
    assert_has(&stdout(&out), "tv://keep/token");
}

/// 100 SIGKILLs at random points of `set` of new items: the vault always decrypts, every `set`
/// that reported success is readable, and after `unlock` the index lists exactly what the vault
/// holds (0 lost, 0 invented).
#[cfg(target_os = "linux")]
#[test]
fn set_killed_at_random_points_loses_nothing() {
    let env = Env::new();
    env.set("seed/token", "seed-secret-value-000");
    let mut killer = kill::Killer::new(std::time::Duration::from_millis(100));
    let mut completed = vec![("seed/token".to_owned(), "seed-secret-value-000".to_owned())];
    for round in 0..100 {
        let reference = format!("item{round}/token");
        let value = format!("value-{round}-{:016x}", killer.rng.next());
        env.secret(&value);
        if killer.run(
            &env,
            &["set", &reference, "--stdin", "--no-verify"],
            Some(&value),
        ) {
            completed.push((reference, value));
        } else {
            // Killed: stored whole, or not at all.
            let out = env.run(&["get", &reference]);
            if out.status.success() {
                assert_eq!(stdout(&out).trim_end(), value);
                killer.killed_after_write();
            } else {
                assert_has(&stderr(&out), "is not stored");
            }
        }
        // The vault decrypts after every kill, and nothing that completed is lost.
        let out = env.run(&["get", "seed/token"]);
        assert_ok(&out);
    }
    killer.assert_both("set", 20);
    for (r, value) in &completed {
        assert_eq!(&env.get(r), value, "{r}");
    }
    kill::assert_index_matches_vault(&env);
}

/// Reproduction 5: `passwd` changes the passphrase and the file key; `rekey` changes the file key
/// under the same passphrase; a weak new passphrase is refused unless allowed explicitly.
#[test]
fn passwd_and_rekey_give_a_new_key_and_weak_passphrases_are_refused() {
    let (env, token) = Env::with_hf_token();
    let header = |env: &Env| {
        let bytes = std::fs::read(env.vault()).unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        text.lines().take(3).collect::<Vec<_>>().join("\n")
    };
    let tag = |env: &Env| {
        let i: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(env.home.join("index.json")).unwrap())
                .unwrap();
        i["items"]["huggingface"]["mac"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let before = header(&env);
    let tag_before = tag(&env);
    let out = env.run(&["rekey"]);
    assert_ok(&out);
    let after_rekey = header(&env);
    assert_ne!(before, after_rekey, "a new salt and wrapped file key");
    // A new state key too: the index is re-tagged, and a bare reference still resolves.
    assert_ne!(tag(&env), tag_before, "re-tagged under a new state key");
    assert_eq!(env.get("huggingface"), token);

    // A weak new passphrase is refused, and nothing changes.
    let out = env.run_stdin(&["passwd", "--stdin"], Some("short\n"));
    assert_error(&out, 2, &["too weak"]);
    assert_eq!(header(&env), after_rekey);

    let new_pass = "a brand new and long passphrase";
    env.secret(new_pass);
    let out = env.run_stdin(&["passwd", "--stdin"], Some(&format!("{new_pass}\n")));
    assert_ok(&out);
    // The old passphrase no longer opens the vault; the new one does.
    let out = env.run(&["get", "huggingface"]);
    assert_error(&out, 2, &["wrong passphrase"]);
    let out = env.output(
        env.cmd()
            .env_remove("TOKENVAULT_PASSPHRASE_FILE")
            .env("TOKENVAULT_PASSPHRASE", new_pass)
            .args(["get", "huggingface"])
            .stdin(Stdio::null()),
    );
    assert_ok(&out);
    assert_eq!(stdout(&out).trim(), token);

    // Creating a vault with a one-character passphrase is refused, unless allowed explicitly.
    let fresh = Env::new();
    let weak = |allow: bool| {
        let mut c = fresh.cmd();
        c.env_remove("TOKENVAULT_PASSPHRASE_FILE")
            .env("TOKENVAULT_PASSPHRASE", "x")
            .args(["set", "acme", "--stdin", "--no-verify"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if allow {
            c.env("TOKENVAULT_ALLOW_WEAK_PASSPHRASE", "1");
        }
        let mut child = c.spawn().unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"acme-secret-value-1234")
            .unwrap();
        child.wait_with_output().unwrap()
    };
    fresh.secret("acme-secret-value-1234");
    let out = fresh.check(&["set", "acme"], weak(false));
    assert_error(&out, 2, &["too weak"]);
    assert!(!fresh.vault().exists());
    let out = fresh.check(&["set", "acme"], weak(true));
    assert_ok(&out);
}

/// Reproduction 6: a log that cannot be written refuses the read (no value handed out
/// unrecorded) unless the config relaxes it; and what changes access to the vault is recorded.
#[test]
fn the_audit_log_fails_closed_and_records_what_changes_access() {
    let (env, token) = Env::with_hf_token();
    let log = env.home.join("audit.jsonl");
    std::fs::remove_file(&log).unwrap();
    std::fs::create_dir(&log).unwrap(); // no file can be opened there
    for args in [
        vec!["get", "huggingface"],
        vec![
            "run",
            "-e",
            "HF_TOKEN=huggingface",
            "--",
            "sh",
            "-c",
            "echo ran",
        ],
        vec!["export", "-e", "HF_TOKEN=huggingface"],
    ] {
        let out = env.run(&args);
        assert_code(&out, 2);
        assert!(!stdout(&out).contains(&token), "{args:?}");
        assert!(
            !stdout(&out).contains("ran"),
            "{args:?}: the child must not start"
        );
        assert!(
            stderr(&out).contains("refusing to hand out values unrecorded"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    std::fs::write(
        env.home.join("config.toml"),
        "backend = \"file\"\naudit_required = false\n",
    )
    .unwrap();
    let out = env.run(&["get", "huggingface"]);
    assert_ok(&out);
    assert_has(&stderr(&out), "audit_required = false");
    std::fs::remove_dir(&log).unwrap();

    // What changes access is recorded.
    assert_ok(&env.run(&["profile", "set", "hf", "HF_TOKEN=huggingface"]));
    assert_ok(&env.run(&["wrapper", "hf", "-p", "hf", "-o", "w.sh", "--", "true"]));
    let _ = env.run(&["scan", "."]);
    let out = env.run(&["audit", "--json"]);
    assert_ok(&out);
    let text = stdout(&out);
    for action in ["profile-set", "wrapper", "scan"] {
        assert!(text.contains(&format!("\"{action}\"")), "{action}: {text}");
    }
}

/// 100 SIGKILLs at random points of `rm`: a value `rm` reported deleted never comes back, the
/// vault always decrypts, a field is deleted with its previous value or not at all (no previous
/// value left behind for `rotate --rollback` to bring back), and the index never lists a field the
/// vault lost (after `unlock`).
#[cfg(target_os = "linux")]
#[test]
fn rm_killed_at_random_points_resurrects_nothing() {
    let env = Env::new();
    let mut items = Vec::new();
    for i in 0..100 {
        let r = format!("gone{i}/token");
        env.set(&r, &format!("previous-value-{i:04}-xyz"));
        env.set(&r, &format!("value-to-delete-{i:04}-xyz"));
        items.push(r);
    }
    let mut killer = kill::Killer::new(std::time::Duration::from_millis(100));
    let mut deleted = Vec::new();
    for r in &items {
        if killer.run(&env, &["rm", r], None) {
            deleted.push(r.clone());
        }
    }
    for (i, r) in items.iter().enumerate() {
        let out = env.run(&["get", r, "--previous"]);
        let previous = out.status.success().then(|| stdout(&out));
        let out = env.run(&["get", r]);
        match &previous {
            Some(p) => {
                assert!(
                    out.status.success(),
                    "{r}: deleted, its previous value left"
                );
                assert_eq!(p.trim_end(), format!("previous-value-{i:04}-xyz"));
            }
            None => assert!(stderr(&out).contains("is not stored"), "{}", stderr(&out)),
        }
        if deleted.contains(r) {
            assert_error(&out, 2, &["is not stored"]);
        } else if !out.status.success() {
            // Killed: deleted or not, but the vault still decrypts.
            assert_has(&stderr(&out), "is not stored");
            killer.killed_after_write();
        } else {
            assert_eq!(
                stdout(&out).trim_end(),
                format!("value-to-delete-{i:04}-xyz")
            );
        }
    }
    killer.assert_both("rm", 20);
    kill::assert_index_matches_vault(&env);
}

/// Reproduction 3: the plaintext index is a cache, not an authority. An entry edited by hand (the
/// provider that decides which field a bare reference injects, a faked "verified ok") does not
/// verify under the vault's state key: a bare reference to it is refused, `show`/`status` do
/// not repeat what it claims, `doctor` names it, and `unlock` rebuilds it from the vault.
#[test]
fn an_edited_index_entry_is_detected_and_not_believed() {
    let env = Env::new();
    let token = hf_token();
    let out = env.run_stdin(
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
    env.set("other/token", "other-secret-value-0000");
    assert_eq!(
        env.get("work"),
        token,
        "the bare reference means work/token"
    );
    let index_path = env.home.join("index.json");
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut index: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&index_path).unwrap()).unwrap();
        f(&mut index);
        std::fs::write(&index_path, serde_json::to_string(&index).unwrap()).unwrap();
    };
    // Sealed: every entry carries a tag.
    let text = std::fs::read_to_string(&index_path).unwrap();
    assert_eq!(text.matches("\"mac\":").count(), 2, "{text}");

    // The provider changed to one whose default field is another.
    edit(&|i| i["items"]["work"]["provider"] = "aws".into());
    let out = env.run(&["get", "work"]);
    assert_error(&out, 2, &["changed outside tokenvault"]);
    // An explicit field still works: the value itself was never in the index.
    assert_eq!(env.get("work/token"), token);
    // `--item work` is expanded from the entry too: refused, nothing started.
    let out = env.run(&["run", "--item", "work", "--", "true"]);
    assert_error(&out, 2, &["changed outside tokenvault"]);

    // A faked verification is not repeated by show or status.
    edit(&|i| {
        i["items"]["work"]["provider"] = "huggingface".into();
        i["items"]["other"]["fields"]["token"]["verified"] =
            serde_json::json!({"at": "2026-12-01T00:00:00Z", "ok": true, "summary": "forged"});
    });
    let out = env.run(&["show", "other/token", "--json"]);
    assert_lacks(&stdout(&out), "forged");
    assert_has(&stderr(&out), "'other' was changed outside tokenvault");
    let out = env.run(&["status", "--json"]);
    assert_lacks(&stdout(&out), "forged");
    let out = env.run(&["doctor"]);
    let text = stdout(&out) + &stderr(&out);
    assert_has(&text, "changed outside tokenvault (not believed): other");
    // A tag copied from another entry does not verify either.
    let tag = {
        let i: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&index_path).unwrap()).unwrap();
        i["items"]["work"]["mac"].clone()
    };
    edit(&|i| i["items"]["other"]["mac"] = tag.clone());
    let out = env.run(&["get", "other"]);
    assert_code(&out, 2);

    // A write rebuilds the edited entries from the vault: the forged claim is gone, the value
    // and its provider (recognised by its format) are back, and doctor is content.
    env.set("third/token", "third-secret-value-11111");
    let text = std::fs::read_to_string(&index_path).unwrap();
    assert_lacks(&text, "forged");
    assert_eq!(env.get("other"), "other-secret-value-0000");
    assert_eq!(env.get("work"), token);
    let out = env.run(&["doctor"]);
    let text = stdout(&out) + &stderr(&out);
    assert_has(&text, "every entry of the file vault carries a valid tag");
}

/// Reproduction 6 (second half): cutting the audit log's tail, deleting it, or replacing it with
/// an older copy is detected through its authenticated head; an edited head is detected too.
#[test]
fn a_cut_or_deleted_audit_log_is_detected() {
    let env = Env::new();
    env.set("acme/token", "acme-secret-value-00001");
    for _ in 0..3 {
        assert_eq!(env.get("acme/token"), "acme-secret-value-00001");
    }
    let log = env.home.join("audit.jsonl");
    let head = env.home.join("audit.head");
    assert!(head.exists(), "every read anchors the head");
    let out = env.run(&["audit", "verify"]);
    assert_ok(&out);
    assert_has(&stderr(&out), "authenticated head matches");
    let whole = std::fs::read_to_string(&log).unwrap();
    let older = whole.clone();
    assert_eq!(env.get("acme/token"), "acme-secret-value-00001");
    let verify = |env: &Env| {
        let out = env.run(&["audit", "verify"]);
        (out.status.code(), stdout(&out) + &stderr(&out))
    };

    // The last two records cut off (the chain alone stays intact).
    let whole = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = whole.lines().collect();
    std::fs::write(&log, lines[..lines.len() - 2].join("\n") + "\n").unwrap();
    let (code, text) = verify(&env);
    assert_eq!(code, Some(1), "{text}");
    assert_has(&text, "records were cut from the end");

    // An older copy of the whole log put back.
    std::fs::write(&log, &older).unwrap();
    let (code, text) = verify(&env);
    assert_eq!(code, Some(1), "{text}");
    assert_has(&text, "cut from the end");

    // The head edited to match the shorter log: its tag gives it away.
    let mut h: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&head).unwrap()).unwrap();
    let last: serde_json::Value = serde_json::from_str(older.lines().last().unwrap()).unwrap();
    h["seq"] = last["seq"].clone();
    std::fs::write(&head, serde_json::to_string(&h).unwrap()).unwrap();
    let (code, text) = verify(&env);
    assert_eq!(code, Some(1), "{text}");
    assert_has(&text, "audit head was changed outside tokenvault");

    // The log deleted whole, and then the head too.
    std::fs::write(&log, &whole).unwrap();
    env.run(&["get", "acme/token"]); // re-anchor (the head was edited)
    let whole = std::fs::read_to_string(&log).unwrap();
    std::fs::remove_file(&log).unwrap();
    let (code, text) = verify(&env);
    assert_eq!(code, Some(1), "{text}");
    assert_has(&text, "the audit log is gone");
    std::fs::write(&log, &whole).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let (code, text) = verify(&env);
    assert_eq!(code, Some(0), "put back as it was: {text}");
    std::fs::remove_file(&head).unwrap();
    let (code, text) = verify(&env);
    assert_eq!(code, Some(1), "{text}");
    assert_has(&text, "there is no audit head");
}
