//! The file backend against the real world: the conformance suite, Debian's `age` CLI in both
//! directions (driven through a pseudo-terminal, since `age` reads passphrases only from a TTY),
//! damaged and hostile files, failed writes, and the kernel keyring cache shared by separate
//! handles.
//!
//! Every test works in its own temporary directory; the kernel keyring entry name is derived from
//! the vault path, so tests never share an entry, and each test that fills the keyring forgets its
//! entry on the way out (even when it fails).

// Test code: helpers outside `#[test]` functions panic on failure too (clippy's
// allow-unwrap-in-tests covers only the test functions themselves).
#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokenvault_core::Secret;
use tokenvault_store::agefmt::{self, VaultKey};
use tokenvault_store::conformance::{self, Subject};
use tokenvault_store::file::FileStore;
use tokenvault_store::keycache::{KernelKeyring, NoCache};
use tokenvault_store::{Change, FixedPassphrase, Key, PassphraseSource, Store, StoreError};

const PASS: &str = "correct horse battery staple";
const VALUE: &str = "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567";
const LOG_N: u8 = 10;

fn key(s: &str) -> Key {
    Key::parse(s).unwrap()
}

fn secret(s: &str) -> Secret {
    Secret::from_str_copy(s)
}

fn pass(p: Option<&str>) -> Arc<dyn PassphraseSource> {
    Arc::new(FixedPassphrase(p.map(secret)))
}

/// A fresh temporary directory and the (not yet existing) vault directory inside it. The vault
/// directory is created 0700 by the store; the temporary directory itself is 0755, which the store
/// would rightly refuse.
fn vault_dir() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    (tmp, dir)
}

fn store(dir: &Path, passphrase: Option<&str>) -> FileStore {
    FileStore::new(dir, pass(passphrase), Arc::new(NoCache)).with_log_n(LOG_N)
}

fn keyring_store(dir: &Path, passphrase: Option<&str>) -> FileStore {
    FileStore::new(dir, pass(passphrase), Arc::new(KernelKeyring)).with_log_n(LOG_N)
}

/// Forgets this vault's kernel keyring entry when dropped, so a failing test leaves nothing behind.
struct ForgetOnDrop(PathBuf);

impl Drop for ForgetOnDrop {
    fn drop(&mut self) {
        let _ = keyring_store(&self.0, None).lock();
    }
}

/// A vault holding `VALUE` at huggingface/token, made with `PASS`.
fn filled_vault() -> (tempfile::TempDir, PathBuf, Vec<u8>) {
    let (tmp, dir) = vault_dir();
    let st = store(&dir, Some(PASS));
    st.set(&key("huggingface/token"), &secret(VALUE)).unwrap();
    let bytes = fs::read(st.vault_path()).unwrap();
    (tmp, dir, bytes)
}

fn vault_bytes(dir: &Path) -> Vec<u8> {
    fs::read(dir.join("vault.age")).unwrap()
}

/// Replaces the vault file with `bytes` (mode 0600), as damage or an attacker would.
fn put_vault(dir: &Path, bytes: &[u8]) {
    let p = dir.join("vault.age");
    fs::write(&p, bytes).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
}

/// Asserts that no error text (Display, Debug, hint) contains a passphrase or a stored value.
fn assert_no_secret(e: &StoreError, secrets: &[&str]) {
    let texts = [
        format!("{e}"),
        format!("{e:?}"),
        e.hint().unwrap_or_default(),
    ];
    for t in &texts {
        for s in secrets {
            assert!(!t.contains(s), "error text leaks a secret: {t}");
        }
    }
}

