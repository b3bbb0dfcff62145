//! No secret leaks and bad input loses nothing: outputs, argv, files and modes, passphrases,
//! damaged vaults, permissions, missing keyrings, unlock/lock.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::*;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_token_appears_in_no_output_but_get_and_in_no_plain_file() {
    let env = Env::new();
    let token = hf_token();
    let outs = vec![
        ("set", env.set("huggingface", &token)),
        ("set again", env.set("huggingface-work", &token)),
        ("list", env.run(&["list"])),
        ("list --json", env.run(&["list", "--json"])),
        ("show", env.run(&["show", "huggingface"])),
        ("show --json", env.run(&["show", "huggingface", "--json"])),
        ("verify", env.run(&["verify", "--offline"])),
        ("verify --json", env.run(&["verify", "--offline", "--json"])),
        ("doctor", env.run(&["doctor"])),
        ("doctor --json", env.run(&["--json", "doctor"])),
        ("get missing", env.run(&["get", "nothing"])),
        (
            "set bad",
            env.run_stdin(&["set", "github", "--stdin"], Some(&token)),
        ),
        ("rm", env.run(&["rm", "huggingface-work/token"])),
    ];
    for (what, out) in &outs {
        assert_no_secret(out, &token, what);
    }
    assert_eq!(
        env.get("huggingface"),
        token,
        "get is the one command that prints it"
    );

    // Every file tokenvault wrote is private, and none holds the value in plain text.
    assert_eq!(mode(&env.home), 0o700);
    let files = files_under(&env.home);
    assert!(files.iter().any(|f| f.ends_with("vault.age")));
    assert!(files.iter().any(|f| f.ends_with("index.json")));
    for f in files {
        assert_eq!(mode(&f), 0o600, "{} is 0600", f.display());
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "{} holds the token in plain text",
            f.display()
        );
    }
}

