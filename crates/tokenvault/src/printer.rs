//! The only place that writes to stdout and stderr.
//!
//! Data goes to stdout (and only data: scripts and MCP stdio servers read it); messages go to stderr
//! as `error:`, `warning:`, `hint:` or plain notes. `--quiet` silences notes, never errors.
//! Colour (`--color auto`) only where the stream is a terminal, never with `NO_COLOR` or
//! `--no-color`; `--color always` colours pipes too, `--color never` nothing. Labels on stderr are
//! coloured, and the ok/warn/fail words of `doctor` and `status` on stdout ([`Printer::paint`]).
//! A closed stdout (`| head`) is not an error: the printer reports it and `main` exits quietly.

use crate::cli::ColorWhen;
use std::io::{self, IsTerminal, Write};
use tokenvault_core::lookalike::scrub;
use tokenvault_core::Catalogue;

#[derive(Debug, Clone)]
pub struct Printer {
    quiet: bool,
    /// Colour on stderr (message labels).
    color: bool,
    /// Colour on stdout (status words of `doctor` and `status`).
    color_out: bool,
}

/// What a status word says, for its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Good,
    Info,
    Warn,
    Bad,
}

/// Returned when stdout is a closed pipe; `main` turns it into a quiet exit.
#[derive(Debug, thiserror::Error)]
#[error("stdout closed")]
pub struct BrokenPipe;

impl Printer {
    pub fn new(quiet: bool, when: ColorWhen) -> Self {
        // An empty NO_COLOR does not count (https://no-color.org).
        let no_color_env =
            std::env::var_os(crate::envvars::NO_COLOR).is_some_and(|v| !v.is_empty());
        let on = |terminal: bool| match when {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => terminal && !no_color_env,
        };
        Printer {
            quiet,
            color: on(io::stderr().is_terminal()),
            color_out: on(io::stdout().is_terminal()),
        }
    }

    /// `text` for stdout, coloured by `tone` when stdout gets colour.
    pub fn paint(&self, text: &str, tone: Tone) -> String {
        if !self.color_out {
            return text.to_owned();
        }
        let code = match tone {
            Tone::Good => "32",
            Tone::Info => "36",
            Tone::Warn => "33",
            Tone::Bad => "1;31",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    pub fn stdout_is_terminal(&self) -> bool {
        io::stdout().is_terminal()
    }

    /// Writes data to stdout.
    pub fn data(&self, text: &str) -> anyhow::Result<()> {
        let mut out = io::stdout().lock();
        match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(BrokenPipe.into()),
            Err(e) => Err(anyhow::Error::new(e).context("writing to stdout")),
        }
    }

    /// Writes one line of data to stdout.
    pub fn line(&self, text: &str) -> anyhow::Result<()> {
        self.data(&format!("{text}\n"))
    }

    /// Pretty JSON on stdout.
    pub fn json(&self, value: &serde_json::Value) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(value)?;
        self.line(&text)
    }

    /// Every message goes through here: any word in it that looks like a secret (a provider's
    /// token format, or a long random-looking string) is replaced before it is written, whatever
    /// path the text took to get here.
    fn message(&self, label: &str, code: &str, text: &str) {
        let text = &*scrub(text, Catalogue::builtin_shared());
        let mut err = io::stderr().lock();
        let _ = if label.is_empty() {
            writeln!(err, "{text}")
        } else if self.color {
            writeln!(err, "\x1b[{code}m{label}:\x1b[0m {text}")
        } else {
            writeln!(err, "{label}: {text}")
        };
    }

    /// A command-line error from clap, with any secret-looking word hidden; `--help` and
    /// `--version` go to stdout as clap prints them.
    pub fn clap_error(&self, e: &clap::Error) -> std::process::ExitCode {
        use clap::error::ErrorKind;
        if matches!(
            e.kind(),
            ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        ) {
            let _ = e.print();
            let code = if e.use_stderr() { 2 } else { 0 };
            return std::process::ExitCode::from(code);
        }
        let text = e.render().to_string();
        let text = scrub(&text, Catalogue::builtin_shared());
        let _ = io::stderr().lock().write_all(text.as_bytes());
        std::process::ExitCode::from(2)
    }

    pub fn error(&self, text: &str) {
        self.message("error", "1;31", text);
    }

    pub fn warning(&self, text: &str) {
        if !self.quiet {
            self.message("warning", "1;33", text);
        }
    }

    pub fn hint(&self, text: &str) {
        if !self.quiet {
            self.message("hint", "1;36", text);
        }
    }

    /// A line on stderr written as is, not scrubbed: only for text tokenvault built itself that
    /// holds no value from the vault or a server, and that the user must be able to copy whole —
    /// the OAuth authorization address of `mcp login` (its PKCE challenge and `state` are public
    /// but look random, so the scrub would hide them). Shown even with --quiet: without it the
    /// login cannot finish.
    pub fn address(&self, label: &str, url: &str) {
        let _ = writeln!(io::stderr().lock(), "{label} {url}");
    }

    /// A plain message on stderr (progress, confirmations).
    pub fn note(&self, text: &str) {
        if !self.quiet {
            self.message("", "", text);
        }
    }
}

/// A panic prints where it happened and its message, with any secret-looking word hidden, and
/// asks for a report (the default hook would print the raw message).
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let text = scrub(&payload, Catalogue::builtin_shared());
        let _ = writeln!(
            io::stderr().lock(),
            "error: tokenvault crashed{at}: {text}\nhint: this is a bug; please report it"
        );
    }));
}