fn corrupt_reason(e: &StoreError) -> &str {
    match e {
        StoreError::Corrupt { reason, .. } => reason,
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

// ---- Conformance ------------------------------------------------------------------------------

#[test]
fn conformance_suite_with_reopen() {
    let dirs: Mutex<Vec<tempfile::TempDir>> = Mutex::new(Vec::new());
    conformance::run_all(&|| {
        let (tmp, dir) = vault_dir();
        dirs.lock().unwrap().push(tmp);
        let again = dir.clone();
        Subject {
            store: Box::new(store(&dir, Some(PASS))),
            reopen: Some(Box::new(move || {
                Box::new(store(&again, Some(PASS))) as Box<dyn Store>
            })),
        }
    });
}

#[test]
fn vault_is_private_and_plaintext_is_documented_json() {
    let (_tmp, dir, bytes) = filled_vault();
    let st = store(&dir, Some(PASS));
    st.set(&key("huggingface/token").previous(), &secret("old-value"))
        .unwrap();
    assert_eq!(
        fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_eq!(
        fs::metadata(st.vault_path()).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(bytes.starts_with(b"age-encryption.org/v1\n-> scrypt "));
    let file = vault_bytes(&dir);
    let parsed = agefmt::parse(&file).unwrap();
    let plain = parsed
        .decrypt(&parsed.unlock(PASS.as_bytes()).unwrap())
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(doc["format"], "tokenvault-vault");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["items"]["huggingface"]["token"], VALUE);
    assert_eq!(doc["previous"]["huggingface"]["token"], "old-value");
    assert_eq!(
        st.list().unwrap().unwrap(),
        vec![
            key("huggingface/token"),
            key("huggingface/token").previous()
        ]
    );
}

/// Counts how often the store asks for the passphrase.
struct Counting(AtomicUsize);

impl PassphraseSource for Counting {
    fn existing(&self, _vault: &Path) -> Result<Option<Secret>, StoreError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(Some(secret(PASS)))
    }
    fn new_passphrase(&self, _vault: &Path) -> Result<Option<Secret>, StoreError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(Some(secret(PASS)))
    }
}

#[test]
fn key_is_derived_once_per_handle_and_writes_keep_the_header() {
    let (_tmp, dir, first) = filled_vault();
    let counting = Arc::new(Counting(AtomicUsize::new(0)));
    let st = FileStore::new(&dir, counting.clone(), Arc::new(NoCache));
    let k = key("huggingface/token");
    assert_eq!(st.get(&k).unwrap().unwrap().expose_secret(), VALUE);
    assert_eq!(st.get(&k).unwrap().unwrap().expose_secret(), VALUE);
    st.set(&key("github/token"), &secret("ghp_x")).unwrap();
    // Another handle writes: same header, so this handle's key still opens the file.
    store(&dir, Some(PASS))
        .set(&key("other/token"), &secret("o"))
        .unwrap();
    assert_eq!(
        st.get(&key("other/token"))
            .unwrap()
            .unwrap()
            .expose_secret(),
        "o"
    );
    assert_eq!(
        counting.0.load(Ordering::SeqCst),
        1,
        "one passphrase request, one scrypt"
    );
    let now = vault_bytes(&dir);
    let header_len = first.windows(4).position(|w| w == b"--- ").unwrap();
    assert_eq!(
        first[..header_len],
        now[..header_len],
        "the stanza never changes"
    );
    assert_ne!(first, now);
}

#[test]
fn a_handle_sees_every_rewrite_by_another() {
    let (_tmp, dir, _) = filled_vault();
    let reader = store(&dir, Some(PASS));
    let writer = store(&dir, Some(PASS));
    let k = key("huggingface/token");
    // Same length every time, back to back: the file's size never tells the versions apart.
    for i in 0..20 {
        assert!(reader.get(&k).unwrap().is_some());
        writer.set(&k, &secret(&format!("value-{i:02}"))).unwrap();
        assert_eq!(
            reader.get(&k).unwrap().unwrap().expose_secret(),
            format!("value-{i:02}")
        );
    }
    // An edit in place (same inode, same size) is noticed too, once the clock has ticked
    // (file times have the kernel tick's granularity).
    std::thread::sleep(Duration::from_millis(30));
    let mut bytes = vault_bytes(&dir);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .open(dir.join("vault.age"))
        .unwrap();
    std::io::Write::write_all(&mut f, &bytes).unwrap();
    drop(f);
    let e = reader.get(&k).unwrap_err();
    assert!(corrupt_reason(&e).contains("fails authentication"), "{e}");
}

// ---- Interoperability with the `age` CLI ------------------------------------------------------

mod pty {
    //! A minimal pseudo-terminal: `age` reads passphrases from its controlling terminal only.

    use std::fs::File;
    use std::io::{Read, Write};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    pub struct Pty {
        master: File,
        pub child: Child,
        pub seen: String,
    }

    impl Pty {
        pub fn spawn(cmd: &mut Command) -> Pty {
            let mut master = -1;
            let mut slave = -1;
            // SAFETY: openpty writes two descriptors into the provided integers; null name/termios/
            // winsize pointers are allowed.
            let rc = unsafe {
                libc::openpty(
                    &mut master,
                    &mut slave,
                    std::ptr::null_mut(),
                    std::ptr::null(),
                    std::ptr::null(),
                )
            };
            assert_eq!(rc, 0, "openpty failed: {}", std::io::Error::last_os_error());
            // SAFETY: both descriptors were just opened by openpty and are owned by nobody else.
            let (master, slave) =
                unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
            let io = |fd: &OwnedFd| Stdio::from(fd.try_clone().unwrap());
            cmd.stdin(io(&slave)).stdout(io(&slave)).stderr(io(&slave));
            // SAFETY: only async-signal-safe calls between fork and exec: a new session whose
            // controlling terminal is the pty (stdin, set above).
            unsafe {
                cmd.pre_exec(|| {
                    if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            let child = cmd.spawn().unwrap_or_else(|e| {
                panic!("cannot run `age` ({e}): install it (Debian/Ubuntu: apt-get install age)")
            });
            drop(slave);
            Pty {
                master,
                child,
                seen: String::new(),
            }
        }

        /// Reads the terminal until `needle` appears (case-insensitive) or `timeout` passes.
        pub fn expect(&mut self, needle: &str, timeout: Duration) {
            let deadline = Instant::now() + timeout;
            let needle = needle.to_lowercase();
            while !self.seen.to_lowercase().contains(&needle) {
                let left = deadline.saturating_duration_since(Instant::now());
                assert!(
                    !left.is_zero(),
                    "timed out waiting for {needle:?}; terminal showed: {:?}",
                    self.seen
                );
                let mut pfd = libc::pollfd {
                    fd: self.master.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd for the duration of the call.
                let n = unsafe { libc::poll(&mut pfd, 1, left.as_millis().min(1000) as i32) };
                if n <= 0 {
                    continue;
                }
                let mut buf = [0u8; 1024];
                match self.master.read(&mut buf) {
                    Ok(0) | Err(_) => panic!(
                        "terminal closed before {needle:?} appeared; it showed: {:?}",
                        self.seen
                    ),
                    Ok(n) => self.seen.push_str(&String::from_utf8_lossy(&buf[..n])),
                }
            }
        }

        pub fn type_line(&mut self, line: &str) {
            self.master.write_all(line.as_bytes()).unwrap();
            self.master.write_all(b"\r").unwrap();
            self.seen.clear();
        }

        /// Waits for the child, draining the terminal so it never blocks on output.
        pub fn finish(mut self, timeout: Duration) -> (std::process::ExitStatus, String) {
            let deadline = Instant::now() + timeout;
            loop {
                if let Some(status) = self.child.try_wait().unwrap() {
                    let mut rest = [0u8; 4096];
                    let mut pfd = libc::pollfd {
                        fd: self.master.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    // SAFETY: one valid pollfd.
                    while unsafe { libc::poll(&mut pfd, 1, 0) } > 0 {
                        match self.master.read(&mut rest) {
                            Ok(n) if n > 0 => {
                                self.seen.push_str(&String::from_utf8_lossy(&rest[..n]))
                            }
                            _ => break,
                        }
                    }
                    return (status, self.seen);
                }
                if Instant::now() > deadline {
                    let _ = self.child.kill();
                    panic!("`age` did not finish; terminal showed: {:?}", self.seen);
                }
                let mut pfd = libc::pollfd {
                    fd: self.master.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd.
                if unsafe { libc::poll(&mut pfd, 1, 50) } > 0 {
                    let mut buf = [0u8; 1024];
                    if let Ok(n) = self.master.read(&mut buf) {
                        self.seen.push_str(&String::from_utf8_lossy(&buf[..n]));
                    }
                }
            }
        }
    }
}

fn age_binary() -> PathBuf {
    let p = PathBuf::from("/usr/bin/age");
    if p.exists() {
        return p;
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("age"))
                .find(|p| p.exists())
        })
        .unwrap_or_else(|| {
            panic!(
                "the `age` CLI is needed for the interoperability tests: \
                 install it (Debian/Ubuntu: apt-get install age)"
            )
        })
}

/// Runs `age -d` on `vault`, typing the passphrase into its terminal, and returns the plaintext.
fn age_decrypt(vault: &Path, out: &Path) -> serde_json::Value {
    let mut cmd = std::process::Command::new(age_binary());
    cmd.arg("-d").arg("-o").arg(out).arg(vault);
    let mut pty = pty::Pty::spawn(&mut cmd);
    pty.expect("passphrase", Duration::from_secs(30));
    pty.type_line(PASS);
    let (status, shown) = pty.finish(Duration::from_secs(60));
    assert!(status.success(), "age -d failed: {shown}");
    serde_json::from_slice(&fs::read(out).unwrap()).unwrap()
}

#[test]
fn age_cli_decrypts_our_vault() {
    let (tmp, dir, _) = filled_vault();
    let doc = age_decrypt(&dir.join("vault.age"), &tmp.path().join("decrypted.json"));
    assert_eq!(doc["items"]["huggingface"]["token"], VALUE);
    assert_eq!(doc["format"], "tokenvault-vault");
}

#[test]
fn age_cli_encrypted_file_is_read() {
    let (tmp, dir) = vault_dir();
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    let plain = tmp.path().join("plain.json");
    fs::write(
        &plain,
        format!(
            r#"{{"format": "tokenvault-vault", "version": 1,
                "items": {{"huggingface": {{"token": "{VALUE}"}}}},
                "previous": {{"huggingface": {{"token": "older"}}}}}}"#
        ),
    )
    .unwrap();
    let vault = dir.join("vault.age");
    let mut cmd = std::process::Command::new(age_binary());
    cmd.arg("-p").arg("-o").arg(&vault).arg(&plain);
    let mut pty = pty::Pty::spawn(&mut cmd);
    pty.expect("passphrase", Duration::from_secs(30));
    pty.type_line(PASS);
    pty.expect("confirm", Duration::from_secs(30));
    pty.type_line(PASS);
    let (status, shown) = pty.finish(Duration::from_secs(120));
    assert!(status.success(), "age -p failed: {shown}");
    fs::set_permissions(&vault, fs::Permissions::from_mode(0o600)).unwrap();

    // age's default work factor (2^18) is within our limit.
    let st = store(&dir, Some(PASS));
    assert_eq!(
        st.get(&key("huggingface/token"))
            .unwrap()
            .unwrap()
            .expose_secret(),
        VALUE
    );
    assert_eq!(
        st.get(&key("huggingface/token").previous())
            .unwrap()
            .unwrap()
            .expose_secret(),
        "older"
    );
    // And we can write it, keeping age's header (no scrypt for the write), and age still reads it.
    // (Checked with `age -d` rather than a second handle: one scrypt at 2^18 is slow in debug
    // builds.)
    let header_end = vault_bytes(&dir)
        .windows(4)
        .position(|w| w == b"--- ")
        .unwrap();
    let before = vault_bytes(&dir)[..header_end].to_vec();
    st.set(&key("github/token"), &secret("ghp_1")).unwrap();
    assert_eq!(vault_bytes(&dir)[..header_end], before[..]);
    let doc = age_decrypt(&vault, &tmp.path().join("again.json"));
    assert_eq!(doc["items"]["github"]["token"], "ghp_1");
    assert_eq!(doc["items"]["huggingface"]["token"], VALUE);
}

// ---- Bad input: every failure leaves the vault exactly as it was ------------------------------

#[test]
fn wrong_passphrase() {
    let (_tmp, dir, before) = filled_vault();
    let st = store(&dir, Some("not the passphrase"));
    let e = st.get(&key("huggingface/token")).unwrap_err();
    assert!(matches!(e, StoreError::WrongPassphrase { .. }), "{e:?}");
    let e = st.set(&key("x/y"), &secret("v")).unwrap_err();
    assert!(matches!(e, StoreError::WrongPassphrase { .. }), "{e:?}");
    assert!(e.hint().unwrap().contains("not changed"));
    assert_eq!(vault_bytes(&dir), before);
}

#[test]
fn empty_passphrase() {
    let (_tmp, dir, before) = filled_vault();
    let e = store(&dir, Some(""))
        .get(&key("huggingface/token"))
        .unwrap_err();
    assert!(matches!(e, StoreError::EmptyPassphrase), "{e:?}");
    assert_eq!(vault_bytes(&dir), before);
    // Creating a vault with an empty passphrase is refused too, and creates nothing.
    let (_tmp2, fresh) = vault_dir();
    let st = store(&fresh, Some(""));
    let e = st.set(&key("x/y"), &secret("v")).unwrap_err();
    assert!(matches!(e, StoreError::EmptyPassphrase), "{e:?}");
    assert!(!st.exists());
}

#[test]
fn no_passphrase_available_is_locked_with_hint() {
    let (_tmp, dir, before) = filled_vault();
    let st = store(&dir, None);
    for e in [
        st.get(&key("huggingface/token")).unwrap_err(),
        st.set(&key("x/y"), &secret("v")).unwrap_err(),
        st.list().unwrap_err(),
    ] {
        let StoreError::Locked { ref hint, .. } = e else {
            panic!("expected Locked, got {e:?}")
        };
        assert!(hint.contains("tokenvault unlock"), "{hint}");
        assert!(
            hint.contains("TOKENVAULT_PASSPHRASE_FILE") && hint.contains("TOKENVAULT_PASSPHRASE"),
            "{hint}"
        );
        assert!(e.to_string().contains("vault.age"), "{e}");
    }
    assert_eq!(vault_bytes(&dir), before);
    // No passphrase for a new vault either: nothing is created.
    let (_tmp2, fresh) = vault_dir();
    let st = store(&fresh, None);
    assert!(matches!(
        st.set(&key("x/y"), &secret("v")).unwrap_err(),
        StoreError::Locked { .. }
    ));
    assert!(!st.exists());
    // Reading a vault that does not exist needs no passphrase.
    assert!(st.get(&key("x/y")).unwrap().is_none());
}

/// Offsets of the parts of an age file: end of the intro line, the stanza body, the MAC, the
/// payload.
struct Layout {
    body: usize,
    mac: usize,
    payload: usize,
}

fn layout(file: &[u8]) -> Layout {
    let lines: Vec<usize> = file
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
        .take(4)
        .collect();
    Layout {
        body: lines[1],
        mac: lines[2] + 4,
        payload: lines[3],
    }
}

#[test]
fn truncated_vault_is_corrupt_and_untouched() {
    // Large enough for two payload chunks.
    let (_tmp, dir) = vault_dir();
    let st = store(&dir, Some(PASS));
    st.apply(&[
        Change::Set(key("huggingface/token"), secret(VALUE)),
        Change::Set(key("big/blob"), secret(&"z".repeat(100_000))),
    ])
    .unwrap();
    let full = vault_bytes(&dir);
    let l = layout(&full);
    let cuts = [
        (0, "truncated"),
        (10, "truncated"),                          // inside the version line
        (l.body - 5, "truncated"),                  // inside the stanza line
        (l.mac + 10, "truncated"),                  // inside the MAC line
        (l.payload, "truncated"),                   // header only
        (l.payload + 8, "truncated"),               // inside the payload nonce
        (l.payload + 16, "truncated"),              // nonce, no chunk
        (l.payload + 16 + 65536 + 16, "truncated"), // exactly one full chunk: final chunk missing
        (l.payload + 1000, "cut short"),            // inside the first chunk
        (full.len() - 1, "cut short"),              // last byte missing
    ];
    for (cut, why) in cuts {
        put_vault(&dir, &full[..cut]);
        for st in [store(&dir, Some(PASS)), store(&dir, None)] {
            let e = st.get(&key("huggingface/token")).unwrap_err();
            if cut >= l.payload && matches!(e, StoreError::Locked { .. }) {
                continue; // the passphrase-less handle cannot get that far
            }
            let reason = corrupt_reason(&e);
            assert!(reason.contains(why), "cut at {cut}: {reason}");
            let e = st.set(&key("x/y"), &secret("v")).unwrap_err();
            assert!(
                matches!(e, StoreError::Corrupt { .. } | StoreError::Locked { .. }),
                "{e:?}"
            );
            assert_no_secret(&e, &[PASS, VALUE]);
        }
        assert_eq!(
            vault_bytes(&dir),
            full[..cut],
            "cut at {cut}: file untouched"
        );
    }
}

/// Replaces the base64 character at `at` with another valid one, so the result still parses.
fn swap_b64(bytes: &mut [u8], at: usize) {
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
}

#[test]
fn flipped_bytes_are_detected_and_vault_untouched() {
    let (_tmp, dir, full) = filled_vault();
    let l = layout(&full);
    let check = |bytes: Vec<u8>, what: &str, expect: &dyn Fn(&StoreError) -> bool| {
        put_vault(&dir, &bytes);
        let st = store(&dir, Some(PASS));
        let e = st.get(&key("huggingface/token")).unwrap_err();
        assert!(expect(&e), "{what}: unexpected {e:?}");
        let e2 = st.set(&key("x/y"), &secret("v")).unwrap_err();
        assert!(expect(&e2), "{what} (write): unexpected {e2:?}");
        assert_no_secret(&e, &[PASS, VALUE]);
        assert_eq!(vault_bytes(&dir), bytes, "{what}: file untouched");
    };
    let reason_has = |s: &'static str| {
        move |e: &StoreError| match e {
            StoreError::Corrupt { reason, .. } => reason.contains(s),
            _ => false,
        }
    };

    let mut b = full.clone();
    b[3] ^= 0x20; // "age-encryption.org" → "age\rencryption.org"
    check(b, "version line", &reason_has("not an age file"));

    // A damaged stanza body cannot be told from a wrong passphrase (the AEAD just fails), as in
    // age.
    let mut b = full.clone();
    swap_b64(&mut b, l.body + 10);
    check(b, "stanza body", &|e| {
        matches!(e, StoreError::WrongPassphrase { .. })
    });

    let mut b = full.clone();
    swap_b64(&mut b, l.mac + 10);
    check(b, "header MAC", &reason_has("header MAC mismatch"));

    let mut b = full.clone();
    b[l.payload + 30] ^= 0x01;
    check(b, "payload", &reason_has("fails authentication"));

    let mut b = full.clone();
    b[l.payload + 3] ^= 0x01; // the payload nonce: a different payload key
    check(b, "payload nonce", &reason_has("fails authentication"));

    // Any single-bit flip anywhere is an error (never a wrong value), and leaves the file alone.
    for at in (0..full.len()).step_by(7) {
        let mut b = full.clone();
        b[at] ^= 0x04;
        put_vault(&dir, &b);
        let e = store(&dir, Some(PASS))
            .get(&key("huggingface/token"))
            .unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::Corrupt { .. } | StoreError::WrongPassphrase { .. }
            ),
            "flip at {at}: {e:?}"
        );
        assert_eq!(vault_bytes(&dir), b);
    }
}

