//! `tokenvault mcp serve`: tokenvault's own MCP server (stdio), so that agents use credentials
//! without ever seeing them. A thin front door: the tools call `services::agent` and render its
//! data as JSON tool results; this file only decides how to ask the human (URL-mode elicitation
//! pointing at `agent_page`, else a desktop dialog, else a message naming the command to run).
//!
//! Built on `rmcp`, the official Rust SDK of the Model Context Protocol: it implements the
//! current protocol (2025-11-25, with URL-mode elicitation) and is maintained with the spec.
//! Only this command starts an async runtime (current-thread); every other command stays sync.
//!
//! Every tool call is audited (`mcp-TOOL`), with the MCP client's name from `initialize` as the
//! actor; the reads it makes are audited as well (`mcp-run`, `verify`, `set`).

use crate::cli::{ColorWhen, McpServeArgs};
use crate::context::{Ctx, Outcome};
use crate::mcp::agent_page::{Answer, Ask, Page};
use crate::printer::Printer;
use crate::services::agent::{self as svc, Prepared, RunRequest};
use crate::settings::Settings;
use anyhow::Result;
use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
use rmcp::model::{
    CallToolResult, ContentBlock, ElicitRequestParams, ElicitationAction, Implementation,
    ServerCapabilities, ServerConfig,
};
use rmcp::service::{ElicitationMode, RequestContext};
use rmcp::{
    schemars, tool, tool_handler, tool_router, ErrorData, RoleServer, ServerHandler, ServiceExt,
};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

