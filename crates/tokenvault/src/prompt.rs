//! Where the binary gets passphrases and values: environment, passphrase file, or a hidden prompt
//! on the controlling terminal. The store library never prompts; it calls [`PassphraseSource`].
//!
//! The passphrase variables are taken out of the process environment the moment `main` starts
//! ([`take_from_environment`]), before any thread or child exists: no child we start — `run`'s
//! command, `run --mask`'s child, git, a hook — can inherit the key to the whole vault, whatever code
//! path starts it. Everything that needs them reads the captured copy here.

use crate::envvars;
use anyhow::Context;
use std::ffi::OsString;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tokenvault_core::Secret;
use tokenvault_store::{fsutil, PassphraseSource, StoreError};

/// The passphrase settings found in the environment at start.
#[derive(Default)]
struct Captured {
    file: Option<PathBuf>,
    value: Option<Secret>,
}

static CAPTURED: OnceLock<Captured> = OnceLock::new();

/// Environment variables that grant access to the vault: never passed on to any child.
pub fn grants_vault_access(var: &str) -> bool {
    var.starts_with(envvars::TOKENVAULT_PASSPHRASE)
}

/// Moves `TOKENVAULT_PASSPHRASE`, `TOKENVAULT_PASSPHRASE_FILE` (and any other
/// `TOKENVAULT_PASSPHRASE*`) from the environment into this process's memory. Call once, first thing
/// in `main`, while the process has one thread (changing the environment is only sound then).
pub fn take_from_environment() {
    let mut captured = Captured::default();
    let vars: Vec<OsString> = std::env::vars_os()
        .map(|(k, _)| k)
        .filter(|k| k.to_str().is_some_and(grants_vault_access))
        .collect();
    for var in vars {
        if var == envvars::TOKENVAULT_PASSPHRASE_FILE {
            captured.file = std::env::var_os(&var).map(PathBuf::from);
        } else if var == envvars::TOKENVAULT_PASSPHRASE {
            captured.value = std::env::var_os(&var)
                .and_then(|v| v.into_string().ok())
                .map(Secret::new);
        }
        std::env::remove_var(&var);
    }
    let _ = CAPTURED.set(captured);
}

fn captured() -> &'static Captured {
    CAPTURED.get_or_init(Captured::default)
}

/// Whether `TOKENVAULT_PASSPHRASE` was set when we started.
pub fn passphrase_in_environment() -> bool {
    captured().value.is_some()
}

/// Whether a passphrase comes from the environment or a passphrase file, so opening the file vault
/// asks nobody.
pub fn passphrase_configured() -> bool {
    captured().value.is_some() || captured().file.is_some()
}

/// Passphrase from `TOKENVAULT_PASSPHRASE_FILE`, `TOKENVAULT_PASSPHRASE`, or the terminal.
pub struct CliPassphrase;

/// Passphrase from `TOKENVAULT_PASSPHRASE_FILE` or `TOKENVAULT_PASSPHRASE` only: never a prompt
/// (the web app, whose user unlocks a locked vault from the page).
pub struct ConfiguredPassphrase;

impl PassphraseSource for ConfiguredPassphrase {
    fn existing(&self, _vault: &Path) -> Result<Option<Secret>, StoreError> {
        CliPassphrase.configured()
    }

    fn new_passphrase(&self, _vault: &Path) -> Result<Option<Secret>, StoreError> {
        CliPassphrase.configured()
    }
}

impl CliPassphrase {
    fn configured(&self) -> Result<Option<Secret>, StoreError> {
        if let Some(file) = &captured().file {
            let path = file.as_path();
            let bytes = fsutil::read_private(path)?.ok_or_else(|| StoreError::Locked {
                what: "the file vault".into(),
                hint: format!(
                    "{} names {}, which does not exist",
                    envvars::TOKENVAULT_PASSPHRASE_FILE,
                    path.display()
                ),
            })?;
            let text = String::from_utf8(bytes).map_err(|_| StoreError::Backend {
                backend: "file",
                message: format!("passphrase file {} is not UTF-8", path.display()),
            })?;
            let line = text.lines().next().unwrap_or("").to_owned();
            let mut text = text;
            zeroize::Zeroize::zeroize(&mut text);
            return Ok(Some(Secret::new(line)));
        }
        if let Some(p) = &captured().value {
            return Ok(Some(p.clone()));
        }
        Ok(None)
    }
}

/// Whether a person can be asked: a terminal on stdin or stderr.
pub fn has_terminal() -> bool {
    std::io::stderr().is_terminal() || std::io::stdin().is_terminal()
}

