//! `tokenvault import`: from a .env file, from environment variables, and from the token files
//! that the real `huggingface_hub` package writes with its own Python API. Shows the dry run,
//! idempotence, conflicts that never overwrite, and malformed sources reported with file and line.

// Test helpers outside #[test] functions panic on failure by design.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

fn aws_secret() -> String {
    // 40 base64 characters, unique per run so output can be searched for it.
    let t = hf_token();
    format!("{}/{}", &t[3..22], &t[3..23])
}

#[test]
fn dotenv_dry_run_then_import_then_again() {
    let env = Env::new();
    let hf = hf_token();
    let secret = aws_secret();
    for v in [&hf, &secret] {
        env.secret(v);
    }
    let file = env.path("app.env");
    env.fixture(&file, format!(
            "# app settings\nHF_TOKEN={hf}\nHUGGING_FACE_HUB_TOKEN=\"{hf}\"\nexport AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nAWS_SECRET_ACCESS_KEY='{secret}'\nAWS_REGION=eu-west-1\nDEBUG=1\nMODEL=tv://huggingface/test_repo\n"
        ));
    let file_s = file.display().to_string();

    let dry = env.run(&["import", "dotenv", &file_s, "--dry-run"]);
    assert_ok(&dry);
    let text = stdout(&dry);
    assert_has(
        &text,
        &format!("{file_s}:2 HF_TOKEN  would import  tv://huggingface/token"),
    );
    assert_has(&text, ":3 HUGGING_FACE_HUB_TOKEN  already stored");
    assert_has(&text, "would import  tv://aws/secret_access_key");
    assert_has(&text, "would import  tv://aws/region");
    assert_has(&stderr(&dry), ":7 DEBUG: skipped (no known provider");
    assert_has(
        &stderr(&dry),
        ":8 MODEL: skipped (already a tv:// reference)",
    );
    assert_no_secret(&dry, &hf, "dry run");
    assert_no_secret(&dry, &secret, "dry run");
    assert!(
        !env.run(&["get", "huggingface"]).status.success(),
        "dry run stored something"
    );

    let out = env.run(&["import", "dotenv", &file_s]);
    assert_ok(&out);
    assert_has(&stdout(&out), "imported  tv://huggingface/token");
    assert_no_secret(&out, &hf, "import");
    assert_no_secret(&out, &secret, "import");
    assert_eq!(env.get("huggingface"), hf);
    assert_eq!(env.get("aws/secret_access_key"), secret);
    assert_eq!(env.get("aws/access_key_id"), "AKIAIOSFODNN7EXAMPLE");
    assert_eq!(env.get("aws/region"), "eu-west-1");

    // Idempotent: everything is already there.
    let again = env.run(&["import", "dotenv", &file_s]);
    assert_ok(&again);
    assert_lacks(&stdout(&again), "  imported  ");
    assert_eq!(
        stdout(&again).matches("already stored").count(),
        5,
        "{}",
        stdout(&again)
    );
}

#[test]
fn a_different_stored_value_is_never_overwritten() {
    let (env, old) = Env::with_hf_token();
    let file = env.path(".env");
    let new = hf_token();
    env.secret(&new);
    env.fixture(&file, format!("HF_TOKEN={new}\n"));
    let out = env.run(&["import", "dotenv", &file.display().to_string()]);
    assert_code(&out, 1);
    assert!(
        stdout(&out)
            .contains("conflict  tv://huggingface/token holds a different value; not replaced"),
        "{}",
        stdout(&out)
    );
    assert_has(&stderr(&out), "tokenvault set");
    assert_eq!(env.get("huggingface"), old);
}

#[test]
fn malformed_dotenv_names_file_and_line_and_imports_nothing() {
    let env = Env::new();
    let hf = hf_token();
    env.secret(&hf);
    let file = env.path("broken.env");
    env.fixture(&file, format!("HF_TOKEN={hf}\nOK=1\nthis line is wrong\n"));
    let out = env.run(&["import", "dotenv", &file.display().to_string()]);
    assert_error(
        &out,
        2,
        &[
            &format!("{}:3: expected KEY=value", file.display()),
            "nothing was imported",
        ],
    );
    assert_no_secret(&out, &hf, "malformed");
    assert!(!env.run(&["get", "huggingface"]).status.success());
}

