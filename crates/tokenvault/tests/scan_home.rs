//! `tokenvault scan --home` end to end, through the real binary and a fake home (`HOME` is the
//! test's directory): a token of every provider planted in every kind of place the catalogue
//! names (bash, zsh and fish histories, REPL history, rc files, the eight MCP clients' logs, Claude
//! Code, Cursor, Codex and Gemini transcripts, a notebook's output, each credential file, a crontab
//! through a stand-in `crontab` program), each found with its place named; decoys outside the
//! catalogue never reported; vault values of no known format found raw, base64- and URL-encoded;
//! `--fix` redacting history, log and transcript lines byte-exactly with the file's mode kept,
//! leaving credential files to their helper steps and printing rotation advice with the revoke
//! page; JSON and SARIF output; doctor's count; and no value printed anywhere (the shared leak
//! check runs on every command).

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use tokenvault_core::Catalogue;

/// One scannable line per provider: (provider id, the value, a line that names it).
fn provider_lines() -> Vec<(String, String, String)> {
    let cat = Catalogue::builtin();
    let mut out = Vec::new();
    for p in cat.providers() {
        let field = p.fields.iter().find(|f| {
            f.secret
                && !f.keywords.is_empty()
                && f.scan.regex.is_none()
                && !f.examples_match.is_empty()
        });
        if let Some(f) = field {
            let value = f.examples_match[0].clone();
            let var = f.env.first().cloned().unwrap_or_else(|| "TOKEN".into());
            out.push((p.id.clone(), value.clone(), format!("{var}={value}")));
        }
    }
    // A secret found only where it is named (a scan regex): the AWS secret access key.
    let aws_secret = "Kq7vTzN2pR9wXb4mYs8cLf3hJd6gAe1uQo5iWk0B".to_owned();
    out.push((
        "aws".into(),
        aws_secret.clone(),
        format!("aws_secret_access_key = {aws_secret}"),
    ));
    assert!(out.len() >= 8, "{out:?}");
    out
}

/// How a place's file wraps lines of text.
#[derive(Clone, Copy)]
enum Shape {
    Lines,
    Zsh,
    Fish,
    Export,
    JsonLines,
    JsonArray,
}

fn render(shape: Shape, lines: &[String]) -> String {
    let mut s = String::new();
    match shape {
        Shape::Lines => lines.iter().for_each(|l| s.push_str(&format!("{l}\n"))),
        Shape::Zsh => lines
            .iter()
            .for_each(|l| s.push_str(&format!(": 1764000000:0;export {l}\n"))),
        Shape::Fish => lines.iter().for_each(|l| {
            s.push_str(&format!("- cmd: export {l}\n  when: 1764000000\n"))
        }),
        Shape::Export => {
            s.push_str("# my settings\nalias ll='ls -l'\n");
            lines.iter().for_each(|l| s.push_str(&format!("export {l}\n")));
        }
        Shape::JsonLines => lines.iter().for_each(|l| {
            s.push_str(&format!(
                "{}\n",
                serde_json::json!({"type": "user", "message": {"role": "user", "content": format!("use {l} please")}})
            ))
        }),
        Shape::JsonArray => {
            s.push_str("{\n \"cells\": [{\"cell_type\": \"code\", \"outputs\": [{\"name\": \"stdout\", \"text\": [\n");
            let n = lines.len();
            for (i, l) in lines.iter().enumerate() {
                s.push_str(&format!("  \"{l}\\n\"{}\n", if i + 1 < n { "," } else { "" }));
            }
            s.push_str(" ]}]}]\n}\n");
        }
    }
    s
}

/// Every file place the test plants (path under the home, the place id, its shape).
const PLACES: &[(&str, &str, Shape)] = &[
    (".bash_history", "bash-history", Shape::Lines),
    (".zsh_history", "zsh-history", Shape::Zsh),
    (
        ".local/share/fish/fish_history",
        "fish-history",
        Shape::Fish,
    ),
    (".python_history", "repl-history", Shape::Lines),
    (".bashrc", "shell-rc", Shape::Export),
    (".zshrc", "shell-rc", Shape::Export),
    (".config/fish/config.fish", "shell-rc", Shape::Lines),
    (
        ".config/Claude/logs/mcp-server-hub.log",
        "claude-desktop-logs",
        Shape::Lines,
    ),
    (
        ".cache/claude-cli-nodejs/-home-u-proj/mcp-logs-hub/2026-01-01T10-00-00.txt",
        "claude-code-logs",
        Shape::JsonLines,
    ),
    (
        ".config/Cursor/logs/20260101T100000/window1/exthost/anysphere.cursor-mcp/Cursor MCP.log",
        "cursor-logs",
        Shape::Lines,
    ),
    (
        ".config/Code/logs/20260101T100000/window1/mcpServer.hub.log",
        "vscode-logs",
        Shape::Lines,
    ),
    (
        ".config/Windsurf/logs/20260101T100000/main.log",
        "windsurf-logs",
        Shape::Lines,
    ),
    (
        ".gemini/tmp/0a1b2c/logs.json",
        "gemini-logs",
        Shape::JsonLines,
    ),
    (".codex/log/codex-tui.log", "codex-logs", Shape::Lines),
    (".local/share/zed/logs/Zed.log", "zed-logs", Shape::Lines),
    (
        ".claude/projects/-home-u-proj/5f0c.jsonl",
        "claude-code-transcripts",
        Shape::JsonLines,
    ),
    (
        ".cursor/projects/home-u-proj/agent-transcripts/7d1e.txt",
        "cursor-transcripts",
        Shape::Lines,
    ),
    (
        ".codex/sessions/2026/01/01/rollout-1.jsonl",
        "codex-transcripts",
        Shape::JsonLines,
    ),
    (
        ".gemini/tmp/0a1b2c/chats/session-1.json",
        "gemini-transcripts",
        Shape::JsonLines,
    ),
    ("work/analysis.ipynb", "notebooks", Shape::JsonArray),
    (".netrc", "netrc", Shape::Lines),
    (".git-credentials", "git-credentials", Shape::Lines),
    (".pypirc", "pypirc", Shape::Lines),
    (".npmrc", "npmrc", Shape::Lines),
    (".docker/config.json", "docker-config", Shape::JsonLines),
    (".aws/credentials", "aws-credentials", Shape::Lines),
    (
        ".cache/huggingface/token",
        "huggingface-token",
        Shape::Lines,
    ),
    (
        ".cache/huggingface/stored_tokens",
        "huggingface-token",
        Shape::Lines,
    ),
    (
        ".mcp-auth/mcp-remote-0.1.18/3f2a_tokens.json",
        "mcp-auth",
        Shape::JsonLines,
    ),
    (
        ".claude/.credentials.json",
        "claude-code-oauth",
        Shape::JsonLines,
    ),
    (
        ".gemini/mcp-oauth-tokens.json",
        "gemini-mcp-oauth",
        Shape::JsonLines,
    ),
    (
        ".codex/.credentials.json",
        "codex-mcp-oauth",
        Shape::JsonLines,
    ),
    (".ipfs_kit/config.json", "ipfs-kit", Shape::JsonLines),
    (".config/gh/hosts.yml", "gh-hosts", Shape::Lines),
];

