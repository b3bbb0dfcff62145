//! `tokenvault mcp proxy` between a real MCP stdio client (Python SDK) and a real MCP Streamable
//! HTTP server (Python SDK FastMCP under uvicorn, behind a middleware that requires the vault's
//! bearer token and records every request), in both response modes (SSE and JSON); the wrong
//! token, a refused connection and a dropped SSE stream; and `tokenvault mcp headers`.
//!
//! The Python peers live in tests/mcp/; `scripts/test` installs the `mcp` package.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::table;
use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

const AUTH: &str = "Authorization: Bearer {{ tv://huggingface/token }}";

fn peers() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp")
}

/// A port for a peer server, distinct for every call in this process. Not the kernel's `bind(0)`:
/// the port it hands out is free again once we close it, so two tests running in parallel could
/// both be given it, and the second peer would then fail to bind while the first one answered its
/// readiness check. Ports come from 20000–29999 (below Linux's ephemeral range), a block per pid.
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

/// A Python server peer on 127.0.0.1, killed on drop.
struct Server {
    child: Child,
    url: String,
    record: PathBuf,
}

impl Server {
    fn start(env: &Env, script: &str, args: &[&str], token: &str) -> Server {
        let port = free_port();
        env.secret(token);
        // The peer's own files (what it saw, its log) are the test's, not the tool's.
        let record = env.test_file(format!("record-{port}.jsonl"));
        let log = std::fs::File::create(env.test_file(format!("server-{port}.log"))).unwrap();
        let child = Command::new("python3")
            .arg(peers().join(script))
            .arg(port.to_string())
            .arg(&record)
            .args(args)
            // The token reaches the server through its environment, not its argv.
            .env("EXPECTED_TOKEN", token)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("python3 with the `mcp` package (scripts/test installs it)");
        let server = Server {
            child,
            url: format!("http://127.0.0.1:{port}/mcp"),
            record,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the {script} peer did not start; its log: {}",
                std::fs::read_to_string(env.path(&format!("server-{port}.log")))
                    .unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn records(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.record)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Waits until a request with `method` was recorded.
    fn wait_for(&self, method: &str) -> Vec<Value> {
        self.wait_until(|e| e["method"] == method)
    }

    /// Waits (10 s at most) until a recorded request matches `pred`.
    fn wait_until(&self, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let r = self.records();
            if r.iter().any(&pred) || Instant::now() > deadline {
                return r;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `tests/mcp/proxy_client.py`: the Python SDK stdio client launches `command args` with
/// the minimal environment a desktop client gives (the proxy's stderr to `errlog`) and runs the
/// session `mode`. Its output, leak-checked.
fn proxy_client(env: &Env, command: &Value, args: &Value, errlog: &Path, mode: &str) -> Output {
    let params = json!({
        "command": command,
        "args": args,
        "env": {
            "HOME": env.dir.path(),
            "PATH": std::env::var("PATH").unwrap(),
            "USER": "tester",
            "TOKENVAULT_HOME": env.home,
            "TOKENVAULT_PASSPHRASE_FILE": env.pass_file,
            "TOKENVAULT_BACKEND": "file",
        },
        "errlog": errlog,
        "mode": mode,
    });
    let out = Command::new("python3")
        .arg(peers().join("proxy_client.py"))
        .arg(params.to_string())
        .output()
        .expect("python3 with the `mcp` package (scripts/test installs it)");
    env.check(&["mcp", "(proxy's client)"], out)
}

/// Runs the Python SDK stdio client, which launches `tokenvault mcp proxy` with the minimal
/// environment a desktop client gives. Returns what it saw and the proxy's stderr.
fn sdk_client(env: &Env, url: &str, header: &str, mode: &str) -> (Value, String) {
    let errlog = env.test_file(format!("proxy-stderr-{mode}.log"));
    let args = json!(["mcp", "proxy", "--url", url, "--header", header]);
    let out = proxy_client(env, &json!(bin()), &args, &errlog, mode);
    assert_ok(&out);
    let seen = serde_json::from_str(stdout(&out).trim())
        .unwrap_or_else(|e| panic!("client output ({e}): {}", stdout(&out)));
    (seen, proxy_stderr(env, url, header, &errlog))
}

/// The stderr the proxy wrote to `errlog`, leak-checked as the proxy's.
fn proxy_stderr(env: &Env, url: &str, header: &str, errlog: &Path) -> String {
    let err = std::fs::read(errlog).unwrap();
    let out = std::process::Output {
        status: std::process::ExitStatus::default(),
        stdout: Vec::new(),
        stderr: err,
    };
    stderr(&env.check(&["mcp", "proxy", "--url", url, "--header", header], out))
}

fn audit_log(env: &Env) -> String {
    std::fs::read_to_string(env.home.join("audit.jsonl")).unwrap_or_default()
}

/// Everything a full session must show, in either response mode.
fn full_session(json_responses: bool) {
    let (env, token) = Env::with_hf_token();
    let args: &[&str] = if json_responses { &["--json"] } else { &[] };
    let server = Server::start(&env, "http_server.py", args, &token);

    let (seen, stderr) = sdk_client(&env, &server.url, AUTH, "full");

    assert_eq!(seen["server"], "tokenvault-http-test-server");
    assert_eq!(seen["tools"], json!(["announce", "echo", "slow"]));
    assert_eq!(seen["echo"], "hi there");
    assert_eq!(seen["slow"], "slept 4.0");
    // A ping sent while the 4 s call runs is answered long before it ends: requests are not
    // serialised. (Relative times, so a loaded machine does not fail it.)
    let ping = seen["ping_after"].as_f64().unwrap();
    let slow = seen["slow_after"].as_f64().unwrap();
    assert!(
        ping + 2.0 < slow && slow >= 4.0,
        "ping {ping}s, slow {slow}s"
    );
    // A message the server sends on the GET stream, outside any request, reaches the client.
    let logs = seen["logs"].as_array().unwrap();
    assert!(
        logs.contains(&json!("hello from the GET stream")),
        "{logs:?}"
    );
    if !json_responses {
        // The tool's log notification arrives as it is sent, not with the result 4 s later.
        let at = seen["slow_log_after"]
            .as_f64()
            .expect("the tool's log message");
        assert!(
            at + 2.0 < slow,
            "the notification came after {at}s of {slow}s: buffered"
        );
    }

    // The token: in no argv, not on stderr, not in the audit log; the server saw it.
    let cmdlines = seen["cmdlines"].to_string();
    assert_has(&cmdlines, "proxy");
    assert!(!cmdlines.contains(&token));
    assert_lacks(&stderr, &token);
    assert!(
        !stderr.contains("error"),
        "no complaint in a good session: {stderr}"
    );
    let audit = audit_log(&env);
    assert!(!audit.contains(&token));
    assert!(
        audit
            .lines()
            .any(|l| l.contains("\"mcp-proxy\"") && l.contains("tv://huggingface/token")),
        "{audit}"
    );

    let records = server.wait_for("DELETE");
    let fp = sha256_hex(&token);
    assert!(records.len() >= 6, "{records:?}");
    for r in &records {
        assert_eq!(r["auth_ok"], true, "{r}");
        assert_eq!(r["auth_sha256"], fp.as_str());
        assert!(
            r["user_agent"].as_str().unwrap().starts_with("tokenvault/"),
            "{r}"
        );
    }
    let first = &records[0];
    assert_eq!(first["method"], "POST");
    assert_eq!(first["accept"], "application/json, text/event-stream");
    assert_eq!(first["content_type"], "application/json");
    assert!(first["session"].is_null() && first["protocol"].is_null());
    let expected_type = if json_responses {
        "application/json"
    } else {
        "text/event-stream"
    };
    assert_eq!(first["response_type"], expected_type);
    let session = records[1]["session"]
        .as_str()
        .expect("the session id")
        .to_owned();
    for r in &records[1..] {
        assert_eq!(r["session"], session.as_str(), "{r}");
        assert_eq!(r["protocol"], seen["protocol"], "{r}");
    }
    assert!(
        records
            .iter()
            .any(|r| r["method"] == "GET" && r["accept"] == "text/event-stream"),
        "the GET stream was opened"
    );
    // stdin EOF ended the session on the server.
    let delete = records.iter().find(|r| r["method"] == "DELETE").unwrap();
    assert_eq!(delete["status"], 200, "{delete}");
}

#[test]
fn proxy_full_session_with_sse_responses() {
    full_session(false);
}

#[test]
fn proxy_full_session_with_json_responses() {
    full_session(true);
}

#[test]
fn proxy_wrong_token_gives_the_client_an_error_and_stderr_explains_401() {
    let env = Env::new();
    let token = hf_token();
    let wrong = hf_token();
    env.set("huggingface", &wrong);
    let server = Server::start(&env, "http_server.py", &["--json"], &token);

    let (seen, stderr) = sdk_client(&env, &server.url, AUTH, "init");
    let error = seen["error"]
        .as_str()
        .expect("the client got an error, not a hang");
    assert_has(error, "401");
    assert!(
        stderr.contains("refused the credentials (401 Unauthorized)")
            && stderr.contains("'Authorization' from tv://huggingface/token")
            && stderr.contains("tokenvault verify huggingface")
            && stderr.contains("tokenvault set huggingface/token"),
        "{stderr}"
    );
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{stderr}"
    );
    for text in [&stderr, &seen.to_string(), &audit_log(&env)] {
        assert!(!text.contains(&wrong) && !text.contains(&token));
    }
    let records = server.records();
    assert_eq!(records[0]["status"], 401);
    assert_eq!(records[0]["auth_sha256"], sha256_hex(&wrong).as_str());
}

/// Runs the proxy with piped stdio; lines of stdout arrive on the channel (and are kept for
/// the leak check when it finishes).
struct RawProxy<'a> {
    env: &'a Env,
    args: Vec<std::ffi::OsString>,
    child: Child,
    stdin: Option<std::process::ChildStdin>,
    lines: mpsc::Receiver<String>,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl<'a> RawProxy<'a> {
    fn start(env: &'a Env, args: &[&str]) -> RawProxy<'a> {
        let mut c = env.cmd();
        c.args(["mcp", "proxy"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let kept = seen.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let line = line.unwrap();
                kept.lock()
                    .unwrap()
                    .extend_from_slice(format!("{line}\n").as_bytes());
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        RawProxy {
            env,
            args: Env::args_of(&c),
            stdin: child.stdin.take(),
            child,
            lines,
            seen,
        }
    }

    fn send(&mut self, msg: Value) {
        let s = self.stdin.as_mut().unwrap();
        writeln!(s, "{msg}").unwrap();
        s.flush().unwrap();
    }

    fn next(&self) -> Value {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(20))
            .expect("a line from the proxy");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON on stdout ({e}): {line}"))
    }

    /// Closes stdin and returns (exit code, stderr).
    fn finish(mut self) -> (Option<i32>, String) {
        drop(self.stdin.take());
        let mut out = self.child.wait_with_output().unwrap();
        assert!(self.lines.try_recv().is_err(), "nothing more on stdout");
        out.stdout = self.seen.lock().unwrap().clone();
        let out = self.env.check(&self.args, out);
        (out.status.code(), stderr(&out))
    }
}

fn initialize(id: i64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"}}})
}

#[test]
fn proxy_refused_connection_answers_each_request_with_an_error() {
    let env = Env::new();
    let port = free_port(); // nothing listens there any more
    let url = format!("http://127.0.0.1:{port}/mcp");
    let mut p = RawProxy::start(&env, &["--url", &url]);
    p.send(initialize(7));
    let answer = p.next();
    assert_eq!(answer["id"], 7);
    assert_eq!(answer["jsonrpc"], "2.0");
    let message = answer["error"]["message"].as_str().unwrap();
    assert_has(message, "could not connect");
    p.send(json!({"jsonrpc": "2.0", "id": "b", "method": "tools/list"}));
    assert_eq!(p.next()["id"], "b");
    let (code, stderr) = p.finish();
    assert_eq!(code, Some(0));
    assert_has(&stderr, &format!("could not connect to 127.0.0.1:{port}"));
    assert_eq!(stderr.matches("error:").count(), 1, "said once: {stderr}");
}

#[test]
fn proxy_resumes_dropped_streams_with_last_event_id_and_reports_an_expired_session() {
    let env = Env::new();
    let server = Server::start(&env, "sse_drop_server.py", &[], "unused");
    let mut p = RawProxy::start(&env, &["--url", &server.url]);
    p.send(initialize(1));
    assert_eq!(p.next()["result"]["serverInfo"]["name"], "drop");
    p.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    p.send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "x", "arguments": {}, "_meta": {"unknown": [1, {"kept": true}]}}}));
    let mut got = Vec::new();
    while got.len() < 4 {
        got.push(p.next());
    }
    let answer = got.iter().find(|m| m["id"] == 2).expect("the answer");
    assert_eq!(answer["result"]["content"][0]["text"], "resumed");
    let logs: Vec<&Value> = got.iter().map(|m| &m["params"]["data"]).collect();
    for expected in ["before the drop", "get one", "get two"] {
        assert!(logs.contains(&&json!(expected)), "{got:?}");
    }
    let records = server.wait_until(|r| r["last_event_id"] == "get-2");
    let resumed: Vec<&Value> = records
        .iter()
        .filter(|r| r["method"] == "GET")
        .map(|r| &r["last_event_id"])
        .collect();
    // The response stream resumed after post-1; the GET stream reconnected after get-1, get-2.
    for id in ["post-1", "get-1", "get-2"] {
        assert!(resumed.contains(&&json!(id)), "{records:?}");
    }
    for r in &records[1..] {
        assert_eq!(r["session"], "s1");
        assert_eq!(r["protocol"], "2025-06-18");
    }
    // A 404 for a request carrying the session id: the session expired, and the client is told.
    p.send(json!({"jsonrpc": "2.0", "id": 3, "method": "test/expire"}));
    let expired = p.next();
    assert_eq!(expired["id"], 3);
    assert_eq!(expired["error"]["data"]["httpStatus"], 404);
    let (code, stderr) = p.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert_has(&stderr, "no longer knows this session (404)");
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    let records = server.wait_for("DELETE");
    assert_eq!(records.last().unwrap()["method"], "DELETE");
}

#[test]
fn mcp_headers_prints_the_resolved_headers_as_json() {
    let (env, token) = Env::with_hf_token();
    let out = env.run(&[
        "mcp",
        "headers",
        "--header",
        AUTH,
        "--header",
        "X-Plain: yes",
    ]);
    assert_ok(&out);
    let v: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(
        v,
        json!({"Authorization": format!("Bearer {token}"), "X-Plain": "yes"})
    );
    assert!(!stderr(&out).contains(&token));
    let audit = audit_log(&env);
    assert!(!audit.contains(&token));
    assert!(
        audit
            .lines()
            .any(|l| l.contains("\"mcp-headers\"") && l.contains("tv://huggingface/token")),
        "{audit}"
    );
}

/// A command of `mcp proxy` / `mcp headers` that must stop with exit 2 before anything is sent.
struct Refusal {
    /// Whether `huggingface` holds a token.
    stored: bool,
    /// The arguments; `{TOKEN}` stands for a fresh token, registered as a secret.
    args: &'static [&'static str],
    /// Stdin (`None`: none).
    stdin: Option<String>,
    /// Stdout must be empty.
    quiet: bool,
    /// What stderr must and must not say.
    says: &'static [&'static str],
    never_says: &'static [&'static str],
    /// An audit line must name this subcommand and this reference.
    audited: Option<(&'static str, &'static str)>,
}

