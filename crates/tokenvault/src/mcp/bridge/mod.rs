//! The stdio ↔ Streamable HTTP bridge behind `tokenvault mcp proxy` (MCP 2025-06-18 transport), so
//! a client that only launches stdio servers reaches a remote server with headers from the vault.
//!
//! Why hand-written and not the `rmcp` SDK: a transport bridge must forward every message byte for
//! byte, including fields and methods newer than any SDK we compile in, and never rewrite a
//! message it does not understand. `rmcp` deserialises into typed messages (its transport API
//! hands out `ServerJsonRpcMessage`, not raw JSON), and it would bring tokio, reqwest and a second
//! TLS stack into a binary that already speaks HTTPS through ureq + rustls. What the bridge needs of
//! MCP is small: peek at `id`/`method`, remember `Mcp-Session-Id` and the negotiated version, parse
//! SSE. So: ureq (keep-alive pool, rustls, proxies from the environment) and OS threads.
//!
//! Shape: the main thread reads stdin, one JSON-RPC message per line. `initialize` and every
//! notification or response is POSTed in order on the main thread (the server must see
//! `notifications/initialized` before the next request); every other request goes to a small pool
//! of workers, so a long tool call never holds up a `ping`. Each answer — a JSON body, or each SSE
//! event as it arrives — is written to stdout as one whole line under the stdout lock, so lines from
//! different threads never interleave. After `notifications/initialized` a listener thread keeps
//! the GET stream open for server-initiated messages (405: the server has none), reconnecting with
//! `Last-Event-ID` after the server's `retry:` delay; a response stream that drops before its
//! answer is resumed the same way. On stdin EOF the session is DELETEd and the process exits 0.
//!
//! Failures never leave the client waiting: a request that cannot be answered gets a JSON-RPC error
//! for its id on stdout, and one explanation on stderr (what failed, which references supplied the
//! headers, what to do). Nothing but JSON-RPC ever goes to stdout. Header values are held as
//! sensitive `HeaderValue`s (never in Debug output) and are scrubbed from any server text we quote.
//!
//! Memory is bounded: a message or SSE event larger than [`MAX_MESSAGE`] is refused, at most
//! [`MAX_WORKERS`] requests run at once and at most [`MAX_QUEUED`] wait.

pub mod headers;
use tokenvault_core::sse;

