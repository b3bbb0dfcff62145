//! Caching an unlocked vault key between processes (`tokenvault unlock` / `lock`).
//!
//! MCP clients launch `tokenvault run` without a terminal, so the file backend cannot ask for a
//! passphrase there. `tokenvault unlock` derives the key once and parks it in a [`KeyCache`]; later
//! processes of the same user pick it up. On Linux that is the kernel keyring ([`KernelKeyring`]):
//! the key never touches the disk, the kernel enforces the timeout, and it is gone at reboot.
//! Elsewhere there is no cache ([`NoCache`]) and non-interactive use needs
//! `TOKENVAULT_PASSPHRASE_FILE`.

use crate::StoreError;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

/// Somewhere to keep a derived key for a while, so later processes need no passphrase.
/// The longest time a key may stay cached (`unlock --timeout` at most): seven days.
pub const MAX_CACHE_TIME: Duration = Duration::from_secs(7 * 86_400);

pub trait KeyCache: Send + Sync {
    fn load(&self, id: &str) -> Option<Zeroizing<Vec<u8>>>;
    fn store(&self, id: &str, data: &[u8], timeout: Option<Duration>) -> Result<(), StoreError>;
    fn forget(&self, id: &str) -> Result<bool, StoreError>;
}

/// No cache: every process needs the passphrase.
pub struct NoCache;

impl KeyCache for NoCache {
    fn load(&self, _id: &str) -> Option<Zeroizing<Vec<u8>>> {
        None
    }
    fn store(&self, _id: &str, _data: &[u8], _timeout: Option<Duration>) -> Result<(), StoreError> {
        Err(StoreError::Unavailable {
            backend: "key cache",
            reason: "no key cache on this platform".into(),
            hint: "set TOKENVAULT_PASSPHRASE_FILE for non-interactive use".into(),
        })
    }
    fn forget(&self, _id: &str) -> Result<bool, StoreError> {
        Ok(false)
    }
}

/// The cache this platform offers: the kernel keyring on Linux, none elsewhere.
pub fn default_cache() -> Arc<dyn KeyCache> {
    #[cfg(target_os = "linux")]
    {
        Arc::new(KernelKeyring)
    }
    #[cfg(not(target_os = "linux"))]
    {
        Arc::new(NoCache)
    }
}

#[cfg(target_os = "linux")]
pub use kernel::KernelKeyring;

#[cfg(target_os = "linux")]
mod kernel {
    use super::KeyCache;
    use crate::StoreError;
    use linux_keyutils::{
        Key, KeyError, KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission,
    };
    use std::time::Duration;
    use zeroize::Zeroizing;

    /// A `user` key in the user keyring (`@u`), described by the cache id.
    ///
    /// Why `@u` and not the session keyring: an MCP client started from the desktop, a cron job and
    /// a terminal each have their own session keyring, but share the user keyring. A process
    /// *possesses* a key only when it can reach it from its own session, so the key grants its
    /// payload to the owning uid too (user: view, read, search, write) — any process of that uid
    /// can use it, which is what `unlock` means. Other users get nothing.
    pub struct KernelKeyring;

    fn unavailable(what: &str, e: KeyError) -> StoreError {
        if blocked(&e) {
            // Docker's default seccomp profile (and other sandboxes) refuse keyctl and add_key
            // outright: no keyring can be had, whatever the user does inside the container.
            let inside = if in_container() {
                "this looks like a container: its seccomp profile (Docker's default one does) "
            } else {
                "a sandbox (a container's seccomp profile, such as Docker's default one) "
            };
            return StoreError::Unavailable {
                backend: "kernel keyring",
                reason: format!(
                    "{what}: the kernel refused the keyctl system call ({e:?}); {inside}blocks the kernel keyring, so `unlock` cannot cache the key here"
                ),
                hint: concat!(
                    "give the passphrase to each command instead: TOKENVAULT_PASSPHRASE_FILE=FILE ",
                    "(a 0600 file, e.g. a mounted secret), or use the keychain backend; to allow ",
                    "`unlock`, run the container with a seccomp profile that permits keyctl and add_key"
                )
                .into(),
            };
        }
        StoreError::Unavailable {
            backend: "kernel keyring",
            reason: format!("{what}: {e:?}"),
            hint: concat!(
                "check `keyctl show @u` (containers may block keyctl); ",
                "or set TOKENVAULT_PASSPHRASE_FILE for non-interactive use"
            )
            .into(),
        }
    }

