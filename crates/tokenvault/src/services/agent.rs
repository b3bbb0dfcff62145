//! What `tokenvault mcp serve` does for an agent, as data: list, check, verify and store
//! credentials, and run a command with credentials in its environment and its output concealed.
//! Every result here is safe to show a model: references, masked values, states, advice — never a
//! value. The front door (`cmd/mcp/serve.rs`) decides how to ask the human (policy approvals,
//! missing tokens) and renders these structs as JSON tool results; nothing here prints or prompts.

use crate::cli::EnvSources;
use crate::context::{now_rfc3339, Ctx};
use crate::error::hinted;
use crate::services::index_rows;
use crate::services::resolve::{build_plan, resolve_plan};
use crate::services::verify::{live_check, privilege_warning, profile_refs, profiles_using, Live};
use anyhow::{Context as _, Result};
use serde::Serialize;
use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokenvault_core::agent::{command_line, encoded_forms, exact_pattern, not_allowed, AllowRule};
use tokenvault_core::conceal::Concealer;
use tokenvault_core::envplan::EnvValue;
use tokenvault_core::{Reference, Secret};
use tokenvault_store::index::FieldMeta;

/// Days after which an unchanged secret is stale: `tokenvault status`'s default.
fn stale_days() -> i64 {
    i64::from(tokenvault_core::status::Policy::default().stale_days)
}
/// Most bytes of each output stream a tool result carries (the end is kept).
const MAX_OUTPUT: usize = 64 * 1024;
/// `run_with_credentials` without a timeout, and the longest one accepted.
pub const DEFAULT_TIMEOUT_SECS: u64 = 120;
pub const MAX_TIMEOUT_SECS: u64 = 3600;

/// One stored credential, as `list_credentials` shows it.
#[derive(Debug, Serialize)]
pub struct Credential {
    pub reference: String,
    pub item: String,
    pub field: String,
    pub provider: String,
    pub masked: String,
    pub updated: String,
    pub age: String,
    /// `ok 3d ago`, `FAILED 1h ago`, `never`.
    pub verified: String,
    /// `ok`, `stale` (unchanged for more than 90 days), `failed` (the last live check was
    /// rejected), `unverified`.
    pub state: &'static str,
}

fn days_since(t: &str) -> Option<i64> {
    let then =
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()?;
    Some((time::OffsetDateTime::now_utc() - then).whole_days())
}

/// The state of a stored field from its index entry.
fn state_of(meta: Option<&FieldMeta>) -> &'static str {
    let Some(f) = meta else {
        return "unverified";
    };
    if f.verified.as_ref().is_some_and(|v| !v.ok) {
        "failed"
    } else if days_since(&f.updated).is_some_and(|d| d > stale_days()) {
        "stale"
    } else if f.verified.as_ref().is_some_and(|v| v.ok) {
        "ok"
    } else {
        "unverified"
    }
}

/// Every stored credential (`list_credentials`).
pub fn list_credentials(ctx: &mut Ctx) -> Result<Vec<Credential>> {
    let vault = ctx.open_vault()?;
    let index = vault.load_index_checked()?;
    let keys = vault.keys(&index)?;
    let rows = index_rows::rows(&index, &keys);
    Ok(keys
        .iter()
        .zip(rows)
        .map(|(k, r)| {
            let meta = index
                .items
                .get(k.item.as_str())
                .and_then(|m| m.fields.get(k.field.as_str()));
            Credential {
                reference: format!("tv://{}/{}", k.item, k.field),
                item: r.item.to_owned(),
                field: r.field.to_owned(),
                provider: r.provider.to_owned(),
                masked: r.masked.to_owned(),
                updated: r.updated.to_owned(),
                age: index_rows::age(r.updated),
                verified: r.verified,
                state: state_of(meta),
            }
        })
        .collect())
}