#[test]
fn not_an_age_file() {
    let (_tmp, dir, _) = filled_vault();
    for junk in [
        &b"{\"items\": {}}"[..],
        b"\x00\x01\x02binary",
        b"-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n",
    ] {
        put_vault(&dir, junk);
        let e = store(&dir, Some(PASS)).get(&key("a/b")).unwrap_err();
        let reason = corrupt_reason(&e);
        assert!(
            reason.contains("not an age file") || reason.contains("ASCII-armored"),
            "{reason}"
        );
        assert!(e.hint().unwrap().contains("age -d"));
        assert_eq!(vault_bytes(&dir), junk);
    }
    // An age file to another kind of recipient.
    let mut x25519 = b"age-encryption.org/v1\n-> X25519 AAAA\nAAAA\n--- ".to_vec();
    x25519.extend_from_slice(&[b'A'; 43]);
    x25519.extend_from_slice(b"\npayload");
    put_vault(&dir, &x25519);
    let e = store(&dir, Some(PASS)).get(&key("a/b")).unwrap_err();
    assert!(corrupt_reason(&e).contains("`X25519` recipient"), "{e}");
    // An absurd work factor is refused before any scrypt runs, and says why.
    let (_t, dir2, good) = filled_vault();
    let text = String::from_utf8_lossy(&good[..layout(&good).body]).replace(" 10\n", " 40\n");
    let mut huge = text.into_bytes();
    huge.extend_from_slice(&good[layout(&good).body..]);
    put_vault(&dir2, &huge);
    let started = Instant::now();
    let e = store(&dir2, Some(PASS)).get(&key("a/b")).unwrap_err();
    assert!(corrupt_reason(&e).contains("work factor 2^40"), "{e}");
    assert!(corrupt_reason(&e).contains("hang"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(1));
}

fn encrypt_doc(doc: &str) -> Vec<u8> {
    VaultKey::create(PASS.as_bytes(), LOG_N)
        .unwrap()
        .encrypt(doc.as_bytes())
        .unwrap()
}

#[test]
fn newer_version_is_refused_and_untouched() {
    let (_tmp, dir) = vault_dir();
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    for doc in [
        r#"{"format": "tokenvault-vault", "version": 2, "items": {}, "previous": {}}"#,
        // A newer shape that this version could not even parse: still reported as a version
        // problem.
        r#"{"format": "tokenvault-vault", "items": [{"name": "x"}], "version": 2}"#,
    ] {
        let bytes = encrypt_doc(doc);
        put_vault(&dir, &bytes);
        let st = store(&dir, Some(PASS));
        for e in [
            st.get(&key("a/b")).unwrap_err(),
            st.set(&key("a/b"), &secret("v")).unwrap_err(),
            st.list().unwrap_err(),
        ] {
            assert!(
                matches!(
                    e,
                    StoreError::UnsupportedVersion {
                        found: 2,
                        supported: 1,
                        ..
                    }
                ),
                "{e:?}"
            );
        }
        assert!(matches!(
            st.unlock(None).unwrap_err(),
            StoreError::UnsupportedVersion { .. }
        ));
        assert_eq!(vault_bytes(&dir), bytes);
    }
}

#[test]
fn decrypted_garbage_is_corrupt_without_echoing_values() {
    let (_tmp, dir) = vault_dir();
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    for (doc, expect) in [
        (
            format!(
                r#"{{"format": "tokenvault-vault", "version": 1, "items": {{"a": "{VALUE}"}}}}"#
            ),
            "unexpected structure",
        ),
        (
            format!(
                r#"{{"format": "tokenvault-vault", "version": 1, "items": {{"a": {{"b": "{VALUE}"#
            ),
            "ends early",
        ),
        (
            format!(r#"{{"items": {{"a": {{"b": "{VALUE}"}}}}}}"#),
            "not a tokenvault vault",
        ),
        ("not json".into(), "not valid JSON"),
    ] {
        let bytes = encrypt_doc(&doc);
        put_vault(&dir, &bytes);
        let e = store(&dir, Some(PASS)).get(&key("a/b")).unwrap_err();
        assert!(corrupt_reason(&e).contains(expect), "{e}");
        assert_no_secret(&e, &[PASS, VALUE]);
        assert_eq!(vault_bytes(&dir), bytes);
    }
}

#[test]
fn readable_by_others_is_refused() {
    let (_tmp, dir, before) = filled_vault();
    let vault = dir.join("vault.age");
    fs::set_permissions(&vault, fs::Permissions::from_mode(0o640)).unwrap();
    let st = store(&dir, Some(PASS));
    for e in [
        st.get(&key("huggingface/token")).unwrap_err(),
        st.set(&key("a/b"), &secret("v")).unwrap_err(),
    ] {
        assert!(
            matches!(e, StoreError::InsecurePermissions { mode: 0o640, .. }),
            "{e:?}"
        );
        assert!(e.hint().unwrap().contains("chmod 600"), "{:?}", e.hint());
    }
    assert_eq!(vault_bytes(&dir), before);
    assert_eq!(
        fs::metadata(&vault).unwrap().permissions().mode() & 0o777,
        0o640,
        "not silently changed"
    );
    fs::set_permissions(&vault, fs::Permissions::from_mode(0o600)).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o750)).unwrap();
    let e = store(&dir, Some(PASS))
        .get(&key("huggingface/token"))
        .unwrap_err();
    assert!(
        matches!(e, StoreError::InsecurePermissions { mode: 0o750, .. }),
        "{e:?}"
    );
    assert!(e.hint().unwrap().contains("chmod 700"));
}

