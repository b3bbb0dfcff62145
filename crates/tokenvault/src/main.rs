//! tokenvault's entry point: a switchboard. Harden the process, parse, run one command, map the
//! outcome to an exit code (0 success, 1 negative answer, 2 error; a closed stdout is a quiet 0).

mod argguard;
mod audit;
mod backends;
mod cli;
mod cmd;
mod complete;
mod config;
mod context;
mod envvars;
mod error;
mod exec;
mod mcp;
mod printer;
mod prompt;
mod render;
mod secretfile;
mod services;
mod settings;
mod vault;
mod web;

use clap::Parser;
use cli::{Cli, Command};
use context::{Ctx, Outcome};
use printer::{BrokenPipe, Printer};
use std::process::ExitCode;

fn main() -> ExitCode {
    exec::hardening::harden_process();
    // First, while the process has one thread: no child may inherit the vault's passphrase.
    prompt::take_from_environment();
    context::session_bus_fallback();
    printer::install_panic_hook();
    let args = cli::as_docker_helper(std::env::args_os().collect());
    complete::answer_if_asked();
    let early = Printer::new(false, cli::ColorWhen::Auto);
    if let Err(e) = argguard::check(
        args.get(1..).unwrap_or_default(),
        tokenvault_core::Catalogue::builtin_shared(),
    ) {
        return report(&early, &e);
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            if let Some(better) =
                cli::command_after_double_dash(args.get(1..).unwrap_or_default(), &e)
            {
                return report(&early, &better);
            }
            return early.clap_error(&e);
        }
    };
    let color = if cli.global.no_color {
        cli::ColorWhen::Never
    } else {
        cli.global.color
    };
    let printer = Printer::new(cli.global.quiet, color);
    match run(cli, printer.clone()) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Negative) => ExitCode::from(1),
        Ok(Outcome::Code(c)) => ExitCode::from(u8::try_from(c).unwrap_or(2)),
        Err(e) if e.downcast_ref::<BrokenPipe>().is_some() => ExitCode::SUCCESS,
        Err(e) => report(&printer, &e),
    }
}

/// Prints an error (each cause once) and its hint; exit code 2 (or the error's own, see
/// [`error::Coded`]).
fn report(printer: &Printer, e: &anyhow::Error) -> ExitCode {
    printer.error(&error::message_of(e));
    if let Some(h) = error::hint_of(e) {
        printer.hint(&h);
    }
    ExitCode::from(error::code_of(e))
}

fn run(cli: Cli, printer: Printer) -> anyhow::Result<Outcome> {
    if cli.global.json {
        if let Some((why, hint)) = cli::json_refusal(&cli.command) {
            return Err(error::hinted(format!("--json: {why}"), hint));
        }
    }
    if let Command::Completions(args) = &cli.command {
        return cmd::completions::run(args, &printer);
    }
    if let Command::Man(args) = &cli.command {
        return cmd::man::run(args, &printer);
    }
    let settings = settings::Settings::load(cli.global.clone())?;
    let mut ctx = Ctx { settings, printer };
    let result = dispatch(&cli, &mut ctx);
    for item in vault::take_distrusted() {
        ctx.printer.warning(&format!(
            "the index entry of '{item}' was changed outside tokenvault (its tag does not match the vault): \
             it was not believed (the vault decides; `tokenvault unlock` rebuilds the entry from it)"
        ));
    }
    if let Some((action, references)) = audited(&cli.command) {
        audit::record(&ctx, action, None, &references, &audit::outcome_of(&result));
    }
    result
}

/// Commands whose every run is recorded here, after the fact (those that read or change values
/// record themselves, with the references they resolved): they change what can reach the vault
/// (unlock, lock, profiles, wrappers, MCP servers) or read every value (scan).
fn audited(command: &Command) -> Option<(&'static str, Vec<String>)> {
    use cli::{McpCommand, ProfileCommand};
    let refs = |sources: &cli::EnvSources| {
        let mut r: Vec<String> = sources.env.clone();
        r.extend(sources.profiles.iter().map(|p| format!("profile {p}")));
        r.extend(sources.items.iter().map(|i| format!("item {i}")));
        r
    };
    Some(match command {
        Command::Unlock(_) => ("unlock", Vec::new()),
        Command::Lock => ("lock", Vec::new()),
        Command::Scan(_) => ("scan", Vec::new()),
        Command::Profile(ProfileCommand::Set { name, pairs }) => ("profile-set", {
            let mut r = vec![format!("profile {name}")];
            r.extend(pairs.iter().cloned());
            r
        }),
        Command::Profile(ProfileCommand::Rm { name }) => {
            ("profile-rm", vec![format!("profile {name}")])
        }
        Command::Wrapper(a) => ("wrapper", refs(&a.sources)),
        Command::Mcp(McpCommand::Add(a)) => ("mcp-add", {
            let mut r = vec![format!("server {}", a.name)];
            r.extend(a.env.iter().cloned());
            r.extend(a.headers.iter().cloned());
            r
        }),
        _ => return None,
    })
}

fn dispatch(cli: &Cli, ctx: &mut Ctx) -> anyhow::Result<Outcome> {
    match &cli.command {
        Command::Set(a) => cmd::set::run(ctx, a),
        Command::Get(a) => cmd::get::run(ctx, a),
        Command::List => cmd::list::run(ctx),
        Command::Show(a) => cmd::show::run(ctx, a),
        Command::Rm(a) => cmd::rm::run(ctx, a),
        Command::Verify(a) => cmd::verify::run(ctx, a),
        Command::Import(a) => cmd::import::run(ctx, a),
        Command::Doctor => cmd::doctor::run(ctx),
        Command::Unlock(a) => cmd::unlock::unlock(ctx, a),
        Command::Lock => cmd::unlock::lock(ctx),
        Command::Run(a) => cmd::run::run(ctx, a),
        Command::Profile(a) => cmd::profile::run(ctx, a),
        Command::Export(a) => cmd::export::run(ctx, a),
        Command::Inject(a) => cmd::inject::run(ctx, a),
        Command::Wrapper(a) => cmd::wrapper::run(ctx, a),
        Command::Plugin(a) => cmd::plugin::run(ctx, a),
        Command::GitCredential(a) => cmd::git_credential::run(ctx, a),
        Command::DockerCredential(a) => cmd::docker_credential::run(ctx, a),
        Command::Keyring(a) => cmd::keyring::run(ctx, a),
        Command::Audit(a) => cmd::audit::run(ctx, a),
        Command::Scan(a) => cmd::scan::run(ctx, a),
        Command::Hook(a) => cmd::hook::run(ctx, a),
        Command::Mcp(a) => cmd::mcp::run(ctx, a),
        Command::AgentSetup(a) => cmd::agent_setup::run(ctx, a),
        Command::Rotate(a) => cmd::rotate::run(ctx, a),
        Command::Status(a) => cmd::status::run(ctx, a),
        Command::Ui(a) => cmd::ui::run(ctx, a),
        Command::Backup(a) => cmd::backup::run(ctx, a),
        Command::Passwd(a) => cmd::passwd::passwd(ctx, a),
        Command::Rekey => cmd::passwd::rekey(ctx),
        Command::Backend(a) => cmd::backend::run(ctx, a),
        Command::Share(a) => cmd::share::run(ctx, a),
        Command::Receive(a) => cmd::receive::run(ctx, a),
        Command::Copy(a) => cmd::copy::run(ctx, a),
        Command::Completions(_) | Command::Man(_) => unreachable!("handled above"),
    }
}
