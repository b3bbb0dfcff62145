//! Every environment variable tokenvault reads, in one place, each documented (uv's rule).
//! The README's "Environment variables" table lists the same names; a test keeps them in step.

/// One directory for config, index, vault and audit log; overrides the platform directories.
pub const TOKENVAULT_HOME: &str = "TOKENVAULT_HOME";
/// `keychain`, `file` or `memory`: overrides the remembered backend for one invocation.
pub const TOKENVAULT_BACKEND: &str = "TOKENVAULT_BACKEND";
/// The file vault's passphrase (non-interactive use; prefer the file variant, or `unlock`).
pub const TOKENVAULT_PASSPHRASE: &str = "TOKENVAULT_PASSPHRASE";
/// A file (mode 0600) whose first line is the file vault's passphrase.
pub const TOKENVAULT_PASSPHRASE_FILE: &str = "TOKENVAULT_PASSPHRASE_FILE";
/// A session `tokenvault unlock --session` printed: the key cached for one CI job or shell, where
/// the kernel keyring is blocked (containers) or should not be shared. Never passed to a child.
pub const TOKENVAULT_SESSION: &str = "TOKENVAULT_SESSION";
/// scrypt work factor (log2 N) for a NEW file vault; default 18. Lower only for tests or slow devices.
pub const TOKENVAULT_SCRYPT_LOG_N: &str = "TOKENVAULT_SCRYPT_LOG_N";
/// `1`: accept a weak passphrase for a new vault (a throwaway one).
pub const TOKENVAULT_ALLOW_WEAK_PASSPHRASE: &str = "TOKENVAULT_ALLOW_WEAK_PASSPHRASE";
/// A program that asks for the file vault's passphrase when there is no terminal (like
/// `SSH_ASKPASS`): called with the prompt as its argument, it prints the passphrase on stdout.
pub const TOKENVAULT_ASKPASS: &str = "TOKENVAULT_ASKPASS";
/// A graphical session, where zenity/kdialog/pinentry can ask for the passphrase without a terminal.
pub const DISPLAY: &str = "DISPLAY";
pub const WAYLAND_DISPLAY: &str = "WAYLAND_DISPLAY";
/// Disables colour (https://no-color.org); `--color always` still colours.
pub const NO_COLOR: &str = "NO_COLOR";
/// Set by the completion scripts of `tokenvault completions SHELL` (to the shell's name) when
/// they call the binary back for candidates; never set it yourself.
pub const TOKENVAULT_COMPLETE: &str = "TOKENVAULT_COMPLETE";
/// Tokens that, when set, shadow the vault for programs that read them.
pub const HF_TOKEN: &str = "HF_TOKEN";
pub const HUGGING_FACE_HUB_TOKEN: &str = "HUGGING_FACE_HUB_TOKEN";
/// The Hugging Face API base for live checks (default `https://huggingface.co`); tests point it at 127.0.0.1.
pub const HF_ENDPOINT: &str = "HF_ENDPOINT";
/// API bases of the other live checks, named as the providers' own SDKs and tools name them where
/// they have such a variable (GitHub Actions, the openai and anthropic SDKs, the AWS SDKs). The
/// checks read them through `Check::base_env` (tokenvault-core); a test keeps both lists in step.
#[allow(dead_code)]
pub const GITHUB_API_URL: &str = "GITHUB_API_URL";
#[allow(dead_code)]
pub const OPENAI_BASE_URL: &str = "OPENAI_BASE_URL";
#[allow(dead_code)]
pub const ANTHROPIC_BASE_URL: &str = "ANTHROPIC_BASE_URL";
#[allow(dead_code)]
pub const TOKENVAULT_GOOGLE_API_URL: &str = "TOKENVAULT_GOOGLE_API_URL";
#[allow(dead_code)]
pub const TOKENVAULT_SLACK_API_URL: &str = "TOKENVAULT_SLACK_API_URL";
#[allow(dead_code)]
pub const TOKENVAULT_STRIPE_API_URL: &str = "TOKENVAULT_STRIPE_API_URL";
/// STS endpoint: the service-specific variable first, then the general one (the AWS SDKs' order);
/// default `https://sts.{region}.amazonaws.com`.
#[allow(dead_code)]
pub const AWS_ENDPOINT_URL_STS: &str = "AWS_ENDPOINT_URL_STS";
#[allow(dead_code)]
pub const AWS_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
/// Total time limit of one live check in seconds (default 15; connecting is limited to 5). Read
/// by the HTTP client in `tokenvault-verify`; named here so that it is documented with the rest.
#[allow(dead_code)]
pub const TOKENVAULT_HTTP_TIMEOUT: &str = tokenvault_verify::http::TIMEOUT_VAR;
/// Proxies for live checks. The HTTP client (ureq) reads them itself, with `ALL_PROXY` and the
/// lower-case forms; they are named here so that they are documented with the rest.
#[allow(dead_code)]
pub const HTTPS_PROXY: &str = "HTTPS_PROXY";
#[allow(dead_code)]
pub const HTTP_PROXY: &str = "HTTP_PROXY";
#[allow(dead_code)]
pub const NO_PROXY: &str = "NO_PROXY";
/// Where `import huggingface` finds the Hub's token file, as `huggingface_hub` does:
/// `$HF_TOKEN_PATH`, else `$HF_HOME/token`, else `${XDG_CACHE_HOME:-$HOME/.cache}/huggingface/token`.
pub const HF_TOKEN_PATH: &str = "HF_TOKEN_PATH";
pub const HF_HOME: &str = "HF_HOME";
pub const XDG_CACHE_HOME: &str = "XDG_CACHE_HOME";
pub const HOME: &str = "HOME";
/// Used to find the Secret Service (without it, `$XDG_RUNTIME_DIR/bus` is tried).
pub const DBUS_SESSION_BUS_ADDRESS: &str = "DBUS_SESSION_BUS_ADDRESS";
pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
/// Windows: the home directory when `HOME` is unset.
pub const USERPROFILE: &str = "USERPROFILE";
/// Windows: where Claude Desktop, VS Code and Zed keep their configs (`%APPDATA%`).
pub const APPDATA: &str = "APPDATA";
/// Windows: where the Store build of Claude Desktop keeps its config (`%LOCALAPPDATA%\Packages`).
pub const LOCALAPPDATA: &str = "LOCALAPPDATA";
/// Codex CLI's home (default `~/.codex`): `mcp` reads `$CODEX_HOME/config.toml`.
pub const CODEX_HOME: &str = "CODEX_HOME";
pub const XDG_DATA_HOME: &str = "XDG_DATA_HOME";
/// The OpenBao backend's server (`BAO_*` first, then the `VAULT_*` names HashiCorp Vault uses).
pub const BAO_ADDR: &str = "BAO_ADDR";
pub const VAULT_ADDR: &str = "VAULT_ADDR";
/// The OpenBao namespace (Enterprise/OpenBao namespaces), sent as `X-Vault-Namespace`.
pub const BAO_NAMESPACE: &str = "BAO_NAMESPACE";
pub const VAULT_NAMESPACE: &str = "VAULT_NAMESPACE";
/// A PEM file of the CA certificates to trust for the OpenBao server.
pub const BAO_CACERT: &str = "BAO_CACERT";
/// `run --proxy`: a PEM file of CA certificates the proxy trusts upstream, besides the web roots.
pub const TOKENVAULT_PROXY_CA_FILE: &str = "TOKENVAULT_PROXY_CA_FILE";
pub const VAULT_CACERT: &str = "VAULT_CACERT";

