//! What the user typed: the clap definitions (low-level arguments). `settings.rs` turns them into
//! what they mean on this machine. Every value flag here takes a reference or a name, never a
//! secret: values come from a hidden prompt or standard input.

use clap::{Args, Parser, Subcommand};
use clap_complete::engine::ArgValueCandidates;

/// Candidates for arguments that name stored things (see `complete.rs`).
fn references() -> ArgValueCandidates {
    ArgValueCandidates::new(crate::complete::references)
}

fn items() -> ArgValueCandidates {
    ArgValueCandidates::new(crate::complete::items)
}

fn profiles() -> ArgValueCandidates {
    ArgValueCandidates::new(crate::complete::profiles)
}

#[derive(Debug, Parser)]
#[command(
    name = "tokenvault",
    version,
    about = "Keep API tokens out of plain-text files, command lines and logs, and still hand them to the programs that need them.",
    long_about = None,
    after_help = "Examples:\n  tokenvault set huggingface\n  tokenvault run -e HF_TOKEN=huggingface -- python train.py\n  tokenvault mcp secure --dry-run\n\nReferences: tv://ITEM/FIELD, or on the command line ITEM/FIELD or ITEM (the provider's default field).\nExit codes: 0 success, 1 negative answer (e.g. token invalid), 2 error.\nDocs: README.md and docs/ in the source tree."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Where values live: keychain (OS store), file (encrypted vault), openbao (a team's OpenBao
    /// or Vault server) or memory (tests only).
    #[arg(long, global = true, value_name = "BACKEND", env = crate::envvars::TOKENVAULT_BACKEND)]
    pub backend: Option<String>,
    /// Print machine-readable JSON: lists, reports, and what a command stored, deleted or
    /// changed (masked values only). Commands that print something else refuse it.
    #[arg(long, global = true)]
    pub json: bool,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// No colour (also: NO_COLOR); the same as --color never.
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Colour: auto (on a terminal, unless NO_COLOR is set), always, or never.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN"
    )]
    pub color: ColorWhen,
    /// Accept a file vault older than the one this machine last saw (you restored it on purpose).
    #[arg(long, global = true)]
    pub accept_rollback: bool,
}

