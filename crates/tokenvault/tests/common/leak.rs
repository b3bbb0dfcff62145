//! The suite-wide leak check every `Env` runs, so a test cannot forget it and a new test gets it
//! for free.
//!
//! tokenvault's first promise is that a stored value, and never the vault passphrase, ends up
//! anywhere it was not asked for: not in an output, an error, a file that is neither encrypted nor
//! 0600, nor the environment of a child that did not ask for it. Individual tests check this for
//! the one value they care about; this module checks it for *every* value a test introduces and
//! *every* command it runs. An `Env` owns a [`LeakCheck`]: it registers the passphrase, every value
//! fed to `set`/`rotate` on stdin and whatever a test declares with `Env::secret`; it checks every
//! `Output` before the test sees it (values may be on stdout only for the commands whose job is to
//! print them); and when the `Env` is dropped it scans every file under the test's directory and
//! every child environment dumped by an `Env::env_probe` script. A failure names the command, the
//! stream and the secret by number and shape (`registered secret #3 (hf_…, 37 chars)`), never the
//! value. Each `Env` appends a coverage line to `$CARGO_TARGET_TMPDIR/leakcheck.log`, which
//! `scripts/test` sums up.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Mutex;

/// Values shorter than this are not registered: they would match harmless text by accident.
pub const MIN_LEN: usize = 6;

/// Where the `env_probe` scripts and their dumps live, under the test's directory.
pub const PROBE_DIR: &str = ".leakcheck-probes";

/// The coverage log, one line per `Env`.
pub fn coverage_log() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("leakcheck.log")
}

struct Registered {
    /// "registered secret #3 (hf_…, 37 chars)" or "the vault passphrase": never the value.
    label: String,
    /// The raw value and its base64.
    needles: Vec<(&'static str, String)>,
    passphrase: bool,
}

struct Probe {
    script: PathBuf,
    allowed: Vec<String>,
}

#[derive(Default)]
struct State {
    secrets: Vec<Registered>,
    /// Files the test wrote itself, with what it wrote (`None`: whatever the test or its child
    /// writes there). A fixture may hold the values the test wrote into it, and no other.
    fixtures: BTreeMap<PathBuf, Option<Vec<u8>>>,
    probes: Vec<Probe>,
    commands: usize,
    subcommands: BTreeSet<String>,
}

pub struct LeakCheck {
    root: PathBuf,
    state: Mutex<State>,
}

impl LeakCheck {
    /// A checker for the test directory `root`, with `passphrase` registered.
    pub fn new(root: &Path, passphrase: &str) -> LeakCheck {
        let check = LeakCheck {
            root: root.to_owned(),
            state: Mutex::new(State::default()),
        };
        check.state().secrets.push(Registered {
            label: "the vault passphrase".to_owned(),
            needles: needles(passphrase),
            passphrase: true,
        });
        check
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A check that panicked while holding the lock poisons it; the state is still sound.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers `value` as a secret (ignored when shorter than [`MIN_LEN`] or already known).
    pub fn secret(&self, value: &str) {
        if value.chars().count() < MIN_LEN {
            return;
        }
        let mut st = self.state();
        if st.secrets.iter().any(|s| s.needles[0].1 == value) {
            return;
        }
        let label = format!(
            "registered secret #{} ({}, {} chars)",
            st.secrets.len(),
            shape(value),
            value.chars().count()
        );
        st.secrets.push(Registered {
            label,
            needles: needles(value),
            passphrase: false,
        });
    }

    /// How many values are registered, the passphrase included.
    pub fn registered(&self) -> usize {
        self.state().secrets.len()
    }

    /// Records `path` as written by the test itself (a plaintext fixture) with `contents`: the
    /// file scan allows there the values in `contents` (any value, for `None`), no others.
    pub fn fixture_path(&self, path: &Path, contents: Option<&[u8]>) {
        self.state()
            .fixtures
            .insert(path.to_owned(), contents.map(<[u8]>::to_vec));
    }

    /// Writes a new probe script and returns its path; see `Env::env_probe`.
    pub fn env_probe(&self, allowed: &[&str]) -> String {
        let dir = self.root.join(PROBE_DIR);
        std::fs::create_dir_all(&dir).unwrap();
        let mut st = self.state();
        let script = dir.join(format!("probe-{}.sh", st.probes.len()));
        let text = format!(
            "#!/bin/sh\n# Dumps the environment it was started with, then runs its arguments.\n\
             (umask 077; env -0 > \"{}.$$.env\")\n[ $# -eq 0 ] || exec \"$@\"\n",
            script.display()
        );
        std::fs::write(&script, text).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
        st.probes.push(Probe {
            script: script.clone(),
            allowed: allowed.iter().map(|s| s.to_string()).collect(),
        });
        script.display().to_string()
    }

    /// Checks one command's output; panics naming the command, stream and secret on a leak.
    pub fn check<S: AsRef<OsStr>>(&self, args: &[S], out: &Output) {
        let args: Vec<String> = args
            .iter()
            .map(|a| a.as_ref().to_string_lossy().into_owned())
            .collect();
        let words = command_words(&args);
        let prints_values = prints_values(&args, &words);
        let problems = {
            let mut st = self.state();
            st.commands += 1;
            st.subcommands.insert(subcommand(&words));
            let mut problems = Vec::new();
            for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
                let text = String::from_utf8_lossy(bytes);
                for s in &st.secrets {
                    if stream == "stdout" && prints_values && !s.passphrase {
                        continue;
                    }
                    if let Some(form) = found(&text, s) {
                        problems.push(format!("{stream} holds {} ({form})", s.label));
                    }
                }
            }
            problems
        };
        assert!(
            problems.is_empty(),
            "leak check: `tokenvault {}`: {}",
            self.shown_command(&args),
            problems.join("; ")
        );
    }

