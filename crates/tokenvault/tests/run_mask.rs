//! `tokenvault run --mask` through the real binary (SPEC §2, issue 3): every injected value is
//! replaced with `<concealed:VAR>` in the child's stdout and stderr, also when the child writes it in
//! pieces with pauses between them; output streams out promptly; memory stays bounded on hundreds of
//! megabytes; the child's exit status comes back (128+signal when killed); signals sent to
//! tokenvault reach the child.
#![cfg(unix)]
// Test helpers outside #[test] functions unwrap too: a failed setup should panic loudly.
#![allow(clippy::unwrap_used)]

mod common;

use common::table;
use common::*;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `tokenvault run --mask -e HF_TOKEN=huggingface -- PROBE sh -c SCRIPT` (the probe dumps the
/// child's environment for the leak check).
fn masked(env: &Env, script: &str) -> Command {
    let probe = env.env_probe(&["HF_TOKEN"]);
    let mut c = env.cmd();
    c.args([
        "run",
        "--mask",
        "-e",
        "HF_TOKEN=huggingface",
        "--",
        &probe,
        "sh",
        "-c",
        script,
    ]);
    c
}

/// Starts `c` with stdin closed and stdout and stderr piped.
fn spawn(c: &mut Command) -> Child {
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn output(env: &Env, mut c: Command) -> std::process::Output {
    let child = spawn(&mut c);
    env.check(
        &Env::args_of(&c),
        wait_output(child, Duration::from_secs(60)),
    )
}

/// `wait_with_output` with a deadline, so a hang fails the test instead of stalling the suite.
fn wait_output(child: Child, limit: Duration) -> std::process::Output {
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("tokenvault run --mask did not finish within {limit:?}");
        }
    }
}

/// Shell code that sets `head` and `rest` so that `$head$rest` is `$HF_TOKEN`, cut after `at` bytes.
fn split_at(at: usize) -> String {
    format!(
        r#"rest="${{HF_TOKEN#{q}}}"; head="${{HF_TOKEN%"$rest"}}"; "#,
        q = "?".repeat(at)
    )
}

/// What a stream must hold.
enum Want {
    Is(String),
    Has(String),
    EndsWith(String),
    Anything,
}

impl Want {
    fn check(&self, case: &str, stream: &str, got: &str) {
        let ok = match self {
            Want::Is(w) => got == w,
            Want::Has(w) => got.contains(w.as_str()),
            Want::EndsWith(w) => got.ends_with(w.as_str()),
            Want::Anything => true,
        };
        assert!(ok, "{case}: {stream} {got:?} is not {}", self.describe());
    }

    fn describe(&self) -> String {
        match self {
            Want::Is(w) => format!("exactly {w:?}"),
            Want::Has(w) => format!("something with {w:?}"),
            Want::EndsWith(w) => format!("something ending in {w:?}"),
            Want::Anything => "anything".into(),
        }
    }
}

/// One masked run: `huggingface` holds `token`; the child runs `script` with `HF_TOKEN` set.
struct MaskCase {
    token: String,
    script: String,
    code: i32,
    stdout: Want,
    stderr: Want,
}

fn mask_cases() -> Vec<(&'static str, MaskCase)> {
    let case = |script: &str, code, stdout, stderr| MaskCase {
        token: hf_token(),
        script: script.to_owned(),
        code,
        stdout,
        stderr,
    };
    let mut rows = vec![(
        "whole value on stdout and stderr",
        case(
            r#"echo "token: $HF_TOKEN!"; echo "again $HF_TOKEN$HF_TOKEN" >&2; echo plain"#,
            0,
            Want::Is("token: <concealed:HF_TOKEN>!\nplain\n".into()),
            Want::Has("again <concealed:HF_TOKEN><concealed:HF_TOKEN>\n".into()),
        ),
    )];
    // A value split across two writes with a pause between them. Cut points: after the first
    // byte, inside the `hf_` prefix, in the middle, before the last byte.
    let len = hf_token().len();
    for (name, at) in [
        ("split after byte 1", 1),
        ("split after byte 2", 2),
        ("split after byte 3", 3),
        ("split after byte 20", 20),
        ("split before the last byte", len - 1),
    ] {
        let script = format!(
            "{}printf 'a %s' \"$head\"; sleep 0.2; printf '%s b\\n' \"$rest\"; \
             printf %s \"$head\" >&2; sleep 0.2; printf '%s\\n' \"$rest\" >&2",
            split_at(at)
        );
        rows.push((
            name,
            case(
                &script,
                0,
                Want::Is("a <concealed:HF_TOKEN> b\n".into()),
                Want::EndsWith("<concealed:HF_TOKEN>\n".into()),
            ),
        ));
    }
    // The first 20 bytes of the value, then something else: harmless, released as it is.
    let mut prefix = case(
        &format!(
            "{}printf %s \"$head\"; sleep 0.1; echo ' and no more'",
            split_at(20)
        ),
        0,
        Want::Anything,
        Want::Anything,
    );
    prefix.stdout = Want::Is(format!("{} and no more\n", &prefix.token[..20]));
    rows.push(("a prefix that is not the value", prefix));
    // The child's exit status comes back; killed by a signal, 128 + the signal.
    rows.extend([
        (
            "exit code 42",
            case(
                "echo bye; exit 42",
                42,
                Want::Is("bye\n".into()),
                Want::Anything,
            ),
        ),
        (
            "killed by SIGKILL",
            case("kill -KILL $$", 137, Want::Anything, Want::Anything),
        ),
        (
            "killed by SIGTERM",
            case("kill -TERM $$", 143, Want::Anything, Want::Anything),
        ),
    ]);
    rows
}

