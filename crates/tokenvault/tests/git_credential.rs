//! The git credential helper driven by the real `git credential fill|approve|reject`: the vault's
//! token for huggingface.co (and github.com), nothing for other hosts, a vault that git's
//! approve/reject never changes, a locked vault that answers nothing and says how to unlock, and a
//! token that never reaches stderr.

// Helpers outside #[test] functions unwrap too; clippy.toml already allows it in tests.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// A git with its own empty global config (no system config, no prompts) whose environment also
/// carries what the harness gives tokenvault, so the helper git starts finds the test vault.
struct Git<'a> {
    env: &'a Env,
    config: PathBuf,
    /// Leave out the passphrase file: the vault is locked for the helper.
    locked: bool,
}

impl<'a> Git<'a> {
    fn new(env: &'a Env) -> Git<'a> {
        let config = env.path("gitconfig");
        std::fs::write(&config, "").unwrap();
        Git {
            env,
            config,
            locked: false,
        }
    }

    /// `git config --file <global> KEY VALUE` (`--add` so a key can hold several helpers).
    fn config(&self, key: &str, value: &str) {
        let out = Command::new("git")
            .args(["config", "--file"])
            .arg(&self.config)
            .args(["--add", key, value])
            .output()
            .unwrap();
        assert_ok(&out);
    }

    fn helper(&self, extra: &str) -> String {
        format!("!'{}' git-credential{extra}", bin())
    }

    fn run(&self, args: &[&str], input: &str) -> Output {
        let base = self.env.cmd();
        let mut c = Command::new("git");
        c.env_clear();
        for (k, v) in base.get_envs() {
            if let Some(v) = v {
                if self.locked && k == "TOKENVAULT_PASSPHRASE_FILE" {
                    continue;
                }
                c.env(k, v);
            }
        }
        c.env("GIT_CONFIG_GLOBAL", &self.config)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            .current_dir(base.get_current_dir().unwrap())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        // git runs `tokenvault git-credential OP`: fill → get, approve → store, reject → erase.
        let op = match args {
            ["credential", "fill"] => "get",
            ["credential", "approve"] => "store",
            ["credential", "reject"] => "erase",
            _ => panic!("git {args:?}: which helper operation?"),
        };
        self.env.check(&["git-credential", op], out)
    }

    fn fill(&self, host: &str) -> Output {
        self.run(
            &["credential", "fill"],
            &format!("protocol=https\nhost={host}\npath=user/repo\n\n"),
        )
    }
}

fn field<'o>(out: &'o str, key: &str) -> Option<&'o str> {
    out.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

