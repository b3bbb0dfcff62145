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
