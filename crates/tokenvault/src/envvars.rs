//! Every environment variable tokenvault reads, in one place, each documented (uv's rule).
//! `docs/environment.md` and the README list the same names; a test keeps them in step.

/// One directory for config, index, vault and audit log; overrides the platform directories.
pub const TOKENVAULT_HOME: &str = "TOKENVAULT_HOME";
/// `keychain`, `file` or `memory`: overrides the remembered backend for one invocation.
pub const TOKENVAULT_BACKEND: &str = "TOKENVAULT_BACKEND";
/// The file vault's passphrase (non-interactive use; prefer the file variant, or `unlock`).
pub const TOKENVAULT_PASSPHRASE: &str = "TOKENVAULT_PASSPHRASE";
/// A file (mode 0600) whose first line is the file vault's passphrase.
pub const TOKENVAULT_PASSPHRASE_FILE: &str = "TOKENVAULT_PASSPHRASE_FILE";
/// scrypt work factor (log2 N) for a NEW file vault; default 18. Lower only for tests or slow devices.
pub const TOKENVAULT_SCRYPT_LOG_N: &str = "TOKENVAULT_SCRYPT_LOG_N";
/// Disables colour (https://no-color.org).
pub const NO_COLOR: &str = "NO_COLOR";
/// Tokens that, when set, shadow the vault for programs that read them.
pub const HF_TOKEN: &str = "HF_TOKEN";
pub const HUGGING_FACE_HUB_TOKEN: &str = "HUGGING_FACE_HUB_TOKEN";
/// Used to find the Secret Service (without it, `$XDG_RUNTIME_DIR/bus` is tried).
pub const DBUS_SESSION_BUS_ADDRESS: &str = "DBUS_SESSION_BUS_ADDRESS";
pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
pub const XDG_DATA_HOME: &str = "XDG_DATA_HOME";

/// All documented variables, for `doctor` and the docs test.
pub const ALL: &[&str] = &[
    TOKENVAULT_HOME,
    TOKENVAULT_BACKEND,
    TOKENVAULT_PASSPHRASE,
    TOKENVAULT_PASSPHRASE_FILE,
    TOKENVAULT_SCRYPT_LOG_N,
    NO_COLOR,
    HF_TOKEN,
    HUGGING_FACE_HUB_TOKEN,
];

#[cfg(test)]
mod tests {
    /// Every variable we read is documented in the README.
    #[test]
    fn readme_documents_every_variable() {
        let readme = include_str!("../../../README.md");
        for var in super::ALL.iter().chain([&super::DBUS_SESSION_BUS_ADDRESS]) {
            assert!(readme.contains(&format!("`{var}`")), "README does not document {var}");
        }
    }
}

/// A variable's value when set and non-empty.
pub fn get(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}