/// One variable a launch needs (`check_credentials`).
#[derive(Debug, Serialize)]
pub struct Needed {
    pub variable: String,
    pub reference: Option<String>,
    /// `present`, `missing`, `stale`, `failed`, `unverified`, `plain` (a literal from an env file),
    /// `invalid` (the reference cannot be resolved).
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub masked: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CheckReport {
    /// Every variable can be launched with (nothing missing or invalid).
    pub ready: bool,
    pub variables: Vec<Needed>,
}

/// Which references a launch needs are present, missing, stale or failed, for `profile` and/or
/// `VAR=REF` pairs. Reads the index only, never a value.
pub fn check_credentials(
    ctx: &mut Ctx,
    profile: Option<String>,
    variables: Vec<String>,
) -> Result<CheckReport> {
    let sources = EnvSources {
        profiles: profile.into_iter().collect(),
        env: variables,
        env_files: Vec::new(),
        items: Vec::new(),
    };
    let plan = build_plan(ctx, &sources)?;
    let vault = ctx.open_vault()?;
    let index = vault.load_index_checked()?;
    let held = vault.keys(&index)?;
    let mut out = Vec::new();
    for e in plan.entries() {
        let EnvValue::Ref(r) = &e.value else {
            out.push(Needed {
                variable: e.var.clone(),
                reference: None,
                state: "plain".into(),
                masked: None,
                hint: None,
            });
            continue;
        };
        let target = match vault.target(&index, r, None) {
            Ok(t) => t,
            Err(err) => {
                out.push(Needed {
                    variable: e.var.clone(),
                    reference: Some(r.to_string()),
                    state: "invalid".into(),
                    masked: None,
                    hint: Some(format!("{err:#}")),
                });
                continue;
            }
        };
        let shown = target.reference();
        let meta = index
            .items
            .get(target.key.item.as_str())
            .and_then(|m| m.fields.get(target.key.field.as_str()));
        let short = shown.trim_start_matches("tv://").to_owned();
        let (state, hint) = if !held.contains(&target.key) {
            (
                "missing",
                Some(format!(
                    "ask the user with the request_credential tool, or have them run `tokenvault set {short}`"
                )),
            )
        } else {
            match state_of(meta) {
                "failed" => (
                    "failed",
                    Some(format!(
                        "its last live check was rejected: verify_credential, then request_credential or `tokenvault rotate {short}`"
                    )),
                ),
                "stale" => (
                    "stale",
                    Some(format!(
                        "unchanged for more than {} days: consider `tokenvault rotate {short}`",
                        stale_days()
                    )),
                ),
                "ok" => ("present", None),
                other => (other, None),
            }
        };
        out.push(Needed {
            variable: e.var.clone(),
            reference: Some(shown),
            state: state.into(),
            masked: meta.map(|f| f.masked.clone()),
            hint,
        });
    }
    Ok(CheckReport {
        ready: out
            .iter()
            .all(|n| !matches!(n.state.as_str(), "missing" | "invalid")),
        variables: out,
    })
}

/// `verify_credential`'s answer.
#[derive(Debug, Serialize)]
pub struct VerifyReport {
    pub reference: String,
    /// `valid`, `invalid`/`forbidden`/… (the provider's rejection), `unknown` (network trouble),
    /// `incomplete`, `not-available`, `missing`.
    pub state: String,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// The live check of one stored value (`verify_credential`); recorded in the index and audited.
pub fn verify_credential(ctx: &mut Ctx, reference: &str) -> Result<VerifyReport> {
    let r = Reference::parse(reference)?;
    let profiles = ctx.settings.config.config.profiles.clone();
    let vault = ctx.open_vault()?;
    let backend = vault.kind().as_str();
    let target = vault.target_for_read(&r)?;
    let shown = target.reference();
    let Some(value) = vault.store().get(&target.key)? else {
        let short = shown.trim_start_matches("tv://");
        return Ok(VerifyReport {
            reference: shown.clone(),
            state: "missing".into(),
            detail: format!("{shown} is not stored"),
            account: None,
            advice: None,
            hint: Some(format!(
                "ask the user with request_credential, or have them run `tokenvault set {short}`"
            )),
        });
    };
    let index = vault.load_index_trusted()?;
    let users = profile_refs(&profiles, &vault, &index);
    let provider = crate::services::verify::provider_of(&vault, &target);
    // A result that could not be recorded in the index still stands: the agent gets the answer.
    let (live, _unrecorded) = live_check(&vault, &index, &target, &value, false);
    let report = match live {
        Live::Valid { account, .. } => VerifyReport {
            reference: shown.clone(),
            state: "valid".into(),
            detail: account.summary(),
            advice: privilege_warning(&account, &profiles_using(&users, &shown), provider),
            account: serde_json::to_value(&account).ok(),
            hint: None,
        },
        Live::Rejected(e) | Live::Unknown(e) | Live::Incomplete(e) => VerifyReport {
            reference: shown.clone(),
            state: e.code.to_owned(),
            detail: e.message,
            account: None,
            advice: None,
            hint: Some(e.hint),
        },
        Live::NotAvailable(why) => VerifyReport {
            reference: shown.clone(),
            state: "not-available".into(),
            detail: why,
            account: None,
            advice: None,
            hint: None,
        },
    };
    crate::audit::record(ctx, "verify", Some(backend), &[shown], &report.state);
    Ok(report)
}

/// A `run_with_credentials` request.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub command: String,
    pub args: Vec<String>,
    /// VAR → reference.
    pub env: Vec<(String, String)>,
    pub cwd: Option<PathBuf>,
    pub timeout: Duration,
}

/// A request checked against the policy: the exact command line and the canonical references.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub request: RunRequest,
    /// The command line as the human sees it and allow-list patterns match it.
    pub line: String,
    /// VAR → `tv://ITEM/FIELD`.
    pub refs: Vec<(String, String)>,
    /// References the allow-list does not grant this command line (empty: allowed).
    pub needs_approval: Vec<String>,
}