fn refusals() -> Vec<(&'static str, Refusal)> {
    vec![
        (
            "proxy: a missing reference fails before sending anything",
            Refusal {
                stored: true,
                args: &[
                    "mcp",
                    "proxy",
                    "--url",
                    "http://127.0.0.1:9/mcp",
                    "--header",
                    "Authorization: Bearer {{ tv://missing/token }}",
                ],
                stdin: Some(format!("{}\n", initialize(1))),
                quiet: true,
                says: &["tv://missing/token"],
                never_says: &[],
                audited: Some(("\"mcp-proxy\"", "tv://missing/token")),
            },
        ),
        (
            "proxy: vault values over plain http to another host",
            Refusal {
                stored: true,
                args: &[
                    "mcp",
                    "proxy",
                    "--url",
                    "http://example.com/mcp",
                    "--header",
                    AUTH,
                ],
                stdin: None,
                quiet: false,
                says: &["plain http"],
                never_says: &[],
                audited: None,
            },
        ),
        (
            "headers: an unknown reference is named",
            Refusal {
                stored: true,
                args: &[
                    "mcp",
                    "headers",
                    "--header",
                    AUTH,
                    "--header",
                    "X-Key: {{ tv://nope/key }}",
                ],
                stdin: None,
                quiet: true,
                says: &["tv://nope/key"],
                never_says: &["tv://huggingface"],
                audited: None,
            },
        ),
        (
            "headers: a header without a colon",
            Refusal {
                stored: false,
                args: &["mcp", "headers", "--header", "Authorization Bearer x"],
                stdin: None,
                quiet: false,
                says: &["no ':'"],
                never_says: &[],
                audited: None,
            },
        ),
        // A token typed on the command line is refused before anything runs (it would sit in the
        // client's config and in process listings), and never echoed.
        (
            "headers: a literal token",
            Refusal {
                stored: false,
                args: &[
                    "mcp",
                    "headers",
                    "--header",
                    "Authorization: Bearer {TOKEN}",
                ],
                stdin: None,
                quiet: false,
                says: &["looks like a Hugging Face token"],
                never_says: &[],
                audited: None,
            },
        ),
    ]
}

