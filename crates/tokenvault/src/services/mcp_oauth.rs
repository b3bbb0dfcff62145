//! OAuth 2.1 logins to remote MCP servers, for `mcp login`, `mcp logout`, `mcp status` and
//! `mcp proxy --oauth`. Nothing here prints or prompts: the browser is opened through the
//! caller's callback, and results come back as data.
//!
//! The flow (MCP authorization, revision 2025-06-18 and later): an unauthenticated request to
//! the server answers 401 with `WWW-Authenticate: Bearer resource_metadata=…` (else the
//! well-known address, RFC 9728) → the protected resource metadata names the authorization
//! server → its metadata (RFC 8414 or OpenID discovery) → the client: `--client-id` (a plain id,
//! or the https URL of a client ID metadata document when the server supports those), else
//! dynamic registration (RFC 7591) → the authorization code with PKCE S256, `state` and
//! `resource` (RFC 8707) through the user's browser and a loopback redirect on 127.0.0.1 at a
//! port the system picks (RFC 8252) → the token endpoint. The tokens and everything needed to
//! refresh them go into one vault item `mcp-oauth-NAME`; never a file, never argv.
//!
//! Refreshing ([`refresh`]) is serialised across processes by a lock file beside the vault; under
//! the lock the item is read again, so a proxy that waited finds the token another one just got
//! instead of spending a rotated refresh token twice. The new access and refresh tokens are
//! written in one store write.

// The I/O half: it reads the clock for expiry.
#![allow(clippy::disallowed_methods)]

use crate::vault::{Target, Vault};
use anyhow::Result;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokenvault_core::oauth::{self, AuthServer, ProtectedResource, TokenAnswer};
use tokenvault_core::{FieldName, ItemName, Reference, Secret};
use tokenvault_store::fsutil::FileLock;
use tokenvault_store::{Key, Slot};
use tokenvault_verify::http;