    /// Every leak in the files under the test's directory and in the probes' environment dumps.
    pub fn scan(&self) -> Vec<String> {
        let st = self.state();
        let mut problems = Vec::new();
        let probe_dir = self.root.join(PROBE_DIR);
        for path in files(&self.root) {
            if path.starts_with(&probe_dir) {
                continue;
            }
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 == 0 {
                continue; // 0600 (or stricter): allowed to hold values
            }
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            // A fixture may keep the values the test wrote into it (also once the tool rewrote
            // part of it, e.g. `mcp secure --server` leaves other servers alone), not new ones.
            let written = match st.fixtures.get(&path) {
                Some(None) => continue,
                Some(Some(written)) => String::from_utf8_lossy(written).into_owned(),
                None => String::new(),
            };
            let text = String::from_utf8_lossy(&bytes);
            for s in &st.secrets {
                if found(&written, s).is_some() {
                    continue;
                }
                if let Some(form) = found(&text, s) {
                    problems.push(format!(
                        "file {} (mode {mode:04o}) holds {} ({form})",
                        self.rel(&path),
                        s.label
                    ));
                }
            }
        }
        for (n, probe) in st.probes.iter().enumerate() {
            let prefix = format!("{}.", probe.script.file_name().unwrap().to_string_lossy());
            let dumps: Vec<PathBuf> = files(&probe_dir)
                .into_iter()
                .filter(|p| {
                    let name = p.file_name().unwrap().to_string_lossy();
                    name.starts_with(&prefix) && name.ends_with(".env")
                })
                .collect();
            if dumps.is_empty() {
                problems.push(format!("env probe #{n} never ran: nothing was checked"));
            }
            for dump in dumps {
                let bytes = std::fs::read(&dump).unwrap_or_default();
                for var in bytes.split(|b| *b == 0).filter(|v| !v.is_empty()) {
                    let var = String::from_utf8_lossy(var);
                    let (name, value) = var.split_once('=').unwrap_or((&var, ""));
                    if name.starts_with("TOKENVAULT_PASSPHRASE") || name == "TOKENVAULT_SESSION" {
                        problems.push(format!(
                            "child environment (probe #{n}) has the variable {name}"
                        ));
                    }
                    for s in &st.secrets {
                        if !s.passphrase && probe.allowed.iter().any(|a| a == name) {
                            continue;
                        }
                        if let Some(form) = found(value, s) {
                            problems.push(format!(
                                "child environment (probe #{n}) variable {name} holds {} ({form})",
                                s.label
                            ));
                        }
                    }
                }
            }
        }
        problems.dedup();
        problems
    }

    /// Appends this checker's coverage line to the log, then panics on any leak `scan` finds.
    /// Skipped (but for the log) while the test is already panicking.
    pub fn finish(&self) {
        self.log_coverage();
        if std::thread::panicking() {
            return;
        }
        let problems = self.scan();
        assert!(
            problems.is_empty(),
            "leak check:\n  {}",
            problems.join("\n  ")
        );
    }

