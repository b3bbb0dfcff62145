//! `tokenvault keyring get|set|del SERVICE USERNAME`: the command-line interface of Python's
//! `keyring`, answered from the vault, so pip (`--keyring-provider subprocess`, which runs the
//! `keyring` it finds on PATH) gets an index password without it sitting in `pip.conf`, a URL or
//! `~/.pypirc`. Run as `keyring` (a link to tokenvault on PATH) it is that command.
//!
//! As `keyring` does: `get` prints the password and a line break, or exits 1 with nothing on
//! stdout when there is none; `set` reads the password from standard input (one line); `del`
//! forgets it. Which reference answers comes from `services::keyring_map`. Every call is audited
//! (action `keyring`, the reference, never the value).

use crate::cli::{KeyringArgs, KeyringOp};
use crate::context::{now_rfc3339, Ctx, Outcome};
use crate::error::hinted;
use crate::services::keyring_map::{self, Entry};
use crate::vault::Target;
use anyhow::{Context, Result};
use std::io::Read;
use tokenvault_core::{FieldName, ItemName, Reference, Secret};
use tokenvault_store::Key;
use zeroize::Zeroizing;

const ACTION: &str = "keyring";

pub fn run(ctx: &mut Ctx, args: &KeyringArgs) -> Result<Outcome> {
    let home = ctx.settings.paths.home.clone();
    match args.operation {
        KeyringOp::Get => {
            let entries = keyring_map::load(&home)?;
            let Some(entry) = keyring_map::lookup(&entries, &args.service, &args.username) else {
                crate::audit::record(ctx, ACTION, None, &[], "not found");
                return Ok(Outcome::Negative);
            };
            let reference = Reference::parse(&entry.reference)
                .with_context(|| format!("{} names {}", keyring_map::FILE, entry.reference))?;
            let refs = [entry.reference.clone()];
            let vault = ctx.open_vault()?;
            let backend = vault.kind().as_str().to_owned();
            let target = vault.target_for_read(&reference)?;
            let value = vault.store().get(&target.key)?;
            drop(vault);
            let Some(value) = value else {
                crate::audit::record(ctx, ACTION, Some(&backend), &refs, "not found");
                return Ok(Outcome::Negative);
            };
            crate::audit::record_before_release(ctx, ACTION, Some(&backend), &refs)?;
            let out = Zeroizing::new(format!("{}\n", value.expose_secret()));
            ctx.printer.data(&out)?;
            Ok(Outcome::Success)
        }
        KeyringOp::Set => {
            let mut input = Zeroizing::new(String::new());
            std::io::stdin()
                .lock()
                .take(64 * 1024)
                .read_to_string(&mut input)
                .context("reading the password on standard input")?;
            let value = input.trim_end_matches(['\n', '\r']);
            if value.is_empty() || value.contains('\n') {
                return Err(hinted(
                    "keyring set: expected the password on one line of standard input",
                    "printf '%s\\n' \"$PASSWORD\" | tokenvault keyring set SERVICE USERNAME",
                ));
            }
            let item = keyring_map::item_for(&args.service);
            let key = Key::new(ItemName::new(&item)?, FieldName::new("password")?);
            let reference = format!("tv://{item}/password");
            let vault = ctx.open_vault()?;
            let backend = vault.kind().as_str().to_owned();
            vault.write_many_verified(
                &[(
                    Target {
                        key,
                        provider: None,
                    },
                    Secret::from_str_copy(value),
                )],
                &now_rfc3339(),
            )?;
            drop(vault);
            keyring_map::add(
                &home,
                Entry {
                    service: args.service.clone(),
                    username: args.username.clone(),
                    reference: reference.clone(),
                },
            )?;
            crate::audit::record(ctx, ACTION, Some(&backend), &[reference], "stored");
            Ok(Outcome::Success)
        }
        KeyringOp::Del => {
            let Some(gone) = keyring_map::remove(&home, &args.service, &args.username)? else {
                crate::audit::record(ctx, ACTION, None, &[], "not found");
                return Err(hinted(
                    format!(
                        "no keyring entry for {} and {}",
                        args.service, args.username
                    ),
                    "see what is stored with `tokenvault list`",
                ));
            };
            // The value goes too when it is one `keyring set` made; an item of its own (a
            // `.pypirc` password moved to tv://pypi) stays: other things may use it.
            let mut outcome = "forgotten";
            if gone.reference == format!("tv://{}/password", keyring_map::item_for(&gone.service)) {
                let reference = Reference::parse(&gone.reference)?;
                let vault = ctx.open_vault()?;
                let index = vault.load_index()?;
                vault.remove(&index, &reference)?;
                outcome = "erased";
            }
            crate::audit::record(ctx, ACTION, None, &[gone.reference], outcome);
            Ok(Outcome::Success)
        }
    }
}
