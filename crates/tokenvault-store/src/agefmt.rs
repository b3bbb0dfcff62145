//! Our own implementation of the age v1 file format (<https://age-encryption.org/v1>), restricted
//! to what a tokenvault vault uses: exactly one passphrase (`scrypt`) recipient stanza.
//!
//! Why not the `age` crate: once a vault is unlocked we must re-encrypt it on every write *without*
//! running scrypt again (that is what makes `unlock` worth having). An unlocked vault is a
//! [`VaultKey`]: the file key plus the exact header text. Every write re-uses the same file key and
//! the byte-identical header, so the stanza's wrap (whose AEAD nonce is fixed at zero) is never
//! computed twice with different inputs, and draws a fresh random 16-byte payload nonce, so the
//! payload key (HKDF of file key and nonce) never repeats. Only [`VaultKey::create`] and
//! [`AgeFile::unlock`] run scrypt. The output is a normal age file: `age -d` decrypts it with the
//! passphrase.
//!
//! Parsing is strict, as the spec asks (canonical base64, 64-column body lines, one scrypt stanza
//! alone, bounded work factor), and every failure is its own [`AgeError`] so the caller can say
//! what is wrong. Nothing here touches the file system.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce, Tag};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use zeroize::Zeroizing;

/// The first line of every age v1 file.
const INTRO: &[u8] = b"age-encryption.org/v1\n";
/// The start of an ASCII-armored age file, which we recognise only to explain that we do not read
/// it.
const ARMOR: &[u8] = b"-----BEGIN AGE ENCRYPTED FILE-----";
/// Prefix of the scrypt salt, from the spec.
const SCRYPT_LABEL: &[u8] = b"age-encryption.org/v1/scrypt";

/// scrypt work factor (log2 N) for new vaults: age's own default, about a second on a laptop.
pub const DEFAULT_LOG_N: u8 = 18;
/// The largest work factor we accept when reading (age's default limit). 2^22 already needs 4 GiB
/// of memory; a crafted file with a larger factor would hang tokenvault for minutes.
pub const MAX_LOG_N: u8 = 22;
/// The smallest work factor: N must be at least 2.
pub const MIN_LOG_N: u8 = 1;

const FILE_KEY_LEN: usize = 16;
const SALT_LEN: usize = 16;
const TAG_LEN: usize = 16;
const WRAPPED_LEN: usize = FILE_KEY_LEN + TAG_LEN;
const MAC_LEN: usize = 32;
const PAYLOAD_NONCE_LEN: usize = 16;
const CHUNK_LEN: usize = 64 * 1024;
const COLUMNS: usize = 64;
/// Layout version of [`VaultKey::to_cache_bytes`].
const CACHE_FORMAT: u8 = 1;

