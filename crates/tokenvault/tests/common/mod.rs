//! Test harness: runs the real `tokenvault` binary in a fresh directory with a minimal,
//! controlled environment (no session bus, so no keychain unless a test starts one). Every
//! output it returns and every file the test leaves behind goes through the leak check of
//! `leak.rs`.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const PASSPHRASE: &str = "correct horse battery staple";

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tokenvault")
}

/// A random Hugging Face–shaped token, unique per call, so a test can grep every output for it.
pub fn hf_token() -> String {
    let mut bytes = [0u8; 34];
    getrandom(&mut bytes);
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let body: String = bytes
        .iter()
        .map(|b| ALNUM[*b as usize % ALNUM.len()] as char)
        .collect();
    format!("hf_{body}")
}

fn getrandom(buf: &mut [u8]) {
    let mut f = std::fs::File::open("/dev/urandom").unwrap();
    std::io::Read::read_exact(&mut f, buf).unwrap();
}

/// The API-base variables of every live check (`Check::base_env`).
pub const LIVE_CHECK_BASES: &[&str] = &[
    "HF_ENDPOINT",
    "GITHUB_API_URL",
    "OPENAI_BASE_URL",
    "ANTHROPIC_BASE_URL",
    "TOKENVAULT_GOOGLE_API_URL",
    "TOKENVAULT_SLACK_API_URL",
    "TOKENVAULT_STRIPE_API_URL",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL",
];

pub struct Env {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    pub pass_file: PathBuf,
    /// Extra variables for every command.
    pub vars: Vec<(String, String)>,
    /// The leak check of every output, file and child environment (see `leak.rs`).
    pub leaks: leak::LeakCheck,
}

impl Drop for Env {
    fn drop(&mut self) {
        self.leaks.finish();
    }
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("tvhome");
        let pass_file = dir.path().join("passphrase");
        std::fs::write(&pass_file, format!("{PASSPHRASE}\n")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&pass_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let leaks = leak::LeakCheck::new(dir.path(), PASSPHRASE);
        Env {
            dir,
            home,
            pass_file,
            vars: vec![("TOKENVAULT_BACKEND".into(), "file".into())],
            leaks,
        }
    }

    /// An env whose vault holds a fresh Hugging Face token as `huggingface`; returns both.
    pub fn with_hf_token() -> (Env, String) {
        let env = Env::new();
        let token = hf_token();
        env.set("huggingface", &token);
        (env, token)
    }

    /// An env whose backend is not forced, for auto-selection tests.
    pub fn without_backend() -> Env {
        let mut e = Env::new();
        e.vars.clear();
        e
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn vault(&self) -> PathBuf {
        self.home.join("vault.age")
    }

    /// Tags the file vault's index entries as they now are, with the vault's state key, as
    /// tokenvault itself would after writing them: for tests that set up dates and verification
    /// results by editing `index.json` (an edit tokenvault otherwise refuses to believe).
    pub fn reseal_index(&self) {
        use std::sync::Arc;
        use tokenvault_store::{file::FileStore, index::IndexFile, keycache::NoCache, Store};
        let store = FileStore::new(
            &self.home,
            Arc::new(tokenvault_store::FixedPassphrase(Some(
                tokenvault_core::Secret::from_str_copy(PASSPHRASE),
            ))),
            Arc::new(NoCache),
        )
        .with_log_n(10);
        let key = store
            .state_key(false)
            .unwrap()
            .expect("the vault has a state key");
        IndexFile::new(&self.home)
            .update(|idx| {
                for (name, meta) in idx.items.iter_mut() {
                    if meta.backend == tokenvault_store::BackendKind::File {
                        meta.seal(name, &key);
                    }
                }
            })
            .unwrap();
    }

    /// The command with a minimal environment: PATH, HOME, the vault's home and passphrase file.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(bin());
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("TOKENVAULT_HOME", &self.home)
            .env("TOKENVAULT_PASSPHRASE_FILE", &self.pass_file)
            .env("TOKENVAULT_SCRYPT_LOG_N", "10")
            .env("NO_COLOR", "1")
            .current_dir(self.dir.path());
        // `set` verifies online: never reach a real provider from a test. Port 9 refuses at once;
        // tests with a stand-in override these through `vars`.
        for var in LIVE_CHECK_BASES {
            c.env(var, "http://127.0.0.1:9");
        }
        for (k, v) in &self.vars {
            c.env(k, v);
        }
        c
    }