fn check_refusal(name: &'static str, case: Refusal) {
    let env = Env::new();
    let token = hf_token();
    if case.stored {
        env.set("huggingface", &token);
    } else {
        env.secret(&token);
    }
    let args: Vec<String> = case
        .args
        .iter()
        .map(|a| a.replace("{TOKEN}", &token))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = env.run_stdin(&args, case.stdin.as_deref());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{name}: exit status\n{err}");
    if case.quiet {
        assert!(stdout(&out).is_empty(), "{name}: stdout: {}", stdout(&out));
    }
    for s in case.says {
        assert!(err.contains(s), "{name}: stderr does not say {s:?}:\n{err}");
    }
    for s in case.never_says {
        assert!(!err.contains(s), "{name}: stderr says {s:?}:\n{err}");
    }
    assert_no_secret(&out, &token, name);
    if let Some((command, reference)) = case.audited {
        let audit = audit_log(&env);
        assert!(
            audit
                .lines()
                .any(|l| l.contains(command) && l.contains(reference)),
            "{name}: no audit line for {command} {reference}:\n{audit}"
        );
    }
}

#[test]
fn proxy_and_headers_refusals_exit_2_and_say_why() {
    table::run(
        "proxy_and_headers_refusals_exit_2_and_say_why",
        refusals(),
        check_refusal,
    );
}

