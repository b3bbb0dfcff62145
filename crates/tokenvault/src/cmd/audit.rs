//! `tokenvault audit [--since T] [--json]` lists the access log; `tokenvault audit verify` checks its
//! hash chain and names the first line that was edited, deleted, reordered or cut off, then
//! compares the log with its authenticated head (`audit.head`), which shows lines cut from the end
//! and a log deleted whole.
//!
//! Both read under the log's shared lock and stream it line by line, so a large log costs memory
//! only for what is printed (`--json` collects the selected records into one array).

use crate::audit::{head_path, log_path, read_head, read_lines, AnchoredHead};
use crate::cli::{AuditAction, AuditArgs};
use crate::context::{Ctx, Outcome};
use crate::error::hinted;
use anyhow::Result;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokenvault_core::audit::{ChainHead, Record, Verifier};

pub fn run(ctx: &mut Ctx, args: &AuditArgs) -> Result<Outcome> {
    match args.action {
        Some(AuditAction::Verify) => verify(ctx),
        None => list(ctx, args),
    }
}

/// What the authenticated head says about the log: `Err` names a problem.
fn check_head(
    ctx: &mut Ctx,
    head: Option<&AnchoredHead>,
    exists: bool,
    last_seq: u64,
    hash_at_head: Option<&str>,
) -> Result<(bool, Option<bool>), String> {
    // The state key, when it can be had without a passphrase.
    let key = ctx.open_vault().ok().and_then(|v| v.quiet_state_key());
    let Some(head) = head else {
        return match (exists, &key) {
            (true, Some(_)) => Err(format!(
                "there is no audit head ({}) beside the log: it was deleted, or the log predates \
                 it (any command that reads a value anchors it again)",
                head_path(&ctx.settings.paths.home).display()
            )),
            _ => Ok((false, None)),
        };
    };
    let authentic = key
        .filter(|k| k.backend() == head.backend)
        .map(|k| head.authentic(&k));
    if authentic == Some(false) {
        return Err(
            "the audit head was changed outside tokenvault (its tag does not match the vault)"
                .into(),
        );
    }
    if !exists {
        return Err(format!(
            "the audit log is gone, but its head records {} entries",
            head.seq
        ));
    }
    if last_seq < head.seq {
        return Err(format!(
            "records were cut from the end: the log ends at seq {last_seq}, its head records seq {}",
            head.seq
        ));
    }
    if hash_at_head != Some(head.hash.as_str()) {
        return Err(format!(
            "the record at seq {} is not the one the head records (the log was replaced)",
            head.seq
        ));
    }
    Ok((true, authentic))
}

fn verify(ctx: &mut Ctx) -> Result<Outcome> {
    let home = ctx.settings.paths.home.clone();
    let path = log_path(&home);
    let json = ctx.settings.global.json;
    let head = read_head(&home);
    let want_seq = head.as_ref().ok().and_then(|h| h.as_ref()).map(|h| h.seq);
    let mut hash_at_head = None;
    let mut verifier = Verifier::new();
    let mut broken = None;
    let exists = read_lines(&home, |_, line| {
        if let Some(seq) = want_seq {
            let after = ChainHead::after_line(line.strip_suffix(b"\n").unwrap_or(line));
            if after.seq == seq && !after.damaged {
                hash_at_head = Some(after.hash);
            }
        }
        match verifier.feed(line) {
            Ok(()) => Ok(true),
            Err(b) => {
                broken = Some(b);
                Ok(false)
            }
        }
    })?;
    let verdict = match broken {
        Some(b) => Err(b),
        None => verifier.finish(),
    };
    let anchored = match (&verdict, head) {
        (Err(_), _) => Ok((false, None)),
        (_, Err(e)) => Err(format!("{e:#}")),
        (Ok(summary), Ok(head)) => check_head(
            ctx,
            head.as_ref(),
            exists,
            summary.last_seq,
            hash_at_head.as_deref(),
        ),
    };
    let (anchored, authenticated) = match anchored {
        Ok(a) => a,
        Err(problem) => {
            if json {
                ctx.printer.json(&json!({
                    "intact": false,
                    "path": path,
                    "problem": "head",
                    "detail": problem,
                }))?;
            } else {
                ctx.printer.line(&format!(
                    "Audit log {} is not intact: {problem}.",
                    path.display()
                ))?;
                ctx.printer.hint(
                    "the log was left as it is; keep a copy for investigation. New entries keep being appended",
                );
            }
            return Ok(Outcome::Negative);
        }
    };
    match verdict {
        Ok(summary) => {
            if json {
                ctx.printer.json(&json!({
                    "intact": true,
                    "path": path,
                    "entries": summary.entries,
                    "last_seq": summary.last_seq,
                    "head": summary.head,
                    "anchored": anchored,
                    "head_authenticated": authenticated,
                }))?;
            } else if !exists {
                ctx.printer.line(&format!(
                    "No audit log yet ({}): nothing to verify.",
                    path.display()
                ))?;
            } else {
                ctx.printer.line(&format!(
                    "Audit log intact: {} entries, last seq {}, head sha256 {}.",
                    summary.entries, summary.last_seq, summary.head
                ))?;
                match (anchored, authenticated) {
                    (true, Some(true)) => ctx.printer.note(
                        "its authenticated head matches: nothing was cut from the end",
                    ),
                    (true, _) => ctx.printer.hint(
                        "the head matches the log, but its tag was not checked (the vault is locked): run `tokenvault unlock` and verify again",
                    ),
                    (false, _) => ctx.printer.hint(
                        "there is no authenticated head yet, so lines cut from the end cannot be seen: any command that reads a value anchors it",
                    ),
                }
            }
            Ok(Outcome::Success)
        }
        Err(b) => {
            if json {
                ctx.printer.json(&json!({
                    "intact": false,
                    "path": path,
                    "line": b.line,
                    "problem": b.kind.as_str(),
                    "detail": b.detail,
                }))?;
            } else {
                ctx.printer
                    .line(&format!("Audit log {} is broken at {b}.", path.display()))?;
                ctx.printer.hint(
                    "the log was left as it is; entries from that line on cannot be trusted. Keep a copy for investigation; new entries keep being appended",
                );
            }
            Ok(Outcome::Negative)
        }
    }
}