    /// The system call itself was refused (EPERM, ENOSYS from a seccomp filter), as opposed to
    /// an error about a key.
    fn blocked(e: &KeyError) -> bool {
        matches!(
            e,
            KeyError::PermissionDenied | KeyError::OperationNotSupported
        ) || matches!(e, KeyError::Unknown(code) if *code == libc::ENOSYS)
    }

    fn in_container() -> bool {
        std::path::Path::new("/.dockerenv").exists()
            || std::path::Path::new("/run/.containerenv").exists()
            || std::fs::read_to_string("/proc/1/cgroup")
                .is_ok_and(|c| c.contains("docker") || c.contains("containerd"))
    }

    fn user_ring() -> Result<KeyRing, KeyError> {
        KeyRing::from_special_id(KeyRingIdentifier::User, true)
    }

    fn find(id: &str) -> Option<Key> {
        user_ring().ok()?.search(id).ok()
    }

    impl KeyCache for KernelKeyring {
        fn load(&self, id: &str) -> Option<Zeroizing<Vec<u8>>> {
            let key = find(id)?;
            // Our entries are ~150 bytes; read again when the kernel says it holds more.
            let mut buf = Zeroizing::new(vec![0u8; 512]);
            let mut len = key.read(&mut *buf).ok()?;
            if len > buf.len() {
                buf = Zeroizing::new(vec![0u8; len]);
                len = key.read(&mut *buf).ok()?;
            }
            let keep = len.min(buf.len());
            buf.truncate(keep);
            Some(buf)
        }

        fn store(
            &self,
            id: &str,
            data: &[u8],
            timeout: Option<Duration>,
        ) -> Result<(), StoreError> {
            // Replace, never update: an updated key would keep the old timeout.
            self.forget(id)?;
            // The key is created in the process keyring, which this process possesses, so it may
            // set the permissions and timeout; only then is it linked into @u (and unlinked here).
            // Created directly in @u, it would not be possessed when @u is not reachable from this
            // session, and the default permissions would lock its creator out.
            let process = KeyRing::from_special_id(KeyRingIdentifier::Process, true)
                .map_err(|e| unavailable("opening the process keyring", e))?;
            let key = process
                .add_key(id, data)
                .map_err(|e| unavailable("adding the key", e))?;
            let finish = || -> Result<(), StoreError> {
                if let Some(t) = timeout {
                    // Round up: a timeout of 0 would mean "never expires".
                    let secs = t.as_secs() + u64::from(t.subsec_nanos() > 0);
                    // Never past the longest cache `unlock` offers: the kernel takes an unsigned
                    // int, and a larger number would wrap, 2^32 seconds to 0, "never expires".
                    let secs = secs.clamp(1, super::MAX_CACHE_TIME.as_secs());
                    let secs = usize::try_from(secs).unwrap_or(1);
                    key.set_timeout(secs)
                        .map_err(|e| unavailable("setting the timeout", e))?;
                }
                let perms = KeyPermissionsBuilder::builder()
                    .posessor(Permission::ALL)
                    .user(
                        Permission::VIEW
                            | Permission::READ
                            | Permission::SEARCH
                            | Permission::WRITE,
                    )
                    .build();
                key.set_perms(perms)
                    .map_err(|e| unavailable("setting permissions", e))?;
                user_ring()
                    .and_then(|u| u.link_key(key))
                    .map_err(|e| unavailable("linking into the user keyring", e))?;
                Ok(())
            };
            let result = finish();
            if result.is_err() {
                let _ = key.invalidate();
            }
            let _ = process.unlink_key(key);
            result
        }

