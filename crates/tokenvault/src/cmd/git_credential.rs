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
use anyhow::{Context, Result};
use std::io::{BufRead, Read};
use tokenvault_core::{Reference, Secret};
use tokenvault_store::StoreError;
use zeroize::Zeroizing;

/// More than any request git sends; a larger input is refused rather than buffered.
const MAX_REQUEST: u64 = 64 * 1024;

/// What answering a known host takes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HostRule {
    default_item: &'static str,
    username: &'static str,
}

/// The hosts we answer for (the port, if any, is ignored).
fn rule_for(host: &str) -> Option<HostRule> {
    let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    match host.as_str() {
        // The Hub checks only the token; huggingface_hub's own helper setup uses this name too.
        "huggingface.co" | "hf.co" => Some(HostRule {
            default_item: "huggingface",
            username: "hf_user",
        }),
        "github.com" => Some(HostRule {
            default_item: "github",
            username: "x-access-token",
        }),
        _ => None,
    }
}

/// The request's attributes we look at. The `password` git may send is never kept.
#[derive(Debug, Default, PartialEq, Eq)]
struct Request {
    protocol: Option<String>,
    host: Option<String>,
    username: Option<String>,
}

/// Reads `key=value` lines until a blank line or the end of input.
fn read_request(input: impl BufRead) -> Result<Request> {
    let mut req = Request::default();
    let mut limited = input.take(MAX_REQUEST + 1);
    let mut total = 0u64;
    let mut line = Zeroizing::new(Vec::new());
    loop {
        line.clear();
        let n = limited
            .read_until(b'\n', &mut line)
            .context("reading git's request on standard input")?;
        total += n as u64;
        if total > MAX_REQUEST {
            return Err(hinted(
                "git's credential request is larger than 64 KiB",
                "this helper expects the gitcredentials(7) protocol on standard input",
            ));
        }
        let text = String::from_utf8_lossy(line.strip_suffix(b"\n").unwrap_or(&line));
        let text = text.strip_suffix('\r').unwrap_or(&text);
        if n == 0 || text.is_empty() {
            break;
        }
        let Some((key, value)) = text.split_once('=') else {
            continue;
        };
        let slot = match key {
            "protocol" => &mut req.protocol,
            "host" => &mut req.host,
            "username" => &mut req.username,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(value.to_owned());
        }
    }
    Ok(req)
}

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
            let req = read_request(stdin.lock())?;
            get(ctx, args, &req)
        }
    }
}

fn get(ctx: &mut Ctx, args: &GitCredentialArgs, req: &Request) -> Result<Outcome> {
    const ACTION: &str = "git-credential";
    let host = req.host.as_deref().unwrap_or("");
    let protocol = req.protocol.as_deref().unwrap_or("");
    let rule = rule_for(host).filter(|_| protocol == "https");
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
            if value.expose_secret().contains(['\n', '\0']) {
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
            }
            let username = req
                .username
                .as_deref()
                .filter(|u| !u.is_empty())
                .unwrap_or(rule.username);
            let mut out = Zeroizing::new(String::with_capacity(value.len() + 64));
            out.push_str("username=");
            out.push_str(username);
            out.push_str("\npassword=");
            out.push_str(value.expose_secret());
            out.push('\n');
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_until_the_blank_line() {
        let input = b"protocol=https\nhost=huggingface.co\npath=user/repo\nusername=bob\npassword=x\n\nhost=evil\n";
        let req = read_request(&input[..]).unwrap();
        assert_eq!(
            req,
            Request {
                protocol: Some("https".into()),
                host: Some("huggingface.co".into()),
                username: Some("bob".into()),
            }
        );
        // CRLF and a missing final blank line are fine too.
        let req = read_request(&b"protocol=https\r\nhost=hf.co\r\n"[..]).unwrap();
        assert_eq!(req.host.as_deref(), Some("hf.co"));
        assert!(read_request(&vec![b'a'; 70_000][..]).is_err());
    }

    #[test]
    fn known_hosts() {
        assert_eq!(
            rule_for("huggingface.co").unwrap().default_item,
            "huggingface"
        );
        assert_eq!(rule_for("HF.co:443").unwrap().default_item, "huggingface");
        assert_eq!(rule_for("github.com").unwrap().username, "x-access-token");
        assert!(rule_for("example.com").is_none());
        assert!(rule_for("huggingface.co.evil.com").is_none());
        assert!(rule_for("").is_none());
    }
}
