//! `tokenvault show REF`: one item or field, masked, with provider, dates, the previous value's
//! existence and the last verification. Never the value.

use crate::cli::ShowArgs;
use crate::context::{Ctx, Outcome};
use crate::error::hinted;
use anyhow::Result;
use serde_json::json;

pub fn run(ctx: &mut Ctx, args: &ShowArgs) -> Result<Outcome> {
    let reference = super::parse_ref(&args.reference)?;
    let json_out = ctx.settings.global.json;
    let printer = ctx.printer.clone();
    let vault = ctx.open_vault()?;
    let index = vault.load_index_checked()?;
    let keys: Vec<_> = vault
        .keys(&index)?
        .into_iter()
        .filter(|k| {
            k.item == reference.item && reference.field.as_ref().is_none_or(|f| *f == k.field)
        })
        .collect();
    if keys.is_empty() {
        return Err(hinted(
            format!("{reference} is not stored in the {} backend", vault.kind()),
            "see what is stored with `tokenvault list`",
        ));
    }
    let meta = index.items.get(reference.item.as_str());
    let provider = vault.provider_of(&index, reference.item.as_str(), None);
    let rows = crate::services::index_rows::rows(&index, &keys);
    if json_out {
        let fields: Vec<_> = keys
            .iter()
            .zip(&rows)
            .map(|(k, r)| {
                let fm = meta.and_then(|m| m.fields.get(k.field.as_str()));
                json!({
                    "field": r.field, "masked": r.masked,
                    "created": fm.map(|f| f.created.clone()),
                    "updated": fm.map(|f| f.updated.clone()),
                    "has_previous": fm.is_some_and(|f| f.has_previous),
                    "verified": fm.and_then(|f| f.verified.clone()),
                })
            })
            .collect();
        printer.json(&json!({
            "item": reference.item.as_str(),
            "provider": provider.map(|p| p.id.clone()),
            "backend": vault.kind().as_str(),
            "fields": fields,
        }))?;
        return Ok(Outcome::Success);
    }
    let mut out = format!("item:      {}\n", reference.item);
    out.push_str(&format!(
        "provider:  {}\n",
        provider
            .map(|p| format!("{} ({})", p.name, p.id))
            .unwrap_or_else(|| "-".into())
    ));
    out.push_str(&format!("backend:   {}\n", vault.kind()));
    if let Some(p) = provider {
        if let Some(url) = &p.create_url {
            out.push_str(&format!("tokens:    {url}\n"));
        }
    }
    for (k, r) in keys.iter().zip(&rows) {
        let fm = meta.and_then(|m| m.fields.get(k.field.as_str()));
        out.push_str(&format!(
            "\nfield:     {}  (tv://{}/{})\n",
            r.field, r.item, r.field
        ));
        out.push_str(&format!("value:     {}\n", r.masked));
        if let Some(f) = fm {
            out.push_str(&format!("created:   {}\n", f.created));
            out.push_str(&format!(
                "updated:   {} ({})\n",
                f.updated,
                crate::services::index_rows::age(&f.updated)
            ));
            out.push_str(&format!(
                "previous:  {}\n",
                if f.has_previous { "kept" } else { "none" }
            ));
        }
        out.push_str(&format!("verified:  {}\n", r.verified));
    }
    printer.data(&out)?;
    Ok(Outcome::Success)
}