/// `--color WHEN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Store a value: read from a hidden prompt, or from stdin with --stdin. Never from argv.
    #[command(
        after_help = "Examples:\n  tokenvault set huggingface\n  printf %s \"$HF_TOKEN\" | tokenvault set huggingface --stdin\n  printf %s us-east-1 | tokenvault set aws/region --stdin\n  tokenvault set work-llm --provider openai"
    )]
    Set(SetArgs),
    /// Print a value to stdout (for scripts). Refuses a terminal without --reveal.
    #[command(
        after_help = "Examples:\n  tokenvault get aws/region\n  tokenvault get github -n | gh auth login --with-token\n  tokenvault get huggingface --previous | wc -c"
    )]
    Get(GetArgs),
    /// List stored items and fields, masked.
    #[command(visible_alias = "ls")]
    #[command(after_help = "Examples:\n  tokenvault list\n  tokenvault list --json")]
    List,
    /// Show one item (or field), masked, with dates and verification.
    #[command(
        after_help = "Examples:\n  tokenvault show huggingface\n  tokenvault show aws --json"
    )]
    Show(ShowArgs),
    /// Delete a field, or a whole item.
    #[command(
        after_help = "Examples:\n  tokenvault rm aws/session_token\n  tokenvault rm aws --yes\n  tokenvault rm huggingface-old --yes --json\n  tokenvault --backend openbao rm leaked-token --yes --destroy"
    )]
    Rm(RmArgs),
    /// Check stored values: format offline, then the provider's live check (Hugging Face, GitHub,
    /// OpenAI, Anthropic, Google, Slack, Stripe, AWS STS; see docs/verify.md).
    #[command(
        after_help = "Examples:\n  tokenvault verify\n  tokenvault verify huggingface --fresh\n  tokenvault verify --offline --json"
    )]
    Verify(VerifyArgs),
    /// Move plaintext tokens into the vault: the Hub's token files, a .env file, the ipfs_kit
    /// config, or variables; --rewrite/--shred then remove the plaintext.
    #[command(
        after_help = "Examples:\n  tokenvault import huggingface --shred\n  tokenvault import dotenv .env --rewrite\n  tokenvault import env HF_TOKEN OPENAI_API_KEY\n  tokenvault import ipfs-kit --dry-run"
    )]
    Import(ImportArgs),
    /// Explain the setup: backend and why, vault state, permissions, shadowing variables, and
    /// plaintext tokens still lying in known places (with the command that fixes each).
    #[command(after_help = "Examples:\n  tokenvault doctor\n  tokenvault doctor --json")]
    Doctor,
    /// File backend: derive the vault key once and cache it, so later processes need no passphrase.
    #[command(
        after_help = "Examples:\n  tokenvault unlock --timeout 8h\n  pass show tokenvault | tokenvault unlock --stdin\n  tokenvault unlock --json\n  export \"$(tokenvault unlock --session --stdin --timeout 1h < \"$PASSPHRASE_FILE\")\"\n  tokenvault unlock --session --stdin < \"$PASSPHRASE_FILE\" >> \"$GITHUB_ENV\""
    )]
    Unlock(UnlockArgs),
    /// File backend: forget the cached vault key.
    #[command(after_help = "Examples:\n  tokenvault lock")]
    Lock,
    /// Run a command with secrets in its environment (exec: stdio and signals belong to it).
    #[command(
        after_help = "Examples:\n  tokenvault run -e HF_TOKEN=tv://huggingface/token -- python train.py\n  tokenvault run -p hf-mcp -- npx -y @llmindset/hf-mcp-server\n  tokenvault run --env-file .env -- npm start\n  tokenvault run --mask -e GITHUB_TOKEN=github -- gh api user\n  tokenvault run --proxy -e HF_TOKEN=huggingface -- hf download gpt2 config.json\n  tokenvault run --proxy --read-only -e HF_TOKEN=huggingface -- python eval.py\n  tokenvault run --proxy --allow-path /v1/models -e OPENAI_API_KEY=openai -- python list.py\nThe command and its arguments go after `--`."
    )]
    Run(RunArgs),
    /// Manage profiles: named sets of VAR=REFERENCE.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  tokenvault profile set hf-mcp HF_TOKEN=tv://huggingface/token\n  tokenvault profile list\n  tokenvault profile rm hf-mcp"
    )]
    Profile(ProfileCommand),
    /// Write resolved variables as dotenv, sh or json (file created 0600, git-ignored).
    #[command(
        after_help = "Examples:\n  tokenvault export -p hf-mcp -o .env.local\n  tokenvault export -e HF_TOKEN=huggingface --format sh -o env.sh\n  tokenvault export -e AWS_REGION=aws/region --format json | jq ."
    )]
    Export(ExportArgs),
    /// Replace {{ tv://ITEM/FIELD }} placeholders in a template.
    #[command(
        after_help = "Examples:\n  tokenvault inject -i job.template.yaml -o job.yaml\n  tokenvault inject -i - < config.tpl | kubectl apply -f -"
    )]
    Inject(InjectArgs),
    /// Write a script that runs a command through `tokenvault run` (references only, never values).
    #[command(
        after_help = "Examples:\n  tokenvault wrapper hf-mcp -p hf-mcp -o ~/bin/hf-mcp -- npx -y @llmindset/hf-mcp-server\n  tokenvault wrapper train -e HF_TOKEN=huggingface -o train.sh -- python train.py"
    )]
    Wrapper(WrapperArgs),
    /// Shell plugins: `eval "$(tokenvault plugin init hf)"` makes plain `hf …` run through
    /// `tokenvault run` with its token (hf, gh, aws, openai, anthropic, or any tool with --item).
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// A git credential helper: `git config credential.https://huggingface.co.helper "tokenvault git-credential"`.
    #[command(
        after_help = "Examples:\n  git config --global credential.https://huggingface.co.helper \"tokenvault git-credential\"\n  git config --global credential.https://github.com.helper \"tokenvault git-credential --item github\""
    )]
    GitCredential(GitCredentialArgs),
    /// A Docker credential helper (`"credsStore": "tokenvault"`): registry logins live in the vault.
    #[command(
        after_help = "Docker runs it as docker-credential-tokenvault (a link to tokenvault on PATH; `tokenvault scan --home --fix` makes one in ~/.local/bin and moves ~/.docker/config.json's logins into the vault).\n\nExamples:\n  ln -s \"$(command -v tokenvault)\" ~/.local/bin/docker-credential-tokenvault\n  echo ghcr.io | tokenvault docker-credential get\n  tokenvault docker-credential list"
    )]
    DockerCredential(DockerCredentialArgs),
    /// A `keyring` command for pip (`--keyring-provider subprocess`): index passwords live in the vault.
    #[command(
        after_help = "pip runs `keyring get URL USERNAME` and reads the password on stdout. Link tokenvault as `keyring` on PATH (ln -s \"$(command -v tokenvault)\" ~/.local/bin/keyring; `tokenvault scan --home --fix` makes the link when it moves ~/.pypirc's passwords), then: pip install --keyring-provider subprocess --index-url https://__token__@pkgs.example.com/simple/ PKG. `set` reads the password on standard input. A URL that was not stored is matched by its host.\n\nExamples:\n  printf '%s\\n' \"$TOKEN\" | tokenvault keyring set https://pkgs.example.com/simple/ __token__\n  tokenvault keyring get https://pkgs.example.com/simple/ __token__\n  tokenvault keyring del https://pkgs.example.com/simple/ __token__"
    )]
    Keyring(KeyringArgs),
    /// The access log: every read and change, hash-chained.
    #[command(
        after_help = "Examples:\n  tokenvault audit --since 24h\n  tokenvault audit --json\n  tokenvault audit verify"
    )]
    Audit(AuditArgs),
    /// Find leaked tokens: provider rules and exact matches of the values in the vault (masked output).
    #[command(
        after_help = "Examples:\n  tokenvault scan\n  tokenvault scan --staged\n  tokenvault scan --git --since origin/main\n  tokenvault scan --format sarif > tokenvault.sarif\n  tokenvault scan --home\n  tokenvault scan --home --fix --dry-run\n  tokenvault scan --home --fix\n  tokenvault scan --home --json"
    )]
    Scan(ScanArgs),
    /// Git hooks that refuse commits or pushes adding a token.
    #[command(
        after_help = "Examples:\n  tokenvault hook install\n  tokenvault hook install --pre-push"
    )]
    Hook(HookArgs),
    /// MCP clients: find plaintext tokens in their configs, secure them, add servers, bridge remote ones.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  tokenvault mcp list\n  tokenvault mcp secure --dry-run\n  tokenvault mcp restore"
    )]
    Mcp(McpCommand),
    /// Write a section into AGENTS.md/CLAUDE.md telling agents to use tokenvault's MCP tools.
    #[command(
        name = "agent-setup",
        after_help = "The section sits between <!-- tokenvault:begin --> and <!-- tokenvault:end --> markers; running it again replaces it in place.\n\nExamples:\n  tokenvault agent-setup\n  tokenvault agent-setup --file CLAUDE.md\n  tokenvault agent-setup --dry-run"
    )]
    AgentSetup(AgentSetupArgs),
    /// Replace a token with a new one (guided): shows where to create it, checks it live before
    /// storing it, keeps the previous value for --rollback, and says where to revoke the old one.
    #[command(
        after_help = "Examples:\n  tokenvault rotate huggingface\n  printf %s \"$NEW_TOKEN\" | tokenvault rotate github --stdin --json\n  tokenvault rotate huggingface --rollback"
    )]
    Rotate(RotateArgs),
    /// The local web app: tokens, MCP clients, what needs attention and the audit log, in your browser.
    #[command(
        after_help = "Serves on 127.0.0.1 only, opens the browser with a one-time link (also printed), and stops after --idle without a request or on Ctrl-C.\n\nExamples:\n  tokenvault ui\n  tokenvault ui --port 8765 --no-open\n  tokenvault ui --idle 2h"
    )]
    Ui(UiArgs),
    /// What needs attention: stale, expiring, unverified or failed tokens, and references profiles miss.
    #[command(
        after_help = "Examples:\n  tokenvault status\n  tokenvault status --stale-days 30 --json"
    )]
    Status(StatusArgs),
    /// File backend: a new passphrase, and with it a new file key.
    #[command(
        after_help = "Examples:\n  tokenvault passwd\n  pass show tokenvault | tokenvault passwd --stdin"
    )]
    Passwd(PasswdArgs),
    /// File backend: a new file key under the same passphrase (after a cached key may have leaked).
    #[command(after_help = "Examples:\n  tokenvault rekey")]
    Rekey,
    /// The file vault's kept generations: list them, or make one current again.
    #[command(subcommand)]
    #[command(after_help = "Examples:\n  tokenvault backup list\n  tokenvault backup restore 12")]
    Backup(BackupCommand),
    /// Backends on a server: log in to OpenBao (the token is kept in the local keychain or file
    /// vault, never in a plaintext file).
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  bao print token | tokenvault backend login openbao --method token\n  tokenvault backend login openbao --method userpass --username alice\n  tokenvault backend login openbao --method approle --role-id \"$ROLE_ID\" --secret-id-file /run/secrets/bao-secret-id"
    )]
    Backend(BackendCommand),
    /// Hand one value to someone through OpenBao: prints a single-use response-wrapping token
    /// (never the value) that `tokenvault receive` turns back into the value, once.
    #[command(
        after_help = "Examples:\n  tokenvault share huggingface --wrap\n  tokenvault share aws/secret_access_key --wrap --ttl 30m"
    )]
    Share(ShareArgs),
    /// Receive a value sent with `tokenvault share --wrap` (the wrapping token on stdin or a
    /// hidden prompt) and store it; says so if someone else unwrapped it first.
    #[command(
        after_help = "Examples:\n  tokenvault receive\n  printf %s \"$WRAPPING_TOKEN\" | tokenvault receive --stdin --as hf-from-alice"
    )]
    Receive(ReceiveArgs),
    /// Copy items from one backend to another (read back before anything is removed; the
    /// source is removed only with --move).
    #[command(
        after_help = "Examples:\n  tokenvault copy --from file --to openbao\n  tokenvault copy --from keychain --to openbao huggingface github --move"
    )]
    Copy(CopyArgs),
    /// Print a shell's completion script (commands, flags, and stored item and profile names).
    #[command(
        after_help = "Examples:\n  tokenvault completions bash > ~/.local/share/bash-completion/completions/tokenvault\n  tokenvault completions zsh > ~/.zfunc/_tokenvault\n  tokenvault completions fish > ~/.config/fish/completions/tokenvault.fish\nThe scripts call tokenvault back to complete stored item and profile names."
    )]
    Completions(CompletionsArgs),
    /// Write the manual pages (one per command) into a directory (used by scripts/install).
    #[command(hide = true)]
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Where to write tokenvault.1, tokenvault-set.1, … (created if missing).
    #[arg(default_value = ".", value_name = "DIR")]
    pub dir: std::path::PathBuf,
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
    #[command(
        after_help = "Examples:\n  tokenvault mcp list\n  tokenvault mcp list --client cursor --json"
    )]
    List(McpListArgs),
    /// Move plaintext secrets from client configs into the vault; servers launch through `tokenvault run`.
    #[command(
        after_help = "Examples:\n  tokenvault mcp secure --dry-run\n  tokenvault mcp secure --client claude-desktop\n  tokenvault mcp secure --json\n\nExit codes: 0 every config found was secured (or had nothing to change); 3 some config could not be read or rewritten and was skipped (each is named in an `error:` line; the others were secured); 2 any other error."
    )]
    Secure(McpSecureArgs),
    /// Add a server that gets its secrets from the vault.
    #[command(
        after_help = "Examples:\n  tokenvault mcp add hf --client claude-code -e HF_TOKEN=tv://huggingface/token -- npx -y @llmindset/hf-mcp-server\n  tokenvault mcp add tokenvault --client cursor --serve\n  tokenvault mcp add hf-remote --client cursor --url https://huggingface.co/mcp --header 'Authorization: Bearer {{ tv://huggingface/token }}'"
    )]
    Add(McpAddArgs),
    /// Put back a client config from its latest backup (secrets stay in the vault unless --with-secrets).
    #[command(
        after_help = "Examples:\n  tokenvault mcp restore --client cursor\n  tokenvault mcp restore --json"
    )]
    Restore(McpRestoreArgs),
    /// A stdio <-> Streamable HTTP bridge to a remote MCP server, with headers or an OAuth login from the vault.
    #[command(
        after_help = "Examples:\n  tokenvault mcp proxy --url https://huggingface.co/mcp --header 'Authorization: Bearer {{ tv://huggingface/token }}'\n  tokenvault mcp proxy --oauth hf\n\nWith --oauth, the token of `tokenvault mcp login` is renewed ahead of its expiry and when the server refuses it; both MCP transport eras (2025 sessions, 2026-07-28 stateless) are spoken, as the client chooses."
    )]
    Proxy(McpProxyArgs),
    /// Sign in to a remote MCP server with OAuth (browser + loopback redirect); the tokens go into the vault.
    #[command(
        after_help = "Examples:\n  tokenvault mcp login https://huggingface.co/mcp --name hf\n  tokenvault mcp login https://mcp.example.com/mcp --scope read --scope write --client-id my-app\n  tokenvault mcp login https://huggingface.co/mcp --name hf --no-browser\n\nThen use it from any client: `tokenvault mcp proxy --oauth hf`.\nThe browser is $BROWSER if set, else xdg-open (open on macOS); the address is also printed on stderr."
    )]
    Login(McpLoginArgs),
    /// Forget an OAuth login: revoke its tokens where the server allows it and delete them from the vault.
    #[command(after_help = "Examples:\n  tokenvault mcp logout hf")]
    Logout(McpLogoutArgs),
    /// The OAuth logins kept in the vault, with their servers and when their tokens expire.
    #[command(
        after_help = "Examples:\n  tokenvault mcp status\n  tokenvault mcp status hf --json"
    )]
    Status(McpStatusArgs),
    /// Print headers as JSON, references resolved (for Claude Code's headersHelper).
    #[command(
        after_help = "Examples:\n  tokenvault mcp headers --header 'Authorization: Bearer {{ tv://huggingface/token }}'"
    )]
    Headers(McpHeadersArgs),
    /// Serve MCP tools over stdio that let an agent use credentials without seeing them.
    #[command(
        after_help = "Tools: list_credentials, check_credentials, verify_credential, run_with_credentials, request_credential.\nNo tool result holds a value; run_with_credentials runs only allow-listed commands ([[agent.allow]] in the config) or ones the human approves on a local page (MCP URL elicitation) or a desktop dialog.\n\nExamples:\n  tokenvault mcp add tokenvault --client claude-code --serve\n  claude mcp add tokenvault -- tokenvault mcp serve\n  tokenvault mcp serve --approval-timeout 300\n\nSee docs/agents.md."
    )]
    Serve(McpServeArgs),
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
    /// Add tokenvault's own MCP server (`tokenvault mcp serve`: credentials for agents).
    #[arg(long, conflicts_with_all = ["url", "command", "env"])]
    pub serve: bool,
    /// The stdio server's command and arguments.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct AgentSetupArgs {
    /// The file to write (default: AGENTS.md, or CLAUDE.md when only that one exists).
    #[arg(long, value_name = "FILE")]
    pub file: Option<std::path::PathBuf>,
    /// Print the whole new file instead of writing it.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Args)]
