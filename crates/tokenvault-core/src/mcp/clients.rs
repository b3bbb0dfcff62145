//! The MCP clients we know (SPEC §4): where each keeps its config on each OS, in which format,
//! and under which key its servers live. Pure: the caller supplies the home directory and the
//! environment, and probes the returned paths.

use std::fmt;
use std::path::{Path, PathBuf};

/// An MCP client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClientId {
    ClaudeDesktop,
    ClaudeCode,
    Cursor,
    VsCode,
    Windsurf,
    Gemini,
    Codex,
    Zed,
}

/// How a client's file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON; comments and trailing commas are accepted on reading (we never add any).
    Json,
    /// JSON with comments, as VS Code, Gemini CLI and Zed write it.
    Jsonc,
    Toml,
}

impl ClientId {
    pub const ALL: [ClientId; 8] = [
        ClientId::ClaudeDesktop,
        ClientId::ClaudeCode,
        ClientId::Cursor,
        ClientId::VsCode,
        ClientId::Windsurf,
        ClientId::Gemini,
        ClientId::Codex,
        ClientId::Zed,
    ];

    /// The name used on the command line (`--client cursor`).
    pub fn id(self) -> &'static str {
        match self {
            ClientId::ClaudeDesktop => "claude-desktop",
            ClientId::ClaudeCode => "claude-code",
            ClientId::Cursor => "cursor",
            ClientId::VsCode => "vscode",
            ClientId::Windsurf => "windsurf",
            ClientId::Gemini => "gemini",
            ClientId::Codex => "codex",
            ClientId::Zed => "zed",
        }
    }

    /// The product's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            ClientId::ClaudeDesktop => "Claude Desktop",
            ClientId::ClaudeCode => "Claude Code",
            ClientId::Cursor => "Cursor",
            ClientId::VsCode => "VS Code",
            ClientId::Windsurf => "Windsurf",
            ClientId::Gemini => "Gemini CLI",
            ClientId::Codex => "Codex CLI",
            ClientId::Zed => "Zed",
        }
    }

    /// Parses a client name, accepting a few spellings users type (`claude`, `code`, `vs-code`).
    pub fn parse(text: &str) -> Result<ClientId, UnknownClient> {
        let t = text.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        let found = match t.as_str() {
            "claude-desktop" | "claude" | "desktop" => ClientId::ClaudeDesktop,
            "claude-code" | "claudecode" => ClientId::ClaudeCode,
            "cursor" => ClientId::Cursor,
            "vscode" | "vs-code" | "code" => ClientId::VsCode,
            "windsurf" | "codeium" => ClientId::Windsurf,
            "gemini" | "gemini-cli" => ClientId::Gemini,
            "codex" | "codex-cli" => ClientId::Codex,
            "zed" => ClientId::Zed,
            _ => return Err(UnknownClient(text.to_owned())),
        };
        Ok(found)
    }

    pub fn format(self) -> Format {
        match self {
            ClientId::VsCode | ClientId::Gemini | ClientId::Zed => Format::Jsonc,
            ClientId::Codex => Format::Toml,
            _ => Format::Json,
        }
    }

    /// The key of the object (table for Codex) that maps server names to servers.
    pub fn servers_key(self) -> &'static str {
        match self {
            ClientId::VsCode => "servers",
            ClientId::Codex => "mcp_servers",
            ClientId::Zed => "context_servers",
            _ => "mcpServers",
        }
    }

    /// Whether the client accepts remote (URL) servers in its file. Claude Desktop does not: a
    /// remote server reaches it only through `tokenvault mcp proxy`.
    pub fn accepts_remote(self) -> bool {
        !matches!(self, ClientId::ClaudeDesktop)
    }

    /// The key a new remote server's URL goes under.
    pub fn url_key(self) -> &'static str {
        match self {
            ClientId::Windsurf => "serverUrl",
            ClientId::Gemini => "httpUrl",
            _ => "url",
        }
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown MCP client '{0}': use one of claude-desktop, claude-code, cursor, vscode, windsurf, gemini, codex, zed")]
pub struct UnknownClient(pub String);

