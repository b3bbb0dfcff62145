//! `tokenvault mcp headers --header 'K: V {{ tv://… }}'…`: the headers as one JSON object on
//! stdout, references resolved, for clients that run a command to get them (Claude Code's
//! `headersHelper`). The values go to stdout only; the audit line (`mcp-headers`) names the
//! references.

use crate::audit::Subject;
use crate::cli::McpHeadersArgs;
use crate::context::{Ctx, Outcome};
use crate::mcp::bridge::headers;
use anyhow::Result;

pub fn run(ctx: &mut Ctx, args: &McpHeadersArgs) -> Result<Outcome> {
    let mut subject = Subject::default();
    let resolved = headers::resolve(ctx, &args.headers, &[], &mut subject).and_then(|hs| {
        // A value no HTTP header can carry would only fail later, inside the client.
        for h in &hs {
            h.to_http()?;
        }
        Ok(hs)
    });
    subject.record(ctx, "mcp-headers", &resolved);
    let mut json = headers::to_json(&resolved?);
    json.push('\n');
    ctx.printer.data(&json)?;
    Ok(Outcome::Success)
}
