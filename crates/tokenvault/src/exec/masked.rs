//! `run --mask`: tokenvault stays the parent and conceals the injected values in the child's output.
//!
//! Plain `run` execs the command, so the child owns stdio and signals. With `--mask` we spawn it
//! instead, pipe its stdout and stderr through one [`Concealer`] each (one thread per stream, so a
//! child that fills one pipe while we wait on the other cannot deadlock), and write what is safe to
//! write after every read, so interactive programs see their output at once. Memory is bounded
//! by a fixed read buffer per stream plus what the concealer may hold back (longest value − 1 bytes).
//!
//! Signals: SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to tokenvault are forwarded to the child, and we
//! return the child's status (128+signal when it was killed), as the shell would. The platform
//! calls (sigaction, kill, waitid, and restoring the core-dump limit before exec) are the only
//! `unsafe` here, each with its reason.
//!
//! Design decisions:
//! - we wait for end of file on both pipes, like a shell pipeline: a background process the child
//!   leaves behind holding the pipes keeps us reading (and concealing) its output too;
//! - when our own stdout is closed (`… | head`), we close the child's pipe, so the child gets
//!   SIGPIPE as it would in a pipeline, and we return its status;
//! - stdin is inherited: the child reads the terminal or the pipe directly; its stdout and stderr
//!   are pipes, not a terminal, so programs that block-buffer or drop colours off a TTY do so
//!   (a pseudo-terminal would change that; not needed so far).

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::process::{Command, Stdio};

use anyhow::Context as _;
use tokenvault_core::conceal::Concealer;
use tokenvault_core::Secret;

use crate::error::hinted;

/// Bytes read per system call, and the capacity asked for the child's output pipes (Linux
/// `F_SETPIPE_SZ`; 1 MiB is the default `pipe-max-size`). With the default 64 KiB pipe, every
/// 64 KiB costs the child and us a sleep and a wake-up each, and on a virtual machine those
/// cross-CPU wake-ups were most of the time (scripts/bench-mask, sparse: 511 MB/s).
const READ_BUFFER: usize = 1024 * 1024;