/// Files outside the catalogue (or inside a directory a `**` does not enter) holding tokens.
const DECOYS: &[&str] = &[
    "notes.txt",
    "project/.env",
    "project/node_modules/pkg/demo.ipynb",
    ".config/Cursor/logs/20260101T100000/readme.txt",
    ".bash_history.bak",
];

/// A stand-in `crontab` on PATH: `crontab -l` prints the user's crontab (here, a file the test
/// writes); anything else fails.
fn fake_crontab(env: &mut Env, table: &str) {
    let dir = env.path("fakebin");
    std::fs::create_dir_all(&dir).unwrap();
    let data = env.fixture("cron/table", table);
    let script = dir.join("crontab");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n[ \"$1\" = \"-l\" ] || exit 2\nexec cat '{}'\n",
            data.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.vars.push((
        "PATH".into(),
        format!(
            "{}:{}",
            dir.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    ));
}

fn json_findings(out: &std::process::Output) -> Vec<Value> {
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(out)))
        .as_array()
        .unwrap()
        .clone()
}

fn assert_nothing_printed(out: &std::process::Output, values: &[String]) {
    for v in values {
        assert_no_secret(out, v, "scan --home");
    }
}

#[test]
fn every_planted_token_is_found_with_its_place_and_nothing_outside_the_catalogue() {
    let mut env = Env::new();
    let lines = provider_lines();
    let values: Vec<String> = lines.iter().map(|(_, v, _)| v.clone()).collect();
    for v in &values {
        env.secret(v);
    }
    let texts: Vec<String> = lines.iter().map(|(_, _, l)| l.clone()).collect();
    for (rel, _, shape) in PLACES {
        env.fixture(rel, render(*shape, &texts));
    }
    for rel in DECOYS {
        env.fixture(rel, render(Shape::Lines, &texts));
    }
    fake_crontab(
        &mut env,
        &render(Shape::Lines, &texts).replace('\n', " /usr/bin/job\n"),
    );

    let out = env.run(&["scan", "--home", "--json", "--no-vault"]);
    assert_code(&out, 1);
    assert_nothing_printed(&out, &values);
    let found = json_findings(&out);

    // (shown path, place, provider) of every finding.
    let got: BTreeSet<(String, String, String)> = found
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["place"].as_str().unwrap().to_owned(),
                f["provider"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect();
    let providers: BTreeSet<&str> = lines.iter().map(|(p, _, _)| p.as_str()).collect();
    for (rel, place, _) in PLACES {
        for p in &providers {
            let want = (format!("~/{rel}"), place.to_string(), p.to_string());
            assert!(got.contains(&want), "missing {want:?}\n{}", stdout(&out));
        }
    }
    for p in &providers {
        let want = ("crontab -l".to_owned(), "crontab".to_owned(), p.to_string());
        assert!(got.contains(&want), "missing {want:?}");
    }
    // Nothing else: no decoy, no file the catalogue does not name.
    let planted: BTreeSet<String> = PLACES
        .iter()
        .map(|(rel, _, _)| format!("~/{rel}"))
        .chain(["crontab -l".to_owned()])
        .collect();
    for f in &found {
        let path = f["path"].as_str().unwrap();
        assert!(
            planted.contains(path),
            "reported outside the plants: {path}"
        );
        // Masked, and every finding says what its place is and how it is fixed.
        assert!(f["masked"].as_str().unwrap().contains('…'), "{f}");
        assert!(
            ["redact", "import-and-helper", "rotate-advice"].contains(&f["fix"].as_str().unwrap()),
            "{f}"
        );
        assert!(!f["place_name"].as_str().unwrap().is_empty());
        assert!(!f["advice"].as_array().unwrap().is_empty(), "{f}");
    }
    // Each kind of place is represented.
    let kinds: BTreeSet<&str> = found
        .iter()
        .map(|f| f["place_kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "client-log",
            "credential-file",
            "crontab",
            "history",
            "notebook",
            "rc-file",
            "transcript"
        ]
        .into_iter()
        .collect()
    );
    // The eight MCP clients' logs.
    let logs: BTreeSet<&str> = found
        .iter()
        .filter(|f| f["place_kind"] == "client-log")
        .map(|f| f["place"].as_str().unwrap())
        .collect();
    assert_eq!(logs.len(), 8, "{logs:?}");

    // Text: one masked line per finding with its place; no progress line off a terminal.
    let text = env.run(&["scan", "--home", "--no-vault"]);
    assert_code(&text, 1);
    assert_nothing_printed(&text, &values);
    let body = stdout(&text);
    assert_eq!(body.lines().count(), found.len());
    assert!(body.contains("~/.bash_history:1:"), "{body}");
    assert!(body.contains("[Bash history; fix: redact]"), "{body}");
    assert!(
        body.contains("[git credential store; fix: import-and-helper]"),
        "{body}"
    );
    let err = stderr(&text);
    assert!(!err.contains('\r'), "a progress line off a terminal: {err}");
    assert!(err.contains("credential.helper"), "{err}");
    assert!(
        err.contains("revoke the old one at https://huggingface.co/settings/tokens"),
        "{err}"
    );

    // SARIF: one result per finding, each pointing at its file.
    let sarif = env.run(&["scan", "--home", "--no-vault", "--format", "sarif"]);
    assert_code(&sarif, 1);
    let log: Value = serde_json::from_slice(&sarif.stdout).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), found.len());
    assert!(results.iter().any(
        |r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "~/.zsh_history"
    ));

    // Nothing was changed without --fix.
    for (rel, _, shape) in PLACES {
        assert_eq!(
            std::fs::read_to_string(env.path(rel)).unwrap(),
            render(*shape, &texts),
            "{rel}"
        );
    }
}