/// Item names are `mcp-oauth-NAME`.
pub const ITEM_PREFIX: &str = oauth::LOGIN_ITEM_PREFIX;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_BODY: u64 = 1 << 20;
fn fail(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    crate::error::hinted(message.into(), hint.into())
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Everything kept for one server.
#[derive(Clone)]
pub struct Login {
    pub name: String,
    pub url: String,
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    pub expires_at: Option<i64>,
    /// The `expires_in` the access token came with.
    pub lifetime: Option<i64>,
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub issuer: String,
    pub token_endpoint: String,
    pub revocation_endpoint: Option<String>,
    pub resource: String,
    pub scope: Option<String>,
}

const FIELDS: [&str; 13] = [
    "url",
    "access_token",
    "refresh_token",
    "expires_at",
    "lifetime",
    "client_id",
    "client_secret",
    "issuer",
    "token_endpoint",
    "revocation_endpoint",
    "resource",
    "scope",
    "name",
];

/// The vault item of server `name`.
pub fn item_of(name: &str) -> Result<ItemName> {
    ItemName::new(&format!("{ITEM_PREFIX}{name}")).map_err(|e| {
        fail(
            format!("'{name}' cannot name an OAuth login: {e}"),
            "use lowercase letters, digits, '.', '_' or '-', e.g. --name hf",
        )
    })
}

/// A default name from the server's host: `huggingface.co` → `huggingface-co`.
pub fn default_name(url: &str) -> String {
    let host = http::host_of(url);
    let host = host.split(':').next().unwrap_or(&host);
    let name: String = host
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let name = name.trim_matches('-').to_owned();
    if name.is_empty() {
        "server".into()
    } else {
        name
    }
}

fn keys(name: &str) -> Result<Vec<Key>> {
    let item = item_of(name)?;
    FIELDS
        .iter()
        .map(|f| Ok(Key::new(item.clone(), FieldName::new(f)?)))
        .collect()
}

impl Login {
    fn values(&self) -> Vec<Secret> {
        let s = |v: &str| Secret::from_str_copy(v);
        let n = |v: Option<i64>| Secret::new(v.map(|x| x.to_string()).unwrap_or_default());
        vec![
            s(&self.url),
            self.access_token.clone(),
            self.refresh_token.clone().unwrap_or_else(|| s("")),
            n(self.expires_at),
            n(self.lifetime),
            s(&self.client_id),
            self.client_secret.clone().unwrap_or_else(|| s("")),
            s(&self.issuer),
            s(&self.token_endpoint),
            s(self.revocation_endpoint.as_deref().unwrap_or("")),
            s(&self.resource),
            s(self.scope.as_deref().unwrap_or("")),
            s(&self.name),
        ]
    }

    /// Every secret this login holds, for scrubbing server text.
    pub fn secrets(&self) -> Vec<Secret> {
        [
            Some(self.access_token.clone()),
            self.refresh_token.clone(),
            self.client_secret.clone(),
        ]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect()
    }
}

/// Stores `login` in one store write (the values are read back before this returns).
pub fn store(vault: &Vault<'_>, login: &Login, now: &str) -> Result<Vec<String>> {
    let writes: Vec<(Target, Secret)> = keys(&login.name)?
        .into_iter()
        .zip(login.values())
        .map(|(key, value)| {
            (
                Target {
                    key,
                    provider: None,
                },
                value,
            )
        })
        .collect();
    vault.write_many_verified(&writes, now)?;
    Ok(vec![format!("tv://{}", item_of(&login.name)?)])
}

/// The login kept for `name`, if any.
pub fn load(vault: &Vault<'_>, name: &str) -> Result<Option<Login>> {
    let values = vault.store().get_many(&keys(name)?)?;
    let v: Vec<Option<String>> = values
        .into_iter()
        .map(|v| v.map(|s| s.expose_secret().to_owned()))
        .collect();
    let get = |i: usize| v.get(i).cloned().flatten().filter(|s| !s.is_empty());
    let (Some(url), Some(access)) = (get(0), get(1)) else {
        return Ok(None);
    };
    Ok(Some(Login {
        name: name.to_owned(),
        url,
        access_token: Secret::new(access),
        refresh_token: get(2).map(Secret::new),
        expires_at: get(3).and_then(|s| s.parse().ok()),
        lifetime: get(4).and_then(|s| s.parse().ok()),
        client_id: get(5).unwrap_or_default(),
        client_secret: get(6).map(Secret::new),
        issuer: get(7).unwrap_or_default(),
        token_endpoint: get(8).unwrap_or_default(),
        revocation_endpoint: get(9),
        resource: get(10).unwrap_or_default(),
        scope: get(11),
    }))
}

/// The names of every stored login.
pub fn names(vault: &Vault<'_>) -> Result<Vec<String>> {
    let index = vault.load_index_trusted()?;
    let mut names: Vec<String> = vault
        .keys(&index)?
        .into_iter()
        .filter(|k| k.slot == Slot::Current)
        .filter_map(|k| k.item.as_str().strip_prefix(ITEM_PREFIX).map(str::to_owned))
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// The HTTP client for the authorization server (the one client for vault values).
fn agent() -> ureq::Agent {
    http::agent(http::Limits {
        connect: CONNECT_TIMEOUT,
        total: Some(TOTAL_TIMEOUT),
        idle_connections: None,
    })
}

fn network(url: &str, e: ureq::Error) -> anyhow::Error {
    let host = http::host_of(url);
    let why = match http::classify(e, "the URL") {
        tokenvault_verify::NetworkFailure::Timeout => "no answer in time".to_owned(),
        tokenvault_verify::NetworkFailure::Dns => "the name does not resolve".to_owned(),
        tokenvault_verify::NetworkFailure::Tls(w)
        | tokenvault_verify::NetworkFailure::Connect(w)
        | tokenvault_verify::NetworkFailure::Proxy(w)
        | tokenvault_verify::NetworkFailure::Other(w) => w,
    };
    fail(
        format!("could not reach {host}: {why}"),
        "check the URL and your network; behind a proxy, set HTTPS_PROXY",
    )
}

/// An answer: status, `WWW-Authenticate`, body (at most 1 MiB).
struct Answer {
    status: u16,
    www_authenticate: Option<String>,
    body: String,
}

fn read(url: &str, mut resp: ureq::http::Response<ureq::Body>) -> Result<Answer> {
    let status = resp.status().as_u16();
    let www_authenticate = resp
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = resp
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_string()
        .map_err(|e| network(url, e))?;
    Ok(Answer {
        status,
        www_authenticate,
        body,
    })
}

fn get_json(agent: &ureq::Agent, url: &str) -> Result<Answer> {
    if let Some(why) = tokenvault_core::endpoint::cleartext_refused(url) {
        return Err(fail(why, "the server must publish https:// addresses"));
    }
    let resp = agent
        .get(url)
        .header("Accept", "application/json")
        .call()
        .map_err(|e| network(url, e))?;
    read(url, resp)
}

/// POSTs a form to `url`; the form may hold secrets (codes, verifiers, tokens), so it travels
/// only in the body, over https or to this machine.
fn post_form(
    agent: &ureq::Agent,
    url: &str,
    pairs: &[(&str, &str)],
    basic: Option<(&str, &Secret)>,
) -> Result<Answer> {
    if let Some(why) = tokenvault_core::endpoint::cleartext_refused(url) {
        return Err(fail(why, "the authorization server must use https://"));
    }
    let body = zeroize::Zeroizing::new(oauth::form(pairs));
    let mut req = agent
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "application/json");
    if let Some((id, secret)) = basic {
        let v = oauth::basic_auth(id, secret.expose_secret());
        let mut hv = ureq::http::HeaderValue::from_str(&v).map_err(|_| {
            fail(
                "the client secret cannot be sent in a header",
                "log in again",
            )
        })?;
        hv.set_sensitive(true);
        req = req.header("Authorization", hv);
    }
    let resp = req.send(body.as_bytes()).map_err(|e| network(url, e))?;
    read(url, resp)
}

/// What discovery found for a server.
pub struct Discovery {
    pub resource: String,
    pub scopes: Vec<String>,
    pub server: AuthServer,
}

/// Finds the authorization server of the MCP server at `url`.
pub fn discover(url: &str) -> Result<Discovery> {
    let agent = agent();
    let host = http::host_of(url);
    // An unauthenticated request: a protected server answers 401 and names its metadata.
    let probe = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .send(r#"{"jsonrpc":"2.0","id":0,"method":"ping"}"#)
        .map_err(|e| network(url, e))
        .and_then(|r| read(url, r))?;
    if (200..300).contains(&probe.status) {
        return Err(fail(
            format!("the server at {host} answered without asking for a login"),
            format!("it needs no OAuth: use `tokenvault mcp proxy --url {url}` (with --header for an API key)"),
        ));
    }
    let mut candidates = Vec::new();
    if let Some(m) = probe
        .www_authenticate
        .as_deref()
        .and_then(oauth::resource_metadata_of)
    {
        candidates.push(m);
    }
    candidates.extend(oauth::protected_resource_urls(url));
    let mut why = Vec::new();
    let mut pr = None;
    for c in &candidates {
        match get_json(&agent, c) {
            Ok(a) if a.status == 200 => match ProtectedResource::parse(&a.body, url) {
                Ok(p) => {
                    pr = Some(p);
                    break;
                }
                Err(e) => why.push(e),
            },
            Ok(a) => why.push(format!("{} answered {}", c, a.status)),
            Err(e) => why.push(format!("{e}")),
        }
    }
    let Some(pr) = pr else {
        return Err(fail(
            format!(
                "the server at {host} publishes no OAuth protected resource metadata ({} answered {})",
                url, probe.status
            ),
            format!(
                "if it takes an API key instead, use `tokenvault mcp proxy --url {url} --header 'Authorization: Bearer {{{{ tv://ITEM/token }}}}'` ({})",
                why.join("; ")
            ),
        ));
    };
    let issuer = pr.authorization_servers[0].clone();
    let mut why = Vec::new();
    for c in oauth::auth_server_urls(&issuer) {
        match get_json(&agent, &c) {
            Ok(a) if a.status == 200 => match AuthServer::parse(&a.body, &issuer) {
                Ok(server) => {
                    return Ok(Discovery {
                        resource: pr
                            .resource
                            .clone()
                            .unwrap_or_else(|| oauth::canonical_resource(url)),
                        scopes: pr.scopes_supported.clone(),
                        server,
                    })
                }
                Err(e) => why.push(e),
            },
            Ok(a) => why.push(format!("{c} answered {}", a.status)),
            Err(e) => why.push(format!("{e}")),
        }
    }
    Err(fail(
        format!(
            "the authorization server {} publishes no usable metadata",
            http::host_of(&issuer)
        ),
        why.join("; "),
    ))
}

/// A client registration.
struct Client {
    id: String,
    secret: Option<Secret>,
}

fn register(
    agent: &ureq::Agent,
    d: &Discovery,
    redirect_uri: &str,
    client_id: Option<&str>,
) -> Result<Client> {
    if let Some(id) = client_id {
        if id.starts_with("https://") && !d.server.client_id_metadata_document_supported {
            return Err(fail(
                "--client-id is a URL (a client ID metadata document), but the authorization server does not accept those",
                "pass the client id the server's administrator registered for you",
            ));
        }
        return Ok(Client {
            id: id.to_owned(),
            secret: None,
        });
    }
    let Some(endpoint) = &d.server.registration_endpoint else {
        return Err(fail(
            format!(
                "the authorization server {} offers no dynamic client registration",
                http::host_of(&d.server.issuer)
            ),
            if d.server.client_id_metadata_document_supported {
                "it accepts client ID metadata documents: pass the https URL of yours with --client-id, or a pre-registered id"
            } else {
                "register a client with the service and pass its id with --client-id"
            },
        ));
    };
    if let Some(why) = tokenvault_core::endpoint::cleartext_refused(endpoint) {
        return Err(fail(why, "the authorization server must use https://"));
    }
    let doc = serde_json::json!({
        "client_name": "tokenvault",
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    });
    let resp = agent
        .post(endpoint)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .send(doc.to_string().as_bytes())
        .map_err(|e| network(endpoint, e))
        .and_then(|r| read(endpoint, r))?;
    if !(200..300).contains(&resp.status) {
        return Err(fail(
            format!(
                "the authorization server refused to register tokenvault as a client ({}{})",
                resp.status,
                oauth::error_of(&resp.body)
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            ),
            "register a client with the service and pass its id with --client-id",
        ));
    }
    #[derive(serde::Deserialize)]
    struct Registered {
        client_id: String,
        #[serde(default)]
        client_secret: Option<String>,
    }
    let r: Registered = serde_json::from_str(&resp.body).map_err(|_| {
        fail(
            "the registration answer has no client_id",
            "register a client with the service and pass its id with --client-id",
        )
    })?;
    Ok(Client {
        id: r.client_id,
        secret: r.client_secret.filter(|s| !s.is_empty()).map(Secret::new),
    })
}

/// What `login` needs.
pub struct LoginRequest<'a> {
    pub url: &'a str,
    pub name: &'a str,
    pub scopes: &'a [String],
    pub client_id: Option<&'a str>,
    pub timeout: Duration,
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b)
        .map_err(|e| anyhow::anyhow!("the system's random source failed: {e}"))?;
    Ok(b)
}

