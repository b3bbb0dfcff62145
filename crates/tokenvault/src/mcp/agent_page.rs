//! The one-request loopback page of `mcp serve`: where the human, not the model, types a missing
//! token (`request_credential`) or approves a command (`run_with_credentials`). The MCP client
//! gets only its URL, through URL-mode elicitation (MCP 2025-11-25).
//!
//! A small stand-alone module so that the full web app (`tokenvault ui`) can replace it with its
//! own add-token page later. It follows the house model for local web servers (Jupyter):
//! - binds 127.0.0.1 on a random port, serves one page for one request, then stops;
//! - the URL path holds a random 256-bit one-time secret, compared in constant time; anything else
//!   is 404;
//! - the Host header must be `127.0.0.1:PORT` or `localhost:PORT` (DNS rebinding), and a POST's
//!   Origin, when sent, that same origin;
//! - the form carries a CSRF token (a second random value) that a POST must return; values are
//!   accepted only by POST, never in a URL;
//! - every answer has a strict Content-Security-Policy (no script at all), `no-store`, no referrer,
//!   and no framing. Answers never contain a submitted value.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use tokenvault_core::Secret;
use zeroize::Zeroizing;

/// What the page asks.
#[derive(Debug, Clone)]
pub enum Ask {
    /// A token for `reference`.
    Token {
        reference: String,
        provider: String,
        reason: String,
        create_url: Option<String>,
    },
    /// Approval of an exact command line receiving `refs`.
    Approve {
        client: String,
        line: String,
        refs: Vec<String>,
        cwd: String,
    },
}

/// What the human answered.
pub enum Answer {
    Token(Secret),
    Once,
    Always,
    Deny,
}

/// A running page; dropping it stops the server.
pub struct Page {
    pub url: String,
    rx: mpsc::Receiver<Answer>,
    stop: Arc<AtomicBool>,
}

impl Drop for Page {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut b = vec![0u8; bytes];
    getrandom::getrandom(&mut b)
        .map_err(|e| anyhow::anyhow!("no randomness for the approval page: {e}"))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Page {
    /// Starts the page for `ask`; the answer comes through [`Page::wait`].
    pub fn start(ask: Ask) -> anyhow::Result<Page> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .map_err(|e| anyhow::anyhow!("cannot listen on 127.0.0.1 for the page: {e}"))?;
        let port = listener.local_addr()?.port();
        listener.set_nonblocking(true)?;
        let secret = random_hex(32)?;
        let csrf = random_hex(32)?;
        let url = format!("http://127.0.0.1:{port}/{secret}");
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let server = Server {
            port,
            path: format!("/{secret}"),
            csrf,
            ask,
        };
        std::thread::Builder::new()
            .name("agent-page".into())
            .spawn(move || {
                while !stop2.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            if let Some(answer) = server.handle(stream) {
                                let _ = tx.send(answer);
                                return;
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(25));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(25)),
                    }
                }
            })?;
        Ok(Page { url, rx, stop })
    }

    /// The answer, or `None` when `timeout` passed first.
    pub fn wait(&self, timeout: Duration) -> Option<Answer> {
        self.rx.recv_timeout(timeout).ok()
    }
}