/// Reads a hidden line from the controlling terminal; `None` when there is no terminal
/// (CI, a desktop client launching an MCP server).
pub fn hidden_prompt(prompt: &str) -> Option<Secret> {
    if !has_terminal() {
        return None;
    }
    rpassword::prompt_password(prompt).ok().map(Secret::new)
}

impl PassphraseSource for CliPassphrase {
    fn existing(&self, vault: &Path) -> Result<Option<Secret>, StoreError> {
        if let Some(p) = self.configured()? {
            return Ok(Some(p));
        }
        let prompt = format!("Passphrase for {}: ", vault.display());
        if has_terminal() {
            return Ok(hidden_prompt(&prompt));
        }
        // No terminal (an MCP server a desktop client started): a graphical prompt, if any.
        askpass(&prompt)
    }

    fn new_passphrase(&self, vault: &Path) -> Result<Option<Secret>, StoreError> {
        if let Some(p) = self.configured()? {
            check_strength(&p, false)?;
            return Ok(Some(p));
        }
        if !has_terminal() {
            return Ok(None);
        }
        // The prompt itself goes to the terminal, like rpassword's; this is part of it.
        eprintln!(
            "Creating the encrypted vault {}.\nChoose a passphrase; it cannot be recovered if you forget it.",
            vault.display()
        );
        let Some(first) = hidden_prompt("New passphrase: ") else {
            return Ok(None);
        };
        if first.is_empty() {
            return Err(StoreError::EmptyPassphrase);
        }
        let Some(second) = hidden_prompt("Repeat passphrase: ") else {
            return Ok(None);
        };
        if first != second {
            return Err(StoreError::Backend {
                backend: "file",
                message: "the two passphrases did not match; nothing was created".into(),
            });
        }
        check_strength(&first, false)?;
        Ok(Some(first))
    }
}

/// Asks for a passphrase without a terminal: `TOKENVAULT_ASKPASS` (a program, like
/// `SSH_ASKPASS`), else, in a graphical session, the first of zenity, kdialog, pinentry (macOS:
/// osascript) that is installed. `None` when there is none, or the person cancelled.
fn askpass(prompt: &str) -> Result<Option<Secret>, StoreError> {
    if let Some(program) = envvars::get(envvars::TOKENVAULT_ASKPASS) {
        return run_askpass(&program, &[prompt], None);
    }
    let graphical = cfg!(target_os = "macos")
        || envvars::get(envvars::DISPLAY).is_some()
        || envvars::get(envvars::WAYLAND_DISPLAY).is_some();
    if !graphical {
        return Ok(None);
    }
    let title = "tokenvault";
    if cfg!(target_os = "macos") {
        let script = format!(
            "text returned of (display dialog {} with title \"{title}\" default answer \"\" with hidden answer)",
            applescript_string(prompt)
        );
        return run_askpass("osascript", &["-e", &script], None);
    }
    let candidates: [(&str, Vec<&str>); 2] = [
        ("zenity", vec!["--password", "--title", title]),
        ("kdialog", vec!["--title", title, "--password", prompt]),
    ];
    for (program, args) in &candidates {
        if crate::exec::launcher::find_on_path(program).is_some() {
            return run_askpass(program, args, None);
        }
    }
    if crate::exec::launcher::find_on_path("pinentry").is_some() {
        // The Assuan protocol: set the texts, ask, read `D <pin>`.
        let script = format!(
            "SETTITLE {title}\nSETDESC {}\nSETPROMPT Passphrase:\nGETPIN\nBYE\n",
            prompt.replace('%', "%25").replace('\n', "%0A")
        );
        return run_askpass("pinentry", &[], Some(&script));
    }
    Ok(None)
}

fn applescript_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Runs an askpass program and takes the first line of its stdout (for pinentry, fed `input`, the
/// `D` line). A failed or cancelled program gives `None`; its stderr goes to ours.
fn run_askpass(
    program: &str,
    args: &[&str],
    input: Option<&str>,
) -> Result<Option<Secret>, StoreError> {
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};
    let failed = |e: std::io::Error| StoreError::Backend {
        backend: "file",
        message: format!("could not run the passphrase prompt {program}: {e}"),
    };
    let mut child = Command::new(program)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(failed)?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        // A prompt that exits early closes its stdin: that shows in its exit status.
        let _ = stdin.write_all(text.as_bytes());
    }
    let mut out = zeroize::Zeroizing::new(Vec::new());
    if let Some(mut stdout) = child.stdout.take() {
        stdout.read_to_end(&mut out).map_err(failed)?;
    }
    let status = child.wait().map_err(failed)?;
    if !status.success() {
        return Ok(None);
    }
    let text = String::from_utf8_lossy(&out);
    let line = if input.is_some() {
        // pinentry: `D <percent-escaped pin>`; `ERR …` when cancelled.
        match text.lines().find_map(|l| l.strip_prefix("D ")) {
            Some(pin) => pin
                .replace("%25", "%")
                .replace("%0A", "\n")
                .replace("%0D", "\r"),
            None => return Ok(None),
        }
    } else {
        text.lines().next().unwrap_or("").to_owned()
    };
    if line.is_empty() {
        return Ok(None);
    }
    Ok(Some(Secret::new(line)))
}