/// Runs the whole login; `open` is given the authorization URL to show the user (open a browser,
/// print it). Returns the login, not yet stored.
pub fn login(req: &LoginRequest<'_>, open: &mut dyn FnMut(&str)) -> Result<Login> {
    let d = discover(req.url)?;
    let agent = agent();
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(|e| {
        fail(
            format!("could not listen on 127.0.0.1 for the browser's redirect: {e}"),
            "check that loopback networking works on this machine",
        )
    })?;
    let port = listener.local_addr()?.port();
    let redirect_uri = format!("http://127.0.0.1:{port}/callback");
    let client = register(&agent, &d, &redirect_uri, req.client_id)?;
    let verifier = zeroize::Zeroizing::new(oauth::code_verifier(&random::<32>()?));
    let state = oauth::nonce(&random::<16>()?);
    let scope = if req.scopes.is_empty() {
        d.scopes.join(" ")
    } else {
        req.scopes.join(" ")
    };
    let challenge = oauth::code_challenge(&verifier);
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client.id.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("state", state.as_str()),
        ("resource", d.resource.as_str()),
    ];
    if !scope.is_empty() {
        params.push(("scope", scope.as_str()));
    }
    let url = oauth::with_query(&d.server.authorization_endpoint, &params);
    open(&url);
    let code = zeroize::Zeroizing::new(wait_for_code(&listener, &state, req.timeout)?);
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("client_id", client.id.as_str()),
        ("code_verifier", verifier.as_str()),
        ("resource", d.resource.as_str()),
    ];
    let basic = client.secret.as_ref().map(|s| (client.id.as_str(), s));
    if basic.is_some() {
        form.retain(|(k, _)| *k != "client_id");
    }
    let now = now();
    let answer = post_form(&agent, &d.server.token_endpoint, &form, basic)?;
    let t = token_answer(&answer, &client.secret, "exchanging the authorization code")?;
    Ok(Login {
        name: req.name.to_owned(),
        url: req.url.to_owned(),
        access_token: Secret::new(t.access_token),
        refresh_token: t.refresh_token.filter(|r| !r.is_empty()).map(Secret::new),
        expires_at: oauth::expires_at(now, t.expires_in),
        lifetime: t.expires_in,
        client_id: client.id,
        client_secret: client.secret,
        issuer: d.server.issuer.clone(),
        token_endpoint: d.server.token_endpoint.clone(),
        revocation_endpoint: d.server.revocation_endpoint.clone(),
        resource: d.resource,
        scope: t.scope.or_else(|| (!scope.is_empty()).then_some(scope)),
    })
}

