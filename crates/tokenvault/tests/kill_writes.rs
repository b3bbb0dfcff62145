//! Issue "Nothing lost, nothing forged": SIGKILL during each write command, 100 times each, at
//! pseudo-random points (`common::kill`). After every kill the vault decrypts, no value is lost
//! or comes back, and a file the command rewrites (a dotenv file, a client config) is whole: the
//! original or the rewritten version, whose references all read back. After the rounds, `doctor`
//! finds that the index lists exactly what the vault holds. (`set` and `rm`: `nothing_lost.rs`.)
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::kill::{self, Killer};
use common::*;
use std::time::Duration;

/// `get REF` (`--previous` for the previous slot): the value, or `None` when it is not stored;
/// any other failure (a vault that does not decrypt) fails the test.
fn lookup(env: &Env, reference: &str, previous: bool) -> Option<String> {
    let mut args = vec!["get", reference];
    if previous {
        args.push("--previous");
    }
    let out = env.run(&args);
    if out.status.success() {
        return Some(stdout(&out).trim_end_matches('\n').to_owned());
    }
    let err = stderr(&out);
    assert!(
        err.contains("is not stored") || err.contains("has no previous value"),
        "get {reference}: {err}"
    );
    None
}

/// The vault decrypts: the seed item reads back.
fn assert_seed(env: &Env) {
    assert_eq!(env.get("seed/token"), SEED);
}

const SEED: &str = "seed-secret-value-000";

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn random_alnum(n: usize) -> String {
    let mut s = String::new();
    while s.len() < n {
        s.push_str(&hf_token()[3..]);
    }
    s.truncate(n);
    s
}

/// `rotate --stdin`: the current value is always the last one whose rotation completed or the one
/// being written, never an older one and never lost; the previous slot is the value it replaced.
#[test]
fn rotate_killed_at_random_points_keeps_the_current_or_the_new_value() {
    let env = Env::new();
    env.set("seed/token", SEED);
    let reference = "rot/token";
    let mut current = format!("rotated-start-{}", random_alnum(20));
    env.set(reference, &current);
    let mut previous: Option<String> = None;
    let mut killer = Killer::new(Duration::from_millis(150));
    for round in 0..100 {
        let value = format!("rotated-{round}-{:016x}", killer.rng.next());
        env.secret(&value);
        let done = killer.run(
            &env,
            &["rotate", reference, "--stdin", "--no-verify"],
            Some(&value),
        );
        assert_seed(&env);
        let now = lookup(&env, reference, false).expect("the rotated field is never lost");
        let prev = lookup(&env, reference, true);
        if now == value {
            if !done {
                killer.killed_after_write();
            }
            assert_eq!(
                prev.as_ref(),
                Some(&current),
                "round {round}: previous slot"
            );
            previous = Some(std::mem::replace(&mut current, value));
        } else {
            assert!(
                !done,
                "round {round}: rotate completed, the new value is not current"
            );
            assert_eq!(now, current, "round {round}: an older value came back");
            assert_eq!(prev, previous, "round {round}: previous slot changed");
        }
    }
    killer.assert_both("rotate", 20);
    // The previous slot works as rollback does.
    let out = env.run(&["rotate", reference, "--rollback"]);
    assert_ok(&out);
    assert_eq!(Some(env.get(reference)), previous);
    assert_eq!(lookup(&env, reference, true), Some(current));
    kill::assert_index_matches_vault(&env);
}

/// Checks that the dotenv `file`, written as `text`, is whole — each line as it was or, for a
/// token, replaced by a `tv://` reference that reads the token back, and either no token or every
/// token replaced — and returns how many were replaced. `tokens`: (variable, item, value).
fn references_in(
    env: &Env,
    round: usize,
    file: &std::path::Path,
    text: &str,
    tokens: &[(&str, &str, String)],
) -> usize {
    let now = std::fs::read_to_string(file).unwrap();
    let (old_lines, new_lines): (Vec<&str>, Vec<&str>) =
        (text.lines().collect(), now.lines().collect());
    assert_eq!(old_lines.len(), new_lines.len(), "round {round}: {now}");
    let mut replaced = 0;
    for (old, new) in old_lines.iter().zip(&new_lines) {
        if old == new {
            continue;
        }
        let (var, _, value) = tokens
            .iter()
            .find(|(var, _, _)| old.contains(&format!("{var}=")))
            .unwrap_or_else(|| panic!("round {round}: a line that is no token changed"));
        let reference = new
            .split_once(&format!("{var}="))
            .and_then(|(_, r)| r.split_whitespace().next())
            .filter(|r| r.starts_with("tv://"))
            .unwrap_or_else(|| panic!("round {round}: {var} is neither value nor reference"));
        assert_eq!(
            lookup(env, reference, false).as_ref(),
            Some(value),
            "round {round}: {var} was replaced by a reference that does not read it back"
        );
        replaced += 1;
    }
    assert!(
        replaced == 0 || replaced == tokens.len(),
        "round {round}: the file was rewritten in part"
    );
    replaced
}