use crate::printer::{BrokenPipe, Printer};
use anyhow::Result;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashSet;
use std::io::{BufRead, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokenvault_core::Secret;
use tokenvault_verify::http;
use tokenvault_verify::NetworkFailure;
use ureq::http::{HeaderName, HeaderValue, Response};
use ureq::Body;

/// The largest message accepted from either side (tool results may carry images).
pub const MAX_MESSAGE: usize = 32 << 20;
/// Requests in flight at once.
pub const MAX_WORKERS: usize = 32;
/// Requests waiting for a worker before stdin is no longer read.
pub const MAX_QUEUED: usize = 256;
/// A reachable server accepts within this. There is no limit on answers: a tool call may take
/// minutes, and the client has its own timeouts and sends `notifications/cancelled`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// SSE reconnection delay when the server sent no `retry:`.
const DEFAULT_RETRY: Duration = Duration::from_secs(1);
/// Reconnections of a response stream before its request is failed.
const MAX_RESUME: u32 = 5;
/// Consecutive failed connections of the GET stream before it is given up.
const MAX_LISTEN_FAILURES: u32 = 5;
/// On stdin EOF, how long answers still on their way may take before the session is ended.
const EOF_GRACE: Duration = Duration::from_secs(1);
/// The DELETE at exit may not hold the exit up longer than this.
const DELETE_TIMEOUT: Duration = Duration::from_secs(3);
/// JSON-RPC error code for "the transport failed" (the implementation-defined server range).
const TRANSPORT_ERROR: i64 = -32000;

/// Headers the bridge sets itself; `--header` may not replace them.
pub const RESERVED: &[&str] = &[
    "content-type",
    "content-length",
    "accept",
    "host",
    "mcp-session-id",
    "mcp-protocol-version",
    "last-event-id",
    "mcp-method",
    "mcp-name",
    "transfer-encoding",
    "connection",
];

/// What the bridge needs: where, with which headers, and how to print.
pub struct Options {
    pub url: String,
    pub headers: Vec<headers::Header>,
    pub printer: Printer,
    /// Supplies `Authorization` (an OAuth login), renewing it ahead of expiry and on 401.
    pub auth: Option<Arc<dyn Authorizer>>,
}

/// Why the bridge has no credential to send: a message and what to do (never a token).
#[derive(Debug, Clone)]
pub struct AuthFailure {
    pub message: String,
    pub hint: String,
}

/// The source of the `Authorization` header for `mcp proxy --oauth`.
pub trait Authorizer: Send + Sync {
    /// The header to send now (renewed first when the token is about to expire).
    fn bearer(&self) -> Result<HeaderValue, AuthFailure>;
    /// The server refused `sent` with 401: renew it, unless another request already did.
    fn refused(&self, sent: &HeaderValue) -> Result<(), AuthFailure>;
    /// Every token it holds now, to scrub from server text.
    fn secrets(&self) -> Vec<Secret>;
    /// Where the tokens come from, for messages (`tv://mcp-oauth-hf`).
    fn source(&self) -> String;
}

/// Runs the bridge until stdin ends.
pub fn run(opts: Options) -> Result<()> {
    let bridge = Arc::new(Bridge::new(opts)?);
    let pool = Pool::new();
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut line = Vec::new();
    loop {
        match read_line(&mut input, &mut line, MAX_MESSAGE) {
            Ok(Line::Eof) => break,
            Ok(Line::TooLong) => {
                bridge.out.tell(&Failure::plain(
                    format!(
                        "a message from the client is larger than {} MiB; dropped",
                        MAX_MESSAGE >> 20
                    ),
                    "this is far beyond any MCP message; check what the client sends",
                ));
                continue;
            }
            Ok(Line::Message) => {}
            Err(e) => {
                bridge.out.printer.error(&format!(
                    "reading the MCP client's messages from stdin failed: {e}"
                ));
                break;
            }
        }
        let body = line.trim_ascii();
        if body.is_empty() {
            continue;
        }
        let body = body.to_vec();
        match classify(&body) {
            Kind::Request(id) => {
                let b = Arc::clone(&bridge);
                pool.submit(move || b.exchange(body, Expect::Answer(id)));
            }
            Kind::Initialize(id) => bridge.exchange(body, Expect::Initialize(id)),
            Kind::Notification { initialized } => {
                let ok = bridge.exchange_quiet(body);
                if initialized && ok && !bridge.listening.swap(true, Ordering::SeqCst) {
                    let b = Arc::clone(&bridge);
                    std::thread::spawn(move || b.listen());
                }
            }
            Kind::Other => {
                bridge.exchange_quiet(body);
            }
        }
    }
    pool.wait_idle(EOF_GRACE);
    bridge.end_session();
    Ok(())
}

enum Line {
    Message,
    TooLong,
    Eof,
}

/// Reads one line into `buf` (without the newline), never holding more than `max` bytes: a longer
/// line is read to its end and dropped.
fn read_line(r: &mut impl BufRead, buf: &mut Vec<u8>, max: usize) -> std::io::Result<Line> {
    buf.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let available = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(if !any {
                Line::Eof
            } else if too_long {
                Line::TooLong
            } else {
                Line::Message
            });
        }
        any = true;
        let (part, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], Some(i + 1)),
            None => (available, None),
        };
        if !too_long {
            if buf.len() + part.len() > max {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(part);
            }
        }
        let used = done.unwrap_or(part.len());
        r.consume(used);
        if done.is_some() {
            return Ok(if too_long {
                Line::TooLong
            } else {
                Line::Message
            });
        }
    }
}

/// Only what the bridge looks at; everything else is forwarded untouched.
#[derive(Deserialize)]
struct Peek {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    method: Option<String>,
}

enum Kind {
    Initialize(Value),
    Request(Value),
    Notification {
        initialized: bool,
    },
    /// A response to the server, a batch, or something we cannot read: forwarded as is.
    Other,
}

fn classify(body: &[u8]) -> Kind {
    match serde_json::from_slice::<Peek>(body) {
        Ok(Peek {
            id: Some(id),
            method: Some(m),
        }) => {
            if m == "initialize" {
                Kind::Initialize(id)
            } else {
                Kind::Request(id)
            }
        }
        Ok(Peek {
            id: None,
            method: Some(m),
        }) => Kind::Notification {
            initialized: m == "notifications/initialized",
        },
        _ => Kind::Other,
    }
}

/// What a POST is waiting for.
enum Expect {
    /// Nothing (a notification or response: 202).
    Nothing,
    /// The response with this id.
    Answer(Value),
    /// The `initialize` response with this id (its result carries the protocol version).
    Initialize(Value),
}

impl Expect {
    fn id(&self) -> Option<&Value> {
        match self {
            Expect::Nothing => None,
            Expect::Answer(id) | Expect::Initialize(id) => Some(id),
        }
    }
}

/// Why a message could not be delivered, in words for the user (never a header value).
#[derive(Debug, Clone)]
struct Failure {
    message: String,
    hint: String,
    status: Option<u16>,
}

impl Failure {
    fn plain(message: impl Into<String>, hint: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            hint: hint.into(),
            status: None,
        }
    }
}

