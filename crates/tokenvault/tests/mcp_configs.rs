//! `tokenvault mcp list/secure/add/restore` on client configs written as real users write them
//! (tests/fixtures/mcp: comments, odd indentation, unknown keys, docker -e, the Hub's remote server
//! with an Authorization header), for every client of SPEC §4.
//!
//! Fixtures hold `@HF@`-style placeholders, replaced by fresh random tokens per run, so every
//! output can be grepped for the real values. Snapshots (`*.secured`) hold `@TOKENVAULT@` for the
//! binary's path; `UPDATE_SNAPSHOTS=1 cargo test --test mcp_configs` rewrites them.
#![allow(clippy::unwrap_used)]

mod common;
use common::table;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// (client, fixture file, where the client keeps it under $HOME)
const CLIENTS: &[(&str, &str, &str)] = &[
    (
        "claude-desktop",
        "claude_desktop_config.json",
        ".config/Claude/claude_desktop_config.json",
    ),
    ("claude-code", ".claude.json", ".claude.json"),
    ("cursor", "mcp.json", ".cursor/mcp.json"),
    ("vscode", "mcp.json", ".config/Code/User/mcp.json"),
    (
        "windsurf",
        "mcp_config.json",
        ".codeium/windsurf/mcp_config.json",
    ),
    ("gemini", "settings.json", ".gemini/settings.json"),
    ("codex", "config.toml", ".codex/config.toml"),
    ("zed", "settings.json", ".config/zed/settings.json"),
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mcp")
}

fn random_alnum(n: usize) -> String {
    // hf_token() is 34 random alphanumerics after "hf_"; chain as many as needed.
    let mut s = String::new();
    while s.len() < n {
        s.push_str(&hf_token()[3..]);
    }
    s.truncate(n);
    s
}

/// Fresh tokens in each provider's real format.
fn tokens() -> Vec<(&'static str, String)> {
    vec![
        ("@HF@", hf_token()),
        ("@GH@", format!("ghp_{}", random_alnum(36))),
        (
            "@OPENAI@",
            format!("sk-proj-{}T3BlbkFJ{}", random_alnum(40), random_alnum(40)),
        ),
        (
            "@ANTHROPIC@",
            format!("sk-ant-api03-{}AA", random_alnum(93)),
        ),
        (
            "@SLACK@",
            format!("xoxb-1234567890-1234567890-{}", random_alnum(24)),
        ),
        ("@BRAVE@", format!("BSA{}", random_alnum(27))),
    ]
}

fn render(text: &str, tokens: &[(&str, String)]) -> String {
    tokens
        .iter()
        .fold(text.to_owned(), |t, (k, v)| t.replace(k, v))
}

