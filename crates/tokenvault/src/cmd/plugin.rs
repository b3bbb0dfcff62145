//! `tokenvault plugin init TOOL`: a shell function named after TOOL that runs it through
//! `tokenvault run` with its credentials, as 1Password's shell plugins do — `eval "$(tokenvault
//! plugin init hf)"` in ~/.bashrc, and plain `hf upload …` gets HF_TOKEN from the vault, in that
//! process only. The function holds no value and no reference to one beyond an item's name.

use crate::cli::{PluginCommand, PluginInitArgs, PluginShell};
use crate::context::{Ctx, Outcome};
use crate::error::hinted;
use anyhow::Result;
use tokenvault_core::dotenv::shell_quote;
use tokenvault_core::ItemName;

/// Tools with a built-in plugin: the command, the item it uses by default, what it reads.
const TOOLS: &[(&str, &str, &str)] = &[
    ("hf", "huggingface", "the Hugging Face CLI (HF_TOKEN)"),
    (
        "huggingface-cli",
        "huggingface",
        "the older Hugging Face CLI (HF_TOKEN)",
    ),
    ("gh", "github", "the GitHub CLI (GITHUB_TOKEN)"),
    (
        "aws",
        "aws",
        "the AWS CLI (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION…)",
    ),
    ("openai", "openai", "the OpenAI CLI (OPENAI_API_KEY)"),
    ("anthropic", "anthropic", "scripts using ANTHROPIC_API_KEY"),
];

pub fn run(ctx: &mut Ctx, command: &PluginCommand) -> Result<Outcome> {
    match command {
        PluginCommand::List => {
            let mut out = String::new();
            for (tool, item, what) in TOOLS {
                out.push_str(&format!("{tool:<16} --item {item:<12} {what}\n"));
            }
            ctx.printer.data(&out)?;
            Ok(Outcome::Success)
        }
        PluginCommand::Init(args) => init(ctx, args),
    }
}

fn init(ctx: &mut Ctx, args: &PluginInitArgs) -> Result<Outcome> {
    let tool = &args.tool;
    let valid = !tool.is_empty()
        && tool
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !tool.starts_with(['-', '.']);
    if !valid {
        return Err(hinted(
            format!("'{tool}' cannot be a shell function name"),
            "name the command as you type it: letters, digits, '-', '_', '.'",
        ));
    }
    let mut run_args: Vec<String> = vec!["run".into()];
    for p in &args.profiles {
        run_args.extend(["-p".into(), p.clone()]);
    }
    let item = match (&args.item, args.profiles.is_empty()) {
        (Some(i), _) => Some(i.clone()),
        (None, true) => match TOOLS.iter().find(|(t, _, _)| t == tool) {
            Some((_, item, _)) => Some((*item).to_owned()),
            None => {
                return Err(hinted(
                    format!("there is no built-in plugin for '{tool}'"),
                    format!(
                        "say which item it uses: `tokenvault plugin init {tool} --item ITEM` (or -p PROFILE); built in: {}",
                        TOOLS.iter().map(|(t, _, _)| *t).collect::<Vec<_>>().join(", ")
                    ),
                ))
            }
        },
        (None, false) => None,
    };
    if let Some(i) = &item {
        ItemName::new(i)?;
        run_args.extend(["--item".into(), i.clone()]);
    }
    let tokenvault = crate::exec::launcher::self_path()?;
    let call = std::iter::once(tokenvault.display().to_string())
        .chain(run_args)
        .map(|a| shell_quote(&a))
        .collect::<Vec<_>>()
        .join(" ");
    let body = match args.shell {
        PluginShell::Bash | PluginShell::Zsh => format!(
            "# tokenvault shell plugin for {tool}: `{tool} …` runs with its credentials from the vault.\n\
             {tool}() {{ {call} -- {tool} \"$@\"; }}\n"
        ),
        PluginShell::Fish => format!(
            "# tokenvault shell plugin for {tool}: `{tool} …` runs with its credentials from the vault.\n\
             function {tool} --wraps {tool}\n    {call} -- {tool} $argv\nend\n"
        ),
    };
    ctx.printer.data(&body)?;
    Ok(Outcome::Success)
}