        fn forget(&self, id: &str) -> Result<bool, StoreError> {
            let mut forgot = false;
            // A search finds one key; repeat (boundedly) in case several carry the description.
            for _ in 0..8 {
                let Some(key) = find(id) else { break };
                key.invalidate()
                    .map_err(|e| unavailable("invalidating the key", e))?;
                forgot = true;
            }
            Ok(forgot)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn store_load_forget() {
            let id = format!("tokenvault-test:keycache:{}", std::process::id());
            let cache = KernelKeyring;
            cache.store(&id, b"first", None).unwrap();
            assert_eq!(cache.load(&id).unwrap().as_slice(), b"first");
            cache
                .store(&id, &[7u8; 600], Some(Duration::from_secs(60)))
                .unwrap();
            assert_eq!(cache.load(&id).unwrap().as_slice(), &[7u8; 600]);
            assert!(cache.forget(&id).unwrap());
            assert!(cache.load(&id).is_none());
            assert!(!cache.forget(&id).unwrap());
        }
    }
}

/// A cache for one CI job or one shell (`tokenvault unlock --session`), where the kernel keyring
/// cannot be had (a container whose seccomp profile blocks keyctl) or should not be shared.
///
/// The derived key is sealed (ChaCha20-Poly1305) under a random session key and written to a 0600
/// file in the vault's `sessions/` directory; the session key itself exists only in the
/// `TOKENVAULT_SESSION` value that `unlock --session` prints. Neither half opens the vault alone:
/// the file without the value is noise, and the value without the file (after `lock`, expiry or a
/// new machine) is nothing. The expiry is sealed with the key, so editing the file's clock fails
/// authentication instead of extending the session.
pub struct SessionCache {
    dir: std::path::PathBuf,
    id: String,
    key: Zeroizing<[u8; 32]>,
}

/// What `TOKENVAULT_SESSION` holds: `tvs1_<16 hex: session id>_<43 base64url: session key>`.
const SESSION_PREFIX: &str = "tvs1_";

impl SessionCache {
    /// A new session in `dir`: its value for `TOKENVAULT_SESSION` and the cache.
    pub fn create(
        dir: &std::path::Path,
    ) -> Result<(tokenvault_core::Secret, SessionCache), StoreError> {
        use base64::Engine as _;
        let mut raw = [0u8; 40];
        getrandom::getrandom(&mut raw).map_err(|e| StoreError::Backend {
            backend: "session",
            message: format!("no randomness for a session key: {e}"),
        })?;
        let raw = Zeroizing::new(raw);
        let id: String = raw[32..].iter().map(|b| format!("{b:02x}")).collect();
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&raw[..32]);
        let value = format!(
            "{SESSION_PREFIX}{id}_{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.as_slice())
        );
        Ok((
            tokenvault_core::Secret::new(value),
            SessionCache {
                dir: dir.to_owned(),
                id,
                key,
            },
        ))
    }

