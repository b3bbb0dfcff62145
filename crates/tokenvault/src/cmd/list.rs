//! `tokenvault list`: what is stored, masked, from the metadata index (so it needs no unlock),
//! plus entries the store itself enumerates that the index does not know (e.g. added with
//! `secret-tool`).

use crate::context::{Ctx, Outcome};
use anyhow::Result;
use serde_json::json;
use tokenvault_store::index::Index;

/// "3d", "5h", "just now": how long ago an RFC 3339 time was.
pub fn age(then: &str) -> String {
    let Ok(t) = time::OffsetDateTime::parse(then, &time::format_description::well_known::Rfc3339) else {
        return "?".into();
    };
    let secs = (time::OffsetDateTime::now_utc() - t).whole_seconds().max(0);
    match secs {
        0..=59 => "just now".into(),
        60..=3599 => format!("{}m ago", secs / 60),
        3600..=86_399 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86_400),
    }
}

pub struct Row {
    pub item: String,
    pub field: String,
    pub provider: String,
    pub masked: String,
    pub updated: String,
    pub verified: String,
}

pub fn rows(index: &Index, keys: &[tokenvault_store::Key]) -> Vec<Row> {
    keys.iter()
        .map(|k| {
            let meta = index.items.get(k.item.as_str());
            let field = meta.and_then(|m| m.fields.get(k.field.as_str()));
            Row {
                item: k.item.to_string(),
                field: k.field.to_string(),
                provider: meta.and_then(|m| m.provider.clone()).unwrap_or_else(|| "-".into()),
                masked: field.map(|f| f.masked.clone()).unwrap_or_else(|| "(not indexed)".into()),
                updated: field.map(|f| f.updated.clone()).unwrap_or_default(),
                verified: field
                    .and_then(|f| f.verified.as_ref())
                    .map(|v| format!("{} {}", if v.ok { "ok" } else { "FAILED" }, age(&v.at)))
                    .unwrap_or_else(|| "never".into()),
            }
        })
        .collect()
}

pub fn run(ctx: &mut Ctx) -> Result<Outcome> {
    let json_out = ctx.settings.global.json;
    let printer = ctx.printer.clone();
    let vault = ctx.open_vault()?;
    let index = vault.load_index()?;
    let keys = vault.keys(&index)?;
    let rows = rows(&index, &keys);
    if json_out {
        let items: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({
                    "reference": format!("tv://{}/{}", r.item, r.field),
                    "item": r.item, "field": r.field, "provider": r.provider,
                    "masked": r.masked, "updated": r.updated, "verified": r.verified,
                    "backend": vault.kind().as_str(),
                })
            })
            .collect();
        printer.json(&json!(items))?;
        return Ok(Outcome::Success);
    }
    if rows.is_empty() {
        printer.note(&format!(
            "Nothing stored in the {} backend yet. Add a token: tokenvault set huggingface",
            vault.kind()
        ));
        return Ok(Outcome::Success);
    }
    let headers = ["REFERENCE", "PROVIDER", "VALUE", "UPDATED", "VERIFIED"];
    let table: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                format!("tv://{}/{}", r.item, r.field),
                r.provider.clone(),
                r.masked.clone(),
                if r.updated.is_empty() { "-".into() } else { age(&r.updated) },
                r.verified.clone(),
            ]
        })
        .collect();
    let mut widths = headers.map(|h| h.chars().count());
    for row in &table {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let fmt_row = |cells: &[String]| -> String {
        let mut line = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(w - cell.chars().count() + 2));
            }
        }
        line.push('\n');
        line
    };
    out.push_str(&fmt_row(&headers.map(String::from)));
    for row in &table {
        out.push_str(&fmt_row(row));
    }
    printer.data(&out)?;
    Ok(Outcome::Success)
}
