//! Remote MCP servers with OAuth: `tokenvault mcp login` end to end against a real authorization
//! server and the Python MCP SDK's auth-protected server (`tests/mcp/oauth_peer.py`, 1.x FastMCP
//! and 2.x MCPServer), with `tests/mcp/browser.py` as `$BROWSER` playing the user; then
//! `mcp proxy --oauth` driven by the SDK's own stdio client (`tests/mcp/oauth_client.py`) in both
//! protocol eras (2025 sessions; 2026-07-28 stateless, with its `Mcp-Method`/`Mcp-Name` headers),
//! against a server of each era and one serving both; expiry → silent refresh, a refused token →
//! refresh, a revoked refresh token → a clear "log in again" error; refreshes of two proxies at
//! once serialised (one rotation, not two); `mcp status`, `mcp logout` (RFC 7009 revocation).
//!
//! Every token the authorization server can issue is generated here and registered with the
//! leak check before anything runs, so no output, file, argv or log of any command may hold one.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::*;
use serde_json::{json, Value};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn peers() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp")
}

/// The interpreters of the two SDK lines: (major version, python3). A missing one fails the test
/// with how to create it; nothing is skipped.
fn python(major: u32) -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_owned();
    let (var, default, spec) = if major == 1 {
        (
            "TOKENVAULT_TEST_VENV",
            target.join("test-venv"),
            "mcp>=1.20,<2",
        )
    } else {
        (
            "TOKENVAULT_TEST_VENV_MCP2",
            target.join("test-venv-mcp2"),
            "mcp>=2,<3",
        )
    };
    let venv = std::env::var_os(var).map(PathBuf::from).unwrap_or(default);
    let python = venv.join("bin/python3");
    assert!(
        python.exists(),
        "no Python venv with the MCP SDK {major}.x at {} (set {var} to another): run scripts/test, or `python3 -m venv {0} && {0}/bin/pip install '{spec}'`",
        venv.display()
    );
    python
}

