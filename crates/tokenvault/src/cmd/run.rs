//! `tokenvault run -- CMD`: the main job. Resolve the references, put the values in the child's
//! environment, and `exec` the command so that its stdin, stdout, stderr, signals and exit status
//! are the child's own (an MCP stdio server speaks JSON-RPC on stdout: nothing of ours goes there).
//! With `--mask` tokenvault stays the parent and conceals the values in the child's output. With
//! `--proxy` it stays the parent too, and the child gets placeholders: `exec::proxy` adds the real
//! values to requests for each provider's own hosts (docs/running.md).

use crate::cli::RunArgs;
use crate::context::{Ctx, Outcome};
use crate::error::hinted;
use crate::exec::proxy::{Credential, Route};
use crate::services::resolve::{build_plan, open_and_resolve};
use anyhow::Result;
use std::process::Command;
use tokenvault_core::envplan::{keep_existing, EnvPlan, EnvValue};
use tokenvault_core::proxy::{self, Narrowing, Policy};
use tokenvault_core::Secret;

pub fn run(ctx: &mut Ctx, args: &RunArgs) -> Result<Outcome> {
    let plan = build_plan(ctx, &args.sources)?;
    let printer = ctx.printer.clone();

    // Which variables we set: an already-set, non-empty variable wins unless --vault-wins.
    let mut chosen = EnvPlan::new();
    for e in plan.entries() {
        let existing = std::env::var(&e.var).ok();
        if keep_existing(existing.as_deref(), args.vault_wins) {
            let what = match &e.value {
                EnvValue::Ref(r) => r.to_string(),
                EnvValue::Plain(_) => format!("the value from {}", e.origin),
            };
            printer.note(&format!(
                "notice: {} is already set in the environment; using it instead of {what} (--vault-wins to override)",
                e.var
            ));
            continue;
        }
        chosen.add(e.var.clone(), e.value.clone(), e.origin.clone());
    }
    let refs = chosen.references();
    let mut resolved = open_and_resolve(ctx, "run", Some(&chosen), &refs)?;
    let mut env: Vec<(String, Secret)> = Vec::with_capacity(chosen.entries().len());
    for e in chosen.entries() {
        let value = match &e.value {
            EnvValue::Ref(r) => resolved.values.get(r).cloned().ok_or_else(|| {
                hinted(
                    format!("{r} was not resolved"),
                    "this is a bug; please report it",
                )
            })?,
            EnvValue::Plain(p) => Secret::from_str_copy(p),
        };
        env.push((e.var.clone(), value));
    }
    resolved.subject.record_before_release(ctx, "run")?;

    if args.proxy {
        let backend = resolved.subject.backend.clone();
        let setup = proxy_setup(ctx, args, &chosen, &env)?;
        let running = crate::exec::proxy::start(setup.credentials, setup.routes)?;
        let mut child_env = setup.child_env;
        child_env.extend(running.child_env.iter().cloned());
        let code = crate::exec::proxy::run_child(&args.command, &child_env, &running, |ev| {
            let outcome = format!("{} {}{} {}", ev.method, ev.host, ev.path, ev.outcome);
            crate::audit::record(
                ctx,
                "run-proxy",
                backend.as_deref(),
                std::slice::from_ref(&ev.reference),
                &outcome,
            );
        })?;
        return Ok(Outcome::Code(code));
    }

    if args.mask {
        let conceal: Vec<(String, Secret)> = chosen
            .entries()
            .iter()
            .zip(&env)
            .filter(|(e, _)| matches!(e.value, EnvValue::Ref(_)))
            .map(|(_, (var, value))| (var.clone(), value.clone()))
            .collect();
        let code = crate::exec::masked::run_masked(&args.command, &env, &conceal)?;
        return Ok(Outcome::Code(code));
    }
    exec(&args.command, &env)
}

struct ProxySetup {
    credentials: Vec<Credential>,
    routes: Vec<Route>,
    /// What the child gets: placeholders for references, plain values as they are.
    child_env: Vec<(String, String)>,
}