/// stdout (JSON-RPC lines only) and stderr (each distinct explanation once).
struct Out {
    printer: Printer,
    told: Mutex<HashSet<String>>,
    /// Header values, scrubbed from any server text we quote.
    concealed: Vec<Secret>,
    /// The OAuth tokens, scrubbed too (they change as they are renewed).
    auth: Option<Arc<dyn Authorizer>>,
}

impl Out {
    /// Writes one message as one line. JSON never needs a raw line break (inside strings they are
    /// escaped), so a pretty-printed message becomes one line by turning breaks into spaces.
    fn message(&self, json: &[u8]) {
        let mut line = String::from_utf8_lossy(json).into_owned();
        if line.contains(['\n', '\r']) {
            line = line.replace(['\n', '\r'], " ");
        }
        line.push('\n');
        if let Err(e) = self.printer.data(&line) {
            if e.downcast_ref::<BrokenPipe>().is_none() {
                self.printer.error(&format!("{e:#}"));
            }
        }
    }

    /// The JSON-RPC error for request `id`, so the client does not wait for ever.
    fn error_response(&self, id: &Value, f: &Failure) {
        let mut error = serde_json::json!({
            "code": TRANSPORT_ERROR,
            "message": format!("{} ({})", f.message, f.hint),
        });
        if let Some(status) = f.status {
            error["data"] = serde_json::json!({ "httpStatus": status });
        }
        let msg = serde_json::json!({ "jsonrpc": "2.0", "id": id, "error": error });
        self.message(msg.to_string().as_bytes());
    }

    /// One `error:` + `hint:` on stderr, once per distinct message.
    fn tell(&self, f: &Failure) {
        let first = self
            .told
            .lock()
            .map(|mut t| t.insert(f.message.clone()))
            .unwrap_or(true);
        if first {
            self.printer.error(&f.message);
            self.printer.hint(&f.hint);
        }
    }

    fn warn(&self, text: &str) {
        let first = self
            .told
            .lock()
            .map(|mut t| t.insert(text.to_owned()))
            .unwrap_or(true);
        if first {
            self.printer.warning(text);
        }
    }

    /// `text` from the server, shortened, with every header value replaced.
    fn scrub(&self, text: &str) -> String {
        // Replace before shortening: a cut through a token must not leave its first half.
        let mut s = text.to_owned();
        let tokens = self.auth.as_ref().map(|a| a.secrets()).unwrap_or_default();
        for v in self.concealed.iter().chain(&tokens) {
            if !v.is_empty() && s.contains(v.expose_secret()) {
                s = s.replace(v.expose_secret(), "<concealed>");
            }
        }
        s.chars()
            .take(300)
            .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
            .collect()
    }
}

struct Bridge {
    agent: ureq::Agent,
    url: String,
    host: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// Header name → the references it was made from, for messages.
    sources: Vec<(String, Vec<String>)>,
    session: RwLock<Option<HeaderValue>>,
    protocol: RwLock<Option<HeaderValue>>,
    listening: AtomicBool,
    closing: AtomicBool,
    auth: Option<Arc<dyn Authorizer>>,
    out: Out,
}

impl Bridge {
    fn new(opts: Options) -> Result<Bridge> {
        let headers = opts
            .headers
            .iter()
            .map(headers::Header::to_http)
            .collect::<Result<Vec<_>>>()?;
        let sources = opts
            .headers
            .iter()
            .map(|h| (h.name.clone(), h.references.clone()))
            .collect();
        // The one client for vault values: a redirect would carry the body (and custom headers)
        // elsewhere, so it is reported instead of followed.
        let agent = http::agent(http::Limits {
            connect: CONNECT_TIMEOUT,
            total: None,
            idle_connections: Some(MAX_WORKERS + 2),
        });
        Ok(Bridge {
            agent,
            host: http::host_of(&opts.url),
            url: opts.url,
            headers,
            sources,
            session: RwLock::new(None),
            protocol: RwLock::new(None),
            listening: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            auth: opts.auth.clone(),
            out: Out {
                printer: opts.printer,
                told: Mutex::new(HashSet::new()),
                auth: opts.auth,
                // Longest first, so a whole header value goes before the token inside it.
                concealed: {
                    let mut all: Vec<Secret> = opts
                        .headers
                        .into_iter()
                        .flat_map(|h| std::iter::once(h.value).chain(h.parts))
                        .collect();
                    all.sort_by_key(|s| std::cmp::Reverse(s.len()));
                    all
                },
            },
        })
    }

    fn session_id(&self) -> Option<HeaderValue> {
        self.session.read().ok().and_then(|s| s.clone())
    }

