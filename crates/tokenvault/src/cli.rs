//! What the user typed: the clap definitions (low-level arguments). `settings.rs` turns them into
//! what they mean on this machine. Every value flag here takes a reference or a name, never a
//! secret: values come from a hidden prompt or standard input.

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "tokenvault",
    version,
    about = "Keep API tokens out of plain-text files, command lines and logs, and still hand them to the programs that need them.",
    long_about = None,
    after_help = "References: tv://ITEM/FIELD, or on the command line ITEM/FIELD or ITEM (the provider's default field).\nExit codes: 0 success, 1 negative answer (e.g. token invalid), 2 error.\nDocs: README.md and docs/ in the source tree."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Where values live: keychain (OS store), file (encrypted vault) or memory (tests only).
    #[arg(long, global = true, value_name = "BACKEND", env = crate::envvars::TOKENVAULT_BACKEND)]
    pub backend: Option<String>,
    /// Print machine-readable JSON where lists are printed.
    #[arg(long, global = true)]
    pub json: bool,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// No colour (also: NO_COLOR).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Accept a file vault older than the one this machine last saw (you restored it on purpose).
    #[arg(long, global = true)]
    pub accept_rollback: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Store a value: read from a hidden prompt, or from stdin with --stdin. Never from argv.
    Set(SetArgs),
    /// Print a value to stdout (for scripts). Refuses a terminal without --reveal.
    Get(GetArgs),
    /// List stored items and fields, masked.
    #[command(visible_alias = "ls")]
    List,
    /// Show one item (or field), masked, with dates and verification.
    Show(ShowArgs),
    /// Delete a field, or a whole item.
    Rm(RmArgs),
    /// Check stored values: format offline, then the provider's live check (Hugging Face, GitHub,
    /// OpenAI, Anthropic, Google, Slack, Stripe, AWS STS; see docs/verify.md).
    Verify(VerifyArgs),
    /// Move plaintext tokens into the vault: the Hub's token files, a .env file, the ipfs_kit
    /// config, or variables; --rewrite/--shred then remove the plaintext.
    Import(ImportArgs),
    /// Explain the setup: backend and why, vault state, permissions, shadowing variables, and
    /// plaintext tokens still lying in known places (with the command that fixes each).
    Doctor,
    /// File backend: derive the vault key once and cache it, so later processes need no passphrase.
    Unlock(UnlockArgs),
    /// File backend: forget the cached vault key.
    Lock,
    /// Run a command with secrets in its environment (exec: stdio and signals belong to it).
    Run(RunArgs),
    /// Manage profiles: named sets of VAR=REFERENCE.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Write resolved variables as dotenv, sh or json (file created 0600, git-ignored).
    Export(ExportArgs),
    /// Replace {{ tv://ITEM/FIELD }} placeholders in a template.
    Inject(InjectArgs),
    /// Write a script that runs a command through `tokenvault run` (references only, never values).
    Wrapper(WrapperArgs),
    /// A git credential helper: `git config credential.https://huggingface.co.helper "tokenvault git-credential"`.
    GitCredential(GitCredentialArgs),
    /// The access log: every read and change, hash-chained.
    Audit(AuditArgs),
    /// Find leaked tokens: provider rules and exact matches of the values in the vault (masked output).
    Scan(ScanArgs),
    /// Git hooks that refuse commits or pushes adding a token.
    Hook(HookArgs),
    /// MCP clients: find plaintext tokens in their configs, secure them, add servers, bridge remote ones.
    #[command(subcommand)]
    Mcp(McpCommand),
    /// Replace a token with a new one (guided): shows where to create it, checks it live before
    /// storing it, keeps the previous value for --rollback, and says where to revoke the old one.
    Rotate(RotateArgs),
    /// What needs attention: stale, expiring, unverified or failed tokens, and references profiles miss.
    Status(StatusArgs),
    /// File backend: a new passphrase, and with it a new file key.
    #[command(
        after_help = "Examples:\n  tokenvault passwd\n  pass show tokenvault | tokenvault passwd --stdin"
    )]
    Passwd(PasswdArgs),
    /// File backend: a new file key under the same passphrase (after a cached key may have leaked).
    Rekey,
    /// The file vault's kept generations: list them, or make one current again.
    #[command(subcommand)]
    Backup(BackupCommand),
    /// Print shell completions.
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct PasswdArgs {
    /// Read the new passphrase from standard input (one line) instead of typing it twice.
    #[arg(long)]
    pub stdin: bool,
    /// Accept a new passphrase below the minimum strength (at least 12 characters, 5 different).
    #[arg(long)]
    pub allow_weak: bool,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// The kept generations of the file vault, newest first (encrypted copies, 0600).
    #[command(after_help = "Examples:\n  tokenvault backup list\n  tokenvault backup list --json")]
    List,
    /// Make generation N the current vault again (as a new generation; the current file is kept
    /// as a backup in turn). The index follows what the restored vault holds.
    #[command(after_help = "Examples:\n  tokenvault backup list\n  tokenvault backup restore 12")]
    Restore(BackupRestoreArgs),
}

