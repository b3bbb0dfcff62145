//! The loopback listeners of `run --proxy` (tokio + hyper, HTTP/1.1).
//!
//! - A base-URL listener per provider route: every request is forwarded to that route's upstream
//!   (TLS when the upstream is https), paths unchanged.
//! - One CONNECT listener (`HTTPS_PROXY`/`HTTP_PROXY`): a CONNECT to a host some credential may go
//!   to is terminated with a certificate from the run's CA and its requests forwarded like the
//!   base-URL ones; a CONNECT anywhere else is tunnelled byte for byte; an absolute-form plain HTTP
//!   request is forwarded to its host.
//!
//! For every request the rules of `tokenvault_core::proxy` decide, per credential whose
//! placeholder is in its headers: pass it through (not one of the credential's hosts: the
//! placeholder stays), substitute (the real value goes into the policy's headers), or refuse (the
//! run's narrowing: 403, nothing forwarded). A credentialed response is scrubbed (the value, if
//! echoed, becomes the placeholder again: same length, so Content-Length holds), and reported for
//! the audit log. Upstream connections are kept alive and reused.

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokenvault_core::conceal::Concealer;
use tokenvault_core::proxy::{rewrite_location, substitute, Base, Decision};
use tokio::net::{TcpListener, TcpStream};

use super::{AuditEvent, Credential};

type Out = BoxBody<Bytes, hyper::Error>;
/// Idle upstream connections by (tls, host, port).
type Pool = HashMap<(bool, String, u16), Vec<SendRequest<Incoming>>>;

/// What every connection shares.
pub struct Shared {
    pub credentials: Vec<Credential>,
    pub ca: super::ca::RunCa,
    pub client_tls: Arc<rustls::ClientConfig>,
    pub events: std::sync::mpsc::Sender<AuditEvent>,
    /// The base-URL listeners by their `127.0.0.1:PORT`: a child whose HTTP_PROXY also covers
    /// loopback sends their requests to the CONNECT listener in absolute form.
    pub routes: Vec<(String, Target)>,
    /// The run's proxy token: the CONNECT listener serves only requests that carry it.
    pub proxy_token: String,
    pool: Mutex<Pool>,
}

impl Shared {
    pub fn new(
        credentials: Vec<Credential>,
        ca: super::ca::RunCa,
        client_tls: Arc<rustls::ClientConfig>,
        events: std::sync::mpsc::Sender<AuditEvent>,
        routes: Vec<(String, Target)>,
        proxy_token: String,
    ) -> Shared {
        Shared {
            credentials,
            ca,
            client_tls,
            events,
            routes,
            proxy_token,
            pool: Mutex::new(HashMap::new()),
        }
    }
}

/// Where a listener's or a MITM'd connection's requests go.
#[derive(Clone)]
pub struct Target {
    pub upstream: Base,
    /// The listener's own origin (`http://127.0.0.1:PORT`) for a base-URL route: redirects to the
    /// upstream are rewritten to it, and the Host header must name it.
    pub listener_origin: Option<String>,
}

