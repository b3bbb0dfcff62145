//! `tokenvault ui`: the local web app, a front door over the services (no logic of its own).
//!
//! - `mod.rs`: the server, its state and the security guard every request passes;
//! - `pages.rs`: one function per page or action, rendering what the services return;
//! - `html.rs`: escaping and the layout; `assets/`: the stylesheet and the script, embedded.
//!
//! Security (a local web server is an attack surface): it listens on 127.0.0.1 only; the link it
//! opens carries a random one-time secret that is exchanged for an `HttpOnly; SameSite=Strict`
//! session cookie; every request's `Host` must be `127.0.0.1:PORT` or `localhost:PORT` (DNS
//! rebinding); every POST needs our `Origin` and the session's CSRF token; every response forbids
//! framing and caching and allows only our own assets. No value is ever sent to the browser (masked
//! forms only); a typed value travels once, in the body of the POST that stores it.
//!
//! The runtime (one thread) starts here, for this command only.

mod html;
mod pages;

use crate::context::Ctx;
use anyhow::{Context, Result};
use axum::extract::{Form, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub use html::Flash;

pub struct Options {
    /// 0: a free port.
    pub port: u16,
    /// Open the browser.
    pub open: bool,
    /// Stop after this long without a request.
    pub idle: Duration,
}

const COOKIE: &str = "tv_session";
const CSP: &str = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";

/// The app's state: the context the services need, and the session.
pub struct App {
    ctx: Mutex<Ctx>,
    port: u16,
    /// The one-time secret of the opening link; `None` once exchanged.
    open_secret: Mutex<Option<String>>,
    /// The session cookie's value, once the link was opened.
    session: Mutex<Option<String>>,
    /// The CSRF token every form carries.
    csrf: String,
    last_seen: Mutex<Instant>,
    /// The message for the next page shown (after a POST and its redirect).
    flash: Mutex<Option<Flash>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// 32 random bytes as hex.
fn random_hex() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| anyhow::anyhow!("no random numbers: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Equal without an early exit on the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl App {
    fn ctx(&self) -> MutexGuard<'_, Ctx> {
        lock(&self.ctx)
    }

    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    fn set_flash(&self, flash: Flash) {
        *lock(&self.flash) = Some(flash);
    }

    fn take_flash(&self) -> Option<Flash> {
        lock(&self.flash).take()
    }

    fn allowed_host(&self, host: &str) -> bool {
        host == format!("127.0.0.1:{}", self.port) || host == format!("localhost:{}", self.port)
    }

    fn allowed_origin(&self, origin: &str) -> bool {
        origin == format!("http://127.0.0.1:{}", self.port)
            || origin == format!("http://localhost:{}", self.port)
    }

    fn has_session(&self, headers: &HeaderMap) -> bool {
        let Some(session) = lock(&self.session).clone() else {
            return false;
        };
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .any(|(k, v)| k == COOKIE && same(v, &session))
    }

    fn check_csrf(&self, form: &HashMap<String, String>) -> bool {
        form.get("csrf").is_some_and(|t| same(t, &self.csrf))
    }
}

/// A refusal page (no layout, no link: the request was not ours).
fn refuse(status: StatusCode, why: &str) -> Response {
    (
        status,
        Html(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Refused</title></head><body><h1>Refused</h1><p>{}</p></body></html>",
            html::esc(why)
        )),
    )
        .into_response()
}

/// Every request: the Host check, the session, the Origin of state-changing requests; every
/// response: the headers that forbid framing, caching and foreign content.
async fn guard(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    *lock(&app.last_seen) = Instant::now();
    let headers = req.headers();
    let host_ok = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| app.allowed_host(h));
    let safe = matches!(*req.method(), Method::GET | Method::HEAD);
    let origin_ok = headers
        .get(header::ORIGIN)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|o| app.allowed_origin(o));
    let mut resp = if !host_ok {
        refuse(
            StatusCode::MISDIRECTED_REQUEST,
            "This server answers only requests addressed to 127.0.0.1 or localhost with its port.",
        )
    } else if req.uri().path() == "/open" {
        next.run(req).await
    } else if !app.has_session(headers) {
        refuse(
            StatusCode::UNAUTHORIZED,
            "No session. Open the link that `tokenvault ui` printed in your terminal (it works once); to start over, stop it and run it again.",
        )
    } else if !safe && !origin_ok {
        refuse(
            StatusCode::FORBIDDEN,
            "A change must come from this app's own pages (the Origin header is missing or foreign).",
        )
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    resp
}

