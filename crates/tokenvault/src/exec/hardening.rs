//! Process hardening, done first thing in `main`: no core dumps, so a crash while secrets are in
//! memory cannot write them to disk, and (on Linux) no ptrace attach by other processes of the user
//! that are not our ancestors. The few platform calls of the binary live here.

/// The core-dump limit we found at start, restored for a child we `exec` so that tokenvault's
/// hardening does not silently change the user's program.
#[cfg(unix)]
static ORIGINAL_CORE_LIMIT: std::sync::OnceLock<libc::rlimit> = std::sync::OnceLock::new();

/// Disables core dumps for this process. Failures are ignored: hardening is best effort and must
/// never stop a user from reaching their tokens.
pub fn harden_process() {
    #[cfg(unix)]
    {
        let mut original = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into a valid struct we own.
        if unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut original) } == 0 {
            let _ = ORIGINAL_CORE_LIMIT.set(original);
        }
        // Keep the hard limit, so the child can get its soft limit back.
        let zero = libc::rlimit {
            rlim_cur: 0,
            rlim_max: original.rlim_max,
        };
        // SAFETY: setrlimit reads a valid, fully initialised struct.
        unsafe {
            libc::setrlimit(libc::RLIMIT_CORE, &zero);
        }
    }
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl with PR_SET_DUMPABLE takes plain integers.
        unsafe {
            libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        }
    }
}

/// Puts back the core-dump limit before `exec` (the dumpable flag resets by itself on exec).
pub fn restore_for_child() {
    #[cfg(unix)]
    if let Some(original) = ORIGINAL_CORE_LIMIT.get() {
        // SAFETY: setrlimit reads a valid, fully initialised struct.
        unsafe {
            libc::setrlimit(libc::RLIMIT_CORE, original);
        }
    }
}

/// Whether core dumps are off for this process (for `doctor`).
pub fn core_dumps_disabled() -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl with PR_GET_DUMPABLE takes plain integers.
        let dumpable = unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) };
        dumpable == 0
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// The effective user id of this process: a file tokenvault rewrites through a symbolic link must
/// be owned by it.
#[cfg(unix)]
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid takes no arguments, cannot fail and touches no memory of ours.
    unsafe { libc::geteuid() }
}
