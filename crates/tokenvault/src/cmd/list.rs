//! `tokenvault list`: what is stored, masked, from the metadata index (so it needs no unlock),
//! plus entries the store itself enumerates that the index does not know (e.g. added with
//! `secret-tool`).

use crate::context::{Ctx, Outcome};
use crate::services::index_rows::{age_at, rows, view_rows, Row};
use anyhow::Result;
use serde_json::json;
use tokenvault_store::BackendKind;

pub fn run(ctx: &mut Ctx) -> Result<Outcome> {
    let json_out = ctx.settings.global.json;
    let printer = ctx.printer.clone();
    let vault = ctx.open_vault()?;
    let kind = vault.kind();
    // The file backend lists from the index alone (no unlock); others also enumerate the store.
    if !vault.backend.def().enumerates {
        let bytes = vault.index_file.read_bytes()?;
        let view = vault.index_file.view(&bytes)?;
        return print(&printer, json_out, kind, &view_rows(&view, kind));
    }
    let index = vault.load_index_checked()?;
    let keys = vault.keys(&index)?;
    print(&printer, json_out, kind, &rows(&index, &keys))
}

fn print(
    printer: &crate::printer::Printer,
    json_out: bool,
    kind: BackendKind,
    rows: &[Row<'_>],
) -> Result<Outcome> {
    if json_out {
        let items: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({
                    "reference": format!("tv://{}/{}", r.item, r.field),
                    "item": r.item, "field": r.field, "provider": r.provider,
                    "masked": r.masked, "updated": r.updated, "verified": r.verified,
                    "backend": kind.as_str(),
                })
            })
            .collect();
        printer.json(&json!(items))?;
        return Ok(Outcome::Success);
    }
    if rows.is_empty() {
        printer.note(&format!(
            "Nothing stored in the {kind} backend yet. Add a token: tokenvault set huggingface"
        ));
        return Ok(Outcome::Success);
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let updated: Vec<String> = rows
        .iter()
        .map(|r| {
            if r.updated.is_empty() {
                "-".into()
            } else {
                age_at(r.updated, now)
            }
        })
        .collect();
    let headers = ["REFERENCE", "PROVIDER", "VALUE", "UPDATED", "VERIFIED"];
    let width = |s: &str| s.chars().count();
    let mut widths = headers.map(width);
    for (r, u) in rows.iter().zip(&updated) {
        let cells = [
            "tv://".len() + width(r.item) + 1 + width(r.field),
            width(r.provider),
            width(r.masked),
            width(u),
        ];
        for (w, c) in widths.iter_mut().zip(cells) {
            *w = (*w).max(c);
        }
    }
    let mut out = String::with_capacity((rows.len() + 1) * (widths.iter().sum::<usize>() + 12));
    let cell = |out: &mut String, text: &str, w: usize| {
        out.push_str(text);
        for _ in width(text)..w + 2 {
            out.push(' ');
        }
    };
    for (i, h) in headers.iter().enumerate().take(4) {
        cell(&mut out, h, widths[i]);
    }
    out.push_str(headers[4]);
    out.push('\n');
    let mut reference = String::new();
    for (r, u) in rows.iter().zip(&updated) {
        reference.clear();
        reference.push_str("tv://");
        reference.push_str(r.item);
        reference.push('/');
        reference.push_str(r.field);
        cell(&mut out, &reference, widths[0]);
        cell(&mut out, r.provider, widths[1]);
        cell(&mut out, r.masked, widths[2]);
        cell(&mut out, u, widths[3]);
        out.push_str(&r.verified);
        out.push('\n');
    }
    printer.data(&out)?;
    Ok(Outcome::Success)
}