fn token_answer(answer: &Answer, secret: &Option<Secret>, what: &str) -> Result<TokenAnswer> {
    let scrub = |s: String| match secret {
        Some(sec) if !sec.is_empty() => s.replace(sec.expose_secret(), "<concealed>"),
        _ => s,
    };
    if answer.status != 200 {
        return Err(fail(
            format!(
                "the authorization server refused {what} ({}{})",
                answer.status,
                oauth::error_of(&answer.body)
                    .map(|e| format!(": {}", scrub(e)))
                    .unwrap_or_default()
            ),
            "try the login again",
        ));
    }
    TokenAnswer::parse(&answer.body).map_err(|e| fail(e, "try the login again"))
}

/// Serves the loopback redirect until the browser brings the code (or `timeout`).
fn wait_for_code(listener: &TcpListener, state: &str, timeout: Duration) -> Result<String> {
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + timeout;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                if let Some(result) = callback(stream, state) {
                    return result;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() > deadline {
                    return Err(fail(
                        format!(
                            "the browser did not come back within {} s",
                            timeout.as_secs()
                        ),
                        "run `tokenvault mcp login` again and finish the sign-in in the browser",
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// One request to the loopback server: `None` when it is not the redirect (e.g. a favicon).
fn callback(mut stream: TcpStream, state: &str) -> Option<Result<String>> {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let target = head
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("GET "))
        .and_then(|l| l.split(' ').next())
        .unwrap_or("");
    let Some(query) = target.strip_prefix("/callback?") else {
        let _ = respond(&mut stream, "404 Not Found", "Not found.");
        return None;
    };
    let pairs = oauth::parse_query(query);
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if get("state").as_deref() != Some(state) {
        let _ = respond(
            &mut stream,
            "400 Bad Request",
            "This sign-in does not belong to the login tokenvault is waiting for.",
        );
        return None;
    }
    if let Some(err) = get("error") {
        let _ = respond(
            &mut stream,
            "200 OK",
            "Sign-in refused. You can close this window.",
        );
        let err: String = err
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(64)
            .collect();
        let desc: String = get("error_description")
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        return Some(Err(fail(
            format!("the authorization server refused the login: {err} {desc}"),
            "check the account and the scopes asked for, then run `tokenvault mcp login` again",
        )));
    }
    match get("code") {
        Some(code) if !code.is_empty() => {
            let _ = respond(
                &mut stream,
                "200 OK",
                "Signed in. tokenvault has the tokens; you can close this window.",
            );
            Some(Ok(code))
        }
        _ => {
            let _ = respond(&mut stream, "400 Bad Request", "No authorization code.");
            None
        }
    }
}

fn respond(stream: &mut TcpStream, status: &str, text: &str) -> std::io::Result<()> {
    let body = format!("<!doctype html><meta charset=utf-8><title>tokenvault</title><p>{text}</p>");
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// The lock file that serialises refreshes of `name` across processes.
pub fn lock_path(home: &Path, name: &str) -> PathBuf {
    home.join(format!("{ITEM_PREFIX}{name}.lock"))
}

/// Why a refresh failed, for the user: always ends with logging in again.
fn relogin(login: &Login, why: String) -> anyhow::Error {
    fail(
        format!(
            "the OAuth login '{}' for {} could not be renewed: {why}",
            login.name,
            http::host_of(&login.url)
        ),
        format!(
            "sign in again: `tokenvault mcp login {} --name {}`",
            login.url, login.name
        ),
    )
}

/// Whether a [`refresh`] failed because the authorization server refused it (not the network):
/// retrying will not help until the user signs in again.
pub fn refused_by_server(e: &anyhow::Error) -> bool {
    crate::error::message_of(e).contains(REFUSED)
}

const REFUSED: &str = "the authorization server answered";

/// Gets a new access token for `name` unless the one stored is no longer `stale` (another
/// process refreshed it while we waited for the lock). Serialised by the lock file; the rotated
/// refresh token is stored with the access token in one write.
pub fn refresh(vault: &Vault<'_>, home: &Path, name: &str, stale: &Secret) -> Result<Login> {
    let _lock = FileLock::exclusive(&lock_path(home, name))?;
    let Some(login) = load(vault, name)? else {
        return Err(fail(
            format!("there is no OAuth login named '{name}' (it was logged out)"),
            format!("sign in with `tokenvault mcp login URL --name {name}`"),
        ));
    };
    if login.access_token != *stale {
        return Ok(login);
    }
    let Some(refresh) = login.refresh_token.clone() else {
        return Err(relogin(
            &login,
            "the authorization server gave no refresh token".into(),
        ));
    };
    let agent = agent();
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.expose_secret()),
        ("client_id", login.client_id.as_str()),
    ];
    if !login.resource.is_empty() {
        form.push(("resource", login.resource.as_str()));
    }
    let basic = login
        .client_secret
        .as_ref()
        .map(|s| (login.client_id.as_str(), s));
    if basic.is_some() {
        form.retain(|(k, _)| *k != "client_id");
    }
    let now_s = now();
    let answer = post_form(&agent, &login.token_endpoint, &form, basic)
        .map_err(|e| relogin(&login, format!("{e}")))?;
    if answer.status != 200 {
        let mut why = format!("{REFUSED} {}", answer.status);
        if let Some(e) = oauth::error_of(&answer.body) {
            let mut e = e;
            for s in login.secrets() {
                e = e.replace(s.expose_secret(), "<concealed>");
            }
            why.push_str(&format!(" ({e})"));
        }
        return Err(relogin(&login, why));
    }
    let t = TokenAnswer::parse(&answer.body).map_err(|e| relogin(&login, e))?;
    let renewed = Login {
        access_token: Secret::new(t.access_token),
        refresh_token: t
            .refresh_token
            .filter(|r| !r.is_empty())
            .map(Secret::new)
            .or(Some(refresh)),
        expires_at: oauth::expires_at(now_s, t.expires_in),
        lifetime: t.expires_in,
        scope: t.scope.or(login.scope.clone()),
        ..login
    };
    store(vault, &renewed, &crate::context::now_rfc3339())?;
    Ok(renewed)
}

/// What `logout` did at the authorization server.
pub enum Revoked {
    /// The server revoked the token(s).
    Yes,
    /// The server offers no revocation (RFC 7009).
    NotOffered,
    /// The server refused or could not be reached: why.
    Failed(String),
}

/// Revokes the refresh token (and with it, at most servers, the access token), then the access
/// token, where the server offers RFC 7009. Does not touch the vault.
pub fn revoke(login: &Login) -> Revoked {
    let Some(endpoint) = &login.revocation_endpoint else {
        return Revoked::NotOffered;
    };
    let agent = agent();
    let basic = login
        .client_secret
        .as_ref()
        .map(|s| (login.client_id.as_str(), s));
    let mut tokens = Vec::new();
    if let Some(r) = &login.refresh_token {
        tokens.push((r, "refresh_token"));
    }
    tokens.push((&login.access_token, "access_token"));
    for (token, hint) in tokens {
        let mut form = vec![
            ("token", token.expose_secret()),
            ("token_type_hint", hint),
            ("client_id", login.client_id.as_str()),
        ];
        if basic.is_some() {
            form.retain(|(k, _)| *k != "client_id");
        }
        match post_form(&agent, endpoint, &form, basic) {
            Ok(a) if a.status == 200 => {}
            Ok(a) => {
                return Revoked::Failed(format!(
                    "the authorization server answered {}{}",
                    a.status,
                    oauth::error_of(&a.body)
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                ))
            }
            Err(e) => return Revoked::Failed(format!("{e}")),
        }
    }
    Revoked::Yes
}

/// Deletes the login's item; whether there was one.
pub fn remove(vault: &Vault<'_>, name: &str) -> Result<bool> {
    let index = vault.load_index_trusted()?;
    let r = Reference::parse(item_of(name)?.as_str())?;
    Ok(!vault.remove(&index, &r)?.is_empty())
}

/// `mcp-remote`'s plaintext OAuth files for one server (`~/.mcp-auth/mcp-remote-<version>/` or
/// `$MCP_REMOTE_CONFIG_DIR`, named by the MD5 of the server URL).
#[derive(Debug, Clone)]
pub struct McpRemoteFiles {
    pub tokens: PathBuf,
    pub client_info: PathBuf,
    pub verifier: PathBuf,
}

impl McpRemoteFiles {
    /// Every file of the set that exists.
    pub fn existing(&self) -> Vec<PathBuf> {
        [&self.tokens, &self.client_info, &self.verifier]
            .into_iter()
            .filter(|p| p.exists())
            .cloned()
            .collect()
    }
}

/// The newest `mcp-remote` token file for `url` under the user's home, if any.
pub fn mcp_remote_files(home: &Path, url: &str) -> Option<McpRemoteFiles> {
    let hash = oauth::md5_hex(url.as_bytes());
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(d) = crate::envvars::get(crate::envvars::MCP_REMOTE_CONFIG_DIR) {
        dirs.push(PathBuf::from(d));
    }
    if let Ok(rd) = std::fs::read_dir(home.join(".mcp-auth")) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with("mcp-remote-") {
                dirs.push(e.path());
            }
        }
    }
    dirs.into_iter()
        .map(|d| McpRemoteFiles {
            tokens: d.join(format!("{hash}_tokens.json")),
            client_info: d.join(format!("{hash}_client_info.json")),
            verifier: d.join(format!("{hash}_code_verifier.txt")),
        })
        .filter_map(|f| {
            let modified = std::fs::metadata(&f.tokens).ok()?.modified().ok()?;
            Some((modified, f))
        })
        .max_by_key(|(m, _)| *m)
        .map(|(_, f)| f)
}

/// The login name `mcp secure` gives an `mcp-remote` server: its name, as an item name allows.
pub fn login_name_for_server(server: &str) -> String {
    let n: String = server
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let n = n
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned();
    let n: String = n.chars().take(40).collect();
    if n.is_empty() {
        "mcp-remote".into()
    } else {
        n
    }
}

/// Where `mcp restore --with-secrets` writes an `mcp-remote` server's files back: the version the
/// entry pins (`mcp-remote@0.1.29`), else the newest `mcp-remote-*` directory there is.
pub fn mcp_remote_target(home: &Path, args: &[String], url: &str) -> McpRemoteFiles {
    let hash = oauth::md5_hex(url.as_bytes());
    let pinned = args
        .iter()
        .find_map(|a| a.strip_prefix("mcp-remote@"))
        .map(|v| home.join(".mcp-auth").join(format!("mcp-remote-{v}")));
    let dir = crate::envvars::get(crate::envvars::MCP_REMOTE_CONFIG_DIR)
        .map(PathBuf::from)
        .or(pinned)
        .or_else(|| {
            std::fs::read_dir(home.join(".mcp-auth"))
                .ok()?
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("mcp-remote-"))
                .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
                .max_by_key(|(m, _)| *m)
                .map(|(_, p)| p)
        })
        .unwrap_or_else(|| home.join(".mcp-auth").join("mcp-remote-0.1.0"));
    McpRemoteFiles {
        tokens: dir.join(format!("{hash}_tokens.json")),
        client_info: dir.join(format!("{hash}_client_info.json")),
        verifier: dir.join(format!("{hash}_code_verifier.txt")),
    }
}

