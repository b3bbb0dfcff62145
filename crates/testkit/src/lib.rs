//! tokenvault-testkit: real components for tokenvault's tests, started and torn down per test.
//!
//! SPEC §10 asks for tests against the real thing rather than mocks: [`KeyringSession`] starts a
//! private D-Bus session bus with a real, unlocked `gnome-keyring-daemon` behind it (or without one,
//! for the "no Secret Service" path), fully separate from every other session so tests can run in
//! parallel. [`child`] re-runs one test in a fresh process with a chosen environment, for code that
//! reads process-global state (libdbus picks its session bus from the environment once per process).
//!
//! This crate is a dev-dependency only (`publish = false`); it may panic, and its errors are
//! strings meant for a failing test's output.

#[cfg(unix)]
pub mod child;
#[cfg(unix)]
mod keyring;
#[cfg(unix)]
pub mod openbao;
#[cfg(unix)]
mod process;

#[cfg(unix)]
pub use keyring::KeyringSession;
#[cfg(unix)]
pub use process::run_with_timeout;
