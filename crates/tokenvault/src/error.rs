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