    /// Adds the configured headers, the OAuth token (when it can be had: a GET or DELETE goes
    /// without one rather than not at all), the session and the protocol version.
    fn with_headers<B>(&self, req: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        let bearer = self.auth.as_ref().and_then(|a| a.bearer().ok());
        self.with_headers_for(req, None, bearer.as_ref())
    }

    /// [`Bridge::with_headers`] for one message: a 2026-07-28 message carries its own version,
    /// method and name headers (`modern`); a 2025 one the version `initialize` chose.
    fn with_headers_for<B>(
        &self,
        mut req: ureq::RequestBuilder<B>,
        modern: Option<&[(&'static str, String)]>,
        bearer: Option<&HeaderValue>,
    ) -> ureq::RequestBuilder<B> {
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        if let Some(b) = bearer {
            req = req.header("Authorization", b);
        }
        if let Some(s) = self.session_id() {
            req = req.header("Mcp-Session-Id", s);
        }
        match modern {
            Some(headers) => {
                for (k, v) in headers {
                    req = req.header(*k, v);
                }
            }
            None => {
                if let Some(p) = self.protocol.read().ok().and_then(|p| p.clone()) {
                    req = req.header("MCP-Protocol-Version", p);
                }
            }
        }
        req
    }

    /// The OAuth token to send now, if the bridge has a login.
    fn bearer(&self) -> Result<Option<HeaderValue>, Failure> {
        match &self.auth {
            None => Ok(None),
            Some(a) => a.bearer().map(Some).map_err(|f| Failure {
                message: f.message,
                hint: f.hint,
                status: None,
            }),
        }
    }

    /// POSTs a notification or response; false when it was not accepted (already reported).
    fn exchange_quiet(&self, body: Vec<u8>) -> bool {
        match self.post(&body, &Expect::Nothing) {
            Ok(()) => true,
            Err(f) => {
                self.out.tell(&f);
                false
            }
        }
    }

    /// POSTs a request and delivers its answer, or an error for it.
    fn exchange(&self, body: Vec<u8>, expect: Expect) {
        if let Err(f) = self.post(&body, &expect) {
            // A 2026-07-28 era probe that a 2025 server rejects is negotiation, not a failure:
            // the client falls back to `initialize` on the error it gets.
            let probe = f
                .status
                .is_some_and(|s| (400..500).contains(&s) && s != 401 && s != 403)
                && serde_json::from_slice::<Peek>(&body)
                    .ok()
                    .and_then(|p| p.method)
                    .is_some_and(|m| m == "server/discover");
            if !probe {
                self.out.tell(&f);
            }
            if let Some(id) = expect.id() {
                self.out.error_response(id, &f);
            }
        }
    }

    fn post(&self, body: &[u8], expect: &Expect) -> Result<(), Failure> {
        let had_session = self.session_id().is_some();
        let modern = tokenvault_core::oauth::modern_headers(body);
        let mut renewed = false;
        let (mut resp, status) = loop {
            let bearer = self.bearer()?;
            let req = self
                .with_headers_for(
                    self.agent.post(&self.url),
                    modern.as_deref(),
                    bearer.as_ref(),
                )
                .header("Content-Type", "application/json")
                .header("Accept", "application/json, text/event-stream");
            let resp = req.send(body).map_err(|e| self.network(e))?;
            let status = resp.status().as_u16();
            // A token refused before its expiry (revoked, or the clocks disagree): renew once.
            if let (401, false, Some(auth), Some(sent)) = (status, renewed, &self.auth, &bearer) {
                auth.refused(sent).map_err(|f| Failure {
                    message: f.message,
                    hint: f.hint,
                    status: Some(401),
                })?;
                renewed = true;
                continue;
            }
            break (resp, status);
        };
        if let Expect::Initialize(_) = expect {
            if let Some(s) = resp.headers().get("mcp-session-id") {
                if let Ok(mut slot) = self.session.write() {
                    *slot = Some(s.clone());
                }
            }
        }
        match status {
            202 | 204 => Ok(()),
            200..=299 => {
                if is_event_stream(&resp) {
                    let mut parser = sse::Parser::new(MAX_MESSAGE);
                    let answered = self.pump(&mut resp, &mut parser, expect)?;
                    if answered || expect.id().is_none() {
                        return Ok(());
                    }
                    self.resume(&mut parser, expect)
                } else {
                    let data = resp
                        .body_mut()
                        .with_config()
                        .limit(MAX_MESSAGE as u64)
                        .read_to_vec()
                        .map_err(|e| self.network(e))?;
                    if data.trim_ascii().is_empty() {
                        return match expect.id() {
                            Some(_) => Err(Failure {
                                message: format!(
                                    "the server at {} answered {status} with an empty body",
                                    self.host
                                ),
                                hint: "the server is not following the MCP transport; check --url"
                                    .to_owned(),
                                status: Some(status),
                            }),
                            None => Ok(()),
                        };
                    }
                    self.forward(&data, expect);
                    Ok(())
                }
            }
            _ => Err(self.refused(&mut resp, had_session, "the request")),
        }
    }

    /// Delivers every message of an SSE response as it arrives; true once `expect`'s answer came.
    /// A dropped connection ends the stream like the server closing it.
    fn pump(
        &self,
        resp: &mut Response<Body>,
        parser: &mut sse::Parser,
        expect: &Expect,
    ) -> Result<bool, Failure> {
        let mut reader = resp.body_mut().as_reader();
        let mut buf = vec![0u8; 16 * 1024];
        let mut answered = false;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            parser
                .feed(&buf[..n], |ev| {
                    if ev.is_message() && self.forward(ev.data.as_bytes(), expect) {
                        answered = true;
                    }
                })
                .map_err(|e| {
                    Failure::plain(
                        format!("{e} (from {}); the stream was closed", self.host),
                        "the server sent a message beyond the proxy's limit",
                    )
                })?;
        }
        Ok(answered)
    }

    /// Writes one server message to stdout; true when it is the answer `expect` waits for.
    fn forward(&self, data: &[u8], expect: &Expect) -> bool {
        let json = data.trim_ascii();
        if json.is_empty() {
            return false; // e.g. an event that only primes Last-Event-ID
        }
        let mut answer = false;
        match json[0] {
            b'{' => match serde_json::from_slice::<Peek>(json) {
                Ok(p) => {
                    answer = p.method.is_none() && p.id.is_some() && p.id.as_ref() == expect.id();
                    if answer {
                        if let Expect::Initialize(_) = expect {
                            self.learn_protocol(json);
                        }
                    }
                }
                Err(_) => {
                    self.not_json();
                    return false;
                }
            },
            b'[' if serde_json::from_slice::<serde::de::IgnoredAny>(json).is_ok() => {}
            _ => {
                self.not_json();
                return false;
            }
        }
        self.out.message(json);
        answer
    }

    fn not_json(&self) {
        self.out.warn(&format!(
            "the server at {} sent a message that is not JSON-RPC; it was not passed on",
            self.host
        ));
    }

    /// Remembers the version the server chose in its `initialize` result, for later requests.
    fn learn_protocol(&self, json: &[u8]) {
        #[derive(Deserialize)]
        struct InitResult {
            #[serde(rename = "protocolVersion")]
            protocol_version: String,
        }
        #[derive(Deserialize)]
        struct InitResponse {
            result: Option<InitResult>,
        }
        let version = serde_json::from_slice::<InitResponse>(json)
            .ok()
            .and_then(|r| r.result)
            .and_then(|r| HeaderValue::from_str(&r.protocol_version).ok());
        if let (Some(v), Ok(mut slot)) = (version, self.protocol.write()) {
            *slot = Some(v);
        }
    }

    /// A GET that resumes (or opens) the SSE stream after `last_id`.
    fn get_stream(&self, last_id: Option<&str>) -> Result<Response<Body>, ureq::Error> {
        let mut req = self
            .with_headers(self.agent.get(&self.url))
            .header("Accept", "text/event-stream");
        if let Some(id) = last_id {
            req = req.header("Last-Event-ID", id);
        }
        req.call()
    }

    /// Resumes a response stream that dropped before its answer: GET with `Last-Event-ID` after
    /// the server's `retry:` delay, a few times.
    fn resume(&self, parser: &mut sse::Parser, expect: &Expect) -> Result<(), Failure> {
        let gone = || {
            Failure::plain(
                format!(
                    "the server at {} closed the response stream before answering",
                    self.host
                ),
                "retry the request; if it keeps happening, the server or a proxy in between is cutting long responses",
            )
        };
        for _ in 0..MAX_RESUME {
            let Some(last_id) = parser.last_id().map(str::to_owned) else {
                return Err(gone()); // no event ID: the stream cannot be resumed
            };
            std::thread::sleep(retry_delay(parser));
            let had_session = self.session_id().is_some();
            let mut resp = match self.get_stream(Some(&last_id)) {
                Ok(r) => r,
                Err(_) => continue,
            };
            let status = resp.status().as_u16();
            if status == 200 && is_event_stream(&resp) {
                let mut resumed = sse::Parser::resuming(MAX_MESSAGE, Some(last_id));
                let answered = self.pump(&mut resp, &mut resumed, expect)?;
                *parser = resumed;
                if answered {
                    return Ok(());
                }
            } else if status == 405 {
                return Err(gone());
            } else {
                return Err(self.refused(&mut resp, had_session, "resuming the stream"));
            }
        }
        Err(gone())
    }

    /// The GET stream for server-initiated messages, kept open until the session ends.
    fn listen(&self) {
        let mut last_id: Option<String> = None;
        let mut retry = DEFAULT_RETRY;
        let mut failures = 0;
        while !self.closing.load(Ordering::SeqCst) {
            let had_session = self.session_id().is_some();
            let mut resp = match self.get_stream(last_id.as_deref()) {
                Ok(r) => r,
                Err(e) => {
                    failures += 1;
                    if failures >= MAX_LISTEN_FAILURES {
                        let f = self.network(e);
                        if !self.closing.load(Ordering::SeqCst) {
                            self.out.warn(&format!(
                                "{}; server-initiated messages will not arrive ({})",
                                f.message, f.hint
                            ));
                        }
                        return;
                    }
                    std::thread::sleep(retry * failures);
                    continue;
                }
            };
            if self.closing.load(Ordering::SeqCst) {
                return;
            }
            let status = resp.status().as_u16();
            match status {
                200 if is_event_stream(&resp) => {
                    failures = 0;
                    let mut parser = sse::Parser::resuming(MAX_MESSAGE, last_id.take());
                    if let Err(f) = self.pump(&mut resp, &mut parser, &Expect::Nothing) {
                        self.out.tell(&f);
                    }
                    last_id = parser.last_id().map(str::to_owned);
                    retry = retry_delay(&parser);
                    std::thread::sleep(retry);
                }
                // The server offers no stream (405), or not as SSE: nothing to listen to.
                405 | 200..=299 => return,
                _ => {
                    let f = self.refused(&mut resp, had_session, "the stream for server messages");
                    if !self.closing.load(Ordering::SeqCst) {
                        self.out.tell(&f);
                    }
                    return;
                }
            }
        }
    }

    /// Ends the session (DELETE), when there is one. A server that does not allow it (405) or is
    /// gone is fine: we are exiting either way.
    fn end_session(&self) {
        self.closing.store(true, Ordering::SeqCst);
        if self.session_id().is_none() {
            return;
        }
        let req = self
            .with_headers(self.agent.delete(&self.url))
            .config()
            .timeout_global(Some(DELETE_TIMEOUT))
            .build();
        let _ = req.call();
    }

    /// A non-success HTTP status in words.
    fn refused(&self, resp: &mut Response<Body>, had_session: bool, what: &str) -> Failure {
        let status = resp.status().as_u16();
        let reason = resp.status().canonical_reason().unwrap_or("");
        let host = &self.host;
        let (message, hint) = match status {
            401 | 403 if self.auth.is_some() => {
                let source = self.auth.as_ref().map(|a| a.source()).unwrap_or_default();
                (
                    format!("the server at {host} refused the OAuth token from {source} ({status} {reason}), also after renewing it"),
                    if status == 403 {
                        "the login lacks a permission this server needs: run `tokenvault mcp login` again with the --scope it requires".to_owned()
                    } else {
                        "sign in again with `tokenvault mcp login URL --name NAME` (see `tokenvault mcp status`)".to_owned()
                    },
                )
            }
            401 | 403 => {
                let creds = self.credentials();
                let refs: Vec<&String> = self.sources.iter().flat_map(|(_, r)| r).collect();
                let hint = match refs.first() {
                    Some(r) => {
                        let r = r.trim_start_matches("tv://");
                        let item = r.split('/').next().unwrap_or(r);
                        format!(
                            "check the token with `tokenvault verify {item}`; store a valid one with `tokenvault set {r}`{}",
                            if status == 403 { " (a 403 can also mean the token lacks a permission this server needs)" } else { "" }
                        )
                    }
                    None => "store the token with `tokenvault set ITEM` and pass --header 'Authorization: Bearer {{ tv://ITEM/token }}'".to_owned(),
                };
                (
                    format!(
                        "the server at {host} refused the credentials ({status} {reason}) {creds}"
                    ),
                    hint,
                )
            }
            404 if had_session => (
                format!("the server at {host} no longer knows this session (404): it expired or the server restarted"),
                "restart this MCP server in the client (reconnect it) to start a new session".to_owned(),
            ),
            300..=399 => {
                let location = resp
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .map(|l| {
                        if l.contains("://") {
                            http::host_of(l)
                        } else {
                            host.clone()
                        }
                    })
                    .unwrap_or_else(|| "elsewhere".to_owned());
                (
                    format!("the server at {host} redirects {what} ({status}) to {location}; the proxy does not follow redirects, so the headers go nowhere unintended"),
                    "pass the final URL with --url".to_owned(),
                )
            }
            _ => {
                let (code, text) = server_error(resp).unwrap_or((None, None));
                let detail = text
                    .map(|m| format!(": {}", self.out.scrub(&m)))
                    .unwrap_or_default();
                (
                    format!("the server at {host} rejected {what} ({status} {reason}){detail}"),
                    if code == Some(UNSUPPORTED_PROTOCOL_VERSION) {
                        "the server and the MCP client share no protocol revision (a server of the 2026-07-28 revision alone needs a client that speaks it; the proxy passes each era through as the client chooses): update the client".to_owned()
                    } else if status == 404 || status == 405 {
                        "check the --url: it must be the server's MCP endpoint (e.g. https://huggingface.co/mcp)".to_owned()
                    } else {
                        "retry later; if it persists, check the server's status".to_owned()
                    },
                )
            }
        };
        Failure {
            message,
            hint,
            status: Some(status),
        }
    }

    /// "sent in header 'Authorization' from tv://huggingface/token", or "(no credentials sent)".
    fn credentials(&self) -> String {
        let parts: Vec<String> = self
            .sources
            .iter()
            .filter(|(_, refs)| !refs.is_empty())
            .map(|(name, refs)| format!("'{name}' from {}", refs.join(", ")))
            .collect();
        if parts.is_empty() {
            "(no header from the vault was sent)".to_owned()
        } else {
            format!("sent in header {}", parts.join(" and "))
        }
    }

    /// A transport failure in words.
    fn network(&self, e: ureq::Error) -> Failure {
        let host = &self.host;
        let via = http::proxy_for(&self.url)
            .map(|p| format!(" via proxy {p}"))
            .unwrap_or_default();
        let check = "check the --url and your network; behind a proxy, set HTTPS_PROXY";
        let (message, hint) = match http::classify(e, "--url") {
            NetworkFailure::Timeout => (
                format!("no answer from {host}{via} in time"),
                check.to_owned(),
            ),
            NetworkFailure::Dns => (format!("could not resolve {host}"), check.to_owned()),
            NetworkFailure::Tls(why) => (
                format!("TLS with {host}{via} failed: {why}"),
                "a proxy or firewall may be intercepting HTTPS; check the system time and the --url scheme".to_owned(),
            ),
            NetworkFailure::Connect(why) => (
                format!("could not connect to {host}{via}: {why}"),
                check.to_owned(),
            ),
            NetworkFailure::Proxy(why) => (
                format!("the proxy failed reaching {host}: {why}"),
                "check HTTPS_PROXY/HTTP_PROXY (scheme://host:port) and NO_PROXY".to_owned(),
            ),
            NetworkFailure::Other(why) => (
                format!("the request to {host}{via} failed: {}", self.out.scrub(&why)),
                check.to_owned(),
            ),
        };
        Failure {
            message,
            hint,
            status: None,
        }
    }
}

fn is_event_stream(resp: &Response<Body>) -> bool {
    resp.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/event-stream"))
        })
}

