//! Issue "What a new user trips over": a fresh machine, a container, and launches without a
//! terminal (MCP servers started by desktop clients).
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::*;

/// Runs the command with a seccomp filter that refuses keyctl, add_key and request_key with
/// EPERM, as Docker's default profile does.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn without_keyctl(c: &mut std::process::Command) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt;
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
    const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
    const ADD_KEY: u32 = 248;
    const REQUEST_KEY: u32 = 249;
    const KEYCTL: u32 = 250;
    let stmt = |code: u16, k: u32| libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    };
    let jeq = |k: u32, jt: u8, jf: u8| libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf,
        k,
    };
    let ld = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    let ret = (libc::BPF_RET | libc::BPF_K) as u16;
    let filter = vec![
        stmt(ld, 4), // arch
        jeq(AUDIT_ARCH_X86_64, 1, 0),
        stmt(ret, SECCOMP_RET_ALLOW),
        stmt(ld, 0), // syscall number
        jeq(ADD_KEY, 3, 0),
        jeq(REQUEST_KEY, 2, 0),
        jeq(KEYCTL, 1, 0),
        stmt(ret, SECCOMP_RET_ALLOW),
        stmt(ret, SECCOMP_RET_ERRNO | libc::EPERM as u32),
    ];
    // SAFETY: the closure runs in the forked child before exec and only calls prctl, which is
    // async-signal-safe, on memory the closure owns.
    unsafe {
        c.pre_exec(move || {
            let prog = libc::sock_fprog {
                len: filter.len() as u16,
                filter: filter.as_ptr() as *mut libc::sock_filter,
            };
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &prog as *const libc::sock_fprog,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// `unlock` where a container's seccomp profile blocks keyctl: the error says so and what works
/// instead, and reading with TOKENVAULT_PASSPHRASE_FILE still works there.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn unlock_in_a_container_without_keyctl_says_what_works_instead() {
    let env = Env::new();
    env.set("acme/token", "acme-secret-value-00042");
    let out = env.output(without_keyctl(env.cmd().args([
        "unlock",
        "--timeout",
        "60s",
    ])));
    assert_error(
        &out,
        2,
        &[
            "refused the keyctl system call",
            "seccomp",
            "TOKENVAULT_PASSPHRASE_FILE",
        ],
    );
    // What the hint offers works in the same sandbox.
    let out = env.output(without_keyctl(env.cmd().args(["get", "acme/token"])));
    assert_ok(&out);
    assert_eq!(stdout(&out).trim(), "acme-secret-value-00042");
}

/// Writes an executable script (0700) under the test directory.
fn script(env: &Env, name: &str, body: &str) -> std::path::PathBuf {
    let path = env.path(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
    path
}

/// Without a terminal (a desktop client starting an MCP server), a locked file vault asks through
/// TOKENVAULT_ASKPASS, or a graphical prompt (zenity here) when there is a display; a cancelled
/// prompt is a locked vault, and without either nothing is asked.
#[test]
fn without_a_terminal_the_passphrase_is_asked_graphically() {
    let env = Env::new();
    env.set("acme/token", "acme-secret-value-00077");
    let log = env.path("prompted");
    // The prompt program reads the passphrase from the test's 0600 file (never from argv).
    let body = format!(
        "printf '%s\\n' \"$*\" >> {}; head -n 1 {}",
        log.display(),
        env.pass_file.display()
    );
    let askpass = script(&env, "askpass", &body);
    let get = |vars: &[(&str, &str)]| {
        let mut c = env.cmd();
        c.env_remove("TOKENVAULT_PASSPHRASE_FILE")
            .args(["get", "acme/token"])
            .stdin(std::process::Stdio::null());
        for (k, v) in vars {
            c.env(k, v);
        }
        env.output(&mut c)
    };
    let out = get(&[("TOKENVAULT_ASKPASS", askpass.to_str().unwrap())]);
    assert_ok(&out);
    assert_eq!(stdout(&out).trim(), "acme-secret-value-00077");
    let asked = std::fs::read_to_string(&log).unwrap();
    assert_has(&asked, "Passphrase for");

    // Cancelled: the vault stays locked.
    let cancel = script(&env, "cancel", "exit 1");
    let out = get(&[("TOKENVAULT_ASKPASS", cancel.to_str().unwrap())]);
    assert_error(&out, 2, &["locked"]);

    // zenity on PATH and a display: asked through it.
    let bin = env.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let zenity = script(&env, "bin/zenity", &body);
    assert!(zenity.exists());
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let before = std::fs::read_to_string(&log).unwrap().lines().count();
    let out = get(&[("PATH", &path), ("DISPLAY", ":99")]);
    assert_ok(&out);
    let asked = std::fs::read_to_string(&log).unwrap();
    assert!(
        asked.lines().skip(before).any(|l| l.contains("--password")),
        "{asked}"
    );
    // No display: nobody is asked.
    let out = get(&[("PATH", &path)]);
    assert_code(&out, 2);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap().lines().count(),
        before + 1
    );
}

/// Launchers name the `tokenvault` the user's PATH finds (a symlink, as Homebrew, nix and
/// `~/.local/bin` install it), not the file it resolves to; `doctor` flags a launcher whose
/// path is gone.
#[test]
fn launchers_use_the_path_the_user_finds_and_doctor_flags_gone_ones() {
    let env = Env::new();
    env.set("acme/token", "acme-secret-value-00099");
    let bin_dir = env.path("links");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let link = bin_dir.join("tokenvault");
    std::os::unix::fs::symlink(std::fs::canonicalize(bin()).unwrap(), &link).unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let run = |args: &[&str]| env.output(env.cmd().env("PATH", &path).args(args));

    let out = run(&[
        "mcp",
        "add",
        "srv",
        "--client",
        "cursor",
        "-e",
        "ACME=tv://acme/token",
        "--",
        "npx",
        "srv",
    ]);
    assert_ok(&out);
    let config = env.path(".cursor/mcp.json");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    assert_eq!(
        v["mcpServers"]["srv"]["command"].as_str(),
        Some(link.to_str().unwrap()),
        "{v}"
    );
    let out = run(&["hook", "install", "--dry-run"]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains(link.to_str().unwrap()),
        "{}",
        stdout(&out)
    );

    let out = run(&["doctor"]);
    assert_lacks(&stdout(&out), "no longer exists");
    // The link goes away (an uninstall, a moved prefix): doctor names the server and the fix.
    std::fs::remove_file(&link).unwrap();
    let out = env.run(&["doctor"]);
    let text = stdout(&out);
    assert_has(&text, "server 'srv' runs");
    assert_has(&text, "which no longer exists");
}

fn repository_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `tools/` under the test directory holding links to just these system programs: a PATH with
/// nothing else on it.
fn tool_dir(env: &Env, programs: &[&str]) -> std::path::PathBuf {
    let tools = env.path("tools");
    std::fs::create_dir_all(&tools).unwrap();
    for t in programs {
        let found = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| std::path::Path::new(d).join(t))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{t} not found"));
        std::os::unix::fs::symlink(found, tools.join(t)).unwrap();
    }
    tools
}

/// The README's install command on a machine with Debian's old Rust (1.85 on Debian 13), or with
/// none: it stops at once and says exactly what to do.
#[test]
fn install_says_what_to_do_about_a_missing_or_old_rust() {
    let env = Env::new();
    let root = repository_root();
    // A PATH of our own: the shell tools the script uses, and a fake cargo/rustc or none.
    let tools = tool_dir(
        &env,
        &["bash", "sed", "sort", "head", "id", "cat", "dirname"],
    );
    let install = |path: &str| {
        std::process::Command::new(root.join("scripts/install"))
            .env_clear()
            .env("PATH", path)
            .env("HOME", env.dir.path())
            .current_dir(env.dir.path())
            .output()
            .unwrap()
    };
    let out = install(tools.to_str().unwrap());
    let err = assert_error(&out, 2, &["cargo was not found", "rustup"]);
    assert!(
        err.contains("1.89"),
        "the version Cargo.toml asks for: {err}"
    );

    let fake = env.path("debian-rust");
    std::fs::create_dir_all(&fake).unwrap();
    script(
        &env,
        "debian-rust/cargo",
        "echo 'cargo 1.85.0 (d73d2caf9 2024-12-31)'",
    );
    script(
        &env,
        "debian-rust/rustc",
        "echo 'rustc 1.85.0 (4d91de4e4 2025-02-17) (built from a source tarball)'",
    );
    let out = install(&format!("{}:{}", fake.display(), tools.display()));
    assert_code(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("needs Rust 1.89 or newer; this machine has 1.85.0")
            && err.contains("apt-get remove rustc cargo")
            && err.contains("rustup"),
        "{err}"
    );
    // With rustup there, the fix is one command.
    script(&env, "debian-rust/rustup", "exit 0");
    let out = install(&format!("{}:{}", fake.display(), tools.display()));
    assert_error(&out, 2, &["rustup update stable"]);
}

/// `run --item aws` and `export --item aws` inject every field of the item under the
/// catalogue's variable names, as `aws-vault exec` does; a custom item's fields get ITEM_FIELD.
#[test]
fn a_whole_item_is_injected_under_its_variable_names() {
    let env = Env::new();
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    env.set("aws/access_key_id", "AKIAIOSFODNN7EXAMPLE");
    env.set("aws/secret_access_key", secret);
    env.set("aws/region", "eu-west-1");
    env.set("svc-api/token", "svc-custom-value-123456");
    let probe = env.env_probe(&[
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "SVC_API_TOKEN",
    ]);
    let out = env.run(&[
        "run",
        "--item",
        "aws",
        "--item",
        "svc-api",
        "--",
        &probe,
        "sh",
        "-c",
        "printf '%s|%s|%s|%s' \"$AWS_ACCESS_KEY_ID\" \"$AWS_SECRET_ACCESS_KEY\" \"$AWS_REGION\" \"$SVC_API_TOKEN\"",
    ]);
    assert_ok(&out);
    assert_eq!(
        stdout(&out),
        format!("AKIAIOSFODNN7EXAMPLE|{secret}|eu-west-1|svc-custom-value-123456")
    );
    let out = env.run(&["export", "--item", "aws", "--format", "dotenv"]);
    assert_ok(&out);
    let text = stdout(&out);
    assert!(
        text.contains("AWS_ACCESS_KEY_ID=")
            && text.contains("AWS_REGION=")
            && text.contains(secret),
        "{text}"
    );
    let out = env.run(&["run", "--item", "nope", "--", "true"]);
    assert_error(&out, 2, &["no item 'nope' is stored"]);
}

/// Shell plugins: after `eval "$(tokenvault plugin init hf)"`, plain `hf …` runs with HF_TOKEN
/// from the vault (and the arguments as given); an unknown tool needs --item or -p.
#[test]
fn a_shell_plugin_runs_the_tool_with_its_token() {
    let (env, token) = Env::with_hf_token();
    let bin_dir = env.path("tools");
    std::fs::create_dir_all(&bin_dir).unwrap();
    // A stand-in `hf` that proves it got the token without printing it.
    script(
        &env,
        "tools/hf",
        "printf '%s|%s' \"$(printf %s \"$HF_TOKEN\" | sha256sum | cut -d' ' -f1)\" \"$*\"",
    );
    let out = env.run(&["plugin", "init", "hf"]);
    assert_ok(&out);
    let function = stdout(&out);
    assert_has(&function, "hf() {");
    assert!(!function.contains(&token));
    let mut c = env.cmd();
    let vars: Vec<(std::ffi::OsString, std::ffi::OsString)> = c
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned())))
        .collect();
    c = std::process::Command::new("bash");
    c.env_clear().envs(vars).env(
        "PATH",
        format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()),
    );
    c.args(["-c", &format!("{function}\nhf upload 'my model' ./weights")])
        .current_dir(env.dir.path());
    let out = env.output(&mut c);
    assert_ok(&out);
    assert_eq!(
        stdout(&out),
        format!("{}|upload my model ./weights", sha256_hex(&token))
    );

    let out = env.run(&["plugin", "init", "mytool"]);
    assert_error(&out, 2, &["--item ITEM"]);
    let out = env.run(&[
        "plugin",
        "init",
        "mytool",
        "--item",
        "huggingface",
        "--shell",
        "fish",
    ]);
    assert_ok(&out);
    assert_has(&stdout(&out), "function mytool --wraps mytool");
    let out = env.run(&["plugin", "init", "rm -rf"]);
    assert_code(&out, 2);
}