fn check_masked(name: &'static str, case: MaskCase) {
    let env = Env::new();
    env.set("huggingface", &case.token);
    let out = output(&env, masked(&env, &case.script));
    assert_eq!(
        out.status.code(),
        Some(case.code),
        "{name}: exit status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        stdout(&out),
        stderr(&out)
    );
    case.stdout.check(name, "stdout", &stdout(&out));
    case.stderr.check(name, "stderr", &stderr(&out));
    assert_no_secret(&out, &case.token, name);
}

/// Every value written whole or in pieces comes out concealed, anything else unchanged, and the
/// child's exit status comes back.
#[test]
fn masked_runs_conceal_the_value_and_keep_the_exit_status() {
    table::run(
        "masked_runs_conceal_the_value_and_keep_the_exit_status",
        mask_cases(),
        check_masked,
    );
}

/// Reads `from` on a thread; `until` waits for `needle` in what has arrived so far.
struct Collector {
    rx: mpsc::Receiver<Vec<u8>>,
    seen: Vec<u8>,
}

impl Collector {
    fn new(mut from: impl Read + Send + 'static) -> Collector {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = from.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Collector {
            rx,
            seen: Vec::new(),
        }
    }

    fn until(&mut self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        while !String::from_utf8_lossy(&self.seen).contains(needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(chunk) => self.seen.extend_from_slice(&chunk),
                Err(_) => panic!(
                    "{needle:?} did not arrive within {limit:?}; got {:?}",
                    String::from_utf8_lossy(&self.seen)
                ),
            }
        }
        String::from_utf8_lossy(&self.seen).into_owned()
    }
}

#[test]
fn interactive_output_is_not_held_back_and_stdin_reaches_the_child() {
    let (env, token) = Env::with_hf_token();
    let mut c = masked(
        &env,
        r#"printf 'Name: '; read name; echo "hello $name, $HF_TOKEN"; printf 'hf_'; read x; echo end"#,
    );
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut out = Collector::new(child.stdout.take().unwrap());
    // The prompt has no newline and the child now waits for input: it must show up anyway.
    out.until("Name: ", Duration::from_secs(10));
    stdin.write_all(b"bob\n").unwrap();
    out.until("hello bob, <concealed:HF_TOKEN>\n", Duration::from_secs(10));
    // `hf_` could be the start of the value: held back until the next output settles it.
    std::thread::sleep(Duration::from_millis(300));
    while let Ok(chunk) = out.rx.try_recv() {
        out.seen.extend_from_slice(&chunk);
    }
    assert!(!String::from_utf8_lossy(&out.seen).contains("hf_"));
    stdin.write_all(b"\n").unwrap();
    let all = out.until("end\n", Duration::from_secs(10));
    assert_eq!(all, "Name: hello bob, <concealed:HF_TOKEN>\nhf_end\n");
    drop(stdin);
    let done = env.check(&Env::args_of(&c), child.wait_with_output().unwrap());
    assert!(done.status.success());
    assert!(!all.contains(&token));
    // What the collector saw is the masked stdout too.
    let seen = std::process::Output {
        stdout: all.into_bytes(),
        ..done
    };
    env.check(&Env::args_of(&c), seen);
}

#[test]
fn a_closed_stdout_ends_the_child_like_a_pipeline() {
    let (env, _) = Env::with_hf_token();
    // `yes` writes forever; once our reader goes away the child must get SIGPIPE, not hang.
    let mut c = masked(&env, "yes");
    let mut child = spawn(&mut c);
    let mut first = [0u8; 100];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let out = env.check(
        &Env::args_of(&c),
        wait_output(child, Duration::from_secs(20)),
    );
    assert_code(&out, 128 + 13);
    assert_eq!(stderr(&out), "");
}