/// Why an age file could not be read or written. Never carries key material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgeError {
    /// The data does not start with the age v1 header line.
    NotAge,
    /// An ASCII-armored (PEM) age file.
    Armored,
    /// The data ends before the header's MAC line is complete.
    TruncatedHeader,
    /// The header breaks a rule of the format.
    MalformedHeader(&'static str),
    /// The file is encrypted to another kind of recipient (X25519, ssh-ed25519, a plugin, …).
    UnknownRecipient(String),
    /// The scrypt work factor is outside [`MIN_LOG_N`]..=[`MAX_LOG_N`].
    WorkFactor(u32),
    /// The scrypt stanza did not decrypt: wrong passphrase (or a damaged stanza; the two are
    /// indistinguishable by design).
    WrongPassphrase,
    /// The header MAC does not match: the header was modified.
    HeaderMac,
    /// A key for another header was used (the vault was re-created since the key was cached).
    KeyMismatch,
    /// The payload ends early: missing nonce, or missing final chunk.
    PayloadTruncated,
    /// A payload chunk fails authentication.
    PayloadTampered,
    /// The payload breaks a rule of the STREAM construction.
    MalformedPayload(&'static str),
    /// No randomness, or a primitive refused its parameters.
    Crypto(String),
}

impl fmt::Display for AgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgeError::NotAge => {
                f.write_str("not an age file (it does not start with `age-encryption.org/v1`)")
            }
            AgeError::Armored => f.write_str(concat!(
                "an ASCII-armored age file; only the binary format is read ",
                "(convert it with `age -d` and re-import)"
            )),
            AgeError::TruncatedHeader => {
                f.write_str("the age header is truncated (the file ends before the `---` MAC line)")
            }
            AgeError::MalformedHeader(what) => write!(f, "malformed age header: {what}"),
            AgeError::UnknownRecipient(kind) => write!(
                f,
                "the file is encrypted to a `{kind}` recipient; \
                 a vault has a single passphrase (scrypt) recipient"
            ),
            AgeError::WorkFactor(n) => write!(
                f,
                "scrypt work factor 2^{n} is outside 2^{MIN_LOG_N}..2^{MAX_LOG_N}: refused, \
                 because a larger factor would take minutes and gigabytes of memory to try \
                 (a crafted file could hang tokenvault)"
            ),
            AgeError::WrongPassphrase => {
                f.write_str("wrong passphrase (the passphrase stanza does not decrypt)")
            }
            AgeError::HeaderMac => f.write_str("header MAC mismatch: the header was modified"),
            AgeError::KeyMismatch => {
                f.write_str("the key belongs to another header (the vault was re-created)")
            }
            AgeError::PayloadTruncated => {
                f.write_str("the encrypted payload is truncated (its final chunk is missing)")
            }
            AgeError::PayloadTampered => f.write_str(concat!(
                "the encrypted payload is damaged, cut short or was modified ",
                "(a chunk fails authentication)"
            )),
            AgeError::MalformedPayload(what) => write!(f, "malformed age payload: {what}"),
            AgeError::Crypto(what) => write!(f, "encryption failed: {what}"),
        }
    }
}

impl std::error::Error for AgeError {}

/// A parsed (not yet authenticated) age file with one scrypt stanza. Borrows the input.
pub struct AgeFile<'a> {
    /// The header text the MAC covers: from the version line through `---` (without the space).
    mac_input: &'a [u8],
    salt: [u8; SALT_LEN],
    log_n: u8,
    wrapped: [u8; WRAPPED_LEN],
    mac: [u8; MAC_LEN],
    payload: &'a [u8],
}

impl fmt::Debug for AgeFile<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgeFile")
            .field("log_n", &self.log_n)
            .field("header_len", &self.mac_input.len())
            .field("payload_len", &self.payload.len())
            .finish_non_exhaustive()
    }
}

/// Splits `bytes` into lines ending in `\n`, tracking the position.
struct Lines<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Lines<'a> {
    fn next_line(&mut self) -> Result<&'a [u8], AgeError> {
        let rest = &self.bytes[self.pos..];
        let end = rest
            .iter()
            .position(|b| *b == b'\n')
            .ok_or(AgeError::TruncatedHeader)?;
        self.pos += end + 1;
        Ok(&rest[..end])
    }
}