#[test]
fn vault_values_are_found_raw_base64_and_url_encoded() {
    let env = Env::new();
    // A value no provider rule knows.
    let value = env.secret("Zq8-internal.svc~token/with+chars");
    env.set("tv://billing/token", value);
    let b64 = base64_std(&format!("svc:{value}"));
    let url: String = value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    env.fixture(
        ".zsh_history",
        format!(": 1764000000:0;curl -H 'X-Key: {value}' x\n"),
    );
    env.fixture(
        ".config/Code/logs/20260101T100000/window1/mcpServer.b.log",
        format!("request Authorization: Basic {b64}\n"),
    );
    env.fixture(
        ".claude/projects/p/1.jsonl",
        format!("{{\"content\":\"https://api.example/x?key={url}\"}}\n"),
    );

    let out = env.run(&["scan", "--home", "--json"]);
    assert_code(&out, 1);
    assert_no_secret(&out, value, "scan --home");
    let found = json_findings(&out);
    let by_path = |p: &str| {
        found
            .iter()
            .find(|f| f["path"] == p)
            .unwrap_or_else(|| panic!("nothing in {p}: {found:?}"))
            .clone()
    };
    let raw = by_path("~/.zsh_history");
    assert_eq!(raw["reference"], "tv://billing/token");
    assert!(raw.get("encoding").is_none());
    let b = by_path("~/.config/Code/logs/20260101T100000/window1/mcpServer.b.log");
    assert_eq!(b["reference"], "tv://billing/token");
    assert_eq!(b["encoding"], "base64");
    let u = by_path("~/.claude/projects/p/1.jsonl");
    assert_eq!(u["encoding"], "url");
    assert_eq!(u["place"], "claude-code-transcripts");
    assert_eq!(found.len(), 3, "{found:?}");

    // Rules only: the value has no known format, so nothing is found.
    let rules_only = env.run(&["scan", "--home", "--json", "--no-vault"]);
    assert_ok(&rules_only);
    assert!(json_findings(&rules_only).is_empty());
}

