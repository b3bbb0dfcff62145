//! Re-running one test in a child process with an environment of the test's choosing.
//!
//! Some code under test reads process-global state that a test must not change in the shared test
//! process: libdbus, for one, reads `DBUS_SESSION_BUS_ADDRESS` (or finds `$XDG_RUNTIME_DIR/bus`)
//! once per process and keeps that address, so each test that talks to its own private bus runs
//! its body in a fresh process. The pattern, with one test name for both halves:
//!
//! ```no_run
//! use tokenvault_testkit::{child, KeyringSession};
//!
//! #[test]
//! fn talks_to_the_keyring() {
//!     if child::is_child("talks_to_the_keyring") {
//!         // Runs in the child, whose environment is exactly the session's.
//!         return;
//!     }
//!     let session = KeyringSession::start().unwrap_or_else(|e| panic!("{e}"));
//!     child::run("talks_to_the_keyring", &session.env());
//! }
//! ```
//!
//! The child is the same test binary, filtered to that one test with `--exact`; [`run`] checks
//! that exactly one test ran and passed, so a misspelt name fails instead of passing vacuously.

use crate::process::run_with_timeout;
use std::process::Command;
use std::time::Duration;

/// Set in the child's environment to the name of the test it must run as the child half.
pub const CHILD_TEST_VAR: &str = "TOKENVAULT_TESTKIT_CHILD_TEST";

/// Variables passed from the test process to the child besides the ones the test gives: what any
/// program needs to start (`PATH`), and what helps read a failure.
const PASS_THROUGH: &[&str] = &["PATH", "LD_LIBRARY_PATH", "RUST_BACKTRACE", "RUST_LOG"];

/// How long a child test may take; a child that talks to a hung service must still end.
const CHILD_LIMIT: Duration = Duration::from_secs(60);

/// `true` in the child process that [`run`] started for `test`.
pub fn is_child(test: &str) -> bool {
    std::env::var(CHILD_TEST_VAR).is_ok_and(|v| v == test)
}

/// Runs the test named `test` (its full path within the test binary, e.g. `probe_reports_locked`)
/// in a child process whose environment is only `env` plus `PATH` (and `LD_LIBRARY_PATH`,
/// `RUST_BACKTRACE`, `RUST_LOG` when set); panics with the child's output unless exactly that one
/// test passed. Returns the child's output, which the caller may print.
pub fn run(test: &str, env: &[(String, String)]) -> String {
    let exe = std::env::current_exe()
        .unwrap_or_else(|e| panic!("testkit: cannot find the running test binary: {e}"));
    let mut cmd = Command::new(&exe);
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env_clear();
    for var in PASS_THROUGH {
        if let Some(value) = std::env::var_os(var) {
            cmd.env(var, value);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)))
        .env(CHILD_TEST_VAR, test);
    let output = run_with_timeout(&mut cmd, None, CHILD_LIMIT)
        .unwrap_or_else(|e| panic!("testkit: child run of `{test}`: {e}"));
    let text = format!(
        "--- child `{test}` stdout ---\n{}--- child `{test}` stderr ---\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let ran_one = String::from_utf8_lossy(&output.stdout).contains("test result: ok. 1 passed");
    if !output.status.success() || !ran_one {
        panic!(
            "testkit: child run of `{test}` failed ({}){}\n{text}",
            output.status,
            if ran_one {
                ""
            } else {
                "; it did not report exactly one passing test (is the name exact?)"
            }
        );
    }
    text
}
