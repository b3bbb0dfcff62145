//! Process hardening, done first thing in `main`: no core dumps, so a crash while secrets are in
//! memory cannot write them to disk, and (on Linux) no ptrace attach by other processes of the user
//! that are not our ancestors. The few platform calls of the binary live here.

/// Disables core dumps for this process. Failures are ignored: hardening is best effort and must
/// never stop a user from reaching their tokens.
pub fn harden_process() {
    #[cfg(unix)]
    {
        let zero = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
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