pub fn run(ctx: &mut Ctx, args: &McpServeArgs) -> Result<Outcome> {
    let server = Server {
        global: ctx.settings.global.clone(),
        approval_timeout: Duration::from_secs(args.approval_timeout.max(1)),
        tool_router: Server::tool_router(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let service = server
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|e| anyhow::anyhow!("mcp serve: the MCP handshake failed: {e}"))?;
        service
            .waiting()
            .await
            .map_err(|e| anyhow::anyhow!("mcp serve: {e}"))?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(Outcome::Success)
}

#[derive(Clone)]
struct Server {
    global: crate::cli::GlobalArgs,
    approval_timeout: Duration,
    #[allow(dead_code)] // read by the tool_handler macro
    tool_router: ToolRouter<Self>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct CheckParams {
    /// A profile name (see `tokenvault profile list`).
    #[serde(default)]
    profile: Option<String>,
    /// `VAR=REF` pairs, e.g. `HF_TOKEN=tv://huggingface/token`.
    #[serde(default)]
    variables: Vec<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct VerifyParams {
    /// The reference: `tv://ITEM/FIELD`, `ITEM/FIELD` or `ITEM`.
    reference: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct RunParams {
    /// The program to run (no shell).
    command: String,
    /// Its arguments.
    #[serde(default)]
    args: Vec<String>,
    /// Environment variable → reference, e.g. {"HF_TOKEN": "tv://huggingface/token"}.
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// Working directory (default: the server's).
    #[serde(default)]
    cwd: Option<String>,
    /// Seconds before the command is killed (default 120, at most 3600).
    #[serde(default)]
    timeout: Option<u64>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct RequestParams {
    /// The provider, e.g. `huggingface`, `openai`, `github`.
    provider: String,
    /// Why the token is needed; shown to the human.
    reason: String,
    /// The item to store it under (default: the provider's name).
    #[serde(default)]
    item: Option<String>,
}

fn ok_json(value: serde_json::Value) -> CallToolResult {
    CallToolResult::structured(value)
}

fn tool_error(e: &anyhow::Error) -> CallToolResult {
    let mut text = format!("error: {}", crate::error::message_of(e));
    if let Some(h) = crate::error::hint_of(e) {
        text.push_str(&format!("\nhint: {h}"));
    }
    CallToolResult::error(vec![ContentBlock::text(text)])
}

fn refused(message: String, hint: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(format!(
        "refused: {message}\nhint: {hint}"
    ))])
}

fn internal(e: impl std::fmt::Display) -> ErrorData {
    ErrorData::internal_error(format!("tokenvault mcp serve: {e}"), None)
}

fn client_name(rc: &RequestContext<RoleServer>) -> String {
    rc.peer
        .peer_info()
        .map(|i| i.client_info.name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "mcp-client".to_owned())
}

fn supports_url_elicitation(rc: &RequestContext<RoleServer>) -> bool {
    rc.peer
        .supported_elicitation_modes()
        .contains(&ElicitationMode::Url)
}

/// What the audit log may record of a reference the agent passed: the reference, or a
/// placeholder when it is not one (it could be a value pasted by mistake).
fn audit_ref(text: &str) -> String {
    match tokenvault_core::Reference::parse(text) {
        Ok(r) => r.to_string(),
        Err(_) => "<not a reference>".to_owned(),
    }
}

/// [`audit_ref`] for a `VAR=REF` pair.
fn audit_pair(var: &str, reference: &str) -> String {
    let var: String = var
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect();
    format!("{var}={}", audit_ref(reference))
}

/// A profile or provider name for the audit log: name characters only, at most 64.
fn audit_name(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .take(64)
        .collect()
}

impl Server {
    /// Refuses an argument that should be a reference and is not, without repeating it (an
    /// agent may pass a token where a reference goes, and a tool result must not hold a value);
    /// the call is audited with a placeholder for it.
    async fn not_a_reference(
        &self,
        tool: &'static str,
        what: &str,
    ) -> Result<CallToolResult, ErrorData> {
        let _ = self
            .with_ctx(tool, vec!["<not a reference>".to_owned()], |_| {
                anyhow::bail!("not a reference") as Result<()>
            })
            .await?;
        Ok(CallToolResult::error(vec![ContentBlock::text(format!(
            "error: {what} is not a reference (it is not repeated here, in case it is a value)\nhint: references look like tv://ITEM/FIELD, ITEM/FIELD or ITEM; list_credentials shows them"
        ))]))
    }
}

fn random_id() -> String {
    let mut b = [0u8; 12];
    let _ = getrandom::getrandom(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Server {
    /// Runs `f` on a blocking thread with a fresh `Ctx` (the config is re-read, so an allow-list
    /// rule added by "always" applies at once), then audits the call as `mcp-TOOL`.
    async fn with_ctx<T: Send + 'static>(
        &self,
        tool: &'static str,
        refs: Vec<String>,
        f: impl FnOnce(&mut Ctx) -> Result<T> + Send + 'static,
    ) -> Result<Result<T>, ErrorData> {
        let global = self.global.clone();
        tokio::task::spawn_blocking(move || -> Result<T> {
            let settings = Settings::load(global)?;
            let mut ctx = Ctx {
                settings,
                printer: Printer::new(true, ColorWhen::Never),
            };
            let result = f(&mut ctx);
            crate::audit::record(
                &ctx,
                &format!("mcp-{tool}"),
                None,
                &refs,
                &crate::audit::outcome_of(&result),
            );
            result
        })
        .await
        .map_err(internal)
    }

    /// Asks the human through a one-time local page delivered by URL elicitation; `None` when
    /// the client cannot do URL elicitation.
    async fn ask_by_page(
        &self,
        rc: &RequestContext<RoleServer>,
        ask: Ask,
        message: String,
    ) -> Result<Option<std::result::Result<Answer, String>>, ErrorData> {
        if !supports_url_elicitation(rc) {
            return Ok(None);
        }
        let page = Page::start(ask).map_err(internal)?;
        let params = ElicitRequestParams::UrlElicitationParams {
            meta: None,
            message,
            url: page.url.clone(),
            elicitation_id: random_id(),
        };
        let answer = rc
            .peer
            .create_elicitation_with_timeout(params, Some(self.approval_timeout))
            .await;
        let action = match answer {
            Ok(r) => r.action,
            Err(e) => {
                return Ok(Some(Err(format!(
                    "the client could not show the page: {e}"
                ))))
            }
        };
        if action != ElicitationAction::Accept {
            return Ok(Some(Err("the human declined".to_owned())));
        }
        let timeout = self.approval_timeout;
        let answer = tokio::task::spawn_blocking(move || page.wait(timeout))
            .await
            .map_err(internal)?;
        Ok(Some(answer.ok_or_else(|| {
            format!("no answer on the page within {} seconds", timeout.as_secs())
        })))
    }
}

#[tool_router]
impl Server {
    #[tool(
        description = "List the credentials stored in tokenvault: reference (tv://ITEM/FIELD), provider, masked value, age, last live check, and state (ok, stale, failed, unverified). Never returns a value."
    )]
    async fn list_credentials(
        &self,
        rc: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        crate::audit::set_actor(&client_name(&rc));
        let r = self
            .with_ctx("list_credentials", Vec::new(), svc::list_credentials)
            .await?;
        Ok(match r {
            Ok(rows) => ok_json(json!({ "credentials": rows })),
            Err(e) => tool_error(&e),
        })
    }

    #[tool(
        description = "Check which credentials a launch needs are present, missing, stale or failed, for a profile and/or VAR=REF pairs (e.g. HF_TOKEN=tv://huggingface/token). Reads no value."
    )]
    async fn check_credentials(
        &self,
        rc: RequestContext<RoleServer>,
        Parameters(p): Parameters<CheckParams>,
    ) -> Result<CallToolResult, ErrorData> {
        crate::audit::set_actor(&client_name(&rc));
        for v in &p.variables {
            let (var, r) = v.split_once('=').unwrap_or(("", v.as_str()));
            if tokenvault_core::Reference::parse(r).is_err() {
                return self
                    .not_a_reference(
                        "check_credentials",
                        &format!("the value for `{}` in `variables`", audit_name(var)),
                    )
                    .await;
            }
        }
        let mut refs: Vec<String> = p
            .variables
            .iter()
            .map(|v| {
                let (var, r) = v.split_once('=').unwrap_or((v.as_str(), ""));
                audit_pair(var, r)
            })
            .collect();
        refs.extend(
            p.profile
                .iter()
                .map(|n| format!("profile {}", audit_name(n))),
        );
        let r = self
            .with_ctx("check_credentials", refs, move |ctx| {
                svc::check_credentials(ctx, p.profile, p.variables)
            })
            .await?;
        Ok(match r {
            Ok(report) => ok_json(json!(report)),
            Err(e) => tool_error(&e),
        })
    }

    #[tool(
        description = "Check a stored credential with its provider (live): account, token name, role or scopes, expiry, and least-privilege advice. Never returns the value."
    )]
    async fn verify_credential(
        &self,
        rc: RequestContext<RoleServer>,
        Parameters(p): Parameters<VerifyParams>,
    ) -> Result<CallToolResult, ErrorData> {
        crate::audit::set_actor(&client_name(&rc));
        if tokenvault_core::Reference::parse(&p.reference).is_err() {
            return self
                .not_a_reference("verify_credential", "`reference`")
                .await;
        }
        let reference = p.reference.clone();
        let r = self
            .with_ctx(
                "verify_credential",
                vec![audit_ref(&p.reference)],
                move |ctx| svc::verify_credential(ctx, &reference),
            )
            .await?;
        Ok(match r {
            Ok(report) => ok_json(json!(report)),
            Err(e) => tool_error(&e),
        })
    }

    #[tool(
        description = "Run a command (no shell) with credentials in its environment, e.g. env {\"HF_TOKEN\": \"tv://huggingface/token\"}. Returns exit code and output with every injected value (and its base64 and URL-encoded forms) replaced by <concealed:VAR>. Runs only commands on the user's allow-list; anything else is shown to the human for approval (once or always) and refused without one."
    )]
    async fn run_with_credentials(
        &self,
        rc: RequestContext<RoleServer>,
        Parameters(p): Parameters<RunParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let client = client_name(&rc);
        crate::audit::set_actor(&client);
        let timeout = p
            .timeout
            .unwrap_or(svc::DEFAULT_TIMEOUT_SECS)
            .clamp(1, svc::MAX_TIMEOUT_SECS);
        let request = RunRequest {
            command: p.command,
            args: p.args,
            env: p.env.into_iter().collect(),
            cwd: p.cwd.map(Into::into),
            timeout: Duration::from_secs(timeout),
        };
        if let Some((var, _)) = request
            .env
            .iter()
            .find(|(_, r)| tokenvault_core::Reference::parse(r).is_err())
        {
            return self
                .not_a_reference(
                    "run_with_credentials",
                    &format!("`env.{}`", audit_name(var)),
                )
                .await;
        }
        let refs: Vec<String> = request.env.iter().map(|(v, r)| audit_pair(v, r)).collect();
        let prepared = match self
            .with_ctx("run_with_credentials-check", refs.clone(), move |ctx| {
                svc::prepare_run(ctx, request)
            })
            .await?
        {
            Ok(p) => p,
            Err(e) => return Ok(tool_error(&e)),
        };
        let mut always = false;
        if !prepared.needs_approval.is_empty() {
            let cwd = prepared
                .request
                .cwd
                .clone()
                .or_else(|| std::env::current_dir().ok())
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let ask = Ask::Approve {
                client: client.clone(),
                line: prepared.line.clone(),
                refs: prepared
                    .refs
                    .iter()
                    .map(|(v, r)| format!("{v}={r}"))
                    .collect(),
                cwd,
            };
            let message = format!(
                "{client} wants to run `{}` with {}. Open the page to allow it once, always, or deny.",
                prepared.line,
                prepared.needs_approval.join(", ")
            );
            match self.ask_by_page(&rc, ask, message).await? {
                Some(Ok(Answer::Once)) => {}
                Some(Ok(Answer::Always)) => always = true,
                Some(Ok(_)) => return self.denied(&prepared, "the human denied it").await,
                Some(Err(why)) => return self.denied(&prepared, &why).await,
                None => {
                    let question = format!(
                        "{client} wants to run\n\n  {}\n\nwith {}. Allow it this once?",
                        prepared.line,
                        prepared.needs_approval.join(", ")
                    );
                    let asked = tokio::task::spawn_blocking(move || {
                        crate::prompt::confirm_desktop(&question)
                    })
                    .await
                    .map_err(internal)?;
                    match asked {
                        crate::prompt::Asked::Yes => {}
                        crate::prompt::Asked::No => {
                            return self.denied(&prepared, "the human denied it").await
                        }
                        crate::prompt::Asked::NoChannel => {
                            return self.denied(&prepared, "it is not on the allow-list and no human can be asked (this client has no URL elicitation, and there is no desktop dialog)").await
                        }
                    }
                }
            }
        }
        let r = self
            .with_ctx("run_with_credentials", refs, move |ctx| {
                if always {
                    svc::allow_always(ctx, &prepared)?;
                }
                svc::execute_run(ctx, &prepared)
            })
            .await?;
        Ok(match r {
            Ok(report) => ok_json(json!(report)),
            Err(e) => tool_error(&e),
        })
    }

    #[tool(
        description = "Ask the human for a missing token, out of band (a local page opened through the client, or a desktop prompt): the value is stored in tokenvault and only its masked form comes back. Never ask the user to paste a token into the conversation; use this instead."
    )]
    async fn request_credential(
        &self,
        rc: RequestContext<RoleServer>,
        Parameters(p): Parameters<RequestParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let client = client_name(&rc);
        crate::audit::set_actor(&client);
        let (provider, item) = (p.provider.clone(), p.item.clone());
        let target = self
            .with_ctx(
                "request_credential",
                vec![format!("provider {}", audit_name(&p.provider))],
                move |ctx| {
                    let reference = svc::credential_target(ctx, &provider, item.as_deref())?;
                    let known = ctx.settings.catalogue.get(&provider);
                    Ok((
                        reference,
                        known.map(|k| k.name.clone()).unwrap_or(provider),
                        known.and_then(|k| k.create_url.clone()),
                    ))
                },
            )
            .await?;
        let (reference, provider_name, create_url) = match target {
            Ok(t) => t,
            Err(e) => return Ok(tool_error(&e)),
        };
        let short = reference.trim_start_matches("tv://").to_owned();
        let ask = Ask::Token {
            reference: reference.clone(),
            provider: provider_name.clone(),
            reason: p.reason.clone(),
            create_url,
        };
        let message = format!(
            "{client} asks for a {provider_name} token ({}). Open the page to type it into tokenvault; the agent will not see it.",
            p.reason
        );
        let value = match self.ask_by_page(&rc, ask, message).await? {
            Some(Ok(Answer::Token(v))) => Some(v),
            Some(Ok(_)) => None,
            Some(Err(why)) => {
                return Ok(ok_json(json!({
                    "stored": false,
                    "reference": reference,
                    "message": format!("not stored: {why}"),
                })))
            }
            None => {
                let prompt = format!(
                    "{client} asks for a {provider_name} token: {}\nIt is stored in tokenvault as {reference}; the agent will not see it.",
                    p.reason
                );
                tokio::task::spawn_blocking(move || crate::prompt::ask_value_out_of_band(&prompt))
                    .await
                    .map_err(internal)?
                    .unwrap_or(None)
            }
        };
        let Some(value) = value else {
            return Ok(ok_json(json!({
                "stored": false,
                "reference": reference,
                "message": format!(
                    "no human could be asked from here (the client has no URL elicitation and there is no desktop prompt): ask the user to run `tokenvault set {short}` in a terminal, then call check_credentials again"
                ),
            })));
        };
        let r = self
            .with_ctx(
                "request_credential-store",
                vec![reference.clone()],
                move |ctx| svc::store_credential(ctx, &reference, &value),
            )
            .await?;
        Ok(match r {
            Ok(stored) => ok_json(json!({
                "stored": true,
                "reference": stored.reference,
                "masked": stored.masked,
                "replaced": stored.replaced,
            })),
            Err(e) => tool_error(&e),
        })
    }
}