/// Parses the header of an age file. Reads nothing but `bytes`; authenticates nothing yet.
pub fn parse(bytes: &[u8]) -> Result<AgeFile<'_>, AgeError> {
    if !bytes.starts_with(INTRO) {
        if bytes.starts_with(ARMOR) {
            return Err(AgeError::Armored);
        }
        // An empty file, or one cut inside the first line, is a truncated age file, not a stranger.
        if INTRO.starts_with(bytes) {
            return Err(AgeError::TruncatedHeader);
        }
        return Err(AgeError::NotAge);
    }
    let mut lines = Lines {
        bytes,
        pos: INTRO.len(),
    };
    let mut stanzas = 0usize;
    let mut first_kind: Option<String> = None;
    let mut scrypt: Option<([u8; SALT_LEN], u8, [u8; WRAPPED_LEN])> = None;
    loop {
        let line_start = lines.pos;
        let line = lines.next_line()?;
        if let Some(mac_b64) = line.strip_prefix(b"--- ") {
            let mac: [u8; MAC_LEN] = decode_exact(
                mac_b64,
                "the header MAC is not 32 bytes of canonical base64",
            )?;
            if stanzas == 0 {
                return Err(AgeError::MalformedHeader("no recipient stanza"));
            }
            let Some((salt, log_n, wrapped)) = scrypt else {
                return Err(AgeError::UnknownRecipient(first_kind.unwrap_or_default()));
            };
            if stanzas > 1 {
                return Err(AgeError::MalformedHeader(
                    "a passphrase (scrypt) stanza must be the only stanza in the header",
                ));
            }
            return Ok(AgeFile {
                mac_input: &bytes[..line_start + 3],
                salt,
                log_n,
                wrapped,
                mac,
                payload: &bytes[lines.pos..],
            });
        }
        let Some(args) = line.strip_prefix(b"-> ") else {
            return Err(AgeError::MalformedHeader(
                "expected a recipient stanza (`-> `) or the MAC line (`--- `)",
            ));
        };
        let args: Vec<&[u8]> = args.split(|b| *b == b' ').collect();
        if args
            .iter()
            .any(|a| a.is_empty() || !a.iter().all(|b| (0x21..=0x7e).contains(b)))
        {
            return Err(AgeError::MalformedHeader("invalid stanza argument"));
        }
        // The body: full 64-column lines, ended by a shorter (possibly empty) one.
        let mut body_b64 = Vec::new();
        loop {
            let body_line = lines.next_line()?;
            if body_line.len() > COLUMNS {
                return Err(AgeError::MalformedHeader(
                    "stanza body line longer than 64 columns",
                ));
            }
            body_b64.extend_from_slice(body_line);
            if body_line.len() < COLUMNS {
                break;
            }
        }
        stanzas += 1;
        let kind = args[0];
        if first_kind.is_none() {
            // Arguments are printable ASCII (checked above); keep the name short for messages.
            first_kind = Some(String::from_utf8_lossy(&kind[..kind.len().min(32)]).into_owned());
        }
        if kind == b"scrypt" {
            if scrypt.is_some() {
                return Err(AgeError::MalformedHeader("more than one scrypt stanza"));
            }
            let [_, salt_b64, log_n] = args[..] else {
                return Err(AgeError::MalformedHeader(
                    "the scrypt stanza needs exactly a salt and a work factor",
                ));
            };
            let salt = decode_exact(
                salt_b64,
                "the scrypt salt is not 16 bytes of canonical base64",
            )?;
            let log_n = parse_log_n(log_n)?;
            let wrapped = decode_exact(
                &body_b64,
                "the scrypt stanza body is not 32 bytes of canonical base64",
            )?;
            scrypt = Some((salt, log_n, wrapped));
        }
    }
}

/// The work factor: a decimal without leading zeros, within our bounds.
fn parse_log_n(arg: &[u8]) -> Result<u8, AgeError> {
    if arg.is_empty()
        || !arg.iter().all(u8::is_ascii_digit)
        || (arg[0] == b'0' && arg.len() > 1)
        || arg.len() > 9
    {
        return Err(AgeError::MalformedHeader(
            "the scrypt work factor is not a decimal number without leading zeros",
        ));
    }
    let n = arg
        .iter()
        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    match u8::try_from(n) {
        Ok(n) if (MIN_LOG_N..=MAX_LOG_N).contains(&n) => Ok(n),
        _ => Err(AgeError::WorkFactor(n)),
    }
}

/// Decodes canonical unpadded standard base64 into exactly `N` bytes. The engine rejects padding,
/// non-zero trailing bits and stray characters, so each value has one encoding (as the spec asks).
fn decode_exact<const N: usize>(b64: &[u8], what: &'static str) -> Result<[u8; N], AgeError> {
    let decoded = Zeroizing::new(
        STANDARD_NO_PAD
            .decode(b64)
            .map_err(|_| AgeError::MalformedHeader(what))?,
    );
    <[u8; N]>::try_from(decoded.as_slice()).map_err(|_| AgeError::MalformedHeader(what))
}

fn random<const N: usize>() -> Result<[u8; N], AgeError> {
    let mut out = [0u8; N];
    getrandom::getrandom(&mut out).map_err(|e| AgeError::Crypto(format!("no randomness: {e}")))?;
    Ok(out)
}

