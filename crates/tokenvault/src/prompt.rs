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
    session: Option<Secret>,
}

static CAPTURED: OnceLock<Captured> = OnceLock::new();

/// Environment variables that grant access to the vault: never passed on to any child.
pub fn grants_vault_access(var: &str) -> bool {
    var.starts_with(envvars::TOKENVAULT_PASSPHRASE) || var == envvars::TOKENVAULT_SESSION
}

/// Moves `TOKENVAULT_PASSPHRASE`, `TOKENVAULT_PASSPHRASE_FILE` (and any other
/// `TOKENVAULT_PASSPHRASE*`) and `TOKENVAULT_SESSION` from the environment into this process's memory. Call once, first thing
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
        } else if var == envvars::TOKENVAULT_SESSION {
            captured.session = std::env::var_os(&var)
                .and_then(|v| v.into_string().ok())
                .filter(|v| !v.is_empty())
                .map(Secret::new);
        }
        std::env::remove_var(&var);
    }
    let _ = CAPTURED.set(captured);
}

fn captured() -> &'static Captured {
    CAPTURED.get_or_init(Captured::default)
}

/// The `TOKENVAULT_SESSION` value found at start (`unlock --session`).
pub fn session_value() -> Option<&'static Secret> {
    captured().session.as_ref()
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

/// What the human said when asked out of band (not through the caller's stdin/stdout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    Yes,
    No,
    /// Nobody could be asked: no `TOKENVAULT_ASKPASS`, no desktop dialog, no terminal.
    NoChannel,
}

/// Asks the human a yes/no `question` outside the caller's stdio: `TOKENVAULT_ASKPASS` (run with
/// the question and `SSH_ASKPASS_PROMPT=confirm`, like ssh's confirmation: exit 0 is yes), else a
/// desktop dialog (zenity, kdialog, osascript), else the controlling terminal (`/dev/tty`).
pub fn confirm_out_of_band(question: &str) -> Asked {
    match confirm_desktop(question) {
        Asked::NoChannel => tty_confirm(question),
        asked => asked,
    }
}

/// [`confirm_out_of_band`] without the terminal: for `mcp serve`, whose client (a TUI agent) may
/// own the terminal.
pub fn confirm_desktop(question: &str) -> Asked {
    use std::process::{Command, Stdio};
    let status_of = |mut c: Command| -> Option<bool> {
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .status()
            .ok()
            .map(|s| s.success())
    };
    if let Some(program) = envvars::get(envvars::TOKENVAULT_ASKPASS) {
        let mut c = Command::new(program);
        c.arg(question).env("SSH_ASKPASS_PROMPT", "confirm");
        return match status_of(c) {
            Some(true) => Asked::Yes,
            Some(false) => Asked::No,
            None => Asked::NoChannel,
        };
    }
    let graphical = cfg!(target_os = "macos")
        || envvars::get(envvars::DISPLAY).is_some()
        || envvars::get(envvars::WAYLAND_DISPLAY).is_some();
    if graphical {
        let dialog = if cfg!(target_os = "macos") {
            let mut c = Command::new("osascript");
            c.args([
                "-e",
                &format!(
                    "display dialog {} with title \"tokenvault\" buttons {{\"Deny\", \"Allow\"}} default button \"Deny\" cancel button \"Deny\"",
                    applescript_string(question)
                ),
            ]);
            Some(c)
        } else if crate::exec::launcher::find_on_path("zenity").is_some() {
            let mut c = Command::new("zenity");
            c.args([
                "--question",
                "--title",
                "tokenvault",
                "--no-markup",
                "--text",
                question,
            ]);
            Some(c)
        } else if crate::exec::launcher::find_on_path("kdialog").is_some() {
            let mut c = Command::new("kdialog");
            c.args(["--title", "tokenvault", "--yesno", question]);
            Some(c)
        } else {
            None
        };
        if let Some(c) = dialog {
            match status_of(c) {
                Some(true) => return Asked::Yes,
                Some(false) => return Asked::No,
                None => {}
            }
        }
    }
    Asked::NoChannel
}

/// The question on the controlling terminal, answered with `y`/`yes`.
#[cfg(unix)]
fn tty_confirm(question: &str) -> Asked {
    use std::io::{BufRead, Write};
    let Ok(tty) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
    else {
        return Asked::NoChannel;
    };
    let mut writer = &tty;
    // The question goes to the terminal itself, like a passphrase prompt: not to our stdout.
    if writer
        .write_all(format!("{question} [y/N] ").as_bytes())
        .is_err()
    {
        return Asked::NoChannel;
    }
    let mut line = String::new();
    match std::io::BufReader::new(&tty).read_line(&mut line) {
        Ok(0) | Err(_) => Asked::NoChannel,
        Ok(_) => {
            if matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
                Asked::Yes
            } else {
                Asked::No
            }
        }
    }
}

#[cfg(not(unix))]
fn tty_confirm(_question: &str) -> Asked {
    Asked::NoChannel
}

/// The agent-caller rule: when `get`, `export`, `inject` or `show --reveal` runs in the shell of an
/// AI agent (Claude Code, Cursor, Codex: see `tokenvault_core::agent`), the value would land in the
/// agent's context, so the human is asked first, out of band. No human to ask: refused.
pub fn confirm_agent_caller(command: &str, what: &str) -> anyhow::Result<()> {
    let Some(caller) = tokenvault_core::agent::agent_caller(envvars::get) else {
        return Ok(());
    };
    let question = format!(
        "{} is running `tokenvault {command}` for {what}: the value would be shown to the agent. Allow it this once?",
        caller.agent
    );
    match confirm_out_of_band(&question) {
        Asked::Yes => Ok(()),
        Asked::No => Err(crate::error::hinted(
            format!(
                "refused: `tokenvault {command}` was called by {} ({} is set) and the human said no",
                caller.agent, caller.variable
            ),
            "let the agent use the `tokenvault mcp serve` tools (run_with_credentials) instead: they never show it a value (see docs/agents.md)",
        )),
        Asked::NoChannel => Err(crate::error::hinted(
            format!(
                "refused: `tokenvault {command}` was called by {} ({} is set), which would put the value in the agent's context, and no human could be asked (no {}, no desktop dialog, no terminal)",
                caller.agent,
                caller.variable,
                envvars::TOKENVAULT_ASKPASS
            ),
            "let the agent use the `tokenvault mcp serve` tools instead (docs/agents.md), or run the command yourself outside the agent",
        )),
    }
}

/// Asks the human for a value out of band (`request_credential` without URL elicitation): the
/// same programs as the passphrase prompt (`TOKENVAULT_ASKPASS`, zenity, kdialog, osascript).
/// `None`: nobody could be asked, or they cancelled.
pub fn ask_value_out_of_band(prompt: &str) -> anyhow::Result<Option<Secret>> {
    Ok(askpass(prompt)?)
}