#[test]
fn failed_write_keeps_previous_vault() {
    let (_tmp, dir, before) = filled_vault();
    let st = store(&dir, Some(PASS));
    st.fail_next_write("No space left on device");
    let e = st
        .set(&key("huggingface/token"), &secret("replacement"))
        .unwrap_err();
    assert!(matches!(e, StoreError::Io { .. }), "{e:?}");
    assert!(e.to_string().contains("No space left on device"), "{e}");
    assert_no_secret(&e, &[PASS, VALUE, "replacement"]);
    assert_eq!(vault_bytes(&dir), before, "previous vault intact");
    let mut names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["backups", "vault.age", "vault.lock", "vault.seen"],
        "no temporary file: {names:?}"
    );
    // Both this handle and a new one still see the previous value, and the next write works.
    assert_eq!(
        st.get(&key("huggingface/token"))
            .unwrap()
            .unwrap()
            .expose_secret(),
        VALUE
    );
    assert_eq!(
        store(&dir, Some(PASS))
            .get(&key("huggingface/token"))
            .unwrap()
            .unwrap()
            .expose_secret(),
        VALUE
    );
    st.set(&key("huggingface/token"), &secret("replacement"))
        .unwrap();
    assert_eq!(
        store(&dir, Some(PASS))
            .get(&key("huggingface/token"))
            .unwrap()
            .unwrap()
            .expose_secret(),
        "replacement"
    );
}

