//! From references to values, shared by `run`, `export`, `inject` and `wrapper`: build the
//! environment plan from dotenv files, profiles and `-e` pairs, and resolve every reference in one
//! read of the vault, failing with the complete list of what is missing before anything starts.
//! [`open_and_resolve`] is the whole step for a front door: open, resolve, audit a failure.

use crate::cli::EnvSources;
use crate::context::Ctx;
use crate::error::hinted;
use crate::vault::Vault;
use anyhow::{Context, Result};
use std::collections::HashMap;
use tokenvault_core::envplan::{assignment, parse_assignment, EnvPlan, EnvValue, Origin};
use tokenvault_core::{dotenv, Reference, Secret};

/// The plan for `sources`: dotenv files first, then profiles, then `-e` (later wins).
pub fn build_plan(ctx: &Ctx, sources: &EnvSources) -> Result<EnvPlan> {
    let mut plan = EnvPlan::new();
    for path in &sources.env_files {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading env file {}", path.display()))?;
        let entries = dotenv::parse(&text).map_err(|e| {
            hinted(
                format!("env file {}: {e}", path.display()),
                "fix that line; values may be plain or tv://ITEM/FIELD references",
            )
        })?;
        for e in entries {
            let origin = Origin::EnvFile {
                path: path.display().to_string(),
                line: e.line,
            };
            let value = if Reference::is_uri(&e.value) {
                EnvValue::Ref(Reference::parse(&e.value).map_err(|err| {
                    hinted(
                        format!("{origin}: {err}"),
                        "references look like tv://ITEM/FIELD",
                    )
                })?)
            } else {
                EnvValue::Plain(e.value)
            };
            plan.add(e.key, value, origin);
        }
    }
    for item in &sources.items {
        add_item(ctx, &mut plan, item)?;
    }
    for name in &sources.profiles {
        let Some(profile) = ctx.settings.config.config.profiles.get(name) else {
            let known: Vec<&String> = ctx.settings.config.config.profiles.keys().collect();
            return Err(hinted(
                format!("no profile named '{name}'"),
                if known.is_empty() {
                    "create one: tokenvault profile set NAME VAR=tv://ITEM/FIELD".to_owned()
                } else {
                    format!(
                        "profiles: {}",
                        known
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
            ));
        };
        for (var, reference) in profile {
            let (var, r) = assignment(var, reference).map_err(|e| {
                hinted(
                    format!(
                        "profile {name} in {}: {e}",
                        ctx.settings.config.path.display()
                    ),
                    "fix it with `tokenvault profile set`",
                )
            })?;
            plan.add(var, EnvValue::Ref(r), Origin::Profile(name.clone()));
        }
    }
    for pair in &sources.env {
        let (var, r) = parse_assignment(pair)?;
        plan.add(var, EnvValue::Ref(r), Origin::Flag);
    }
    Ok(plan)
}

/// `--item ITEM`: each field the index lists for the item (sorted), under the provider's preferred
/// variable name for it, else `ITEM_FIELD`. The values are read like any reference; a field the
/// vault no longer holds is reported missing with the rest.
fn add_item(ctx: &Ctx, plan: &mut EnvPlan, item: &str) -> Result<()> {
    let name = tokenvault_core::ItemName::new(item)?;
    let index = tokenvault_store::index::IndexFile::new(&ctx.settings.paths.home);
    let Some(meta) = index.load_item(name.as_str())? else {
        return Err(hinted(
            format!("--item {item}: no item '{item}' is stored"),
            "see `tokenvault list`; store it with `tokenvault set ITEM/FIELD`",
        ));
    };
    let catalogue = &ctx.settings.catalogue;
    let provider = meta
        .provider
        .as_deref()
        .and_then(|p| catalogue.get(p))
        .or_else(|| catalogue.for_item(&name));
    for field in meta.fields.keys() {
        let var = provider
            .and_then(|p| p.field(field))
            .and_then(|f| f.env.first().cloned())
            .unwrap_or_else(|| {
                format!("{item}_{field}")
                    .to_ascii_uppercase()
                    .replace(['-', '.'], "_")
            });
        let r = Reference::parse(&format!("tv://{item}/{field}"))?;
        plan.add(var, EnvValue::Ref(r), Origin::Item(item.to_owned()));
    }
    Ok(())
}

/// Values read for a command, and the audit subject that records handing them out.
pub struct Resolved {
    pub values: HashMap<Reference, Secret>,
    pub subject: crate::audit::Subject,
}

/// Opens the vault (only when there is something to read), resolves `refs` with one read (an
/// `--item` of `plan` checked first, see [`resolve_plan`]) and, when that fails, records the
/// failure for `action` in the audit log. The caller records the release itself
/// (`Subject::record_before_release`, or `secretfile::deliver`) when it hands the values out.
pub fn open_and_resolve(
    ctx: &mut Ctx,
    action: &str,
    plan: Option<&EnvPlan>,
    refs: &[&Reference],
) -> Result<Resolved> {
    let mut subject = crate::audit::Subject {
        references: refs.iter().map(|r| r.to_string()).collect(),
        ..Default::default()
    };
    if refs.is_empty() {
        return Ok(Resolved {
            values: HashMap::new(),
            subject,
        });
    }
    let (values, backend) = {
        let vault = ctx.open_vault()?;
        let backend = vault.kind().as_str();
        let values = match plan {
            Some(plan) => resolve_plan(&vault, plan, refs),
            None => resolve_all(&vault, refs),
        };
        (values, backend)
    };
    subject.backend = Some(backend.to_owned());
    match values {
        Ok(values) => Ok(Resolved { values, subject }),
        Err(e) => {
            crate::audit::record(
                ctx,
                action,
                Some(backend),
                &subject.references,
                "error: unresolved",
            );
            Err(e)
        }
    }
}

/// Resolves `refs` with one vault read. Every missing reference is named in one error.
/// [`resolve_all`] for a plan: an `--item` in it was expanded from the item's index entry, which is
/// believed only when its tag verifies (as for a bare reference), so each is checked first.
pub fn resolve_plan(
    vault: &Vault<'_>,
    plan: &EnvPlan,
    refs: &[&Reference],
) -> Result<HashMap<Reference, Secret>> {
    let mut items: Vec<&str> = plan
        .entries()
        .iter()
        .filter_map(|e| match &e.origin {
            Origin::Item(i) => Some(i.as_str()),
            _ => None,
        })
        .collect();
    items.sort_unstable();
    items.dedup();
    for item in items {
        vault.target_for_read(&Reference::parse(item)?)?;
    }
    resolve_all(vault, refs)
}

pub fn resolve_all(vault: &Vault<'_>, refs: &[&Reference]) -> Result<HashMap<Reference, Secret>> {
    if refs.is_empty() {
        return Ok(HashMap::new());
    }
    let targets = refs
        .iter()
        .map(|r| vault.target_for_read(r))
        .collect::<Result<Vec<_>>>()?;
    let keys: Vec<_> = targets.iter().map(|t| t.key.clone()).collect();
    let values = vault.store().get_many(&keys)?;
    let mut out = HashMap::new();
    let mut missing = Vec::new();
    for ((r, t), v) in refs.iter().zip(&targets).zip(values) {
        match v {
            Some(v) => {
                out.insert((*r).clone(), v);
            }
            None => missing.push(t.reference()),
        }
    }
    if !missing.is_empty() {
        let first = missing[0].trim_start_matches("tv://").to_owned();
        return Err(hinted(
            format!(
                "not stored in the {} backend: {}",
                vault.kind(),
                missing.join(", ")
            ),
            format!("add each with `tokenvault set REF` (e.g. `tokenvault set {first}`); `tokenvault list` shows what is stored"),
        ));
    }
    Ok(out)
}