/// Signals this test process ignores (inherited by tokenvault, which then leaves them ignored).
fn ignored_signals() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
        .unwrap_or(0)
}

#[test]
fn signals_sent_to_tokenvault_reach_the_child() {
    let (env, _) = Env::with_hf_token();
    for (name, number) in [("TERM", 15), ("INT", 2), ("HUP", 1), ("QUIT", 3)] {
        if ignored_signals() & (1 << (number - 1)) != 0 {
            eprintln!("SIG{name} is ignored by the test runner: skipped");
            continue;
        }
        let marker = env.path(&format!("got-{name}"));
        let script = format!(
            "trap 'echo {name} > \"{}\"; exit 5' {name}; echo ready; while :; do sleep 0.05; done",
            marker.display()
        );
        let mut c = masked(&env, &script);
        let mut child = spawn(&mut c);
        let mut out = Collector::new(child.stdout.take().unwrap());
        out.until("ready", Duration::from_secs(10));
        let sent = Command::new("kill")
            .args([format!("-{name}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let out = env.check(
            &Env::args_of(&c),
            wait_output(child, Duration::from_secs(20)),
        );
        assert_code(&out, 5);
        assert_eq!(
            std::fs::read_to_string(&marker).unwrap_or_default(),
            format!("{name}\n"),
            "SIG{name} did not reach the child"
        );
    }
    // Without a trap, the child dies of the forwarded signal and we report it as 128+15.
    let mut c = masked(&env, "echo ready; while :; do sleep 0.05; done");
    let mut child = spawn(&mut c);
    Collector::new(child.stdout.take().unwrap()).until("ready", Duration::from_secs(10));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = env.check(
        &Env::args_of(&c),
        wait_output(child, Duration::from_secs(20)),
    );
    assert_code(&out, 143);
}

/// Peak resident memory (VmHWM) of a running process, in KiB.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn large_output_streams_with_bounded_memory() {
    let (env, token) = Env::with_hf_token();
    // 5,000,000 lines of 46 bytes (230 MB), each with the value; as 46 does not divide the pipe's
    // read sizes, the value straddles read boundaries at many different offsets. A second variable
    // holds the same value, and the child pauses at the end so we can sample memory before exit.
    const LINES: u64 = 5_000_000;
    let probe = env.env_probe(&["HF_TOKEN", "SAME_TOKEN"]);
    let mut c = env.cmd();
    c.args([
        "run",
        "--mask",
        "-e",
        "HF_TOKEN=huggingface",
        "-e",
        "SAME_TOKEN=huggingface",
        "--",
        &probe,
        "sh",
        "-c",
        &format!("yes \"ab $HF_TOKEN cdef\" | head -n {LINES}; sleep 0.5"),
    ]);
    let mut tv = spawn(&mut c);
    let pid = tv.id();
    let tv_out = tv.stdout.take().unwrap();
    let sum = Command::new("cksum")
        .stdin(Stdio::from(tv_out))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut peak = 0;
    let deadline = Instant::now() + Duration::from_secs(300);
    while tv.try_wait().unwrap().is_none() {
        if let Some(kib) = vm_hwm_kib(pid) {
            peak = peak.max(kib);
        }
        assert!(Instant::now() < deadline, "run --mask took too long");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = tv.wait().unwrap();
    let mut err = String::new();
    tv.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(status.success(), "{status:?}: {err}");
    assert!(!err.contains(&token));
    // stdout went to cksum (compared below); stderr goes through the leak check.
    env.check(
        &Env::args_of(&c),
        std::process::Output {
            status,
            stdout: Vec::new(),
            stderr: err.into_bytes(),
        },
    );
    let got = sum.wait_with_output().unwrap();
    // Both variables hold the same value: it is concealed under the first name.
    let want = Command::new("sh")
        .args([
            "-c",
            &format!("yes 'ab <concealed:HF_TOKEN> cdef' | head -n {LINES} | cksum"),
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&got.stdout),
        String::from_utf8_lossy(&want.stdout),
        "the masked output differs from the expected text"
    );
    eprintln!("tokenvault peak memory (VmHWM): {peak} KiB");
    assert!(peak > 0, "VmHWM was never sampled");
    assert!(
        peak < 64 * 1024,
        "tokenvault's peak memory was {peak} KiB for 230 MB of output"
    );
}