/// A login made of `mcp-remote`'s files for `url` (the authorization server is discovered again
/// for its token endpoint, which those files do not keep). Not stored.
pub fn import_mcp_remote(files: &McpRemoteFiles, url: &str, name: &str) -> Result<Login> {
    let read = |p: &Path| -> Result<zeroize::Zeroizing<String>> {
        std::fs::read_to_string(p)
            .map(zeroize::Zeroizing::new)
            .map_err(|e| {
                fail(
                    format!("could not read {}: {e}", p.display()),
                    "check the file's permissions",
                )
            })
    };
    let text = read(&files.tokens)?;
    let t: oauth::McpRemoteTokens = serde_json::from_str(&text).map_err(|_| {
        fail(
            format!("{} is not an mcp-remote token file", files.tokens.display()),
            format!("sign in with `tokenvault mcp login {url} --name {name}` instead"),
        )
    })?;
    let client: oauth::McpRemoteClient =
        serde_json::from_str(&read(&files.client_info)?).map_err(|_| {
            fail(
                format!("{} has no client_id", files.client_info.display()),
                format!("sign in with `tokenvault mcp login {url} --name {name}` instead"),
            )
        })?;
    let d = discover(url)?;
    let issued = std::fs::metadata(&files.tokens)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or_else(now);
    Ok(Login {
        name: name.to_owned(),
        url: url.to_owned(),
        access_token: Secret::new(t.access_token),
        refresh_token: t.refresh_token.filter(|r| !r.is_empty()).map(Secret::new),
        expires_at: oauth::expires_at(issued, t.expires_in),
        lifetime: t.expires_in,
        client_id: client.client_id,
        client_secret: client
            .client_secret
            .filter(|s| !s.is_empty())
            .map(Secret::new),
        issuer: d.server.issuer.clone(),
        token_endpoint: d.server.token_endpoint.clone(),
        revocation_endpoint: d.server.revocation_endpoint.clone(),
        resource: d.resource,
        scope: t.scope,
    })
}

