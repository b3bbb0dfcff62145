//! `tokenvault docker-credential get|store|erase|list`, also run as `docker-credential-tokenvault`:
//! a Docker credential helper (`"credsStore": "tokenvault"` in `~/.docker/config.json`), so
//! registry logins live in the vault instead of base64 in the config. The protocol is
//! `tokenvault_core::dockercred`; the storage `services::docker_creds`. Every call is audited; a
//! value goes only to Docker, on standard output, for `get`.

use crate::cli::{DockerCredentialArgs, DockerCredentialOp};
use crate::context::{now_rfc3339, Ctx, Outcome};
use crate::error::hinted;
use crate::services::docker_creds;
use anyhow::{Context, Result};
use std::io::Read;
use tokenvault_core::dockercred::{self, item_for, NOT_FOUND};
use zeroize::Zeroizing;

const ACTION: &str = "docker-credential";

/// Standard input, at most 64 KiB (a server URL or one JSON object).
fn input() -> Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(Vec::new());
    std::io::stdin()
        .take(64 * 1024)
        .read_to_end(&mut buf)
        .context("reading Docker's request on standard input")?;
    Ok(buf)
}

fn server_of(buf: &[u8]) -> Result<String> {
    let s = String::from_utf8_lossy(buf).trim().to_owned();
    if s.is_empty() || s.contains(char::is_whitespace) {
        return Err(hinted(
            "expected a registry's server URL on standard input",
            "Docker sends one, e.g. `echo ghcr.io | tokenvault docker-credential get`",
        ));
    }
    Ok(s)
}

pub fn run(ctx: &mut Ctx, args: &DockerCredentialArgs) -> Result<Outcome> {
    match args.operation {
        DockerCredentialOp::Get => {
            let server = server_of(&input()?)?;
            let reference = format!("tv://{}/secret", item_for(&server));
            let vault = ctx.open_vault()?;
            let backend = vault.kind().as_str();
            let found = docker_creds::get(&vault, &server)?;
            drop(vault);
            let Some(c) = found else {
                crate::audit::record(ctx, ACTION, Some(backend), &[reference], "not found");
                // Docker reads this exact text to tell "none stored" from a failure.
                ctx.printer.data(&format!("{NOT_FOUND}\n"))?;
                return Ok(Outcome::Code(1));
            };
            crate::audit::record_before_release(ctx, ACTION, Some(backend), &[reference])?;
            ctx.printer.data(&dockercred::answer(&c))?;
            Ok(Outcome::Success)
        }
        DockerCredentialOp::Store => {
            let c = dockercred::parse_store(&input()?).map_err(|why| {
                hinted(
                    format!("Docker's store request was not understood: {why}"),
                    "this helper expects Docker's credential helper protocol on standard input",
                )
            })?;
            let vault = ctx.open_vault()?;
            let backend = vault.kind().as_str();
            let refs = docker_creds::store(&vault, &c, &now_rfc3339())?;
            drop(vault);
            crate::audit::record(ctx, ACTION, Some(backend), &refs, "stored");
            Ok(Outcome::Success)
        }
        DockerCredentialOp::Erase => {
            let server = server_of(&input()?)?;
            let vault = ctx.open_vault()?;
            let backend = vault.kind().as_str();
            let erased = docker_creds::erase(&vault, &server)?;
            drop(vault);
            let reference = format!("tv://{}", item_for(&server));
            crate::audit::record(
                ctx,
                ACTION,
                Some(backend),
                &[reference],
                if erased { "erased" } else { "not found" },
            );
            Ok(Outcome::Success)
        }
        DockerCredentialOp::List => {
            let vault = ctx.open_vault()?;
            let all = docker_creds::list(&vault)?;
            let map: serde_json::Map<String, serde_json::Value> = all
                .into_iter()
                .map(|(server, user)| (server, serde_json::Value::String(user)))
                .collect();
            ctx.printer
                .data(&format!("{}\n", serde_json::Value::Object(map)))?;
            Ok(Outcome::Success)
        }
    }
}