fn audit_lines(env: &Env) -> Vec<serde_json::Value> {
    std::fs::read_to_string(env.home.join("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn git_credential_fill_gets_the_hugging_face_token() {
    let (env, token) = Env::with_hf_token();
    let git = Git::new(&env);
    git.config("credential.https://huggingface.co.helper", &git.helper(""));

    let out = git.fill("huggingface.co");
    assert_ok(&out);
    let answer = stdout(&out);
    assert_eq!(field(&answer, "password"), Some(token.as_str()), "{answer}");
    assert_eq!(field(&answer, "username"), Some("hf_user"));
    assert_eq!(field(&answer, "host"), Some("huggingface.co"));
    assert!(!stderr(&out).contains(&token), "token on stderr");

    // A username in the URL is kept; the token is still the password.
    let out = git.run(
        &["credential", "fill"],
        "protocol=https\nhost=huggingface.co\nusername=alice\n\n",
    );
    assert_ok(&out);
    assert_eq!(field(&stdout(&out), "username"), Some("alice"));
    assert_eq!(field(&stdout(&out), "password"), Some(token.as_str()));

    // Every get is audited, with the reference and never the value.
    let recs = audit_lines(&env);
    let gets: Vec<_> = recs
        .iter()
        .filter(|r| r["action"] == "git-credential")
        .collect();
    assert_eq!(gets.len(), 2);
    assert_eq!(
        gets[0]["references"],
        serde_json::json!(["tv://huggingface/token"])
    );
    assert_eq!(gets[0]["outcome"], "ok");
    let log = std::fs::read_to_string(env.home.join("audit.jsonl")).unwrap();
    assert!(!log.contains(&token));
}

#[test]
fn other_hosts_get_nothing_and_github_gets_its_own_item() {
    let (env, hf) = Env::with_hf_token();
    let gh = format!("ghp_{}", &hf_token()[3..35]);
    let gh = format!("{gh}{}", "abcd");
    env.set("github", &gh);
    let git = Git::new(&env);
    // One helper for every host: we must stay silent where we have nothing to say.
    git.config("credential.helper", &git.helper(""));

    let out = git.fill("example.com");
    assert!(
        !out.status.success(),
        "no helper answered, prompts are off: git fails"
    );
    assert_eq!(field(&stdout(&out), "password"), None);
    for secret in [&hf, &gh] {
        assert!(!stdout(&out).contains(secret.as_str()) && !stderr(&out).contains(secret.as_str()));
    }
    let recs = audit_lines(&env);
    let last = recs.last().unwrap();
    assert_eq!(last["action"], "git-credential");
    assert!(
        last["outcome"].as_str().unwrap().starts_with("ignored"),
        "{last}"
    );
    assert_eq!(last["references"], serde_json::json!([]));

    // Plain http to the Hub is not answered either.
    let out = git.run(
        &["credential", "fill"],
        "protocol=http\nhost=huggingface.co\n\n",
    );
    assert_eq!(field(&stdout(&out), "password"), None);

    let out = git.fill("github.com");
    assert_ok(&out);
    assert_eq!(field(&stdout(&out), "username"), Some("x-access-token"));
    assert_eq!(field(&stdout(&out), "password"), Some(gh.as_str()));

    let out = git.fill("hf.co");
    assert_ok(&out);
    assert_eq!(field(&stdout(&out), "password"), Some(hf.as_str()));
}

#[test]
fn item_flag_picks_another_item() {
    let env = Env::new();
    let personal = hf_token();
    let work = hf_token();
    env.set("huggingface", &personal);
    env.set("huggingface-work", &work);
    let git = Git::new(&env);
    git.config(
        "credential.https://huggingface.co.helper",
        &git.helper(" --item huggingface-work"),
    );
    let out = git.fill("huggingface.co");
    assert_ok(&out);
    assert_eq!(field(&stdout(&out), "password"), Some(work.as_str()));
}

#[test]
fn approve_and_reject_leave_the_vault_unchanged() {
    let (env, token) = Env::with_hf_token();
    let git = Git::new(&env);
    git.config("credential.https://huggingface.co.helper", &git.helper(""));
    let vault_before = std::fs::read(env.vault()).unwrap();
    let index_before = std::fs::read(env.home.join("index.json")).ok();

    let other = hf_token();
    env.secret(&other);
    let input =
        format!("protocol=https\nhost=huggingface.co\nusername=hf_user\npassword={other}\n\n");
    for op in ["approve", "reject"] {
        let out = git.run(&["credential", op], &input);
        assert_ok(&out);
        assert!(!stderr(&out).contains(&other) && !stdout(&out).contains(&other));
    }
    assert_eq!(
        std::fs::read(env.vault()).unwrap(),
        vault_before,
        "vault file untouched"
    );
    assert_eq!(
        std::fs::read(env.home.join("index.json")).ok(),
        index_before
    );
    assert_eq!(env.get("huggingface"), token);
    let log = std::fs::read_to_string(env.home.join("audit.jsonl")).unwrap();
    assert!(!log.contains(&other), "what git handed us is not logged");

    // After a reject, the next fill still answers from the vault.
    let out = git.fill("huggingface.co");
    assert_eq!(field(&stdout(&out), "password"), Some(token.as_str()));
}

#[test]
fn a_locked_vault_answers_nothing_and_says_how_to_unlock() {
    let (env, token) = Env::with_hf_token();

    // The helper alone: exit 0, nothing on stdout, one line on stderr.
    let mut c = env.cmd();
    c.env_remove("TOKENVAULT_PASSPHRASE_FILE")
        .args(["git-credential", "get"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"protocol=https\nhost=huggingface.co\n\n")
        .unwrap();
    let out = env.check(&Env::args_of(&c), child.wait_with_output().unwrap());
    assert_ok(&out);
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_has(&err, "locked");
    assert_has(&err, "unlock");

    // Through git: no password from us; git falls back to prompting (disabled here, so it fails).
    let mut git = Git::new(&env);
    git.locked = true;
    git.config("credential.https://huggingface.co.helper", &git.helper(""));
    let out = git.fill("huggingface.co");
    assert_eq!(field(&stdout(&out), "password"), None);
    assert_has(&stderr(&out), "locked");
    assert!(!stderr(&out).contains(&token));

    let last = audit_lines(&env).pop().unwrap();
    assert_eq!(
        (last["action"].as_str(), last["outcome"].as_str()),
        (Some("git-credential"), Some("locked"))
    );
}

#[test]
fn store_and_erase_read_and_discard_their_input() {
    let env = Env::new();
    env.secret("whatever");
    for op in ["store", "erase"] {
        let out = env.run_stdin(
            &["git-credential", op],
            Some("protocol=https\nhost=huggingface.co\npassword=whatever\n\n"),
        );
        assert_ok(&out);
        assert_eq!(stdout(&out), "");
        assert_eq!(stderr(&out), "");
    }
    assert!(!env.vault().exists(), "nothing was stored");
}