/// Writes `login` back as `mcp-remote`'s files (0600), for `mcp restore --with-secrets`.
pub fn export_mcp_remote(files: &McpRemoteFiles, login: &Login) -> Result<()> {
    let tokens = zeroize::Zeroizing::new(
        serde_json::json!({
            "access_token": login.access_token.expose_secret(),
            "token_type": "Bearer",
            "expires_in": login.expires_at.map(|at| (at - now()).max(0)),
            "refresh_token": login.refresh_token.as_ref().map(|r| r.expose_secret()),
            "scope": login.scope,
        })
        .to_string(),
    );
    let client = zeroize::Zeroizing::new(
        serde_json::json!({
            "client_id": login.client_id,
            "client_secret": login.client_secret.as_ref().map(|s| s.expose_secret()),
        })
        .to_string(),
    );
    if let Some(dir) = files.tokens.parent() {
        tokenvault_store::fsutil::ensure_private_dir(dir)?;
    }
    tokenvault_store::fsutil::atomic_write(&files.tokens, tokens.as_bytes())?;
    tokenvault_store::fsutil::atomic_write(&files.client_info, client.as_bytes())?;
    Ok(())
}

/// The `Authorization` source of `mcp proxy --oauth NAME`: the stored login, renewed ahead of
/// expiry and on 401 through [`refresh`] (so every proxy of this login on the machine shares one
/// refresh at a time). Holds the open vault for the life of the proxy.
pub struct Session {
    vault: Vault<'static>,
    home: PathBuf,
    name: String,
    current: std::sync::Mutex<Login>,
    /// The last failed renewal: the access token it was for, and why. Until the vault holds
    /// another token (the user signed in again), requests fail with it without asking the
    /// authorization server again.
    failed: std::sync::Mutex<Option<(Secret, AuthFailure)>>,
}

