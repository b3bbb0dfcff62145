//! `tokenvault ui [--port N] [--no-open] [--idle 30m]`: the local web app (see `crate::web` and
//! docs/ui.md). This file only reads the arguments; the app is a front door over the services.

use crate::cli::UiArgs;
use crate::context::{Ctx, Outcome};
use crate::services::duration::parse_duration;
use anyhow::Result;

pub fn run(ctx: &mut Ctx, args: &UiArgs) -> Result<Outcome> {
    let idle = parse_duration(&args.idle)?;
    crate::web::serve(
        ctx,
        crate::web::Options {
            port: args.port.unwrap_or(0),
            open: !args.no_open,
            idle,
        },
    )?;
    Ok(Outcome::Success)
}
