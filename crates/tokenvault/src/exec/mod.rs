//! Starting other programs safely: this process's own hardening (no core dumps, not traceable,
//! undone for the child), the paths launchers and wrappers call tokenvault by, and `run --mask`,
//! which stays the parent and conceals the values in the child's output.

pub mod hardening;
pub mod launcher;
pub mod masked;
pub mod proxy;
