//! `run --proxy`: the child holds placeholders; a loopback proxy that lives as long as the child
//! puts the real values into requests bound for the providers' own hosts.
//!
//! [`start`] binds the listeners (one base-URL listener per provider that has an endpoint
//! variable, one CONNECT listener), makes the run's CA, writes the CA bundle the child trusts
//! (0600, in a private temporary directory removed at exit), and starts the proxy on its own
//! thread (a current-thread tokio runtime). [`run_child`] spawns the command with the child's
//! variables, forwards signals as `run --mask` does, writes an audit line for each credentialed
//! request as it happens, and returns the child's exit code (128+signal when killed). The rules
//! (placeholders, policy, substitution) are `tokenvault_core::proxy`; the I/O is `server`.

pub mod ca;
mod server;

use std::ffi::OsString;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use tokenvault_core::proxy::{child_base_url, Base, Policy, CA_VARS, PROXY_VARS};
use tokenvault_core::Secret;

use crate::error::hinted;

/// One credential the proxy may add: the child's variable, the placeholder the child holds, and
/// the real value, which only the proxy sees.
pub struct Credential {
    pub var: String,
    pub reference: String,
    pub placeholder: String,
    pub value: Secret,
    pub policy: Policy,
}

/// A base-URL route: the variable to point at the listener, and the real API base behind it.
pub struct Route {
    pub var: String,
    pub upstream: Base,
}

/// One request that carried a credential (or was refused), for the audit log.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub reference: String,
    pub method: String,
    pub host: String,
    pub path: String,
    /// The upstream's status code, `refused: …` or `failed: …`.
    pub outcome: String,
}

/// The proxy while it runs: the child's variables, and what to clean up.
pub struct Running {
    /// Variables the child gets (endpoint variables, proxy variables, CA bundle variables).
    pub child_env: Vec<(String, String)>,
    pub events: std::sync::mpsc::Receiver<AuditEvent>,
    dir: Option<tempfile::TempDir>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(d) = self.dir.take() {
            let _ = d.close();
        }
    }
}

/// Starts the proxy for `credentials` and `routes`.
pub fn start(credentials: Vec<Credential>, routes: Vec<Route>) -> Result<Running> {
    let extra_ca = std::env::var_os(ca::EXTRA_CA_VAR)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let client_tls = ca::client_config(extra_ca.as_deref())?;
    let run_ca = ca::RunCa::new()?;

    let bind = || {
        std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .context("cannot open a loopback port for the proxy")
    };
    let mut child_env = Vec::new();
    let mut route_listeners = Vec::new();
    for route in routes {
        let l = bind()?;
        let origin = format!("http://{}", l.local_addr()?);
        child_env.push((route.var.clone(), child_base_url(&origin, &route.upstream)));
        route_listeners.push((l, route, origin));
    }
    let connect = bind()?;
    let mut token = [0u8; 24];
    getrandom::getrandom(&mut token)
        .map_err(|e| anyhow::anyhow!("no randomness for the proxy's token: {e}"))?;
    let proxy_token: String = token.iter().map(|b| format!("{b:02x}")).collect();
    let proxy_url =
        tokenvault_core::proxy::proxy_url(&connect.local_addr()?.to_string(), &proxy_token);
    for v in PROXY_VARS {
        child_env.push(((*v).to_owned(), proxy_url.clone()));
    }
    // The CA bundle: the run's CA plus what the child would have trusted anyway.
    let dir = tempfile::Builder::new()
        .prefix("tokenvault-proxy-")
        .tempdir()
        .context("cannot create the proxy's temporary directory")?;
    let bundle = dir.path().join("ca-bundle.pem");
    let mut text = run_ca.pem.clone();
    if let Some(existing) = existing_roots() {
        text.push('\n');
        text.push_str(&existing);
    }
    tokenvault_store::fsutil::atomic_write(&bundle, text.as_bytes())
        .with_context(|| format!("cannot write {}", bundle.display()))?;
    for v in CA_VARS {
        child_env.push(((*v).to_owned(), bundle.display().to_string()));
    }

    let (tx, rx) = std::sync::mpsc::channel();
    let mut targets = Vec::new();
    let mut listeners = Vec::new();
    for (l, route, origin) in route_listeners {
        let target = server::Target {
            upstream: route.upstream,
            listener_origin: Some(origin.clone()),
        };
        targets.push((
            origin.trim_start_matches("http://").to_owned(),
            target.clone(),
        ));
        listeners.push((l, target));
    }
    let shared = Arc::new(server::Shared::new(
        credentials,
        run_ca,
        client_tls,
        tx,
        targets,
        proxy_token,
    ));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the proxy's runtime")?;
    std::thread::Builder::new()
        .name("run-proxy".into())
        .spawn(move || {
            runtime.block_on(async move {
                for (l, target) in listeners {
                    let Ok(l) = tokio::net::TcpListener::from_std(l) else {
                        continue;
                    };
                    tokio::spawn(server::serve_route(l, shared.clone(), target));
                }
                if let Ok(l) = tokio::net::TcpListener::from_std(connect) {
                    server::serve_connect(l, shared).await;
                }
            });
        })
        .context("cannot start the proxy's thread")?;
    Ok(Running {
        child_env,
        events: rx,
        dir: Some(dir),
    })
}

