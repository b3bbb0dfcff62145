//! One file per subcommand, each `run(ctx, args) -> Result<Outcome>`.

pub mod agent_setup;
pub mod audit;
pub mod backend;
pub mod backup;
pub mod completions;
pub mod copy;
pub mod docker_credential;
pub mod doctor;
pub mod export;
pub mod get;
pub mod git_credential;
pub mod hook;
pub mod import;
pub mod inject;
pub mod keyring;
pub mod list;
pub mod man;
pub mod mcp;
pub mod passwd;
pub mod plugin;
pub mod profile;
pub mod receive;
pub mod rm;
pub mod rotate;
pub mod run;
pub mod scan;
pub mod set;
pub mod share;
pub mod show;
pub mod status;
pub mod ui;
pub mod unlock;
pub mod verify;
pub mod wrapper;

use anyhow::Result;
use tokenvault_core::Reference;

/// Parses a reference argument, with the forms in the error.
pub fn parse_ref(text: &str) -> Result<Reference> {
    Ok(Reference::parse(text)?)
}

/// Keeps "no command imports another command" (issue "One home per subsystem"): shared logic
/// lives in `services/` or a subsystem module, which commands — and later a web UI and an MCP
/// server — call.
///
/// The rule, on code with `//` comments removed:
/// - a file under `src/cmd/` never names `crate::cmd::` (nor `super::super::`);
/// - a command file (`src/cmd/X.rs`, `src/cmd/mcp/X.rs`) never reaches a sibling command through
///   `super::`: `super::NAME` (or `super::{…, NAME, …}`) where `NAME` is a module of the same
///   directory (`X.rs` or `X/`). Helpers defined or re-exported in the directory's own `mod.rs`
///   (`super::parse_ref`, `super::{client_filter, self_path}`) and a test module's `super::*` are
///   allowed; so is a `mod.rs` dispatching to its own submodules (`secure::run`);
/// - no file outside `src/cmd/` other than `main.rs` (the dispatcher) names `crate::cmd`.
#[cfg(test)]
mod layering {
    use std::path::{Path, PathBuf};

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    /// The file's code without `//` comments (doc comments included).
    fn code(path: &Path) -> String {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| l.find("//").map_or(l, |i| &l[..i]))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The module names a directory holds: `X` for `X.rs` (not `mod.rs`) and for a folder `X/`.
    fn modules_in(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| {
                let p = e.unwrap().path();
                let stem = p.file_stem()?.to_str()?.to_owned();
                (p.is_dir() || (p.extension().is_some_and(|x| x == "rs") && stem != "mod"))
                    .then_some(stem)
            })
            .collect()
    }

    /// The names `text` reaches through `super::`: `super::a::b` → `a`, `super::{a, b}` → `a`, `b`.
    fn super_names(text: &str) -> Vec<String> {
        let ident = |s: &str| -> String {
            s.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '*')
                .collect()
        };
        let mut out = Vec::new();
        for (i, _) in text.match_indices("super::") {
            let rest = &text[i + "super::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                out.extend(group.split(',').map(|n| ident(n.trim())));
            } else {
                out.push(ident(rest));
            }
        }
        out
    }

    #[test]
    fn no_command_imports_another_command() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let cmd = src.join("cmd");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut broken = Vec::new();
        for f in &files {
            let text = code(f);
            let shown = f.strip_prefix(&src).unwrap().display().to_string();
            if !f.starts_with(&cmd) {
                if shown != "main.rs" && text.contains(concat!("crate::", "cmd")) {
                    broken.push(format!(
                        "{shown}: uses crate::cmd (move the shared part to services/)"
                    ));
                }
                continue;
            }
            // Spelt in two halves so that this file does not match itself.
            if text.contains(concat!("crate::", "cmd::"))
                || text.contains(concat!("super::", "super::"))
            {
                broken.push(format!(
                    "{shown}: reaches another command through crate::cmd / super::super"
                ));
            }
            if f.file_name().is_some_and(|n| n == "mod.rs") {
                continue;
            }
            let siblings = modules_in(f.parent().unwrap());
            for name in super_names(&text) {
                if siblings.contains(&name) {
                    broken.push(format!("{shown}: uses super::{name}, another command"));
                }
            }
        }
        assert!(
            files.len() > 30,
            "read only {} files under {}",
            files.len(),
            src.display()
        );
        assert!(
            broken.is_empty(),
            "command modules importing each other:\n{}",
            broken.join("\n")
        );
    }

    #[test]
    fn the_checker_sees_what_it_must() {
        assert_eq!(super_names("super::verify::check(x)"), ["verify"]);
        assert_eq!(
            super_names("use super::{client_filter, list};"),
            ["client_filter", "list"]
        );
        assert_eq!(super_names("use super::*;"), ["*"]);
    }
}