/// `GET /open?k=SECRET`: the one exchange of the link's secret for the session cookie.
async fn open(State(app): State<Arc<App>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let given = q.get("k").map(String::as_str).unwrap_or("");
    let matched = {
        let mut secret = lock(&app.open_secret);
        match secret.as_deref() {
            Some(s) if same(s, given) => {
                *secret = None;
                true
            }
            _ => false,
        }
    };
    if !matched {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "This link is not valid, or was already used. Stop `tokenvault ui` and run it again for a new one.",
        );
    }
    let session = match random_hex() {
        Ok(s) => s,
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    *lock(&app.session) = Some(session.clone());
    let mut resp = Redirect::to("/tokens").into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{COOKIE}={session}; HttpOnly; SameSite=Strict; Path=/"
    )) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

/// A page function's answer: the page, or the error shown on the page it came from.
fn render(app: &App, active: &str, result: Result<pages::Page>) -> Response {
    let flash = app.take_flash();
    match result {
        Ok(p) => Html(html::page(
            active,
            &p.title,
            flash.as_ref(),
            &p.banner,
            &p.body,
        ))
        .into_response(),
        Err(e) => {
            let f = error_flash("That did not work", &e);
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html(html::page(active, "Error", Some(&f), "", "")),
            )
                .into_response()
        }
    }
}

/// The message of an error and its hint, for the status region.
pub fn error_flash(title: &str, e: &anyhow::Error) -> Flash {
    let mut body = format!("<p>{}</p>", html::esc(&crate::error::message_of(e)));
    if let Some(h) = crate::error::hint_of(e) {
        body.push_str(&format!("<p class=\"hint\">{}</p>", html::esc(&h)));
    }
    Flash {
        kind: "bad",
        title: title.to_owned(),
        body,
    }
}

/// A POST: the CSRF token first, then the action, whose flash the redirected page shows.
fn act(
    app: &App,
    form: &HashMap<String, String>,
    back: &str,
    f: impl FnOnce(&App, &HashMap<String, String>) -> Result<pages::Done>,
) -> Response {
    if !app.check_csrf(form) {
        return refuse(
            StatusCode::FORBIDDEN,
            "The form's CSRF token is missing or wrong: reload the page and try again.",
        );
    }
    match f(app, form) {
        Ok(pages::Done::Flash(flash)) => {
            app.set_flash(flash);
            Redirect::to(back).into_response()
        }
        Ok(pages::Done::Redirect(to)) => Redirect::to(&to).into_response(),
        Err(e) => {
            app.set_flash(error_flash("That did not work", &e));
            Redirect::to(back).into_response()
        }
    }
}

