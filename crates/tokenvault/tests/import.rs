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
    let file = env.path("app.env");
    std::fs::write(
        &file,
        format!(
            "# app settings\nHF_TOKEN={hf}\nHUGGING_FACE_HUB_TOKEN=\"{hf}\"\nexport AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nAWS_SECRET_ACCESS_KEY='{secret}'\nAWS_REGION=eu-west-1\nDEBUG=1\nMODEL=tv://huggingface/test_repo\n"
        ),
    )
    .unwrap();
    let file_s = file.display().to_string();

    let dry = env.run(&["import", "dotenv", &file_s, "--dry-run"]);
    assert_ok(&dry);
    let text = stdout(&dry);
    assert!(
        text.contains(&format!(
            "{file_s}:2 HF_TOKEN  would import  tv://huggingface/token"
        )),
        "{text}"
    );
    assert!(
        text.contains(":3 HUGGING_FACE_HUB_TOKEN  already stored"),
        "{text}"
    );
    assert!(
        text.contains("would import  tv://aws/secret_access_key"),
        "{text}"
    );
    assert!(text.contains("would import  tv://aws/region"), "{text}");
    assert!(
        stderr(&dry).contains(":7 DEBUG: skipped (no known provider"),
        "{}",
        stderr(&dry)
    );
    assert!(
        stderr(&dry).contains(":8 MODEL: skipped (already a tv:// reference)"),
        "{}",
        stderr(&dry)
    );
    assert_no_secret(&dry, &hf, "dry run");
    assert_no_secret(&dry, &secret, "dry run");
    assert!(
        !env.run(&["get", "huggingface"]).status.success(),
        "dry run stored something"
    );

    let out = env.run(&["import", "dotenv", &file_s]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("imported  tv://huggingface/token"),
        "{}",
        stdout(&out)
    );
    assert_no_secret(&out, &hf, "import");
    assert_no_secret(&out, &secret, "import");
    assert_eq!(env.get("huggingface"), hf);
    assert_eq!(env.get("aws/secret_access_key"), secret);
    assert_eq!(env.get("aws/access_key_id"), "AKIAIOSFODNN7EXAMPLE");
    assert_eq!(env.get("aws/region"), "eu-west-1");

    // Idempotent: everything is already there.
    let again = env.run(&["import", "dotenv", &file_s]);
    assert_ok(&again);
    assert!(
        !stdout(&again).contains("  imported  "),
        "{}",
        stdout(&again)
    );
    assert_eq!(
        stdout(&again).matches("already stored").count(),
        5,
        "{}",
        stdout(&again)
    );
}

#[test]
fn a_different_stored_value_is_never_overwritten() {
    let env = Env::new();
    let old = hf_token();
    env.set("huggingface", &old);
    let file = env.path(".env");
    std::fs::write(&file, format!("HF_TOKEN={}\n", hf_token())).unwrap();
    let out = env.run(&["import", "dotenv", &file.display().to_string()]);
    assert_code(&out, 1);
    assert!(
        stdout(&out)
            .contains("conflict  tv://huggingface/token holds a different value; not replaced"),
        "{}",
        stdout(&out)
    );
    assert!(stderr(&out).contains("tokenvault set"), "{}", stderr(&out));
    assert_eq!(env.get("huggingface"), old);
}

#[test]
fn malformed_dotenv_names_file_and_line_and_imports_nothing() {
    let env = Env::new();
    let hf = hf_token();
    let file = env.path("broken.env");
    std::fs::write(&file, format!("HF_TOKEN={hf}\nOK=1\nthis line is wrong\n")).unwrap();
    let out = env.run(&["import", "dotenv", &file.display().to_string()]);
    assert_code(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{}:3: expected KEY=value", file.display())),
        "{err}"
    );
    assert!(err.contains("nothing was imported"), "{err}");
    assert_no_secret(&out, &hf, "malformed");
    assert!(!env.run(&["get", "huggingface"]).status.success());
}

#[test]
fn environment_variables_by_name() {
    let env = Env::new();
    let hf = hf_token();
    let mut c = env.cmd();
    c.args(["import", "env", "HF_TOKEN"]).env("HF_TOKEN", &hf);
    let out = c.output().unwrap();
    assert_ok(&out);
    assert!(
        stdout(&out).contains("$HF_TOKEN  imported  tv://huggingface/token"),
        "{}",
        stdout(&out)
    );
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
    // huggingface_hub's own writers: the stored_tokens INI file and the active token file.
    let script = "import sys\nfrom huggingface_hub.utils._auth import _save_token\nfrom huggingface_hub._login import _set_active_token\n_save_token(sys.argv[1], 'Work Token')\n_save_token(sys.argv[2], 'personal')\n_set_active_token('personal', add_to_git_credential=False)\n";
    let st = std::process::Command::new(&python)
        .args(["-c", script, &work, &personal])
        .env("HF_HOME", &hf_home)
        .status()
        .unwrap();
    assert!(st.success());
    assert!(hf_home.join("stored_tokens").exists() && hf_home.join("token").exists());
    env.vars
        .push(("HF_HOME".into(), hf_home.display().to_string()));

    let out = env.run(&["import", "huggingface"]);
    assert_ok(&out);
    let text = stdout(&out);
    assert!(
        text.contains("[personal] (active)  imported  tv://huggingface/token"),
        "{text}"
    );
    assert!(
        text.contains("[Work Token]  imported  tv://huggingface-work-token/token"),
        "{text}"
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
    std::fs::write(
        hf_home.join("stored_tokens"),
        format!("[a]\nhf_token = {hf}\n[b\n"),
    )
    .unwrap();
    env.vars.push((
        "HF_TOKEN_PATH".into(),
        hf_home.join("token").display().to_string(),
    ));
    let out = env.run(&["import", "huggingface"]);
    assert_code(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("stored_tokens:3: a section header must end with ']'"),
        "{err}"
    );
    assert_no_secret(&out, &hf, "broken ini");
}

#[test]
fn ipfs_kit_config_json() {
    let env = Env::new();
    let hf = hf_token();
    let secret = aws_secret();
    let storacha = "MgCYbT1aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789+/aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789+/aBcDeFgHiJk=";
    let dir = env.dir.path().join(".ipfs_kit");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        format!(
            r#"{{
  "huggingface": {{"token": "{hf}", "test_repo": "acme/test-model"}},
  "aws": {{"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "{secret}", "region": "us-east-1"}},
  "s3": {{"test_bucket": "acme-test-bucket"}},
  "storacha": {{"token": "{storacha}"}},
  "ipfs": {{"api": "/ip4/127.0.0.1/tcp/5001"}},
  "version": 3
}}"#
        ),
    )
    .unwrap();
    // The default path is ~/.ipfs_kit/config.json (the harness sets HOME to the test directory).
    let dry = env.run(&["import", "--dry-run", "ipfs-kit"]);
    assert_ok(&dry);
    assert_eq!(
        stdout(&dry).matches("would import").count(),
        7,
        "{}",
        stdout(&dry)
    );
    assert!(
        stderr(&dry).contains("ipfs.api: skipped (not a setting tokenvault knows)"),
        "{}",
        stderr(&dry)
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
    std::fs::write(
        &broken,
        format!(
            "{{\n  \"huggingface\": {{\"token\": \"{}\"}},\n  oops\n}}\n",
            hf_token()
        ),
    )
    .unwrap();
    let out = env.run(&["import", "ipfs-kit", &broken.display().to_string()]);
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains(&format!("{}:3:3: not valid JSON", broken.display())),
        "{}",
        stderr(&out)
    );
}
