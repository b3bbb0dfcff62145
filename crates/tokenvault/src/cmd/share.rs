//! `tokenvault share REF --wrap [--ttl 10m]`: hands one value over through a server backend's
//! single-use response-wrapping token. The token is printed (on stdout, for the recipient's
//! `tokenvault receive`); the value never is.

use crate::backends::{self, Handover};
use crate::cli::ShareArgs;
use crate::context::{Ctx, Outcome};
use crate::error::hinted;
use anyhow::Result;
use serde_json::json;

pub fn run(ctx: &mut Ctx, args: &ShareArgs) -> Result<Outcome> {
    let mut subject = crate::audit::Subject::new(super::parse_ref(&args.reference)?);
    let result = share(ctx, args, &mut subject);
    subject.record(ctx, "share", &result);
    result
}

fn share(ctx: &mut Ctx, args: &ShareArgs, subject: &mut crate::audit::Subject) -> Result<Outcome> {
    if !args.wrap {
        return Err(hinted(
            "`share` hands a value over only as a wrapping token",
            format!("pass --wrap: `tokenvault share {} --wrap`", args.reference),
        ));
    }
    crate::services::duration::parse_duration(&args.ttl).map_err(|e| {
        hinted(
            format!("--ttl {}: {e}", args.ttl),
            "give a duration such as 90s, 10m or 1h",
        )
    })?;
    let remote_def = backends::remotes()
        .next()
        .ok_or_else(|| anyhow::anyhow!("this build has no server backend to wrap values with"))?;
    let Some(remote) = remote_def.remote else {
        return Err(anyhow::anyhow!(
            "internal: a remote backend without its operations"
        ));
    };
    let reference = super::parse_ref(&args.reference)?;
    let printer = ctx.printer.clone();
    let json_out = ctx.settings.global.json;
    let vault = ctx.open_vault()?;
    subject.backend = Some(vault.kind().as_str().to_owned());
    let target = vault.target_for_read(&reference)?;
    subject.references = vec![target.reference()];
    let Some(value) = vault.store().get(&target.key)? else {
        return Err(hinted(
            format!(
                "{} is not stored in the {} backend",
                target.reference(),
                vault.kind()
            ),
            "see what is stored with `tokenvault list`",
        ));
    };
    let handover = Handover {
        item: target.key.item.as_str().to_owned(),
        field: target.key.field.as_str().to_owned(),
        provider: target.provider.clone(),
        value,
    };
    // The value leaves this machine (to the server, wrapped): recorded first, like a read.
    subject.record_before_release(ctx, "share")?;
    let wrapped = (remote.wrap)(&ctx.settings, &handover, &args.ttl)?;
    if json_out {
        printer.json(&json!({
            "reference": target.reference(),
            "wrapping_token": wrapped.expose_secret(),
            "ttl": args.ttl,
        }))?;
    } else {
        printer.data(&format!("{}\n", wrapped.expose_secret()))?;
    }
    printer.note(&format!(
        "Wrapped {} in a single-use token valid for {}: give it to the recipient over a channel you trust; they run `tokenvault receive`. If they are told it was already unwrapped, someone intercepted it: rotate the value.",
        target.reference(),
        args.ttl
    ));
    Ok(Outcome::Success)
}
