//! `tokenvault run -- CMD`: the main job. Resolve the references, put the values in the child's
//! environment, and `exec` the command so that its stdin, stdout, stderr, signals and exit status
//! are the child's own (an MCP stdio server speaks JSON-RPC on stdout: nothing of ours goes there).
//! With `--mask` tokenvault stays the parent and conceals the values in the child's output.

use crate::cli::RunArgs;
use crate::context::{Ctx, Outcome};
use crate::error::hinted;
use crate::services::resolve::{build_plan, open_and_resolve};
use anyhow::Result;
use std::process::Command;
use tokenvault_core::envplan::{keep_existing, EnvPlan, EnvValue};
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
