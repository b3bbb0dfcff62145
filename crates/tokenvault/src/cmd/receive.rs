//! `tokenvault receive`: unwraps a token made by `tokenvault share --wrap` and stores the value in
//! this vault. A token that was already unwrapped means someone else had it first: that is said
//! loudly, and nothing is stored.

use crate::backends;
use crate::cli::ReceiveArgs;
use crate::context::{now_rfc3339, Ctx, Outcome};
use crate::error::hinted;
use anyhow::Result;
use serde_json::json;
use std::io::Read;
use tokenvault_core::{Reference, Secret};

pub fn run(ctx: &mut Ctx, args: &ReceiveArgs) -> Result<Outcome> {
    let mut subject = crate::audit::Subject::default();
    let result = receive(ctx, args, &mut subject);
    if !subject.references.is_empty() {
        subject.record(ctx, "receive", &result);
    }
    result
}

fn read_token(stdin: bool) -> Result<Secret> {
    let token = if stdin {
        let mut buf = String::new();
        std::io::stdin()
            .lock()
            .take(64 * 1024)
            .read_to_string(&mut buf)?;
        let s = Secret::new(buf.trim().to_owned());
        zeroize::Zeroize::zeroize(&mut buf);
        s
    } else {
        if !crate::prompt::has_terminal() {
            return Err(hinted(
                "no terminal to paste the wrapping token on",
                "pipe it with --stdin",
            ));
        }
        crate::prompt::hidden_prompt("Wrapping token (input hidden): ")
            .map(|s| Secret::new(s.expose_secret().trim().to_owned()))
            .unwrap_or_else(|| Secret::new(String::new()))
    };
    if token.is_empty() {
        return Err(hinted(
            "no wrapping token was given",
            "paste the token `tokenvault share --wrap` printed, or pipe it with --stdin",
        ));
    }
    Ok(token)
}

fn receive(
    ctx: &mut Ctx,
    args: &ReceiveArgs,
    subject: &mut crate::audit::Subject,
) -> Result<Outcome> {
    let remote = backends::remotes()
        .find_map(|d| d.remote)
        .ok_or_else(|| anyhow::anyhow!("this build has no server backend to unwrap with"))?;
    let token = read_token(args.stdin)?;
    let Some(handover) = (remote.unwrap)(&ctx.settings, &token)? else {
        return Err(hinted(
            "this wrapping token was already unwrapped, or has expired: if you did not unwrap it yourself, someone may have intercepted it",
            "nothing was stored; tell the sender, who should rotate the value (`tokenvault rotate`) and share the new one",
        ));
    };
    let item = args.as_item.as_deref().unwrap_or(&handover.item);
    let reference = Reference::parse(&format!("{item}/{}", handover.field))?;
    subject.references = vec![reference.to_string()];
    let printer = ctx.printer.clone();
    let json_out = ctx.settings.global.json;
    let vault = ctx.open_vault()?;
    subject.backend = Some(vault.kind().as_str().to_owned());
    let index = vault.load_index_trusted()?;
    let target = vault.target(&index, &reference, handover.provider.as_deref())?;
    let written = vault.write_verified(&target, &handover.value, &now_rfc3339())?;
    printer.note(&format!(
        "Received {} ({}) into the {} backend{}.",
        target.reference(),
        written.masked,
        vault.kind(),
        if written.replaced {
            "; the value it replaced is kept as the previous one"
        } else {
            ""
        }
    ));
    if json_out {
        printer.json(&json!({
            "stored": target.reference(),
            "masked": written.masked,
            "backend": vault.kind().as_str(),
            "replaced": written.replaced,
        }))?;
    }
    Ok(Outcome::Success)
}