#[test]
fn environment_variables_by_name() {
    let env = Env::new();
    let hf = hf_token();
    env.secret(&hf);
    let mut c = env.cmd();
    c.args(["import", "env", "HF_TOKEN"]).env("HF_TOKEN", &hf);
    let out = env.output(&mut c);
    assert_ok(&out);
    assert_has(&stdout(&out), "$HF_TOKEN  imported  tv://huggingface/token");
    assert_no_secret(&out, &hf, "import env");
    assert_eq!(env.get("huggingface"), hf);
    let missing = env.run(&["import", "env", "NOT_SET_ANYWHERE"]);
    assert_code(&missing, 2);
    assert!(stderr(&missing).contains("not set in the environment: NOT_SET_ANYWHERE"));
}

/// The Python interpreter that has `huggingface_hub`, if any.
fn python_with_hub() -> Option<String> {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys, huggingface_hub; print(sys.executable)"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[test]
fn huggingface_token_files_written_by_huggingface_hub() {
    // A real peer is part of what this test shows: fail, never skip, without it.
    let python = python_with_hub()
        .expect("python3 with huggingface_hub (scripts/test installs it: pip install 'huggingface_hub>=0.26')");
    let mut env = Env::new();
    let hf_home = env.path("hf-home");
    let (work, personal) = (hf_token(), hf_token());
    env.secret(&work);
    env.secret(&personal);
    // huggingface_hub's own writers: the stored_tokens INI file and the active token file.
    let script = "import sys\nfrom huggingface_hub.utils._auth import _save_token\nfrom huggingface_hub._login import _set_active_token\n_save_token(sys.argv[1], 'Work Token')\n_save_token(sys.argv[2], 'personal')\n_set_active_token('personal', add_to_git_credential=False)\n";
    let st = std::process::Command::new(&python)
        .args(["-c", script, &work, &personal])
        .env("HF_HOME", &hf_home)
        .status()
        .unwrap();
    assert!(st.success());
    assert!(hf_home.join("stored_tokens").exists() && hf_home.join("token").exists());
    // Plaintext fixtures, written by huggingface_hub for the test.
    env.test_file("hf-home/stored_tokens");
    env.test_file("hf-home/token");
    env.vars
        .push(("HF_HOME".into(), hf_home.display().to_string()));

    let out = env.run(&["import", "huggingface"]);
    assert_ok(&out);
    let text = stdout(&out);
    assert_has(
        &text,
        "[personal] (active)  imported  tv://huggingface/token",
    );
    assert_has(
        &text,
        "[Work Token]  imported  tv://huggingface-work-token/token",
    );
    assert_no_secret(&out, &work, "import hf");
    assert_no_secret(&out, &personal, "import hf");
    assert_eq!(env.get("huggingface"), personal);
    assert_eq!(env.get("huggingface-work-token"), work);
    // Idempotent.
    let again = env.run(&["import", "huggingface"]);
    assert_ok(&again);
    assert_eq!(
        stdout(&again).matches("already stored").count(),
        2,
        "{}",
        stdout(&again)
    );
}

#[test]
fn broken_stored_tokens_is_reported_with_line() {
    let mut env = Env::new();
    let hf_home = env.path("hf");
    std::fs::create_dir_all(&hf_home).unwrap();
    let hf = hf_token();
    env.secret(&hf);
    env.fixture(
        hf_home.join("stored_tokens"),
        format!("[a]\nhf_token = {hf}\n[b\n"),
    );
    env.vars.push((
        "HF_TOKEN_PATH".into(),
        hf_home.join("token").display().to_string(),
    ));
    let out = env.run(&["import", "huggingface"]);
    assert_error(
        &out,
        2,
        &["stored_tokens:3: a section header must end with ']'"],
    );
    assert_no_secret(&out, &hf, "broken ini");
}

#[test]
fn ipfs_kit_config_json() {
    let env = Env::new();
    let hf = hf_token();
    let secret = aws_secret();
    let storacha = "MgCYbT1aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789+/aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789+/aBcDeFgHiJk=";
    for v in [&hf, &secret, storacha] {
        env.secret(v);
    }
    let dir = env.dir.path().join(".ipfs_kit");
    std::fs::create_dir_all(&dir).unwrap();
    env.fixture(dir.join("config.json"), format!(
            r#"{{
  "huggingface": {{"token": "{hf}", "test_repo": "acme/test-model"}},
  "aws": {{"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "{secret}", "region": "us-east-1"}},
  "s3": {{"test_bucket": "acme-test-bucket"}},
  "storacha": {{"token": "{storacha}"}},
  "ipfs": {{"api": "/ip4/127.0.0.1/tcp/5001"}},
  "version": 3
}}"#
        ));
    // The default path is ~/.ipfs_kit/config.json (the harness sets HOME to the test directory).
    let dry = env.run(&["import", "--dry-run", "ipfs-kit"]);
    assert_ok(&dry);
    assert_eq!(
        stdout(&dry).matches("would import").count(),
        7,
        "{}",
        stdout(&dry)
    );
    assert_has(
        &stderr(&dry),
        "ipfs.api: skipped (not a setting tokenvault knows)",
    );
    assert!(
        !env.run(&["get", "huggingface"]).status.success(),
        "dry run stored something"
    );

    let out = env.run(&["import", "ipfs-kit"]);
    assert_ok(&out);
    for s in [hf.as_str(), secret.as_str(), storacha] {
        assert_no_secret(&out, s, "ipfs-kit");
    }
    assert_eq!(env.get("huggingface"), hf);
    assert_eq!(env.get("huggingface/test_repo"), "acme/test-model");
    assert_eq!(env.get("aws/secret_access_key"), secret);
    assert_eq!(env.get("aws/region"), "us-east-1");
    assert_eq!(env.get("s3/test_bucket"), "acme-test-bucket");
    assert_eq!(env.get("storacha"), storacha);
    let again = env.run(&["import", "ipfs-kit"]);
    assert_ok(&again);
    assert_eq!(
        stdout(&again).matches("already stored").count(),
        7,
        "{}",
        stdout(&again)
    );

    // Broken JSON: file, line and column; nothing imported.
    let broken = env.path("broken.json");
    let other = hf_token();
    env.secret(&other);
    env.fixture(
        &broken,
        format!("{{\n  \"huggingface\": {{\"token\": \"{other}\"}},\n  oops\n}}\n"),
    );
    let out = env.run(&["import", "ipfs-kit", &broken.display().to_string()]);
    assert_code(&out, 2);
    assert_has(
        &stderr(&out),
        &format!("{}:3:3: not valid JSON", broken.display()),
    );
}

// --- --shred and --rewrite ---------------------------------------------------------------------

use common::hub::Hub;

/// An env whose Hub is `hub`, with `tokens` registered for the leak check.
fn env_with_hub(hub: &Hub, tokens: &[&str]) -> Env {
    let mut env = Env::new();
    env.vars.push(("HF_ENDPOINT".into(), hub.url.clone()));
    for t in tokens {
        env.secret(t);
    }
    env
}

#[cfg(unix)]
fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn set_mode(p: &std::path::Path, m: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
}

/// A second name for `file`'s inode: after a shred it shows what happened to the old bytes.
fn hard_link(env: &Env, file: &std::path::Path) -> std::path::PathBuf {
    // The test's own name for the inode: what it holds is asserted where it is used.
    let link = env.test_file(format!(
        "{}.inode",
        file.file_name().unwrap().to_string_lossy()
    ));
    std::fs::hard_link(file, &link).unwrap();
    link
}

fn audit_log(env: &Env) -> String {
    std::fs::read_to_string(env.home.join("audit.jsonl")).unwrap_or_default()
}

#[test]
fn shred_removes_only_sources_whose_tokens_verified() {
    let (good, bad) = (hf_token(), hf_token());
    let hub = Hub::start(&[&good]);
    let mut env = env_with_hub(&hub, &[&good, &bad]);
    let hf_home = env.path("hf");
    std::fs::create_dir_all(&hf_home).unwrap();
    // As huggingface_hub writes them: the active token, and every saved token by name.
    let token_file = hf_home.join("token");
    let stored = hf_home.join("stored_tokens");
    env.fixture(&token_file, &good);
    let stored_text = format!("[laptop]\nhf_token = {good}\n\n[old-ci]\nhf_token = {bad}\n\n");
    env.fixture(&stored, &stored_text);
    let link = hard_link(&env, &token_file);
    env.vars
        .push(("HF_HOME".into(), hf_home.display().to_string()));

    let dry = env.run(&["import", "huggingface", "--shred", "--dry-run"]);
    assert_ok(&dry);
    assert!(token_file.exists() && stored.exists());
    assert_has(
        &stderr(&dry),
        &format!("Would overwrite and delete {}", token_file.display()),
    );

    let out = env.run(&["import", "huggingface", "--shred"]);
    assert_code(&out, 1);
    let err = stderr(&out);
    assert_no_secret(&out, &good, "shred");
    assert_no_secret(&out, &bad, "shred");
    // Both tokens are in the vault; the rejected one is reported.
    assert_eq!(env.get("huggingface"), good);
    assert_eq!(env.get("huggingface-old-ci"), bad);
    assert_has(&err, "Verified tv://huggingface/token");
    assert_has(&err, "tv://huggingface-old-ci/token is in the vault, but");
    // The token file held only the verified token: overwritten, then deleted.
    assert!(!token_file.exists(), "{err}");
    assert_has(&err, &format!("Shredded {}", token_file.display()));
    let old_bytes = std::fs::read(&link).unwrap();
    assert_eq!(old_bytes.len(), good.len());
    assert!(old_bytes.iter().all(|b| *b == 0), "not overwritten");
    // stored_tokens holds a rejected token: untouched, byte for byte.
    assert_eq!(std::fs::read_to_string(&stored).unwrap(), stored_text);
    assert_has(
        &err,
        &format!("{} was not shredded and is unchanged", stored.display()),
    );
    assert_has(&err, "not verified live");

    let log = audit_log(&env);
    assert_has(&log, r#""action":"import""#);
    assert!(
        log.contains("tv://huggingface/token") && log.contains("tv://huggingface-old-ci/token")
    );
    assert!(
        !log.contains(&good) && !log.contains(&bad),
        "value in the audit log"
    );
}

#[test]
fn shred_a_dotenv_of_tokens_only_and_rewrite_one_with_other_values() {
    let good = hf_token();
    let hub = Hub::start(&[&good]);
    let env = env_with_hub(&hub, &[&good]);

    // Tokens only: deleted after a zero fill.
    let only = env.path("only.env");
    env.fixture(&only, format!("# token\nHF_TOKEN={good}\n"));
    let link = hard_link(&env, &only);
    let out = env.run(&["import", "dotenv", &only.display().to_string(), "--shred"]);
    assert_ok(&out);
    assert!(!only.exists());
    assert!(std::fs::read(&link).unwrap().iter().all(|b| *b == 0));
    assert_no_secret(&out, &good, "shred dotenv");

    // Other values too: rewritten with references, no plaintext backup, old bytes zeroed.
    let mixed = env.path("mixed.env");
    let text = format!("# app\nHF_TOKEN={good}\nDEBUG=1\n");
    env.fixture(&mixed, &text);
    #[cfg(unix)]
    set_mode(&mixed, 0o640);
    let link = hard_link(&env, &mixed);
    let out = env.run(&["import", "dotenv", &mixed.display().to_string(), "--shred"]);
    assert_ok(&out);
    assert_eq!(
        std::fs::read_to_string(&mixed).unwrap(),
        "# app\nHF_TOKEN=tv://huggingface/token\nDEBUG=1\n"
    );
    #[cfg(unix)]
    assert_eq!(mode(&mixed), 0o640);
    assert_has(&stderr(&out), "Rewrote");
    assert_has(&stderr(&out), "no plaintext backup");
    assert!(files_under(env.dir.path())
        .iter()
        .all(|p| !p.to_string_lossy().contains(".bak")));
    let old = std::fs::read(&link).unwrap();
    assert_eq!(old.len(), text.len());
    assert!(old.iter().all(|b| *b == 0));
    for f in files_under(env.dir.path()) {
        let bytes = std::fs::read(&f).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&good),
            "plaintext left in {}",
            f.display()
        );
    }
}