fn retry_delay(parser: &sse::Parser) -> Duration {
    parser
        .retry_ms()
        .map(|ms| Duration::from_millis(ms.min(60_000)))
        .unwrap_or(DEFAULT_RETRY)
}

/// JSON-RPC error code of MCP 2026-07-28 for "no protocol revision in common".
const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;

/// The `error.code` and `error.message` of a JSON-RPC error body (what MCP servers put in
/// 4xx/5xx answers).
fn server_error(resp: &mut Response<Body>) -> Option<(Option<i64>, Option<String>)> {
    let body = resp
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_to_vec()
        .ok()?;
    let v: Value = serde_json::from_slice(&body).ok()?;
    Some((
        v.pointer("/error/code").and_then(Value::as_i64),
        v.pointer("/error/message")
            .and_then(Value::as_str)
            .map(str::to_owned),
    ))
}

type Job = Box<dyn FnOnce() + Send>;

/// A pool of worker threads that grows on demand up to [`MAX_WORKERS`]; workers are reused, so a
/// request costs a channel send, not a thread start.
struct Pool {
    tx: mpsc::Sender<Job>,
    rx: Arc<Mutex<mpsc::Receiver<Job>>>,
    /// Jobs submitted and not finished, and the number of workers.
    state: Arc<(Mutex<PoolState>, Condvar)>,
}

