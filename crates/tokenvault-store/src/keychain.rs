//! PLACEHOLDER: the OS keychain backend.