/// End to end, as a desktop client: a remote entry with a plaintext bearer token is secured by
/// `mcp secure` into a `mcp proxy` stdio entry; the client launches exactly what the rewritten
/// config says, with a minimal environment, and reaches the server with the vault's token.
#[test]
fn a_remote_entry_secured_by_mcp_secure_reaches_the_server_through_the_proxy() {
    let env = Env::new();
    let token = hf_token();
    let server = Server::start(&env, "http_server.py", &[], &token);
    let config = env.dir.path().join(".cursor/mcp.json");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    let original = json!({"mcpServers": {"hf": {
        "url": server.url,
        "headers": {"Authorization": format!("Bearer {token}")}
    }}});
    env.fixture(&config, serde_json::to_string_pretty(&original).unwrap());
    let out = env.run(&["mcp", "secure", "--client", "cursor"]);
    assert_ok(&out);
    assert_no_secret(&out, &token, "mcp secure");
    let text = std::fs::read_to_string(&config).unwrap();
    assert_lacks(&text, &token);
    let secured: Value = serde_json::from_str(&text).unwrap();
    let entry = &secured["mcpServers"]["hf"];
    assert_eq!(entry["args"][0], "mcp");
    assert_eq!(entry["args"][1], "proxy");

    let errlog = env.test_file("secured-proxy-stderr.log");
    let out = proxy_client(&env, &entry["command"], &entry["args"], &errlog, "full");
    let _ = proxy_stderr(&env, "(secured entry)", "", &errlog);
    assert_ok(&out);
    assert_no_secret(&out, &token, "MCP client output");
    let seen: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(seen["echo"], "hi there");
    let records = server.wait_for("DELETE");
    let fp = sha256_hex(&token);
    assert!(!records.is_empty());
    for r in &records {
        assert_eq!(r["auth_sha256"], fp.as_str(), "{r}");
    }
}
