//! tokenvault-scan: finds leaked tokens, fast, without ever printing one.
//!
//! The crate is split the way ripgrep splits its searcher from its printer. [`rules`] compiles
//! detection rules from the provider catalogue (`rules/providers.toml`) and from the generic rule
//! file shipped here (`rules/generic.toml`); [`exact`] builds an in-memory matcher for the values a
//! caller holds (the vault's tokens and their encoded forms); [`engine`] runs both over bytes and
//! reports [`Finding`]s to a [`Sink`]. Those three modules are pure: no file, environment, process or
//! clock access (clippy's `disallowed-methods` enforces it). [`source`] is the only part that touches
//! the world — directory walks, git history, staged changes, stdin, a home directory's catalogued places — and [`report`] turns findings
//! into JSON and SARIF documents (data, not printing: the binary owns stdout).
#![forbid(unsafe_code)]

pub mod engine;
pub mod entropy;
pub mod exact;
#[doc(hidden)]
pub mod fuzzing;
pub mod report;
pub mod rules;
pub mod source;

pub use engine::{Finding, Origin, Scanner, Scratch, Sink};
pub use exact::{ExactMatcher, ExactValue};
pub use rules::{Rule, RuleError, RuleKind, RuleSet};