impl Session {
    pub fn new(vault: Vault<'static>, home: PathBuf, login: Login) -> Session {
        Session {
            vault,
            home,
            name: login.name.clone(),
            current: std::sync::Mutex::new(login),
            failed: std::sync::Mutex::new(None),
        }
    }

    fn header(login: &Login) -> Result<ureq::http::HeaderValue, AuthFailure> {
        let v = zeroize::Zeroizing::new(format!("Bearer {}", login.access_token.expose_secret()));
        let mut h = ureq::http::HeaderValue::from_str(&v).map_err(|_| AuthFailure {
            message: format!(
                "the access token of the OAuth login '{}' cannot be sent in a header",
                login.name
            ),
            hint: format!(
                "sign in again: `tokenvault mcp login {} --name {}`",
                login.url, login.name
            ),
        })?;
        h.set_sensitive(true);
        Ok(h)
    }

    fn renew(&self, current: &mut Login) -> Result<(), AuthFailure> {
        let stale = current.access_token.clone();
        let known = self
            .failed
            .lock()
            .ok()
            .and_then(|f| f.clone())
            .filter(|(token, _)| *token == stale);
        if let Some((_, why)) = known {
            // Renewing this token failed already: only a new login (in the vault) helps.
            return match load(&self.vault, &self.name) {
                Ok(Some(l)) if l.access_token != stale => {
                    *current = l;
                    Ok(())
                }
                _ => Err(why),
            };
        }
        let renewed = refresh(&self.vault, &self.home, &self.name, &stale).map_err(|e| {
            let hint = crate::error::hint_of(&e).unwrap_or_else(|| {
                format!(
                    "sign in again: `tokenvault mcp login {} --name {}`",
                    current.url, current.name
                )
            });
            (
                AuthFailure {
                    message: format!("{e}"),
                    hint,
                },
                refused_by_server(&e),
            )
        });
        match renewed {
            Ok(l) => {
                *current = l;
                Ok(())
            }
            Err((why, refused)) => {
                // Remembered only when the server said no: a network failure is tried again.
                if refused {
                    if let Ok(mut f) = self.failed.lock() {
                        *f = Some((stale, why.clone()));
                    }
                }
                Err(why)
            }
        }
    }