pub struct McpServeArgs {
    /// How long to wait for the human to answer an approval or token page (seconds).
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub approval_timeout: u64,
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
pub struct McpLoginArgs {
    /// The remote server's MCP endpoint, e.g. https://huggingface.co/mcp
    #[arg(value_name = "URL")]
    pub url: String,
    /// The login's name, for `mcp proxy --oauth NAME` (default: from the host, e.g. huggingface-co).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// A scope to ask for (repeatable; default: what the server advertises).
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// A client id registered with the authorization server, or the https URL of a client ID
    /// metadata document (default: dynamic registration).
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// Do not open a browser: print the address to open on stderr and wait.
    #[arg(long)]
    pub no_browser: bool,
    /// How long to wait for the browser, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct McpLogoutArgs {
    /// The login's name (see `tokenvault mcp status`).
    #[arg(value_name = "NAME")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct McpStatusArgs {
    /// Only this login.
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct McpProxyArgs {
    /// The remote server's Streamable HTTP endpoint, e.g. https://huggingface.co/mcp (with
    /// --oauth: the login's server unless given).
    #[arg(long, value_name = "URL", required_unless_present = "oauth")]
    pub url: Option<String>,
    /// Authenticate with the OAuth login NAME (`tokenvault mcp login URL --name NAME`).
    #[arg(long, value_name = "NAME")]
    pub oauth: Option<String>,
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
    #[arg(add = references())]
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
    #[arg(short = 'p', long = "profile", value_name = "PROFILE", add = profiles())]
    pub profiles: Vec<String>,
    /// VAR=REFERENCE, e.g. -e HF_TOKEN=tv://huggingface/token (repeatable).
    #[arg(short = 'e', long = "env", value_name = "VAR=REF")]
    pub env: Vec<String>,
    /// A dotenv file whose values may be tv:// references (plain values pass through).
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<std::path::PathBuf>,
    /// Every field of a stored item, each under its provider's variable name (`--item aws`:
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION…), as `aws-vault exec` does; a field
    /// of no known variable becomes ITEM_FIELD (repeatable).
    #[arg(long = "item", value_name = "ITEM")]
    pub items: Vec<String>,
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
    /// Zero exposure: the child gets placeholders; a loopback proxy adds the real values only to
    /// requests for each provider's own hosts (endpoint variables such as HF_ENDPOINT point at it,
    /// HTTPS_PROXY for everything else, with a CA made for this run). See docs/running.md.
    #[arg(long, conflicts_with = "mask")]
    pub proxy: bool,
    /// With --proxy: credentials go only with GET, HEAD and OPTIONS requests.
    #[arg(long, requires = "proxy")]
    pub read_only: bool,
    /// With --proxy: credentials go only with these methods (repeat, or comma-separate).
    #[arg(long = "allow-method", value_name = "METHOD", requires = "proxy")]
    pub allow_methods: Vec<String>,
    /// With --proxy: credentials go only to paths under these prefixes (repeat).
    #[arg(long = "allow-path", value_name = "PREFIX", requires = "proxy")]
    pub allow_paths: Vec<String>,
    /// The command and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Create or replace a profile: profile set hf-mcp HF_TOKEN=tv://huggingface/token
    #[command(
        after_help = "Examples:\n  tokenvault profile set hf-mcp HF_TOKEN=tv://huggingface/token\n  tokenvault profile set aws AWS_ACCESS_KEY_ID=aws AWS_SECRET_ACCESS_KEY=aws/secret_access_key --json"
    )]
    Set {
        #[arg(add = profiles())]
        name: String,
        #[arg(required = true, value_name = "VAR=REF")]
        pairs: Vec<String>,
    },
    /// List profiles.
    #[command(
        after_help = "Examples:\n  tokenvault profile list\n  tokenvault profile list --json"
    )]
    List,
    /// Delete a profile.
    #[command(after_help = "Examples:\n  tokenvault profile rm hf-mcp")]
    Rm {
        #[arg(add = profiles())]
        name: String,
    },
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

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Print the shell function for TOOL; put `eval "$(tokenvault plugin init hf)"` in ~/.bashrc
    /// or ~/.zshrc (fish: `tokenvault plugin init hf --shell fish | source`).
    #[command(
        after_help = "Examples:\n  eval \"$(tokenvault plugin init hf)\"\n  eval \"$(tokenvault plugin init gh -p work)\"\n  eval \"$(tokenvault plugin init mytool --item svc-api)\""
    )]
    Init(PluginInitArgs),
    /// The tools with a built-in plugin and the item each uses.
    List,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PluginShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub struct PluginInitArgs {
    /// The command to wrap (hf, gh, aws, openai, anthropic, or any other with --item/-p).
    pub tool: String,
    /// The item whose fields the tool gets (default: the tool's own, e.g. huggingface for hf).
    #[arg(long, value_name = "ITEM")]
    pub item: Option<String>,
    /// A profile to use instead of the item (repeatable).
    #[arg(short = 'p', long = "profile", value_name = "PROFILE")]
    pub profiles: Vec<String>,
    #[arg(long, value_enum, default_value = "bash")]
    pub shell: PluginShell,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DockerCredentialOp {
    Get,
    Store,
    Erase,
    List,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyringOp {
    /// Print the password for SERVICE and USERNAME (exit 1 when there is none).
    Get,
    /// Store the password read on standard input for SERVICE and USERNAME.
    Set,
    /// Forget SERVICE and USERNAME (and the value stored for them).
    Del,
}

#[derive(Debug, Args)]
pub struct KeyringArgs {
    #[arg(value_enum)]
    pub operation: KeyringOp,
    /// The service: pip passes the index URL (or its host).
    #[arg(value_name = "SERVICE")]
    pub service: String,
    /// The user name (`__token__` for a token).
    #[arg(value_name = "USERNAME")]
    pub username: String,
}

#[derive(Debug, Args)]
pub struct DockerCredentialArgs {
    #[arg(value_enum)]
    pub operation: DockerCredentialOp,
}

#[derive(Debug, Args)]
pub struct GitCredentialArgs {
    #[arg(value_enum)]
    pub operation: GitCredentialOp,
    /// The item (or ITEM/FIELD) whose token git gets. Default: `huggingface` for huggingface.co and
    /// hf.co, `github` for github.com.
    #[arg(long, value_name = "ITEM", add = items())]
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
    #[command(
        after_help = "Examples:\n  tokenvault audit verify\n  tokenvault audit verify --json"
    )]
    Verify,
}