    /// Registers a value the test introduces (a fixture's token, a stand-in's token, …): no
    /// output but a value-printing command's stdout, no file but a 0600 one or a `fixture`, and
    /// no child environment but in the variables a probe allows may hold it. Returns it.
    pub fn secret<'a>(&self, value: &'a str) -> &'a str {
        self.leaks.secret(value);
        value
    }

    /// Writes a plaintext fixture `rel` (relative to the test's directory, or an absolute path
    /// in it), creating its directory; the file scan exempts it while it holds what was written.
    pub fn fixture(&self, rel: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, contents.as_ref()).unwrap();
        self.leaks.fixture_path(&path, Some(contents.as_ref()));
        path
    }

    /// Marks `rel` (under the test's directory) as a file the test or a child it runs writes
    /// itself, exempt from the file scan like a `fixture`. Returns its path.
    pub fn test_file(&self, rel: impl AsRef<Path>) -> PathBuf {
        let path = self.dir.path().join(rel);
        self.leaks.fixture_path(&path, None);
        path
    }

    /// A script to put before a `run` child's command (`-- PROBE sh -c …`): it dumps the
    /// environment it got, then execs its arguments. On drop the dump must hold no
    /// `TOKENVAULT_PASSPHRASE*` variable, no passphrase, and registered values only in `allowed`.
    pub fn env_probe(&self, allowed: &[&str]) -> String {
        self.leaks.env_probe(allowed)
    }

    /// Checks an output of the binary run with `args` outside `run`/`run_stdin` (a `cmd()`
    /// spawned by hand, the binary started through git or a shell); returns it.
    pub fn check<S: AsRef<std::ffi::OsStr>>(&self, args: &[S], out: Output) -> Output {
        self.leaks.check(args, &out);
        out
    }

    /// Runs a command built from `cmd()` (stdin null unless set) and checks its output.
    pub fn output(&self, c: &mut Command) -> Output {
        let out = c.output().unwrap();
        let args: Vec<_> = c.get_args().map(|a| a.to_owned()).collect();
        self.check(&args, out)
    }

    /// The arguments of `c`, for `check` after a `spawn`.
    pub fn args_of(c: &Command) -> Vec<std::ffi::OsString> {
        c.get_args().map(|a| a.to_owned()).collect()
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_stdin(args, None)
    }

    pub fn run_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let args_owned: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let first = leak::command_words(&args_owned)
            .first()
            .map(|w| w.to_string());
        if let (Some(input), Some("set" | "rotate")) = (stdin, first.as_deref()) {
            let reference = leak::command_words(&args_owned)
                .get(1)
                .map(|w| w.to_string());
            if !reference.as_deref().is_some_and(plain_field) {
                self.secret(stdin_value(input));
            }
        }
        let mut c = self.cmd();
        c.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        c.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = c.spawn().unwrap();
        if let Some(input) = stdin {
            let mut si = child.stdin.take().unwrap();
            // The command may exit without reading (e.g. it fails before asking for the value).
            if let Err(e) = si.write_all(input.as_bytes()) {
                assert_eq!(
                    e.kind(),
                    std::io::ErrorKind::BrokenPipe,
                    "writing stdin: {e}"
                );
            }
        }
        let out = child.wait_with_output().unwrap();
        self.check(args, out)
    }

    /// `set REF --stdin` with `value`, asserting success.
    pub fn set(&self, reference: &str, value: &str) -> Output {
        let out = self.run_stdin(&["set", reference, "--stdin", "--no-verify"], Some(value));
        assert_ok(&out);
        out
    }

    pub fn get(&self, reference: &str) -> String {
        let out = self.run(&["get", reference]);
        assert_ok(&out);
        String::from_utf8(out.stdout)
            .unwrap()
            .trim_end_matches('\n')
            .to_owned()
    }
}

/// Whether `reference` (as given to `set`) names a field the built-in catalogue marks plain
/// (`secret = false`: a region, a repository id): `list` and `show` print such a value unmasked
/// by design, so it is not registered as a secret.
pub fn plain_field(reference: &str) -> bool {
    let Ok(r) = tokenvault_core::Reference::parse(reference) else {
        return false;
    };
    let Some(field) = r.field.as_ref() else {
        return false;
    };
    tokenvault_core::Catalogue::builtin_shared()
        .for_item(&r.item)
        .and_then(|p| p.field(field.as_str()))
        .is_some_and(|f| !f.secret)
}

/// The value `set`/`rotate --stdin` stores for `input`: without one trailing newline.
pub fn stdin_value(input: &str) -> &str {
    match input.strip_suffix('\n') {
        Some(v) => v.strip_suffix('\r').unwrap_or(v),
        None => input,
    }
}

/// SHA-256 of `s` in hex (by `sha256sum`): how test servers report the token they saw without
/// the token crossing their output.
pub fn sha256_hex(s: &str) -> String {
    let mut c = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    let out = c.wait_with_output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn assert_ok(o: &Output) {
    assert!(
        o.status.success(),
        "expected success, got {:?}\nstdout: {}\nstderr: {}",
        o.status,
        stdout(o),
        stderr(o)
    );
}

pub fn assert_code(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
}

/// Asserts that the command exited with `code` and that its stderr says each of `says`; returns
/// the stderr.
#[track_caller]
pub fn assert_error(o: &Output, code: i32, says: &[&str]) -> String {
    assert_code(o, code);
    let err = stderr(o);
    for s in says {
        assert_has(&err, s);
    }
    err
}

/// Asserts that `text` (an output, a file) contains `needle`, showing all of `text` if not.
#[track_caller]
pub fn assert_has(text: &str, needle: &str) {
    assert!(text.contains(needle), "{needle:?} is missing from:\n{text}");
}

/// Asserts that `text` does not contain `needle`, showing all of `text` if it does.
#[track_caller]
pub fn assert_lacks(text: &str, needle: &str) {
    assert!(!text.contains(needle), "{needle:?} is in:\n{text}");
}

/// Asserts that `secret` appears nowhere in the output.
pub fn assert_no_secret(o: &Output, secret: &str, what: &str) {
    assert!(!stdout(o).contains(secret), "{what}: secret on stdout");
    assert!(!stderr(o).contains(secret), "{what}: secret on stderr");
}

/// Every file under `dir` (recursively).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.push(p);
                }
            }
        }
    }
    out
}
pub mod hub;
pub mod kill;
pub mod leak;
pub mod pty;
pub mod standin;
pub mod table;
