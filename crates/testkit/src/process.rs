//! Running a helper program with a deadline.
//!
//! Every program a test starts (dbus-send, secret-tool, a re-run test binary) goes through
//! [`run_with_timeout`], so a helper that waits for a prompt or a hung daemon fails the test with a
//! message instead of hanging the whole `cargo test` run.

use std::io::{Read, Write};
use std::process::{Child, Command, Output, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Runs `cmd` to completion with `stdin` as its standard input (none: `/dev/null`), capturing
/// stdout and stderr; kills it and returns an error when it takes longer than `limit`.
pub fn run_with_timeout(
    cmd: &mut Command,
    stdin: Option<&[u8]>,
    limit: Duration,
) -> Result<Output, String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start `{program}`: {e}"))?;
    // Readers drain both pipes on their own threads so a chatty child never blocks on a full pipe
    // while we wait for it.
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A child that exits without reading its input gives EPIPE here; its exit status and
        // output say more than that error would, so it is not reported.
        let _ = pipe.write_all(data);
    }
    let status = wait_until(&mut child, Instant::now() + limit)
        .map_err(|e| format!("`{program}` {e} (limit {limit:?}); it was killed"))?;
    Ok(Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        buf
    })
}

/// Waits for `child` until `deadline`, killing it when the deadline passes.
fn wait_until(child: &mut Child, deadline: Instant) -> Result<std::process::ExitStatus, String> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("did not finish in time".into());
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("could not be waited for: {e}")),
        }
    }
}