/// scrypt(passphrase, "age-encryption.org/v1/scrypt" || salt, 2^log_n, 8, 1) → 32-byte wrap key.
fn wrap_key(
    passphrase: &[u8],
    salt: &[u8; SALT_LEN],
    log_n: u8,
) -> Result<Zeroizing<[u8; 32]>, AgeError> {
    let params =
        scrypt::Params::new(log_n, 8, 1, 32).map_err(|_| AgeError::WorkFactor(u32::from(log_n)))?;
    let mut full_salt = [0u8; SCRYPT_LABEL.len() + SALT_LEN];
    full_salt[..SCRYPT_LABEL.len()].copy_from_slice(SCRYPT_LABEL);
    full_salt[SCRYPT_LABEL.len()..].copy_from_slice(salt);
    let mut key = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(passphrase, &full_salt, &params, &mut *key)
        .map_err(|_| AgeError::Crypto("scrypt refused its output length".into()))?;
    Ok(key)
}

/// HKDF-SHA256 into 32 bytes.
fn hkdf32(ikm: &[u8], salt: &[u8], info: &[u8]) -> Result<Zeroizing<[u8; 32]>, AgeError> {
    let mut out = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, &mut *out)
        .map_err(|_| AgeError::Crypto("HKDF refused its output length".into()))?;
    Ok(out)
}

fn header_mac(file_key: &[u8; FILE_KEY_LEN], mac_input: &[u8]) -> Result<Hmac<Sha256>, AgeError> {
    let mac_key = hkdf32(file_key, b"", b"header")?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&*mac_key)
        .map_err(|_| AgeError::Crypto("HMAC refused its key".into()))?;
    mac.update(mac_input);
    Ok(mac)
}

/// The STREAM nonce: 11-byte big-endian chunk counter, then 0x01 on the last chunk.
fn stream_nonce(counter: u64, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::from(n)
}

fn payload_cipher(
    file_key: &[u8; FILE_KEY_LEN],
    nonce: &[u8],
) -> Result<ChaCha20Poly1305, AgeError> {
    let key = hkdf32(file_key, nonce, b"payload")?;
    ChaCha20Poly1305::new_from_slice(&*key)
        .map_err(|_| AgeError::Crypto("bad payload key length".into()))
}

impl<'a> AgeFile<'a> {
    /// log2 of the scrypt work factor.
    pub fn log_n(&self) -> u8 {
        self.log_n
    }

    /// Runs scrypt with `passphrase`, unwraps the file key and checks the header MAC.
    pub fn unlock(&self, passphrase: &[u8]) -> Result<VaultKey, AgeError> {
        let wrap = wrap_key(passphrase, &self.salt, self.log_n)?;
        let aead = ChaCha20Poly1305::new_from_slice(&*wrap)
            .map_err(|_| AgeError::Crypto("bad wrap key length".into()))?;
        let mut file_key = Zeroizing::new([0u8; FILE_KEY_LEN]);
        file_key.copy_from_slice(&self.wrapped[..FILE_KEY_LEN]);
        aead.decrypt_in_place_detached(
            &Nonce::default(),
            b"",
            &mut *file_key,
            Tag::from_slice(&self.wrapped[FILE_KEY_LEN..]),
        )
        .map_err(|_| AgeError::WrongPassphrase)?;
        let key = VaultKey {
            file_key,
            stanza: self.mac_input.to_vec(),
            mac: self.mac,
            log_n: self.log_n,
        };
        self.verify(&key)?;
        Ok(key)
    }

    /// True when `key` was made for this very header (same stanza, byte for byte).
    pub fn uses(&self, key: &VaultKey) -> bool {
        self.mac_input == key.stanza.as_slice()
    }

    /// Checks that `key` belongs to this header and that the header MAC is intact.
    pub fn verify(&self, key: &VaultKey) -> Result<(), AgeError> {
        if !self.uses(key) {
            return Err(AgeError::KeyMismatch);
        }
        header_mac(&key.file_key, self.mac_input)?
            .verify_slice(&self.mac)
            .map_err(|_| AgeError::HeaderMac)
    }

    /// Authenticates the header with `key` and decrypts the whole payload into a zeroizing buffer.
    pub fn decrypt(&self, key: &VaultKey) -> Result<Zeroizing<Vec<u8>>, AgeError> {
        self.verify(key)?;
        let mut buf = Zeroizing::new(self.payload.to_vec());
        let len = open_payload(&key.file_key, &mut buf, 0)?;
        buf.truncate(len);
        Ok(buf)
    }
}

