//! Errors as the user sees them: one `error:` line saying what failed and why, and an optional
//! `hint:` line saying what to do next. Never a value.

use tokenvault_store::StoreError;

/// An error with a next step, raised by commands.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Hinted {
    pub message: String,
    pub hint: String,
}

pub fn hinted(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    Hinted {
        message: message.into(),
        hint: hint.into(),
    }
    .into()
}

/// An error with a next step and an exit code of its own instead of 2: `run` exits 127 when the
/// command is not found and 126 when it cannot be executed, as shells do, so a script can tell
/// "tokenvault failed" from "the program is missing".
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Coded {
    pub code: u8,
    pub message: String,
    pub hint: String,
}

/// The exit code of an error: a [`Coded`] one's own, else 2.
pub fn code_of(e: &anyhow::Error) -> u8 {
    e.chain()
        .find_map(|cause| cause.downcast_ref::<Coded>().map(|c| c.code))
        .unwrap_or(2)
}

/// Why a child command could not be started (`run`, `run --mask`), naming the program: exit 127
/// when it does not exist, 126 when it exists but cannot be executed.
pub fn start_failure(program: &str, err: &std::io::Error) -> anyhow::Error {
    let (code, why, hint) = match err.kind() {
        std::io::ErrorKind::NotFound => (
            127,
            "command not found".to_owned(),
            "check the command name and PATH; desktop clients start servers with a minimal PATH, so use an absolute path",
        ),
        std::io::ErrorKind::PermissionDenied => (
            126,
            "permission denied (not an executable file)".to_owned(),
            "check that it is a file with execute permission (chmod +x), not a directory",
        ),
        _ => (126, err.to_string(), "check the command and its arguments"),
    };
    Coded {
        code,
        message: format!("cannot run '{program}': {why}"),
        hint: hint.to_owned(),
    }
    .into()
}

/// The hint for an error: from a [`Hinted`], a [`Coded`] or a [`StoreError`] anywhere in its chain.
pub fn hint_of(e: &anyhow::Error) -> Option<String> {
    e.chain().find_map(|cause| {
        if let Some(h) = cause.downcast_ref::<Hinted>() {
            return Some(h.hint.clone());
        }
        if let Some(c) = cause.downcast_ref::<Coded>() {
            return Some(c.hint.clone());
        }
        cause
            .downcast_ref::<StoreError>()
            .and_then(StoreError::hint)
    })
}

/// The error's message, each cause once: a cause whose text an earlier one already contains
/// (an error type that prints its source as part of its own message) is not repeated.
pub fn message_of(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || parts.iter().any(|p| p.contains(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_in_the_message_is_said_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("inner problem")]
        struct Inner;
        #[derive(Debug, thiserror::Error)]
        #[error("outer: {0}")]
        struct Outer(#[source] Inner);
        let e = anyhow::Error::new(Outer(Inner)).context("running the command");
        assert_eq!(message_of(&e), "running the command: outer: inner problem");
    }
}