    fn poisoned(&self) -> AuthFailure {
        AuthFailure {
            message: "internal: the token holder failed".into(),
            hint: "restart the MCP server in its client".into(),
        }
    }
}

use crate::mcp::bridge::AuthFailure;

impl crate::mcp::bridge::Authorizer for Session {
    fn bearer(&self) -> Result<ureq::http::HeaderValue, AuthFailure> {
        let mut current = self.current.lock().map_err(|_| self.poisoned())?;
        if oauth::needs_refresh(current.expires_at, current.lifetime, now()) {
            self.renew(&mut current)?;
        }
        Session::header(&current)
    }

    fn refused(&self, sent: &ureq::http::HeaderValue) -> Result<(), AuthFailure> {
        let mut current = self.current.lock().map_err(|_| self.poisoned())?;
        if Session::header(&current)?.as_bytes() != sent.as_bytes() {
            return Ok(()); // another request renewed it meanwhile
        }
        self.renew(&mut current)
    }

    fn secrets(&self) -> Vec<Secret> {
        self.current.lock().map(|c| c.secrets()).unwrap_or_default()
    }

    fn source(&self) -> String {
        format!("tv://{ITEM_PREFIX}{}", self.name)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The loopback listener answers only the redirect of this login: another path, or the
    /// right path with another `state`, is refused and the wait goes on; the code then comes back.
    #[test]
    fn the_loopback_redirect_takes_only_its_own_state() {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let browser = std::thread::spawn(move || {
            let get = |path: &str| {
                let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
                let mut answer = String::new();
                s.read_to_string(&mut answer).unwrap();
                answer
            };
            (
                get("/favicon.ico"),
                get("/callback?code=stolen&state=other"),
                get("/callback?code=the%2Fcode&state=mine"),
            )
        });
        let code = wait_for_code(&listener, "mine", Duration::from_secs(20)).unwrap();
        assert_eq!(code, "the/code");
        let (favicon, other, mine) = browser.join().unwrap();
        assert!(favicon.starts_with("HTTP/1.1 404"));
        assert!(other.starts_with("HTTP/1.1 400"));
        assert!(mine.starts_with("HTTP/1.1 200") && mine.contains("Signed in"));
    }

    #[test]
    fn a_refused_login_and_a_timeout_are_errors() {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let t = std::thread::spawn(move || {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            write!(
                s,
                "GET /callback?error=access_denied&state=s HTTP/1.1\r\n\r\n"
            )
            .unwrap();
            let mut a = String::new();
            let _ = s.read_to_string(&mut a);
        });
        let e = wait_for_code(&listener, "s", Duration::from_secs(20)).unwrap_err();
        assert!(format!("{e}").contains("access_denied"));
        t.join().unwrap();
        let e = wait_for_code(&listener, "s", Duration::from_millis(100)).unwrap_err();
        assert!(format!("{e}").contains("did not come back"));
    }

    #[test]
    fn names() {
        assert_eq!(default_name("https://huggingface.co/mcp"), "huggingface-co");
        assert_eq!(default_name("http://127.0.0.1:8000/mcp"), "127-0-0-1");
        assert!(item_of("hf").is_ok());
        assert!(item_of("Bad Name").is_err());
    }
}