/// A free port, distinct for every call in this process (see `mcp_proxy.rs` for why not bind(0)).
fn free_port() -> u16 {
    static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let base = 20_000 + (std::process::id() % 250) as u16 * 40;
    loop {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        assert!(n < 400, "no free port for a peer server");
        let port = base + n % 40;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Tokens the authorization server hands out, in order; each registered with the leak check.
fn token_pool(env: &Env) -> Vec<String> {
    let mut seed = [0u8; 16];
    getrandom_bytes(&mut seed);
    let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
    (0..60)
        .map(|i| {
            let t = format!("tvoauth{i:02}x{hex}Q");
            env.secret(&t);
            t
        })
        .collect()
}

fn getrandom_bytes(buf: &mut [u8]) {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(buf)
        .unwrap();
}

/// The authorization server and the OAuth-protected MCP server (one Python process).
struct Peer {
    child: Child,
    as_url: String,
    url: String,
    record: PathBuf,
    log: PathBuf,
}

impl Peer {
    fn start(env: &Env, sdk: u32, extra: &[&str]) -> Peer {
        let (as_port, mcp_port) = (free_port(), free_port());
        let record = env.test_file(format!("oauth-record-{mcp_port}.jsonl"));
        let tokens = env.test_file(format!("oauth-tokens-{mcp_port}.json"));
        std::fs::write(&tokens, json!(token_pool(env)).to_string()).unwrap();
        let log = env.test_file(format!("oauth-peer-{mcp_port}.log"));
        let child = Command::new(python(sdk))
            .arg(peers().join("oauth_peer.py"))
            .args([as_port.to_string(), mcp_port.to_string()])
            .arg(&record)
            .arg(&tokens)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let peer = Peer {
            child,
            as_url: format!("http://127.0.0.1:{as_port}"),
            url: format!("http://127.0.0.1:{mcp_port}/mcp"),
            record,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        for port in [as_port, mcp_port] {
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "the OAuth peer did not start; its log: {}",
                    std::fs::read_to_string(&peer.log).unwrap_or_default()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        peer
    }

    fn records(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.record)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// What the authorization server saw at `endpoint` (`token`, `register`, `revoke`, …).
    fn at(&self, endpoint: &str) -> Vec<Value> {
        self.records()
            .into_iter()
            .filter(|r| r["as"] == endpoint)
            .collect()
    }

    /// The MCP requests the server saw (POSTs to /mcp).
    fn mcp_posts(&self) -> Vec<Value> {
        self.records()
            .into_iter()
            .filter(|r| r["mcp"] == "POST" && r["path"] == "/mcp")
            .collect()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tokenvault mcp login URL --name NAME` with `tests/mcp/browser.py` as the browser.
fn login(env: &Env, url: &str, name: &str, extra: &[&str]) -> Output {
    let browser_log = env.test_file(format!("browser-{name}.log"));
    let mut c = env.cmd();
    c.args(["mcp", "login", url, "--name", name, "--timeout", "60"])
        .args(extra)
        .env(
            "BROWSER",
            format!("python3 {}", peers().join("browser.py").display()),
        )
        .env("OAUTH_BROWSER_LOG", &browser_log)
        .stdin(Stdio::null());
    env.output(&mut c)
}

/// The Python SDK's stdio client (line `sdk`) launching `tokenvault mcp proxy --oauth NAME`.
fn client(env: &Env, sdk: u32, name: &str, mode: &str, steps: Value) -> (Value, String) {
    let params = json!({
        "command": bin(),
        "args": ["mcp", "proxy", "--oauth", name],
        "env": {
            "HOME": env.dir.path(),
            "PATH": std::env::var("PATH").unwrap(),
            "USER": "tester",
            "TOKENVAULT_HOME": env.home,
            "TOKENVAULT_PASSPHRASE_FILE": env.pass_file,
            "TOKENVAULT_SCRYPT_LOG_N": "10",
            "TOKENVAULT_BACKEND": "file",
        },
        "mode": mode,
        "steps": steps,
    });
    let out = Command::new(python(sdk))
        .arg(peers().join("oauth_client.py"))
        .arg(params.to_string())
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    // The client's stderr carries the proxy's.
    let out = env.check(&["mcp", "proxy", "--oauth", name], out);
    assert_ok(&out);
    let seen: Value = serde_json::from_str(stdout(&out).trim())
        .unwrap_or_else(|e| panic!("client output ({e}): {} / {}", stdout(&out), stderr(&out)));
    // No process the client launched has a token in its argv (the leak check has every token).
    env.check(
        &["(argv of the proxy)"],
        Output {
            status: std::process::ExitStatus::default(),
            stdout: seen["cmdlines"].to_string().into_bytes(),
            stderr: Vec::new(),
        },
    );
    (seen, stderr(&out))
}

fn call(text: &str) -> Value {
    json!({"call": "echo", "arguments": {"text": text}})
}

fn status(env: &Env) -> Value {
    let out = env.run(&["mcp", "status", "--json"]);
    assert_ok(&out);
    serde_json::from_str(&stdout(&out)).unwrap()
}

/// The whole story against one SDK line's server, with that line's client: login, tools,
/// expiry → silent refresh, a refused token → refresh, revoked refresh → a clear error.
fn login_proxy_refresh_revoke(sdk: u32) {
    let env = Env::new();
    let peer = Peer::start(&env, sdk, &["--expires", "6"]);

    let out = login(&env, &peer.url, "demo", &[]);
    assert_ok(&out);
    let err = stderr(&out);
    assert_has(&err, "Open this address to sign in:");
    assert_has(&err, "tokenvault mcp proxy --oauth demo");
    // The flow the authorization server saw: discovery, registration, PKCE, resource, state.
    assert_eq!(peer.at("metadata").len(), 1);
    let reg = peer.at("register");
    assert_eq!(reg[0]["ok"], true);
    assert_eq!(reg[0]["auth_method"], "none");
    let authz = peer.at("authorize");
    assert_eq!(authz[0]["problems"], json!([]), "{authz:?}");
    assert_eq!(authz[0]["scope"], "mcp:tools");
    let tok = peer.at("token");
    assert_eq!(
        tok[0]["checks"],
        json!({"code": true, "client": true, "redirect_uri": true, "pkce": true, "resource": true})
    );
    // Tokens live in the vault only: one item, no file outside it holds them (leak check), and
    // `status` shows when they expire without showing them.
    let st = status(&env);
    assert_eq!(st[0]["name"], "demo");
    assert_eq!(st[0]["url"], peer.url.as_str());
    assert_eq!(st[0]["reference"], "tv://mcp-oauth-demo");
    assert_eq!(st[0]["refreshable"], true);
    assert!(st[0]["expires_at"].as_i64().unwrap() > 0);
    let text = stdout(&env.run(&["mcp", "status"]));
    assert_has(&text, "demo");
    assert_has(&text, "expires in");

    let mode = "auto";
    let (seen, err) = client(
        &env,
        sdk,
        "demo",
        mode,
        json!([
            call("hello"),
            {"call": "sdk"},
            {"sleep": 7},
            call("after expiry"),
            {"post": format!("{}/admin/revoke-access", peer.as_url)},
            call("after a refused token"),
            {"post": format!("{}/admin/revoke-all", peer.as_url)},
            call("after revocation"),
            call("again"),
        ]),
    );
    assert_eq!(seen["server"], "tokenvault-oauth-test-server");
    assert_eq!(seen["tools"], json!(["echo", "sdk"]));
    let r = seen["results"].as_array().unwrap();
    assert_eq!(r[0], json!({"text": "hello"}));
    assert_eq!(r[1], json!({"text": format!("mcp {sdk}.x")}));
    assert_eq!(r[2], json!({"text": "after expiry"}), "{r:?} / {err}");
    assert_eq!(
        r[3],
        json!({"text": "after a refused token"}),
        "{r:?} / {err}"
    );
    let e = r[4]["error"].as_str().unwrap_or_default();
    assert!(
        e.contains("could not be renewed") && e.contains("invalid_grant"),
        "{r:?}"
    );
    assert!(
        e.contains(&format!("tokenvault mcp login {} --name demo", peer.url)),
        "{e}"
    );
    assert_eq!(
        r[5]["error"].as_str(),
        Some(e),
        "the same error, not a new attempt"
    );
    assert_has(&err, "could not be renewed");
    assert_has(
        &err,
        &format!(
            "hint: sign in again: `tokenvault mcp login {} --name demo`",
            peer.url
        ),
    );

    // Refresh grants: rotations that worked (expiry, then the refused token), then the one that
    // failed on the revoked refresh token. Every rotation used the refresh token issued last.
    let grants: Vec<Value> = peer
        .at("token")
        .into_iter()
        .filter(|t| t["grant"] == "refresh_token")
        .collect();
    let ok: Vec<&Value> = grants.iter().filter(|g| g["ok"] == true).collect();
    assert!(ok.len() >= 2, "{grants:?}");
    assert!(grants.iter().all(|g| g["resource"] == true));
    assert_eq!(grants.last().unwrap()["ok"], false);
    // A refused refresh is not tried again for every request: once, until the user signs in.
    assert_eq!(
        grants.iter().filter(|g| g["ok"] == false).count(),
        1,
        "{grants:?}"
    );
    let issued = peer.at("issued");
    for (g, prev) in ok.iter().zip(&issued) {
        assert_eq!(
            g["refresh"], prev["refresh"],
            "rotation: {grants:?} {issued:?}"
        );
    }
    // What the MCP server saw: the call after expiry came with a renewed token (not the login's
    // first), the refused token was followed by the same request with a new one.
    let posts = peer.mcp_posts();
    let with_token: Vec<&Value> = posts.iter().filter(|p| !p["token"].is_null()).collect();
    assert!(with_token.iter().any(|p| p["token"].as_i64().unwrap() >= 2));
    let refused: Vec<usize> = with_token
        .iter()
        .enumerate()
        .filter(|(_, p)| p["status"] == 401)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(refused.len(), 3, "{posts:?}");
    let retried = with_token[refused[0] + 1];
    assert_eq!(retried["status"], 200);
    assert_ne!(retried["token"], with_token[refused[0]]["token"]);
    // The era's headers on every request.
    for p in &with_token {
        if sdk == 2 {
            assert_eq!(p["protocol"], "2026-07-28", "{p}");
            assert_eq!(p["session"], false, "{p}");
            assert!(p["method"].is_string(), "{p}");
            if p["method"] == "tools/call" {
                assert!(p["name"] == "echo" || p["name"] == "sdk", "{p}");
            }
        } else if p["protocol"].is_string() {
            assert!(p["protocol"].as_str().unwrap().starts_with("2025-"), "{p}");
            assert_eq!(p["session"], true, "{p}");
        }
    }
    // The rotated tokens were stored: the vault's login is the last one issued before the
    // revocation, and the audit log names the item, never a value.
    let audit = std::fs::read_to_string(env.home.join("audit.jsonl")).unwrap();
    assert_has(&audit, "tv://mcp-oauth-demo");
    assert_has(&audit, "mcp-login");
    assert_has(&audit, "mcp-proxy");
}

#[test]
fn sdk1_login_tools_through_the_proxy_silent_refresh_and_revoked_refresh_error() {
    login_proxy_refresh_revoke(1);
}

#[test]
fn sdk2_login_tools_through_the_proxy_silent_refresh_and_revoked_refresh_error() {
    login_proxy_refresh_revoke(2);
}

/// One login, the same session through the proxy against a server of each era and one that
/// serves both, with each SDK line's client.
#[test]
fn both_eras_through_the_proxy_negotiated_per_server() {
    let env = Env::new();
    let eras = |seen: &Value| seen["protocol"].as_str().unwrap_or_default().to_owned();

    // The 2.x server serves both eras: the 2.x client gets 2026-07-28, the 1.x client (and the
    // 2.x client told to use the handshake) a 2025 session, through the same proxy and login.
    let both = Peer::start(&env, 2, &[]);
    assert_ok(&login(&env, &both.url, "both", &[]));
    let (s, _) = client(&env, 2, "both", "auto", json!([call("modern")]));
    assert_eq!(eras(&s), "2026-07-28");
    assert_eq!(s["results"], json!([{"text": "modern"}]));
    let (s, _) = client(&env, 2, "both", "legacy", json!([call("handshake")]));
    assert!(eras(&s).starts_with("2025-"), "{s}");
    assert_eq!(s["results"], json!([{"text": "handshake"}]));
    let (s, _) = client(&env, 1, "both", "auto", json!([call("sdk1")]));
    assert!(eras(&s).starts_with("2025-"), "{s}");
    assert_eq!(s["results"], json!([{"text": "sdk1"}]));
    let posts = both.mcp_posts();
    assert!(posts
        .iter()
        .any(|p| p["method"] == "server/discover" && p["protocol"] == "2026-07-28"));
    assert!(posts.iter().any(|p| p["session"] == true
        && p["protocol"]
            .as_str()
            .is_some_and(|v| v.starts_with("2025-"))));

    // A 2025 server (1.x): the 2.x client's discover probe is refused and it falls back to the
    // handshake; the proxy treats that as negotiation, not as an error to report.
    let old = Peer::start(&env, 1, &[]);
    assert_ok(&login(&env, &old.url, "old", &[]));
    let (s, err) = client(&env, 2, "old", "auto", json!([call("fell back")]));
    assert!(eras(&s).starts_with("2025-"), "{s}");
    assert_eq!(s["results"], json!([{"text": "fell back"}]));
    assert_lacks(&err, "error:");

    // A server of the 2026-07-28 revision alone: the 2.x client is served; the 1.x client's
    // handshake is refused, and the proxy says why.
    let new = Peer::start(&env, 2, &["--modern-only"]);
    assert_ok(&login(&env, &new.url, "new", &[]));
    let (s, _) = client(&env, 2, "new", "auto", json!([call("stateless")]));
    assert_eq!(eras(&s), "2026-07-28");
    assert_eq!(s["results"], json!([{"text": "stateless"}]));
    for p in new.mcp_posts().iter().filter(|p| p["status"] == 200) {
        assert_eq!(p["session"], false);
        assert!(p["method"].is_string());
    }
    let (s, err) = client(&env, 1, "new", "auto", json!([]));
    assert!(s["connect_error"].is_string(), "{s}");
    assert_has(&err, "share no protocol revision");
}

/// Two proxies of one login whose token expired, called at the same moment: one rotation at
/// the authorization server (a rotated refresh token spent twice would fail the second).
#[test]
fn concurrent_refreshes_are_serialised_across_processes() {
    let env = Env::new();
    let peer = Peer::start(&env, 1, &["--expires", "3"]);
    assert_ok(&login(&env, &peer.url, "shared", &[]));
    std::thread::sleep(Duration::from_secs(4));
    let results: Vec<Value> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|i| {
                let env = &env;
                s.spawn(move || client(env, 1, "shared", "auto", json!([call(&format!("p{i}"))])).0)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["results"], json!([{"text": format!("p{i}")}]), "{r}");
    }
    let grants: Vec<Value> = peer
        .at("token")
        .into_iter()
        .filter(|t| t["grant"] == "refresh_token")
        .collect();
    assert!(grants.iter().all(|g| g["ok"] == true), "{grants:?}");
    // Each proxy may renew once more if the 3 s token expires again during the run, but never
    // with a refresh token already spent.
    let mut spent: Vec<&Value> = grants.iter().map(|g| &g["refresh"]).collect();
    let n = spent.len();
    spent.dedup();
    assert_eq!(spent.len(), n, "{grants:?}");
    assert!(n >= 1);
}

#[test]
fn logout_revokes_the_tokens_and_deletes_the_item() {
    let env = Env::new();
    let peer = Peer::start(&env, 1, &[]);
    assert_ok(&login(&env, &peer.url, "gone", &["--scope", "mcp:tools"]));
    let out = env.run(&["mcp", "logout", "gone", "--json"]);
    assert_ok(&out);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["revoked"], "revoked");
    assert_eq!(v["deleted"], true);
    let revoked = peer.at("revoke");
    assert_eq!(revoked[0]["found"], "refresh_token");
    assert_eq!(revoked[0]["hint"], "refresh_token");
    assert_eq!(revoked[1]["found"], "access_token");
    assert_eq!(status(&env), json!([]));
    // The proxy now says what to do instead of starting.
    let out = env.run(&["mcp", "proxy", "--oauth", "gone"]);
    assert_error(
        &out,
        2,
        &["no OAuth login named 'gone'", "tokenvault mcp login"],
    );
    let out = env.run(&["mcp", "logout", "gone"]);
    assert_error(&out, 2, &["no OAuth login named 'gone'"]);
}

#[test]
fn login_errors_say_what_to_do() {
    let env = Env::new();
    // Not a protected server at all: nothing answers.
    let url = format!("http://127.0.0.1:{}/mcp", free_port());
    let out = login(&env, &url, "x", &[]);
    assert_error(&out, 2, &["could not reach 127.0.0.1", "check the URL"]);
    // Plain http elsewhere than this machine is refused before anything is sent.
    let out = env.run(&["mcp", "login", "http://example.com/mcp"]);
    assert_error(&out, 2, &["plain http"]);
    let out = env.run(&[
        "mcp",
        "login",
        "https://example.com/mcp",
        "--name",
        "Bad Name",
    ]);
    assert_error(&out, 2, &["cannot name an OAuth login"]);
}

/// POSTs to a test hook of the authorization server; its JSON answer.
fn hook(url: &str) -> Value {
    let out = Command::new(python(1))
        .args([
            "-c",
            "import sys, urllib.request; print(urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=b'', method='POST'), timeout=10).read().decode())",
            url,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn md5_hex(s: &str) -> String {
    let out = Command::new(python(1))
        .args([
            "-c",
            "import hashlib, sys; print(hashlib.md5(sys.argv[1].encode()).hexdigest())",
            s,
        ])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `mcp secure` recognises an `npx mcp-remote URL` server whose tokens lie in `~/.mcp-auth`,
/// imports them as a login, rewrites the server to `tokenvault mcp proxy --oauth`, removes the
/// plaintext only then; the proxy serves with the imported tokens; `mcp restore` puts the entry
/// back (and `--with-secrets` mcp-remote's files too).
#[test]
fn secure_converts_an_mcp_remote_entry_and_its_tokens_and_restore_puts_it_back() {
    let env = Env::new();
    let peer = Peer::start(&env, 1, &[]);
    let issued = hook(&format!("{}/admin/issue", peer.as_url));
    let tokens = &issued["tokens"];
    let dir = ".mcp-auth/mcp-remote-0.1.29";
    let hash = md5_hex(&peer.url);
    let token_file = env.fixture(format!("{dir}/{hash}_tokens.json"), tokens.to_string());
    let client_file = env.fixture(
        format!("{dir}/{hash}_client_info.json"),
        json!({"client_id": issued["client_id"], "redirect_uris": ["http://127.0.0.1:1/callback"]})
            .to_string(),
    );
    let verifier = env.fixture(
        format!("{dir}/{hash}_code_verifier.txt"),
        "verifierverifier",
    );
    // Another server's file in the same directory is not touched.
    let other = env.fixture(
        format!("{dir}/{}_tokens.json", md5_hex("https://other.example/mcp")),
        "{}",
    );
    let original = json!({"mcpServers": {"hub": {
        "command": "npx",
        "args": ["-y", "mcp-remote@0.1.29", peer.url],
    }}})
    .to_string();
    let config = env.fixture(".config/Claude/claude_desktop_config.json", &original);

    let out = env.run(&["mcp", "secure", "--dry-run"]);
    assert_ok(&out);
    assert_has(
        &format!("{}{}", stdout(&out), stderr(&out)),
        "mcp-remote OAuth tokens",
    );
    assert_has(
        &format!("{}{}", stdout(&out), stderr(&out)),
        "tv://mcp-oauth-hub",
    );
    assert!(token_file.exists());
    assert_eq!(std::fs::read_to_string(&config).unwrap(), original);

    let out = env.run(&["mcp", "secure"]);
    assert_ok(&out);
    let after: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    let entry = &after["mcpServers"]["hub"];
    assert_eq!(entry["args"], json!(["mcp", "proxy", "--oauth", "hub"]));
    assert!(entry["command"].as_str().unwrap().ends_with("tokenvault"));
    assert!(!token_file.exists() && !client_file.exists() && !verifier.exists());
    assert!(other.exists());
    let st = status(&env);
    assert_eq!(st[0]["name"], "hub");
    assert_eq!(st[0]["url"], peer.url.as_str());
    assert_eq!(st[0]["refreshable"], true);

    // The imported login serves: the proxy sends the token mcp-remote had, and renews with its
    // refresh token and client id when the server refuses it.
    let (seen, _) = client(
        &env,
        1,
        "hub",
        "auto",
        json!([
            call("imported"),
            {"post": format!("{}/admin/revoke-access", peer.as_url)},
            call("renewed"),
        ]),
    );
    assert_eq!(
        seen["results"],
        json!([{"text": "imported"}, {"text": "renewed"}])
    );
    let first = peer
        .mcp_posts()
        .into_iter()
        .find(|p| !p["token"].is_null())
        .unwrap();
    assert_eq!(first["token"], peer.at("admin")[0]["issued"]);
    let grants = peer.at("token");
    assert_eq!(grants.last().unwrap()["ok"], true);
    assert_eq!(
        grants.last().unwrap()["refresh"],
        peer.at("admin")[0]["refresh"]
    );

    // Idempotent.
    let before = std::fs::read_to_string(&config).unwrap();
    assert_ok(&env.run(&["mcp", "secure"]));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), before);

    // Restore: the entry as it was; the tokens stay in the vault…
    assert_ok(&env.run(&["mcp", "restore"]));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), original);
    assert!(!token_file.exists());
    // …unless asked for: mcp-remote's files come back, private, with the current tokens.
    assert_ok(&env.run(&["mcp", "restore", "--with-secrets"]));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), original);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let back: Value = serde_json::from_str(&std::fs::read_to_string(&token_file).unwrap()).unwrap();
    assert!(back["access_token"]
        .as_str()
        .unwrap()
        .starts_with("tvoauth"));
    assert_ne!(
        back["refresh_token"], tokens["refresh_token"],
        "the rotated refresh token"
    );
    let client_back: Value =
        serde_json::from_str(&std::fs::read_to_string(&client_file).unwrap()).unwrap();
    assert_eq!(client_back["client_id"], issued["client_id"]);
}