#[test]
fn batch_is_all_or_nothing_on_failure() {
    let (_tmp, dir, before) = filled_vault();
    let st = store(&dir, Some(PASS));
    st.fail_next_write("No space left on device");
    st.apply(&[
        Change::Set(key("a/b"), secret("1")),
        Change::Delete(key("huggingface/token")),
    ])
    .unwrap_err();
    assert_eq!(vault_bytes(&dir), before);
    assert!(st.get(&key("a/b")).unwrap().is_none());
    assert!(st.get(&key("huggingface/token")).unwrap().is_some());
}

// ---- Kernel keyring cache ---------------------------------------------------------------------

#[test]
fn unlock_lets_a_passphraseless_handle_read_and_write() {
    let (_tmp, dir, _) = filled_vault();
    let _forget = ForgetOnDrop(dir.clone());
    let unlocker = keyring_store(&dir, Some(PASS));
    let other = keyring_store(&dir, None);
    assert!(!unlocker.is_unlocked());
    assert!(matches!(
        other.get(&key("huggingface/token")).unwrap_err(),
        StoreError::Locked { .. }
    ));

    unlocker.unlock(None).unwrap();
    assert!(unlocker.is_unlocked() && other.is_unlocked());
    assert_eq!(
        other
            .get(&key("huggingface/token"))
            .unwrap()
            .unwrap()
            .expose_secret(),
        VALUE
    );
    other.set(&key("github/token"), &secret("ghp_2")).unwrap();
    assert_eq!(
        store(&dir, Some(PASS))
            .get(&key("github/token"))
            .unwrap()
            .unwrap()
            .expose_secret(),
        "ghp_2"
    );

    // lock: the cache entry is gone, and even a handle that had the key from it stops working.
    assert!(unlocker.lock().unwrap());
    assert!(!other.is_unlocked());
    for st in [&other, &keyring_store(&dir, None)] {
        let e = st.get(&key("huggingface/token")).unwrap_err();
        assert!(matches!(e, StoreError::Locked { .. }), "{e:?}");
    }
    assert!(!unlocker.lock().unwrap(), "nothing left to forget");
}

