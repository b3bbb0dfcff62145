//! `tokenvault ui` in a real headless Chromium (Debian's `chromium` and `chromium-driver`, which
//! `scripts/test` installs), driven over the WebDriver protocol: the original configuration app's
//! journey, the attacks a local web server must refuse, and screenshots of every page (in
//! `target/tmp/ui-screenshots/`; the best are copied into `docs/images/` by hand).
//!
//! Every test goes through `common::Env`: the app's own output, the vault files and the browser's
//! profile directory (under the test's directory) are searched for the tokens by the leak check.
#![allow(clippy::unwrap_used)]

mod common;
use common::standin::{start, Seen, StandIn};
use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// A minimal HTTP/1.0 client: any Host and Origin header, the whole response kept.

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: 127.0.0.1:{port}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).unwrap();
    // Read by the framing the answer declares: chromedriver keeps the connection open.
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut headers: Vec<(String, String)> = Vec::new();
    loop {
        let mut l = String::new();
        if r.read_line(&mut l).unwrap() == 0 || l == "\r\n" {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let mut raw = Vec::new();
    if let Some(len) = find("content-length").and_then(|l| l.parse::<usize>().ok()) {
        raw.resize(len, 0);
        r.read_exact(&mut raw).unwrap();
    } else if find("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).unwrap();
            let n =
                usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).unwrap();
            raw.extend_from_slice(&chunk[..n]);
        }
    } else {
        r.read_to_end(&mut raw).unwrap();
    }
    Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&raw).into_owned(),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---------------------------------------------------------------------------------------------
// WebDriver (chromedriver) over that client.

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Browser {
    driver: Child,
    port: u16,
    session: String,
}