/// The operating system whose conventions apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    MacOs,
    Windows,
}

/// What discovery needs to know about the machine. Every path is absolute.
#[derive(Debug, Clone)]
pub struct Machine {
    pub os: Os,
    pub home: PathBuf,
    /// `XDG_CONFIG_HOME` (Linux), when set.
    pub xdg_config_home: Option<PathBuf>,
    /// `%APPDATA%` (Windows).
    pub appdata: Option<PathBuf>,
    /// `%LOCALAPPDATA%` (Windows).
    pub local_appdata: Option<PathBuf>,
    /// `CODEX_HOME`, when set.
    pub codex_home: Option<PathBuf>,
    /// The project directory whose project-scoped files (`.mcp.json`, `.cursor/mcp.json`, …) count.
    pub project: Option<PathBuf>,
}

/// Whether a file configures the user's every session or one project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    User,
    Project,
}

/// A place a client's config may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// This exact file.
    File(PathBuf),
    /// `DIR/PREFIX*/SUFFIX` for every entry of `DIR` whose name starts with `PREFIX` (the Windows
    /// Store build of Claude Desktop lives under `Packages\Claude_<publisher id>`).
    Prefixed {
        dir: PathBuf,
        prefix: String,
        suffix: PathBuf,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub client: ClientId,
    pub scope: Scope,
    pub probe: Probe,
}

/// Every place on `machine` where a client config may be, in a stable order (clients in
/// [`ClientId::ALL`] order, user files before project files).
pub fn candidates(machine: &Machine) -> Vec<Candidate> {
    let mut out = Vec::new();
    for client in ClientId::ALL {
        for path in user_files(client, machine) {
            out.push(Candidate {
                client,
                scope: Scope::User,
                probe: path,
            });
        }
        if let Some(project) = &machine.project {
            for rel in project_files(client) {
                out.push(Candidate {
                    client,
                    scope: Scope::Project,
                    probe: Probe::File(project.join(rel)),
                });
            }
        }
    }
    out
}

/// The platform's per-user configuration directory (`~/.config`, `~/Library/Application
/// Support`, `%APPDATA%`).
fn config_dir(machine: &Machine) -> PathBuf {
    match machine.os {
        Os::Linux => machine
            .xdg_config_home
            .clone()
            .unwrap_or_else(|| machine.home.join(".config")),
        Os::MacOs => machine.home.join("Library").join("Application Support"),
        Os::Windows => machine
            .appdata
            .clone()
            .unwrap_or_else(|| machine.home.join("AppData").join("Roaming")),
    }
}

fn user_files(client: ClientId, machine: &Machine) -> Vec<Probe> {
    let home = &machine.home;
    let file = |p: PathBuf| Probe::File(p);
    match client {
        ClientId::ClaudeDesktop => {
            let name = "claude_desktop_config.json";
            let mut v = vec![file(config_dir(machine).join("Claude").join(name))];
            if machine.os == Os::Windows {
                let local = machine
                    .local_appdata
                    .clone()
                    .unwrap_or_else(|| home.join("AppData").join("Local"));
                v.push(Probe::Prefixed {
                    dir: local.join("Packages"),
                    prefix: "Claude_".to_owned(),
                    suffix: Path::new("LocalCache")
                        .join("Roaming")
                        .join("Claude")
                        .join(name),
                });
            }
            v
        }
        ClientId::ClaudeCode => vec![file(home.join(".claude.json"))],
        ClientId::Cursor => vec![file(home.join(".cursor").join("mcp.json"))],
        ClientId::VsCode => vec![file(
            config_dir(machine)
                .join("Code")
                .join("User")
                .join("mcp.json"),
        )],
        ClientId::Windsurf => vec![file(
            home.join(".codeium")
                .join("windsurf")
                .join("mcp_config.json"),
        )],
        ClientId::Gemini => vec![file(home.join(".gemini").join("settings.json"))],
        ClientId::Codex => {
            let dir = machine
                .codex_home
                .clone()
                .unwrap_or_else(|| home.join(".codex"));
            vec![file(dir.join("config.toml"))]
        }
        ClientId::Zed => {
            // Zed keeps ~/.config/zed on macOS too.
            let dir = match machine.os {
                Os::Windows => config_dir(machine).join("Zed"),
                Os::MacOs => home.join(".config").join("zed"),
                Os::Linux => config_dir(machine).join("zed"),
            };
            vec![file(dir.join("settings.json"))]
        }
    }
}