/// Asks the kernel for a larger pipe behind `fd`; keeps the default when refused (a lower
/// `/proc/sys/fs/pipe-max-size`, another OS).
#[cfg(target_os = "linux")]
fn enlarge_pipe(fd: &impl std::os::fd::AsRawFd) {
    // SAFETY: F_SETPIPE_SZ on a descriptor we own takes an int and touches no memory of ours.
    unsafe {
        libc::fcntl(
            fd.as_raw_fd(),
            libc::F_SETPIPE_SZ,
            READ_BUFFER as libc::c_int,
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn enlarge_pipe<T>(_fd: &T) {}

/// Runs `command` as a child with `env` added, replacing each value of `conceal` (VAR, value) in
/// its stdout and stderr with `<concealed:VAR>`; returns the exit code to exit with (128+signal
/// when the child was killed).
pub fn run_masked(
    command: &[OsString],
    env: &[(String, Secret)],
    conceal: &[(String, Secret)],
) -> anyhow::Result<i32> {
    // Anything already buffered by the printer goes out before the child's output.
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
    let (out, err) = our_outputs()?;
    run_masked_to(command, env, conceal, out, err)
}

/// Our stdout and stderr as unbuffered writers that the pump threads own. On Unix, duplicates of
/// fds 1 and 2: std's `Stdout` is line-buffered (it would copy every chunk's tail into its buffer)
/// and its lock would be shared with the printer.
#[cfg(unix)]
fn our_outputs() -> anyhow::Result<(std::fs::File, std::fs::File)> {
    use std::os::fd::AsFd;
    let dup = |fd: std::os::fd::BorrowedFd<'_>, what: &str| {
        fd.try_clone_to_owned()
            .map(std::fs::File::from)
            .with_context(|| format!("cannot duplicate {what} for the masked output"))
    };
    Ok((
        dup(io::stdout().as_fd(), "stdout")?,
        dup(io::stderr().as_fd(), "stderr")?,
    ))
}

#[cfg(not(unix))]
fn our_outputs() -> anyhow::Result<(io::Stdout, io::Stderr)> {
    Ok((io::stdout(), io::stderr()))
}

/// [`run_masked`] with the destinations given (tests pass files).
fn run_masked_to<O, E>(
    command: &[OsString],
    env: &[(String, Secret)],
    conceal: &[(String, Secret)],
    out: O,
    err: E,
) -> anyhow::Result<i32>
where
    O: Write + Send + 'static,
    E: Write + Send + 'static,
{
    let (program, args) = command.split_first().ok_or_else(|| {
        hinted(
            "no command given",
            "usage: tokenvault run --mask -e VAR=REF -- CMD [ARGS…]",
        )
    })?;
    // Built before anything starts: a failure here must not leave a child running.
    let out_concealer = Concealer::new(conceal).context("cannot prepare --mask")?;
    let err_concealer = Concealer::new(conceal).context("cannot prepare --mask")?;

    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (var, value) in env {
        // The child's environment is where the values are meant to go.
        cmd.env(var, value.expose_secret());
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: the closure runs in the forked child before exec; it only reads a `OnceLock`
        // (an atomic load) and calls setrlimit, both async-signal-safe. It gives the child the
        // core-dump limit tokenvault's own hardening took away, as plain `run` does before exec.
        unsafe {
            cmd.pre_exec(|| {
                crate::exec::hardening::restore_for_child();
                Ok(())
            });
        }
    }

    // Handlers go in before the child exists, so a signal arriving during the spawn is kept and
    // forwarded, rather than killing us and orphaning the child.
    #[cfg(unix)]
    let forwarder = signals::Forwarder::install();
    let shown = program.to_string_lossy().into_owned();
    let mut child = cmd.spawn().map_err(|e| start_error(&shown, e))?;
    #[cfg(unix)]
    forwarder.set_child(child.id());

    // If we cannot read both pipes, the child could block forever on a full one: stop it.
    let abandon = |child: &mut std::process::Child| {
        #[cfg(unix)]
        forwarder.clear_child();
        let _ = child.kill();
        let _ = child.wait();
    };
    let (Some(child_out), Some(child_err)) = (child.stdout.take(), child.stderr.take()) else {
        abandon(&mut child);
        anyhow::bail!("internal error: the child's output pipes are missing");
    };
    enlarge_pipe(&child_out);
    enlarge_pipe(&child_err);
    let err_thread = std::thread::Builder::new()
        .name("mask-stderr".into())
        .spawn(move || pump(child_err, err, err_concealer));
    let err_thread = match err_thread {
        Ok(t) => t,
        Err(e) => {
            abandon(&mut child);
            return Err(e).context("cannot start the thread that masks stderr");
        }
    };
    let out_result = pump(child_out, out, out_concealer);
    let err_result = err_thread
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the stderr masking thread panicked")));

    // Wait for the exit without reaping, stop forwarding, then reap: a signal can never reach a
    // recycled pid.
    #[cfg(unix)]
    {
        signals::wait_exit(child.id()).context("waiting for the child failed")?;
        forwarder.clear_child();
    }
    let status = child.wait().context("waiting for the child failed")?;
    #[cfg(unix)]
    drop(forwarder);

    out_result.context("masking the child's stdout failed")?;
    err_result.context("masking the child's stderr failed")?;
    Ok(exit_code(status))
}

/// Copies `from` to `to` through `concealer` until end of file, writing after every read whatever
/// is known not to be part of a value.
fn pump(mut from: impl Read, mut to: impl Write, mut concealer: Concealer) -> io::Result<()> {
    let mut buf = vec![0u8; READ_BUFFER];
    // Room for a chunk plus a few replacements (a replacement may be longer than its value).
    let mut out = Vec::with_capacity(2 * READ_BUFFER);
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        out.clear();
        concealer.feed(&buf[..n], &mut out);
        if let Err(e) = write_out(&mut to, &out) {
            // Returning drops `from`: the child's next write gets SIGPIPE/EPIPE, as in a pipeline.
            return quiet_broken_pipe(e);
        }
    }
    out.clear();
    concealer.finish(&mut out);
    write_out(&mut to, &out).or_else(quiet_broken_pipe)
}

fn write_out(to: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    if !bytes.is_empty() {
        to.write_all(bytes)?;
        // A no-op for the raw fds used on Unix; needed for buffered writers elsewhere.
        to.flush()?;
    }
    Ok(())
}

/// A reader that went away (`| head`) is the normal end of a pipeline, not an error.
fn quiet_broken_pipe(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(e)
    }
}

pub(crate) fn exit_code(status: std::process::ExitStatus) -> i32 {
    if let Some(code) = status.code() {
        return code;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return 128 + sig;
        }
    }
    // Neither an exit code nor a signal (not possible after a successful wait on Unix).
    2
}