/// `import dotenv FILE --rewrite` (every other round with `--shred`, no plaintext backup): the
/// file is whole — each line the original or its `tv://` reference, and every reference reads back
/// the value it replaced — and a completed import's values read back. A killed import, run again,
/// completes. Each round imports new values; the items are removed before the next.
#[test]
fn import_killed_at_random_points_loses_no_value_and_leaves_the_file_whole() {
    let env = Env::new();
    env.set("seed/token", SEED);
    let file = env.path("app.env");
    let file_s = file.display().to_string();
    let mut killer = Killer::new(Duration::from_millis(150));
    for round in 0..100 {
        // (variable, item, value)
        let tokens = [
            ("HF_TOKEN", "huggingface", hf_token()),
            (
                "GITHUB_TOKEN",
                "github",
                format!("ghp_{}", random_alnum(36)),
            ),
            (
                "OPENAI_API_KEY",
                "openai",
                format!("sk-proj-{}T3BlbkFJ{}", random_alnum(40), random_alnum(40)),
            ),
        ];
        for (_, _, v) in &tokens {
            env.secret(v);
        }
        let text = format!(
            "# round {round}\nHF_TOKEN={}\nGITHUB_TOKEN=\"{}\"\nDEBUG=1\n\nexport OPENAI_API_KEY='{}'  # main\n",
            tokens[0].2, tokens[1].2, tokens[2].2
        );
        env.fixture(&file, &text);
        set_mode(&file, 0o640);
        let mut args: Vec<&str> = vec!["import", "dotenv", &file_s, "--rewrite", "--no-verify"];
        if round % 2 == 1 {
            args.push("--shred");
        }
        let done = killer.run(&env, &args, None);
        assert_seed(&env);
        // A rewritten file's references all read back (`references_in`); otherwise each token
        // is stored as it was, or (killed early) not at all.
        let replaced = references_in(&env, round, &file, &text, &tokens);
        assert!(
            !done || replaced > 0,
            "round {round}: completed, not rewritten"
        );
        if !done {
            let mut stored = replaced;
            if replaced == 0 {
                for (var, item, value) in &tokens {
                    if let Some(v) = lookup(&env, item, false) {
                        assert_eq!(&v, value, "round {round}: {var}");
                        stored += 1;
                    }
                }
            }
            if stored > 0 {
                killer.killed_after_write();
            }
            // Importing again finishes the job: what the killed run stored is recognised, the
            // rest is stored, and the file is rewritten.
            assert_ok(&env.run(&args));
            let replaced = references_in(&env, round, &file, &text, &tokens);
            assert_eq!(replaced, tokens.len(), "round {round}: not rewritten");
            assert_eq!(mode(&file), 0o640, "round {round}: the file lost its mode");
        }
        for (_, item, _) in &tokens {
            let out = env.run(&["rm", item, "--yes"]);
            assert!(
                out.status.success() || stderr(&out).contains("is not stored"),
                "{}",
                stderr(&out)
            );
        }
    }
    killer.assert_both("import", 20);
    kill::assert_index_matches_vault(&env);
}

/// Checks that the config text `now` is `original` secured — valid JSON, the other settings
/// unchanged, no token left, each server getting its token from a `tv://` reference that reads it
/// back — and returns the (reference, token) pairs. `tokens`: (server, variable, value).
fn secured_references(
    env: &Env,
    round: usize,
    now: &str,
    original: &serde_json::Value,
    tokens: &[(String, &str, String)],
) -> Vec<(String, String)> {
    let doc: serde_json::Value = serde_json::from_str(now).unwrap();
    assert_eq!(doc["globalShortcut"], "Ctrl+Space", "round {round}");
    assert_eq!(
        doc["mcpServers"]["filesystem"], original["mcpServers"]["filesystem"],
        "round {round}"
    );
    let mut pairs = Vec::new();
    for (server, var, value) in tokens {
        assert!(
            !now.contains(value.as_str()),
            "round {round}: {server}'s token is still in the secured config"
        );
        let entry = &doc["mcpServers"][server];
        let reference = entry["args"]
            .as_array()
            .unwrap_or_else(|| panic!("round {round}: {server}: {entry}"))
            .iter()
            .filter_map(|a| a.as_str())
            .find_map(|a| a.strip_prefix(&format!("{var}=")))
            .filter(|r| r.starts_with("tv://"))
            .unwrap_or_else(|| panic!("round {round}: {server} has no {var}=tv://…: {entry}"));
        assert_eq!(
            lookup(env, reference, false).as_ref(),
            Some(value),
            "round {round}: {server}'s token is lost"
        );
        pairs.push((reference.to_owned(), value.clone()));
    }
    pairs
}