#[derive(Debug, Args)]
pub struct SetArgs {
    /// tv://ITEM/FIELD, ITEM/FIELD or ITEM.
    #[arg(add = references())]
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
    #[arg(add = references())]
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
    #[arg(add = references())]
    pub reference: String,
}

#[derive(Debug, Subcommand)]
pub enum BackendCommand {
    /// Log in to a server backend and keep its token in the local keychain or file vault.
    #[command(
        after_help = "Examples:\n  bao print token | tokenvault backend login openbao --stdin\n  tokenvault backend login openbao --method userpass --username alice\n  tokenvault backend login openbao --method approle --role-id \"$ROLE_ID\" --secret-id-file /run/secrets/bao-secret-id --local-backend file"
    )]
    Login(LoginArgs),
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The backend: openbao.
    pub backend: String,
    /// token (pasted or piped), userpass (a user and password) or approle (CI: a role id and a
    /// secret id from stdin or a 0600 file).
    #[arg(long, value_enum, default_value = "token")]
    pub method: crate::backends::LoginMethod,
    /// userpass: the user name.
    #[arg(long)]
    pub username: Option<String>,
    /// approle: the role id (not a secret on its own).
    #[arg(long)]
    pub role_id: Option<String>,
    /// approle: a file (mode 0600) holding the secret id; else it is read from stdin.
    #[arg(long, value_name = "FILE")]
    pub secret_id_file: Option<std::path::PathBuf>,
    /// Read the token or password from standard input instead of a hidden prompt.
    #[arg(long)]
    pub stdin: bool,
    /// The auth method's mount path when it is not the default (userpass, approle).
    #[arg(long, value_name = "PATH")]
    pub auth_path: Option<String>,
    /// Where to keep the token: keychain or file (default: the backend used before, or the
    /// automatic choice); remembered as `[openbao] local_backend`.
    #[arg(long, value_name = "BACKEND")]
    pub local_backend: Option<String>,
}