/// scripts/test on a toolchain without rustfmt/clippy, and package installs as a user without
/// sudo: each stops with what to do instead of failing halfway.
#[test]
fn the_setup_scripts_say_what_is_missing() {
    let env = Env::new();
    let root = repository_root();
    let tools = tool_dir(&env, &["bash", "sed", "sort", "head", "cat"]);
    // A minimal toolchain: cargo and rustc, no fmt/clippy subcommands, no rustup.
    script(
        &env,
        "tools/cargo",
        "case \"$1\" in fmt|clippy) echo \"error: no such command: \\`$1\\`\" >&2; exit 101;; *) echo 'cargo 1.95.0';; esac",
    );
    script(
        &env,
        "tools/rustc",
        "echo 'rustc 1.95.0 (59807616e 2026-04-14)'",
    );
    // Not root, and no sudo.
    script(&env, "tools/id", "echo 1000");
    let lib = |call: &str| {
        std::process::Command::new(tools.join("bash"))
            .env_clear()
            .env("PATH", &tools)
            .args([
                "-c",
                &format!("cd {} && . scripts/lib.sh && {call}", root.display()),
            ])
            .output()
            .unwrap()
    };
    let out = lib("need_rust && need_lint_tools");
    assert_error(
        &out,
        2,
        &[
            "`cargo fmt` is missing",
            "rustup component add rustfmt clippy",
        ],
    );
    let out = lib("apt_install gcc libc6-dev");
    assert_code(&out, 2);
    assert_has(
        &stderr(&out),
        "these Debian packages are needed: gcc libc6-dev",
    );
    assert_has(&stderr(&out), "install sudo");
}

