//! `tokenvault copy --from A --to B [REF…] [--move]`: copies current values between backends
//! (the file vault or keychain to a team's OpenBao, or back). Every value is written, then read
//! back from B; only then, and only with `--move`, is anything removed from A. A value B already
//! holds with a different content is left alone unless `--overwrite`.

use crate::backends;
use crate::cli::CopyArgs;
use crate::context::{now_rfc3339, Ctx, Outcome};
use crate::error::hinted;
use crate::vault::Target;
use anyhow::Result;
use serde_json::json;
use tokenvault_store::{BackendKind, Change, Key};

pub fn run(ctx: &mut Ctx, args: &CopyArgs) -> Result<Outcome> {
    let mut subject = crate::audit::Subject::default();
    let result = copy(ctx, args, &mut subject);
    if !subject.references.is_empty() {
        subject.record(ctx, if args.move_ { "move" } else { "copy" }, &result);
    }
    result
}

fn copy(ctx: &mut Ctx, args: &CopyArgs, subject: &mut crate::audit::Subject) -> Result<Outcome> {
    let from: BackendKind = args.from.parse().map_err(anyhow::Error::msg)?;
    let to: BackendKind = args.to.parse().map_err(anyhow::Error::msg)?;
    if from == to {
        return Err(hinted(
            format!("--from and --to are both {from}"),
            "name two different backends",
        ));
    }
    let refs = args
        .references
        .iter()
        .map(|r| super::parse_ref(r))
        .collect::<Result<Vec<_>>>()?;
    let printer = ctx.printer.clone();
    let json_out = ctx.settings.global.json;
    let src = ctx.open_vault_of(from)?;
    let dst = ctx.open_vault_of(to)?;
    subject.backend = Some(format!("{from}->{to}"));
    let src_index = src.load_index_trusted()?;
    let mut keys: Vec<Key> = src
        .keys(&src_index)?
        .into_iter()
        .filter(|k| !backends::INTERNAL_ITEMS.contains(&k.item.as_str()))
        .filter(|k| {
            refs.is_empty()
                || refs
                    .iter()
                    .any(|r| r.item == k.item && r.field.as_ref().is_none_or(|f| *f == k.field))
        })
        .collect();
    // What the store itself holds, not only what the index says (an item the index now records
    // in another backend, e.g. after a copy without --move, is still held here).
    if let Some(listed) = src.store().list()? {
        keys.extend(
            listed
                .into_iter()
                .filter(|k| k.slot == tokenvault_store::Slot::Current)
                .filter(|k| !backends::INTERNAL_ITEMS.contains(&k.item.as_str()))
                .filter(|k| {
                    refs.is_empty()
                        || refs.iter().any(|r| {
                            r.item == k.item && r.field.as_ref().is_none_or(|f| *f == k.field)
                        })
                }),
        );
    }
    // A field named explicitly that the index does not list is still tried.
    for r in &refs {
        if let Some(f) = &r.field {
            let k = Key::new(r.item.clone(), f.clone());
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    keys.sort();
    keys.dedup();
    let values = src.store().get_many(&keys)?;
    let held = dst.store().get_many(&keys)?;
    let mut writes: Vec<(Target, tokenvault_core::Secret)> = Vec::new();
    let mut same: Vec<Key> = Vec::new();
    let mut missing: Vec<Key> = Vec::new();
    let mut kept: Vec<Key> = Vec::new();
    for ((key, value), there) in keys.iter().zip(values).zip(held) {
        let Some(value) = value else {
            missing.push(key.clone());
            continue;
        };
        match there {
            Some(v) if v == value => same.push(key.clone()),
            Some(_) if !args.overwrite => kept.push(key.clone()),
            _ => {
                let provider = src
                    .provider_of(&src_index, key.item.as_str(), None)
                    .map(|p| p.id.clone());
                writes.push((
                    Target {
                        key: key.clone(),
                        provider,
                    },
                    value,
                ));
            }
        }
    }
    subject.references = writes.iter().map(|(t, _)| t.reference()).collect();
    for k in &kept {
        printer.warning(&format!(
            "tv://{}/{} is already in the {to} backend with a different value: left as it is (pass --overwrite to replace it)",
            k.item, k.field
        ));
    }
    for k in &missing {
        printer.warning(&format!(
            "tv://{}/{} is not stored in the {from} backend",
            k.item, k.field
        ));
    }
    if writes.is_empty() && same.is_empty() {
        return Err(hinted(
            format!("nothing to copy from the {from} backend"),
            format!("see what it holds with `tokenvault --backend {from} list`"),
        ));
    }
    // Written, then read back (write_many_verified fails if any value does not read back equal).
    if !writes.is_empty() {
        dst.write_many_verified(&writes, &now_rfc3339())?;
    }
    let copied: Vec<Key> = writes
        .iter()
        .map(|(t, _)| t.key.clone())
        .chain(same.iter().cloned())
        .collect();
    for (t, _) in &writes {
        printer.note(&format!("Copied {} to the {to} backend.", t.reference()));
    }
    for k in &same {
        printer.note(&format!(
            "tv://{}/{} is already in the {to} backend with the same value.",
            k.item, k.field
        ));
    }
    let mut removed = Vec::new();
    if args.move_ {
        // Everything copied reads back from --to: only now is it removed from --from (both slots).
        let changes: Vec<Change> = copied
            .iter()
            .flat_map(|k| [Change::Delete(k.clone()), Change::Delete(k.previous())])
            .collect();
        src.store().apply(&changes)?;
        for k in &copied {
            printer.note(&format!(
                "Removed tv://{}/{} from the {from} backend.",
                k.item, k.field
            ));
            removed.push(format!("tv://{}/{}", k.item, k.field));
        }
    }
    if json_out {
        printer.json(&json!({
            "from": from.as_str(),
            "to": to.as_str(),
            "copied": copied.iter().map(|k| format!("tv://{}/{}", k.item, k.field)).collect::<Vec<_>>(),
            "kept": kept.iter().map(|k| format!("tv://{}/{}", k.item, k.field)).collect::<Vec<_>>(),
            "removed": removed,
        }))?;
    }
    Ok(if kept.is_empty() && missing.is_empty() {
        Outcome::Success
    } else {
        Outcome::Negative
    })
}