    fn log_coverage(&self) {
        let st = self.state();
        let test = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .to_owned();
        let line = format!(
            "test={}::{test}\tcommands={}\tsubcommands={}\tvalues={}\n",
            env!("CARGO_CRATE_NAME"),
            st.commands,
            st.subcommands.iter().cloned().collect::<Vec<_>>().join(","),
            st.secrets.len()
        );
        let log = coverage_log();
        let _ = std::fs::create_dir_all(log.parent().unwrap());
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
        {
            // One write per line: O_APPEND keeps lines from parallel tests whole.
            let _ = f.write_all(line.as_bytes());
        }
    }

    /// The command for a failure message: its first words before `--`, shortened, with any
    /// registered value in them replaced.
    fn shown_command(&self, args: &[String]) -> String {
        let mut s: String = args
            .iter()
            .take_while(|a| *a != "--")
            .take(8)
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(160)
            .collect();
        for secret in &self.state().secrets {
            for (_, n) in &secret.needles {
                s = s.replace(n.as_str(), "<secret>");
            }
        }
        s
    }

    fn rel(&self, p: &Path) -> String {
        p.strip_prefix(&self.root)
            .unwrap_or(p)
            .display()
            .to_string()
    }
}

/// The forms a leak of `value` would take: the raw value and its standard base64. The base64 is
/// cut at the last full 3-byte group, so it matches whether the value was encoded alone or with
/// more bytes after it.
fn needles(value: &str) -> Vec<(&'static str, String)> {
    let full = value.len() / 3 * 3;
    let mut v = vec![("raw", value.to_owned())];
    if full >= 6 {
        v.push(("base64", base64(&value.as_bytes()[..full])));
    }
    v
}

fn found(text: &str, s: &Registered) -> Option<&'static str> {
    s.needles
        .iter()
        .find(|(_, n)| text.contains(n.as_str()))
        .map(|(form, _)| *form)
}

/// A hint of the value's shape that says nothing of its secret part: `hf_…`, `ghp_…`, `va…`.
fn shape(value: &str) -> String {
    let head: String = value.chars().take(8).collect();
    match head.rfind(['_', '-']) {
        Some(i) if i < 7 => format!("{}…", &head[..=i]),
        _ => format!("{}…", value.chars().take(2).collect::<String>()),
    }
}

pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The words of the command line before `--`, without flags and the global `--backend VALUE`.
pub fn command_words(args: &[String]) -> Vec<&str> {
    let mut words = Vec::new();
    let mut it = args.iter().take_while(|a| *a != "--");
    while let Some(a) = it.next() {
        if a == "--backend" {
            it.next();
        } else if !a.starts_with('-') {
            words.push(a.as_str());
        }
    }
    words
}

/// `mcp headers`, `profile set`, `git-credential get`, `audit verify`; otherwise the first word.
fn subcommand(words: &[&str]) -> String {
    match words {
        [first @ ("mcp" | "profile" | "git-credential" | "docker-credential" | "keyring"
        | "hook"), second, ..] => {
            format!("{first} {second}")
        }
        ["audit", "verify", ..] => "audit verify".to_owned(),
        [first, ..] => first.to_string(),
        [] => "(none)".to_owned(),
    }
}

/// Whether the command's job is to print values on stdout: `get`, `export`/`inject` without
/// `-o`, `run` (its child prints what it wants) unless `--mask`, `git-credential get`,
/// `docker-credential get`, `keyring get`, `mcp headers`, `unlock --session` (its session value).
fn prints_values(args: &[String], words: &[&str]) -> bool {
    let ours = || args.iter().take_while(|a| *a != "--");
    let to_file = ours()
        .any(|a| a == "-o" || a == "--output" || a.starts_with("--output=") || a.starts_with("-o"));
    let masked = ours().any(|a| a == "--mask");
    match words {
        ["get", ..] => true,
        ["run", ..] => !masked,
        ["export" | "inject", ..] => !to_file,
        ["unlock", ..] => ours().any(|a| a == "--session"),
        ["git-credential", "get", ..]
        | ["docker-credential", "get", ..]
        | ["keyring", "get", ..]
        | ["mcp", "headers", ..] => true,
        _ => false,
    }
}

/// Every regular file under `dir`, not following symbolic links.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                out.push(e.path());
            }
        }
    }
    out
}