/// The first `set` on a terminal asks in the README's order: the backend is chosen, the vault is
/// created (its passphrase), and only then the value is asked for.
#[test]
fn the_first_set_asks_for_the_new_vault_passphrase_before_the_value() {
    use std::io::Write;
    let env = Env::new();
    // On a terminal (util-linux `script`), typing Ctrl-D at the first prompt.
    let c = env.cmd();
    let mut script = std::process::Command::new("script");
    script.env_clear();
    for (k, v) in c.get_envs() {
        if let (Some(v), false) = (v, k == "TOKENVAULT_PASSPHRASE_FILE") {
            script.env(k, v);
        }
    }
    let mut child = script
        .env("TERM", "dumb")
        .current_dir(env.dir.path())
        .args(["-qec", &format!("{} set huggingface", bin()), "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut stdin = child.stdin.take().unwrap();
    for _ in 0..4 {
        let _ = stdin.write_all(b"\x04");
        let _ = stdin.flush();
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    drop(stdin);
    let out = env.check(&["set", "huggingface"], child.wait_with_output().unwrap());
    let text = stdout(&out) + &stderr(&out);
    let creating = text
        .find("Creating the encrypted vault")
        .unwrap_or_else(|| panic!("{text}"));
    if let Some(value) = text.find("Value for tv://huggingface/token") {
        assert!(creating < value, "{text}");
    }
    assert!(!out.status.success(), "no passphrase was typed: {text}");
}