struct Server {
    port: u16,
    path: String,
    csrf: String,
    ask: Ask,
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Zeroizing<Vec<u8>>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

const MAX_HEAD: usize = 16 * 1024;
const MAX_BODY: usize = 64 * 1024;

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    stream.set_nonblocking(false).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut data = Zeroizing::new(Vec::new());
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if data.len() > MAX_HEAD {
            return None;
        }
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let path = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    if length > MAX_BODY {
        return None;
    }
    let mut body = Zeroizing::new(data[head_end + 4..].to_vec());
    while body.len() < length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    buf.fill(0);
    body.truncate(length);
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn respond(stream: &mut TcpStream, status: &str, body: &str) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'\r\n\
         Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nX-Frame-Options: DENY\r\n\
         X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let _ = stream.flush();
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `application/x-www-form-urlencoded` fields; values stay in zeroized buffers.
fn form_fields(body: &[u8]) -> Vec<(String, Zeroizing<Vec<u8>>)> {
    fn decode(s: &[u8]) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(s.len()));
        let mut i = 0;
        while i < s.len() {
            match s[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < s.len() => {
                    let hex = std::str::from_utf8(&s[i + 1..i + 3]).ok();
                    match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(b) => {
                            out.push(b);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        out
    }
    body.split(|b| *b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            (String::from_utf8_lossy(&decode(k)).into_owned(), decode(v))
        })
        .collect()
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;line-height:1.5}\
code,pre{background:#f3f3f3;padding:.2rem .4rem;border-radius:4px;white-space:pre-wrap;word-break:break-all}\
input[type=password]{width:100%;padding:.5rem;font-size:1rem}button{padding:.5rem 1rem;margin:.5rem .5rem 0 0;font-size:1rem}";

impl Server {
    /// Serves one connection; `Some` once the human answered.
    fn handle(&self, mut stream: TcpStream) -> Option<Answer> {
        let req = read_request(&mut stream)?;
        let origin = format!("http://127.0.0.1:{}", self.port);
        let host_ok = req.header("host").is_some_and(|h| {
            h == format!("127.0.0.1:{}", self.port) || h == format!("localhost:{}", self.port)
        });
        if !host_ok {
            respond(&mut stream, "403 Forbidden", "<p>Wrong Host header.</p>");
            return None;
        }
        if !ct_eq(req.path.as_bytes(), self.path.as_bytes()) {
            respond(&mut stream, "404 Not Found", "<p>Not found.</p>");
            return None;
        }
        match req.method.as_str() {
            "GET" => {
                respond(&mut stream, "200 OK", &self.form());
                None
            }
            "POST" => {
                if let Some(o) = req.header("origin") {
                    if o != origin && o != format!("http://localhost:{}", self.port) {
                        respond(
                            &mut stream,
                            "403 Forbidden",
                            "<p>Cross-origin request refused.</p>",
                        );
                        return None;
                    }
                }
                let fields = form_fields(&req.body);
                let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v);
                let csrf_ok = field("csrf").is_some_and(|v| ct_eq(v, self.csrf.as_bytes()));
                if !csrf_ok {
                    respond(
                        &mut stream,
                        "403 Forbidden",
                        "<p>Missing or wrong form token: reload the page.</p>",
                    );
                    return None;
                }
                let answer = match &self.ask {
                    Ask::Token { .. } => {
                        let value = field("value")
                            .map(|v| String::from_utf8_lossy(v).trim().to_owned())
                            .unwrap_or_default();
                        if value.is_empty() {
                            respond(
                                &mut stream,
                                "400 Bad Request",
                                "<p>No token given: go back and paste it.</p>",
                            );
                            return None;
                        }
                        Answer::Token(Secret::new(value))
                    }
                    Ask::Approve { .. } => match field("decision").map(|v| v.as_slice()) {
                        Some(b"once") => Answer::Once,
                        Some(b"always") => Answer::Always,
                        _ => Answer::Deny,
                    },
                };
                let done = match &answer {
                    Answer::Token(_) => "Stored. You can close this tab and go back to your agent.",
                    Answer::Deny => "Denied. You can close this tab.",
                    _ => "Approved. You can close this tab and go back to your agent.",
                };
                respond(
                    &mut stream,
                    "200 OK",
                    &format!(
                    "<!doctype html><title>tokenvault</title><style>{STYLE}</style><p>{done}</p>"
                ),
                );
                Some(answer)
            }
            _ => {
                respond(
                    &mut stream,
                    "405 Method Not Allowed",
                    "<p>GET or POST only.</p>",
                );
                None
            }
        }
    }

    fn form(&self) -> String {
        let csrf = escape(&self.csrf);
        let body = match &self.ask {
            Ask::Token {
                reference,
                provider,
                reason,
                create_url,
            } => {
                let create = create_url
                    .as_deref()
                    .map(|u| format!("<p>Create one at <code>{}</code>.</p>", escape(u)))
                    .unwrap_or_default();
                format!(
                    "<h1>A token for {provider}</h1>\
                     <p>Your agent asks for a {provider} token, to be stored in tokenvault as <code>{reference}</code>. \
                     It will never see the value, only its masked form.</p>\
                     <p>Reason given: <em>{reason}</em></p>{create}\
                     <form method=\"post\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                     <label>Token<br><input type=\"password\" name=\"value\" autocomplete=\"off\" autofocus required></label>\
                     <br><button type=\"submit\">Store it</button></form>",
                    provider = escape(provider),
                    reference = escape(reference),
                    reason = escape(reason),
                )
            }
            Ask::Approve {
                client,
                line,
                refs,
                cwd,
            } => {
                let refs: String = refs
                    .iter()
                    .map(|r| format!("<li><code>{}</code></li>", escape(r)))
                    .collect();
                format!(
                    "<h1>Run a command with your credentials?</h1>\
                     <p><strong>{client}</strong> wants to run, in <code>{cwd}</code>:</p>\
                     <pre id=\"command\">{line}</pre><p>with these values in its environment:</p><ul>{refs}</ul>\
                     <p>Its output comes back with the values masked, but the command itself can read them: \
                     allow only commands you trust.</p>\
                     <form method=\"post\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                     <button name=\"decision\" value=\"once\">Allow once</button>\
                     <button name=\"decision\" value=\"always\">Always allow this command</button>\
                     <button name=\"decision\" value=\"deny\">Deny</button></form>",
                    client = escape(client),
                    cwd = escape(cwd),
                    line = escape(line),
                )
            }
        };
        format!("<!doctype html><html><head><meta charset=\"utf-8\"><title>tokenvault</title><style>{STYLE}</style></head><body>{body}</body></html>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding() {
        let f = form_fields(b"csrf=ab&value=a%2Fb+c%3D&x");
        assert_eq!(f[0].0, "csrf");
        assert_eq!(&f[1].1[..], b"a/b c=");
        assert_eq!(f[2].0, "x");
        assert_eq!(&form_fields(b"v=%4")[0].1[..], b"%4");
    }

    #[test]
    fn escaping() {
        assert_eq!(escape("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
    }
}