/// The browser `mcp login` opens (Debian's convention: programs separated by ':', `%s` for the
/// address); else xdg-open (open on macOS).
pub const BROWSER: &str = "BROWSER";

/// Where `mcp-remote` keeps its OAuth files instead of `~/.mcp-auth` (read by `mcp secure`).
pub const MCP_REMOTE_CONFIG_DIR: &str = "MCP_REMOTE_CONFIG_DIR";

/// A variable's value when set and non-empty.
pub fn get(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// All documented variables, for `doctor` and the docs test.
// Only the docs test reads it so far.
#[cfg_attr(not(test), allow(dead_code))]
pub const ALL: &[&str] = &[
    TOKENVAULT_HOME,
    TOKENVAULT_BACKEND,
    TOKENVAULT_PASSPHRASE,
    TOKENVAULT_PASSPHRASE_FILE,
    TOKENVAULT_SESSION,
    TOKENVAULT_SCRYPT_LOG_N,
    TOKENVAULT_ALLOW_WEAK_PASSPHRASE,
    TOKENVAULT_ASKPASS,
    DISPLAY,
    WAYLAND_DISPLAY,
    NO_COLOR,
    HF_TOKEN,
    HUGGING_FACE_HUB_TOKEN,
    HF_ENDPOINT,
    GITHUB_API_URL,
    OPENAI_BASE_URL,
    ANTHROPIC_BASE_URL,
    TOKENVAULT_GOOGLE_API_URL,
    TOKENVAULT_SLACK_API_URL,
    TOKENVAULT_STRIPE_API_URL,
    AWS_ENDPOINT_URL_STS,
    AWS_ENDPOINT_URL,
    TOKENVAULT_HTTP_TIMEOUT,
    BROWSER,
    MCP_REMOTE_CONFIG_DIR,
    HTTPS_PROXY,
    HTTP_PROXY,
    NO_PROXY,
    HF_TOKEN_PATH,
    HF_HOME,
    APPDATA,
    LOCALAPPDATA,
    CODEX_HOME,
    BAO_ADDR,
    VAULT_ADDR,
    BAO_NAMESPACE,
    VAULT_NAMESPACE,
    BAO_CACERT,
    VAULT_CACERT,
    TOKENVAULT_PROXY_CA_FILE,
];

#[cfg(test)]
mod tests {
    /// Every live check's base-URL variable is one of ours (so the README test covers it).
    #[test]
    fn live_check_variables_are_listed() {
        for check in tokenvault_verify::Check::ALL {
            for var in check.base_env() {
                assert!(
                    super::ALL.contains(&var.as_str()),
                    "{var} is not in envvars::ALL"
                );
            }
        }
    }

    /// Every variable we read is documented in the README.
    #[test]
    fn readme_documents_every_variable() {
        let readme = include_str!("../../../README.md");
        for var in super::ALL.iter().chain([&super::DBUS_SESSION_BUS_ADDRESS]) {
            assert!(
                readme.contains(&format!("`{var}`")),
                "README does not document {var}"
            );
        }
    }
}
