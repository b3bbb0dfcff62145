//! `tokenvault verify [REF…]`: check stored values — the format offline, then the provider's live
//! check (one per catalogue `verify` key: Hugging Face whoami-v2, GitHub `/user`, OpenAI and
//! Anthropic model lists, Google `v1beta/models`, Slack `auth.test`, Stripe `/v1/balance`, AWS STS
//! `GetCallerIdentity`), unless `--offline`.
//!
//! Live answers are recorded in the index (`Verification`: time, outcome, account, scopes, expiry;
//! never the value) and reused for ten minutes, because providers rate-limit these calls (the Hub
//! strictly); `--fresh` asks again. A check that reads several fields (AWS: key id, secret,
//! session token, region) is recorded on the provider's default field and not reused once any
//! field of the item changed. Exit 1 when a value is missing, malformed, incomplete or rejected by
//! its provider; 2 when a live check could not get an answer (network, rate limit), which says
//! nothing about the token. The checks themselves are in [`crate::services::verify`].

use crate::cli::VerifyArgs;
use crate::context::{Ctx, Outcome};
use crate::services::verify::{live_check, privilege_warning, profile_refs, profiles_using, Live};
use crate::vault::Target;
use anyhow::Result;
use serde_json::{json, Value};
use tokenvault_core::{FormatCheck, Provider};

/// One row of the report.
struct Row {
    reference: String,
    status: &'static str,
    detail: String,
    hint: Option<String>,
    warning: Option<String>,
    live: Option<Value>,
}

fn live_row(row: &mut Row, live: Live, users: &[String], provider: Option<&Provider>) {
    match live {
        Live::Valid {
            account,
            check,
            reused_from,
        } => {
            row.status = "valid";
            row.detail = account.summary();
            if let Some(at) = &reused_from {
                row.hint = Some(format!("result from {at} reused; --fresh asks again"));
            }
            row.warning = privilege_warning(&account, users, provider);
            row.live = Some(json!({
                "check": check.key(),
                "account": account,
                "scopes": account.scopes(),
                "expires": account.expires_at(),
                "reused_from": reused_from,
            }));
        }
        Live::Rejected(e) | Live::Unknown(e) | Live::Incomplete(e) => {
            row.status = e.code;
            row.detail = e.message;
            row.hint = Some(e.hint);
        }
        Live::NotAvailable(why) => {
            row.detail = format!("{}; {why}", row.detail);
        }
    }
}

pub fn run(ctx: &mut Ctx, args: &VerifyArgs) -> Result<Outcome> {
    // Verifying reads values (and sends them to their provider): audited like any read.
    let mut subject = crate::audit::Subject::default();
    let result = verify_values(ctx, args, &mut subject);
    if !subject.references.is_empty() {
        let outcome = match &result {
            Ok(Outcome::Success) => "ok".to_owned(),
            Ok(Outcome::Negative) => "negative".to_owned(),
            Ok(Outcome::Code(_)) => "unverified".to_owned(),
            Err(e) => crate::audit::reason(e),
        };
        crate::audit::record(
            ctx,
            "verify",
            subject.backend.as_deref(),
            &subject.references,
            &outcome,
        );
    }
    result
}

fn verify_values(
    ctx: &mut Ctx,
    args: &VerifyArgs,
    subject: &mut crate::audit::Subject,
) -> Result<Outcome> {
    let json_out = ctx.settings.global.json;
    let printer = ctx.printer.clone();
    let catalogue = ctx.settings.catalogue.clone();
    // Profiles are read before the vault borrows the context.
    let profiles_raw = ctx.settings.config.config.profiles.clone();
    let vault = ctx.open_vault()?;
    let index = vault.load_index_trusted()?;
    let targets = if args.references.is_empty() {
        vault
            .keys(&index)?
            .into_iter()
            .map(|k| {
                let provider = index
                    .items
                    .get(k.item.as_str())
                    .and_then(|m| m.provider.clone());
                Target { key: k, provider }
            })
            .collect::<Vec<_>>()
    } else {
        let mut t = Vec::new();
        for r in &args.references {
            t.push(vault.target(&index, &super::parse_ref(r)?, None)?);
        }
        t
    };
    let profiles = profile_refs(&profiles_raw, &vault, &index);
    subject.backend = Some(vault.kind().as_str().to_owned());
    subject.references = targets.iter().map(Target::reference).collect();
    let keys: Vec<_> = targets.iter().map(|t| t.key.clone()).collect();
    let values = vault.store().get_many(&keys)?;
    let (mut negative, mut errors) = (false, false);
    let mut rows = Vec::new();
    for (t, v) in targets.iter().zip(values) {
        let reference = t.reference();
        let provider = t.provider.as_deref().and_then(|p| catalogue.get(p));
        let mut row = Row {
            reference: reference.clone(),
            status: "ok",
            detail: String::new(),
            hint: None,
            warning: None,
            live: None,
        };
        let Some(v) = v else {
            row.status = "missing";
            row.detail = "not stored".to_owned();
            row.hint = Some(format!(
                "store it with `tokenvault set {}`",
                reference.trim_start_matches("tv://")
            ));
            negative = true;
            rows.push(row);
            continue;
        };
        match t
            .provider
            .as_deref()
            .map(|p| catalogue.check_format(p, t.key.field.as_str(), v.expose_secret()))
        {
            Some(FormatCheck::Valid { format }) => row.detail = format!("format: {format}"),
            Some(FormatCheck::Invalid { expected }) => {
                row.status = "invalid";
                row.detail = format!("expected {}", expected.join(", or "));
                row.hint = Some(
                    "not checked online; store the whole token again with `tokenvault set`"
                        .to_owned(),
                );
                negative = true;
                rows.push(row);
                continue;
            }
            Some(FormatCheck::NoRule) | None => {
                row.status = "unchecked";
                row.detail = "no format rule for this field".to_owned();
            }
        }
        if !args.offline {
            let (live, unrecorded) = live_check(&vault, &index, t, &v, args.fresh);
            if let Some(w) = unrecorded {
                printer.warning(&w);
            }
            match &live {
                Live::Rejected(_) | Live::Incomplete(_) => negative = true,
                Live::Unknown(_) => errors = true,
                _ => {}
            }
            live_row(
                &mut row,
                live,
                &profiles_using(&profiles, &reference),
                provider,
            );
        }
        rows.push(row);
    }
    if json_out {
        printer.json(&json!(rows
            .iter()
            .map(|r| json!({
                "reference": r.reference,
                "status": r.status,
                "detail": r.detail,
                "hint": r.hint,
                "warning": r.warning,
                "live": r.live,
            }))
            .collect::<Vec<_>>()))?;
    } else {
        for r in &rows {
            printer.line(&format!("{}  {}  {}", r.reference, r.status, r.detail))?;
            if let Some(w) = &r.warning {
                printer.warning(&format!("{}: {w}", r.reference));
            }
            if let Some(h) = &r.hint {
                printer.hint(&format!("{}: {h}", r.reference));
            }
        }
        if rows.is_empty() {
            printer.note("Nothing to verify.");
        }
    }
    Ok(if errors {
        Outcome::Code(2)
    } else if negative {
        Outcome::Negative
    } else {
        Outcome::Success
    })
}
