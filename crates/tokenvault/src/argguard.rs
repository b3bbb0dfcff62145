//! The command line is checked for secrets before anything parses it.
//!
//! tokenvault never takes a value on the command line, so an argument that looks like a token is a
//! value typed where a reference or a name belongs (`run -e HF_TOKEN=hf_…`, `get hf_…`,
//! `set HF_TOKEN=hf_…`). It is refused here, once, for every command, with a message that names what
//! it looks like and how to store it — and never the value: an MCP server's stderr is its client's
//! log file. Checking before clap also keeps the value out of clap's own usage errors.
//!
//! Every argument is checked, with one exception: what follows `--` in `run` is the user's own
//! command line, handed to the child untouched (we still never echo it). After `--` in `wrapper` and
//! `mcp add` the arguments are written into a script or a client's config, so they are checked too.

use crate::error::hinted;
use std::ffi::OsString;
use tokenvault_core::lookalike::{scrub, secret_lookalike};
use tokenvault_core::Catalogue;

/// Refuses `args` (argv without the program name) when an argument looks like a secret.
pub fn check(args: &[OsString], catalogue: &Catalogue) -> anyhow::Result<()> {
    let child_command_follows = first_positional(args) == Some("run");
    for (i, arg) in args.iter().enumerate() {
        let Some(text) = arg.to_str() else { continue };
        if text == "--" && child_command_follows {
            break;
        }
        if let Some(look) = secret_lookalike(text, catalogue) {
            let shown = scrub(text, catalogue);
            let shown = if shown == text {
                "<hidden>".to_owned()
            } else {
                shown.into_owned()
            };
            return Err(hinted(
                format!(
                    "argument {} ({shown}) looks like {}, not a reference or a name; values are never taken from the command line",
                    i + 1,
                    look.describe()
                ),
                format!(
                    "store it with `{}` (a hidden prompt, or --stdin from a pipe) and pass its reference instead; the value may now be in your shell history, so consider rotating it",
                    look.store_hint()
                ),
            ));
        }
    }
    Ok(())
}

/// The subcommand: the first argument that is not a global flag or a flag's value.
fn first_positional(args: &[OsString]) -> Option<&str> {
    // Up to the first argument that is not UTF-8: past it nothing is known.
    let words: Vec<&str> = args.iter().map_while(|a| a.to_str()).collect();
    crate::cli::subcommand_position(&words).map(|i| words[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    const HF: &str = "hf_Zq3xV9pL2mK7rT1wY8bN4cJ6aSdFgHjKlQ";

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    fn refused(a: &[&str]) -> Option<String> {
        check(&args(a), &Catalogue::builtin())
            .err()
            .map(|e| format!("{e:#} {}", crate::error::hint_of(&e).unwrap_or_default()))
    }

    #[test]
    fn a_token_in_a_reference_position_is_refused_without_echoing_it() {
        let pair = format!("HF_TOKEN={HF}");
        for a in [
            vec!["run", "-e", pair.as_str(), "--", "true"],
            vec!["get", HF],
            vec!["set", pair.as_str()],
            vec!["--backend", "file", "rm", HF],
            vec!["import", "env", HF],
            vec!["wrapper", "x", "-o", "w.sh", "--", "tool", "--token", HF],
        ] {
            let msg = refused(&a).unwrap_or_else(|| panic!("{a:?} accepted"));
            assert!(!msg.contains(HF), "{msg}");
            assert!(msg.contains("looks like a Hugging Face token"), "{msg}");
            assert!(msg.contains("tokenvault set huggingface`"), "{msg}");
            assert_eq!(msg.matches("looks like").count(), 1, "{msg}");
        }
    }

    #[test]
    fn run_passes_the_child_command_untouched_and_references_pass() {
        assert!(refused(&["run", "-e", "HF_TOKEN=huggingface", "--", "tool", HF]).is_none());
        assert!(refused(&["run", "-p", "hf", "--", "env"]).is_none());
        assert!(refused(&["get", "tv://huggingface/token"]).is_none());
        assert!(refused(&["scan", "/check/work/main/target/debug/tokenvault"]).is_none());
    }
}
