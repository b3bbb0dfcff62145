//! Output and conventions a new user trips over (issue "What a new user trips over", section
//! "Output and conventions"): `--json` and `-q` honoured or refused by every command, `run`'s exit
//! codes and its `--`, plain catalogue fields shown unmasked, wording and plurals, `rotate --stdin`
//! without the guide, `unlock` without a passphrase source, `get` of something not stored on a
//! terminal, help examples and manual pages, completion of stored names, and colour.
#![allow(clippy::unwrap_used)]

mod common;

use common::pty::in_pty;
use common::*;

// 4. wording

#[test]
fn articles_and_plurals_read_as_english() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    std::fs::create_dir_all(&env.home).unwrap();
    std::fs::set_permissions(&env.home, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(
        env.home.join("config.toml"),
        "[[provider]]\nid = \"acme\"\nname = \"Acme Cloud\"\ndefault_field = \"key\"\n\n  [[provider.fields]]\n  name = \"key\"\n  formats = [{ regex = '^acme_[0-9a-f]{32}$', description = \"'acme_' followed by 32 hex digits\" }]\n  examples_match = [\"acme_0123456789abcdef0123456789abcdef\"]\n",
    )
    .unwrap();
    let out = env.run_stdin(
        &["set", "acme", "--stdin", "--no-verify"],
        Some("not-an-acme-key"),
    );
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("does not look like an acme key"),
        "{}",
        stderr(&out)
    );
    let one = env.run(&["profile", "set", "one", "A=aws"]);
    assert!(stderr(&one).contains("(1 variable)"), "{}", stderr(&one));
    let two = env.run(&["profile", "set", "two", "A=aws", "B=aws/region"]);
    assert!(stderr(&two).contains("(2 variables)"), "{}", stderr(&two));
    let doctor = env.run(&["doctor"]);
    assert!(!stdout(&doctor).contains("(s)"), "{}", stdout(&doctor));
}

// 5. rotate --stdin

#[test]
fn rotate_from_stdin_prints_no_guide_for_the_prompt() {
    let env = Env::new();
    env.set("huggingface", &hf_token());
    let out = env.run_stdin(
        &["rotate", "huggingface", "--stdin", "--no-verify"],
        Some(&hf_token()),
    );
    assert_ok(&out);
    let err = stderr(&out);
    assert!(!err.contains("Create a new token"), "{err}");
    assert!(!err.contains("Paste it at the prompt"), "{err}");
    assert!(err.contains("Rotated tv://huggingface/token"), "{err}");
}

// 7. get: "not stored" before "refusing to print"

#[test]
fn get_of_something_not_stored_says_so_on_a_terminal() {
    let env = Env::new();
    env.set("huggingface", &hf_token());
    let out = in_pty(&env, "get nope");
    assert_code(&out, 2);
    let text = stdout(&out) + &stderr(&out);
    assert!(text.contains("tv://nope/token is not stored"), "{text}");
    assert!(!text.contains("refusing"), "{text}");
    let out = in_pty(&env, "get huggingface --previous");
    let text = stdout(&out) + &stderr(&out);
    assert!(text.contains("has no previous value"), "{text}");
}