#[derive(Default)]
struct PoolState {
    pending: usize,
    workers: usize,
}

impl Pool {
    fn new() -> Pool {
        let (tx, rx) = mpsc::channel();
        Pool {
            tx,
            rx: Arc::new(Mutex::new(rx)),
            state: Arc::new((Mutex::new(PoolState::default()), Condvar::new())),
        }
    }

    fn submit(&self, job: impl FnOnce() + Send + 'static) {
        let (lock, cv) = &*self.state;
        let Ok(mut st) = lock.lock() else { return };
        while st.pending >= MAX_WORKERS + MAX_QUEUED {
            st = match cv.wait(st) {
                Ok(s) => s,
                Err(_) => return,
            };
        }
        st.pending += 1;
        if st.pending > st.workers && st.workers < MAX_WORKERS {
            st.workers += 1;
            let rx = Arc::clone(&self.rx);
            let state = Arc::clone(&self.state);
            std::thread::spawn(move || worker(rx, state));
        }
        drop(st);
        let _ = self.tx.send(Box::new(job));
    }

    /// Waits until no job is pending, or `grace` passed.
    fn wait_idle(&self, grace: Duration) {
        let deadline = Instant::now() + grace;
        let (lock, cv) = &*self.state;
        let Ok(mut st) = lock.lock() else { return };
        while st.pending > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            st = match cv.wait_timeout(st, left) {
                Ok((s, _)) => s,
                Err(_) => return,
            };
        }
    }
}