#[test]
fn shred_leaves_a_dotenv_with_a_rejected_token_byte_for_byte() {
    let bad = hf_token();
    let hub = Hub::start(&[]);
    let env = env_with_hub(&hub, &[&bad]);
    let file = env.path(".env");
    let text = format!("HF_TOKEN={bad}\n");
    env.fixture(&file, &text);
    let out = env.run(&["import", "dotenv", &file.display().to_string(), "--shred"]);
    assert_code(&out, 1);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    assert_has(&stderr(&out), "was not shredded and is unchanged");
    assert_no_secret(&out, &bad, "rejected");
    // Unreachable provider: not verified, so not shredded either (unless --no-verify).
    let offline = Env::new();
    let file = offline.path(".env");
    env.fixture(&file, &text);
    let out = offline.run(&["import", "dotenv", &file.display().to_string(), "--shred"]);
    assert_ok(&out);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    let out = offline.run(&[
        "import",
        "dotenv",
        &file.display().to_string(),
        "--shred",
        "--no-verify",
    ]);
    assert_ok(&out);
    assert!(!file.exists());
}

#[test]
fn rewrite_replaces_secrets_with_references_that_run_env_file_resolves() {
    let env = Env::new();
    let hf = hf_token();
    let secret = aws_secret();
    for v in [&hf, &secret] {
        env.secret(v);
    }
    let file = env.path("app.env");
    let text = format!(
        "# app settings\r\nexport HF_TOKEN=\"{hf}\"  # main token\nAWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nAWS_SECRET_ACCESS_KEY='{secret}'\nAWS_REGION=eu-west-1\nDEBUG=1\n"
    );
    env.fixture(&file, &text);
    #[cfg(unix)]
    set_mode(&file, 0o640);
    let file_s = file.display().to_string();

    let out = env.run(&["import", "dotenv", &file_s, "--rewrite", "--no-verify"]);
    assert_ok(&out);
    assert_no_secret(&out, &hf, "rewrite");
    assert_no_secret(&out, &secret, "rewrite");
    let rewritten = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        rewritten,
        "# app settings\r\nexport HF_TOKEN=tv://huggingface/token  # main token\nAWS_ACCESS_KEY_ID=tv://aws/access_key_id\nAWS_SECRET_ACCESS_KEY=tv://aws/secret_access_key\nAWS_REGION=eu-west-1\nDEBUG=1\n"
    );
    #[cfg(unix)]
    assert_eq!(mode(&file), 0o640);
    // Issue "No secret escapes", 5: no plaintext copy beside the file, where git would not
    // ignore it; the backup is in tokenvault's private directory.
    assert!(!env.path("app.env.bak").exists());
    let beside: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("app.env") && n != "app.env")
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
    let backups: Vec<_> = std::fs::read_dir(env.home.join("backups").join("import"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    let backup = &backups[0];
    assert!(backup
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("app.env."));
    assert_eq!(std::fs::read_to_string(backup).unwrap(), text);
    #[cfg(unix)]
    assert_eq!(mode(backup), 0o600);
    assert_has(
        &stderr(&out),
        &format!("tokenvault run --env-file {file_s}"),
    );

    // The rewritten file works with `run --env-file`.
    let run = env.run(&[
        "run",
        "--env-file",
        &file_s,
        "--",
        "sh",
        "-c",
        "printf '%s|%s|%s|%s' \"$HF_TOKEN\" \"$AWS_SECRET_ACCESS_KEY\" \"$AWS_REGION\" \"$DEBUG\"",
    ]);
    assert_ok(&run);
    assert_eq!(stdout(&run), format!("{hf}|{secret}|eu-west-1|1"));

    // Idempotent: references are skipped, the region is already stored, nothing is rewritten
    // and there is no second backup.
    let again = env.run(&["import", "dotenv", &file_s, "--rewrite"]);
    assert_ok(&again);
    assert!(
        stdout(&again).contains("AWS_REGION  already stored")
            && !stdout(&again).contains("  imported  "),
        "{}",
        stdout(&again)
    );
    assert_has(
        &stderr(&again),
        "HF_TOKEN: skipped (already a tv:// reference)",
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), rewritten);
    assert_eq!(
        std::fs::read_dir(env.home.join("backups").join("import"))
            .unwrap()
            .count(),
        1
    );
}