#[derive(Debug, Args)]
pub struct BackupRestoreArgs {
    /// The generation to restore (see `tokenvault backup list`).
    pub generation: u64,
}

#[derive(Debug, Subcommand)]
pub enum McpCommand {
    /// Every MCP client config found, every server, and which hold plaintext secrets.
    List(McpListArgs),
    /// Move plaintext secrets from client configs into the vault; servers launch through `tokenvault run`.
    #[command(
        after_help = "Exit codes: 0 every config found was secured (or had nothing to change); 3 some config could not be read or rewritten and was skipped (each is named in an `error:` line; the others were secured); 2 any other error."
    )]
    Secure(McpSecureArgs),
    /// Add a server that gets its secrets from the vault.
    Add(McpAddArgs),
    /// Put back a client config from its latest backup (secrets stay in the vault unless --with-secrets).
    Restore(McpRestoreArgs),
    /// A stdio <-> Streamable HTTP bridge to a remote MCP server, with headers from the vault.
    Proxy(McpProxyArgs),
    /// Print headers as JSON, references resolved (for Claude Code's headersHelper).
    Headers(McpHeadersArgs),
}

#[derive(Debug, Args)]
pub struct McpListArgs {
    /// Only this client (claude-desktop, claude-code, cursor, vscode, windsurf, gemini, codex, zed).
    #[arg(long, value_name = "CLIENT")]
    pub client: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct McpSecureArgs {
    /// Only this client.
    #[arg(long, value_name = "CLIENT")]
    pub client: Option<String>,
    /// Only the server with this name.
    #[arg(long, value_name = "SERVER")]
    pub server: Option<String>,
    /// Print the changes as a unified diff; write nothing, open no vault (no passphrase needed).
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct McpAddArgs {
    /// The server's name in the client's config.
    pub name: String,
    /// The client whose config gets the server.
    #[arg(long, value_name = "CLIENT")]
    pub client: String,
    /// VAR=REFERENCE for a stdio server (repeatable).
    #[arg(short = 'e', long = "env", value_name = "VAR=REF")]
    pub env: Vec<String>,
    /// A remote server's URL.
    #[arg(long, value_name = "URL", conflicts_with = "command")]
    pub url: Option<String>,
    /// 'Name: value' for a remote server; the value may hold {{ tv://ITEM/FIELD }} (repeatable).
    #[arg(long = "header", value_name = "'K: V'", requires = "url")]
    pub headers: Vec<String>,
    /// Replace a server of the same name.
    #[arg(long)]
    pub force: bool,
    /// The stdio server's command and arguments.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct McpRestoreArgs {
    /// Only this client.
    #[arg(long, value_name = "CLIENT")]
    pub client: Option<String>,
    /// Write the secrets back into the restored file as they were (plaintext).
    #[arg(long)]
    pub with_secrets: bool,
}

#[derive(Debug, Args)]
pub struct McpProxyArgs {
    /// The remote server's Streamable HTTP endpoint, e.g. https://huggingface.co/mcp
    #[arg(long, value_name = "URL")]
    pub url: String,
    /// 'Name: value' sent with every request; the value may hold {{ tv://ITEM/FIELD }} (repeatable).
    #[arg(long = "header", value_name = "'K: V'")]
    pub headers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct McpHeadersArgs {
    /// 'Name: value'; the value may hold {{ tv://ITEM/FIELD }} (repeatable).
    #[arg(long = "header", value_name = "'K: V'", required = true)]
    pub headers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The field to rotate (ITEM, ITEM/FIELD or tv://ITEM/FIELD).
    pub reference: String,
    /// Swap the previous value back (the current one becomes the previous: rollback again undoes it).
    #[arg(long, conflicts_with_all = ["stdin", "no_verify"])]
    pub rollback: bool,
    /// Read the new value from standard input instead of a hidden prompt.
    #[arg(long)]
    pub stdin: bool,
    /// Store the new value without the live check (a rejected or unreachable check otherwise
    /// keeps the current value).
    #[arg(long)]
    pub no_verify: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// A token not changed for more than this many days is stale. (Also reported: expiring within
    /// 14 days or expired, last live check failed, never checked, references profiles name but the
    /// vault lacks. Exit 1 when anything needs attention.)
    #[arg(long, default_value_t = 90, value_name = "DAYS")]
    pub stale_days: u32,
}

/// Where the variables of `run`, `export` and `wrapper` come from. Later sources win:
/// --env-file, then profiles, then -e.
#[derive(Debug, Clone, Args)]
pub struct EnvSources {
    /// A profile: its VAR=REFERENCE pairs (repeatable).
    #[arg(short = 'p', long = "profile", value_name = "PROFILE")]
    pub profiles: Vec<String>,
    /// VAR=REFERENCE, e.g. -e HF_TOKEN=tv://huggingface/token (repeatable).
    #[arg(short = 'e', long = "env", value_name = "VAR=REF")]
    pub env: Vec<String>,
    /// A dotenv file whose values may be tv:// references (plain values pass through).
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub sources: EnvSources,
    /// Stay the parent and replace every injected value in the child's output with <concealed:VAR>.
    /// Never use it for stdio MCP servers.
    #[arg(long)]
    pub mask: bool,
    /// Set the variables even when the environment already has a non-empty value for them.
    #[arg(long)]
    pub vault_wins: bool,
    /// The command and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Create or replace a profile: profile set hf-mcp HF_TOKEN=tv://huggingface/token
    Set {
        name: String,
        #[arg(required = true, value_name = "VAR=REF")]
        pairs: Vec<String>,
    },
    /// List profiles.
    List,
    /// Delete a profile.
    Rm { name: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Dotenv,
    Sh,
    Json,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub sources: EnvSources,
    #[arg(long, value_enum, default_value = "dotenv")]
    pub format: ExportFormat,
    /// Output file (created 0600; refused if it is a symlink or tracked by git). Default: stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// Print values even when stdout is a terminal (refused otherwise: they would stay in the scrollback).
    #[arg(long)]
    pub reveal: bool,
}

#[derive(Debug, Args)]
pub struct InjectArgs {
    /// The template ('-' for stdin).
    #[arg(short = 'i', long = "input", value_name = "TEMPLATE")]
    pub input: std::path::PathBuf,
    /// Output file (created 0600). Default: stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// Print the result even when stdout is a terminal (refused otherwise: values would stay in the scrollback).
    #[arg(long)]
    pub reveal: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WrapperShell {
    Sh,
    Powershell,
    Cmd,
}

#[derive(Debug, Args)]
pub struct WrapperArgs {
    /// A name for the wrapped program (used in the script's comments).
    pub name: String,
    #[command(flatten)]
    pub sources: EnvSources,
    #[arg(long, value_enum, default_value = "sh")]
    pub shell: WrapperShell,
    /// Where to write the script.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: std::path::PathBuf,
    /// The command and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GitCredentialOp {
    Get,
    Store,
    Erase,
}

#[derive(Debug, Args)]
pub struct GitCredentialArgs {
    #[arg(value_enum)]
    pub operation: GitCredentialOp,
    /// The item (or ITEM/FIELD) whose token git gets. Default: `huggingface` for huggingface.co and
    /// hf.co, `github` for github.com.
    #[arg(long, value_name = "ITEM")]
    pub item: Option<String>,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub action: Option<AuditAction>,
    /// Only entries at or after this time (RFC 3339, or a duration ago such as 24h).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Check the hash chain: detects edited, deleted or reordered lines.
    Verify,
}

#[derive(Debug, Args)]
pub struct SetArgs {
    /// tv://ITEM/FIELD, ITEM/FIELD or ITEM.
    pub reference: String,
    /// Read the value from standard input (one trailing newline is removed).
    #[arg(long)]
    pub stdin: bool,
    /// The provider of the item (default: the item name's first segment, e.g. huggingface-work → huggingface).
    #[arg(long, value_name = "PROVIDER")]
    pub provider: Option<String>,
    /// Do not check the value online after storing it.
    #[arg(long)]
    pub no_verify: bool,
    /// Store the value even if it does not match the provider's format.
    #[arg(long)]
    pub force: bool,
    /// Anything after the reference. Values are never accepted here; this only exists so that a
    /// token typed on the command line is refused without being echoed back in an error.
    #[arg(hide = true, num_args = 0.., allow_hyphen_values = true, trailing_var_arg = true)]
    pub stray: Vec<String>,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    pub reference: String,
    /// Allow printing to a terminal (where it stays in scrollback).
    #[arg(long)]
    pub reveal: bool,
    /// Do not print a newline after the value.
    #[arg(short = 'n', long)]
    pub no_newline: bool,
    /// The value the current one replaced (kept for rotate --rollback).
    #[arg(long)]
    pub previous: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    pub reference: String,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    pub reference: String,
    /// Do not ask for confirmation when deleting a whole item.
    #[arg(short, long)]
    pub yes: bool,
    /// Delete it even when a profile, an MCP server or a wrapper script still uses it.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// What to check (default: everything stored).
    pub references: Vec<String>,
    /// Format check only; no network.
    #[arg(long)]
    pub offline: bool,
    /// Ask the provider again even when a result younger than 10 minutes is stored.
    #[arg(long, conflicts_with = "offline")]
    pub fresh: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub source: ImportSource,
    /// Show what would be imported (and which files would be rewritten or shredded); change nothing.
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Skip the live check of imported tokens (with --shred: shred after the read-back alone).
    #[arg(long, global = true)]
    pub no_verify: bool,
    /// Once every secret of a source file is stored, read back and verified live, overwrite the
    /// file with zeros and delete it. A dotenv or JSON file that also holds other values is
    /// rewritten instead (secrets become tv:// references), with no plaintext backup.
    #[arg(long, global = true)]
    pub shred: bool,
    /// dotenv, ipfs-kit: rewrite the file in place, each imported secret replaced by its tv://
    /// reference (comments, order and mode kept; the original is kept as FILE.bak unless --shred),
    /// so that `tokenvault run --env-file FILE` works.
    #[arg(long, global = true)]
    pub rewrite: bool,
}

#[derive(Debug, Subcommand)]
pub enum ImportSource {
    /// The Hub's token files: $HF_TOKEN_PATH (or $HF_HOME/token) and stored_tokens beside it.
    Huggingface,
    /// A .env file: providers recognised from variable names and value formats.
    Dotenv {
        #[arg(value_name = "FILE")]
        file: std::path::PathBuf,
    },
    /// The ipfs_kit config (default ~/.ipfs_kit/config.json): Hugging Face, AWS, S3 and Storacha settings.
    IpfsKit {
        #[arg(value_name = "FILE")]
        file: Option<std::path::PathBuf>,
    },
    /// Environment variables of this shell, by name.
    Env {
        #[arg(required = true, value_name = "VAR")]
        vars: Vec<String>,
    },
    /// MCP client configs: the same as `tokenvault mcp secure` (secrets into the vault, servers
    /// rewritten to launch through tokenvault, backups kept).
    Mcp {
        /// Only this client.
        #[arg(long, value_name = "CLIENT")]
        client: Option<String>,
        /// Only the server with this name.
        #[arg(long, value_name = "SERVER")]
        server: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// How long the key stays cached: e.g. 30m, 8h, 2d (default 8h, at most 7d).
    #[arg(long, default_value = "8h", value_name = "DURATION")]
    pub timeout: String,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScanFormat {
    /// `path:line:col  rule  masked`, one finding per line.
    Text,
    /// A JSON array (also usable as a --baseline).
    Json,
    /// SARIF 2.1.0, for code scanning uploads.
    Sarif,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan (default: the current directory); '-' reads standard input.
    /// With --git or --staged: the repository (default: the current directory).
    #[arg(value_name = "PATH")]
    pub paths: Vec<std::path::PathBuf>,
    /// Scan the git history: every blob once, each finding with the commit that added it.
    #[arg(long)]
    pub git: bool,
    /// With --git: only commits that REV does not contain (e.g. origin/main).
    #[arg(long, value_name = "REV", requires = "git")]
    pub since: Option<String>,
    /// With --git: revisions to scan instead of all refs (repeatable; passed to `git log`).
    #[arg(
        long = "rev",
        value_name = "REV",
        requires = "git",
        allow_hyphen_values = true
    )]
    pub revs: Vec<String>,
    /// Scan what `git commit` would add: the added lines of the staged changes.
    #[arg(long, conflicts_with = "git")]
    pub staged: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub format: ScanFormat,
    /// Report only findings that are not in this earlier `--format json` (or sarif) report.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<std::path::PathBuf>,
    /// Rules only: do not open the vault to look for the values it holds.
    #[arg(long)]
    pub no_vault: bool,
    /// Scanning threads (default: one per CPU).
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,
    /// Also scan files that .gitignore and .ignore exclude.
    #[arg(long)]
    pub no_ignore: bool,
}

#[derive(Debug, Args)]
pub struct HookArgs {
    #[command(subcommand)]
    pub action: HookAction,
}

#[derive(Debug, Subcommand)]
pub enum HookAction {
    /// Install a git hook that runs `tokenvault scan` (an existing hook is kept, backed up, and run after it).
    Install(HookInstallArgs),
}

#[derive(Debug, Args)]
pub struct HookInstallArgs {
    /// Before each commit, scan the staged changes (the default).
    #[arg(long, conflicts_with = "pre_push")]
    pub pre_commit: bool,
    /// Before each push, scan the commits being pushed.
    #[arg(long)]
    pub pre_push: bool,
    /// Print the hook instead of writing it.
    #[arg(long)]
    pub dry_run: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