#[test]
fn unlock_timeout_expires() {
    let (_tmp, dir, _) = filled_vault();
    let _forget = ForgetOnDrop(dir.clone());
    keyring_store(&dir, Some(PASS))
        .unlock(Some(Duration::from_secs(1)))
        .unwrap();
    let other = keyring_store(&dir, None);
    assert_eq!(
        other
            .get(&key("huggingface/token"))
            .unwrap()
            .unwrap()
            .expose_secret(),
        VALUE
    );
    std::thread::sleep(Duration::from_millis(2200));
    assert!(!other.is_unlocked());
    for st in [&other, &keyring_store(&dir, None)] {
        assert!(matches!(
            st.get(&key("huggingface/token")).unwrap_err(),
            StoreError::Locked { .. }
        ));
    }
}

#[test]
fn unlock_creates_a_missing_vault_and_rejects_a_wrong_passphrase() {
    let (_tmp, dir) = vault_dir();
    let _forget = ForgetOnDrop(dir.clone());
    let st = keyring_store(&dir, Some(PASS));
    assert!(!st.exists());
    st.unlock(None).unwrap();
    assert!(st.exists() && st.is_unlocked());
    assert_eq!(st.list().unwrap().unwrap(), Vec::<Key>::new());
    st.lock().unwrap();
    let e = keyring_store(&dir, Some("wrong")).unlock(None).unwrap_err();
    assert!(matches!(e, StoreError::WrongPassphrase { .. }), "{e:?}");
    assert!(!st.is_unlocked(), "a failed unlock caches nothing");
    // Without a key cache, unlock says so.
    let e = store(&dir, Some(PASS)).unlock(None).unwrap_err();
    assert!(matches!(e, StoreError::Unavailable { .. }), "{e:?}");
}