fn worker(rx: Arc<Mutex<mpsc::Receiver<Job>>>, state: Arc<(Mutex<PoolState>, Condvar)>) {
    loop {
        let job = match rx.lock() {
            Ok(r) => match r.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
            Err(_) => return,
        };
        job();
        let (lock, cv) = &*state;
        if let Ok(mut st) = lock.lock() {
            st.pending -= 1;
        }
        cv.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_is_scrubbed_of_header_values_and_the_tokens_inside() {
        let out = Out {
            printer: Printer::new(true, crate::cli::ColorWhen::Never),
            told: Mutex::new(HashSet::new()),
            auth: None,
            concealed: vec![
                Secret::new("Bearer hf_secretsecret".into()),
                Secret::new("hf_secretsecret".into()),
            ],
        };
        assert_eq!(
            out.scrub("bad header Bearer hf_secretsecret;\ntoken hf_secretsecret"),
            "bad header <concealed>; token <concealed>"
        );
    }

    #[test]
    fn read_line_is_bounded() {
        let mut input: &[u8] = b"{\"a\":1}\r\nxxxxxxxxxxxxxxxxxxxx\n\nlast";
        let mut buf = Vec::new();
        let mut r = std::io::BufReader::with_capacity(4, &mut input);
        assert!(matches!(
            read_line(&mut r, &mut buf, 10).unwrap(),
            Line::Message
        ));
        assert_eq!(buf, b"{\"a\":1}\r");
        assert!(matches!(
            read_line(&mut r, &mut buf, 10).unwrap(),
            Line::TooLong
        ));
        assert!(matches!(
            read_line(&mut r, &mut buf, 10).unwrap(),
            Line::Message
        ));
        assert!(buf.is_empty());
        assert!(matches!(
            read_line(&mut r, &mut buf, 10).unwrap(),
            Line::Message
        ));
        assert_eq!(buf, b"last");
        assert!(matches!(
            read_line(&mut r, &mut buf, 10).unwrap(),
            Line::Eof
        ));
    }

    #[test]
    fn messages_are_classified_by_id_and_method() {
        assert!(matches!(
            classify(br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#),
            Kind::Initialize(_)
        ));
        assert!(matches!(
            classify(br#"{"jsonrpc":"2.0","id":"a","method":"tools/call","x":{"y":[1]}}"#),
            Kind::Request(Value::String(_))
        ));
        assert!(matches!(
            classify(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            Kind::Notification { initialized: true }
        ));
        assert!(matches!(
            classify(br#"{"jsonrpc":"2.0","id":3,"result":{}}"#),
            Kind::Other
        ));
        assert!(matches!(classify(b"not json"), Kind::Other));
        assert!(matches!(classify(b"[]"), Kind::Other));
    }

    #[test]
    fn pool_runs_jobs_concurrently() {
        let pool = Pool::new();
        let (tx, rx) = mpsc::channel();
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        // The first job waits until the second ran: only possible if they run at the same time.
        let g = Arc::clone(&gate);
        let t = tx.clone();
        pool.submit(move || {
            let (m, cv) = &*g;
            let mut open = m.lock().unwrap();
            while !*open {
                open = cv.wait(open).unwrap();
            }
            t.send(1).unwrap();
        });
        let g = Arc::clone(&gate);
        pool.submit(move || {
            // Report first, then open the gate: the order received is then always 2, 1.
            tx.send(2).unwrap();
            *g.0.lock().unwrap() = true;
            g.1.notify_all();
        });
        // A serial pool would never run the second job: fail after a while instead of hanging.
        let got: Vec<i32> = (0..2)
            .map(|_| {
                rx.recv_timeout(Duration::from_secs(10))
                    .expect("both jobs ran")
            })
            .collect();
        assert_eq!(got, vec![2, 1]);
        pool.wait_idle(Duration::from_secs(5));
        assert_eq!(pool.state.0.lock().unwrap().pending, 0);
    }
}
