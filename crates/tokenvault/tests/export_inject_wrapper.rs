//! `export`, `inject` and `wrapper`: files that hold values are private and never land in git;
//! scripts hold references only and work end to end.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn git(dir: &std::path::Path, args: &[&str]) {
    let st = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "git {args:?}");
}

#[test]
fn export_formats_on_stdout() {
    let (env, token) = Env::with_hf_token();
    let dotenv = env.run(&["export", "-e", "HF_TOKEN=huggingface"]);
    assert_ok(&dotenv);
    assert_eq!(stdout(&dotenv), format!("HF_TOKEN='{token}'\n"));
    let sh = env.run(&["export", "-e", "HF_TOKEN=huggingface", "--format", "sh"]);
    let eval = Command::new("sh")
        .args(["-c", &format!("{}\nprintf %s \"$HF_TOKEN\"", stdout(&sh))])
        .output()
        .unwrap();
    assert_eq!(stdout(&eval), token);
    let json = env.run(&["export", "-e", "HF_TOKEN=huggingface", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["HF_TOKEN"], token);
    assert!(!stderr(&json).contains(&token));
}

#[test]
fn export_file_is_0600_gitignored_and_refuses_symlinks_and_tracked_files() {
    let (env, token) = Env::with_hf_token();
    let repo = env.path("repo");
    std::fs::create_dir_all(repo.join("sub")).unwrap();
    git(&repo, &["init", "-q"]);
    std::fs::write(repo.join("sub/.gitignore"), "*.log").unwrap();
    let target = repo.join("sub/.env");
    let out = env.run(&[
        "export",
        "-e",
        "HF_TOKEN=huggingface",
        "-o",
        target.to_str().unwrap(),
    ]);
    assert_ok(&out);
    assert_no_secret(&out, &token, "export -o");
    assert_eq!(mode(&target), 0o600);
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        format!("HF_TOKEN='{token}'\n")
    );
    let gi = std::fs::read_to_string(repo.join("sub/.gitignore")).unwrap();
    assert_eq!(
        gi, "*.log\n/.env\n",
        "added to the nearest .gitignore, existing lines kept"
    );
    // A second export does not add the line again.
    assert_ok(&env.run(&[
        "export",
        "-e",
        "HF_TOKEN=huggingface",
        "-o",
        target.to_str().unwrap(),
    ]));
    assert_eq!(
        std::fs::read_to_string(repo.join("sub/.gitignore")).unwrap(),
        gi
    );

    // A symlink planted at the target is refused and its target untouched.
    let victim = env.path("victim");
    std::fs::write(&victim, "precious").unwrap();
    let link = repo.join("link.env");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let out = env.run(&[
        "export",
        "-e",
        "HF_TOKEN=huggingface",
        "-o",
        link.to_str().unwrap(),
    ]);
    assert_error(&out, 2, &["symlink"]);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());

    // A file git tracks is refused.
    let tracked = repo.join("config.env");
    std::fs::write(&tracked, "X=1\n").unwrap();
    git(&repo, &["add", "config.env"]);
    git(&repo, &["commit", "-qm", "c"]);
    let out = env.run(&[
        "export",
        "-e",
        "HF_TOKEN=huggingface",
        "-o",
        tracked.to_str().unwrap(),
    ]);
    assert_error(&out, 2, &["git tracks it"]);
    assert_eq!(std::fs::read_to_string(&tracked).unwrap(), "X=1\n");

    // Outside a git work tree: just the private file.
    let plain = env.path("plain.env");
    assert_ok(&env.run(&[
        "export",
        "-e",
        "HF_TOKEN=huggingface",
        "-o",
        plain.to_str().unwrap(),
    ]));
    assert_eq!(mode(&plain), 0o600);
}

#[test]
fn inject_replaces_placeholders_and_lists_every_unknown_reference() {
    let (env, token) = Env::with_hf_token();
    let tpl = env.path("job.yaml");
    std::fs::write(
        &tpl,
        "image: python:3.12\nsecrets:\n  HF_TOKEN: {{ tv://huggingface/token }}\nname: {{ .Values.name }}\n",
    )
    .unwrap();
    let out = env.run(&["inject", "-i", tpl.to_str().unwrap()]);
    assert_ok(&out);
    assert_eq!(
        stdout(&out),
        format!(
            "image: python:3.12\nsecrets:\n  HF_TOKEN: {token}\nname: {{{{ .Values.name }}}}\n"
        )
    );
    let rendered = env.path("out/job.yaml");
    std::fs::create_dir_all(env.path("out")).unwrap();
    assert_ok(&env.run(&[
        "inject",
        "-i",
        tpl.to_str().unwrap(),
        "-o",
        rendered.to_str().unwrap(),
    ]));
    assert_eq!(mode(&rendered), 0o600);

    std::fs::write(
        &tpl,
        "a: {{ tv://nope/x }}\nb: {{ tv://huggingface/token }}\nc: {{ tv://missing }}\n",
    )
    .unwrap();
    let out = env.run(&["inject", "-i", tpl.to_str().unwrap()]);
    assert_error(&out, 2, &["tv://nope/x", "tv://missing/token"]);
    assert_eq!(stdout(&out), "", "nothing rendered on error");
    std::fs::write(&tpl, "a: {{ tv://Bad }}\n").unwrap();
    let out = env.run(&["inject", "-i", tpl.to_str().unwrap()]);
    assert_error(&out, 2, &["job.yaml:line 1"]);
}

#[test]
fn sh_wrapper_holds_references_only_and_works_end_to_end() {
    let (env, token) = Env::with_hf_token();
    let script = env.path("hf-server.sh");
    let out = env.run(&[
        "wrapper",
        "hf-server",
        "-e",
        "HF_TOKEN=tv://huggingface/token",
        "-o",
        script.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "printf '%s %s' \"$HF_TOKEN\" \"$1\"",
        "arg0",
    ]);
    assert_ok(&out);
    assert_no_secret(&out, &token, "wrapper");
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(!text.contains(&token));
    assert!(text.contains("tv://huggingface/token"));
    assert!(
        text.contains(bin())
            || text.contains(&std::fs::canonicalize(bin()).unwrap().display().to_string())
    );
    assert!(
        text.contains("/sh'"),
        "the command is resolved to an absolute path: {text}"
    );
    assert_eq!(mode(&script), 0o700);
    // Run it as a desktop client would: minimal environment, extra arguments passed through.
    let run = Command::new(&script)
        .env_clear()
        .env("HOME", env.dir.path())
        .env("PATH", "/usr/bin:/bin")
        .env("TOKENVAULT_PASSPHRASE_FILE", &env.pass_file)
        .arg("extra")
        .output()
        .unwrap();
    // The wrapper execs `tokenvault run`.
    let run = env.check(&["run", "(through the wrapper)"], run);
    assert_ok(&run);
    assert_eq!(stdout(&run), format!("{token} extra"));

    for (shell, needle) in [("powershell", "@args"), ("cmd", "%*")] {
        let p = env.path(&format!("w.{shell}"));
        assert_ok(&env.run(&[
            "wrapper",
            "x",
            "-e",
            "HF_TOKEN=huggingface",
            "--shell",
            shell,
            "-o",
            p.to_str().unwrap(),
            "--",
            "npx",
            "server",
        ]));
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.contains("HF_TOKEN=huggingface")
                && text.contains(needle)
                && !text.contains(&token),
            "{text}"
        );
    }
}