#[derive(Debug, Args)]
pub struct ShareArgs {
    #[arg(add = references())]
    pub reference: String,
    /// Wrap the value in a single-use OpenBao response-wrapping token (the only way, for now).
    #[arg(long)]
    pub wrap: bool,
    /// How long the wrapping token is valid (OpenBao durations: 90s, 10m, 1h).
    #[arg(long, default_value = "10m")]
    pub ttl: String,
}

#[derive(Debug, Args)]
pub struct ReceiveArgs {
    /// Read the wrapping token from standard input instead of a hidden prompt.
    #[arg(long)]
    pub stdin: bool,
    /// Store it under this item name instead of the sender's.
    #[arg(long = "as", value_name = "ITEM")]
    pub as_item: Option<String>,
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The backend to copy from.
    #[arg(long, value_name = "BACKEND")]
    pub from: String,
    /// The backend to copy to.
    #[arg(long, value_name = "BACKEND")]
    pub to: String,
    /// Items (or ITEM/FIELD) to copy (default: every item of --from).
    #[arg(add = references())]
    pub references: Vec<String>,
    /// Remove each copied value from --from once it reads back from --to.
    #[arg(long = "move")]
    pub move_: bool,
    /// Replace a value that --to already holds with a different one.
    #[arg(long)]
    pub overwrite: bool,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    #[arg(add = references())]
    pub reference: String,
    /// On a backend that keeps versions (openbao): destroy the kept versions too, for good
    /// (without it a deleted item can be recovered with `bao kv undelete`).
    #[arg(long)]
    pub destroy: bool,
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
    #[arg(add = references())]
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
    /// reference (comments, order and mode kept; the original is kept in the tokenvault home's
    /// backups/import/ unless --shred),
    /// so that `tokenvault run --env-file FILE` works.
    #[arg(long, global = true)]
    pub rewrite: bool,
    /// dotenv, env: import every variable of no known provider as a custom item (`FOO_URL` →
    /// tv://foo-url/token). Without it, only those whose names look secret (`SVC_API_TOKEN` →
    /// tv://svc-api/token); the others are reported as skipped.
    #[arg(long, global = true)]
    pub all: bool,
}

