//! Room-scoped, expiring join tokens: `base64url(room|expiry|nonce).base64url(hmac)` with
//! HMAC-SHA256 over the first part, verified in constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not two base64url parts, or a body that is not `room|expiry|nonce`.
    #[error("malformed token")]
    Malformed,
    /// The MAC does not match (wrong secret or altered token).
    #[error("bad signature")]
    BadSignature,
    /// Signed for another room.
    #[error("token is for another room")]
    WrongRoom,
    /// Past its expiry.
    #[error("token expired at {0}")]
    Expired(u64),
}

/// Problems with the secret file.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Cannot read it.
    #[error("cannot read secret file {0}: {1}")]
    Io(String, std::io::Error),
    /// Empty after trimming whitespace.
    #[error("secret file {0} is empty")]
    Empty(String),
    /// Readable by everyone.
    #[error("secret file {0} is world-readable (chmod o-r)")]
    WorldReadable(String),
}

/// Signs and verifies tokens with one secret.
#[derive(Clone)]
pub struct Tokens {
    secret: Vec<u8>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens(..)")
    }
}

impl Tokens {
    /// A signer/verifier for `secret` (must not be empty).
    pub fn new(secret: &[u8]) -> Option<Tokens> {
        (!secret.is_empty()).then(|| Tokens {
            secret: secret.to_vec(),
        })
    }

    /// Read the secret from a file: surrounding whitespace trimmed; refused when empty or
    /// world-readable.
    pub fn from_file(path: &std::path::Path) -> Result<Tokens, SecretError> {
        use std::os::unix::fs::PermissionsExt;
        let name = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| SecretError::Io(name.clone(), e))?;
        if meta.permissions().mode() & 0o004 != 0 {
            return Err(SecretError::WorldReadable(name));
        }
        let bytes = std::fs::read(path).map_err(|e| SecretError::Io(name.clone(), e))?;
        Tokens::new(bytes.trim_ascii()).ok_or(SecretError::Empty(name))
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length.
        HmacSha256::new_from_slice(&self.secret).unwrap_or_else(|_| unreachable!())
    }

    /// A token for `room` valid until `expiry` (epoch seconds); `nonce` makes tokens unique.
    pub fn sign(&self, room: &str, expiry: u64, nonce: u64) -> String {
        let body = format!("{room}|{expiry}|{nonce:016x}");
        let mut m = self.mac();
        m.update(body.as_bytes());
        let tag = m.finalize().into_bytes();
        format!("{}.{}", B64.encode(body), B64.encode(tag))
    }

    /// Check `token` for `room` at `now` (epoch seconds).
    pub fn verify(&self, token: &str, room: &str, now: u64) -> Result<(), TokenError> {
        let (body, tag) = token.split_once('.').ok_or(TokenError::Malformed)?;
        let body = B64.decode(body).map_err(|_| TokenError::Malformed)?;
        let tag = B64.decode(tag).map_err(|_| TokenError::Malformed)?;
        let mut m = self.mac();
        m.update(&body);
        m.verify_slice(&tag).map_err(|_| TokenError::BadSignature)?;
        let body = std::str::from_utf8(&body).map_err(|_| TokenError::Malformed)?;
        let mut parts = body.rsplitn(3, '|');
        let (_nonce, expiry, r) = match (parts.next(), parts.next(), parts.next()) {
            (Some(n), Some(e), Some(r)) => (n, e, r),
            _ => return Err(TokenError::Malformed),
        };
        let expiry: u64 = expiry.parse().map_err(|_| TokenError::Malformed)?;
        if r != room {
            return Err(TokenError::WrongRoom);
        }
        if now >= expiry {
            return Err(TokenError::Expired(expiry));
        }
        Ok(())
    }
}

/// A nonce from the kernel's random source (falls back to the clock).
pub fn random_nonce() -> u64 {
    use std::io::Read;
    let mut b = [0u8; 8];
    match std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)) {
        Ok(()) => u64::from_le_bytes(b),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_every_refusal() {
        let t = Tokens::new(b"s3cret").unwrap();
        let tok = t.sign("lobby|1", 1000, 42);
        assert_eq!(t.verify(&tok, "lobby|1", 999), Ok(()));
        assert_eq!(
            t.verify(&tok, "lobby|1", 1000),
            Err(TokenError::Expired(1000))
        );
        assert_eq!(t.verify(&tok, "other", 10), Err(TokenError::WrongRoom));
        let other = Tokens::new(b"another").unwrap();
        assert_eq!(
            other.verify(&tok, "lobby|1", 10),
            Err(TokenError::BadSignature)
        );
        let (body, tag) = tok.split_once('.').unwrap();
        let forged = format!("{}.{tag}", B64.encode("lobby|1|99999|0"));
        assert_eq!(
            t.verify(&forged, "lobby|1", 10),
            Err(TokenError::BadSignature)
        );
        assert_eq!(t.verify(body, "lobby|1", 10), Err(TokenError::Malformed));
        assert_eq!(t.verify("!!.??", "x", 10), Err(TokenError::Malformed));
        assert!(Tokens::new(b"").is_none());
    }

    #[test]
    fn secret_file_rules() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("secret");
        std::fs::write(&p, "  \n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(Tokens::from_file(&p), Err(SecretError::Empty(_))));
        std::fs::write(&p, "abc\n").unwrap();
        let t = Tokens::from_file(&p).unwrap();
        assert_eq!(t.verify(&t.sign("r", 5, 1), "r", 1), Ok(()));
        assert_eq!(
            Tokens::new(b"abc")
                .unwrap()
                .verify(&t.sign("r", 5, 1), "r", 1),
            Ok(()),
            "trailing newline trimmed"
        );
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            Tokens::from_file(&p),
            Err(SecretError::WorldReadable(_))
        ));
        assert!(matches!(
            Tokens::from_file(&d.path().join("none")),
            Err(SecretError::Io(..))
        ));
    }
}
