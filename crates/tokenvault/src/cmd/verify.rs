//! `tokenvault verify [REF…]`: check stored values — the format offline, then the provider's live
//! check (Hugging Face: `GET {HF_ENDPOINT}/api/whoami-v2`), unless `--offline`.
//!
//! Live answers are recorded in the index (`Verification`: time, outcome, account facts; never the
//! value) and reused for ten minutes, because the Hub rate-limits whoami-v2 strictly; `--fresh`
//! asks again. Exit 1 when a value is missing, malformed or rejected by its provider; 2 when a live
//! check could not get an answer (network, rate limit), which says nothing about the token.
//! `set` calls [`check_after_set`] to verify a value it just stored.

use crate::cli::VerifyArgs;
use crate::context::{now_rfc3339, Ctx, Outcome};
use crate::printer::Printer;
use crate::vault::{Target, Vault};
use crate::verify_http;
use anyhow::Result;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use tokenvault_core::verify::{explain_network, interpret_hf, Explanation, LiveOutcome, WhoAmI};
use tokenvault_core::{FormatCheck, Provider, Secret};
use tokenvault_store::index::{Index, Verification};

/// How long a stored live result is reused without `--fresh`.
const REUSE_SECS: i64 = 600;
/// The `verify` name of the one live check this build implements.
const HUGGINGFACE: &str = "huggingface";

/// What the live step found for one value.
enum Live {
    Valid {
        who: WhoAmI,
        /// When the reused result was obtained; `None` for a fresh answer.
        reused_from: Option<String>,
    },
    Rejected(Explanation),
    Unknown(Explanation),
    /// The provider has no live check in this build (or the field is not its credential).
    NotAvailable(String),
}

/// Profiles (name → variables) that read `reference`, for the least-privilege warning.
fn profiles_using(profiles: &BTreeMap<String, Vec<String>>, reference: &str) -> Vec<String> {
    profiles
        .iter()
        .filter(|(_, refs)| refs.iter().any(|r| r == reference))
        .map(|(n, _)| n.clone())
        .collect()
}

/// Raw profiles as the config holds them: name → (variable → reference).
type Profiles = BTreeMap<String, BTreeMap<String, String>>;

/// Each profile's references in their `tv://ITEM/FIELD` form.
fn profile_refs(
    profiles: &Profiles,
    vault: &Vault<'_>,
    index: &Index,
) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for (name, vars) in profiles {
        let refs = vars
            .values()
            .filter_map(|r| tokenvault_core::Reference::parse(r).ok())
            .filter_map(|r| vault.target(index, &r, None).ok())
            .map(|t| t.reference())
            .collect();
        out.insert(name.clone(), refs);
    }
    out
}

fn provider_of<'a>(vault: &Vault<'a>, target: &Target) -> Option<&'a Provider> {
    target
        .provider
        .as_deref()
        .and_then(|p| vault.catalogue.get(p))
}

/// A stored result for this field younger than [`REUSE_SECS`], turned back into a [`Live`].
fn reusable(index: &Index, target: &Target) -> Option<Live> {
    let v = index
        .items
        .get(target.key.item.as_str())?
        .fields
        .get(target.key.field.as_str())?
        .verified
        .as_ref()?;
    if v.extra.get("check").and_then(Value::as_str) != Some(HUGGINGFACE) {
        return None;
    }
    let at =
        time::OffsetDateTime::parse(&v.at, &time::format_description::well_known::Rfc3339).ok()?;
    let age = (time::OffsetDateTime::now_utc() - at).whole_seconds();
    if !(0..REUSE_SECS).contains(&age) {
        return None;
    }
    if v.ok {
        let who: WhoAmI = serde_json::from_value(v.extra.get("whoami")?.clone()).ok()?;
        Some(Live::Valid {
            who,
            reused_from: Some(v.at.clone()),
        })
    } else {
        let code = match v.extra.get("code").and_then(Value::as_str)? {
            "forbidden" => "forbidden",
            _ => "invalid",
        };
        Some(Live::Rejected(Explanation {
            code,
            message: format!("{} (checked at {})", v.summary, v.at),
            hint: v
                .extra
                .get("hint")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        }))
    }
}

/// Records a definite answer (valid or rejected) in the index. Failing to record is only a warning:
/// the answer itself stands.
fn record(vault: &Vault<'_>, target: &Target, live: &Live, printer: &Printer) {
    let (ok, summary, extra) = match live {
        Live::Valid {
            who,
            reused_from: None,
        } => {
            let mut extra = BTreeMap::new();
            extra.insert("check".to_owned(), json!(HUGGINGFACE));
            extra.insert("whoami".to_owned(), json!(who));
            if let Some(t) = &who.token {
                extra.insert("role".to_owned(), json!(t.role.name()));
                if let Some(e) = &t.expires_at {
                    extra.insert("expires".to_owned(), json!(e));
                }
            }
            (true, who.summary(), extra)
        }
        Live::Rejected(e) => {
            let mut extra = BTreeMap::new();
            extra.insert("check".to_owned(), json!(HUGGINGFACE));
            extra.insert("code".to_owned(), json!(e.code));
            extra.insert("hint".to_owned(), json!(e.hint));
            (false, e.message.clone(), extra)
        }
        _ => return,
    };
    let at = now_rfc3339();
    let result = vault.index_file.update(|idx| {
        if let Some(f) = idx
            .items
            .get_mut(target.key.item.as_str())
            .and_then(|m| m.fields.get_mut(target.key.field.as_str()))
        {
            f.verified = Some(Verification {
                at: at.clone(),
                ok,
                summary: summary.clone(),
                extra: extra.clone(),
            });
        }
    });
    if let Err(e) = result {
        printer.warning(&format!("could not record the result in the index: {e}"));
    }
}