fn list(ctx: &Ctx, args: &AuditArgs) -> Result<Outcome> {
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let json = ctx.settings.global.json;
    let printer = &ctx.printer;
    let mut selected = Vec::new();
    let mut damaged = Vec::new();
    let mut shown = 0u64;
    let exists = read_lines(&ctx.settings.paths.home, |n, line| {
        let Ok(record) = Record::parse(line) else {
            damaged.push(n);
            return Ok(true);
        };
        if let Some(since) = since {
            // An unreadable time is shown rather than hidden: it may be the line someone edited.
            if OffsetDateTime::parse(&record.time, &Rfc3339).is_ok_and(|t| t < since) {
                return Ok(true);
            }
        }
        shown += 1;
        if json {
            selected.push(serde_json::to_value(&record)?);
        } else {
            if shown == 1 {
                printer.line(&format!(
                    "{:<20}  {:<14}  {:<12}  {:<28}  PARENT",
                    "TIME", "ACTION", "OUTCOME", "REFERENCES"
                ))?;
            }
            printer.line(&row(&record))?;
        }
        Ok(true)
    })?;
    if json {
        printer.json(&serde_json::Value::Array(selected))?;
    } else if !exists {
        printer.note(&format!(
            "No audit log yet ({}): entries appear when values are read or changed.",
            log_path(&ctx.settings.paths.home).display()
        ));
    } else if shown == 0 {
        printer.note("No entries.");
    }
    if !damaged.is_empty() {
        let lines: Vec<String> = damaged.iter().take(5).map(u64::to_string).collect();
        printer.warning(&format!(
            "skipped {} that {} not audit records (line {}{}); run `tokenvault audit verify`",
            tokenvault_core::words::count(damaged.len(), "line"),
            if damaged.len() == 1 { "is" } else { "are" },
            lines.join(", "),
            if damaged.len() > 5 { ", …" } else { "" }
        ));
    }
    Ok(Outcome::Success)
}

/// One table row: time to the second, action, outcome, references, parent name and pid.
fn row(r: &Record) -> String {
    let time = OffsetDateTime::parse(&r.time, &Rfc3339)
        .ok()
        .and_then(|t| t.replace_nanosecond(0).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| r.time.clone());
    let refs = if r.references.is_empty() {
        "-".to_owned()
    } else {
        r.references.join(",")
    };
    let parent = match (&r.parent_name, r.ppid) {
        (Some(name), Some(pid)) => format!("{name} ({pid})"),
        (None, Some(pid)) => format!("pid {pid}"),
        (Some(name), None) => name.clone(),
        (None, None) => "-".to_owned(),
    };
    // An MCP client acting through `mcp serve`: named first, the process after.
    let parent = match &r.actor {
        Some(actor) => format!("{actor} via {parent}"),
        None => parent,
    };
    format!(
        "{time:<20}  {:<14}  {:<12}  {refs:<28}  {parent}",
        r.action, r.outcome
    )
}

/// `--since`: an RFC 3339 time, or a duration ago (`90s`, `30m`, `24h`, `7d`).
fn parse_since(text: &str) -> Result<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t);
    }
    if text.starts_with(|c: char| c.is_ascii_digit()) && !text.contains(['-', ':']) {
        let ago = crate::services::duration::parse_duration(text)?;
        return Ok(OffsetDateTime::now_utc() - ago);
    }
    Err(hinted(
        format!("--since '{text}' is neither an RFC 3339 time nor a duration"),
        "use e.g. --since 2025-06-01T00:00:00Z or --since 24h",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_times_and_durations() {
        let t = parse_since("2025-06-01T00:00:00Z").unwrap();
        assert_eq!(t.unix_timestamp(), 1_748_736_000);
        let ago = parse_since("2h").unwrap();
        let diff = OffsetDateTime::now_utc() - ago;
        assert!((diff.whole_seconds() - 7200).abs() < 60);
        assert!(parse_since("yesterday").is_err());
        assert!(parse_since("2025-06-01").is_err());
    }
}
