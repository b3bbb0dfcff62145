//! Issue "What a new user trips over", section "MCP and references": each test pins one rough
//! edge of `mcp secure`/`restore`/`list`, `doctor`, `rm` and `status` that a first-time user hit.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Output;

const CURSOR: &str = ".cursor/mcp.json";

/// Writes a Cursor config (as a JSON value) under the test's HOME.
fn cursor_config(env: &Env, config: &Value) -> PathBuf {
    env.fixture(CURSOR, serde_json::to_string_pretty(config).unwrap())
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn both(out: &Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

fn tokenvault_path() -> String {
    std::fs::canonicalize(bin())
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

/// MCP 1: `mcp restore` (without `--with-secrets`) used to put `"HF_TOKEN": "tv://huggingface/token"`
/// back into a server that nothing launches through tokenvault, so the server got the literal
/// string. Now the server keeps its secured form.
#[test]
fn restore_without_secrets_keeps_the_server_secured() {
    let env = Env::new();
    let token = hf_token();
    env.secret(&token);
    let path = cursor_config(
        &env,
        &json!({"mcpServers": {"hf": {"command": "npx", "args": ["-y", "hf-mcp"], "env": {"HF_TOKEN": token, "LOG": "1"}}}}),
    );
    assert_ok(&env.run(&["mcp", "secure"]));
    let out = env.run(&["mcp", "restore"]);
    assert_ok(&out);
    let server = &read_json(&path)["mcpServers"]["hf"];
    assert_eq!(server["command"], tokenvault_path(), "{server}");
    assert_eq!(
        server["args"],
        json!([
            "run",
            "-e",
            "HF_TOKEN=tv://huggingface/token",
            "--",
            "npx",
            "-y",
            "hf-mcp"
        ])
    );
    assert_eq!(server["env"], json!({"LOG": "1"}));
    assert!(both(&out).contains("--with-secrets"), "{}", both(&out));
    let out = env.run(&["mcp", "list"]);
    assert_lacks(&stdout(&out), "UNRESOLVED");
    // Asked for, the plaintext comes back as it was.
    assert_ok(&env.run(&["mcp", "restore", "--with-secrets"]));
    let server = &read_json(&path)["mcpServers"]["hf"];
    assert_eq!(server["env"]["HF_TOKEN"], token.as_str());
    assert_eq!(server["command"], "npx");
}

/// MCP 1: a `tv://` reference in a plain server's env (as an older restore left it) is flagged
/// by `mcp list` and `doctor`, and `mcp secure` fixes it instead of "Nothing to change".
#[test]
fn a_reference_nothing_resolves_is_flagged_and_secure_wraps_the_server() {
    let env = Env::new();
    let path = cursor_config(
        &env,
        &json!({"mcpServers": {
            "hf": {"command": "npx", "args": ["hf-mcp"], "env": {"HF_TOKEN": "tv://huggingface/token"}},
            "hub": {"url": "https://hub.example/mcp", "headers": {"Authorization": "Bearer tv://huggingface/token"}}
        }}),
    );
    let out = env.run(&["mcp", "list"]);
    assert_ok(&out);
    let listing = stdout(&out);
    assert!(
        listing.contains(
            "UNRESOLVED tv:// reference: env HF_TOKEN tv://huggingface/token (the server gets the literal string)"
        ),
        "{listing}"
    );
    assert_has(&listing, "header Authorization tv://huggingface/token");
    let out = env.run(&["mcp", "list", "--json"]);
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        json[0]["servers"][0]["unresolved"],
        json!([{"place": "env HF_TOKEN", "reference": "tv://huggingface/token", "fixable": true}])
    );

    let out = env.run(&["doctor"]);
    assert_code(&out, 1);
    let report = both(&out);
    assert_has(
        &report,
        "server 'hf', env HF_TOKEN): tv://huggingface/token is not resolved",
    );
    assert_has(&report, "tokenvault mcp secure --client cursor --server hf");

    let out = env.run(&["mcp", "secure"]);
    assert_ok(&out);
    let err = stderr(&out);
    assert_lacks(&err, "Nothing to change");
    // Nothing is stored under that name yet: said, with the command that stores it.
    assert_has(&err, "tv://huggingface/token is not in the vault");
    assert_has(&err, "tokenvault set huggingface/token");
    // The remote server's header is not turned into a vault read sent to a URL tokenvault did
    // not choose: reported, with the command that does it if the user trusts the server.
    assert_has(&err, "hub.example");
    assert_has(&err, "--force");
    let v = read_json(&path);
    assert_eq!(
        v["mcpServers"]["hf"]["args"],
        json!([
            "run",
            "-e",
            "HF_TOKEN=tv://huggingface/token",
            "--",
            "npx",
            "hf-mcp"
        ])
    );
    assert!(v["mcpServers"]["hf"].get("env").is_none());
    assert_eq!(v["mcpServers"]["hub"]["url"], "https://hub.example/mcp");
    let out = env.run(&["mcp", "list"]);
    assert_lacks(&stdout(&out), "env HF_TOKEN tv://");
}

/// MCP 5: `mcp secure --dry-run` asked for the file vault's passphrase (it read every value to
/// reuse names). It opens no vault now: with no passphrase available and no terminal it shows
/// the plan, naming items from the index.
#[test]
fn secure_dry_run_needs_no_passphrase() {
    let env = Env::new();
    let token = hf_token();
    let other = hf_token();
    env.secret(&other);
    env.set("huggingface", &token);
    let path = cursor_config(
        &env,
        &json!({"mcpServers": {
            "hf": {"command": "npx", "args": ["hf-mcp"], "env": {"HF_TOKEN": token}},
            "work": {"command": "npx", "args": ["hf-mcp"], "env": {"HF_TOKEN": other}}
        }}),
    );
    let original = std::fs::read_to_string(&path).unwrap();
    let vault_before = std::fs::read(env.vault()).unwrap();
    let mut c = env.cmd();
    c.env_remove("TOKENVAULT_PASSPHRASE_FILE")
        .args(["mcp", "secure", "--dry-run"])
        .stdin(std::process::Stdio::null());
    let out = env.output(&mut c);
    assert_ok(&out);
    let diff = stdout(&out);
    let added: Vec<&str> = diff.lines().filter(|l| l.starts_with('+')).collect();
    assert!(
        added
            .iter()
            .any(|l| l.contains("\"HF_TOKEN=tv://huggingface/token\"")),
        "{diff}"
    );
    // Another value than the stored one goes under another name, as the real run does.
    assert!(
        added
            .iter()
            .any(|l| l.contains("\"HF_TOKEN=tv://huggingface-work/token\"")),
        "{diff}"
    );
    let err = stderr(&out);
    assert_has(&err, "already in the vault, judging by its masked form");
    assert!(!err.to_lowercase().contains("passphrase"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
    assert_eq!(std::fs::read(env.vault()).unwrap(), vault_before);
}

/// MCP 2: one malformed client config stopped `mcp secure` for every client. It is skipped with
/// an error naming the file and why, the others are secured, and the exit code (3, documented in
/// the help) says something was skipped.
#[test]
fn a_malformed_config_is_skipped_and_the_others_are_secured() {
    let env = Env::new();
    let token = hf_token();
    env.secret(&token);
    let broken = env.fixture(
        CURSOR,
        "{\n  \"mcpServers\": {\n    \"x\": {\"command\": \n",
    );
    let desktop = env.fixture(
        ".config/Claude/claude_desktop_config.json",
        serde_json::to_string_pretty(
            &json!({"mcpServers": {"hf": {"command": "npx", "args": ["hf-mcp"], "env": {"HF_TOKEN": token}}}}),
        )
        .unwrap(),
    );
    let out = env.run(&["mcp", "secure"]);
    assert_error(
        &out,
        3,
        &[
            "error: skipped cursor ~/.cursor/mcp.json",
            "line",
            "1 client config skipped",
        ],
    );
    assert_eq!(
        std::fs::read_to_string(&broken).unwrap(),
        "{\n  \"mcpServers\": {\n    \"x\": {\"command\": \n"
    );
    let text = std::fs::read_to_string(&desktop).unwrap();
    assert!(!text.contains(&token), "the readable config was secured");
    assert_has(&text, "HF_TOKEN=tv://huggingface/token");
    assert_eq!(env.get("huggingface"), token);
    // The dry run skips it the same way.
    assert_code(&env.run(&["mcp", "secure", "--dry-run"]), 3);
    let help = stdout(&env.run(&["mcp", "secure", "--help"]));
    assert_has(&help, "3 some config could not be");
}

/// MCP 4: a config kept as a symbolic link by a dotfile manager (stow, chezmoi, home-manager)
/// was refused. Its target is edited now: the link stays, the target is replaced atomically in
/// its own directory with its permissions, and the output names the file edited.
#[test]
fn a_symlinked_config_is_edited_in_its_target() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let token = hf_token();
    env.secret(&token);
    let original = serde_json::to_string_pretty(
        &json!({"mcpServers": {"hf": {"command": "npx", "args": ["hf-mcp"], "env": {"HF_TOKEN": token}}}}),
    )
    .unwrap();
    let real = env.fixture("dotfiles/cursor/mcp.json", &original);
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = env.path(CURSOR);
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    // A relative link, as stow makes them.
    std::os::unix::fs::symlink("../dotfiles/cursor/mcp.json", &link).unwrap();

    let out = env.run(&["mcp", "secure"]);
    assert_ok(&out);
    let real_canon = std::fs::canonicalize(&real).unwrap();
    assert_has(&stdout(&out), &format!("edited {}", real_canon.display()));
    let meta = std::fs::symlink_metadata(&link).unwrap();
    assert!(meta.file_type().is_symlink(), "the link stays a link");
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        Path::new("../dotfiles/cursor/mcp.json")
    );
    let text = std::fs::read_to_string(&real).unwrap();
    assert!(
        !text.contains(&token) && text.contains("HF_TOKEN=tv://huggingface/token"),
        "{text}"
    );
    assert_eq!(
        std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
        0o640,
        "the target keeps its permissions"
    );
    let beside: Vec<_> = std::fs::read_dir(real.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        beside,
        ["mcp.json"],
        "no temporary file left beside the target"
    );
    // The backup restores through the link too.
    assert_ok(&env.run(&["mcp", "restore", "--with-secrets"]));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read_to_string(&real).unwrap(), original);
}

/// MCP 4: a link is refused (skipped, exit 3) only when its target is not a regular file or not
/// the user's own, with an error saying which.
#[test]
fn a_symlink_to_something_not_ours_or_not_a_file_is_refused_clearly() {
    let env = Env::new();
    let link = env.path(CURSOR);
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    let dir = env.path("dotfiles/a-directory");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(&dir, &link).unwrap();
    let out = env.run(&["mcp", "secure"]);
    assert_code(&out, 3);
    assert!(
        stderr(&out).contains("which is not a regular file") || stderr(&out).contains("directory"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_file(&link).unwrap();

    let other = env.fixture(
        "dotfiles/theirs.json",
        r#"{"mcpServers": {"x": {"command": "npx", "env": {"T": "tv://huggingface/token"}}}}"#,
    );
    std::os::unix::fs::symlink(&other, &link).unwrap();
    // Only root can give a file away; elsewhere this half is covered by the check's unit.
    if std::os::unix::fs::chown(&other, Some(65534), Some(65534)).is_ok() {
        let before = std::fs::read_to_string(&other).unwrap();
        let out = env.run(&["mcp", "secure"]);
        assert_error(&out, 3, &["which belongs to another user (uid 65534)"]);
        assert_eq!(std::fs::read_to_string(&other).unwrap(), before);
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
    }
}

/// MCP 3: `rm` of a value a profile, a secured MCP server and a wrapper script use deleted it
/// silently, and each failed at its next launch. Now each user is named and `rm` refuses
/// without `--force` (exit 2, with a hint); afterwards `status` and `doctor` report the
/// dangling references with the fix.
#[test]
fn rm_names_every_user_and_status_and_doctor_report_dangling_references() {
    let (env, token) = Env::with_hf_token();
    let spare = hf_token();
    env.set("spare", &spare);
    assert_ok(&env.run(&[
        "profile",
        "set",
        "hf-mcp",
        "HF_TOKEN=tv://huggingface/token",
    ]));
    assert_ok(&env.run(&[
        "mcp",
        "add",
        "hf",
        "--client",
        "cursor",
        "-e",
        "HF_TOKEN=huggingface",
        "--",
        "npx",
        "hf-mcp",
    ]));
    let script = env.path("bin/hf.sh");
    std::fs::create_dir_all(script.parent().unwrap()).unwrap();
    assert_ok(&env.run(&[
        "wrapper",
        "hf",
        "-e",
        "HF_TOKEN=huggingface/token",
        "-o",
        script.to_str().unwrap(),
        "--",
        "/bin/true",
    ]));
    let users = [
        "profile hf-mcp (HF_TOKEN) uses tv://huggingface/token".to_owned(),
        "cursor server 'hf' in ~/.cursor/mcp.json (HF_TOKEN) uses tv://huggingface".to_owned(),
        format!(
            "wrapper {} (HF_TOKEN) uses tv://huggingface/token",
            script.display()
        ),
    ];

    for target in [
        &["rm", "huggingface/token"][..],
        &["rm", "huggingface", "--yes"],
    ] {
        let out = env.run(target);
        assert_code(&out, 2);
        let err = stderr(&out);
        for u in &users {
            assert!(err.contains(&format!("warning: {u}")), "{u}:\n{err}");
        }
        assert!(
            err.contains("not deleting") && err.contains("hint:") && err.contains("--force"),
            "{err}"
        );
    }
    assert_eq!(env.get("huggingface"), token, "nothing was deleted");
    // A value nothing uses goes as before.
    assert_ok(&env.run(&["rm", "spare/token"]));

    let out = env.run(&["rm", "huggingface/token", "--force"]);
    assert_ok(&out);
    assert!(stderr(&out).contains(&users[0]), "{}", stderr(&out));

    let out = env.run(&["status"]);
    assert_code(&out, 1);
    let report = stdout(&out);
    assert!(
        report.contains(&format!(
            "tv://huggingface/token  missing  named by profile hf-mcp (HF_TOKEN), cursor server 'hf' in ~/.cursor/mcp.json (HF_TOKEN), wrapper {} (HF_TOKEN), not in the vault; next: tokenvault set huggingface/token",
            script.display()
        )),
        "{report}"
    );
    let out = env.run(&["doctor"]);
    assert_code(&out, 1);
    let report = both(&out);
    for user in [
        "profile hf-mcp (HF_TOKEN)".to_owned(),
        "cursor server 'hf' in ~/.cursor/mcp.json (HF_TOKEN)".to_owned(),
        format!("wrapper {} (HF_TOKEN)", script.display()),
    ] {
        assert!(
            report.contains(&format!(
                "{user} names tv://huggingface/token, which is not stored in the file backend"
            )),
            "{user}:\n{report}"
        );
    }
    assert_has(
        &report,
        "hint: store it: `tokenvault set huggingface/token`",
    );
    // Stored again: nothing dangles.
    env.set("huggingface", &token);
    let out = env.run(&["doctor"]);
    assert!(!both(&out).contains("dangling"), "{}", both(&out));
}
