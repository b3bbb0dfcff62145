//! `tokenvault backend login openbao`: log in to a server backend and keep its token in the local
//! keychain or file vault. The token, password or AppRole secret id is read from stdin, a hidden
//! prompt or (secret id) a 0600 file, never from the command line.

use crate::backends::{self, LoginMethod, LoginRequest};
use crate::cli::{BackendCommand, LoginArgs};
use crate::context::{Ctx, Outcome};
use crate::error::hinted;
use anyhow::{Context, Result};
use serde_json::json;
use std::io::Read;
use tokenvault_core::Secret;
use tokenvault_store::{fsutil, BackendKind};

pub fn run(ctx: &mut Ctx, cmd: &BackendCommand) -> Result<Outcome> {
    match cmd {
        BackendCommand::Login(args) => login(ctx, args),
    }
}

/// More than any token or password.
const MAX_SECRET: u64 = 64 * 1024;

fn read_stdin(what: &str) -> Result<Secret> {
    let mut buf = String::new();
    std::io::stdin()
        .lock()
        .take(MAX_SECRET)
        .read_to_string(&mut buf)
        .with_context(|| format!("reading the {what} from standard input"))?;
    let s = Secret::from_input(buf.trim().to_owned());
    zeroize::Zeroize::zeroize(&mut buf);
    if s.is_empty() {
        return Err(hinted(
            format!("no {what} on standard input"),
            format!("pipe the {what}, e.g. from a password manager or your CI's secret store"),
        ));
    }
    Ok(s)
}

fn read_hidden(what: &str, stdin: bool) -> Result<Secret> {
    if stdin {
        return read_stdin(what);
    }
    if !crate::prompt::has_terminal() {
        return Err(hinted(
            format!("no terminal to type the {what} on"),
            "pipe it with --stdin (it is never taken from the command line)",
        ));
    }
    crate::prompt::hidden_prompt(&format!("OpenBao {what} (input hidden): "))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| hinted(format!("no {what} was typed"), "run the command again"))
}

fn login(ctx: &mut Ctx, args: &LoginArgs) -> Result<Outcome> {
    let kind: BackendKind = args.backend.parse().map_err(anyhow::Error::msg)?;
    let def = backends::def(kind);
    let remote = def.remote.ok_or_else(|| {
        hinted(
            format!("the {kind} backend needs no login"),
            "log in to a server backend: `tokenvault backend login openbao`",
        )
    })?;
    let local = match &args.local_backend {
        Some(name) => {
            let k: BackendKind = name.parse().map_err(anyhow::Error::msg)?;
            if backends::def(k).remote.is_some() || k == BackendKind::Memory {
                return Err(hinted(
                    format!("the login cannot be kept in the {k} backend"),
                    "use --local-backend keychain or --local-backend file",
                ));
            }
            ctx.settings.config.edit(|doc| {
                doc["openbao"]["local_backend"] = toml_edit::value(k.as_str());
            })?;
            k
        }
        None => backends::local_choice(&ctx.settings),
    };
    let (name, secret) = match args.method {
        LoginMethod::Token => (None, read_hidden("token", args.stdin)?),
        LoginMethod::Userpass => {
            let user = args
                .username
                .clone()
                .ok_or_else(|| hinted("userpass needs a user name", "pass --username NAME"))?;
            (Some(user), read_hidden("password", args.stdin)?)
        }
        LoginMethod::Approle => {
            let role = args
                .role_id
                .clone()
                .ok_or_else(|| hinted("approle needs a role id", "pass --role-id ROLE_ID"))?;
            let secret = match &args.secret_id_file {
                Some(path) => {
                    let bytes = fsutil::read_private(path)?.ok_or_else(|| {
                        hinted(
                            format!("{} does not exist", path.display()),
                            "point --secret-id-file at the file holding the AppRole secret id",
                        )
                    })?;
                    let text = String::from_utf8(bytes)
                        .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", path.display()))?;
                    Secret::new(text.trim().to_owned())
                }
                None => read_stdin("secret id")?,
            };
            (Some(role), secret)
        }
    };
    fsutil::ensure_private_dir(&ctx.settings.paths.home)?;
    let done = (remote.login)(
        &ctx.settings,
        &LoginRequest {
            method: args.method,
            name,
            secret,
            mount: args.auth_path.clone(),
            local,
        },
    )?;
    let lasts = if done.ttl == 0 {
        "it does not expire".to_owned()
    } else {
        format!(
            "it lasts {}{}",
            human(done.ttl),
            if done.renewable {
                ", renewed as it is used"
            } else {
                ", not renewable"
            }
        )
    };
    ctx.printer.note(&format!(
        "Logged in to OpenBao at {}; the token is kept in the {} backend ({lasts}). Use it with --backend {kind}.",
        done.server, done.kept_in
    ));
    if ctx.settings.global.json {
        ctx.printer.json(&json!({
            "backend": kind.as_str(),
            "server": done.server,
            "ttl_seconds": done.ttl,
            "renewable": done.renewable,
            "kept_in": done.kept_in.as_str(),
        }))?;
    }
    Ok(Outcome::Success)
}

/// A lifetime in the largest whole unit: "32 days", "1 hour", "90 seconds".
fn human(secs: u64) -> String {
    let (n, unit) = match secs {
        s if s >= 86_400 && s % 86_400 == 0 => (s / 86_400, "day"),
        s if s >= 3_600 && s % 3_600 == 0 => (s / 3_600, "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    tokenvault_core::words::count(n as usize, unit)
}