fn start_error(program: &str, err: io::Error) -> anyhow::Error {
    crate::error::start_failure(program, &err)
}

/// Forwarding SIGINT, SIGTERM, SIGHUP and SIGQUIT to the child.
///
/// The handler itself sends the signal on (`kill` is async-signal-safe), so no thread has to wait
/// for signals and no signal mask has to be set in threads we do not own. Shared state is three
/// atomics; a mutex makes concurrent masked runs in one process (tests) take turns.
#[cfg(unix)]
pub(crate) mod signals {
    use std::io;
    use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering::SeqCst};
    use std::sync::{Mutex, MutexGuard};

    const FORWARDED: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

    /// The child's pid while it may be signalled; 0 before it exists and once it has exited.
    static CHILD: AtomicI32 = AtomicI32::new(0);
    /// A signal that arrived while there was no child yet, forwarded once there is one.
    static EARLY: AtomicI32 = AtomicI32::new(0);
    /// Handlers currently running; `CHILD` is only considered cleared once this drops to 0.
    static IN_HANDLER: AtomicUsize = AtomicUsize::new(0);
    static ACTIVE: Mutex<()> = Mutex::new(());

    pub struct Forwarder {
        previous: Vec<(libc::c_int, libc::sigaction)>,
        _turn: MutexGuard<'static, ()>,
    }

    impl Forwarder {
        /// Installs the handlers, keeping the previous ones for [`Drop`]. Best effort: a signal
        /// whose handler cannot be installed keeps its old behaviour.
        pub fn install() -> Forwarder {
            let turn = ACTIVE
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            CHILD.store(0, SeqCst);
            EARLY.store(0, SeqCst);
            let mut previous = Vec::new();
            for sig in FORWARDED {
                // SAFETY: an all-zero sigaction is a valid value (SIG_DFL, empty mask, no flags).
                let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
                // SAFETY: querying (null new action) writes into `old`, which we own.
                if unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) } != 0 {
                    continue;
                }
                // An ignored signal (`nohup`) stays ignored: the child inherits that across exec,
                // and it must not start dying of it because we caught it.
                if old.sa_sigaction == libc::SIG_IGN {
                    continue;
                }
                // SAFETY: as above.
                let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
                action.sa_sigaction = on_signal as extern "C" fn(_, _, _) as libc::sighandler_t;
                // SA_RESTART: our reads, writes and waits continue instead of failing with EINTR.
                action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
                // SAFETY: `action` is fully initialised, its handler only touches atomics and calls
                // kill (async-signal-safe); `old` receives the previous action.
                if unsafe { libc::sigaction(sig, &action, &mut old) } == 0 {
                    previous.push((sig, old));
                }
            }
            Forwarder {
                previous,
                _turn: turn,
            }
        }

        /// From now on signals go to `pid`, starting with one that arrived before it existed.
        pub fn set_child(&self, pid: u32) {
            let Ok(pid) = i32::try_from(pid) else { return };
            CHILD.store(pid, SeqCst);
            quiesce();
            let early = EARLY.swap(0, SeqCst);
            if early != 0 {
                // SAFETY: plain integers; `pid` is our unreaped child.
                unsafe { libc::kill(pid, early) };
            }
        }

        /// Stops forwarding; once this returns, no handler will signal the old pid.
        pub fn clear_child(&self) {
            CHILD.store(0, SeqCst);
            quiesce();
        }
    }

    impl Drop for Forwarder {
        fn drop(&mut self) {
            self.clear_child();
            for (sig, old) in &self.previous {
                // SAFETY: restores an action the kernel gave us.
                unsafe { libc::sigaction(*sig, old, std::ptr::null_mut()) };
            }
        }
    }

    /// Waits until no handler is between reading `CHILD` and returning. A handler that starts after
    /// the store above sees the new value (sequentially consistent order).
    fn quiesce() {
        while IN_HANDLER.load(SeqCst) != 0 {
            std::thread::yield_now();
        }
    }

    extern "C" fn on_signal(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
        // Ctrl-C and Ctrl-\ come from the terminal driver (si_code SI_KERNEL) and go to the whole
        // foreground process group, the child included: forwarding would deliver them twice (many
        // programs treat a second Ctrl-C as "abort the cleanup"). Signals sent with kill() are
        // forwarded. SIGHUP/SIGTERM are always forwarded: a hangup reaches only the session leader.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if (sig == libc::SIGINT || sig == libc::SIGQUIT)
            && !info.is_null()
            // SAFETY: the kernel passes a valid siginfo_t with SA_SIGINFO.
            && unsafe { (*info).si_code } == libc::SI_KERNEL
        {
            return;
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = info;
        IN_HANDLER.fetch_add(1, SeqCst);
        let saved = errno::get();
        let pid = CHILD.load(SeqCst);
        if pid > 0 {
            // SAFETY: kill is async-signal-safe; `pid` is our child, not yet reaped.
            unsafe { libc::kill(pid, sig) };
        } else {
            EARLY.store(sig, SeqCst);
        }
        // The interrupted code may be about to read errno of its own failed call.
        errno::set(saved);
        IN_HANDLER.fetch_sub(1, SeqCst);
    }

    /// Blocks until the child has exited, leaving it to be reaped by `Child::wait`.
    pub fn wait_exit(pid: u32) -> io::Result<()> {
        loop {
            // SAFETY: an all-zero siginfo_t is valid; waitid writes into it.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: plain integers and a pointer to a siginfo_t we own. WNOWAIT leaves the child
            // waitable, so its pid stays ours until `Child::wait`.
            let r = unsafe {
                libc::waitid(
                    libc::P_PID,
                    pid as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOWAIT,
                )
            };
            if r == 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// errno save/restore for the handler, where the platform exposes it.
    mod errno {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        pub fn get() -> libc::c_int {
            // SAFETY: __errno_location returns this thread's errno slot, always valid.
            unsafe { *libc::__errno_location() }
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        pub fn set(value: libc::c_int) {
            // SAFETY: as above.
            unsafe { *libc::__errno_location() = value }
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        pub fn get() -> libc::c_int {
            0
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        pub fn set(_: libc::c_int) {}
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;
    use std::path::Path;

    fn sh(script: &str) -> Vec<OsString> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    /// Runs `script` with HF_TOKEN set and concealed; returns (code, stdout, stderr).
    fn run(dir: &Path, script: &str, token: &str) -> (i32, String, String) {
        let env = vec![("HF_TOKEN".to_owned(), Secret::from_str_copy(token))];
        let out = dir.join("out");
        let err = dir.join("err");
        let code = run_masked_to(
            &sh(script),
            &env,
            &env,
            std::fs::File::create(&out).unwrap(),
            std::fs::File::create(&err).unwrap(),
        )
        .unwrap();
        (
            code,
            std::fs::read_to_string(out).unwrap(),
            std::fs::read_to_string(err).unwrap(),
        )
    }

    const TOKEN: &str = "hf_UnitTestTokenValue0123456789abcd";

    #[test]
    fn conceals_both_streams_and_passes_the_code() {
        let dir = tempfile::tempdir().unwrap();
        let (code, out, err) = run(
            dir.path(),
            r#"echo "out $HF_TOKEN"; echo "err $HF_TOKEN" >&2; exit 7"#,
            TOKEN,
        );
        assert_eq!(code, 7);
        assert_eq!(out, "out <concealed:HF_TOKEN>\n");
        assert_eq!(err, "err <concealed:HF_TOKEN>\n");
    }

    #[test]
    fn split_writes_are_concealed() {
        let dir = tempfile::tempdir().unwrap();
        let (code, out, _) = run(
            dir.path(),
            r#"printf %s "${HF_TOKEN%????????????????????}"; sleep 0.1; printf '%s\n' "${HF_TOKEN#???????????????}""#,
            TOKEN,
        );
        assert_eq!(code, 0);
        assert_eq!(out, "<concealed:HF_TOKEN>\n");
    }

    #[test]
    fn killed_child_gives_128_plus_signal() {
        let dir = tempfile::tempdir().unwrap();
        let (code, _, _) = run(dir.path(), "kill -KILL $$", TOKEN);
        assert_eq!(code, 137);
    }

    #[test]
    fn missing_program_is_an_error_without_the_value() {
        let env = vec![("HF_TOKEN".to_owned(), Secret::from_str_copy(TOKEN))];
        let e = run_masked_to(
            &["/nonexistent/prog".into()],
            &env,
            &env,
            io::sink(),
            io::sink(),
        )
        .unwrap_err();
        let text = format!("{e:#}");
        assert!(
            text.contains("cannot run '/nonexistent/prog': command not found"),
            "{text}"
        );
        assert_eq!(crate::error::code_of(&e), 127);
        assert!(!text.contains(TOKEN));
    }
}