/// Serves a base-URL route: every connection's requests go to `target`.
pub async fn serve_route(listener: TcpListener, shared: Arc<Shared>, target: Target) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (shared, target) = (shared.clone(), target.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let (shared, target) = (shared.clone(), target.clone());
                async move { Ok::<_, Infallible>(forward(&shared, &target, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Serves the CONNECT (and plain HTTP proxy) listener.
pub async fn serve_connect(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(proxy_request(shared, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

async fn proxy_request(shared: Arc<Shared>, mut req: Request<Incoming>) -> Response<Out> {
    let auth = req
        .headers()
        .get(hyper::header::PROXY_AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !tokenvault_core::proxy::proxy_auth_ok(auth, &shared.proxy_token) {
        let mut r = plain(
            StatusCode::PROXY_AUTHENTICATION_REQUIRED,
            "this proxy serves only the command tokenvault run --proxy started (its HTTPS_PROXY carries the run's token)",
        );
        r.headers_mut().insert(
            hyper::header::PROXY_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"tokenvault run --proxy\""),
        );
        return r;
    }
    req.headers_mut().remove(hyper::header::PROXY_AUTHORIZATION);
    if req.method() == Method::CONNECT {
        return connect(shared, req).await;
    }
    // An absolute-form request (HTTP_PROXY for a plain-HTTP URL).
    let uri = req.uri();
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return plain(
            StatusCode::BAD_REQUEST,
            "this is tokenvault's proxy: send absolute-form requests or CONNECT",
        );
    };
    if scheme != "http" {
        return plain(
            StatusCode::BAD_REQUEST,
            "only http:// URLs are proxied in absolute form; use CONNECT for https",
        );
    }
    if let Some((_, target)) = shared.routes.iter().find(|(a, _)| a == authority.as_str()) {
        let target = target.clone();
        return forward(&shared, &target, req).await;
    }
    let upstream = Base {
        tls: false,
        host: authority.host().to_ascii_lowercase(),
        port: authority.port_u16().unwrap_or(80),
        path: String::new(),
    };
    let target = Target {
        upstream,
        listener_origin: None,
    };
    forward(&shared, &target, req).await
}

/// CONNECT host:port: MITM when a credential may go there, otherwise a blind tunnel.
async fn connect(shared: Arc<Shared>, req: Request<Incoming>) -> Response<Out> {
    let Some(authority) = req.uri().authority().cloned() else {
        return plain(StatusCode::BAD_REQUEST, "CONNECT needs host:port");
    };
    let host = authority
        .host()
        .trim_matches(['[', ']'])
        .to_ascii_lowercase();
    let port = authority.port_u16().unwrap_or(443);
    let intercept = shared
        .credentials
        .iter()
        .any(|c| c.policy.host_allowed(&host, port));
    if intercept {
        let server_config = match shared.ca.server_config(&host) {
            Ok(c) => c,
            Err(e) => return plain(StatusCode::BAD_GATEWAY, &format!("{e:#}")),
        };
        let target = Target {
            upstream: Base {
                tls: true,
                host: host.clone(),
                port,
                path: String::new(),
            },
            listener_origin: None,
        };
        tokio::spawn(async move {
            let Ok(upgraded) = hyper::upgrade::on(req).await else {
                return;
            };
            let acceptor = tokio_rustls::TlsAcceptor::from(server_config);
            let Ok(tls) = acceptor.accept(TokioIo::new(upgraded)).await else {
                return;
            };
            let service = hyper::service::service_fn(move |req| {
                let (shared, target) = (shared.clone(), target.clone());
                async move { Ok::<_, Infallible>(forward(&shared, &target, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
        return empty(StatusCode::OK);
    }
    let upstream = match TcpStream::connect((host.as_str(), port)).await {
        Ok(s) => s,
        Err(e) => {
            return plain(
                StatusCode::BAD_GATEWAY,
                &format!("cannot connect to {host}:{port}: {e}"),
            )
        }
    };
    let _ = upstream.set_nodelay(true);
    tokio::spawn(async move {
        let Ok(upgraded) = hyper::upgrade::on(req).await else {
            return;
        };
        let mut client = TokioIo::new(upgraded);
        let mut upstream = upstream;
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    });
    empty(StatusCode::OK)
}

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "proxy-connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "upgrade",
];

/// Forwards one request to `target`, applying every credential's policy.
async fn forward(shared: &Shared, target: &Target, req: Request<Incoming>) -> Response<Out> {
    let up = &target.upstream;
    if let Some(origin) = &target.listener_origin {
        // DNS rebinding: a web page can reach 127.0.0.1 but cannot make its Host header ours.
        let host = req
            .headers()
            .get(hyper::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let ours = origin.trim_start_matches("http://");
        let port = ours.rsplit(':').next().unwrap_or("");
        if host != ours && host != format!("localhost:{port}") {
            return plain(
                StatusCode::MISDIRECTED_REQUEST,
                "this listener answers only to its own address",
            );
        }
    }
    let (mut parts, body) = req.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned());
    let path_only = parts.uri.path().to_owned();
    let method = parts.method.as_str().to_owned();

    // Which credentials this request carries, and what the policy says about each.
    let mut used: Vec<usize> = Vec::new();
    for (i, cred) in shared.credentials.iter().enumerate() {
        let carries = parts.headers.values().any(|v| {
            v.to_str()
                .is_ok_and(|s| s.contains(cred.placeholder.as_str()))
        });
        if !carries {
            continue;
        }
        match cred
            .policy
            .decide(&method, &up.host, up.port, &path_and_query, up.tls)
        {
            Decision::PassThrough => {}
            Decision::Refuse(why) => {
                let _ = shared.events.send(AuditEvent {
                    reference: cred.reference.clone(),
                    method: method.clone(),
                    host: up.authority(),
                    path: path_only.clone(),
                    outcome: format!("refused: {why}"),
                });
                return json_error(
                    StatusCode::FORBIDDEN,
                    &format!("tokenvault run --proxy refused this request: {why}"),
                );
            }
            Decision::Substitute => used.push(i),
        }
    }
    for &i in &used {
        let cred = &shared.credentials[i];
        let names: Vec<HeaderName> = parts
            .headers
            .keys()
            .filter(|k| cred.policy.substitutes_in(k.as_str()))
            .cloned()
            .collect();
        for name in names {
            let values: Vec<HeaderValue> = parts.headers.get_all(&name).iter().cloned().collect();
            parts.headers.remove(&name);
            for v in values {
                let replaced = v
                    .to_str()
                    .ok()
                    .and_then(|s| substitute(s, &cred.placeholder, cred.value.expose_secret()));
                let v = match replaced.and_then(|s| HeaderValue::from_str(&s).ok()) {
                    Some(mut nv) => {
                        nv.set_sensitive(true);
                        nv
                    }
                    None => v,
                };
                parts.headers.append(name.clone(), v);
            }
        }
    }
    for h in HOP_BY_HOP {
        parts.headers.remove(*h);
    }
    if !used.is_empty() {
        // A compressed answer could echo the value where the scrubber cannot see it.
        parts.headers.insert(
            hyper::header::ACCEPT_ENCODING,
            HeaderValue::from_static("identity"),
        );
    }
    if let Ok(v) = HeaderValue::from_str(&up.authority()) {
        parts.headers.insert(hyper::header::HOST, v);
    }
    parts.uri = match path_and_query.parse() {
        Ok(u) => u,
        Err(_) => return plain(StatusCode::BAD_REQUEST, "bad request target"),
    };
    parts.version = hyper::Version::HTTP_11;
    let upstream_req = Request::from_parts(parts, body);

    let result = send(shared, up, upstream_req).await;
    let response = match result {
        Ok(r) => r,
        Err(why) => {
            for &i in &used {
                let _ = shared.events.send(AuditEvent {
                    reference: shared.credentials[i].reference.clone(),
                    method: method.clone(),
                    host: up.authority(),
                    path: path_only.clone(),
                    outcome: "failed: upstream unreachable".to_owned(),
                });
            }
            return plain(
                StatusCode::BAD_GATEWAY,
                &format!(
                    "tokenvault run --proxy could not reach {}: {why}",
                    up.origin()
                ),
            );
        }
    };
    let (mut rparts, rbody) = response.into_parts();
    for &i in &used {
        let _ = shared.events.send(AuditEvent {
            reference: shared.credentials[i].reference.clone(),
            method: method.clone(),
            host: up.authority(),
            path: path_only.clone(),
            outcome: format!("{}", rparts.status.as_u16()),
        });
    }
    for h in HOP_BY_HOP {
        rparts.headers.remove(*h);
    }
    if let Some(origin) = &target.listener_origin {
        if let Some(loc) = rparts
            .headers
            .get(hyper::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| rewrite_location(l, up, origin))
            .and_then(|l| HeaderValue::from_str(&l).ok())
        {
            rparts.headers.insert(hyper::header::LOCATION, loc);
        }
    }
    if used.is_empty() {
        return Response::from_parts(rparts, rbody.boxed());
    }
    // Scrub: headers, then the body as it streams.
    let creds: Vec<&Credential> = used.iter().map(|&i| &shared.credentials[i]).collect();
    for v in rparts.headers.values_mut() {
        if let Ok(s) = v.to_str() {
            let mut s2 = s.to_owned();
            for c in &creds {
                s2 = s2.replace(c.value.expose_secret(), &c.placeholder);
            }
            if s2 != s {
                if let Ok(nv) = HeaderValue::from_str(&s2) {
                    *v = nv;
                }
            }
        }
    }
    let concealer = Concealer::replacing(creds.iter().map(|c| {
        (
            c.var.as_str(),
            c.value.expose_secret().as_bytes(),
            c.placeholder.as_bytes().to_vec(),
        )
    }));
    match concealer {
        Ok(concealer) => Response::from_parts(
            rparts,
            Scrubbed {
                inner: rbody,
                concealer,
                finished: false,
            }
            .boxed(),
        ),
        Err(e) => plain(StatusCode::BAD_GATEWAY, &e.to_string()),
    }
}

/// Sends on a kept-alive connection to `up` when one is idle, else on a new one.
async fn send(
    shared: &Shared,
    up: &Base,
    req: Request<Incoming>,
) -> Result<Response<Incoming>, String> {
    let key = (up.tls, up.host.clone(), up.port);
    let idle = {
        let mut pool = shared.pool.lock().unwrap_or_else(|e| e.into_inner());
        let list = pool.entry(key.clone()).or_default();
        list.retain(|s| !s.is_closed());
        list.iter()
            .position(|s| s.is_ready())
            .map(|i| list.swap_remove(i))
    };
    let mut sender = match idle {
        Some(s) => s,
        None => open(shared, up).await?,
    };
    let response = sender.send_request(req).await.map_err(|e| e.to_string())?;
    // Back in the pool: it is ready again once this response's body has been read.
    shared
        .pool
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key)
        .or_default()
        .push(sender);
    Ok(response)
}

async fn open(shared: &Shared, up: &Base) -> Result<SendRequest<Incoming>, String> {
    let tcp = TcpStream::connect((up.host.as_str(), up.port))
        .await
        .map_err(|e| e.to_string())?;
    let _ = tcp.set_nodelay(true);
    if up.tls {
        let name =
            rustls::pki_types::ServerName::try_from(up.host.clone()).map_err(|e| e.to_string())?;
        let tls = tokio_rustls::TlsConnector::from(shared.client_tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        Ok(sender)
    } else {
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        Ok(sender)
    }
}

/// A response body with the credentials' values replaced by their placeholders as it streams.
struct Scrubbed {
    inner: Incoming,
    concealer: Concealer,
    finished: bool,
}

impl Body for Scrubbed {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        if self.finished {
            return Poll::Ready(None);
        }
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => {
                    let mut out = Vec::with_capacity(data.len() + 64);
                    this.concealer.feed(&data, &mut out);
                    Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))))
                }
                Err(frame) => Poll::Ready(Some(Ok(frame))),
            },
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => {
                this.finished = true;
                let mut out = Vec::new();
                this.concealer.finish(&mut out);
                if out.is_empty() {
                    Poll::Ready(None)
                } else {
                    Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))))
                }
            }
        }
    }
}

fn empty(status: StatusCode) -> Response<Out> {
    let mut r = Response::new(
        Full::new(Bytes::new())
            .map_err(|never: Infallible| match never {})
            .boxed(),
    );
    *r.status_mut() = status;
    r
}

fn plain(status: StatusCode, text: &str) -> Response<Out> {
    let mut r = Response::new(
        Full::new(Bytes::from(format!("{text}\n")))
            .map_err(|never: Infallible| match never {})
            .boxed(),
    );
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn json_error(status: StatusCode, text: &str) -> Response<Out> {
    let body = serde_json::json!({ "error": text }).to_string();
    let mut r = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never: Infallible| match never {})
            .boxed(),
    );
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}