#[test]
fn ipfs_kit_shred_rewrites_the_json_keeping_other_settings() {
    let hf = hf_token();
    let hub = Hub::start(&[&hf]);
    let secret = aws_secret();
    let env = env_with_hub(&hub, &[&hf, &secret]);
    let file = env.path("ipfs.json");
    let text = format!(
        "{{\n  \"huggingface\": {{\"token\": \"{hf}\", \"test_repo\": \"acme/test-model\"}},\n  \"aws\": {{\"secret_access_key\": \"{secret}\", \"region\": \"us-east-1\"}},\n  \"version\": 3\n}}\n"
    );
    env.fixture(&file, &text);
    // Issue "Nothing lost, nothing forged", 7: the AWS secret alone cannot be checked live (STS
    // needs the key pair), so "could not check" means "not shredded", said for that value.
    let out = env.run(&["import", "ipfs-kit", &file.display().to_string(), "--shred"]);
    assert_ok(&out);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    let err = stderr(&out);
    assert_has(&err, "was not shredded and is unchanged");
    assert_has(&err, "secret_access_key (could not check");
    assert_lacks(&err, "huggingface.token (");
    // Said explicitly, the user's word replaces the check.
    let out = env.run(&[
        "import",
        "ipfs-kit",
        &file.display().to_string(),
        "--shred",
        "--no-verify",
    ]);
    assert_ok(&out);
    let new = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        new,
        "{\n  \"huggingface\": {\"token\": \"tv://huggingface/token\", \"test_repo\": \"acme/test-model\"},\n  \"aws\": {\"secret_access_key\": \"tv://aws/secret_access_key\", \"region\": \"us-east-1\"},\n  \"version\": 3\n}\n"
    );
    assert_eq!(env.get("aws/secret_access_key"), secret);
    // Idempotent: references are skipped, the rest is already stored.
    let again = env.run(&[
        "import",
        "ipfs-kit",
        &file.display().to_string(),
        "--shred",
        "--no-verify",
    ]);
    assert_ok(&again);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), new);
    assert_has(
        &stderr(&again),
        "token: skipped (already a tv:// reference)",
    );
}

