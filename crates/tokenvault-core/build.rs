//! Turns the provider catalogue (`rules/providers.toml`, data people edit) into JSON at build time,
//! so that every command's start parses JSON, several times faster than TOML, instead of TOML.
//! A syntax error in the catalogue fails the build here, with the TOML parser's message.
#![allow(clippy::disallowed_methods)] // a build script reads and writes files: that is its job

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let source = manifest.join("../../rules/providers.toml");
    println!("cargo:rerun-if-changed={}", source.display());
    let text = std::fs::read_to_string(&source)
        .unwrap_or_else(|e| panic!("reading {}: {e}", source.display()));
    let value: toml::Value =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
    let json = serde_json::to_string(&value).expect("TOML values are JSON values");
    let out =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("providers.json");
    std::fs::write(&out, json).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
}
