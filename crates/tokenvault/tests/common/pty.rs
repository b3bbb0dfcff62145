//! Running the binary with a pseudo-terminal as its stdout (util-linux `script`, Debian bsdutils),
//! for the commands that refuse to print values to a terminal or colour what goes to one.

use super::{bin, Env};

/// Runs `tokenvault ARGS` (a shell-quoted string) with a terminal as stdout.
pub fn in_pty(env: &Env, args: &str) -> std::process::Output {
    in_pty_with(env, args, &[])
}

/// [`in_pty`] with variables changed: `(name, Some(value))` sets one, `(name, None)` removes it
/// (e.g. `NO_COLOR`, which `Env::cmd` sets).
pub fn in_pty_with(env: &Env, args: &str, vars: &[(&str, Option<&str>)]) -> std::process::Output {
    let c = env.cmd();
    let mut script = std::process::Command::new("script");
    script.env_clear();
    for (k, v) in c.get_envs() {
        if let Some(v) = v {
            script.env(k, v);
        }
    }
    for (k, v) in vars {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    if let Some(dir) = c.get_current_dir() {
        script.current_dir(dir);
    }
    let out = script
        .env("TERM", "dumb")
        .args(["-qec", &format!("{} {args}", bin()), "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("`script` (Debian bsdutils) is needed for terminal tests");
    let args: Vec<&str> = args.split_whitespace().collect();
    env.check(&args, out)
}
