//! `tokenvault run` end to end: the child gets the values, nothing of ours reaches its stdout,
//! precedence works both ways, missing references stop before the child starts, the minimal
//! environment of desktop MCP clients works, signals and exit statuses belong to the child.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::*;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn read(p: &std::path::Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

#[test]
fn child_gets_the_value_and_our_stdout_stays_empty() {
    let (env, token) = Env::with_hf_token();
    let out_file = env.test_file("seen");
    let probe = env.env_probe(&["HF_TOKEN"]);
    let out = env.run(&[
        "run",
        "-e",
        "HF_TOKEN=tv://huggingface/token",
        "--",
        &probe,
        "sh",
        "-c",
        &format!(
            "printf %s \"$HF_TOKEN\" > {}; printf 'child says hi\\n'",
            out_file.display()
        ),
    ]);
    assert_ok(&out);
    assert_eq!(read(&out_file), token);
    assert_eq!(
        stdout(&out),
        "child says hi\n",
        "only the child's bytes on stdout"
    );
    assert_eq!(stderr(&out), "", "nothing on stderr either");
}

#[test]
fn the_value_is_never_in_the_childs_cmdline() {
    let (env, token) = Env::with_hf_token();
    let probe = env.env_probe(&["HF_TOKEN"]);
    let mut c = env.cmd();
    c.args([
        "run",
        "-e",
        "HF_TOKEN=huggingface",
        "--",
        &probe,
        "sleep",
        "1",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    let child = c.spawn().unwrap();
    // exec replaced tokenvault: the same pid is now `sleep`.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut cmdline = String::new();
    while Instant::now() < deadline {
        cmdline = String::from_utf8_lossy(
            &std::fs::read(format!("/proc/{}/cmdline", child.id())).unwrap_or_default(),
        )
        .replace('\0', " ");
        if cmdline.starts_with("sleep") {
            break;
        }
        assert!(!cmdline.contains(&token), "token in argv: {cmdline}");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        cmdline.trim_end(),
        "sleep 1",
        "tokenvault exec'd the command"
    );
    let environ = std::fs::read(format!("/proc/{}/environ", child.id())).unwrap();
    assert!(
        String::from_utf8_lossy(&environ).contains(&format!("HF_TOKEN={token}")),
        "value is in the child's environment"
    );
    let out = env.check(&Env::args_of(&c), child.wait_with_output().unwrap());
    assert!(out.status.success());
    assert!(!stderr(&out).contains(&token));
}

#[test]
fn existing_variable_wins_unless_vault_wins() {
    let (env, token) = Env::with_hf_token();
    let probe = env.env_probe(&["HF_TOKEN"]);
    let show = |extra: &[&str], hf: Option<&str>| {
        let mut c = env.cmd();
        if let Some(v) = hf {
            c.env("HF_TOKEN", v);
        }
        let mut args = vec!["run", "-e", "HF_TOKEN=huggingface"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", &probe, "sh", "-c", "printf %s \"$HF_TOKEN\""]);
        env.output(c.args(&args).stdin(Stdio::null()))
    };
    let out = show(&[], Some("from-the-environment"));
    assert_ok(&out);
    assert_eq!(stdout(&out), "from-the-environment");
    assert_has(&stderr(&out), "HF_TOKEN is already set");
    assert!(stderr(&out).contains("--vault-wins"));
    assert_no_secret(&out, &token, "precedence notice");
    let out = show(&["--vault-wins"], Some("from-the-environment"));
    assert_eq!(stdout(&out), token);
    assert_eq!(stderr(&out), "");
    let out = show(&[], Some(""));
    assert_eq!(stdout(&out), token, "an empty variable does not win");
}

#[test]
fn missing_references_are_all_named_and_the_child_never_starts() {
    let env = Env::new();
    env.set("huggingface", &hf_token());
    let marker = env.path("started");
    let out = env.run(&[
        "run",
        "-e",
        "A=tv://nope/token",
        "-e",
        "HF_TOKEN=huggingface",
        "-e",
        "B=tv://aws/secret_access_key",
        "--",
        "touch",
        marker.to_str().unwrap(),
    ]);
    let err = assert_error(&out, 2, &["tv://nope/token", "tv://aws/secret_access_key"]);
    assert_lacks(&err, "tv://huggingface/token");
    assert_has(&err, "tokenvault set");
    assert!(!marker.exists());
    assert_eq!(stdout(&out), "");
}

#[test]
fn locked_vault_says_how_to_unlock() {
    let env = Env::new();
    env.set("huggingface", &hf_token());
    let out = env.output(
        env.cmd()
            .env_remove("TOKENVAULT_PASSPHRASE_FILE")
            .args(["run", "-e", "HF_TOKEN=huggingface", "--", "true"])
            .stdin(Stdio::null()),
    );
    assert_error(&out, 2, &["tokenvault unlock"]);
}

#[test]
fn works_in_the_minimal_environment_of_desktop_clients() {
    // Set up as a user would: default directories under HOME, then `unlock` once.
    let env = Env::new();
    let home = env.path("user-home");
    std::fs::create_dir_all(&home).unwrap();
    let token = hf_token();
    let user_cmd = |args: &[&str], stdin: Option<&str>| {
        if let (Some(value), Some(&"set")) = (stdin, args.first()) {
            env.secret(stdin_value(value));
        }
        let mut c = std::process::Command::new(bin());
        c.env_clear()
            .env("HOME", &home)
            .env("PATH", "/usr/bin:/bin")
            .env("TOKENVAULT_PASSPHRASE_FILE", &env.pass_file)
            .env("TOKENVAULT_SCRYPT_LOG_N", "10")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        if let Some(s) = stdin {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
        } else {
            drop(child.stdin.take());
        }
        env.check(args, child.wait_with_output().unwrap())
    };
    assert_ok(&user_cmd(&["set", "huggingface", "--stdin"], Some(&token)));
    assert_ok(&user_cmd(&["unlock", "--timeout", "2m"], None));
    // Exactly what a desktop client does: env -i HOME=… PATH=… USER=… CMD.
    let probe = env.env_probe(&["HF_TOKEN"]);
    let out = std::process::Command::new("env")
        .args([
            "-i",
            &format!("HOME={}", home.display()),
            "PATH=/usr/bin:/bin",
            "USER=tester",
            bin(),
        ])
        .args([
            "run",
            "-e",
            "HF_TOKEN=tv://huggingface/token",
            "--",
            &probe,
            "sh",
            "-c",
            "printf %s \"$HF_TOKEN\"",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = env.check(&["run", "(desktop client)"], out);
    let _ = user_cmd(&["lock"], None);
    assert_ok(&out);
    assert_eq!(stdout(&out), token);
    assert_eq!(stderr(&out), "");
}

#[test]
fn exit_status_and_signals_belong_to_the_child() {
    let env = Env::new();
    env.set("huggingface", &hf_token());
    let probe = env.env_probe(&["HF_TOKEN"]);
    let out = env.run(&[
        "run",
        "-e",
        "HF_TOKEN=huggingface",
        "--",
        &probe,
        "sh",
        "-c",
        "exit 42",
    ]);
    assert_code(&out, 42);
    // Killed by a signal: the shell that started us sees 128+signal.
    let out = std::process::Command::new("sh")
        .args([
            "-c",
            &format!(
                "\"{}\" run -- sh -c 'kill -9 $$'; echo \"status=$?\"",
                bin()
            ),
        ])
        .env("TOKENVAULT_HOME", &env.home)
        .env("TOKENVAULT_BACKEND", "file")
        .output()
        .unwrap();
    let out = env.check(&["run", "(through sh)"], out);
    assert_eq!(stdout(&out).trim(), "status=137");

    // SIGTERM sent to the process a client started reaches the child.
    let marker = env.path("got-term");
    let mut c = env.cmd();
    c.args([
        "run",
        "-e",
        "HF_TOKEN=huggingface",
        "--",
        &probe,
        "sh",
        "-c",
        &format!(
            "trap 'echo term > {}; exit 7' TERM; echo ready; while :; do sleep 0.05; done",
            marker.display()
        ),
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut first = [0u8; 6];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    assert_eq!(&first, b"ready\n");
    unsafe_kill(child.id(), 15);
    let out = env.check(&Env::args_of(&c), child.wait_with_output().unwrap());
    let status = out.status;
    assert_eq!(status.code(), Some(7), "{status:?}");
    assert_eq!(read(&marker).trim(), "term");
    let _ = status.signal();
}

fn unsafe_kill(pid: u32, sig: i32) {
    let ok = std::process::Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn env_file_references_resolve_and_plain_values_pass_through() {
    let (env, token) = Env::with_hf_token();
    let dotenv = env.path(".env");
    std::fs::write(
        &dotenv,
        "# project settings\nHF_TOKEN=tv://huggingface/token\nexport MODEL_ID='org/model'\nEMPTY=\n",
    )
    .unwrap();
    let probe = env.env_probe(&["HF_TOKEN"]);
    let out = env.run(&[
        "run",
        "--env-file",
        dotenv.to_str().unwrap(),
        "--",
        &probe,
        "sh",
        "-c",
        "printf '%s|%s|%s' \"$HF_TOKEN\" \"$MODEL_ID\" \"${EMPTY-unset}\"",
    ]);
    assert_ok(&out);
    assert_eq!(stdout(&out), format!("{token}|org/model|"));

    std::fs::write(&dotenv, "OK=1\nthis line is broken\n").unwrap();
    let out = env.run(&["run", "--env-file", dotenv.to_str().unwrap(), "--", "true"]);
    assert_error(&out, 2, &[".env: line 2"]);
}

#[test]
fn profiles_set_list_use_rm() {
    let (env, token) = Env::with_hf_token();
    assert_ok(&env.run(&[
        "profile",
        "set",
        "hf-mcp",
        "HF_TOKEN=tv://huggingface/token",
        "HUGGING_FACE_HUB_TOKEN=huggingface",
    ]));
    let list = env.run(&["profile", "list"]);
    assert_has(
        &stdout(&list),
        "hf-mcp\n  HF_TOKEN=tv://huggingface/token\n",
    );
    let probe = env.env_probe(&["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"]);
    let out = env.run(&[
        "run",
        "-p",
        "hf-mcp",
        "--",
        &probe,
        "sh",
        "-c",
        "printf %s \"$HUGGING_FACE_HUB_TOKEN\"",
    ]);
    assert_eq!(stdout(&out), token);
    // -e wins over the profile for the same variable.
    env.set("huggingface-work", &hf_token());
    let out = env.run(&[
        "run",
        "-p",
        "hf-mcp",
        "-e",
        "HF_TOKEN=huggingface-work",
        "--",
        "sh",
        "-c",
        "printf %s \"$HF_TOKEN\"",
    ]);
    assert_ne!(stdout(&out), token);
    let bad = env.run(&["profile", "set", "x", "HF_TOKEN"]);
    assert_code(&bad, 2);
    let unknown = env.run(&["run", "-p", "nope", "--", "true"]);
    assert_error(&unknown, 2, &["hf-mcp"]);
    assert_ok(&env.run(&["profile", "rm", "hf-mcp"]));
    assert_eq!(
        stdout(&env.run(&["profile", "list", "--json"])).trim(),
        "{}"
    );
    let config = std::fs::read_to_string(env.home.join("config.toml")).unwrap();
    assert!(!config.contains(&token));
}