#[test]
fn malformed_sources_with_shred_are_reported_and_untouched() {
    let env = Env::new();
    let hf = hf_token();
    env.secret(&hf);
    let file = env.path("broken.env");
    let text = format!("HF_TOKEN={hf}\nA='open\n");
    env.fixture(&file, &text);
    let out = env.run(&["import", "dotenv", &file.display().to_string(), "--shred"]);
    assert_code(&out, 2);
    assert_has(
        &stderr(&out),
        &format!("{}:2: unterminated single quote", file.display()),
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    assert_no_secret(&out, &hf, "malformed");

    let binary = env.path("binary.env");
    let mut bytes = format!("HF_TOKEN={hf}\nB=ok\n").into_bytes();
    bytes.extend_from_slice(b"C=\xff\xfe\n");
    env.fixture(&binary, &bytes);
    let out = env.run(&[
        "import",
        "dotenv",
        &binary.display().to_string(),
        "--rewrite",
    ]);
    assert_code(&out, 2);
    assert_has(
        &stderr(&out),
        &format!("{}:3: not UTF-8 text", binary.display()),
    );
    assert_eq!(std::fs::read(&binary).unwrap(), bytes);
    assert_no_secret(&out, &hf, "binary");

    let e = env.run(&["import", "env", "HF_TOKEN", "--shred"]);
    assert_code(&e, 2);
    assert!(stderr(&e).contains("environment variables are not files"));
    assert!(!env.run(&["get", "huggingface"]).status.success());
}

/// ipfs_kit's S3 keys and Storacha space DID are imported (and flagged by doctor before).
#[test]
fn ipfs_kit_s3_keys_and_storacha_space_are_imported() {
    let env = Env::new();
    let secret = aws_secret();
    env.secret(&secret);
    let dir = env.dir.path().join(".ipfs_kit");
    std::fs::create_dir_all(&dir).unwrap();
    env.fixture(
        dir.join("config.json"),
        format!(
            r#"{{
  "s3": {{"access_key_id": "AKIAI44QH8DHBEXAMPLE", "secret_access_key": "{secret}", "endpoint_url": "https://s3.example.com", "test_bucket": "acme-test"}},
  "storacha": {{"space_did": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"}}
}}"#
        ),
    );
    let out = env.run(&["doctor"]);
    let text = stdout(&out);
    assert_has(&text, "s3.secret_access_key");
    assert_has(&text, "s3.access_key_id");
    let out = env.run(&["import", "ipfs-kit", "--no-verify"]);
    assert_ok(&out);
    assert_lacks(&stderr(&out), "skipped");
    assert_eq!(env.get("s3/secret_access_key"), secret);
    assert_eq!(env.get("s3/access_key_id"), "AKIAI44QH8DHBEXAMPLE");
    assert_eq!(env.get("s3/endpoint_url"), "https://s3.example.com");
    assert_eq!(
        env.get("storacha/space_did"),
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    );
}

/// A dotenv file's secret-named variables of unknown providers become custom items, each
/// reported; other unknown variables only with --all.
#[test]
fn dotenv_variables_of_unknown_providers_become_custom_items() {
    let env = Env::new();
    let svc = "svc-live-0a9b8c7d6e5f4a3b2c1d";
    let db = "correct-horse-db-password-77";
    env.secret(svc);
    env.secret(db);
    let file = env.path("app.env");
    env.fixture(
        &file,
        format!(
            "SVC_API_TOKEN={svc}\nDB_PASSWORD={db}\nDEBUG=1\nSERVICE_URL=https://svc.example\n"
        ),
    );
    let out = env.run(&["import", "dotenv", file.to_str().unwrap(), "--no-verify"]);
    assert_ok(&out);
    let text = stdout(&out) + &stderr(&out);
    assert_has(&text, "tv://svc-api/token");
    assert_has(&text, "tv://db/password");
    assert_has(&text, "DEBUG: skipped (no known provider, and the name does not look secret (import it with --all))");
    assert_eq!(env.get("svc-api/token"), svc);
    assert_eq!(env.get("db/password"), db);
    assert_code(&env.run(&["get", "service-url/token"]), 2);
    let out = env.run(&[
        "import",
        "dotenv",
        file.to_str().unwrap(),
        "--no-verify",
        "--all",
    ]);
    assert_ok(&out);
    assert_eq!(env.get("service-url/token"), "https://svc.example");
    assert_eq!(env.get("debug/token"), "1");
}

/// An import is one vault write and one index write whatever its size (it was one of each per
/// token: quadratic), and every value reads back.
#[test]
fn an_import_of_many_tokens_is_one_vault_write() {
    let env = Env::new();
    env.set("seed/token", "seed-secret-value-0000");
    let generation = || -> u64 {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(env.home.join("vault.seen")).unwrap())
                .unwrap();
        v["generation"].as_u64().unwrap()
    };
    let before = generation();
    let mut text = String::new();
    let mut values = Vec::new();
    for i in 0..150 {
        let v = format!("svc{i:03}-{}", &hf_token()[3..27]);
        env.secret(&v);
        text.push_str(&format!("SVC{i}_API_TOKEN={v}\n"));
        values.push(v);
    }
    let file = env.fixture("many.env", &text);
    let out = env.run(&["import", "dotenv", file.to_str().unwrap(), "--no-verify"]);
    assert_ok(&out);
    assert_eq!(generation(), before + 1, "one vault write");
    let out = env.run(&[
        "export",
        "--format",
        "json",
        "--item",
        "svc0-api",
        "--item",
        "svc149-api",
    ]);
    assert_ok(&out);
    assert!(stdout(&out).contains(&values[0]) && stdout(&out).contains(&values[149]));
    let listed = stdout(&env.run(&["list"]));
    assert_eq!(listed.matches("tv://svc").count(), 150, "{listed}");
}
