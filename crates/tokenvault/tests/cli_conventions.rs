//! Output and conventions a new user trips over (issue "What a new user trips over", section
//! "Output and conventions"): `--json` and `-q` honoured or refused by every command, `run`'s exit
//! codes and its `--`, plain catalogue fields shown unmasked, wording and plurals, `rotate --stdin`
//! without the guide, `unlock` without a passphrase source, `get` of something not stored on a
//! terminal, help examples and manual pages, completion of stored names, and colour.
#![allow(clippy::unwrap_used)]

mod common;

use common::pty::{in_pty, in_pty_with};
use common::*;
use serde_json::Value;
use std::process::Stdio;

fn json_of(o: &std::process::Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", stdout(o), stderr(o)))
}

// 1. --json and -q

#[test]
fn json_results_of_commands_that_change_things_hold_masked_values_only() {
    let env = Env::new();
    let (old, new) = (hf_token(), hf_token());
    env.secret(&old);
    env.secret(&new);

    let out = env.run_stdin(
        &["set", "huggingface", "--stdin", "--no-verify", "--json"],
        Some(&old),
    );
    assert_ok(&out);
    let v = json_of(&out);
    assert_eq!(v["reference"], "tv://huggingface/token");
    assert_eq!(v["action"], "stored");
    assert_eq!(v["backend"], "file");
    assert!(v["masked"].as_str().unwrap().contains('…'), "{v}");

    let out = env.run_stdin(
        &["rotate", "huggingface", "--stdin", "--no-verify", "--json"],
        Some(&new),
    );
    assert_ok(&out);
    let v = json_of(&out);
    assert_eq!(v["action"], "rotated");
    assert_eq!(v["reference"], "tv://huggingface/token");
    assert!(v["previous_masked"].as_str().unwrap().contains('…'), "{v}");
    assert_eq!(
        v["revoke_url"], "https://huggingface.co/settings/tokens",
        "{v}"
    );

    let out = env.run(&["rotate", "huggingface", "--rollback", "--json"]);
    assert_ok(&out);
    assert_eq!(json_of(&out)["action"], "rolled_back");
    assert_eq!(env.get("huggingface"), old);

    let out = env.run(&["profile", "set", "hf", "HF_TOKEN=huggingface", "--json"]);
    assert_ok(&out);
    let v = json_of(&out);
    assert_eq!(v["profile"], "hf");
    assert_eq!(v["variables"]["HF_TOKEN"], "tv://huggingface");
    let out = env.run(&["profile", "rm", "hf", "--json"]);
    assert_ok(&out);
    assert_eq!(json_of(&out)["deleted"], true);

    let out = env.run(&["unlock", "--timeout", "5m", "--json"]);
    assert_ok(&out);
    let v = json_of(&out);
    assert_eq!(v["unlocked"], true);
    assert_eq!(v["timeout_seconds"], 300);
    let out = env.run(&["lock", "--json"]);
    assert_ok(&out);
    assert_eq!(json_of(&out)["was_unlocked"], true);

    let out = env.run(&["rm", "huggingface", "--yes", "--json"]);
    assert_ok(&out);
    let v = json_of(&out);
    assert_eq!(v["deleted"], serde_json::json!(["tv://huggingface/token"]));
}

