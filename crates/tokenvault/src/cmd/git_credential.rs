//! `tokenvault git-credential get|store|erase`: a git credential helper, so `git push
//! https://huggingface.co/…` (or to github.com) authenticates with the vault's token and no token
//! sits in `~/.git-credentials` or a remote URL.
//!
//! Protocol (gitcredentials(7)): git writes `key=value` lines ending with a blank line on our stdin;
//! for `get` we answer `username=` and `password=` lines on stdout, or nothing — then git asks the
//! next helper or prompts. We only answer for https on hosts we know (Hugging Face: `huggingface`
//! item, any username works with a token; GitHub: `github` item, username `x-access-token`).
//! `store` and `erase` read and discard what git sends: the vault is the source of truth, and a
//! password git learned elsewhere must not overwrite it. Every `get` is audited. A locked vault
//! answers nothing (git falls back to prompting) and says on stderr how to unlock.

use crate::cli::{GitCredentialArgs, GitCredentialOp};
use crate::context::{Ctx, Outcome};
use crate::error::hinted;
use anyhow::Result;
use std::io::Read;
use tokenvault_core::gitcred::{self, Request, RequestError};
use tokenvault_core::{Reference, Secret};
use tokenvault_store::StoreError;
use zeroize::Zeroizing;

/// Reads and discards everything on stdin (`store`/`erase`), wiping the buffer: it may hold a
/// password.
fn discard_input(mut input: impl Read) -> Result<()> {
    let mut buf = Zeroizing::new(vec![0u8; 4096]);
    loop {
        match input.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(anyhow::Error::new(e).context("reading git's input")),
        }
    }
}

pub fn run(ctx: &mut Ctx, args: &GitCredentialArgs) -> Result<Outcome> {
    let stdin = std::io::stdin();
    match args.operation {
        GitCredentialOp::Store | GitCredentialOp::Erase => {
            discard_input(stdin.lock())?;
            Ok(Outcome::Success)
        }
        GitCredentialOp::Get => {
            let req = gitcred::read_request(stdin.lock()).map_err(|e| match e {
                RequestError::TooLarge => hinted(
                    e.to_string(),
                    "this helper expects the gitcredentials(7) protocol on standard input",
                ),
                RequestError::Io(io) => {
                    anyhow::Error::new(io).context("reading git's request on standard input")
                }
            })?;
            get(ctx, args, &req)
        }
    }
}

fn get(ctx: &mut Ctx, args: &GitCredentialArgs, req: &Request) -> Result<Outcome> {
    const ACTION: &str = "git-credential";
    let host = req.host.as_deref().unwrap_or("");
    let protocol = req.protocol.as_deref().unwrap_or("");
    let rule = gitcred::rule_for(host).filter(|_| protocol == "https");
    let Some(rule) = rule else {
        let host: String = host.chars().take(255).collect();
        let protocol: String = protocol.chars().take(32).collect();
        // Not ours: answer nothing so git asks the next helper. Still logged: something asked.
        crate::audit::record(
            ctx,
            ACTION,
            None,
            &[],
            &format!("ignored: {protocol}://{host}"),
        );
        return Ok(Outcome::Success);
    };
    let item = args.item.as_deref().unwrap_or(rule.default_item);
    let reference = super::parse_ref(item)?;

    let (shown, backend, result) = lookup(ctx, &reference);
    let refs = [shown.clone()];
    match result {
        Ok(Some(value)) => {
            let Some(out) = gitcred::answer(req, &rule, value.expose_secret()) else {
                crate::audit::record(
                    ctx,
                    ACTION,
                    backend.as_deref(),
                    &refs,
                    "refused: multi-line value",
                );
                return Err(hinted(
                    format!(
                        "{shown} holds a line break, which git's credential protocol cannot carry"
                    ),
                    format!(
                        "store the token on one line: `tokenvault set {}`",
                        shown.trim_start_matches("tv://")
                    ),
                ));
            };
            crate::audit::record(ctx, ACTION, backend.as_deref(), &refs, "ok");
            ctx.printer.data(&out)?;
            Ok(Outcome::Success)
        }
        Ok(None) => {
            crate::audit::record(ctx, ACTION, backend.as_deref(), &refs, "not found");
            ctx.printer.warning(&format!(
                "tokenvault has no {shown} for {host}, so git will ask for a password; store it with `tokenvault set {}`",
                shown.trim_start_matches("tv://")
            ));
            Ok(Outcome::Success)
        }
        Err(e) if is_locked(&e) => {
            crate::audit::record(ctx, ACTION, backend.as_deref(), &refs, "locked");
            let how =
                crate::error::hint_of(&e).unwrap_or_else(|| "run `tokenvault unlock`".to_owned());
            ctx.printer.warning(&format!(
                "the vault is locked, so tokenvault gave git no token for {host} (git will prompt instead); to unlock: {how}"
            ));
            Ok(Outcome::Success)
        }
        Err(e) => {
            crate::audit::record(
                ctx,
                ACTION,
                backend.as_deref(),
                &refs,
                &crate::audit::reason(&e),
            );
            Err(e)
        }
    }
}

/// Reads `reference` from the vault: the resolved `tv://` form, the backend, and the value.
fn lookup(
    ctx: &mut Ctx,
    reference: &Reference,
) -> (String, Option<String>, Result<Option<Secret>>) {
    let mut shown = reference.to_string();
    let mut backend = None;
    let result = (|| -> Result<Option<Secret>> {
        let vault = ctx.open_vault()?;
        backend = Some(vault.kind().as_str().to_owned());
        let target = vault.target_for_read(reference)?;
        shown = target.reference();
        Ok(vault.store().get(&target.key)?)
    })();
    (shown, backend, result)
}

fn is_locked(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<StoreError>(),
            Some(StoreError::Locked { .. })
        )
    })
}
