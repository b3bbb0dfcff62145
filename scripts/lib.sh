# Shared by scripts/install and scripts/test (sourced, not run).

# apt-get install as root: directly, through sudo, or not at all (then say what to install).
apt_install() {
  local run=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "error: these Debian packages are needed: $*; run as root (or install sudo), or install them and run again" >&2
      exit 2
    fi
    run=(sudo)
  fi
  echo "installing $* with apt-get" >&2
  "${run[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${run[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# The Rust version Cargo.toml asks for (rust-version).
rust_wanted() {
  sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' Cargo.toml | head -n 1
}

# Exits with what to do when cargo is missing or older than rust-version. Debian's own rustc is
# 1.63 (12) and 1.85 (13): too old, so the way is rustup.
need_rust() {
  local want have
  want=$(rust_wanted)
  if ! command -v cargo >/dev/null 2>&1; then
    cat >&2 <<MSG
error: cargo was not found; tokenvault needs Rust $want or newer.
Install it with rustup (Debian's own rustc, 1.63 on Debian 12 and 1.85 on 13, is too old):
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component rustfmt,clippy
  . "\$HOME/.cargo/env"
then run this again.
MSG
    exit 2
  fi
  have=$(rustc --version 2>/dev/null | sed -n 's/^rustc \([0-9]*\.[0-9]*\(\.[0-9]*\)\?\).*/\1/p')
  if [ -z "$have" ] || [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n 1)" != "$want" ]; then
    local fix="  rustup update stable"
    if ! command -v rustup >/dev/null 2>&1; then
      fix="  apt-get remove rustc cargo   # Debian's packaged Rust, too old
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component rustfmt,clippy
  . \"\$HOME/.cargo/env\""
    fi
    cat >&2 <<MSG
error: tokenvault needs Rust $want or newer; this machine has ${have:-an unknown version} ($(command -v rustc || echo 'no rustc')).
Update it:
$fix
then run this again.
MSG
    exit 2
  fi
}

# The lint steps of scripts/test need rustfmt and clippy, which a minimal toolchain lacks: added
# through rustup, or exits saying what to do.
need_lint_tools() {
  local tool
  for tool in fmt clippy; do
    if ! cargo "$tool" --version >/dev/null 2>&1; then
      if command -v rustup >/dev/null 2>&1; then
        echo "adding the rustup components rustfmt and clippy" >&2
        rustup component add rustfmt clippy >&2
      else
        echo "error: \`cargo $tool\` is missing; install the rustfmt and clippy components of your Rust toolchain (rustup component add rustfmt clippy), then run this again" >&2
        exit 2
      fi
    fi
  done
}