    /// The session a `TOKENVAULT_SESSION` value names, or `None` when it is not one.
    pub fn from_value(dir: &std::path::Path, value: &str) -> Option<SessionCache> {
        use base64::Engine as _;
        let rest = value.trim().strip_prefix(SESSION_PREFIX)?;
        let (id, key) = rest.split_once('_')?;
        if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(key)
                .ok()?,
        );
        let key: [u8; 32] = bytes.as_slice().try_into().ok()?;
        Some(SessionCache {
            dir: dir.to_owned(),
            id: id.to_ascii_lowercase(),
            key: Zeroizing::new(key),
        })
    }

    fn path(&self, cache_id: &str) -> std::path::PathBuf {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(cache_id.as_bytes());
        let tag: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{}-{tag}", self.id))
    }

    fn aad(&self, cache_id: &str) -> Vec<u8> {
        format!("tokenvault session v1\n{}\n{cache_id}", self.id).into_bytes()
    }

    /// Removes every session file in `dir` (`tokenvault lock`): all sessions end.
    pub fn forget_all(dir: &std::path::Path) -> Result<usize, StoreError> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(StoreError::io("reading", dir, e)),
        };
        let mut n = 0;
        for entry in entries.flatten() {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(|e| StoreError::io("removing", &path, e))?;
            n += 1;
        }
        Ok(n)
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl KeyCache for SessionCache {
    fn load(&self, id: &str) -> Option<Zeroizing<Vec<u8>>> {
        use chacha20poly1305::aead::{Aead, KeyInit, Payload};
        let path = self.path(id);
        let sealed = crate::fsutil::read_private(&path).ok()??;
        if sealed.len() < 12 + 8 + 16 {
            return None;
        }
        let (nonce, body) = sealed.split_at(12);
        let cipher = chacha20poly1305::ChaCha20Poly1305::new((&*self.key).into());
        let plain = Zeroizing::new(
            cipher
                .decrypt(
                    nonce.into(),
                    Payload {
                        msg: body,
                        aad: &self.aad(id),
                    },
                )
                .ok()?,
        );
        let (expiry, data) = plain.split_at(8);
        let expiry = u64::from_le_bytes(expiry.try_into().ok()?);
        if unix_now() >= expiry {
            let _ = std::fs::remove_file(&path);
            return None;
        }
        Some(Zeroizing::new(data.to_vec()))
    }

    fn store(&self, id: &str, data: &[u8], timeout: Option<Duration>) -> Result<(), StoreError> {
        use chacha20poly1305::aead::{Aead, KeyInit, Payload};
        let timeout = timeout.unwrap_or(MAX_CACHE_TIME).min(MAX_CACHE_TIME);
        let expiry = unix_now() + timeout.as_secs().max(1);
        let mut plain = Zeroizing::new(Vec::with_capacity(8 + data.len()));
        plain.extend_from_slice(&expiry.to_le_bytes());
        plain.extend_from_slice(data);
        let mut nonce = [0u8; 12];
        getrandom::getrandom(&mut nonce).map_err(|e| StoreError::Backend {
            backend: "session",
            message: format!("no randomness for a nonce: {e}"),
        })?;
        let cipher = chacha20poly1305::ChaCha20Poly1305::new((&*self.key).into());
        let body = cipher
            .encrypt(
                (&nonce).into(),
                Payload {
                    msg: &plain,
                    aad: &self.aad(id),
                },
            )
            .map_err(|_| StoreError::Backend {
                backend: "session",
                message: "sealing the session key failed".into(),
            })?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&body);
        crate::fsutil::ensure_private_dir(&self.dir)?;
        crate::fsutil::atomic_write(&self.path(id), &sealed)
    }

    fn forget(&self, id: &str) -> Result<bool, StoreError> {
        let path = self.path(id);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(StoreError::io("removing", &path, e)),
        }
    }
}

#[cfg(test)]
mod session_tests {
    use super::*;

    #[test]
    fn a_session_opens_only_with_its_value_and_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let (value, cache) = SessionCache::create(dir.path()).unwrap();
        cache
            .store("v", b"key bytes", Some(Duration::from_secs(60)))
            .unwrap();
        let again = SessionCache::from_value(dir.path(), value.expose_secret()).unwrap();
        assert_eq!(again.load("v").unwrap().as_slice(), b"key bytes");
        // Another vault's id, another session's value: nothing.
        assert!(again.load("w").is_none());
        let (_, other) = SessionCache::create(dir.path()).unwrap();
        assert!(other.load("v").is_none());
        // A tampered file fails authentication.
        let file = std::fs::read_dir(dir.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let mut bytes = std::fs::read(&file).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&file, &bytes).unwrap();
        assert!(again.load("v").is_none());
        // Forgetting all removes the file; the value alone opens nothing.
        cache
            .store("v", b"key bytes", Some(Duration::from_secs(60)))
            .unwrap();
        assert_eq!(SessionCache::forget_all(dir.path()).unwrap(), 1);
        assert!(again.load("v").is_none());
        assert!(SessionCache::from_value(dir.path(), "tvs1_zz_abc").is_none());
        assert!(SessionCache::from_value(dir.path(), "not a session").is_none());
    }

    #[test]
    fn an_expired_session_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let (_, cache) = SessionCache::create(dir.path()).unwrap();
        cache
            .store("v", b"k", Some(Duration::from_secs(1)))
            .unwrap();
        assert!(cache.load("v").is_some());
        std::thread::sleep(Duration::from_millis(2100));
        assert!(cache.load("v").is_none());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