fn allow_rules(ctx: &Ctx) -> Vec<AllowRule> {
    ctx.settings
        .config
        .config
        .agent
        .allow
        .iter()
        .map(|a| AllowRule {
            command: a.command.clone(),
            refs: a
                .refs
                .iter()
                .map(|r| canonical(ctx, r).unwrap_or_else(|| r.clone()))
                .collect(),
        })
        .collect()
}

/// `tv://ITEM/FIELD` for a reference; a bare item gets its provider's default field (`token`
/// for an unknown provider), as a launch would.
fn canonical(ctx: &Ctx, r: &str) -> Option<String> {
    let r = Reference::parse(r).ok()?;
    let default = ctx
        .settings
        .catalogue
        .for_item(&r.item)
        .map(|p| p.default_field.clone())
        .unwrap_or_else(|| "token".to_owned());
    let (item, field) = r.resolve(&default).ok()?;
    Some(format!("tv://{item}/{field}"))
}

/// Checks a request: variable names, references (resolved to `tv://ITEM/FIELD`), and which of
/// them the allow-list does not grant this command line.
pub fn prepare_run(ctx: &mut Ctx, request: RunRequest) -> Result<Prepared> {
    if request.command.trim().is_empty() {
        return Err(hinted("no command given", "pass `command` (and `args`)"));
    }
    let mut argv = vec![request.command.clone()];
    argv.extend(request.args.iter().cloned());
    let line = command_line(&argv);
    let vault = ctx.open_vault()?;
    let mut refs = Vec::new();
    for (var, reference) in &request.env {
        let (var, r) = tokenvault_core::envplan::parse_assignment(&format!("{var}={reference}"))?;
        let target = vault.target_for_read(&r)?;
        refs.push((var, target.reference()));
    }
    let wanted: Vec<String> = refs.iter().map(|(_, r)| r.clone()).collect();
    let needs_approval = not_allowed(&allow_rules(ctx), &line, &wanted)
        .into_iter()
        .map(str::to_owned)
        .collect();
    Ok(Prepared {
        request,
        line,
        refs,
        needs_approval,
    })
}