fn base64_std(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn fix_redacts_histories_logs_and_transcripts_byte_exactly_and_leaves_credential_files() {
    let env = Env::new();
    let hf = hf_token();
    env.secret(&hf);
    let gh = env.secret("ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789");
    // CRLF lines, bytes that are not UTF-8, and two values on one line: all kept but the values.
    let mut history: Vec<u8> = b"ls -la\r\n\xC3\x28 odd bytes\r\n".to_vec();
    history
        .extend_from_slice(format!("export HF_TOKEN={hf}; export GH={gh}\r\ncd ~\r\n").as_bytes());
    let hist_path = env.fixture(".bash_history", &history);
    std::fs::set_permissions(&hist_path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let log =
        format!("2026-01-01 [error] server exited; env: {{\"HF_TOKEN\":\"{hf}\"}}\nnext line\n");
    let log_path = env.fixture(".config/Claude/logs/mcp-server-hub.log", &log);
    std::fs::set_permissions(&log_path, std::fs::Permissions::from_mode(0o604)).unwrap();
    let transcript = format!("{{\"role\":\"user\",\"content\":\"my token is {hf}\"}}\n");
    env.fixture(".claude/projects/p/2.jsonl", &transcript);
    let netrc = format!("machine huggingface.co login me password {hf}\n");
    env.fixture(".netrc", &netrc);
    // Cursor's chat database: binary, so never rewritten with a value of another length.
    let db = format!("SQLite format 3\0\0\x10\0{hf}\0tail").into_bytes();
    let db_path = env.fixture(".config/Cursor/User/globalStorage/state.vscdb", &db);

    let out = env.run(&["scan", "--home", "--fix", "--no-vault"]);
    // The transcript may have left the machine and the netrc is not fixed by redaction: 1.
    assert_code(&out, 1);
    assert_no_secret(&out, &hf, "scan --home --fix");
    assert_no_secret(&out, gh, "scan --home --fix");

    let redacted = "[redacted-by-tokenvault]";
    let mut want: Vec<u8> = b"ls -la\r\n\xC3\x28 odd bytes\r\n".to_vec();
    want.extend_from_slice(
        format!("export HF_TOKEN={redacted}; export GH={redacted}\r\ncd ~\r\n").as_bytes(),
    );
    assert_eq!(std::fs::read(&hist_path).unwrap(), want);
    assert_eq!(
        std::fs::metadata(&hist_path).unwrap().permissions().mode() & 0o7777,
        0o640
    );
    assert_eq!(
        std::fs::read_to_string(&log_path).unwrap(),
        log.replace(&hf, redacted)
    );
    assert_eq!(
        std::fs::metadata(&log_path).unwrap().permissions().mode() & 0o7777,
        0o604
    );
    assert_eq!(
        std::fs::read_to_string(env.path(".claude/projects/p/2.jsonl")).unwrap(),
        transcript.replace(&hf, redacted)
    );
    // A credential file is the tool's: left alone, with the steps that replace it.
    assert_eq!(std::fs::read_to_string(env.path(".netrc")).unwrap(), netrc);
    let err = stderr(&out);
    assert!(
        err.contains("redacted 2 values in ~/.bash_history"),
        "{err}"
    );
    assert!(
        err.contains("redacted 1 value in ~/.config/Claude/logs/mcp-server-hub.log"),
        "{err}"
    );
    assert!(
        err.contains("restart") || err.contains("start new ones"),
        "{err}"
    );
    assert!(
        err.contains("hint: netrc: store it in the vault: tokenvault set huggingface; point curl, git, pip at tokenvault"),
        "{err}"
    );
    assert!(
        err.contains("rotate the token (tokenvault rotate huggingface) and revoke the old one at https://huggingface.co/settings/tokens"),
        "{err}"
    );

    assert_eq!(std::fs::read(&db_path).unwrap(), db);
    assert!(
        err.contains("state.vscdb is a binary file: it is not redacted in place"),
        "{err}"
    );

    // What is left: the netrc and the database.
    let again = env.run(&["scan", "--home", "--json", "--no-vault"]);
    assert_code(&again, 1);
    let left: BTreeSet<String> = json_findings(&again)
        .iter()
        .map(|f| f["place"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        left,
        ["cursor-transcripts", "netrc"]
            .map(String::from)
            .into_iter()
            .collect()
    );
}

#[test]
fn doctor_counts_home_copies_and_points_at_scan_home() {
    let env = Env::new();
    let hf = hf_token();
    env.secret(&hf);
    env.fixture(".bash_history", format!("export HF_TOKEN={hf}\n"));
    env.fixture(".codex/log/codex-tui.log", format!("env HF_TOKEN={hf}\n"));
    let out = env.run(&["doctor", "--json"]);
    assert_no_secret(&out, &hf, "doctor");
    let checks: Value = serde_json::from_slice(&out.stdout).unwrap();
    let home = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "home copies")
        .unwrap_or_else(|| panic!("{checks}"));
    assert_eq!(home["status"], "problem");
    let detail = home["detail"].as_str().unwrap();
    assert!(detail.starts_with("2 plaintext copies"), "{detail}");
    assert!(
        detail.contains("1 in history") && detail.contains("1 in client-log"),
        "{detail}"
    );
    assert!(home["hint"]
        .as_str()
        .unwrap()
        .contains("tokenvault scan --home"));

    let clean = Env::new();
    let out = clean.run(&["doctor", "--json"]);
    let checks: Value = serde_json::from_slice(&out.stdout).unwrap();
    let home = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "home copies")
        .unwrap()
        .clone();
    assert_eq!(home["status"], "ok");
}

#[test]
fn the_git_helper_the_catalogue_prescribes_answers_with_the_vault_token() {
    let env = Env::new();
    let hf = hf_token();
    env.set("huggingface", &hf);
    let places = tokenvault_core::places::Places::builtin();
    let helper = places
        .get("git-credentials")
        .unwrap()
        .helper
        .clone()
        .unwrap();
    // The catalogue's exact command, with tokenvault found on PATH as a user's would be.
    let value = helper
        .split('\'')
        .nth(1)
        .unwrap_or_else(|| panic!("no quoted helper in {helper}"));
    assert_eq!(value, "!tokenvault git-credential");
    let bindir = std::path::Path::new(bin()).parent().unwrap().to_owned();
    let path = format!(
        "{}:{}",
        bindir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let gitconfig = env.path("gitconfig");
    let git = |args: &[&str], input: &str| {
        let base = env.cmd();
        let mut c = std::process::Command::new("git");
        c.env_clear();
        for (k, v) in base.get_envs() {
            if let Some(v) = v {
                c.env(k, v);
            }
        }
        c.env("PATH", &path)
            .env("GIT_CONFIG_GLOBAL", &gitconfig)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            .current_dir(env.dir.path())
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let out = git(&["config", "--global", "credential.helper", value], "");
    assert_ok(&env.check(&["git", "config"], out));
    let out = git(
        &["credential", "fill"],
        "protocol=https\nhost=huggingface.co\npath=me/model\n\n",
    );
    let out = env.check(&["git-credential", "get"], out);
    assert_ok(&out);
    let answer = stdout(&out);
    assert!(
        answer.lines().any(|l| l == format!("password={hf}")),
        "git did not get the vault's token"
    );
}

#[test]
fn fix_moves_git_credentials_into_the_vault_and_real_git_gets_them_through_the_helper() {
    let env = Env::new();
    let hf = hf_token();
    env.secret(&hf);
    let other = env.secret("pw-of-another-host-1234");
    // A user who has git's `store` helper: it stays for hosts tokenvault does not answer.
    std::fs::write(env.path(".gitconfig"), "[credential]\n\thelper = store\n").unwrap();
    let creds = env.fixture(
        ".git-credentials",
        format!("https://me:{hf}@huggingface.co\nhttps://bob:{other}@example.com\n"),
    );
    std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();

    // git runs `tokenvault git-credential` as its own child, which gets no passphrase from us:
    // the vault must be unlocked (or a keychain), as for any use of the helper.
    env.set("placeholder", "not-a-token-value");
    assert_ok(&env.run(&["unlock"]));
    let out = env.run(&["scan", "--home", "--fix", "--no-vault"]);
    assert_ok(&out);
    let err = stderr(&out);
    assert!(
        err.contains(
            "huggingface.co: the token is in tv://huggingface/token, git asks tokenvault for it"
        ),
        "{err}"
    );
    // Only the moved line is gone; the file keeps its mode.
    assert_eq!(
        std::fs::read_to_string(&creds).unwrap(),
        format!("https://bob:{other}@example.com\n")
    );
    assert_eq!(
        std::fs::metadata(&creds).unwrap().permissions().mode() & 0o7777,
        0o600
    );
    assert_eq!(env.get("huggingface"), hf);
    let config = std::fs::read_to_string(env.path(".gitconfig")).unwrap();
    assert!(
        config.contains("[credential \"https://huggingface.co\"]"),
        "{config}"
    );
    assert!(config.contains("helper = store"), "{config}");

    // Real git, with the user's whole config (store first), now gets the token from the vault.
    let base = env.cmd();
    let mut c = std::process::Command::new("git");
    c.env_clear();
    for (k, v) in base.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    c.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .current_dir(env.dir.path())
        .args(["credential", "fill"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    std::io::Write::write_all(
        &mut child.stdin.take().unwrap(),
        b"protocol=https\nhost=huggingface.co\npath=me/model\n\n",
    )
    .unwrap();
    let out = env.check(
        &["git-credential", "get"],
        child.wait_with_output().unwrap(),
    );
    assert_ok(&out);
    assert!(
        stdout(&out).lines().any(|l| l == format!("password={hf}")),
        "git did not get the vault's token"
    );

    // A second run finds only the host tokenvault does not answer for.
    let again = env.run(&["scan", "--home", "--json", "--no-vault"]);
    let left = json_findings(&again);
    assert!(
        left.iter().all(|f| f["provider"] != "huggingface"),
        "{left:?}"
    );
    assert_ok(&env.run(&["lock"]));
}

#[test]
fn fix_puts_aws_profiles_behind_credential_process_and_botocore_reads_the_vault_keys() {
    let env = Env::new();
    let key_id = env.secret("AKIAZ3MHYBQ7RTX2WK5N");
    let secret = env.secret("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");
    let creds_text = format!(
        "# work laptop\n[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\nregion = eu-west-1\n\n[temp]\naws_access_key_id = ASIAZ3MHYBQ7RTX2WK5N\naws_secret_access_key = Zq7vTzN2pR9wXb4mYs8cLf3hJd6gAe1uQo5iWk0C\naws_session_token = x\n"
    );
    env.secret("ASIAZ3MHYBQ7RTX2WK5N");
    env.secret("Zq7vTzN2pR9wXb4mYs8cLf3hJd6gAe1uQo5iWk0C");
    let creds = env.fixture(".aws/credentials", &creds_text);
    std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
    env.set("placeholder", "not-a-token-value");
    assert_ok(&env.run(&["unlock"]));

    let out = env.run(&["scan", "--home", "--fix", "--no-vault"]);
    let err = stderr(&out);
    assert!(
        err.contains("AWS profile [default]: the keys are in tv://aws"),
        "{err}"
    );
    assert!(err.contains("profile [temp] left as it is"), "{err}");
    assert_eq!(env.get("tv://aws/access_key_id"), key_id);
    let after = std::fs::read_to_string(&creds).unwrap();
    assert!(
        !after.contains(key_id) && !after.contains(secret),
        "keys left in the file"
    );
    // Every other line kept, in place.
    let lines: Vec<&str> = after.lines().collect();
    assert_eq!(lines[0], "# work laptop");
    assert_eq!(lines[1], "[default]");
    assert!(lines[2].starts_with("credential_process = '"), "{after}");
    assert_eq!(lines[3], "region = eu-west-1");
    assert!(after.ends_with("aws_session_token = x\n"));
    assert_eq!(
        std::fs::metadata(&creds).unwrap().permissions().mode() & 0o7777,
        0o600
    );

    // botocore (the AWS CLI's library) resolves the default profile through the process.
    let script = "import hashlib, sys, botocore.session\n\
        c = botocore.session.get_session().get_credentials()\n\
        f = c.get_frozen_credentials()\n\
        h = lambda s: hashlib.sha256(s.encode()).hexdigest()\n\
        print(c.method, 'match' if (h(f.access_key), h(f.secret_key)) == (sys.argv[1], sys.argv[2]) else 'mismatch')\n";
    let base = env.cmd();
    let mut c = std::process::Command::new("python3");
    c.env_clear();
    for (k, v) in base.get_envs() {
        if let Some(v) = v {
            if k != "TOKENVAULT_PASSPHRASE_FILE" {
                c.env(k, v);
            }
        }
    }
    c.env("AWS_CONFIG_FILE", env.path(".aws/config"))
        .current_dir(env.dir.path())
        .args(["-c", script, &sha256_hex(key_id), &sha256_hex(secret)])
        .stdin(std::process::Stdio::null());
    let out = env.output(&mut c);
    assert_ok(&out);
    assert_eq!(stdout(&out).trim(), "custom-process match");
    assert_ok(&env.run(&["lock"]));
}

/// Runs `program` with the test's environment (as `env.cmd()` would run tokenvault), `input` on
/// its standard input.
fn run_with_env(
    env: &Env,
    program: &std::path::Path,
    args: &[&str],
    input: &str,
) -> std::process::Output {
    let base = env.cmd();
    let mut c = std::process::Command::new(program);
    c.env_clear();
    for (k, v) in base.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    c.current_dir(env.dir.path())
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn fix_moves_docker_logins_behind_the_tokenvault_credential_helper() {
    let env = Env::new();
    let gh = env.secret("ghp_dOcKeRlOgIn0123456789aBcDeFgHiJkLmNo");
    env.set("github", gh);
    assert_ok(&env.run(&["unlock"]));
    let auth = common::leak::base64(format!("me:{gh}").as_bytes());
    env.secret(&auth);
    let config = env.fixture(
        ".docker/config.json",
        format!(
            "{{\n  \"auths\": {{\n    \"ghcr.io\": {{\n      \"auth\": \"{auth}\"\n    }}\n  }},\n  \"detachKeys\": \"ctrl-x\"\n}}\n"
        ),
    );
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();

    let out = env.run(&["scan", "--home", "--fix"]);
    assert_ok(&out);
    assert_has(
        &stderr(&out),
        "ghcr.io: the login is in tv://docker-ghcr.io",
    );
    // Docker's documented format: credsStore names the helper, the auth is gone, the rest stays.
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    assert_eq!(doc["credsStore"], "tokenvault");
    assert!(doc["auths"]["ghcr.io"].get("auth").is_none(), "{doc}");
    assert_eq!(doc["detachKeys"], "ctrl-x");
    assert_eq!(
        std::fs::metadata(&config).unwrap().permissions().mode() & 0o7777,
        0o600
    );

    // Docker runs `docker-credential-<credsStore> get` with the server on stdin.
    let helper = env.path(".local/bin/docker-credential-tokenvault");
    let out = run_with_env(&env, &helper, &["get"], "ghcr.io\n");
    let out = env.check(&["docker-credential", "get"], out);
    assert_ok(&out);
    let answer: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(answer["ServerURL"], "ghcr.io");
    assert_eq!(answer["Username"], "me");
    assert!(
        answer["Secret"] == gh,
        "the helper did not give Docker the vault's login"
    );
}

#[test]
fn the_docker_helper_stores_lists_erases_and_says_not_found_as_docker_expects() {
    let env = Env::new();
    let secret = env.secret("glpat-RegistryBot0123456789abcdef");
    let stored = format!(
        "{{\"ServerURL\":\"https://registry.example.com:5000\",\"Username\":\"bot\",\"Secret\":\"{secret}\"}}"
    );
    assert_ok(&env.run_stdin(&["docker-credential", "store"], Some(&stored)));
    let out = env.run(&["docker-credential", "list"]);
    assert_ok(&out);
    let list: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(list["https://registry.example.com:5000"], "bot");
    let out = env.run_stdin(
        &["docker-credential", "get"],
        Some("https://registry.example.com:5000"),
    );
    assert_ok(&out);
    let answer: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(answer["Secret"] == secret);
    assert_ok(&env.run_stdin(
        &["docker-credential", "erase"],
        Some("https://registry.example.com:5000"),
    ));
    let out = env.run_stdin(
        &["docker-credential", "get"],
        Some("https://registry.example.com:5000"),
    );
    assert_code(&out, 1);
    assert_eq!(
        stdout(&out).trim(),
        "credentials not found in native keychain"
    );
    // A malformed store request is refused without repeating it.
    let out = env.run_stdin(
        &["docker-credential", "store"],
        Some(&format!("{{\"Secret\":\"{secret}\"")),
    );
    assert_code(&out, 2);
    let audit = env.run(&["audit", "--json"]);
    assert_has(&stdout(&audit), "docker-credential");
}

/// The records `tokenvault audit --json` lists with `action`.
fn audit_records(env: &Env, action: &str) -> Vec<Value> {
    let out = env.run(&["audit", "--json"]);
    assert_ok(&out);
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == action)
        .cloned()
        .collect()
}

/// A command run with the test's environment (as `env.cmd()` runs tokenvault), PATH first
/// extended with `path_first`.
fn tool(env: &Env, program: &str, path_first: &[std::path::PathBuf]) -> std::process::Command {
    let base = env.cmd();
    let mut c = std::process::Command::new(program);
    c.env_clear();
    for (k, v) in base.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    let mut path: Vec<std::path::PathBuf> = path_first.to_vec();
    path.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    c.env("PATH", std::env::join_paths(path).unwrap())
        .current_dir(env.dir.path())
        .stdin(std::process::Stdio::null());
    c
}

#[test]
fn fix_moves_netrc_entries_keeps_the_rest_byte_exact_and_git_gets_the_token_through_the_helper() {
    let env = Env::new();
    let hf = hf_token();
    env.secret(&hf);
    let other = env.secret("api-password-Zx81Qw0pLm3n");
    let netrc = env.fixture(
        ".netrc",
        format!(
            "# mine\nmachine huggingface.co login me password {hf}\nmachine api.example.com\n  login bob\n  password {other}\n\ndefault login anonymous password guest@\nmacdef init\ncd /pub\n\n"
        ),
    );
    std::fs::set_permissions(&netrc, std::fs::Permissions::from_mode(0o600)).unwrap();
    let before_len = std::fs::metadata(&netrc).unwrap().len();
    // A second name for the file's inode: what the old copy's blocks hold after the fix.
    let old_inode = env.path("netrc-old-inode");
    std::fs::hard_link(&netrc, &old_inode).unwrap();
    env.set("placeholder", "not-a-token-value");
    assert_ok(&env.run(&["unlock"]));

    let out = env.run(&["scan", "--home", "--fix", "--no-vault"]);
    assert_ok(&out);
    // The removed copy was overwritten, not only unlinked.
    let old = std::fs::read(&old_inode).unwrap();
    assert_eq!(old.len() as u64, before_len);
    assert!(
        old.iter().all(|b| *b == 0),
        "the old .netrc was not overwritten"
    );
    let err = stderr(&out);
    assert_has(
        &err,
        "huggingface.co: the token is in tv://huggingface/token, git asks tokenvault for it",
    );
    assert_has(
        &err,
        "api.example.com: the password is in tv://netrc-api.example.com/password",
    );
    // Both entries gone; the comment, the default entry and the macro kept byte for byte.
    assert_eq!(
        std::fs::read_to_string(&netrc).unwrap(),
        "# mine\ndefault login anonymous password guest@\nmacdef init\ncd /pub\n\n"
    );
    assert_eq!(
        std::fs::metadata(&netrc).unwrap().permissions().mode() & 0o7777,
        0o600
    );
    assert_eq!(env.get("huggingface"), hf);
    assert_eq!(env.get("tv://netrc-api.example.com/password"), other);

    // Real git (no netrc any more) gets the token through tokenvault's helper.
    let mut c = tool(&env, "git", &[]);
    c.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .args(["credential", "fill"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    std::io::Write::write_all(
        &mut child.stdin.take().unwrap(),
        b"protocol=https\nhost=huggingface.co\n\n",
    )
    .unwrap();
    let got = env.check(
        &["git-credential", "get"],
        child.wait_with_output().unwrap(),
    );
    assert!(
        stdout(&got).lines().any(|l| l == format!("password={hf}")),
        "git did not get the vault's token"
    );

    // Audited: the references, where they came from, never a value.
    let recs = audit_records(&env, "home-import");
    assert_eq!(recs.len(), 1, "{recs:?}");
    let refs: Vec<&str> = recs[0]["references"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(
        refs,
        [
            "tv://huggingface/token",
            "tv://netrc-api.example.com/password"
        ]
    );
    assert_eq!(recs[0]["outcome"], "moved into the vault from ~/.netrc");
    // Nothing left for a second scan.
    assert_ok(&env.run(&["scan", "--home", "--no-vault"]));
    assert_ok(&env.run(&["lock"]));
}

#[test]
fn fix_moves_pypirc_passwords_and_real_pip_gets_them_through_the_keyring_shim() {
    let env = Env::new();
    let pypi = env.secret("pypi-AgEIcHlwaS5vcmcCJGQ3ZjY5ZDRlLTk1");
    let private = env.secret("prIvAte-index-pass-7781");
    let index = common::standin::start(std::sync::Arc::new(move |seen| {
        let want = format!(
            "Basic {}",
            common::leak::base64(format!("__token__:{}", "prIvAte-index-pass-7781").as_bytes())
        );
        if seen.header("authorization") == Some(want.as_str()) {
            (
                200,
                vec![("Content-Type".into(), "text/html".into())],
                "<!DOCTYPE html><html><body></body></html>".into(),
            )
        } else {
            (
                401,
                vec![("WWW-Authenticate".into(), "Basic realm=\"idx\"".into())],
                "no".into(),
            )
        }
    }));
    let text = format!(
        "[distutils]\nindex-servers =\n    pypi\n    private\n\n[pypi]\nusername = __token__\npassword = {pypi}\n\n[private]\nrepository = {}/simple/\nusername = __token__\npassword = {private}\n",
        index.url
    );
    let pypirc = env.fixture(".pypirc", &text);
    std::fs::set_permissions(&pypirc, std::fs::Permissions::from_mode(0o600)).unwrap();
    env.set("placeholder", "not-a-token-value");
    assert_ok(&env.run(&["unlock"]));

    // The fix finds the file by the PyPI token's format; the private password goes with it.
    let out = env.run(&["scan", "--home", "--fix", "--no-vault"]);
    assert_ok(&out);
    let err = stderr(&out);
    assert_has(&err, "[pypi]: the password is in tv://pypi/password");
    assert_has(
        &err,
        "[private]: the password is in tv://pypi-private/password",
    );
    assert_eq!(
        std::fs::read_to_string(&pypirc).unwrap(),
        text.replace(&format!("password = {pypi}\n"), "")
            .replace(&format!("password = {private}\n"), "")
    );
    assert_eq!(env.get("tv://pypi/password"), pypi);

    // The shim answers as Python's `keyring` command does.
    let out = env.run(&[
        "keyring",
        "get",
        "https://upload.pypi.org/legacy/",
        "__token__",
    ]);
    assert_ok(&out);
    assert!(
        stdout(&out) == format!("{pypi}\n"),
        "keyring get answered wrong"
    );
    assert_code(
        &env.run(&[
            "keyring",
            "get",
            "https://upload.pypi.org/legacy/",
            "someone",
        ]),
        1,
    );

    // Real pip asks the index, is refused, runs `keyring get URL __token__` (the link the fix
    // made) and retries with the vault's password.
    let bin_dir = env.path(".local/bin");
    assert!(bin_dir.join("keyring").exists(), "no keyring link made");
    let pip =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-venv/bin/pip");
    let pip = if pip.exists() {
        pip.display().to_string()
    } else {
        "pip".to_owned()
    };
    let authed_url = index.url.replace("http://", "http://__token__@");
    let mut c = tool(&env, &pip, &[bin_dir]);
    c.env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_NO_INPUT", "1")
        .args([
            "download",
            "--no-deps",
            "--no-cache-dir",
            "--keyring-provider",
            "subprocess",
            "--index-url",
            &format!("{authed_url}/simple/"),
            "-d",
        ])
        .arg(env.path("dl"))
        .arg("tv-no-such-pkg");
    let out = env.output(&mut c);
    // No such package on the stand-in: pip fails, after an authenticated request.
    assert!(!out.status.success());
    let want = format!(
        "Basic {}",
        common::leak::base64(format!("__token__:{private}").as_bytes())
    );
    assert!(
        index
            .requests()
            .iter()
            .any(|r| r.header("authorization") == Some(want.as_str())),
        "pip never sent the vault's password: {}",
        stderr(&out)
    );
    let recs = audit_records(&env, "keyring");
    assert!(
        recs.iter()
            .any(|r| r["outcome"] == "ok" && r["references"][0] == "tv://pypi-private/password"),
        "{recs:?}"
    );
    assert_ok(&env.run(&["lock"]));
}

#[test]
fn fix_points_npmrc_at_a_variable_and_real_npm_authenticates_through_tokenvault_run() {
    if std::process::Command::new("npm")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("npm is not installed: skipped");
        return;
    }
    let env = Env::new();
    let token = env.secret("npm_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789");
    let registry = common::standin::start(std::sync::Arc::new(move |seen| {
        if seen.target.ends_with("/-/whoami")
            && seen.header("authorization")
                == Some("Bearer npm_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789")
        {
            (
                200,
                vec![("Content-Type".into(), "application/json".into())],
                "{\"username\":\"tv-tester\"}".into(),
            )
        } else {
            (401, vec![], "{\"error\":\"unauthorized\"}".into())
        }
    }));
    let host = registry.url.trim_start_matches("http://").to_owned();
    let text = format!(
        "registry={}/\n//{host}/:_authToken={token}\nsave-exact=true\n",
        registry.url
    );
    let npmrc = env.fixture(".npmrc", &text);
    env.set("placeholder", "not-a-token-value");
    assert_ok(&env.run(&["unlock"]));

    // The vault knows the token (as a value it holds): the scan finds it by value.
    env.set("npm-seed", token);
    let out = env.run(&["scan", "--home", "--fix"]);
    assert_ok(&out);
    let var = format!(
        "NPM_TOKEN_{}",
        host.replace(['.', ':'], "_").to_ascii_uppercase()
    );
    let item = format!("npm-{}", host.replace(':', "-"));
    assert_has(
        &stderr(&out),
        &format!("the token is in tv://{item}/token and ~/.npmrc reads it from ${{{var}}}"),
    );
    assert_eq!(
        std::fs::read_to_string(&npmrc).unwrap(),
        text.replace(token, &format!("${{{var}}}"))
    );

    // Real npm, through tokenvault run, sends the vault's token.
    let npm_env = [
        ("NPM_CONFIG_UPDATE_NOTIFIER", "false"),
        ("NPM_CONFIG_CACHE", "npm-cache"),
        ("NPM_CONFIG_LOGS_MAX", "0"),
    ];
    let mut c = env.cmd();
    for (k, v) in npm_env {
        c.env(k, v);
    }
    c.args([
        "run",
        "-e",
        &format!("{var}=tv://{item}/token"),
        "--",
        "npm",
        "whoami",
    ]);
    let out = env.output(&mut c);
    assert_ok(&out);
    assert_eq!(stdout(&out).trim(), "tv-tester");
    // Without the vault, npm has no token.
    let mut c = tool(&env, "npm", &[]);
    for (k, v) in npm_env {
        c.env(k, v);
    }
    c.arg("whoami");
    let out = env.output(&mut c);
    assert!(!out.status.success());
    assert_ok(&env.run(&["lock"]));
}

#[test]
fn fix_imports_the_hub_token_files_and_shreds_them() {
    let env = Env::new();
    let active = hf_token();
    let named = hf_token();
    env.secret(&active);
    env.secret(&named);
    let token = env.fixture(".cache/huggingface/token", &active);
    let stored = env.fixture(
        ".cache/huggingface/stored_tokens",
        format!("[work]\nhf_token = {active}\n\n[Read Only]\nhf_token = {named}\n"),
    );
    env.set("placeholder", "not-a-token-value");
    assert_ok(&env.run(&["unlock"]));

    let out = env.run(&["scan", "--home", "--fix", "--no-vault"]);
    assert_ok(&out);
    let err = stderr(&out);
    assert_has(
        &err,
        "~/.cache/huggingface/token was overwritten and removed",
    );
    assert_has(
        &err,
        "~/.cache/huggingface/stored_tokens was overwritten and removed",
    );
    assert!(!token.exists() && !stored.exists());
    assert_eq!(env.get("huggingface"), active);
    assert_eq!(env.get("huggingface-read-only"), named);
    let recs = audit_records(&env, "home-import");
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(
        recs[0]["outcome"],
        "moved into the vault from the Hub's token files"
    );
    assert_ok(&env.run(&["lock"]));
}

#[test]
fn fix_redacts_notebook_outputs_as_json_byte_exactly_and_advises_rotation() {
    let env = Env::new();
    let hf = hf_token();
    env.secret(&hf);
    // nbformat's layout (one-space indent), a unicode escape, a token in an output and in a
    // cell's source, and an escaped quote next to one.
    let nb = format!(
        "{{\n \"cells\": [\n  {{\n   \"cell_type\": \"code\",\n   \"metadata\": {{}},\n   \"outputs\": [\n    {{\n     \"name\": \"stdout\",\n     \"output_type\": \"stream\",\n     \"text\": [\n      \"caf\\u00e9 token={hf}\\n\"\n     ]\n    }}\n   ],\n   \"source\": [\n    \"login(\\\"{hf}\\\")\"\n   ]\n  }}\n ],\n \"nbformat\": 4,\n \"nbformat_minor\": 5\n}}\n"
    );
    let path = env.fixture("work/analysis.ipynb", &nb);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    // A token used as a key is not inside a string value: that notebook is left alone.
    let odd = format!("{{\"metadata\": {{\"{hf}\": 1}}, \"cells\": []}}\n");
    let odd_path = env.fixture("work/odd.ipynb", &odd);

    let out = env.run(&["scan", "--home", "--fix", "--no-vault"]);
    // Notebooks may have been synced: rotation is still advised (exit 1).
    assert_code(&out, 1);
    let err = stderr(&out);
    assert_has(&err, "redacted 2 values in ~/work/analysis.ipynb");
    assert_has(&err, "a value lies outside a JSON string");
    assert_has(
        &err,
        "rotate the token (tokenvault rotate huggingface) and revoke the old one at https://huggingface.co/settings/tokens",
    );
    let after = std::fs::read_to_string(&path).unwrap();
    assert_eq!(after, nb.replace(&hf, "[redacted-by-tokenvault]"));
    let doc: Value = serde_json::from_str(&after).unwrap();
    assert_eq!(
        doc["cells"][0]["outputs"][0]["text"][0],
        "café token=[redacted-by-tokenvault]\n"
    );
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
        0o644
    );
    assert_eq!(std::fs::read_to_string(&odd_path).unwrap(), odd);
    let recs = audit_records(&env, "home-redact");
    assert!(
        recs.iter()
            .any(|r| r["outcome"] == "redacted 2 values in ~/work/analysis.ipynb"),
        "{recs:?}"
    );
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let env = Env::new();
    let hf = hf_token();
    env.secret(&hf);
    let history = format!("ls\nexport HF_TOKEN={hf}\n");
    let hist = env.fixture(".bash_history", &history);
    let netrc_text = format!("machine huggingface.co login me password {hf}\n");
    let netrc = env.fixture(".netrc", &netrc_text);
    let npm = env.secret("npm_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789");
    let npmrc_text = format!("//registry.npmjs.org/:_authToken={npm}\n");
    let npmrc = env.fixture(".npmrc", &npmrc_text);
    env.set("npm-seed", npm);

    let out = env.run(&["scan", "--home", "--fix", "--dry-run"]);
    assert_code(&out, 1);
    let err = stderr(&out);
    assert_has(&err, "would redact 1 value in ~/.bash_history");
    assert_has(
        &err,
        "would store ~/.netrc's entry for huggingface.co in tv://huggingface/token and point git at tokenvault for it, then remove the entry",
    );
    assert_has(
        &err,
        "would store ~/.npmrc's token for registry.npmjs.org in tv://npm/token and write ${NPM_TOKEN} in its place",
    );
    assert_eq!(std::fs::read_to_string(&hist).unwrap(), history);
    assert_eq!(std::fs::read_to_string(&netrc).unwrap(), netrc_text);
    assert_eq!(std::fs::read_to_string(&npmrc).unwrap(), npmrc_text);
    assert_code(&env.run(&["get", "huggingface"]), 2);
    assert!(audit_records(&env, "home-redact").is_empty());
    assert!(audit_records(&env, "home-import").is_empty());

    // A dry run needs no vault: none is opened, none is created.
    let bare = Env::new();
    bare.fixture(".netrc", &netrc_text);
    let out = bare.run(&["scan", "--home", "--fix", "--dry-run", "--no-vault"]);
    assert_code(&out, 1);
    assert_has(
        &stderr(&out),
        "would store ~/.netrc's entry for huggingface.co in tv://huggingface/token",
    );
    assert!(!bare.vault().exists(), "a dry run created a vault");
}

#[test]
fn the_keyring_shim_sets_gets_and_deletes_as_the_keyring_command_does() {
    let env = Env::new();
    let pass = env.secret("idx-pass-Qw81Zx0pLm3n");
    env.set("placeholder", "not-a-token-value");
    let service = "https://pkgs.example.com/simple/";
    // pip's save path: `keyring set URL USER`, the password and a line break on stdin.
    let out = env.run_stdin(
        &["keyring", "set", service, "__token__"],
        Some(&format!("{pass}\n")),
    );
    assert_ok(&out);
    assert_eq!(env.get("tv://keyring-pkgs.example.com/password"), pass);
    // The map holds references, never the value, and is private.
    let map = env.path("tvhome/keyring.json");
    let text = std::fs::read_to_string(&map).unwrap();
    assert!(
        text.contains("tv://keyring-pkgs.example.com/password"),
        "{text}"
    );
    assert_eq!(
        std::fs::metadata(&map).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Asked by the index URL without its slash, or by the bare host (pip tries both).
    for asked in ["https://pkgs.example.com/simple", "pkgs.example.com"] {
        let out = env.run(&["keyring", "get", asked, "__token__"]);
        assert_ok(&out);
        assert!(
            stdout(&out) == format!("{pass}\n"),
            "wrong answer for {asked}"
        );
    }
    let none = env.run(&[
        "keyring",
        "get",
        "https://other.example/simple/",
        "__token__",
    ]);
    assert_code(&none, 1);
    assert!(none.stdout.is_empty());
    assert_ok(&env.run(&["keyring", "del", service, "__token__"]));
    assert_code(&env.run(&["keyring", "get", service, "__token__"]), 1);
    assert_code(
        &env.run(&["get", "tv://keyring-pkgs.example.com/password"]),
        2,
    );
    // --json makes no sense for a bare password.
    assert_code(
        &env.run(&["--json", "keyring", "get", service, "__token__"]),
        2,
    );
    let recs = audit_records(&env, "keyring");
    let outcomes: Vec<&str> = recs
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["stored", "ok", "ok", "not found", "erased", "not found"]
    );
}

#[test]
fn a_token_in_a_pushed_commit_gets_rotate_advice_and_an_unpushed_one_does_not() {
    let env = Env::new();
    let hf = hf_token();
    env.secret(&hf);
    let gh = format!("ghp_{}Zz", &hf_token()[3..]);
    env.secret(&gh);
    let git = |dir: &std::path::Path, args: &[&str]| {
        let mut c = tool(&env, "git", &[]);
        c.current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "T")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "T")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .args(args);
        let out = env.output(&mut c);
        assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    };
    let remote = env.path("remote.git");
    std::fs::create_dir_all(&remote).unwrap();
    git(&remote, &["init", "-q", "--bare"]);
    let repo = env.path("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    env.fixture("repo/a.py", format!("HF_TOKEN = '{hf}'\n"));
    git(&repo, &["add", "a.py"]);
    git(&repo, &["commit", "-q", "-m", "pushed"]);
    git(
        &repo,
        &["remote", "add", "origin", remote.to_str().unwrap()],
    );
    git(&repo, &["push", "-q", "origin", "main"]);
    env.fixture("repo/b.py", format!("GITHUB = '{gh}'\n"));
    git(&repo, &["add", "b.py"]);
    git(&repo, &["commit", "-q", "-m", "local only"]);

    let out = env.run(&["scan", "--no-vault", "--git", "repo"]);
    assert_code(&out, 1);
    let err = stderr(&out);
    assert_has(
        &err,
        "hint: a commit that holds it was pushed, so it has left this machine: rotate the token (tokenvault rotate huggingface) and revoke the old one at https://huggingface.co/settings/tokens",
    );
    // The unpushed token is found, without the advice.
    assert_has(&stdout(&out), "b.py");
    assert_lacks(&err, "tokenvault rotate github");
}