/// `mcp secure` on a Claude Desktop config with plaintext tokens: the config is always valid JSON
/// and either the original or the secured version, and every token it no longer holds reads back
/// from the vault. A killed run, run again, completes. Each round puts the plaintext back with
/// fresh tokens and new server names (so the vault keeps every round's values, and they are all
/// checked again at the end).
#[test]
fn mcp_secure_killed_at_random_points_loses_no_token() {
    let env = Env::new();
    env.set("seed/token", SEED);
    let config = ".config/Claude/claude_desktop_config.json";
    let path = env.path(config);
    let mut killer = Killer::new(Duration::from_millis(150));
    // Every (reference, value) a secured config named.
    let mut secured: Vec<(String, String)> = Vec::new();
    for round in 0..100 {
        // (server, variable, value)
        let tokens = [
            (format!("hf-{round}"), "HF_TOKEN", hf_token()),
            (
                format!("github-{round}"),
                "GITHUB_PERSONAL_ACCESS_TOKEN",
                format!("ghp_{}", random_alnum(36)),
            ),
            (
                format!("brave-{round}"),
                "BRAVE_API_KEY",
                format!("BSA{}", random_alnum(27)),
            ),
        ];
        for (_, _, v) in &tokens {
            env.secret(v);
        }
        let original = serde_json::json!({
            "mcpServers": {
                tokens[0].0.clone(): {
                    "command": "npx",
                    "args": ["-y", "@llmindset/hf-mcp-server"],
                    "env": {"HF_TOKEN": tokens[0].2, "TRANSPORT": "stdio"}
                },
                tokens[1].0.clone(): {
                    "command": "docker",
                    "args": ["run", "-i", "--rm", "-e",
                        format!("GITHUB_PERSONAL_ACCESS_TOKEN={}", tokens[1].2),
                        "ghcr.io/github/github-mcp-server"]
                },
                tokens[2].0.clone(): {
                    "command": "npx",
                    "args": ["-y", "@modelcontextprotocol/server-brave-search"],
                    "env": {"BRAVE_API_KEY": tokens[2].2}
                },
                "filesystem": {
                    "command": "npx",
                    "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]
                }
            },
            "globalShortcut": "Ctrl+Space"
        });
        let text = serde_json::to_string_pretty(&original).unwrap() + "\n";
        env.fixture(config, &text);
        set_mode(&path, 0o644);
        let done = killer.run(&env, &["mcp", "secure"], None);
        assert_seed(&env);
        let mut now = std::fs::read_to_string(&path).unwrap();
        if let Err(e) = serde_json::from_str::<serde_json::Value>(&now) {
            panic!("round {round}: the config is not JSON: {e}");
        }
        assert_eq!(
            mode(&path),
            0o644,
            "round {round}: the config lost its mode"
        );
        if now == text {
            assert!(!done, "round {round}: completed, the config is unchanged");
            // Securing again finishes the job, with what the killed run stored already there.
            let out = env.run(&["mcp", "secure"]);
            assert_ok(&out);
            if stdout(&out).contains("(already in the vault)") {
                killer.killed_after_write();
            }
            now = std::fs::read_to_string(&path).unwrap();
        } else if !done {
            killer.killed_after_write();
        }
        secured.extend(secured_references(&env, round, &now, &original, &tokens));
    }
    killer.assert_both("mcp secure", 20);
    // Every round's tokens are still there, read in one `export`.
    let pairs: Vec<String> = secured
        .iter()
        .enumerate()
        .map(|(i, (reference, _))| format!("V{i}={reference}"))
        .collect();
    let mut args = vec!["export", "--format", "json"];
    for p in &pairs {
        args.extend(["-e", p]);
    }
    let out = env.run(&args);
    assert_ok(&out);
    let exported: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    for (i, (reference, value)) in secured.iter().enumerate() {
        assert_eq!(exported[format!("V{i}")], *value, "{reference}");
    }
    kill::assert_index_matches_vault(&env);
}

/// `passwd --stdin`: after every kill the vault opens with the old passphrase or the new one (a
/// completed change: the new one only), and every value reads back.
#[test]
fn passwd_killed_at_random_points_leaves_the_vault_open_with_one_passphrase() {
    let env = Env::new();
    env.set("seed/token", SEED);
    let values: Vec<(String, String)> = (0..3)
        .map(|i| (format!("item{i}/token"), hf_token()))
        .collect();
    for (r, v) in &values {
        env.set(r, v);
    }
    let use_passphrase = |pass: &str| std::fs::write(&env.pass_file, format!("{pass}\n")).unwrap();
    let mut current = PASSPHRASE.to_owned();
    let mut killer = Killer::new(Duration::from_millis(150));
    for round in 0..100 {
        let new = format!("kill test passphrase {round} {:016x}", killer.rng.next());
        env.secret(&new);
        let done = killer.run(&env, &["passwd", "--stdin"], Some(&format!("{new}\n")));
        let out = env.run(&["get", "seed/token"]);
        if out.status.success() {
            assert_eq!(stdout(&out).trim_end(), SEED);
            assert!(
                !done,
                "round {round}: passwd completed, the old passphrase still opens"
            );
        } else {
            assert!(
                stderr(&out).contains("wrong passphrase"),
                "round {round}: {}",
                stderr(&out)
            );
            use_passphrase(&new);
            current = new;
            if !done {
                killer.killed_after_write();
            }
            assert_seed(&env);
        }
        for (r, v) in &values {
            assert_eq!(&env.get(r), v, "round {round}: {r}");
        }
    }
    killer.assert_both("passwd", 20);
    assert_ne!(current, PASSPHRASE);
    kill::assert_index_matches_vault(&env);
}