/// The roots the child trusted before: its own CA bundle variable, or the system bundle.
fn existing_roots() -> Option<String> {
    let from_env = CA_VARS
        .iter()
        .filter(|v| **v != "NODE_EXTRA_CA_CERTS")
        .filter_map(std::env::var_os)
        .find(|v| !v.is_empty())
        .map(PathBuf::from);
    let candidates = from_env.into_iter().chain(
        [
            "/etc/ssl/certs/ca-certificates.crt",
            "/etc/pki/tls/certs/ca-bundle.crt",
            "/etc/ssl/cert.pem",
        ]
        .iter()
        .map(PathBuf::from),
    );
    for c in candidates {
        if let Ok(t) = std::fs::read_to_string(&c) {
            return Some(t);
        }
    }
    None
}

/// Spawns `command` with `env` (the placeholders and the proxy's variables), forwards signals,
/// hands every audit event to `audit` while the child runs, and returns its exit code.
pub fn run_child(
    command: &[OsString],
    env: &[(String, String)],
    running: &Running,
    mut audit: impl FnMut(AuditEvent),
) -> Result<i32> {
    let (program, args) = command.split_first().ok_or_else(|| {
        hinted(
            "no command given",
            "usage: tokenvault run --proxy -e VAR=REF -- CMD [ARGS…]",
        )
    })?;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    let mut cmd = Command::new(program);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: runs in the forked child before exec; only reads a OnceLock and calls
        // setrlimit (async-signal-safe), as `run --mask` does.
        unsafe {
            cmd.pre_exec(|| {
                crate::exec::hardening::restore_for_child();
                Ok(())
            });
        }
    }
    #[cfg(unix)]
    let forwarder = crate::exec::masked::signals::Forwarder::install();
    let shown = program.to_string_lossy().into_owned();
    let mut child = cmd
        .spawn()
        .map_err(|e| crate::error::start_failure(&shown, &e))?;
    #[cfg(unix)]
    forwarder.set_child(child.id());

    // A thread waits for the exit without reaping it, so no signal can reach a recycled pid.
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    #[cfg(unix)]
    {
        let pid = child.id();
        std::thread::spawn(move || {
            let _ = crate::exec::masked::signals::wait_exit(pid);
            let _ = done_tx.send(());
        });
    }
    #[cfg(not(unix))]
    let _ = done_tx;
    loop {
        while let Ok(ev) = running.events.try_recv() {
            audit(ev);
        }
        match done_rx.recv_timeout(std::time::Duration::from_millis(20)) {
            Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                #[cfg(not(unix))]
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
            }
        }
    }
    #[cfg(unix)]
    forwarder.clear_child();
    let status = child.wait().context("waiting for the child failed")?;
    #[cfg(unix)]
    drop(forwarder);
    while let Ok(ev) = running.events.try_recv() {
        audit(ev);
    }
    Ok(crate::exec::masked::exit_code(status))
}