fn project_files(client: ClientId) -> Vec<PathBuf> {
    let p = |parts: &[&str]| parts.iter().collect::<PathBuf>();
    match client {
        ClientId::ClaudeCode => vec![p(&[".mcp.json"])],
        ClientId::Cursor => vec![p(&[".cursor", "mcp.json"])],
        ClientId::VsCode => vec![p(&[".vscode", "mcp.json"])],
        ClientId::Gemini => vec![p(&[".gemini", "settings.json"])],
        ClientId::Zed => vec![p(&[".zed", "settings.json"])],
        ClientId::ClaudeDesktop | ClientId::Windsurf | ClientId::Codex => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(os: Os) -> Machine {
        Machine {
            os,
            home: PathBuf::from("/h"),
            xdg_config_home: None,
            appdata: Some(PathBuf::from("/h/AppData/Roaming")),
            local_appdata: Some(PathBuf::from("/h/AppData/Local")),
            codex_home: None,
            project: Some(PathBuf::from("/p")),
        }
    }

    fn files(m: &Machine, client: ClientId) -> Vec<Probe> {
        candidates(m)
            .into_iter()
            .filter(|c| c.client == client)
            .map(|c| c.probe)
            .collect()
    }

    #[test]
    fn claude_desktop_has_a_file_per_os_and_the_msix_path_on_windows() {
        let f = |os| files(&machine(os), ClientId::ClaudeDesktop);
        assert_eq!(
            f(Os::Linux),
            vec![Probe::File(
                "/h/.config/Claude/claude_desktop_config.json".into()
            )]
        );
        assert_eq!(
            f(Os::MacOs),
            vec![Probe::File(
                "/h/Library/Application Support/Claude/claude_desktop_config.json".into()
            )]
        );
        let win = f(Os::Windows);
        assert_eq!(win.len(), 2);
        assert_eq!(
            win[1],
            Probe::Prefixed {
                dir: "/h/AppData/Local/Packages".into(),
                prefix: "Claude_".into(),
                suffix: "LocalCache/Roaming/Claude/claude_desktop_config.json".into(),
            }
        );
    }

    #[test]
    fn project_files_follow_the_user_files_and_codex_home_is_honoured() {
        let mut m = machine(Os::Linux);
        m.codex_home = Some("/c".into());
        m.xdg_config_home = Some("/x".into());
        assert_eq!(
            files(&m, ClientId::VsCode),
            vec![
                Probe::File("/x/Code/User/mcp.json".into()),
                Probe::File("/p/.vscode/mcp.json".into())
            ]
        );
        assert_eq!(
            files(&m, ClientId::Codex),
            vec![Probe::File("/c/config.toml".into())]
        );
        assert_eq!(
            files(&m, ClientId::ClaudeCode),
            vec![
                Probe::File("/h/.claude.json".into()),
                Probe::File("/p/.mcp.json".into())
            ]
        );
        m.project = None;
        assert_eq!(files(&m, ClientId::Cursor).len(), 1);
    }

    #[test]
    fn client_names_parse_in_the_spellings_users_type() {
        for c in ClientId::ALL {
            assert_eq!(ClientId::parse(c.id()), Ok(c));
        }
        assert_eq!(ClientId::parse("VS Code"), Ok(ClientId::VsCode));
        assert_eq!(ClientId::parse("claude"), Ok(ClientId::ClaudeDesktop));
        let e = ClientId::parse("emacs").unwrap_err();
        assert!(e.to_string().contains("claude-desktop, claude-code"), "{e}");
    }
}