#[derive(Debug, Subcommand)]
pub enum ImportSource {
    /// The Hub's token files: $HF_TOKEN_PATH (or $HF_HOME/token) and stored_tokens beside it.
    #[command(
        after_help = "Examples:\n  tokenvault import huggingface --dry-run\n  tokenvault import huggingface --shred"
    )]
    Huggingface,
    /// A .env file: providers recognised from variable names and value formats.
    #[command(
        after_help = "Examples:\n  tokenvault import dotenv .env --dry-run\n  tokenvault import dotenv .env --rewrite"
    )]
    Dotenv {
        #[arg(value_name = "FILE")]
        file: std::path::PathBuf,
    },
    /// The ipfs_kit config (default ~/.ipfs_kit/config.json): Hugging Face, AWS, S3 and Storacha settings.
    #[command(
        after_help = "Examples:\n  tokenvault import ipfs-kit --dry-run\n  tokenvault import ipfs-kit ~/.ipfs_kit/config.json --rewrite"
    )]
    IpfsKit {
        #[arg(value_name = "FILE")]
        file: Option<std::path::PathBuf>,
    },
    /// Environment variables of this shell, by name.
    #[command(after_help = "Examples:\n  tokenvault import env HF_TOKEN OPENAI_API_KEY")]
    Env {
        #[arg(required = true, value_name = "VAR")]
        vars: Vec<String>,
    },
    /// MCP client configs: the same as `tokenvault mcp secure` (secrets into the vault, servers
    /// rewritten to launch through tokenvault, backups kept).
    #[command(after_help = "Examples:\n  tokenvault import mcp --client cursor")]
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
pub struct UiArgs {
    /// The port on 127.0.0.1 (default: a free one).
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
    /// Print the link instead of opening the browser.
    #[arg(long)]
    pub no_open: bool,
    /// Stop after this long without a request: e.g. 30m, 2h.
    #[arg(long, default_value = "30m", value_name = "DURATION")]
    pub idle: String,
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// How long the key stays cached: e.g. 30m, 8h, 2d (default 8h, at most 7d).
    #[arg(long, default_value = "8h", value_name = "DURATION")]
    pub timeout: String,
    /// Read the passphrase from standard input (one line), e.g. from a password manager.
    #[arg(long)]
    pub stdin: bool,
    /// Cache the key for one CI job or shell instead of the whole user: prints
    /// `TOKENVAULT_SESSION=…` on stdout; later commands given that variable need no passphrase.
    /// Works where the kernel keyring is blocked (containers). Ended by `lock` or the timeout.
    #[arg(long)]
    pub session: bool,
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
    /// Scan the places in your home directory where plaintext copies pile up (shell histories
    /// and rc files, MCP client logs, agent transcripts, notebooks, credential files, your
    /// crontab): only the files the catalogue of places names are read.
    #[arg(long, conflicts_with_all = ["git", "staged", "paths", "baseline", "no_ignore"])]
    pub home: bool,
    /// With --home: redact values in histories, logs, transcripts and notebooks in place (every
    /// other byte, the mode and the owner kept); move the tokens of credential files (git, netrc,
    /// .pypirc, .npmrc, Docker, AWS, the Hub's token files) into the vault, point each tool at
    /// tokenvault, and shred the plaintext once the replacement answers; print rotation advice for
    /// tokens that may have left the machine.
    #[arg(long, requires = "home")]
    pub fix: bool,
    /// With --fix: print what would be redacted, imported and removed, and change nothing.
    #[arg(long, requires = "fix")]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct HookArgs {
    #[command(subcommand)]
    pub action: HookAction,
}