/// "Always": appends `[[agent.allow]] command = LINE, refs = […]` to the config.
pub fn allow_always(ctx: &mut Ctx, prepared: &Prepared) -> Result<()> {
    let line = exact_pattern(&prepared.line);
    let refs: Vec<String> = prepared.refs.iter().map(|(_, r)| r.clone()).collect();
    ctx.settings.config.edit(|doc| {
        let agent = doc
            .entry("agent")
            .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()));
        if let Some(t) = agent.as_table_mut() {
            t.set_implicit(true);
            let allow = t
                .entry("allow")
                .or_insert_with(|| toml_edit::Item::ArrayOfTables(Default::default()));
            if let Some(arr) = allow.as_array_of_tables_mut() {
                let mut rule = toml_edit::Table::new();
                rule["command"] = toml_edit::value(line);
                let mut a = toml_edit::Array::new();
                for r in refs {
                    a.push(r);
                }
                rule["refs"] = toml_edit::value(a);
                arr.push(rule);
            }
        }
    })
}

/// `run_with_credentials`' answer.
#[derive(Debug, Serialize)]
pub struct RunReport {
    pub command_line: String,
    /// The exit code; `None` when killed by a signal or the timeout.
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    /// Output with every injected value (and its base64 and URL-encoded forms) replaced by
    /// `<concealed:VAR>`.
    pub stdout: String,
    pub stderr: String,
    /// Bytes dropped from the start of a stream longer than the limit.
    pub stdout_truncated: usize,
    pub stderr_truncated: usize,
    pub injected: Vec<String>,
}

/// Runs a prepared (allowed or approved) command with the values in its environment and its
/// output concealed; audited as `run` before the values leave.
pub fn execute_run(ctx: &mut Ctx, prepared: &Prepared) -> Result<RunReport> {
    let vault = ctx.open_vault()?;
    let backend = vault.kind().as_str();
    let parsed: Vec<Reference> = prepared
        .refs
        .iter()
        .map(|(_, r)| Reference::parse(r))
        .collect::<std::result::Result<_, _>>()?;
    let plan = tokenvault_core::envplan::EnvPlan::new();
    let refs: Vec<&Reference> = parsed.iter().collect();
    let resolved = resolve_plan(&vault, &plan, &refs)?;
    drop(vault);
    let ref_names: Vec<String> = prepared.refs.iter().map(|(_, r)| r.clone()).collect();
    let mut env: Vec<(String, Secret)> = Vec::new();
    for ((var, _), r) in prepared.refs.iter().zip(&parsed) {
        let v = resolved.get(r).cloned().ok_or_else(|| {
            hinted(
                format!("{r} was not resolved"),
                "this is a bug; please report it",
            )
        })?;
        env.push((var.clone(), v));
    }
    crate::audit::record_before_release(ctx, "mcp-run", Some(backend), &ref_names)?;
    let mut conceal: Vec<(String, Vec<u8>)> = Vec::new();
    for (var, value) in &env {
        let bytes = value.expose_secret().as_bytes();
        conceal.push((var.clone(), bytes.to_vec()));
        for form in encoded_forms(bytes) {
            conceal.push((var.clone(), form));
        }
    }
    let report = run_captured(prepared, &env, &conceal);
    for (_, v) in conceal.iter_mut() {
        zeroize::Zeroize::zeroize(v);
    }
    report
}