#[test]
fn stale_cache_entry_for_a_recreated_vault_is_ignored() {
    let (_tmp, dir, _) = filled_vault();
    let _forget = ForgetOnDrop(dir.clone());
    keyring_store(&dir, Some(PASS)).unlock(None).unwrap();
    // The vault is deleted and created again with another passphrase (and so another header);
    // starting over on purpose means removing the record of the generation seen too.
    fs::remove_file(dir.join("vault.age")).unwrap();
    fs::remove_file(dir.join("vault.seen")).unwrap();
    store(&dir, Some("second passphrase"))
        .set(&key("a/b"), &secret("v"))
        .unwrap();
    let other = keyring_store(&dir, None);
    assert!(!other.is_unlocked());
    let e = other.get(&key("a/b")).unwrap_err();
    assert!(
        matches!(e, StoreError::Locked { .. }),
        "stale entry ignored, not used: {e:?}"
    );
    assert_eq!(
        keyring_store(&dir, Some("second passphrase"))
            .get(&key("a/b"))
            .unwrap()
            .unwrap()
            .expose_secret(),
        "v"
    );
}

#[test]
fn different_vaults_never_share_a_cache_entry() {
    let (_t1, a, _) = filled_vault();
    let (_t2, b, _) = filled_vault();
    let _fa = ForgetOnDrop(a.clone());
    let _fb = ForgetOnDrop(b.clone());
    keyring_store(&a, Some(PASS)).unlock(None).unwrap();
    assert!(keyring_store(&a, None).is_unlocked());
    assert!(!keyring_store(&b, None).is_unlocked());
    assert!(matches!(
        keyring_store(&b, None)
            .get(&key("huggingface/token"))
            .unwrap_err(),
        StoreError::Locked { .. }
    ));
}

