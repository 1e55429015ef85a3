//! mosquitto's password hashes, `$6$` and `$7$`: parsed from a password file's field, computed
//! for `minibroker passwd`, and checked against a CONNECT password in constant time.
//!
//! | form | field | computation |
//! |---|---|---|
//! | `$6$` | `$6$<salt>$<hash>` | SHA-512(password ‖ salt) |
//! | `$7$` | `$7$<iterations>$<salt>$<hash>` | PBKDF2-HMAC-SHA512(password, salt, iterations, 64) |
//!
//! Salt and hash are standard base64 with padding, of exactly [`SALT_LEN`] and [`HASH_LEN`]
//! bytes, as mosquitto 2.0 writes them; anything else is refused, so a mistyped line is reported
//! rather than silently never matching. The cryptography is RustCrypto's (`sha2`, `pbkdf2`,
//! `base64`, `subtle`).
//!
//! The password is hashed as the bytes the client sent. mosquitto hashes it as a C string, so a
//! password with a zero byte inside counts there only up to that byte; here it counts whole.

use std::fmt;
use std::num::NonZeroU32;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

/// Salt length in bytes (16 base64 characters), as mosquitto_passwd makes it.
pub const SALT_LEN: usize = 12;

/// SHA-512 output length in bytes (88 base64 characters).
pub const HASH_LEN: usize = 64;

/// mosquitto_passwd's PBKDF2 iteration count when `-I` is not given.
pub const DEFAULT_ITERATIONS: NonZeroU32 = match NonZeroU32::new(101) {
    Some(n) => n,
    None => NonZeroU32::MIN,
};

/// Which computation a hash uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKind {
    /// `$6$`: one SHA-512 of the password followed by the salt (mosquitto 1.6 and earlier).
    Sha512,
    /// `$7$`: PBKDF2 with HMAC-SHA512 and this many iterations (mosquitto 2.0's default).
    Pbkdf2 { iterations: NonZeroU32 },
}

impl HashKind {
    /// What mosquitto_passwd uses without `-H` or `-I`: PBKDF2, 101 iterations.
    pub const DEFAULT: HashKind = HashKind::Pbkdf2 {
        iterations: DEFAULT_ITERATIONS,
    };

    /// The PBKDF2 iteration count; a `$6$` hash counts as one.
    pub fn iterations(self) -> u32 {
        match self {
            HashKind::Sha512 => 1,
            HashKind::Pbkdf2 { iterations } => iterations.get(),
        }
    }
}

/// Why a password file's field is not a usable hash. The messages never quote the field: a
/// plain-text file holds passwords there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashError {
    /// The field does not start with `$6$` or `$7$`: plain text, or another scheme.
    UnknownForm,
    /// The field has fewer `$`-separated parts than its form needs.
    MissingPart,
    /// The field has more `$`-separated parts than its form needs.
    ExtraPart,
    /// A `$7$` iteration count that is not a decimal number from 1 to 4294967295.
    Iterations,
    /// The salt is not standard base64 with padding.
    SaltEncoding,
    /// The salt does not decode to [`SALT_LEN`] bytes; it holds this many.
    SaltLength(usize),
    /// The hash is not standard base64 with padding.
    HashEncoding,
    /// The hash does not decode to [`HASH_LEN`] bytes; it holds this many.
    HashLength(usize),
}

impl fmt::Display for HashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HashError::UnknownForm => {
                f.write_str("not a $6$ or $7$ hash (plain text needs `minibroker passwd -U`)")
            }
            HashError::MissingPart => f.write_str("hash has too few '$'-separated parts"),
            HashError::ExtraPart => f.write_str("hash has too many '$'-separated parts"),
            HashError::Iterations => f.write_str("iteration count is not a number from 1 up"),
            HashError::SaltEncoding => f.write_str("salt is not padded standard base64"),
            HashError::SaltLength(n) => write!(f, "salt is {n} bytes, not {SALT_LEN}"),
            HashError::HashEncoding => f.write_str("hash is not padded standard base64"),
            HashError::HashLength(n) => write!(f, "hash is {n} bytes, not {HASH_LEN}"),
        }
    }
}

impl std::error::Error for HashError {}

/// One user's stored password hash.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash {
    kind: HashKind,
    salt: [u8; SALT_LEN],
    hash: [u8; HASH_LEN],
}

impl PasswordHash {
    /// Parses the hash field of a password file line (already trimmed).
    pub fn parse(field: &str) -> Result<PasswordHash, HashError> {
        let (kind, rest) = if let Some(rest) = field.strip_prefix("$6$") {
            (HashKind::Sha512, rest)
        } else if let Some(rest) = field.strip_prefix("$7$") {
            let (count, rest) = rest.split_once('$').ok_or(HashError::MissingPart)?;
            (
                HashKind::Pbkdf2 {
                    iterations: parse_iterations(count)?,
                },
                rest,
            )
        } else {
            return Err(HashError::UnknownForm);
        };
        let (salt, hash) = rest.split_once('$').ok_or(HashError::MissingPart)?;
        if hash.contains('$') {
            return Err(HashError::ExtraPart);
        }
        Ok(PasswordHash {
            kind,
            salt: decode_exact(salt, HashError::SaltEncoding, HashError::SaltLength)?,
            hash: decode_exact(hash, HashError::HashEncoding, HashError::HashLength)?,
        })
    }

    /// Hashes `password` with `salt` the way `kind` says. The caller brings the salt (random
    /// for a new entry), which keeps this function pure.
    pub fn compute(kind: HashKind, password: &[u8], salt: [u8; SALT_LEN]) -> PasswordHash {
        PasswordHash {
            kind,
            salt,
            hash: digest(kind, password, &salt),
        }
    }

    /// Whether `password` hashes to this hash. The comparison takes the same time wherever the
    /// hashes first differ; the hashing itself costs what the iteration count says.
    pub fn verify(&self, password: &[u8]) -> bool {
        let candidate = digest(self.kind, password, &self.salt);
        candidate.ct_eq(&self.hash).into()
    }

    pub fn kind(&self) -> HashKind {
        self.kind
    }
}

/// The field as a password file stores it: `$7$101$<salt>$<hash>` or `$6$<salt>$<hash>`.
impl fmt::Display for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let salt = BASE64.encode(self.salt);
        let hash = BASE64.encode(self.hash);
        match self.kind {
            HashKind::Sha512 => write!(f, "$6${salt}${hash}"),
            HashKind::Pbkdf2 { iterations } => write!(f, "$7${iterations}${salt}${hash}"),
        }
    }
}

/// Shows the form and iteration count only: a hash is not for logs.
impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHash")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

fn parse_iterations(text: &str) -> Result<NonZeroU32, HashError> {
    // Digits only: `u32::from_str` would also take a leading `+`.
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HashError::Iterations);
    }
    text.parse().map_err(|_| HashError::Iterations)
}

fn decode_exact<const N: usize>(
    text: &str,
    encoding: HashError,
    length: fn(usize) -> HashError,
) -> Result<[u8; N], HashError> {
    let bytes = BASE64.decode(text).map_err(|_| encoding)?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| length(bytes.len()))
}

fn digest(kind: HashKind, password: &[u8], salt: &[u8; SALT_LEN]) -> [u8; HASH_LEN] {
    match kind {
        HashKind::Sha512 => Sha512::new()
            .chain_update(password)
            .chain_update(salt)
            .finalize()
            .into(),
        HashKind::Pbkdf2 { iterations } => {
            let mut out = [0; HASH_LEN];
            pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations.get(), &mut out);
            out
        }
    }
}

#[cfg(test)]
mod tests;