type St = State<Arc<App>>;
type Q = Query<HashMap<String, String>>;
type F = Form<HashMap<String, String>>;

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/tokens") }))
        .route("/open", get(open))
        .route(
            "/assets/app.css",
            get(|| async { asset("text/css; charset=utf-8", include_str!("assets/app.css")) }),
        )
        .route(
            "/assets/app.js",
            get(|| async {
                asset(
                    "text/javascript; charset=utf-8",
                    include_str!("assets/app.js"),
                )
            }),
        )
        .route(
            "/tokens",
            get(|State(a): St, Query(q): Q| async move {
                render(&a, "/tokens", pages::tokens(&a, &q))
            }),
        )
        .route(
            "/tokens/save",
            post(|State(a): St, Form(f): F| async move { act(&a, &f, "/tokens", pages::save) }),
        )
        .route(
            "/tokens/verify",
            post(|State(a): St, Form(f): F| async move { act(&a, &f, "/tokens", pages::verify) }),
        )
        .route(
            "/tokens/remove",
            get(|State(a): St, Query(q): Q| async move {
                render(&a, "/tokens", pages::remove_confirm(&a, &q))
            })
            .post(|State(a): St, Form(f): F| async move { act(&a, &f, "/tokens", pages::remove) }),
        )
        .route(
            "/mcp",
            get(|State(a): St| async move { render(&a, "/mcp", pages::mcp(&a)) }),
        )
        .route(
            "/mcp/secure",
            get(|State(a): St, Query(q): Q| async move {
                render(&a, "/mcp", pages::secure_preview(&a, &q))
            })
            .post(|State(a): St, Form(f): F| async move { act(&a, &f, "/mcp", pages::secure) }),
        )
        .route(
            "/mcp/add",
            post(|State(a): St, Form(f): F| async move { act(&a, &f, "/mcp", pages::add_server) }),
        )
        .route(
            "/mcp/restore",
            post(|State(a): St, Form(f): F| async move { act(&a, &f, "/mcp", pages::restore) }),
        )
        .route(
            "/attention",
            get(|State(a): St| async move { render(&a, "/attention", pages::attention(&a)) }),
        )
        .route(
            "/audit",
            get(|State(a): St, Query(q): Q| async move {
                render(&a, "/audit", pages::audit(&a, &q))
            }),
        )
        .route(
            "/unlock",
            get(|State(a): St| async move { render(&a, "/unlock", pages::unlock_page(&a)) })
                .post(|State(a): St, Form(f): F| async move {
                    act(&a, &f, "/unlock", pages::unlock)
                }),
        )
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

/// Opens `url` in the user's browser, quietly; `false` when no opener could be started.
fn open_browser(url: &str) -> bool {
    let (program, args): (&str, Vec<&str>) = if cfg!(target_os = "macos") {
        ("open", vec![url])
    } else if cfg!(windows) {
        ("cmd", vec!["/C", "start", "", url])
    } else {
        ("xdg-open", vec![url])
    };
    std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .is_ok()
}

/// Serves the app until it has been idle for `opts.idle` or Ctrl-C.
pub fn serve(ctx: &mut Ctx, opts: Options) -> Result<()> {
    let settings = crate::settings::Settings::load(ctx.settings.global.clone())?;
    let printer = ctx.printer.clone();
    let web_ctx = Ctx {
        settings,
        printer: printer.clone(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the web server's runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port))
            .await
            .with_context(|| {
                format!(
                    "listening on 127.0.0.1:{} (choose another with --port, or leave it out for a free one)",
                    opts.port
                )
            })?;
        let port = listener.local_addr()?.port();
        let secret = random_hex()?;
        let app = Arc::new(App {
            ctx: Mutex::new(web_ctx),
            port,
            open_secret: Mutex::new(Some(secret.clone())),
            session: Mutex::new(None),
            csrf: random_hex()?,
            last_seen: Mutex::new(Instant::now()),
            flash: Mutex::new(None),
        });
        let url = format!("http://127.0.0.1:{port}/open?k={secret}");
        printer.line(&url)?;
        if opts.open && open_browser(&url) {
            printer.note("Opened the app in your browser (the link above works once).");
        } else {
            printer.note("Open the link above in your browser (it works once).");
        }
        printer.note(&format!(
            "Serving on 127.0.0.1:{port}; stops after {} without a request, or on Ctrl-C.",
            humantime(opts.idle)
        ));
        let idle_app = app.clone();
        let idle = opts.idle;
        let stopped = Arc::new(Mutex::new(""));
        let why = stopped.clone();
        let shutdown = async move {
            let idle_wait = async {
                loop {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    if lock(&idle_app.last_seen).elapsed() >= idle {
                        break;
                    }
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => *lock(&why) = "Ctrl-C",
                _ = idle_wait => *lock(&why) = "idle",
            }
        };
        axum::serve(listener, router(app))
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving the web app")?;
        let why = *lock(&stopped);
        printer.note(if why == "idle" {
            "Stopped: no request for the idle time. Run `tokenvault ui` again for a new link."
        } else {
            "Stopped."
        });
        Ok(())
    })
}

fn humantime(d: Duration) -> String {
    let s = d.as_secs();
    if s.is_multiple_of(3600) && s > 0 {
        format!("{}h", s / 3600)
    } else if s.is_multiple_of(60) && s > 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn same_compares_whole_strings() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
        assert!(!same("", "a"));
    }
}