impl Browser {
    fn start(profile: &Path) -> Browser {
        let port = free_port();
        // Its own process group, with the browser it starts: all of it is ended on drop, even
        // when a session was never made.
        let driver = Command::new("chromedriver")
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian package chromium-driver; scripts/test installs it)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut b = Browser {
            driver,
            port,
            session: String::new(),
        };
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1000",
                         "--no-first-run", "--password-store=basic",
                         format!("--user-data-dir={}", profile.display())],
            }
        }}});
        let v = b.call("POST", "/session", Some(caps));
        b.session = v["sessionId"].as_str().expect("session id").to_owned();
        b
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let r = http(
            self.port,
            method,
            path,
            &[("Content-Type", "application/json")],
            &body,
        );
        let v: Value = serde_json::from_str(&r.body)
            .unwrap_or_else(|_| panic!("chromedriver answered {}: {}", r.status, r.body));
        assert!(
            r.status == 200,
            "WebDriver {method} {path}: {} {}",
            r.status,
            v
        );
        v["value"].clone()
    }

    /// [`Browser::call`], but `None` for an answer other than 200 (an element gone stale because
    /// the page was replaced between two calls, or not there yet).
    fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> Option<Value> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let r = http(
            self.port,
            method,
            path,
            &[("Content-Type", "application/json")],
            &body,
        );
        let v: Value = serde_json::from_str(&r.body).ok()?;
        (r.status == 200).then(|| v["value"].clone())
    }

    /// The text of `css`, or `None` while it is missing or the page is being replaced.
    fn try_text(&self, css: &str) -> Option<String> {
        let found = self.try_call(
            "POST",
            &self.s("/element"),
            Some(json!({"using": "css selector", "value": css})),
        )?;
        let e = found[ELEMENT].as_str()?.to_owned();
        let text = self.try_call("GET", &self.s(&format!("/element/{e}/text")), None)?;
        Some(text.as_str().unwrap_or_default().to_owned())
    }

    fn s(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    fn go(&self, url: &str) {
        self.call("POST", &self.s("/url"), Some(json!({ "url": url })));
    }

    fn url(&self) -> String {
        self.call("GET", &self.s("/url"), None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn find(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            &self.s("/element"),
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT].as_str().unwrap().to_owned()
    }

    /// Finds `css` and sends `method` to `/element/ID{rest}`. The page may be replaced between
    /// the two calls (a form was just submitted): a stale or missing element is found again, for
    /// up to 10 s, before the last answer's error is the test's failure.
    fn on_element(&self, css: &str, method: &str, rest: &str, body: Option<Value>) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = self.try_call(
                "POST",
                &self.s("/element"),
                Some(json!({"using": "css selector", "value": css})),
            );
            if let Some(e) = found.as_ref().and_then(|f| f[ELEMENT].as_str()) {
                let path = self.s(&format!("/element/{e}{rest}"));
                if let Some(v) = self.try_call(method, &path, body.clone()) {
                    return v;
                }
                if Instant::now() >= deadline {
                    return self.call(method, &path, body);
                }
            } else if Instant::now() >= deadline {
                self.find(css);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn text(&self, css: &str) -> String {
        self.on_element(css, "GET", "/text", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn enabled(&self, css: &str) -> bool {
        self.on_element(css, "GET", "/enabled", None)
            .as_bool()
            .unwrap()
    }

    fn click(&self, css: &str) {
        self.on_element(css, "POST", "/click", Some(json!({})));
    }

    fn clear(&self, css: &str) {
        self.on_element(css, "POST", "/clear", Some(json!({})));
    }

    fn type_into(&self, css: &str, text: &str) {
        self.on_element(css, "POST", "/value", Some(json!({ "text": text })));
    }

    fn source(&self) -> String {
        self.call("GET", &self.s("/source"), None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn script(&self, script: &str) -> Value {
        self.call(
            "POST",
            &self.s("/execute/sync"),
            Some(json!({"script": script, "args": []})),
        )
    }

    fn cookies(&self) -> Value {
        self.call("GET", &self.s("/cookie"), None)
    }

    /// Saves a PNG of the viewport (whole page height) as `name`.png.
    fn screenshot(&self, name: &str) -> PathBuf {
        // Show the whole page: the window as tall as the document.
        let h = self
            .script("return Math.min(document.documentElement.scrollHeight, 2400)")
            .as_u64()
            .unwrap_or(1000);
        self.call(
            "POST",
            &self.s("/window/rect"),
            Some(json!({"width": 1280, "height": h.max(700) + 120})),
        );
        let b64 = self.call("GET", &self.s("/screenshot"), None);
        let png = base64_decode(b64.as_str().unwrap());
        let dir = screenshot_dir();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        self.call(
            "POST",
            &self.s("/window/rect"),
            Some(json!({"width": 1280, "height": 1000})),
        );
        path
    }

    /// Waits until `css` exists and its text contains `want`; returns the text. The page may be
    /// replaced while it is read (a form was just submitted): a stale element is read again.
    fn wait_text(&self, css: &str, want: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.try_text(css) {
                Some(t) if t.contains(want) => return t,
                Some(t) => assert!(
                    Instant::now() < deadline,
                    "{css} never said {want:?}; it says {t:?}"
                ),
                None => assert!(
                    Instant::now() < deadline,
                    "{css} never appeared; the page:\n{}",
                    self.source()
                ),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = http(
                self.port,
                "DELETE",
                &format!("/session/{}", self.session),
                &[],
                "",
            );
        }
        unsafe { libc::kill(-(self.driver.id() as i32), libc::SIGKILL) };
        let _ = self.driver.wait();
    }
}

fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn base64_decode(text: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let clean: Vec<u8> = text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c) << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len() - 1]);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The app, started as the user would, and the Hub stand-in.

/// The Hub's whoami-v2 answer for a fine-grained token (role and scopes).
fn fine_grained_body() -> String {
    r#"{"type":"user","id":"6475c3b2a1b2c3d4e5f60718","name":"alice","fullname":"Alice Example","orgs":[{"type":"org","id":"1","name":"acme","fullname":"Acme","roleInOrg":"write"}],"auth":{"type":"access_token","accessToken":{"displayName":"laptop-scoped","role":"fineGrained","createdAt":"2025-03-04T05:06:07.000Z","fineGrained":{"canReadGatedRepos":true,"global":["discussion.write"],"scoped":[{"entity":{"_id":"6475c3b2a1b2c3d4e5f60718","type":"user","name":"alice"},"permissions":["repo.content.read","repo.write"]}]}}}}"#.to_owned()
}

fn hub(valid: String) -> StandIn {
    start(Arc::new(move |req: &Seen| {
        let token = req
            .header("authorization")
            .and_then(|a| a.strip_prefix("Bearer "))
            .unwrap_or("");
        if req.target.ends_with("/api/whoami-v2") && token == valid {
            (200, vec![], fine_grained_body())
        } else {
            (
                401,
                vec![],
                r#"{"error":"Invalid credentials in Authorization header"}"#.to_owned(),
            )
        }
    }))
}

struct Ui {
    child: Child,
    args: Vec<std::ffi::OsString>,
    port: u16,
    url: String,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Ui {
    fn start(env: &Env, extra: &[&str]) -> Ui {
        Ui::start_with(env, extra, false)
    }

    /// `no_passphrase`: without the configured passphrase file (a locked vault).
    fn start_with(env: &Env, extra: &[&str], no_passphrase: bool) -> Ui {
        let mut c = env.cmd();
        if no_passphrase {
            c.env_remove("TOKENVAULT_PASSPHRASE_FILE");
        }
        c.arg("ui")
            .arg("--no-open")
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let args = Env::args_of(&c);
        let mut child = c.spawn().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let url = line.trim().to_owned();
        assert!(
            url.starts_with("http://127.0.0.1:") && url.contains("/open?k="),
            "the first line is the link: {url:?}"
        );
        let port = url["http://127.0.0.1:".len()..]
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        Ui {
            child,
            args,
            port,
            url,
            stdout,
        }
    }

    /// Ctrl-C, then the app's whole output through the leak check.
    fn stop(mut self, env: &Env) -> Output {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let mut rest = Vec::new();
        self.stdout.read_to_end(&mut rest).unwrap();
        let mut err = Vec::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_end(&mut err)
            .unwrap();
        let status = self.child.wait().unwrap();
        let mut stdout = format!("{}\n", self.url).into_bytes();
        stdout.extend(rest);
        env.check(
            &self.args,
            Output {
                status,
                stdout,
                stderr: err,
            },
        )
    }
}

/// The session cookie's `name=value`, as the browser holds it.
fn session_cookie(b: &Browser) -> String {
    let cookies = b.cookies();
    let c = cookies
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "tv_session")
        .expect("the session cookie");
    assert_eq!(c["httpOnly"], true, "{c}");
    assert_eq!(c["sameSite"], "Strict", "{c}");
    format!("tv_session={}", c["value"].as_str().unwrap())
}

fn csrf_of(html: &str) -> String {
    let at = html.find(r#"name="csrf" value=""#).expect("a CSRF field") + 19;
    html[at..at + 64].to_owned()
}

fn claude_config(env: &Env) -> PathBuf {
    env.dir
        .path()
        .join(".config/Claude/claude_desktop_config.json")
}

/// Starts a config entry's server as Claude Desktop does (the entry's command and env over a
/// minimal environment, no terminal) and calls its tool with the real MCP SDK client: the
/// SHA-256 of the HF_TOKEN the server got.
fn launch_like_claude_desktop(env: &Env, entry: &Value) -> String {
    let mut launch_env = json!({
        "HOME": env.dir.path(),
        "PATH": std::env::var("PATH").unwrap(),
        "USER": "tester",
        "TOKENVAULT_HOME": env.home,
        "TOKENVAULT_PASSPHRASE_FILE": env.pass_file,
    });
    for (k, v) in entry["env"].as_object().into_iter().flatten() {
        launch_env[k] = v.clone();
    }
    let params = json!({"command": entry["command"], "args": entry["args"], "env": launch_env});
    let out = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/client.py"))
        .arg(params.to_string())
        .stdin(Stdio::null())
        .output()
        .expect("python3 with the `mcp` package (scripts/test installs it)");
    let out = env.check(&["mcp", "(client of the secured entry)"], out);
    assert_ok(&out);
    let seen: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    seen["fingerprint"].as_str().unwrap_or_default().to_owned()
}

const PAGES: &[&str] = &[
    "/tokens",
    "/mcp",
    "/attention",
    "/audit",
    "/unlock",
    "/assets/app.js",
    "/assets/app.css",
    "/tokens/remove?ref=huggingface/token",
];

/// The journey of the original configuration app, in the browser, then the attacks; every
/// response body and the browser's storage are searched for both tokens.
#[test]
fn the_configuration_journey_in_a_real_browser_and_the_attacks_it_refuses() {
    let mut env = Env::new();
    let token = hf_token();
    env.secret(&token);
    let plain = hf_token();
    env.secret(&plain);
    let hub = hub(token.clone());
    env.vars.push(("HF_ENDPOINT".into(), hub.url.clone()));

    // Claude Desktop's config with a plaintext token, as users have it.
    let server = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/server.py");
    let config = claude_config(&env);
    let original = json!({"mcpServers": {"hf": {
        "command": "python3",
        "args": [server],
        "env": {"HF_TOKEN": plain, "PYTHONUNBUFFERED": "1"}
    }}});
    env.fixture(&config, serde_json::to_string_pretty(&original).unwrap());

    let ui = Ui::start(&env, &["--idle", "10m"]);
    let port = ui.port;
    let b = Browser::start(&env.path("chromium-profile"));
    let mut bodies: Vec<(String, String)> = Vec::new();

    // The link opens the app and is spent.
    b.go(&ui.url);
    assert!(b.url().ends_with("/tokens"), "{}", b.url());
    b.wait_text("h1", "Tokens");
    assert_eq!(
        http(
            port,
            "GET",
            &ui.url[format!("http://127.0.0.1:{port}").len()..],
            &[],
            ""
        )
        .status,
        401,
        "the link works once"
    );
    bodies.push(("/tokens (empty)".into(), b.source()));
    b.screenshot("tokens-empty");

    // A malformed token: Save stays off, with the reason.
    b.type_into("#value", "hf_short");
    let reason = b.wait_text("#format-status", "does not look like");
    assert!(
        reason.contains("'hf_' followed by 34 letters and digits"),
        "{reason}"
    );
    assert!(!b.enabled("#save"), "Save is off for a malformed token");
    b.screenshot("tokens-malformed");
    b.clear("#value");
    b.type_into("#value", &token);
    b.wait_text(
        "#format-status",
        "Looks like a Hugging Face user access token",
    );
    assert!(b.enabled("#save"), "Save is on for a valid token");
    b.click("#save");
    let status = b.wait_text("#status", "Stored tv://huggingface/token");
    assert!(!status.contains(&token));
    // Masked in the table.
    let masked = b.text("code.masked");
    assert!(
        masked.starts_with("hf_") && masked.len() < token.len(),
        "{masked}"
    );
    assert_eq!(env.get("huggingface"), token, "stored in the vault");
    bodies.push(("/tokens (saved)".into(), b.source()));

    // Verify: account, token name, role, scopes, and the least-privilege warning.
    b.click(r#"form[action="/tokens/verify"] button"#);
    let status = b.wait_text("#status", "Verified tv://huggingface/token");
    assert!(status.contains("alice"), "{status}");
    assert!(status.contains("laptop-scoped"), "token name: {status}");
    assert!(status.contains("fineGrained"), "role: {status}");
    assert!(status.contains("repo.write"), "scopes: {status}");
    assert!(status.contains("Least privilege"), "warning: {status}");
    assert!(hub
        .requests()
        .iter()
        .any(|r| r.header("authorization") == Some(&format!("Bearer {token}"))));
    b.wait_text("td.good", "ok");
    bodies.push(("/tokens (verified)".into(), b.source()));
    b.screenshot("tokens-verified");

    // MCP clients: the plaintext token shown masked; Secure shows the diff first.
    b.go(&format!("http://127.0.0.1:{port}/mcp"));
    let card = b.wait_text("section.client", "Claude Desktop");
    assert!(card.contains("1 in plain text"), "{card}");
    bodies.push(("/mcp".into(), b.source()));
    b.screenshot("mcp-clients");
    // Attention names the plaintext copy, with the way to secure it.
    b.go(&format!("http://127.0.0.1:{port}/attention"));
    let attention = b.wait_text("main", "plaintext");
    assert!(
        attention.contains("Claude Desktop server 'hf'"),
        "{attention}"
    );
    bodies.push(("/attention (plaintext)".into(), b.source()));
    b.screenshot("attention");
    b.go(&format!("http://127.0.0.1:{port}/mcp"));
    b.click(r#"a[href="/mcp/secure?client=claude-desktop"]"#);
    let diff = b.wait_text("pre.diff", "tokenvault");
    assert!(diff.contains("-") && diff.contains("HF_TOKEN"), "{diff}");
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        serde_json::to_string_pretty(&original).unwrap(),
        "nothing written before Secure"
    );
    bodies.push(("/mcp/secure".into(), b.source()));
    b.screenshot("mcp-secure-diff");
    b.click(r#"form[action="/mcp/secure"] button"#);
    b.wait_text("#status", "Secured Claude Desktop");
    let secured_text = std::fs::read_to_string(&config).unwrap();
    assert!(
        !secured_text.contains(&plain),
        "the plaintext token left the config"
    );
    bodies.push(("/mcp (secured)".into(), b.source()));
    b.screenshot("mcp-secured");

    // The rewritten server, launched as Claude Desktop would (its env over a minimal one, no
    // terminal), receives the token from the vault.
    let secured: Value = serde_json::from_str(&secured_text).unwrap();
    assert_eq!(
        launch_like_claude_desktop(&env, &secured["mcpServers"]["hf"]),
        sha256_hex(&plain),
        "the server got the token"
    );

    // Restore puts back the backup without its secret: the token stays in the vault.
    b.go(&format!("http://127.0.0.1:{port}/mcp"));
    b.click(r#"form[action="/mcp/restore"] button"#);
    let restored = b.wait_text("#status", "Claude Desktop");
    assert!(restored.contains("stays in the vault"), "{restored}");
    assert!(!std::fs::read_to_string(&config).unwrap().contains(&plain));
    bodies.push(("/mcp (restored)".into(), b.source()));

    // Add a server from the page, its variable from the vault; a literal token is refused.
    b.go(&format!("http://127.0.0.1:{port}/mcp"));
    b.type_into("#s-name", "hf-added");
    b.type_into(
        "#s-command",
        &format!("python3 {} {token}", server.display()),
    );
    b.click("#add-server button[type=submit]");
    let refused = b.wait_text("#status", "That did not work");
    assert!(refused.contains("holds a token in plain text"), "{refused}");
    bodies.push(("/mcp (add refused)".into(), b.source()));
    b.clear("#s-name");
    b.type_into("#s-name", "hf-added");
    b.type_into("#s-command", &format!("python3 {}", server.display()));
    b.type_into("#s-env", "HF_TOKEN=tv://huggingface");
    b.screenshot("mcp-add-server");
    b.click("#add-server button[type=submit]");
    b.wait_text("#status", "Added 'hf-added' to Claude Desktop");
    bodies.push(("/mcp (added)".into(), b.source()));
    let with_added: Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    assert!(!with_added.to_string().contains(&token));
    assert_eq!(
        launch_like_claude_desktop(&env, &with_added["mcpServers"]["hf-added"]),
        sha256_hex(&token),
        "the added server gets the vault's token"
    );

    // Attention and Audit.
    // The secured copy is stored and never checked: Attention says so, and checks it in one click.
    b.go(&format!("http://127.0.0.1:{port}/attention"));
    let attention = b.wait_text("main", "unverified");
    assert!(!attention.contains("plaintext"), "{attention}");
    bodies.push(("/attention".into(), b.source()));
    b.screenshot("attention-unverified");
    b.click(r#"form[action="/tokens/verify"] button"#);
    b.wait_text("#status", "tv://huggingface-hf/token");
    b.go(&format!("http://127.0.0.1:{port}/audit"));
    b.wait_text("#chain", "Chain verified");
    let table = b.text("table.audit");
    assert!(
        table.contains("mcp-secure") && table.contains("verify") && table.contains("set"),
        "{table}"
    );
    bodies.push(("/audit".into(), b.source()));
    b.screenshot("audit");
    b.go(&format!("http://127.0.0.1:{port}/audit?action=verify"));
    let filtered = b.text("table.audit");
    assert!(
        filtered.contains("verify") && !filtered.contains("mcp-secure"),
        "{filtered}"
    );

    // Keyboard and screen reader: every control has a label, the status region is announced,
    // and the first Tab stop is the skip link.
    for page in ["/tokens", "/mcp", "/audit", "/unlock"] {
        b.go(&format!("http://127.0.0.1:{port}{page}"));
        let unlabelled = b.script(
            "return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')].filter(e => e.labels.length === 0).map(e => e.id || e.name);",
        );
        assert_eq!(unlabelled, json!([]), "{page}: controls without a label");
        assert_eq!(
            b.script("return document.getElementById('status').getAttribute('aria-live')"),
            "polite"
        );
    }
    b.go(&format!("http://127.0.0.1:{port}/tokens"));
    let first = b.script("return [...document.querySelectorAll('a[href], button:not([disabled]), input:not([type=hidden]), select')][0].className");
    assert_eq!(first, "skip");

    // Dark mode follows the system setting.
    b.call(
        "POST",
        &b.s("/goog/cdp/execute"),
        Some(json!({"cmd": "Emulation.setEmulatedMedia", "params": {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}})),
    );
    b.go(&format!("http://127.0.0.1:{port}/tokens"));
    let bg = b.script("return getComputedStyle(document.body).backgroundColor");
    assert_eq!(bg, "rgb(15, 18, 22)", "the dark background");
    b.screenshot("tokens-dark");
    b.go(&format!("http://127.0.0.1:{port}/mcp"));
    b.screenshot("mcp-clients-dark");
    b.call(
        "POST",
        &b.s("/goog/cdp/execute"),
        Some(json!({"cmd": "Emulation.setEmulatedMedia", "params": {"features": [{"name": "prefers-color-scheme", "value": "light"}]}})),
    );

    // Remove asks first.
    b.go(&format!(
        "http://127.0.0.1:{port}/tokens/remove?ref=huggingface/token"
    ));
    b.wait_text("h1", "Remove tv://huggingface/token?");
    bodies.push(("/tokens/remove".into(), b.source()));
    b.screenshot("remove-confirm");

    // Framing is blocked: even our own origin cannot frame a page.
    b.go(&format!("http://127.0.0.1:{port}/tokens"));
    b.script(
        "const f = document.createElement('iframe'); f.id = 'framed'; f.src = '/tokens'; document.body.appendChild(f);",
    );
    std::thread::sleep(Duration::from_secs(2));
    let framed = b.script(
        "const f = document.getElementById('framed'); let d = null; try { d = f.contentDocument; } catch (e) {} return d && d.body ? d.body.innerHTML : null;",
    );
    assert!(
        framed.is_null() || !framed.as_str().unwrap_or("").contains("Add or replace"),
        "the framed page rendered: {framed}"
    );

    // The browser's storage holds no token; the session cookie is HttpOnly and SameSite=Strict.
    let storage = b.script(
        "return JSON.stringify({local: Object.entries(localStorage), session: Object.entries(sessionStorage), cookie: document.cookie});",
    );
    let storage = storage.as_str().unwrap().to_owned();
    assert!(!storage.contains("tv_session"), "HttpOnly: {storage}");
    let cookie = session_cookie(&b);
    let all_cookies = b.cookies().to_string();

    // Every page again over plain HTTP with the session: headers and bodies.
    for page in PAGES {
        let r = http(port, "GET", page, &[("Cookie", &cookie)], "");
        assert_eq!(r.status, 200, "{page}: {}", r.body);
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{page}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{page}");
        let csp = r.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{page}: {csp}"
        );
        bodies.push((page.to_string(), r.body));
    }

    // The attacks.
    let page = http(port, "GET", "/tokens", &[("Cookie", &cookie)], "").body;
    let csrf = csrf_of(&page);
    // No cookie.
    for p in ["/tokens", "/mcp", "/audit", "/assets/app.js"] {
        let r = http(port, "GET", p, &[], "");
        assert_eq!(r.status, 401, "{p} without a session");
        bodies.push((format!("{p} (no cookie)"), r.body));
    }
    let r = http(port, "GET", "/tokens", &[("Cookie", "tv_session=0000")], "");
    assert_eq!(r.status, 401, "a guessed cookie");
    // A foreign Host (DNS rebinding), even with the cookie.
    for host in [
        format!("evil.example:{port}"),
        "127.0.0.1".to_owned(),
        format!("127.0.0.1:{}", port.wrapping_add(1)),
    ] {
        let r = http(
            port,
            "GET",
            "/tokens",
            &[("Host", &host), ("Cookie", &cookie)],
            "",
        );
        assert_eq!(r.status, 421, "Host {host}");
        bodies.push((format!("Host {host}"), r.body));
    }
    // Cross-origin POSTs, even with the cookie and the CSRF token: nothing is removed.
    let form = format!("csrf={csrf}&reference=huggingface%2Ftoken&confirm=yes");
    let ct = ("Content-Type", "application/x-www-form-urlencoded");
    for origin in [
        Some("http://evil.example"),
        Some("null"),
        Some(&*format!("http://127.0.0.1:{}", port.wrapping_add(1))),
        None,
    ] {
        let mut h = vec![("Cookie", cookie.as_str()), ct];
        if let Some(o) = origin {
            h.push(("Origin", o));
        }
        let r = http(port, "POST", "/tokens/remove", &h, &form);
        assert_eq!(r.status, 403, "Origin {origin:?}: {}", r.body);
    }
    // Our Origin without the CSRF token.
    let ours = format!("http://127.0.0.1:{port}");
    let r = http(
        port,
        "POST",
        "/tokens/remove",
        &[("Cookie", &cookie), ct, ("Origin", &ours)],
        "reference=huggingface%2Ftoken&confirm=yes",
    );
    assert_eq!(r.status, 403, "no CSRF token");
    assert_eq!(env.get("huggingface"), token, "nothing was removed");
    // The same request from our page goes through (the checks are not refusing everything).
    let r = http(
        port,
        "POST",
        "/tokens/verify",
        &[("Cookie", &cookie), ct, ("Origin", &ours)],
        &format!("csrf={csrf}&reference=huggingface%2Ftoken"),
    );
    assert_eq!(r.status, 303, "{}", r.body);

    // A token pasted into the Name field is not echoed in the error.
    let r = http(
        port,
        "POST",
        "/tokens/save",
        &[("Cookie", &cookie), ct, ("Origin", &ours)],
        &format!("csrf={csrf}&provider=huggingface&item={token}%21&value={token}"),
    );
    assert_eq!(r.status, 303);
    let page = http(port, "GET", "/tokens", &[("Cookie", &cookie)], "");
    assert!(
        page.body.contains("that name is not usable"),
        "{}",
        page.body
    );
    bodies.push(("/tokens (bad name)".into(), page.body));

    // No response body, no storage and no cookie holds a token.
    for (what, body) in &bodies {
        for t in [&token, &plain] {
            assert!(!body.contains(t.as_str()), "{what} holds a token");
        }
    }
    for t in [&token, &plain] {
        assert!(!storage.contains(t.as_str()) && !all_cookies.contains(t.as_str()));
    }

    drop(b);
    let out = ui.stop(&env);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("Stopped."), "{}", stderr(&out));
}

/// The server stops by itself after the idle time, and answers only on loopback.
#[test]
fn the_app_stops_when_idle_and_listens_on_loopback_only() {
    let env = Env::new();
    let mut ui = Ui::start(&env, &["--idle", "2s"]);
    let started = Instant::now();
    let status = loop {
        if let Some(s) = ui.child.try_wait().unwrap() {
            break s;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "still running");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success());
    assert!(started.elapsed() >= Duration::from_secs(2));
    let out = ui.stop(&env);
    assert!(
        stderr(&out).contains("no request for the idle time"),
        "{}",
        stderr(&out)
    );

    // Loopback only: the port is not reachable on another address of this machine.
    let ui = Ui::start(&env, &["--idle", "1m"]);
    let addrs = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let listening: Vec<&str> = addrs
        .lines()
        .filter(|l| {
            l.contains(&format!(":{:04X} ", ui.port)) && l.split_whitespace().nth(3) == Some("0A")
        })
        .collect();
    assert!(!listening.is_empty(), "the port is listed");
    for l in listening {
        assert!(
            l.split_whitespace()
                .nth(1)
                .unwrap()
                .starts_with("0100007F:"),
            "bound to 127.0.0.1 only: {l}"
        );
    }
    ui.stop(&env);
}

/// A locked file vault asks for its passphrase in the page; a wrong one is refused, the right one
/// unlocks it through the key cache, as `tokenvault unlock` does (so an MCP server started without
/// a terminal can read it too).
#[test]
fn a_locked_file_vault_is_unlocked_from_the_page() {
    let env = Env::new();
    let token = hf_token();
    env.set("huggingface", env.secret(&token));
    let ui = Ui::start_with(&env, &["--idle", "5m"], true);
    let port = ui.port;
    let open = http(
        port,
        "GET",
        &ui.url[format!("http://127.0.0.1:{port}").len()..],
        &[],
        "",
    );
    assert_eq!(open.status, 303);
    let set_cookie = open.header("set-cookie").unwrap().to_owned();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let tokens = http(port, "GET", "/tokens", &[("Cookie", &cookie)], "");
    assert!(
        tokens.body.contains("The vault is locked"),
        "{}",
        tokens.body
    );
    assert!(
        tokens.body.contains("tv://huggingface/token"),
        "the list needs no passphrase"
    );
    let unlock = http(port, "GET", "/unlock", &[("Cookie", &cookie)], "");
    assert!(
        unlock
            .body
            .contains(r#"<label for="passphrase">Passphrase</label>"#),
        "{}",
        unlock.body
    );
    let csrf = csrf_of(&unlock.body);
    let ours = format!("http://127.0.0.1:{port}");
    let post = |pass: &str| {
        http(
            port,
            "POST",
            "/unlock",
            &[
                ("Cookie", &cookie),
                ("Origin", &ours),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &format!("csrf={csrf}&passphrase={}", pass.replace(' ', "+")),
        )
    };
    // Saving while locked leads to the Unlock page, and stores nothing.
    let save = http(
        port,
        "POST",
        "/tokens/save",
        &[
            ("Cookie", &cookie),
            ("Origin", &ours),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &format!("csrf={csrf}&provider=github&item=&value=x"),
    );
    assert_eq!(save.header("location"), Some("/unlock"));
    let wrong = post("not the passphrase");
    assert_eq!(wrong.status, 303);
    let page = http(port, "GET", "/unlock", &[("Cookie", &cookie)], "");
    assert!(page.body.contains("That did not work"), "{}", page.body);
    let no_pass = || {
        env.output(
            env.cmd()
                .env_remove("TOKENVAULT_PASSPHRASE_FILE")
                .args(["get", "huggingface"])
                .stdin(Stdio::null()),
        )
    };
    assert_code(&no_pass(), 2);
    let right = post(PASSPHRASE);
    assert_eq!(right.status, 303);
    assert_eq!(right.header("location"), Some("/tokens"));
    let tokens = http(port, "GET", "/tokens", &[("Cookie", &cookie)], "");
    assert!(
        tokens.body.contains("Unlocked the vault"),
        "{}",
        tokens.body
    );
    assert!(!tokens.body.contains("The vault is locked"));
    let got = no_pass();
    assert_ok(&got);
    assert_eq!(stdout(&got).trim_end(), token);
    for body in [&tokens.body, &page.body, &wrong.body, &right.body] {
        assert!(!body.contains(PASSPHRASE) && !body.contains(&token));
    }
    ui.stop(&env);
    assert_ok(&env.run(&["lock"]));
}