/// Decrypts the age file held in `buf` where it lies: on success `buf` holds only the plaintext
/// (header, nonce and tags squeezed out). One buffer instead of two: on a 1 MB vault that halves
/// the memory a fresh process has to fault in, which is most of the cost of a `get`. On error the
/// buffer may hold partial plaintext: it is a `Zeroizing` buffer, so dropping it wipes it.
pub fn decrypt_in_place(buf: &mut Zeroizing<Vec<u8>>, key: &VaultKey) -> Result<(), AgeError> {
    let payload_start = {
        let file = parse(buf)?;
        file.verify(key)?;
        buf.len() - file.payload.len()
    };
    let len = open_payload(&key.file_key, buf, payload_start)?;
    buf.truncate(len);
    Ok(())
}

/// Opens the STREAM payload (16-byte nonce, then sealed 64 KiB chunks) starting at `buf[start..]`,
/// writing the plaintext to the front of `buf`; returns its length. Each chunk is authenticated
/// before it is decrypted (the AEAD checks the tag first and leaves a chunk untouched when it
/// fails), then moved down over the header, nonce and earlier tags it no longer needs.
fn open_payload(
    file_key: &[u8; FILE_KEY_LEN],
    buf: &mut [u8],
    start: usize,
) -> Result<usize, AgeError> {
    let body_start = start + PAYLOAD_NONCE_LEN;
    if buf.len() < body_start {
        return Err(AgeError::PayloadTruncated);
    }
    let body_len = buf.len() - body_start;
    if body_len == 0 {
        // Even an empty plaintext has one (empty) final chunk.
        return Err(AgeError::PayloadTruncated);
    }
    let aead = payload_cipher(file_key, &buf[start..body_start])?;
    let sealed = CHUNK_LEN + TAG_LEN;
    let chunks = body_len.div_ceil(sealed);
    if body_len - (chunks - 1) * sealed < TAG_LEN {
        return Err(AgeError::PayloadTruncated);
    }
    let mut written = 0;
    for i in 0..chunks {
        let last = i + 1 == chunks;
        let from = body_start + i * sealed;
        let end = buf.len().min(from + sealed);
        let ct_end = end - TAG_LEN;
        if last && i > 0 && ct_end == from {
            return Err(AgeError::MalformedPayload(
                "an empty final chunk after full chunks",
            ));
        }
        let tag = *Tag::from_slice(&buf[ct_end..end]);
        let counter = i as u64;
        let chunk = &mut buf[from..ct_end];
        let opened = aead.decrypt_in_place_detached(&stream_nonce(counter, last), b"", chunk, &tag);
        if opened.is_err() {
            // If the final chunk authenticates as a middle chunk, the file was cut exactly at a
            // chunk boundary: say "truncated", not "tampered".
            let as_middle = last
                && aead
                    .decrypt_in_place_detached(&stream_nonce(counter, false), b"", chunk, &tag)
                    .is_ok();
            return Err(if as_middle {
                AgeError::PayloadTruncated
            } else {
                AgeError::PayloadTampered
            });
        }
        buf.copy_within(from..ct_end, written);
        written += ct_end - from;
    }
    Ok(written)
}

/// An unlocked vault: the file key and the header it belongs to. Encrypting with it re-uses both
/// and only draws a new payload nonce, so writes cost no scrypt. Debug never shows the key.
#[derive(Clone)]
pub struct VaultKey {
    file_key: Zeroizing<[u8; FILE_KEY_LEN]>,
    /// Header text through `---`, byte-identical on every write.
    stanza: Vec<u8>,
    mac: [u8; MAC_LEN],
    log_n: u8,
}

impl fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultKey")
            .field("log_n", &self.log_n)
            .finish_non_exhaustive()
    }
}