impl Server {
    /// The refusal of a command that was not approved, audited as such.
    async fn denied(&self, prepared: &Prepared, why: &str) -> Result<CallToolResult, ErrorData> {
        let refs: Vec<String> = prepared
            .refs
            .iter()
            .map(|(v, r)| format!("{v}={r}"))
            .collect();
        let rule = format!(
            "[[agent.allow]]\ncommand = {}\nrefs = [{}]",
            toml_edit::value(tokenvault_core::agent::exact_pattern(&prepared.line)),
            prepared
                .needs_approval
                .iter()
                .map(|r| format!("\"{r}\""))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let why_owned = why.to_owned();
        self.with_ctx("run_with_credentials-refused", refs, move |_| {
            anyhow::bail!("refused: {why_owned}") as Result<()>
        })
        .await?
        .ok();
        Ok(refused(
            format!("`{}` was not run: {why}", prepared.line),
            format!("the user can allow it in tokenvault's config.toml:\n{rule}"),
        ))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("tokenvault", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "tokenvault holds the user's API tokens. Use these tools instead of asking for tokens or reading .env files: \
                 list_credentials and check_credentials to see what is stored, verify_credential to check one, \
                 run_with_credentials to run a command with tokens in its environment (output masked), and \
                 request_credential to have the human add a missing token out of band. No tool ever returns a value.",
            )
    }
}