/// The placeholders, policies and routes of `run --proxy`, from the catalogue's
/// `[provider.proxy]` tables and the run's narrowing.
fn proxy_setup(
    ctx: &Ctx,
    args: &RunArgs,
    chosen: &EnvPlan,
    env: &[(String, Secret)],
) -> Result<ProxySetup> {
    let mut narrowing = if args.read_only {
        Narrowing::read_only()
    } else {
        Narrowing::default()
    };
    narrowing = narrowing.with_methods(args.allow_methods.iter().map(String::as_str));
    for p in &args.allow_paths {
        if !p.starts_with('/') {
            return Err(hinted(
                format!("--allow-path {p:?} is not a path"),
                "give a path prefix that starts with '/', e.g. --allow-path /api/models",
            ));
        }
        narrowing.paths.push(p.clone());
    }
    let catalogue = &ctx.settings.catalogue;
    let mut setup = ProxySetup {
        credentials: Vec::new(),
        routes: Vec::new(),
        child_env: Vec::new(),
    };
    for (e, (var, value)) in chosen.entries().iter().zip(env) {
        let EnvValue::Ref(r) = &e.value else {
            setup
                .child_env
                .push((var.clone(), value.expose_secret().to_owned()));
            continue;
        };
        let provider = catalogue.for_item(&r.item);
        let Some((provider, table)) = provider.and_then(|p| p.proxy.as_ref().map(|t| (p, t)))
        else {
            return Err(hinted(
                format!(
                    "{r} cannot go through --proxy: {}",
                    match provider {
                        Some(p) => format!("the catalogue lists no hosts for {}", p.name),
                        None => "its provider is not in the catalogue".to_owned(),
                    }
                ),
                "run it without --proxy, or add a [provider.proxy] table with the hosts it may go to (see docs/running.md)",
            ));
        };
        let field = r
            .field
            .as_ref()
            .map(|f| f.as_str().to_owned())
            .unwrap_or_else(|| provider.default_field.clone());
        let mut keep: Vec<&str> = Vec::new();
        if let Some(f) = provider.field(&field) {
            keep.extend(f.prefix.as_deref());
            keep.extend(f.keywords.iter().map(String::as_str));
        }
        let mut random = vec![0u8; value.expose_secret().len()];
        getrandom::getrandom(&mut random)
            .map_err(|e| anyhow::anyhow!("cannot read random bytes for a placeholder: {e}"))?;
        let placeholder =
            proxy::placeholder(value.expose_secret(), &keep, &random).ok_or_else(|| {
                hinted(
                    format!("{r} is too short to stand in for with a placeholder"),
                    "run it without --proxy",
                )
            })?;
        // The upstream: what the parent's endpoint variable says (a private Hub, a test's
        // stand-in; it is then allowed too), else the catalogue's base.
        let mut extra = Vec::new();
        let configured = table
            .base_url_env
            .as_deref()
            .and_then(|v| std::env::var(v).ok())
            .filter(|v| !v.trim().is_empty());
        let upstream = match &configured {
            Some(url) => {
                let base = proxy::parse_base(url).ok_or_else(|| {
                    hinted(
                        // The value is not echoed: it may carry a password (`https://u:p@host`).
                        format!(
                            "{} is not an http(s)://host[:port][/path] URL, so run --proxy cannot forward to it",
                            table.base_url_env.as_deref().unwrap_or_default()
                        ),
                        "set it to the API base without user info, query or fragment, or unset it to use the provider's own",
                    )
                })?;
                extra.push(base.pattern());
                Some(base)
            }
            None => table
                .base_url
                .as_deref()
                .or(provider.check.as_ref().map(|c| c.base.as_str()))
                .and_then(proxy::parse_base),
        };
        if let (Some(var), Some(upstream)) = (&table.base_url_env, upstream) {
            if !setup.routes.iter().any(|r| &r.var == var) {
                setup.routes.push(Route {
                    var: var.clone(),
                    upstream,
                });
            }
        }
        setup.child_env.push((var.clone(), placeholder.clone()));
        setup.credentials.push(Credential {
            var: var.clone(),
            reference: r.to_string(),
            placeholder,
            value: value.clone(),
            policy: Policy::new(table, &extra, narrowing.clone()),
        });
    }
    Ok(setup)
}

/// Replaces this process with the command (Unix); elsewhere spawns it and returns its code.
fn exec(command: &[std::ffi::OsString], env: &[(String, Secret)]) -> Result<Outcome> {
    let (program, rest) = command.split_first().ok_or_else(|| {
        hinted(
            "no command given",
            "usage: tokenvault run -e VAR=REF -- CMD [ARGS…]",
        )
    })?;
    let mut cmd = Command::new(program);
    cmd.args(rest);
    for (var, value) in env {
        cmd.env(var, value.expose_secret());
    }
    let shown = program.to_string_lossy().into_owned();
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        crate::exec::hardening::restore_for_child();
        let err = cmd.exec();
        crate::exec::hardening::harden_process();
        Err(start_error(&shown, err))
    }
    #[cfg(not(unix))]
    {
        let status = cmd.status().map_err(|e| start_error(&shown, e))?;
        Ok(Outcome::Code(status.code().unwrap_or(2)))
    }
}

fn start_error(program: &str, err: std::io::Error) -> anyhow::Error {
    crate::error::start_failure(program, &err)
}