impl VaultKey {
    /// A new vault key: random file key and salt, scrypt at 2^`log_n`, the stanza and its MAC.
    pub fn create(passphrase: &[u8], log_n: u8) -> Result<VaultKey, AgeError> {
        if !(MIN_LOG_N..=MAX_LOG_N).contains(&log_n) {
            return Err(AgeError::WorkFactor(u32::from(log_n)));
        }
        let file_key = Zeroizing::new(random::<FILE_KEY_LEN>()?);
        let salt = random::<SALT_LEN>()?;
        let wrap = wrap_key(passphrase, &salt, log_n)?;
        let aead = ChaCha20Poly1305::new_from_slice(&*wrap)
            .map_err(|_| AgeError::Crypto("bad wrap key length".into()))?;
        let mut wrapped = [0u8; WRAPPED_LEN];
        wrapped[..FILE_KEY_LEN].copy_from_slice(&*file_key);
        let tag = aead
            .encrypt_in_place_detached(&Nonce::default(), b"", &mut wrapped[..FILE_KEY_LEN])
            .map_err(|_| AgeError::Crypto("stanza encryption failed".into()))?;
        wrapped[FILE_KEY_LEN..].copy_from_slice(&tag);

        let mut stanza = INTRO.to_vec();
        stanza.extend_from_slice(b"-> scrypt ");
        stanza.extend_from_slice(STANDARD_NO_PAD.encode(salt).as_bytes());
        stanza.extend_from_slice(format!(" {log_n}\n").as_bytes());
        let body = STANDARD_NO_PAD.encode(wrapped);
        for line in body.as_bytes().chunks(COLUMNS) {
            stanza.extend_from_slice(line);
            stanza.push(b'\n');
        }
        if body.len() % COLUMNS == 0 {
            // A body ending on a full line needs an empty final line.
            stanza.push(b'\n');
        }
        stanza.extend_from_slice(b"---");
        let mac: [u8; MAC_LEN] = header_mac(&file_key, &stanza)?
            .finalize()
            .into_bytes()
            .into();
        Ok(VaultKey {
            file_key,
            stanza,
            mac,
            log_n,
        })
    }

    pub fn log_n(&self) -> u8 {
        self.log_n
    }

    /// The complete header text (stanza, MAC line, final newline) that every write starts with.
    pub fn header(&self) -> Vec<u8> {
        let mut h = self.stanza.clone();
        h.push(b' ');
        h.extend_from_slice(STANDARD_NO_PAD.encode(self.mac).as_bytes());
        h.push(b'\n');
        h
    }

    /// Encrypts `plaintext` into a complete age file: the same header as always, a fresh random
    /// payload nonce, then STREAM chunks of 64 KiB (an empty plaintext is one empty final chunk).
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>, AgeError> {
        let nonce = random::<PAYLOAD_NONCE_LEN>()?;
        let aead = payload_cipher(&self.file_key, &nonce)?;
        let header = self.header();
        let chunks = plaintext.len().div_ceil(CHUNK_LEN).max(1);
        let mut out = Vec::with_capacity(
            header.len() + PAYLOAD_NONCE_LEN + plaintext.len() + chunks * TAG_LEN,
        );
        out.extend_from_slice(&header);
        out.extend_from_slice(&nonce);
        for i in 0..chunks {
            let from = i * CHUNK_LEN;
            let to = plaintext.len().min(from + CHUNK_LEN);
            let start = out.len();
            // Plaintext is copied into the (pre-sized) output and encrypted in place, so no
            // plaintext copy survives in a buffer that is not zeroized.
            out.extend_from_slice(&plaintext[from..to]);
            let sealed = aead.encrypt_in_place_detached(
                &stream_nonce(i as u64, i + 1 == chunks),
                b"",
                &mut out[start..],
            );
            match sealed {
                Ok(tag) => out.extend_from_slice(&tag),
                Err(_) => {
                    zeroize::Zeroize::zeroize(&mut out);
                    return Err(AgeError::Crypto("payload encryption failed".into()));
                }
            }
        }
        Ok(out)
    }

