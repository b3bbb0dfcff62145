//! SIGKILL at random points of a write command (issue "Nothing lost, nothing forged"): spawn the
//! real binary, sleep a pseudo-random delay, kill it, wait, and tell whether it had completed.
//!
//! The delays are drawn by an xorshift seeded from the test process's id, so a failing run can be
//! told apart from the next one but needs no randomness source. How long a command takes depends
//! on the machine and on what else runs on it, so a [`Killer`] does not use a fixed range: it
//! draws each delay in `max_delay/4..max_delay` and moves `max_delay` after each round — up after
//! a kill, down after a completion — so that about half the rounds are killed. The kills then
//! spread over the command's run from a little after its start (the first part of a debug
//! binary's run is starting up, and writes nothing) to its last write.

use super::Env;
use std::io::Write;
use std::process::{Output, Stdio};
use std::time::Duration;

/// xorshift64: cheap, reproducible pseudo-random numbers.
pub struct Xorshift(u64);

impl Xorshift {
    /// Seeded from the test process's id (never 0, which xorshift cannot leave).
    pub fn from_pid() -> Xorshift {
        Xorshift(u64::from(std::process::id()) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n` (0 for `n == 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        match n {
            0 => 0,
            n => self.next() % n,
        }
    }
}

/// What one killed run did.
pub struct KillRound {
    /// It exited with success before the kill reached it.
    pub completed: bool,
    /// Its output (up to where it was killed), already through the leak check.
    pub output: Output,
}

/// Runs `tokenvault ARGS` (stdin from `stdin`, else null), kills it with SIGKILL after `delay`
/// and waits for it. A command that ends on its own must succeed: every round of a kill test is a
/// command that works when left alone, so a failure is what an earlier kill left behind.
pub fn run_killed(env: &Env, args: &[&str], stdin: Option<&str>, delay: Duration) -> KillRound {
    let mut child = env
        .cmd()
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        // Dropped at the end of the statement: the command reads to the end. It may be killed
        // (or exit) before it reads anything.
        let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    }
    std::thread::sleep(delay);
    // SIGKILL; harmless when it already exited (it is not reaped yet, so the pid is still its).
    let _ = child.kill();
    let output = env.check(args, child.wait_with_output().unwrap());
    #[cfg(unix)]
    let killed = std::os::unix::process::ExitStatusExt::signal(&output.status) == Some(9);
    #[cfg(not(unix))]
    let killed = !output.status.success();
    assert!(
        killed || output.status.success(),
        "`tokenvault {}` ended on its own with {:?}\nstdout: {}\nstderr: {}",
        args.join(" "),
        output.status,
        super::stdout(&output),
        super::stderr(&output)
    );
    KillRound {
        completed: output.status.success(),
        output,
    }
}

/// Rounds of [`run_killed`] with pseudo-random delays, and their tally.
pub struct Killer {
    /// The delays' generator; tests draw their fresh values from it too.
    pub rng: Xorshift,
    max_delay: Duration,
    pub killed: usize,
    pub completed: usize,
    /// Killed rounds whose write had already landed (as the test tells with
    /// [`Killer::killed_after_write`]): the kills in the window between a write and the end.
    pub after_write: usize,
    started: std::time::Instant,
}

impl Killer {
    /// Delays start in `0..max_delay` (a guess of twice the command's run time), then adapt.
    pub fn new(max_delay: Duration) -> Killer {
        Killer {
            rng: Xorshift::from_pid(),
            max_delay,
            killed: 0,
            completed: 0,
            after_write: 0,
            started: std::time::Instant::now(),
        }
    }

    /// One round: `tokenvault ARGS`, killed after a pseudo-random delay. Returns whether it
    /// completed.
    pub fn run(&mut self, env: &Env, args: &[&str], stdin: Option<&str>) -> bool {
        let max_us = u64::try_from(self.max_delay.as_micros()).unwrap_or(u64::MAX);
        let delay = Duration::from_micros(max_us / 4 + self.rng.below(max_us - max_us / 4));
        let round = run_killed(env, args, stdin, delay);
        // Towards half killed, half completed: up by 1/8 after a kill, down by 1/8 after a
        // completion, within 1 ms..5 s.
        self.max_delay = if round.completed {
            self.completed += 1;
            self.max_delay * 7 / 8
        } else {
            self.killed += 1;
            self.max_delay * 9 / 8
        }
        .clamp(Duration::from_millis(1), Duration::from_secs(5));
        round.completed
    }

    /// Notes that the round just killed had written before the kill.
    pub fn killed_after_write(&mut self) {
        self.after_write += 1;
    }

    /// Asserts that at least `min` rounds were killed mid-way and `min` completed, and says how
    /// many of each (shown with `--nocapture`).
    pub fn assert_both(&self, what: &str, min: usize) {
        eprintln!(
            "{what}: {} killed ({} after a write), {} completed in {:.1} s (delays up to {} ms at the end)",
            self.killed,
            self.after_write,
            self.completed,
            self.started.elapsed().as_secs_f64(),
            self.max_delay.as_millis()
        );
        assert!(
            self.killed >= min,
            "{what}: only {} of {} rounds were killed mid-way",
            self.killed,
            self.killed + self.completed
        );
        assert!(
            self.completed >= min,
            "{what}: only {} of {} rounds completed",
            self.completed,
            self.killed + self.completed
        );
    }
}

/// After the rounds: once `unlock` has repaired what a kill left between the vault and its index,
/// `doctor` finds that the index lists exactly what the vault holds. Skipped where `unlock` fails
/// (no kernel keyring).
pub fn assert_index_matches_vault(env: &Env) {
    let out = env.run(&["unlock", "--timeout", "60s"]);
    if !out.status.success() {
        return; // no kernel keyring here; the reads of the test are the test
    }
    let _ = env.run(&["lock"]);
    let out = env.run(&["doctor"]);
    let text = super::stdout(&out) + &super::stderr(&out);
    assert!(text.contains("the index lists exactly its"), "{text}");
}