#[test]
fn json_is_refused_with_a_usage_error_where_it_makes_no_sense() {
    let env = Env::new();
    for args in [
        vec!["get", "huggingface", "--json"],
        vec!["--json", "run", "--", "true"],
        vec!["export", "-e", "A=aws", "--json"],
        vec!["inject", "-i", "-", "--json"],
        vec!["git-credential", "get", "--json"],
        vec!["completions", "bash", "--json"],
        vec!["mcp", "proxy", "--url", "http://127.0.0.1:9/mcp", "--json"],
    ] {
        let out = env.run(&args);
        assert_code(&out, 2);
        assert!(
            stderr(&out).contains("error: --json:"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(stdout(&out).is_empty(), "{args:?}: {}", stdout(&out));
    }
}

#[test]
fn scan_json_is_its_json_format() {
    let env = Env::new();
    let token = env.secret(&hf_token()).to_owned();
    env.fixture("src/config.py", format!("TOKEN = \"{token}\"\n"));
    let out = env.run(&["scan", "src", "--no-vault", "--json"]);
    assert_code(&out, 1);
    let v = json_of(&out);
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");
}

/// A Cursor config holding a Hugging Face token in a server's env.
fn cursor_config(env: &Env) -> String {
    let token = env.secret(&hf_token()).to_owned();
    env.fixture(
        ".cursor/mcp.json",
        format!(
            "{{\n  \"mcpServers\": {{\n    \"hf\": {{\n      \"command\": \"npx\",\n      \"args\": [\"-y\", \"hf-mcp\"],\n      \"env\": {{ \"HF_TOKEN\": \"{token}\" }}\n    }}\n  }}\n}}\n"
        ),
    );
    token
}

#[test]
fn quiet_silences_the_mcp_secure_report() {
    let env = Env::new();
    cursor_config(&env);
    let out = env.run(&["-q", "mcp", "secure"]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "", "stdout");
    assert_eq!(stderr(&out), "", "stderr");
    let text = std::fs::read_to_string(env.path(".cursor/mcp.json")).unwrap();
    assert_has(&text, "tv://huggingface/token");
    // Errors still show.
    let out = env.run(&["-q", "mcp", "secure", "--client", "nosuch"]);
    assert_error(&out, 2, &["error:"]);
}

#[test]
fn mcp_secure_json_says_what_moved_masked() {
    let env = Env::new();
    cursor_config(&env);
    let out = env.run(&["mcp", "secure", "--json"]);
    assert_ok(&out);
    let v = json_of(&out);
    assert_eq!(v["dry_run"], false);
    let file = &v["files"][0];
    assert_eq!(file["client"], "cursor");
    assert!(file["backup"].is_string(), "{v}");
    let secret = &file["secrets"][0];
    assert_eq!(secret["server"], "hf");
    assert_eq!(secret["reference"], "tv://huggingface/token");
    assert!(secret["masked"].as_str().unwrap().starts_with("hf_"), "{v}");
}

// 2. run: 127, 126, and the missing `--`

#[test]
fn run_exits_127_for_a_missing_command_and_126_for_one_it_cannot_execute() {
    let env = Env::new();
    let out = env.run(&["run", "--", "tokenvault-no-such-program"]);
    assert_code(&out, 127);
    assert_has(
        &stderr(&out),
        "cannot run 'tokenvault-no-such-program': command not found",
    );
    let plain = env.fixture("not-executable.sh", "#!/bin/sh\necho hi\n");
    let plain = plain.to_str().unwrap();
    let out = env.run(&["run", "--", plain]);
    assert_error(&out, 126, &["permission denied", "not-executable.sh"]);
    // --mask spawns instead of exec: the same codes.
    let out = env.run(&["run", "--mask", "--", "tokenvault-no-such-program"]);
    assert_code(&out, 127);
}

#[test]
fn run_without_double_dash_says_to_put_the_command_after_it() {
    let env = Env::new();
    let out = env.run(&["run", "-e", "X=tv://a", "python", "train.py"]);
    assert_error(
        &out,
        2,
        &[
            "after `--`",
            "tokenvault run -e X=tv://a -- python train.py",
        ],
    );
    // A flag meant for the child.
    let out = env.run(&["run", "-e", "X=a", "ls", "-la"]);
    assert_error(&out, 2, &["tokenvault run -e X=a -- ls -la"]);
    // No command at all.
    let out = env.run(&["run", "-e", "X=a"]);
    assert_error(&out, 2, &["after `--`"]);
}

// 3. plain catalogue fields

#[test]
fn plain_fields_are_shown_unmasked_and_secrets_stay_masked() {
    let env = Env::new();
    env.set("aws", "AKIAIOSFODNN7EXAMPLE");
    env.secret("AKIAIOSFODNN7EXAMPLE");
    env.set("aws/region", "eu-west-1");
    env.set("huggingface/test_repo", "acme/test-model");
    env.set(
        "storacha/space_did",
        "did:key:z6MkrZ1r5XBFZjBU34qyD8fueMbMRkKw17BZaq2ivKFjnz2z",
    );
    let out = env.run(&["list", "--json"]);
    assert_ok(&out);
    let rows = json_of(&out);
    let masked = |r: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|x| x["reference"] == r)
            .unwrap_or_else(|| panic!("{r} not listed: {rows}"))["masked"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(masked("tv://aws/region"), "eu-west-1");
    assert_eq!(masked("tv://huggingface/test_repo"), "acme/test-model");
    assert_eq!(
        masked("tv://storacha/space_did"),
        "did:key:z6MkrZ1r5XBFZjBU34qyD8fueMbMRkKw17BZaq2ivKFjnz2z"
    );
    assert_eq!(masked("tv://aws/access_key_id"), "AKIA…MPLE");
    let show = env.run(&["show", "aws"]);
    assert_has(&stdout(&show), "value:     eu-west-1");

    // A token stored in a plain field by mistake (--force) stays masked.
    let token = env.secret(&hf_token()).to_owned();
    let out = env.run_stdin(
        &["set", "aws/region", "--stdin", "--no-verify", "--force"],
        Some(&token),
    );
    assert_ok(&out);
    let list = env.run(&["list"]);
    assert!(!stdout(&list).contains(&token));
}

// 4. wording

#[test]
fn articles_and_plurals_read_as_english() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    std::fs::create_dir_all(&env.home).unwrap();
    std::fs::set_permissions(&env.home, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(
        env.home.join("config.toml"),
        "[[provider]]\nid = \"acme\"\nname = \"Acme Cloud\"\ndefault_field = \"key\"\n\n  [[provider.fields]]\n  name = \"key\"\n  formats = [{ regex = '^acme_[0-9a-f]{32}$', description = \"'acme_' followed by 32 hex digits\" }]\n  examples_match = [\"acme_0123456789abcdef0123456789abcdef\"]\n",
    )
    .unwrap();
    let out = env.run_stdin(
        &["set", "acme", "--stdin", "--no-verify"],
        Some("not-an-acme-key"),
    );
    assert_error(&out, 2, &["does not look like an acme key"]);
    let one = env.run(&["profile", "set", "one", "A=aws"]);
    assert_has(&stderr(&one), "(1 variable)");
    let two = env.run(&["profile", "set", "two", "A=aws", "B=aws/region"]);
    assert_has(&stderr(&two), "(2 variables)");
    let doctor = env.run(&["doctor"]);
    assert_lacks(&stdout(&doctor), "(s)");
}

// 5. rotate --stdin

#[test]
fn rotate_from_stdin_prints_no_guide_for_the_prompt() {
    let env = Env::new();
    env.set("huggingface", &hf_token());
    let out = env.run_stdin(
        &["rotate", "huggingface", "--stdin", "--no-verify"],
        Some(&hf_token()),
    );
    assert_ok(&out);
    let err = stderr(&out);
    assert_lacks(&err, "Create a new token");
    assert_lacks(&err, "Paste it at the prompt");
    assert_has(&err, "Rotated tv://huggingface/token");
}

// 6. unlock without a passphrase source

#[test]
fn unlock_without_terminal_or_passphrase_says_how_to_give_one() {
    let env = Env::new();
    env.set("huggingface", &hf_token());
    let mut c = env.cmd();
    c.env_remove("TOKENVAULT_PASSPHRASE_FILE")
        .arg("unlock")
        .stdin(Stdio::null());
    let out = env.output(&mut c);
    let err = assert_error(&out, 2, &["TOKENVAULT_PASSPHRASE_FILE", "--stdin"]);
    assert_lacks(&err, "run `tokenvault unlock`,");

    // And --stdin works.
    let mut c = env.cmd();
    c.env_remove("TOKENVAULT_PASSPHRASE_FILE")
        .args(["unlock", "--stdin", "--timeout", "1m"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    std::io::Write::write_all(
        &mut child.stdin.take().unwrap(),
        format!("{PASSPHRASE}\n").as_bytes(),
    )
    .unwrap();
    let out = env.check(&Env::args_of(&c), child.wait_with_output().unwrap());
    assert_ok(&out);
    assert_ok(&env.run(&["lock"]));
}

// 7. get: "not stored" before "refusing to print"

#[test]
fn get_of_something_not_stored_says_so_on_a_terminal() {
    let env = Env::new();
    env.set("huggingface", &hf_token());
    let out = in_pty(&env, "get nope");
    assert_code(&out, 2);
    let text = stdout(&out) + &stderr(&out);
    assert_has(&text, "tv://nope/token is not stored");
    assert_lacks(&text, "refusing");
    let out = in_pty(&env, "get huggingface --previous");
    let text = stdout(&out) + &stderr(&out);
    assert_has(&text, "has no previous value");
}

// 8. help examples and manual pages

#[test]
fn every_command_has_examples_in_its_help() {
    let env = Env::new();
    for cmd in [
        "set",
        "get",
        "list",
        "show",
        "rm",
        "verify",
        "import",
        "doctor",
        "unlock",
        "lock",
        "run",
        "profile",
        "export",
        "inject",
        "wrapper",
        "git-credential",
        "audit",
        "scan",
        "hook",
        "mcp",
        "rotate",
        "status",
        "passwd",
        "rekey",
        "backup",
        "backend",
        "share",
        "receive",
        "copy",
        "completions",
    ] {
        let out = env.run(&[cmd, "--help"]);
        assert_ok(&out);
        assert!(
            stdout(&out).contains("Examples:\n  "),
            "{cmd} --help has no examples: {}",
            stdout(&out)
        );
    }
    for sub in [
        ["mcp", "secure"],
        ["mcp", "add"],
        ["profile", "set"],
        ["import", "dotenv"],
        ["backend", "login"],
    ] {
        let out = env.run(&[sub[0], sub[1], "--help"]);
        assert!(stdout(&out).contains("Examples:"), "{sub:?}");
    }
}

#[test]
fn man_pages_are_written_one_per_command() {
    let env = Env::new();
    let dir = env.path("man1");
    let out = env.run(&["man", dir.to_str().unwrap()]);
    assert_ok(&out);
    for page in [
        "tokenvault.1",
        "tokenvault-set.1",
        "tokenvault-run.1",
        "tokenvault-mcp-secure.1",
        "tokenvault-profile-rm.1",
    ] {
        let text =
            std::fs::read_to_string(dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        let first_macro = text
            .lines()
            .find(|l| !l.starts_with(".ie") && !l.starts_with(".el"))
            .unwrap_or("");
        assert!(first_macro.starts_with(".TH "), "{page}: {first_macro}");
    }
    assert!(
        !dir.join("tokenvault-man.1").exists(),
        "the hidden command has no page"
    );
    let set = std::fs::read_to_string(dir.join("tokenvault-set.1")).unwrap();
    assert_has(&set, "Examples:");
    // man renders it, where man is installed.
    if let Ok(out) = std::process::Command::new("man")
        .args(["-l", dir.join("tokenvault-set.1").to_str().unwrap()])
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .output()
    {
        if out.status.success() {
            assert!(String::from_utf8_lossy(&out.stdout).contains("stdin"));
        }
    }
}

// 9. completion of stored names

/// The candidates fish would get for the command line `words` (the last one being completed).
fn complete(env: &Env, words: &[&str]) -> Vec<String> {
    let mut c = env.cmd();
    c.env("TOKENVAULT_COMPLETE", "fish")
        .arg("--")
        .arg("tokenvault")
        .args(words);
    let out = env.output(&mut c);
    assert_ok(&out);
    stdout(&out)
        .lines()
        .map(|l| l.split('\t').next().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn completion_offers_stored_items_and_profiles() {
    let env = Env::new();
    env.set("huggingface", &hf_token());
    env.set("aws/region", "eu-west-1");
    assert_ok(&env.run(&["profile", "set", "hf-mcp", "HF_TOKEN=huggingface"]));

    let got = complete(&env, &["get", "hu"]);
    assert!(got.contains(&"huggingface".to_owned()), "{got:?}");
    assert!(got.contains(&"huggingface/token".to_owned()), "{got:?}");
    assert!(!got.iter().any(|c| c.starts_with("aws")), "{got:?}");
    let got = complete(&env, &["rotate", "aws/"]);
    assert_eq!(got, vec!["aws/region".to_owned()]);
    let got = complete(&env, &["run", "-p", ""]);
    assert!(got.contains(&"hf-mcp".to_owned()), "{got:?}");
    let got = complete(&env, &["profile", "rm", "hf"]);
    assert_eq!(got, vec!["hf-mcp".to_owned()]);
    let got = complete(&env, &["git-credential", "get", "--item", "a"]);
    assert_eq!(got, vec!["aws".to_owned()]);

    // The scripts call the binary back.
    for shell in ["bash", "zsh", "fish"] {
        let out = env.run(&["completions", shell]);
        assert_ok(&out);
        assert!(stdout(&out).contains("TOKENVAULT_COMPLETE"), "{shell}");
    }
}

/// The real bash script: sourced, its function called as bash calls it on Tab.
#[test]
fn the_bash_script_completes_stored_names() {
    let env = Env::new();
    env.set("huggingface", &hf_token());
    let script = env.test_file("tokenvault.bash");
    let out = env.run(&["completions", "bash"]);
    std::fs::write(&script, &out.stdout).unwrap();
    let c = env.cmd();
    let mut bash = std::process::Command::new("bash");
    bash.env_clear();
    for (k, v) in c.get_envs() {
        if let Some(v) = v {
            bash.env(k, v);
        }
    }
    let bin_dir = std::path::Path::new(bin()).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    bash.env("PATH", path).arg("-c").arg(format!(
        "source '{}'; COMP_WORDS=(tokenvault get hu); COMP_CWORD=2; COMP_TYPE=9; \
         _clap_complete_tokenvault tokenvault hu tokenvault; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display()
    ));
    let out = env.output(&mut bash);
    assert_ok(&out);
    let got: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert!(got.contains(&"huggingface"), "{got:?} {}", stderr(&out));
    assert!(got.contains(&"huggingface/token"), "{got:?}");
}

// 10. colour

const ESC: &str = "\x1b[";

#[test]
fn doctor_and_status_colour_only_a_terminal() {
    let env = Env::new();
    env.set("huggingface", &hf_token());
    let tty = in_pty_with(&env, "doctor", &[("NO_COLOR", None)]);
    let text = stdout(&tty);
    assert!(text.contains(&format!("[{ESC}32mok{ESC}0m  ]")), "{text:?}");
    let status = in_pty_with(&env, "status", &[("NO_COLOR", None)]);
    assert!(
        stdout(&status).contains(&format!("{ESC}33munverified{ESC}0m")),
        "{:?}",
        stdout(&status)
    );
    // NO_COLOR, --color never and --no-color on a terminal: none.
    for (args, vars) in [
        ("doctor", vec![("NO_COLOR", Some("1"))]),
        ("doctor --color never", vec![("NO_COLOR", None)]),
        ("doctor --no-color", vec![("NO_COLOR", None)]),
    ] {
        let out = in_pty_with(&env, args, &vars);
        assert!(!stdout(&out).contains(ESC), "{args}: {:?}", stdout(&out));
        assert!(stdout(&out).contains("[ok  ]"), "{args}");
    }
    // A pipe: none, unless --color always.
    let mut c = env.cmd();
    c.env_remove("NO_COLOR").arg("doctor");
    let piped = env.output(&mut c);
    assert!(!stdout(&piped).contains(ESC), "{:?}", stdout(&piped));
    let always = env.run(&["doctor", "--color", "always"]);
    assert!(stdout(&always).contains(ESC), "{:?}", stdout(&always));
}