    /// What a key cache keeps: a layout byte, the file key and the stanza (the MAC is recomputed).
    pub fn to_cache_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(1 + FILE_KEY_LEN + self.stanza.len()));
        out.push(CACHE_FORMAT);
        out.extend_from_slice(&*self.file_key);
        out.extend_from_slice(&self.stanza);
        out
    }

    /// Reads [`VaultKey::to_cache_bytes`] back, checking that the stanza is a valid scrypt header.
    pub fn from_cache_bytes(bytes: &[u8]) -> Result<VaultKey, AgeError> {
        let Some((&CACHE_FORMAT, rest)) = bytes.split_first() else {
            return Err(AgeError::MalformedHeader("unknown key cache entry layout"));
        };
        let Some((key, stanza)) = rest.split_at_checked(FILE_KEY_LEN) else {
            return Err(AgeError::MalformedHeader("key cache entry too short"));
        };
        let mut file_key = Zeroizing::new([0u8; FILE_KEY_LEN]);
        file_key.copy_from_slice(key);
        let mac: [u8; MAC_LEN] = header_mac(&file_key, stanza)?
            .finalize()
            .into_bytes()
            .into();
        let key = VaultKey {
            file_key,
            stanza: stanza.to_vec(),
            mac,
            log_n: 0,
        };
        let header = key.header();
        let parsed = parse(&header)?;
        Ok(VaultKey {
            log_n: parsed.log_n,
            ..key
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASS: &[u8] = b"correct horse battery staple";

    fn key() -> VaultKey {
        VaultKey::create(PASS, 10).unwrap()
    }

    #[test]
    fn round_trip_at_chunk_boundaries() {
        let k = key();
        for len in [0usize, 1, 65535, 65536, 65537, 200_000] {
            let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let file = k.encrypt(&plain).unwrap();
            let parsed = parse(&file).unwrap();
            assert_eq!(parsed.log_n(), 10);
            assert_eq!(
                parsed.decrypt(&k).unwrap().as_slice(),
                plain.as_slice(),
                "len {len}"
            );
            let mut in_place = Zeroizing::new(file.clone());
            decrypt_in_place(&mut in_place, &k).unwrap();
            assert_eq!(in_place.as_slice(), plain.as_slice(), "in place, len {len}");
            // A fresh passphrase unlock gives the same key.
            if len == 65536 {
                let again = parsed.unlock(PASS).unwrap();
                assert_eq!(parsed.decrypt(&again).unwrap().as_slice(), plain.as_slice());
            }
        }
    }

    #[test]
    fn rewrites_share_the_header_but_not_the_ciphertext() {
        let k = key();
        let a = k.encrypt(b"same plaintext").unwrap();
        let b = k.encrypt(b"same plaintext").unwrap();
        let header = k.header();
        assert!(
            a.starts_with(&header) && b.starts_with(&header),
            "identical header stanza"
        );
        assert_ne!(a, b, "fresh payload nonce each time");
        assert_ne!(
            a[header.len()..header.len() + 16],
            b[header.len()..header.len() + 16]
        );
        // The cache round trip keeps the same key.
        let cached = VaultKey::from_cache_bytes(&k.to_cache_bytes()).unwrap();
        assert_eq!(cached.header(), header);
        assert_eq!(cached.log_n(), 10);
        assert_eq!(
            parse(&a).unwrap().decrypt(&cached).unwrap().as_slice(),
            b"same plaintext"
        );
    }

    #[test]
    fn header_shape_is_age_v1() {
        let k = key();
        let file = k.encrypt(b"x").unwrap();
        let text = String::from_utf8_lossy(&file[..k.header().len()]).into_owned();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "age-encryption.org/v1");
        let args: Vec<&str> = lines[1].split(' ').collect();
        assert_eq!(args[..2], ["->", "scrypt"]);
        assert_eq!(args[2].len(), 22, "16-byte salt, unpadded base64");
        assert_eq!(args[3], "10");
        assert_eq!(lines[2].len(), 43, "32-byte body on one line");
        assert!(lines[3].starts_with("--- ") && lines[3].len() == 4 + 43);
    }

    #[test]
    fn errors_are_distinct() {
        let k = key();
        let file = k.encrypt(&vec![7u8; 70_000]).unwrap();
        let hlen = k.header().len();
        assert_eq!(parse(b"hello world").unwrap_err(), AgeError::NotAge);
        assert_eq!(parse(b"").unwrap_err(), AgeError::TruncatedHeader);
        assert_eq!(
            parse(&file[..hlen - 5]).unwrap_err(),
            AgeError::TruncatedHeader
        );
        assert_eq!(parse(&file[..10]).unwrap_err(), AgeError::TruncatedHeader);
        assert_eq!(
            parse(b"-----BEGIN AGE ENCRYPTED FILE-----\n").unwrap_err(),
            AgeError::Armored
        );
        assert_eq!(
            parse(&file).unwrap().unlock(b"wrong").unwrap_err(),
            AgeError::WrongPassphrase
        );
        // Payload cuts: inside the nonce, right after it, inside a chunk, at the chunk boundary.
        for (cut, want) in [
            (hlen + 3, AgeError::PayloadTruncated),
            (hlen + 16, AgeError::PayloadTruncated),
            (hlen + 16 + 100, AgeError::PayloadTampered),
            (hlen + 16 + 65536 + 16, AgeError::PayloadTruncated),
            (file.len() - 1, AgeError::PayloadTampered),
        ] {
            assert_eq!(
                parse(&file[..cut]).unwrap().decrypt(&k).unwrap_err(),
                want,
                "cut at {cut}"
            );
            let mut in_place = Zeroizing::new(file[..cut].to_vec());
            assert_eq!(
                decrypt_in_place(&mut in_place, &k).unwrap_err(),
                want,
                "in place, cut at {cut}"
            );
        }
        let mut flipped = file.clone();
        flipped[hlen + 40] ^= 1;
        assert_eq!(
            parse(&flipped).unwrap().decrypt(&k).unwrap_err(),
            AgeError::PayloadTampered
        );
    }

    #[test]
    fn strict_header_rules() {
        let k = key();
        let file = k.encrypt(b"x").unwrap();
        let text = String::from_utf8(k.header()).unwrap();
        let with = |from: &str, to: &str| {
            let mut f = text.replacen(from, to, 1).into_bytes();
            f.extend_from_slice(&file[text.len()..]);
            f
        };
        let log_n_23 = with(" 10\n", " 23\n");
        assert_eq!(parse(&log_n_23).unwrap_err(), AgeError::WorkFactor(23));
        assert_eq!(
            parse(&with(" 10\n", " 0\n")).unwrap_err(),
            AgeError::WorkFactor(0)
        );
        assert!(matches!(
            parse(&with(" 10\n", " 010\n")).unwrap_err(),
            AgeError::MalformedHeader(_)
        ));
        assert!(matches!(
            parse(&with(" 10\n", " 1a\n")).unwrap_err(),
            AgeError::MalformedHeader(_)
        ));
        assert_eq!(
            parse(&with("-> scrypt", "-> X25519")).unwrap_err(),
            AgeError::UnknownRecipient("X25519".into())
        );
        let two = with("---", "-> other\n\n---");
        assert!(matches!(
            parse(&two).unwrap_err(),
            AgeError::MalformedHeader(_)
        ));
        // Non-canonical base64: the MAC's last character carries unused bits; setting one of them
        // keeps the same bytes but must be refused.
        let mac_line = text.lines().nth(3).unwrap();
        let last = mac_line.chars().last().unwrap();
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let idx = alphabet.find(last).unwrap();
        let sibling = alphabet.chars().nth(idx ^ 1).unwrap();
        let mut bad_mac = mac_line.to_owned();
        bad_mac.pop();
        bad_mac.push(sibling);
        assert!(matches!(
            parse(&with(mac_line, &bad_mac)).unwrap_err(),
            AgeError::MalformedHeader(_)
        ));
        // Padding is not allowed either.
        let padded = format!("{mac_line}=");
        assert!(matches!(
            parse(&with(mac_line, &padded)).unwrap_err(),
            AgeError::MalformedHeader(_)
        ));
        // A modified MAC (still canonical) fails authentication, not parsing.
        let mut other_mac = mac_line.to_owned();
        let c = other_mac.remove(10);
        other_mac.insert(10, if c == 'A' { 'B' } else { 'A' });
        let tampered = with(mac_line, &other_mac);
        let parsed = parse(&tampered).unwrap();
        assert_eq!(parsed.decrypt(&k).unwrap_err(), AgeError::HeaderMac);
        assert_eq!(parsed.unlock(PASS).unwrap_err(), AgeError::HeaderMac);
        // A different header (re-created vault) is detected before any MAC check.
        let other = key();
        assert_eq!(
            parse(&file).unwrap().decrypt(&other).unwrap_err(),
            AgeError::KeyMismatch
        );
    }

    #[test]
    fn debug_hides_the_key() {
        let k = key();
        assert_eq!(format!("{k:?}"), "VaultKey { log_n: 10, .. }");
    }
}
