//! `tokenvault hook install`: a git hook that refuses commits (or pushes) that add a token.
//!
//! The hook calls this binary by its absolute path (a hook runs with whatever PATH the git client
//! has) and falls back to `tokenvault` on PATH if the binary moved. An existing hook is never lost:
//! a hook we wrote is replaced, any other is renamed to `HOOK.pre-tokenvault` and run after our
//! check passes, with the same arguments and input. The refusal message says what to do: remove
//! the token, keep it in the vault with `tokenvault set`, and rotate it if it was ever pushed.

use crate::cli::{HookAction, HookArgs, HookInstallArgs};
use crate::context::{Ctx, Outcome};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use tokenvault_core::dotenv::shell_quote;

/// Marks a hook file as ours.
const MARKER: &str = "# tokenvault hook:";
/// The suffix the previous hook is kept under.
const BACKUP_SUFFIX: &str = ".pre-tokenvault";

pub fn run(ctx: &mut Ctx, args: &HookArgs) -> Result<Outcome> {
    match &args.action {
        HookAction::Install(a) => install(ctx, a),
    }
}

const REFUSAL_COMMIT: &str = r#"
tokenvault: the tokens listed above would leave this machine; nothing was committed.
  - Remove each token from the file (and `git add` the file again).
"#;

const REFUSAL_PUSH: &str = r#"
tokenvault: the commits being pushed hold the tokens listed above; nothing was pushed.
  - Remove each token from those commits (`git commit --amend`, or `git rebase -i`), not just
    from the latest version of the file: history is pushed too.
"#;

const REFUSAL_NEXT: &str = r#"  - Keep it in the vault instead: `tokenvault set ITEM` (value from a hidden prompt),
    then reference it: `tokenvault run -e VAR=tv://ITEM -- your-command`.
  - If the token was ever pushed, shared or committed elsewhere, rotate it at the provider
    now: deleting it from the file does not make it secret again.
  - A false positive: put `tokenvault:allow` on that line. To bypass once: --no-verify.
"#;

/// The hook script for `kind` (`pre-commit` or `pre-push`).
pub fn script(kind: &str, binary: &Path) -> String {
    let bin = shell_quote(&binary.to_string_lossy());
    let check = if kind == "pre-push" {
        // stdin: `<local ref> <local sha> <remote ref> <remote sha>` per pushed ref.
        r#"input=$(cat)
zero=0000000000000000000000000000000000000000
status=0
while read -r local_ref local_sha remote_ref remote_sha; do
  [ -z "$local_sha" ] && continue
  case "$local_sha" in *[!0]*) ;; *) continue ;; esac
  case "$remote_sha" in
    *[!0]*) "$TOKENVAULT" scan --git --rev "$local_sha" --since "$remote_sha" ;;
    *) "$TOKENVAULT" scan --git --rev "$local_sha" --rev --not --rev --remotes ;;
  esac
  s=$?
  [ "$s" -ne 0 ] && status=$s && break
done <<EOF_TV
$input
EOF_TV"#
            .to_owned()
    } else {
        r#"input=
"$TOKENVAULT" scan --staged
status=$?"#
            .to_owned()
    };
    let (what, bypass) = if kind == "pre-push" {
        ("push", "git push --no-verify")
    } else {
        ("commit", "git commit --no-verify")
    };
    let first = if kind == "pre-push" {
        REFUSAL_PUSH
    } else {
        REFUSAL_COMMIT
    };
    let refusal = format!("{}{REFUSAL_NEXT}", first.trim_start_matches('\n'));
    format!(
        r#"#!/bin/sh
{MARKER} {kind}. Installed by `tokenvault hook install`; refuses a {what} that adds a token.
# A hook that was here before is kept as {kind}{BACKUP_SUFFIX} and runs after this check.
TOKENVAULT={bin}
[ -x "$TOKENVAULT" ] || TOKENVAULT=tokenvault
{check}
if [ "$status" -eq 1 ]; then
  cat >&2 <<'EOF_TV'
{refusal}EOF_TV
  echo "tokenvault: {what} refused." >&2
  exit 1
elif [ "$status" -ne 0 ]; then
  echo "tokenvault: the leak scan failed (exit $status), so the {what} was refused. Fix the error above, or bypass once with: {bypass}" >&2
  exit "$status"
fi
previous="$(dirname "$0")/{kind}{BACKUP_SUFFIX}"
if [ -x "$previous" ]; then
  printf '%s\n' "$input" | "$previous" "$@"
  exit $?
fi
exit 0
"#,
    )
}

fn hooks_dir() -> Result<PathBuf> {
    let out = Command::new("git")
        .args(["rev-parse", "--git-path", "hooks"])
        .output()
        .context("cannot run git to find the hooks directory; is git installed?")?;
    if !out.status.success() {
        bail!(
            "not inside a git repository ({}); run `tokenvault hook install` in the repository",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    Ok(dir)
}

fn install(ctx: &mut Ctx, args: &HookInstallArgs) -> Result<Outcome> {
    let kind = if args.pre_push {
        "pre-push"
    } else {
        "pre-commit"
    };
    let binary = crate::exec::launcher::self_path().context(
        "cannot tell where the tokenvault binary is (needed for the hook's absolute path)",
    )?;
    let text = script(kind, &binary);
    let json_out = ctx.settings.global.json;
    if args.dry_run {
        if json_out {
            ctx.printer.json(&serde_json::json!({
                "hook": kind, "dry_run": true, "script": text,
            }))?;
        } else {
            ctx.printer.data(&text)?;
        }
        return Ok(Outcome::Success);
    }
    let dir = hooks_dir()?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(kind);
    let backup = dir.join(format!("{kind}{BACKUP_SUFFIX}"));
    let mut kept = None;
    match std::fs::read(&path) {
        Ok(old) if String::from_utf8_lossy(&old).contains(MARKER) => {}
        Ok(_) => {
            if backup.exists() {
                bail!(
                    "{} exists and is not tokenvault's, and {} is taken too; move one of them away and run this again",
                    path.display(),
                    backup.display()
                );
            }
            std::fs::rename(&path, &backup).with_context(|| {
                format!("cannot keep the existing hook as {}", backup.display())
            })?;
            ctx.printer.note(&format!(
                "Kept the existing hook as {}; it runs after the scan passes.",
                backup.display()
            ));
            kept = Some(backup.clone());
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    // Write beside, then rename: a half-written hook would block every commit.
    let tmp = dir.join(format!(".{kind}.tokenvault-tmp"));
    std::fs::write(&tmp, &text).with_context(|| format!("cannot write {}", tmp.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("cannot make {} executable", tmp.display()))?;
    }
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot install {}", path.display()))?;
    ctx.printer.note(&format!(
        "Installed {}: every {} is scanned for tokens first.",
        path.display(),
        if kind == "pre-push" { "push" } else { "commit" }
    ));
    if json_out {
        ctx.printer.json(&serde_json::json!({
            "hook": kind, "installed": path, "previous_kept_as": kept,
        }))?;
    }
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_quote_the_binary_and_explain_the_refusal() {
        let s = script("pre-commit", Path::new("/opt/it's here/tokenvault"));
        assert!(
            s.contains(r"TOKENVAULT='/opt/it'\''s here/tokenvault'"),
            "{s}"
        );
        assert!(s.contains("scan --staged"));
        assert!(s.contains("rotate it"));
        assert!(s.contains("tokenvault set"));
        let p = script("pre-push", Path::new("/bin/tokenvault"));
        assert!(p.contains("--since \"$remote_sha\""));
        assert!(p.contains(MARKER));
    }
}