#[derive(Debug, Subcommand)]
pub enum HookAction {
    /// Install a git hook that runs `tokenvault scan` (an existing hook is kept, backed up, and run after it).
    #[command(
        after_help = "Examples:\n  tokenvault hook install\n  tokenvault hook install --pre-push\n  tokenvault hook install --dry-run"
    )]
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

/// The global flags that take a value, for finding the subcommand in raw arguments.
pub const GLOBAL_VALUE_FLAGS: &[&str] = &["--backend", "--color"];

/// The subcommand's position in `args` (argv without the program name): the first argument that
/// is not a global flag or a global flag's value.
pub fn subcommand_position(args: &[&str]) -> Option<usize> {
    let mut skip_value = false;
    for (i, a) in args.iter().enumerate() {
        if std::mem::take(&mut skip_value) {
            continue;
        }
        if GLOBAL_VALUE_FLAGS.contains(a) {
            skip_value = true;
            continue;
        }
        if a.starts_with('-') {
            continue;
        }
        return Some(i);
    }
    None
}

/// `run` and `wrapper` take the command after `--`. When clap refuses `run -e X=tv://a python
/// train.py` (the command read as tokenvault's own arguments, a flag meant for the child taken as
/// one of ours) or finds no command, this error says so and shows the command line with the `--`
/// where it belongs, instead of clap's bare "unexpected argument".
pub fn command_after_double_dash(
    args: &[std::ffi::OsString],
    e: &clap::Error,
) -> Option<anyhow::Error> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let words: Vec<&str> = args.iter().map(|a| a.to_str()).collect::<Option<_>>()?;
    let at = subcommand_position(&words)?;
    let sub = words[at];
    if !matches!(sub, "run" | "wrapper") || words[at..].contains(&"--") {
        return None;
    }
    let example = if sub == "run" {
        "tokenvault run -e HF_TOKEN=tv://huggingface/token -- python train.py"
    } else {
        "tokenvault wrapper NAME -e HF_TOKEN=tv://huggingface/token -o FILE -- python train.py"
    };
    match e.kind() {
        ErrorKind::UnknownArgument => {
            let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) else {
                return None;
            };
            let arg = arg.split('=').next().unwrap_or(arg);
            let first = words[at + 1..]
                .iter()
                .position(|w| *w == arg || w.starts_with(&format!("{arg}=")))?
                + at
                + 1;
            let mut fixed: Vec<String> = vec!["tokenvault".to_owned()];
            fixed.extend(words[..first].iter().map(|w| shell_word(w)));
            fixed.push("--".to_owned());
            fixed.extend(words[first..].iter().map(|w| shell_word(w)));
            Some(crate::error::hinted(
                format!(
                    "`tokenvault {sub}` takes the command to run after `--`: '{arg}' is not one of its own arguments"
                ),
                format!("put the command after `--`: {}", fixed.join(" ")),
            ))
        }
        ErrorKind::MissingRequiredArgument
            if e.get(ContextKind::InvalidArg)
                .is_some_and(|v| v.to_string().contains("CMD")) =>
        {
            Some(crate::error::hinted(
                format!("`tokenvault {sub}` needs the command to run, after `--`"),
                format!("e.g. {example}"),
            ))
        }
        _ => None,
    }
}