fn run_captured(
    prepared: &Prepared,
    env: &[(String, Secret)],
    conceal: &[(String, Vec<u8>)],
) -> Result<RunReport> {
    let build = || {
        Concealer::from_bytes(conceal.iter().map(|(n, v)| (n.as_str(), v.as_slice())))
            .context("cannot prepare the output masking")
    };
    let (out_c, err_c) = (build()?, build()?);
    let req = &prepared.request;
    let mut cmd = std::process::Command::new(&req.command);
    cmd.args(&req.args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(cwd) = &req.cwd {
        cmd.current_dir(cwd);
    }
    // Its own process group, so that the timeout stops whatever it started too (a grandchild
    // holding the pipes would otherwise keep us reading).
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    for (var, value) in env {
        // The child's environment is where the values are meant to go.
        cmd.env(var, value.expose_secret());
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| crate::error::start_failure(&req.command, &e))?;
    let (Some(so), Some(se)) = (child.stdout.take(), child.stderr.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        anyhow::bail!("internal error: the child's output pipes are missing");
    };
    let t_out = std::thread::spawn(move || collect(so, out_c));
    let t_err = std::thread::spawn(move || collect(se, err_c));
    let deadline = Instant::now() + req.timeout;
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            #[cfg(unix)]
            if let Ok(pgid) = i32::try_from(child.id()) {
                // SAFETY: kill(2) with a negative pid signals the process group we created for
                // this child (its pid is the group id, and it is not reaped yet, so not reused).
                unsafe {
                    libc::kill(-pgid, libc::SIGKILL);
                }
            }
            let _ = child.kill();
            break child.wait()?;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (stdout, stdout_truncated) = t_out.join().unwrap_or_default();
    let (stderr, stderr_truncated) = t_err.join().unwrap_or_default();
    Ok(RunReport {
        command_line: prepared.line.clone(),
        exit_code: if timed_out { None } else { status.code() },
        timed_out,
        stdout,
        stderr,
        stdout_truncated,
        stderr_truncated,
        injected: prepared
            .refs
            .iter()
            .map(|(v, r)| format!("{v}={r}"))
            .collect(),
    })
}

/// Reads a stream to its end through the concealer, keeping the last [`MAX_OUTPUT`] bytes.
fn collect(mut from: impl Read, mut concealer: Concealer) -> (String, usize) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut kept: Vec<u8> = Vec::new();
    let mut dropped = 0usize;
    let mut keep = |chunk: &[u8], kept: &mut Vec<u8>| {
        kept.extend_from_slice(chunk);
        if kept.len() > MAX_OUTPUT {
            let cut = kept.len() - MAX_OUTPUT;
            kept.drain(..cut);
            dropped += cut;
        }
    };
    let mut out = Vec::new();
    loop {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.clear();
                concealer.feed(&buf[..n], &mut out);
                keep(&out, &mut kept);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    out.clear();
    concealer.finish(&mut out);
    keep(&out, &mut kept);
    zeroize::Zeroize::zeroize(&mut buf);
    (String::from_utf8_lossy(&kept).into_owned(), dropped)
}

/// Where `request_credential` stores a provider's token: `tv://ITEM/DEFAULT_FIELD`, the item
/// being `item` or the provider's id.
pub fn credential_target(ctx: &mut Ctx, provider: &str, item: Option<&str>) -> Result<String> {
    let catalogue = &ctx.settings.catalogue;
    let p = catalogue.get(provider);
    let field = p
        .map(|p| p.default_field.clone())
        .unwrap_or_else(|| "token".into());
    let item = item.unwrap_or(p.map(|p| p.id.as_str()).unwrap_or(provider));
    let r = Reference::parse(&format!("tv://{item}/{field}"))?;
    Ok(r.to_string())
}

/// What `request_credential` reports once the value is stored.
#[derive(Debug, Serialize)]
pub struct Stored {
    pub reference: String,
    pub masked: String,
    pub replaced: bool,
}

/// Stores a value the human gave out of band (never the model) at `reference`, with the
/// provider's format check; returns only its masked form.
pub fn store_credential(ctx: &mut Ctx, reference: &str, value: &Secret) -> Result<Stored> {
    let r = Reference::parse(reference)?;
    let vault = ctx.open_vault()?;
    let backend = vault.kind().as_str();
    let index = vault.load_index_trusted()?;
    let target = vault.target(&index, &r, None)?;
    let shown = target.reference();
    if value.is_empty() {
        return Err(hinted(
            format!("no value given for {shown}"),
            "nothing was stored",
        ));
    }
    if let Some(provider) = target.provider.as_deref() {
        if let tokenvault_core::FormatCheck::Invalid { expected } =
            vault
                .catalogue
                .check_format(provider, target.key.field.as_str(), value.expose_secret())
        {
            return Err(hinted(
                format!(
                    "the value given for {shown} does not look like a {provider} {}: expected {}",
                    target.key.field,
                    expected.join(", or ")
                ),
                "nothing was stored; ask again and paste the whole token",
            ));
        }
    }
    let written = vault.write(&target, value, &now_rfc3339())?;
    crate::audit::record(
        ctx,
        "set",
        Some(backend),
        std::slice::from_ref(&shown),
        "ok",
    );
    Ok(Stored {
        reference: shown,
        masked: written.masked,
        replaced: written.replaced,
    })
}