/// The live check of one value. `fresh` skips a stored recent result.
fn live_check(
    vault: &Vault<'_>,
    index: &Index,
    target: &Target,
    value: &Secret,
    fresh: bool,
    printer: &Printer,
) -> Live {
    let Some(provider) = provider_of(vault, target) else {
        return Live::NotAvailable("no provider known for this item, so no live check".to_owned());
    };
    if provider.verify != HUGGINGFACE {
        return Live::NotAvailable(format!("no live check for {} in this build", provider.name));
    }
    if target.key.field.as_str() != provider.default_field {
        return Live::NotAvailable(format!("{} is not a credential field", target.key.field));
    }
    if !fresh {
        if let Some(l) = reusable(index, target) {
            return l;
        }
    }
    let endpoint = verify_http::hf_endpoint();
    let url = format!("{endpoint}/api/whoami-v2");
    let live = match verify_http::get_bearer(&url, value) {
        Ok(a) => match interpret_hf(
            a.status,
            &a.body,
            a.retry_after.as_deref(),
            provider.create_url.as_deref(),
        ) {
            LiveOutcome::Valid(who) => Live::Valid {
                who,
                reused_from: None,
            },
            LiveOutcome::Rejected(e) => Live::Rejected(e),
            LiveOutcome::Unknown(e) => Live::Unknown(e),
        },
        Err(f) => Live::Unknown(explain_network(
            &f,
            &verify_http::host_of(&endpoint),
            verify_http::proxy_for(&url).as_deref(),
        )),
    };
    record(vault, target, &live, printer);
    live
}

/// One row of the report.
struct Row {
    reference: String,
    status: &'static str,
    detail: String,
    hint: Option<String>,
    warning: Option<String>,
    live: Option<Value>,
}

/// The least-privilege warning for a valid token, naming the profiles that use it.
fn privilege_warning(
    who: &WhoAmI,
    users: &[String],
    provider: Option<&Provider>,
) -> Option<String> {
    let base = who.privilege_warning()?;
    let create = provider
        .and_then(|p| p.create_url.as_deref())
        .map(|u| format!(" (create one at {u})"))
        .unwrap_or_default();
    Some(if users.is_empty() {
        format!("{base}{create}")
    } else {
        format!("{base}{create}; profile {} uses it", users.join(", "))
    })
}

fn live_row(row: &mut Row, live: Live, users: &[String], provider: Option<&Provider>) {
    match live {
        Live::Valid { who, reused_from } => {
            row.status = "valid";
            row.detail = who.summary();
            if let Some(at) = &reused_from {
                row.hint = Some(format!("result from {at} reused; --fresh asks again"));
            }
            row.warning = privilege_warning(&who, users, provider);
            row.live = Some(json!({"account": who, "reused_from": reused_from}));
        }
        Live::Rejected(e) | Live::Unknown(e) => {
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
    let json_out = ctx.settings.global.json;
    let printer = ctx.printer.clone();
    let catalogue = ctx.settings.catalogue.clone();
    // Profiles are read before the vault borrows the context.
    let profiles_raw = ctx.settings.config.config.profiles.clone();
    let vault = ctx.open_vault()?;
    let index = vault.load_index()?;
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
            let live = live_check(&vault, &index, t, &v, args.fresh, &printer);
            match &live {
                Live::Rejected(_) => negative = true,
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

/// `set`'s check of the value it just stored: prints what the provider said and returns
/// `Negative` only when the provider rejected the value. Network trouble is a warning: the value
/// is stored either way.
pub fn check_after_set(
    printer: &Printer,
    profiles: &Profiles,
    vault: &Vault<'_>,
    target: &Target,
    value: &Secret,
) -> Result<Outcome> {
    let index = vault.load_index()?;
    let profiles = profile_refs(profiles, vault, &index);
    let shown = target.reference();
    let provider = provider_of(vault, target);
    match live_check(vault, &index, target, value, true, printer) {
        Live::Valid { who, .. } => {
            printer.note(&format!("Verified {shown}: {}.", who.summary()));
            if let Some(w) = privilege_warning(&who, &profiles_using(&profiles, &shown), provider) {
                printer.warning(&w);
            }
            Ok(Outcome::Success)
        }
        Live::Rejected(e) => {
            printer.error(&format!("{shown} was stored, but {}", e.message));
            printer.hint(&e.hint);
            Ok(Outcome::Negative)
        }
        Live::Unknown(e) => {
            printer.warning(&format!(
                "{shown} was stored but not verified: {}",
                e.message
            ));
            printer.hint(&format!(
                "{}; then run `tokenvault verify {}`",
                e.hint,
                shown.trim_start_matches("tv://")
            ));
            Ok(Outcome::Success)
        }
        Live::NotAvailable(_) => Ok(Outcome::Success),
    }
}