struct Setup {
    env: Env,
    project: PathBuf,
    tokens: Vec<(&'static str, String)>,
    /// (client, installed path, rendered original)
    files: Vec<(&'static str, PathBuf, String)>,
}

impl Setup {
    fn new() -> Setup {
        let env = Env::new();
        let project = env.path("project");
        std::fs::create_dir_all(&project).unwrap();
        let tokens = tokens();
        for (_, t) in &tokens {
            env.secret(t);
        }
        Setup {
            env,
            project,
            tokens,
            files: Vec::new(),
        }
    }

    fn install(&mut self, client: &'static str) -> PathBuf {
        let (_, fixture, rel) = CLIENTS.iter().find(|c| c.0 == client).unwrap();
        let text = std::fs::read_to_string(fixtures().join(client).join(fixture)).unwrap();
        let text = render(&text, &self.tokens);
        let path = self.env.fixture(rel, &text);
        set_mode(&path, 0o644);
        self.files.push((client, path.clone(), text));
        path
    }

    fn install_all(&mut self) {
        for (client, _, _) in CLIENTS {
            self.install(client);
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = self.env.output(
            self.env
                .cmd()
                .current_dir(&self.project)
                .args(args)
                .stdin(std::process::Stdio::null()),
        );
        self.assert_no_token(&stdout(&out), &format!("stdout of {args:?}"));
        self.assert_no_token(&stderr(&out), &format!("stderr of {args:?}"));
        out
    }

    fn assert_no_token(&self, text: &str, what: &str) {
        for (name, value) in &self.tokens {
            assert!(
                !text.contains(value.as_str()),
                "{name} leaked in {what}:\n{text}"
            );
        }
    }

    fn token(&self, name: &str) -> &str {
        &self.tokens.iter().find(|t| t.0 == name).unwrap().1
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn secure_every_client_matches_snapshots_is_idempotent_and_restores_the_original_bytes() {
    let mut s = Setup::new();
    s.install_all();

    // list: every client, every server, plaintext found and masked.
    let out = s.run(&["mcp", "list"]);
    assert_ok(&out);
    let listing = stdout(&out);
    for (client, _, _) in CLIENTS {
        assert!(listing.contains(client), "{client} missing:\n{listing}");
    }
    assert_has(&listing, "PLAINTEXT: env HF_TOKEN hf_");
    assert_has(&listing, "disabled-one");
    assert_has(&listing, "not understood");
    let out = s.run(&["mcp", "list", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json.as_array().unwrap().len(), CLIENTS.len());

    // --dry-run: a diff on stdout, masked; nothing written, nothing stored.
    let out = s.run(&["mcp", "secure", "--dry-run"]);
    assert_ok(&out);
    let diff = stdout(&out);
    assert!(
        diff.contains("+++ ")
            && diff
                .contains("+      \"args\": [\"run\", \"-e\", \"HF_TOKEN=tv://huggingface/token\""),
        "{diff}"
    );
    for (_, path, original) in &s.files {
        assert_eq!(&std::fs::read_to_string(path).unwrap(), original);
    }
    assert!(!s.env.vault().exists(), "a dry run stored nothing");

    let out = s.run(&["mcp", "secure"]);
    assert_ok(&out);
    let bin_path = std::fs::canonicalize(bin()).unwrap();
    let bin_path = bin_path.to_str().unwrap();
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    let mut secured_texts = Vec::new();
    for (client, path, _) in &s.files {
        let text = std::fs::read_to_string(path).unwrap();
        s.assert_no_token(&text, &format!("the secured {client} config"));
        assert_eq!(mode(path), 0o644, "{client}: permissions kept");
        let (_, fixture, _) = CLIENTS.iter().find(|c| c.0 == *client).unwrap();
        let snap = fixtures().join(client).join(format!("{fixture}.secured"));
        let shown = text.replace(bin_path, "@TOKENVAULT@");
        if update {
            std::fs::write(&snap, &shown).unwrap();
        }
        let expected = std::fs::read_to_string(&snap)
            .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_SNAPSHOTS=1 writes it)", snap.display()));
        assert_eq!(
            shown, expected,
            "{client}: secured config differs from its snapshot"
        );
        secured_texts.push(text);
    }

    // The vault holds each value, under the provider's item or the server's.
    assert_eq!(s.env.get("huggingface"), s.token("@HF@"));
    assert_eq!(s.env.get("github"), s.token("@GH@"));
    assert_eq!(s.env.get("openai"), s.token("@OPENAI@"));
    assert_eq!(s.env.get("anthropic"), s.token("@ANTHROPIC@"));
    assert_eq!(s.env.get("slack"), s.token("@SLACK@"));
    assert_eq!(s.env.get("brave-search/brave_api_key"), s.token("@BRAVE@"));

    // Idempotent: a second run changes nothing.
    let out = s.run(&["mcp", "secure"]);
    assert_ok(&out);
    assert_has(&stderr(&out), "Nothing to change");
    for ((_, path, _), before) in s.files.iter().zip(&secured_texts) {
        assert_eq!(&std::fs::read_to_string(path).unwrap(), before);
    }
    let out = s.run(&["mcp", "list"]);
    assert_lacks(&stdout(&out), "PLAINTEXT");

    // Nothing under tokenvault's home holds a token, except the encrypted vault.
    for f in files_under(&s.env.home) {
        if f == s.env.vault() {
            continue;
        }
        let bytes = std::fs::read(&f).unwrap();
        s.assert_no_token(&String::from_utf8_lossy(&bytes), &f.display().to_string());
        if f.starts_with(s.env.home.join("mcp-backups")) {
            assert_eq!(mode(&f), 0o600, "{}", f.display());
        }
    }

    // restore: the original layout, references instead of secrets.
    let out = s.run(&["mcp", "restore"]);
    assert_ok(&out);
    for (client, path, original) in &s.files {
        let text = std::fs::read_to_string(path).unwrap();
        s.assert_no_token(&text, &format!("the restored {client} config"));
        let expected = s
            .tokens
            .iter()
            .fold(original.clone(), |t, (_, v)| t.replace(v.as_str(), "tv://"));
        assert_eq!(
            text.matches("tv://").count(),
            expected.matches("tv://").count(),
            "{client}: each secret became its reference:\n{text}"
        );
    }
    // ... and no server is left with a reference nothing resolves (it keeps its secured form).
    let out = s.run(&["mcp", "list"]);
    assert_lacks(&stdout(&out), "UNRESOLVED");
    // restore --with-secrets: byte for byte what the user had.
    let out = s.run(&["mcp", "restore", "--with-secrets"]);
    assert_ok(&out);
    for (client, path, original) in &s.files {
        assert_eq!(
            &std::fs::read_to_string(path).unwrap(),
            original,
            "{client}: restored bytes"
        );
    }
}

#[test]
fn secure_can_be_limited_to_one_client_and_one_server() {
    let mut s = Setup::new();
    let desktop = s.install("claude-desktop");
    let cursor = s.install("cursor");
    let out = s.run(&[
        "mcp",
        "secure",
        "--client",
        "claude-desktop",
        "--server",
        "github",
    ]);
    assert_ok(&out);
    let text = std::fs::read_to_string(&desktop).unwrap();
    assert!(!text.contains(s.token("@GH@")));
    assert!(text.contains(s.token("@HF@")), "other servers untouched");
    assert_eq!(std::fs::read_to_string(&cursor).unwrap(), s.files[1].2);
    let out = s.run(&["mcp", "secure", "--server", "nope"]);
    assert_code(&out, 2);
    assert!(stderr(&out).contains("no server named 'nope'"));
    let out = s.run(&["mcp", "list", "--client", "emacs"]);
    assert_code(&out, 2);
    assert!(stderr(&out).contains("unknown MCP client 'emacs'"));
}

/// A client config `mcp secure` must refuse, and what it must say. The file is the only config
/// installed: a file that cannot be read is skipped (exit 3) and the others are secured (see
/// mcp_rough_edges.rs), so here nothing is stored.
struct BadFile {
    client: &'static str,
    /// What the config is replaced with (`None`: the fixture as installed).
    text: Option<fn(&Setup) -> String>,
    /// What else is wrong around it (a read-only file, a backup directory that cannot be made).
    break_it: fn(&Setup, &Path),
    code: i32,
    says: &'static [&'static str],
    /// The vault must not exist afterwards.
    nothing_stored: bool,
}

fn bad_files() -> Vec<(&'static str, BadFile)> {
    let as_installed = |_: &Setup, _: &Path| {};
    vec![
        (
            // The file and line are named.
            "invalid JSON",
            BadFile {
                client: "cursor",
                text: Some(|s| {
                    format!(
                        "{{\n  \"mcpServers\": {{\n    \"x\": {{\"env\": {{\"HF_TOKEN\": \"{}\"\n",
                        s.token("@HF@")
                    )
                }),
                break_it: as_installed,
                code: 3,
                says: &[".cursor/mcp.json", "line"],
                nothing_stored: true,
            },
        ),
        (
            "invalid TOML",
            BadFile {
                client: "codex",
                text: Some(|_| "[mcp_servers.hf\ncommand = 'x'\n".into()),
                break_it: as_installed,
                code: 3,
                says: &["config.toml", "TOML"],
                nothing_stored: true,
            },
        ),
        (
            "duplicate server names",
            BadFile {
                client: "cursor",
                text: Some(|_| {
                    "{\"mcpServers\": {\"a\": {\"command\": \"x\"}, \"a\": {\"command\": \"y\"}}}"
                        .into()
                }),
                break_it: as_installed,
                code: 3,
                says: &["'a' appears twice"],
                nothing_stored: true,
            },
        ),
        (
            "a read-only config",
            BadFile {
                client: "claude-desktop",
                text: None,
                break_it: |_, path| set_mode(path, 0o444),
                code: 3,
                says: &["read-only"],
                nothing_stored: true,
            },
        ),
        // A symlinked config is edited in its target: see mcp_rough_edges.rs.
        (
            "a backup directory that cannot be written",
            BadFile {
                client: "claude-desktop",
                text: None,
                break_it: |s, _| {
                    std::fs::create_dir_all(&s.env.home).unwrap();
                    set_mode(&s.env.home, 0o700);
                    std::fs::write(s.env.home.join("mcp-backups"), "not a directory").unwrap();
                },
                code: 2,
                says: &["cannot write the backup"],
                nothing_stored: false,
            },
        ),
    ]
}

fn check_bad_file(name: &'static str, row: BadFile) {
    let mut s = Setup::new();
    let path = s.install(row.client);
    if let Some(text) = row.text {
        let text = text(&s);
        s.env.fixture(&path, &text);
    }
    (row.break_it)(&s, &path);
    let before = std::fs::read_to_string(&path).unwrap();
    let out = s.run(&["mcp", "secure"]);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(row.code),
        "{name}: exit status\n{err}"
    );
    for x in row.says {
        assert!(err.contains(x), "{name}: stderr does not say {x:?}:\n{err}");
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        before,
        "{name}: the config changed"
    );
    if row.nothing_stored {
        assert!(
            !s.env.vault().exists(),
            "{name}: stopped before storing anything"
        );
    }
}

/// Invalid JSON or TOML, duplicate server names, a read-only config, a backup directory that
/// cannot be written: clear errors, and the config stays as it was.
#[test]
fn bad_files_are_clear_errors_and_nothing_changes() {
    table::run(
        "bad_files_are_clear_errors_and_nothing_changes",
        bad_files(),
        check_bad_file,
    );
}

#[test]
fn add_writes_references_only_and_refuses_literal_tokens() {
    let s = Setup::new();
    s.env.set("huggingface", s.token("@HF@"));
    let out = s.run(&[
        "mcp",
        "add",
        "hf",
        "--client",
        "cursor",
        "-e",
        "HF_TOKEN=huggingface",
        "--",
        "npx",
        "-y",
        "@llmindset/hf-mcp-server",
    ]);
    assert_ok(&out);
    let path = s.env.dir.path().join(".cursor/mcp.json");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let entry = &v["mcpServers"]["hf"];
    assert_eq!(
        entry["args"],
        serde_json::json!([
            "run",
            "-e",
            "HF_TOKEN=tv://huggingface",
            "--",
            "npx",
            "-y",
            "@llmindset/hf-mcp-server"
        ])
    );
    // Same name again: refused without --force, file unchanged.
    let before = std::fs::read_to_string(&path).unwrap();
    let out = s.run(&["mcp", "add", "hf", "--client", "cursor", "--", "x"]);
    assert_error(&out, 2, &["already exists"]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);

    // Remote with a templated header: Claude Desktop gets a proxy entry, Codex too.
    let header = "Authorization: Bearer {{ tv://huggingface/token }}";
    for client in ["claude-desktop", "codex"] {
        let out = s.run(&[
            "mcp",
            "add",
            "hub",
            "--client",
            client,
            "--url",
            "https://huggingface.co/mcp",
            "--header",
            header,
        ]);
        assert_ok(&out);
    }
    let desktop = std::fs::read_to_string(
        s.env
            .dir
            .path()
            .join(".config/Claude/claude_desktop_config.json"),
    )
    .unwrap();
    assert_has(&desktop, "\"proxy\"");
    assert_has(&desktop, header);
    let codex = std::fs::read_to_string(s.env.dir.path().join(".codex/config.toml")).unwrap();
    assert_has(&codex, "[mcp_servers.hub]");
    assert_has(&codex, "\"proxy\"");

    // A literal token is refused, nothing written.
    let literal = format!("Authorization: Bearer {}", s.token("@HF@"));
    let out = s.run(&[
        "mcp",
        "add",
        "bad",
        "--client",
        "cursor",
        "--url",
        "https://x/mcp",
        "--header",
        &literal,
    ]);
    assert_error(&out, 2, &["looks like a Hugging Face token"]);
    let out = s.run(&[
        "mcp",
        "add",
        "bad",
        "--client",
        "cursor",
        "--",
        "srv",
        "--token",
        s.token("@HF@"),
    ]);
    assert_code(&out, 2);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    // A reference the vault lacks is added with a warning.
    let out = s.run(&[
        "mcp",
        "add",
        "gh",
        "--client",
        "cursor",
        "-e",
        "GITHUB_TOKEN=github",
        "--",
        "gh-mcp",
    ]);
    assert_ok(&out);
    assert_has(&stderr(&out), "tv://github is not in the vault yet");
}

/// End to end, as a desktop client does it: read the secured config, start the server command
/// it names with a minimal environment, handshake and call a tool with the real MCP SDK client;
/// the server saw the vault's token.
#[test]
fn a_secured_config_launches_its_server_with_the_vault_token() {
    let s = Setup::new();
    let token = s.token("@HF@");
    let server = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/server.py");
    let config = s
        .env
        .dir
        .path()
        .join(".config/Claude/claude_desktop_config.json");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    let original = serde_json::json!({"mcpServers": {"hf": {
        "command": "python3",
        "args": [server],
        "env": {"HF_TOKEN": token, "PYTHONUNBUFFERED": "1"}
    }}});
    s.env
        .fixture(&config, serde_json::to_string_pretty(&original).unwrap());
    let out = s.run(&["mcp", "secure"]);
    assert_ok(&out);

    let secured: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    let entry = &secured["mcpServers"]["hf"];
    assert!(!entry.to_string().contains(token));
    // What the client passes: the entry's env over a minimal environment.
    let mut env = serde_json::json!({
        "HOME": s.env.dir.path(),
        "PATH": std::env::var("PATH").unwrap(),
        "USER": "tester",
        "TOKENVAULT_HOME": s.env.home,
        "TOKENVAULT_PASSPHRASE_FILE": s.env.pass_file,
    });
    for (k, v) in entry["env"].as_object().unwrap() {
        env[k] = v.clone();
    }
    let params =
        serde_json::json!({"command": entry["command"], "args": entry["args"], "env": env});
    let out = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/client.py"))
        .arg(params.to_string())
        .output()
        .expect("python3 with the `mcp` package (scripts/test installs it)");
    // The client started the secured entry's `tokenvault run`; what it prints is its summary.
    let out = s.env.check(&["mcp", "(client of the secured entry)"], out);
    assert_ok(&out);
    assert_no_secret(&out, token, "MCP client output");
    let seen: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(seen["tools"], serde_json::json!(["token_fingerprint"]));
    assert_eq!(
        seen["fingerprint"],
        sha256_hex(token),
        "the server saw the vault's token"
    );
}

#[test]
fn doctor_names_plaintext_tokens_in_client_configs_with_the_fix() {
    let mut s = Setup::new();
    s.install("cursor");
    let out = s.run(&["doctor"]);
    let err = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        err.contains(
            ".cursor/mcp.json (Cursor server 'github', docker -e GITHUB_PERSONAL_ACCESS_TOKEN)"
        ),
        "{err}"
    );
    assert_has(&err, "tokenvault mcp secure --client cursor --server hf");
    assert!(err.contains("ghp_"), "masked value shown: {err}");
    assert_ok(&s.run(&["mcp", "secure"]));
    let out = s.run(&["doctor"]);
    let err = format!("{}{}", stdout(&out), stderr(&out));
    assert_lacks(&err, ".cursor/mcp.json (");
}

#[test]
fn import_mcp_is_mcp_secure() {
    let mut s = Setup::new();
    let path = s.install("windsurf");
    let out = s.run(&["import", "mcp", "--dry-run"]);
    assert_ok(&out);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), s.files[0].2);
    let out = s.run(&["import", "mcp", "--shred"]);
    assert_code(&out, 2);
    let out = s.run(&["import", "mcp", "--client", "windsurf"]);
    assert_ok(&out);
    let text = std::fs::read_to_string(&path).unwrap();
    s.assert_no_token(&text, "windsurf config");
    assert_eq!(s.env.get("slack"), s.token("@SLACK@"));
}