#[test]
fn set_process_cmdline_never_holds_the_value() {
    let env = Env::new();
    let token = hf_token();
    env.secret(&token);
    let mut c = env.cmd();
    c.args(["set", "huggingface", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    // While it waits for the value on stdin, read its argv as every local user could.
    std::thread::sleep(std::time::Duration::from_millis(100));
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", child.id())).unwrap();
    let environ = std::fs::read(format!("/proc/{}/environ", child.id())).unwrap_or_default();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(token.as_bytes()).unwrap();
    drop(stdin);
    let out = env.check(&Env::args_of(&c), child.wait_with_output().unwrap());
    assert_ok(&out);
    let cmdline = String::from_utf8_lossy(&cmdline);
    assert_has(&cmdline, "set");
    assert_has(&cmdline, "huggingface");
    assert!(!cmdline.contains(&token));
    assert!(!String::from_utf8_lossy(&environ).contains(&token));
    assert_eq!(env.get("huggingface"), token);
}

#[test]
fn wrong_passphrase_is_refused_and_vault_untouched() {
    let env = Env::new();
    env.set("huggingface", &hf_token());
    let before = std::fs::read(env.vault()).unwrap();
    std::fs::write(&env.pass_file, "not the passphrase\n").unwrap();
    for args in [
        &["get", "huggingface"][..],
        &["set", "github", "--stdin", "--force"][..],
    ] {
        let out = env.run_stdin(args, Some("ghp_whatever"));
        assert_error(&out, 2, &["wrong passphrase"]);
        assert!(!stderr(&out).contains("not the passphrase"));
        assert!(stderr(&out).contains("hint:"));
    }
    assert_eq!(std::fs::read(env.vault()).unwrap(), before);
}

#[test]
fn empty_passphrase_is_refused_on_creation() {
    let env = Env::new();
    std::fs::write(&env.pass_file, "\n").unwrap();
    let out = env.run_stdin(&["set", "huggingface", "--stdin"], Some(&hf_token()));
    assert_error(&out, 2, &["passphrase is empty"]);
    assert!(!env.vault().exists());
}

#[test]
fn no_passphrase_available_says_how_to_unlock() {
    let env = Env::new();
    env.set("huggingface", &hf_token());
    let out = env.output(
        env.cmd()
            .env_remove("TOKENVAULT_PASSPHRASE_FILE")
            .args(["get", "huggingface"])
            .stdin(Stdio::null()),
    );
    assert_error(&out, 2, &["locked", "tokenvault unlock"]);
}

#[test]
fn damaged_vaults_are_errors_and_stay_byte_for_byte() {
    let (env, token) = Env::with_hf_token();
    let good = std::fs::read(env.vault()).unwrap();
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated header", good[..20].to_vec()),
        ("truncated payload", good[..good.len() - 10].to_vec()),
        ("empty", Vec::new()),
        ("not age", b"{\"items\":{}}".to_vec()),
    ];
    let mut flipped = good.clone();
    let last = flipped.len() - 5;
    flipped[last] ^= 0x01;
    cases.push(("flipped payload byte", flipped));
    let mut flipped_header = good.clone();
    flipped_header[30] ^= 0x01;
    cases.push(("flipped header byte", flipped_header));
    for (what, bytes) in cases {
        std::fs::write(env.vault(), &bytes).unwrap();
        std::fs::set_permissions(env.vault(), std::fs::Permissions::from_mode(0o600)).unwrap();
        for args in [
            &["get", "huggingface"][..],
            &["set", "other", "--stdin"][..],
        ] {
            let out = env.run_stdin(args, Some("value-1234567890"));
            assert_code(&out, 2);
            assert!(
                stderr(&out).starts_with("error:"),
                "{what}: {}",
                stderr(&out)
            );
            assert_no_secret(&out, &token, what);
            assert_eq!(
                std::fs::read(env.vault()).unwrap(),
                bytes,
                "{what}: file untouched"
            );
        }
    }
    std::fs::write(env.vault(), &good).unwrap();
    assert_eq!(env.get("huggingface"), token, "the original still opens");
}

#[test]
fn world_readable_vault_or_index_is_refused_with_fix() {
    let env = Env::new();
    env.set("huggingface", &hf_token());
    std::fs::set_permissions(env.vault(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.run(&["get", "huggingface"]);
    assert_error(&out, 2, &["accessible by other users", "chmod 600"]);
    std::fs::set_permissions(env.vault(), std::fs::Permissions::from_mode(0o600)).unwrap();
    let index = env.home.join("index.json");
    std::fs::set_permissions(&index, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = env.run(&["list"]);
    assert_error(&out, 2, &["chmod 600"]);
}

#[test]
fn keychain_backend_without_a_session_bus_is_a_clear_error() {
    let env = Env::new();
    let out = env.output(
        env.cmd()
            .env("TOKENVAULT_BACKEND", "keychain")
            .env("XDG_RUNTIME_DIR", env.path("no-runtime-dir"))
            .args(["set", "huggingface", "--stdin"])
            .stdin(Stdio::null()),
    );
    assert_error(&out, 2, &["keychain backend is unavailable", "hint:"]);
}

#[test]
fn without_a_keychain_the_file_backend_is_chosen_remembered_and_explained() {
    let env = Env::without_backend();
    let out = env.set("huggingface", &hf_token());
    let err = stderr(&out);
    assert_has(&err, "Using the file backend");
    let config = std::fs::read_to_string(env.home.join("config.toml")).unwrap();
    assert_has(&config, "backend = \"file\"");
    let again = env.set("github", "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789");
    assert!(!stderr(&again).contains("Using the"), "announced once");
    let doctor = env.run(&["doctor"]);
    let text = stdout(&doctor);
    assert_has(&text, "file: remembered in");
    assert_has(&text, "OS keychain not usable");
}

#[test]
fn unknown_backend_is_a_usage_error() {
    let env = Env::new();
    let out = env.run(&["--backend", "floppy", "list"]);
    assert_error(&out, 2, &["expected keychain, file, memory or openbao"]);
}

#[test]
fn malformed_config_is_reported_with_its_path() {
    let env = Env::new();
    std::fs::create_dir_all(&env.home).unwrap();
    std::fs::write(env.home.join("config.toml"), "backend = [1,\n").unwrap();
    let out = env.run(&["list"]);
    assert_error(&out, 2, &["config.toml"]);
}

#[test]
fn unlock_lets_processes_without_a_passphrase_in_and_lock_shuts_them_out() {
    let (env, token) = Env::with_hf_token();
    let no_pass = |args: &[&str]| {
        env.output(
            env.cmd()
                .env_remove("TOKENVAULT_PASSPHRASE_FILE")
                .args(args)
                .stdin(Stdio::null()),
        )
    };
    assert_code(&no_pass(&["get", "huggingface"]), 2);
    let out = env.run(&["unlock", "--timeout", "5m"]);
    assert_ok(&out);
    assert_no_secret(&out, PASSPHRASE, "unlock");
    let got = no_pass(&["get", "huggingface"]);
    assert_ok(&got);
    assert_eq!(stdout(&got).trim_end(), token);
    // Writes work too, without re-deriving the key.
    env.secret("ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789");
    let mut c = env.cmd();
    c.env_remove("TOKENVAULT_PASSPHRASE_FILE")
        .args(["set", "github", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut set = c.spawn().unwrap();
    set.stdin
        .take()
        .unwrap()
        .write_all(b"ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789")
        .unwrap();
    assert_ok(&env.check(&Env::args_of(&c), set.wait_with_output().unwrap()));
    let doctor = no_pass(&["doctor"]);
    assert_has(&stdout(&doctor), "unlocked");
    assert_ok(&env.run(&["lock"]));
    let out = no_pass(&["get", "huggingface"]);
    assert_code(&out, 2);
    assert!(stderr(&out).contains("tokenvault unlock"));
    // Still readable with the passphrase.
    assert_eq!(
        env.get("github"),
        "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"
    );
}