/// Refuses a weak new passphrase (see `tokenvault_core::passphrase`) unless `allow_weak` or
/// `TOKENVAULT_ALLOW_WEAK_PASSPHRASE=1` says to take it anyway.
pub fn check_strength(passphrase: &Secret, allow_weak: bool) -> Result<(), StoreError> {
    if passphrase.is_empty() {
        return Err(StoreError::EmptyPassphrase);
    }
    let allowed = allow_weak
        || std::env::var(envvars::TOKENVAULT_ALLOW_WEAK_PASSPHRASE).is_ok_and(|v| v == "1");
    match tokenvault_core::passphrase::weakness(passphrase.expose_secret()) {
        Some(why) if !allowed => Err(StoreError::WeakPassphrase { why }),
        _ => Ok(()),
    }
}

/// One line of standard input as a passphrase (`unlock --stdin`); an empty one is refused.
pub fn read_passphrase_line() -> anyhow::Result<Secret> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| anyhow::anyhow!("reading the passphrase from standard input: {e}"))?;
    let passphrase = Secret::from_input(line);
    if passphrase.is_empty() {
        return Err(crate::error::hinted(
            "no passphrase on standard input",
            "pipe one line holding the passphrase, e.g. `pass show tokenvault | tokenvault unlock --stdin`",
        ));
    }
    Ok(passphrase)
}

/// A new passphrase for `passwd`: one line from stdin with `from_stdin`, else typed twice on the
/// terminal. Checked for strength.
pub fn read_new_passphrase(from_stdin: bool, allow_weak: bool) -> anyhow::Result<Secret> {
    let new = if from_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Secret::from_input(line)
    } else {
        if !has_terminal() {
            return Err(crate::error::hinted(
                "no terminal to type the new passphrase on",
                "pipe it in with --stdin (one line), e.g. from a password manager",
            ));
        }
        let empty = || Secret::new(String::new());
        let first = hidden_prompt("New passphrase: ").unwrap_or_else(empty);
        let second = hidden_prompt("Repeat new passphrase: ").unwrap_or_else(empty);
        if first != second {
            return Err(crate::error::hinted(
                "the two passphrases did not match; nothing was changed",
                "run `tokenvault passwd` again",
            ));
        }
        first
    };
    check_strength(&new, allow_weak)?;
    Ok(new)
}

/// More than any token; stops a mistaken `set --stdin < big.iso`.
const MAX_VALUE: u64 = 1 << 20;

/// The value for `shown`: from stdin with `--stdin`, else a hidden prompt (`command` names the
/// subcommand in the advice for a missing terminal).
pub fn read_value(command: &str, from_stdin: bool, shown: &str) -> anyhow::Result<Secret> {
    if from_stdin {
        let mut buf = String::new();
        std::io::stdin()
            .lock()
            .take(MAX_VALUE + 1)
            .read_to_string(&mut buf)
            .context("reading the value from standard input (it must be UTF-8 text)")?;
        if buf.len() as u64 > MAX_VALUE {
            zeroize::Zeroize::zeroize(&mut buf);
            return Err(crate::error::hinted(
                "the value on standard input is larger than 1 MiB",
                "pipe only the token",
            ));
        }
        return Ok(Secret::from_input(buf));
    }
    if !std::io::stdin().is_terminal() {
        return Err(crate::error::hinted(
            "no terminal to ask for the value on",
            format!("pipe it instead: `printf %s \"$TOKEN\" | tokenvault {command} {shown} --stdin` (values are never taken from the command line)"),
        ));
    }
    hidden_prompt(&format!("Value for {shown} (input hidden): "))
        .map(|s| Secret::from_input(s.expose_secret().to_owned()))
        .ok_or_else(|| crate::error::hinted("could not read from the terminal", "use --stdin"))
}