// ---- No secret in any error -------------------------------------------------------------------

#[test]
fn no_error_shows_a_passphrase_or_value() {
    let (_tmp, dir, full) = filled_vault();
    let secrets = [PASS, VALUE, "wrong-passphrase-xyz"];
    let hf = key("huggingface/token");
    let mut errors: Vec<StoreError> = vec![
        store(&dir, Some("wrong-passphrase-xyz"))
            .get(&hf)
            .unwrap_err(),
        store(&dir, Some("")).get(&hf).unwrap_err(),
        store(&dir, None).get(&hf).unwrap_err(),
        store(&dir, Some(PASS)).unlock(None).unwrap_err(), // no key cache
    ];
    let st = store(&dir, Some(PASS));
    st.fail_next_write("No space left on device");
    errors.push(
        st.set(&key("huggingface/token"), &secret(VALUE))
            .unwrap_err(),
    );
    let l = layout(&full);
    for bytes in [
        full[..l.payload + 100].to_vec(),
        full[..l.mac].to_vec(),
        b"garbage".to_vec(),
        encrypt_doc(&format!(
            r#"{{"format":"tokenvault-vault","version":1,"items":{{"a":["{VALUE}"]}}}}"#
        )),
        encrypt_doc(&format!(
            r#"{{"format":"tokenvault-vault","version":1,"items":{{"a":{{"b":{VALUE}}}}}}}"#
        )),
        encrypt_doc(&format!(
            r#"{{"format":"tokenvault-vault","version":"{VALUE}"}}"#
        )),
        encrypt_doc(r#"{"format":"tokenvault-vault","version":7}"#),
    ] {
        put_vault(&dir, &bytes);
        errors.push(store(&dir, Some(PASS)).get(&key("a/b")).unwrap_err());
        errors.push(store(&dir, Some(PASS)).list().unwrap_err());
    }
    fs::set_permissions(dir.join("vault.age"), fs::Permissions::from_mode(0o644)).unwrap();
    errors.push(store(&dir, Some(PASS)).get(&key("a/b")).unwrap_err());
    assert!(errors.len() >= 15);
    for e in &errors {
        assert_no_secret(e, &secrets);
    }
    // And the store itself does not print its passphrase source or keys.
    let shown = format!("{:?}", store(&dir, Some(PASS)));
    assert!(!shown.contains(PASS), "{shown}");
}

// ---- Performance (by hand, release: cargo test --release -p tokenvault-store --test file_backend
// -- --ignored --nocapture bench) ----

#[test]
#[ignore = "benchmark: run in release mode with --ignored --nocapture"]
fn bench_get_with_10000_items() {
    let (_tmp, dir) = vault_dir();
    let _forget = ForgetOnDrop(dir.clone());
    let st = keyring_store(&dir, Some(PASS));
    let changes: Vec<Change> = (0..10_000)
        .flat_map(|i| {
            [
                Change::Set(
                    key(&format!("item-{i:05}/token")),
                    secret(&format!("hf_{i:034}")),
                ),
                Change::Set(
                    key(&format!("item-{i:05}/user")),
                    secret(&format!("user{i}@example.com")),
                ),
            ]
        })
        .collect();
    let t = Instant::now();
    st.apply(&changes).unwrap();
    let write = t.elapsed();
    st.unlock(None).unwrap();
    let size = vault_bytes(&dir).len();

    let runs = 50;
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    // A new handle per get, key from the kernel keyring: what a fresh `tokenvault get`/`run` does.
    let cold: Vec<Duration> = (0..runs)
        .map(|i| {
            let h = keyring_store(&dir, None);
            let t = Instant::now();
            let v = h
                .get(&key(&format!("item-{:05}/token", (i * 197) % 10_000)))
                .unwrap();
            let d = t.elapsed();
            assert!(v.is_some());
            d
        })
        .collect();
    let warm: Vec<Duration> = (0..runs)
        .map(|i| {
            let t = Instant::now();
            st.get(&key(&format!("item-{:05}/token", (i * 197) % 10_000)))
                .unwrap();
            t.elapsed()
        })
        .collect();
    let list: Vec<Duration> = (0..10)
        .map(|_| {
            let h = keyring_store(&dir, None);
            let t = Instant::now();
            assert_eq!(h.list().unwrap().unwrap().len(), 20_000);
            t.elapsed()
        })
        .collect();
    let t = Instant::now();
    st.set(&key("item-00001/token"), &secret("changed"))
        .unwrap();
    let one_write = t.elapsed();
    eprintln!(
        "10,000 items ({} KiB vault): get new handle {:?} (median of {runs}), \
         get same handle {:?}, list new handle {:?}, write 20,000 fields {:?}, one set {:?}",
        size / 1024,
        median(cold),
        median(warm),
        median(list),
        write,
        one_write
    );
}