/// `word` as a shell would need it typed: unchanged when it holds only safe characters, else in
/// single quotes.
fn shell_word(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:=@%+,~".contains(c));
    if safe {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Why `--json` makes no sense for `command`, and what to do instead; `None` where the command
/// prints JSON (its listing, report or result). These commands print something else by nature: a
/// raw value, another program's output, a script, a protocol.
pub fn json_refusal(command: &Command) -> Option<(&'static str, &'static str)> {
    Some(match command {
        Command::Get(_) => (
            "`get` prints the raw value for scripts, not JSON",
            "drop --json; `tokenvault show REF --json` describes a value (masked)",
        ),
        Command::Run(_) => (
            "`run` hands stdout to the command it runs, so it prints no JSON of its own",
            "drop --json (pass the command's own JSON option after `--`)",
        ),
        Command::Export(_) => (
            "`export` chooses its output with --format",
            "use `--format json` instead of --json",
        ),
        Command::Inject(_) => (
            "`inject` prints the template's own text",
            "drop --json; the template decides the output format",
        ),
        Command::GitCredential(_) => (
            "`git-credential` speaks git's credential helper protocol, not JSON",
            "drop --json",
        ),
        Command::DockerCredential(_) => (
            "`docker-credential` speaks Docker's credential helper protocol (JSON already)",
            "drop --json",
        ),
        Command::Keyring(_) => (
            "`keyring` answers as the keyring command does: the bare password",
            "drop --json",
        ),
        Command::Completions(_) => ("`completions` prints a shell script", "drop --json"),
        Command::Man(_) => ("`man` writes manual pages", "drop --json"),
        Command::Ui(_) => (
            "`ui` serves a web app in your browser; it prints only its link",
            "drop --json",
        ),
        Command::Mcp(McpCommand::Serve(_)) => (
            "`mcp serve` speaks MCP (JSON-RPC) on stdio; its tool results are JSON already",
            "drop --json",
        ),
        Command::Mcp(McpCommand::Proxy(_)) => (
            "`mcp proxy` speaks MCP (JSON-RPC) on stdio; it has no report to print as JSON",
            "drop --json",
        ),
        _ => return None,
    })
}

/// Run as `docker-credential-tokenvault ACTION` (a link Docker finds on PATH): the arguments of
/// `tokenvault docker-credential ACTION`; run as `keyring ACTION SERVICE USER` (a link pip finds
/// on PATH): those of `tokenvault keyring ACTION SERVICE USER`.
pub fn as_docker_helper(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let called = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .map(str::to_owned);
    match called.as_deref() {
        Some("docker-credential-tokenvault") => args.insert(1, "docker-credential".into()),
        Some("keyring") => args.insert(1, "keyring".into()),
        _ => {}
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    /// The words of one shell command line: quotes removed, redirections (`> FILE`, `< FILE`)
    /// dropped. Enough for the examples, which use no other shell syntax.
    fn shell_words(line: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut word = String::new();
        let (mut quote, mut in_word) = (None, false);
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), c) => word.push(c),
                (None, '\'' | '"') => {
                    quote = Some(c);
                    in_word = true;
                }
                (None, c) if c.is_whitespace() => {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                }
                (None, c) => {
                    word.push(c);
                    in_word = true;
                }
            }
        }
        if in_word {
            words.push(word);
        }
        let mut out = Vec::new();
        let mut it = words.into_iter();
        while let Some(w) = it.next() {
            if w == ">" || w == "<" || w == ">>" {
                it.next();
            } else {
                out.push(w);
            }
        }
        out
    }

    /// Every "Examples:" line of every command's help that runs tokenvault parses as written
    /// (the part of a pipeline that is tokenvault, or the helper string git is given).
    #[test]
    fn every_help_example_parses() {
        fn walk(cmd: &clap::Command, out: &mut Vec<String>) {
            for text in [cmd.get_after_help(), cmd.get_after_long_help()]
                .into_iter()
                .flatten()
            {
                let text = text.to_string();
                if let Some(examples) = text.split("Examples:\n").nth(1) {
                    out.extend(
                        examples
                            .lines()
                            .take_while(|l| l.starts_with("  "))
                            .map(|l| l.trim().to_owned()),
                    );
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, out);
            }
        }
        let mut examples = Vec::new();
        walk(&Cli::command(), &mut examples);
        assert!(examples.len() > 60, "{examples:?}");
        let mut checked = 0;
        for line in &examples {
            for part in line.split(" | ") {
                let words = shell_words(part);
                // `git config … "tokenvault git-credential …"`: git runs the helper string with
                // the operation added.
                let words = match words.first().map(String::as_str) {
                    Some("tokenvault") => words,
                    // `eval "$(tokenvault plugin init hf)"`, `export "$(tokenvault unlock
                    // --session …)"`: the command inside.
                    Some("eval" | "export") => match words
                        .get(1)
                        .and_then(|w| w.strip_prefix("$(").and_then(|w| w.strip_suffix(')')))
                    {
                        Some(inner) => shell_words(inner),
                        None => continue,
                    },
                    Some("git") => match words.last() {
                        Some(helper) if helper.starts_with("tokenvault ") => {
                            let mut w = shell_words(helper);
                            w.push("get".to_owned());
                            w
                        }
                        _ => continue,
                    },
                    _ => continue,
                };
                if let Err(e) = Cli::try_parse_from(&words) {
                    panic!("example `{line}` does not parse: {e}");
                }
                checked += 1;
            }
        }
        assert!(
            checked >= examples.len() - 2,
            "{checked} of {}",
            examples.len()
        );
    }

    #[test]
    fn a_forgotten_double_dash_is_explained_with_the_fixed_command_line() {
        let args = |a: &[&str]| -> Vec<std::ffi::OsString> { a.iter().map(Into::into).collect() };
        let explain = |a: &[&str]| {
            let mut full = vec!["tokenvault"];
            full.extend_from_slice(a);
            let e = Cli::try_parse_from(&full).expect_err("refused");
            command_after_double_dash(&args(a), &e)
                .map(|e| format!("{e} | {}", crate::error::hint_of(&e).unwrap_or_default()))
        };
        let m = explain(&[
            "--backend",
            "file",
            "run",
            "-e",
            "X=tv://a",
            "python",
            "train.py",
        ])
        .expect("explained");
        assert!(
            m.contains("tokenvault --backend file run -e X=tv://a -- python train.py"),
            "{m}"
        );
        let m = explain(&["run", "-p", "x", "echo", "it's"]).expect("explained");
        assert!(m.contains(r"-- echo 'it'\''s'"), "{m}");
        assert!(explain(&["run", "-e"]).is_none());
        assert!(explain(&["list", "extra"]).is_none());
    }
}
