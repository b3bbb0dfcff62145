//! The bodies of the cargo-fuzz targets for this crate's parsers (`fuzz/fuzz_targets/*.rs` are
//! three-line wrappers), also run on stable by the corpus replay test (`tests/fuzz_corpora.rs`),
//! so a crash once found stays fixed.
//!
//! Each function takes arbitrary bytes, must never panic on its own, and panics when one of the
//! parser's invariants does not hold. Not part of the API.

use crate::agefmt::{self, VaultKey};
use std::sync::OnceLock;
use zeroize::Zeroizing;

/// The passphrase of [`fuzz_key`].
pub const PASSPHRASE: &[u8] = b"fuzz passphrase";

/// A fixed vault key (scrypt work factor 2^1, passphrase [`PASSPHRASE`]), so that encrypted
/// seeds in the corpus stay valid for it: file key, then the stanza, as a key cache keeps it.
const FUZZ_KEY_CACHE: &[u8] =
    b"\x01\x74\x1d\x74\xc9\x17\xa6\x29\x3b\x56\x30\x0a\xb7\x42\xf3\xab\x9f\
age-encryption.org/v1\n-> scrypt dWKtAD0ZKvkO6nI+gkGahw 1\n\
ZqvzBmgkmAD5gyWgfnNSpjYOV49Ce04hon2JaqtVYG8\n---";

/// The vault key the `age` target decrypts with.
pub fn fuzz_key() -> &'static VaultKey {
    static KEY: OnceLock<VaultKey> = OnceLock::new();
    KEY.get_or_init(|| match VaultKey::from_cache_bytes(FUZZ_KEY_CACHE) {
        Ok(k) => k,
        Err(e) => panic!("the fuzz key does not load: {e}"),
    })
}

/// The age file reader, on arbitrary files and on files of [`fuzz_key`] changed by one byte or
/// cut short. Nothing panics; `AgeFile::decrypt` and `decrypt_in_place` agree; a key cache entry
/// that loads writes back byte for byte; a file changed anywhere never decrypts ("nothing
/// forged"), and an unchanged one decrypts to what was encrypted ("nothing lost").
pub fn age(data: &[u8]) {
    let key = fuzz_key();
    // The input as an age file.
    let mut in_place = Zeroizing::new(data.to_vec());
    let in_place_result = agefmt::decrypt_in_place(&mut in_place, key);
    match agefmt::parse(data) {
        Ok(file) => {
            if file.log_n() <= 4 {
                // Cheap enough to try: the passphrase either opens it, or it is an error.
                if let Ok(k) = file.unlock(PASSPHRASE) {
                    assert!(file.uses(&k));
                    assert!(file.verify(&k).is_ok());
                }
            }
            match (file.decrypt(key), &in_place_result) {
                (Ok(plain), Ok(())) => assert_eq!(*plain, *in_place, "the two decryptions"),
                (Err(a), Err(b)) => assert_eq!(&a, b, "the two decryptions fail alike"),
                (a, b) => panic!("decrypt gave {:?}, in place {b:?}", a.map(|p| p.len())),
            }
        }
        Err(e) => assert_eq!(in_place_result, Err(e), "in place parses alike"),
    }
    // The input as a key cache entry.
    if let Ok(k) = VaultKey::from_cache_bytes(data) {
        assert_eq!(
            k.to_cache_bytes().as_slice(),
            data,
            "cache entry round trip"
        );
        assert!(agefmt::parse(&k.header()).is_ok(), "its header parses");
    }
    // The input as a plaintext: encrypted, it decrypts to itself; changed or cut, it does not
    // decrypt at all.
    let sealed = match key.encrypt(data) {
        Ok(s) => s,
        Err(e) => panic!("encrypting failed: {e}"),
    };
    let opened = agefmt::parse(&sealed).and_then(|f| f.decrypt(key));
    match opened {
        Ok(plain) => assert_eq!(plain.as_slice(), data, "nothing lost"),
        Err(e) => panic!("our own file does not decrypt: {e}"),
    }
    let h = data.iter().fold(data.len(), |h, b| {
        h.wrapping_mul(31).wrapping_add(usize::from(*b))
    });
    let at = h % sealed.len();
    let mut flipped = sealed.clone();
    flipped[at] ^= 1 << (h % 8);
    let forged = agefmt::parse(&flipped).and_then(|f| f.decrypt(key));
    assert!(forged.is_err(), "a file with byte {at} changed decrypts");
    let mut buf = Zeroizing::new(flipped);
    assert!(agefmt::decrypt_in_place(&mut buf, key).is_err());
    let cut = &sealed[..h % sealed.len()];
    let forged = agefmt::parse(cut).and_then(|f| f.decrypt(key));
    assert!(
        forged.is_err(),
        "a file cut to {} bytes decrypts",
        cut.len()
    );
}

/// The decrypted vault document. The first byte picks which keys to look up; the rest is the
/// document. See [`crate::file`]: the strict recogniser of our layout and the full serde scan
/// agree wherever the recogniser accepts; every scan is total; a document read whole and
/// written back reads the same.
pub fn vault(data: &[u8]) {
    crate::file::fuzz_check(data);
}

/// The metadata index (`index.json`). See [`crate::index`]: the one-item lookup (binary search
/// over lines, then substring search) agrees with the full parse; what is written reads back.
pub fn index(data: &[u8]) {
    crate::index::fuzz_check(data);
}
