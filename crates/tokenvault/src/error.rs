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

/// The hint for an error: from a [`Hinted`] or a [`StoreError`] anywhere in its chain.
pub fn hint_of(e: &anyhow::Error) -> Option<String> {
    e.chain().find_map(|cause| {
        if let Some(h) = cause.downcast_ref::<Hinted>() {
            return Some(h.hint.clone());
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
