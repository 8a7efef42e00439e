//! Query cursors: the key of the last row a page returned. A key may hold a value the consumer was not granted or
//! only sees masked (an ID number), so the cursor is sealed (ChaCha20-Poly1305 under a key derived from the subject
//! key, random nonce) and bound to its grant and resource: the consumer can hand it back, not read or move it.

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use serde_json::Value;

use crate::{AppError, Result};

pub struct Sealer {
    cipher: ChaCha20Poly1305,
    aad: String,
}

impl Sealer {
    pub fn new(subject_key: &[u8], grant: &str, resource: &str) -> Sealer {
        let derived = shuqiao_domain::masking::hmac_hex(subject_key, b"shuqiao-cursor-key-v1");
        let mut key = [0u8; 32];
        if let Ok(bytes) = hex::decode(derived) {
            key.iter_mut().zip(bytes).for_each(|(k, b)| *k = b);
        }
        Sealer { cipher: ChaCha20Poly1305::new(&key.into()), aad: format!("{grant}|{resource}") }
    }

    pub fn seal(&self, keys: &[Value]) -> Result<String> {
        let plain = serde_json::to_vec(keys).map_err(|e| AppError::Internal(e.into()))?;
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| AppError::Internal(anyhow::anyhow!("random: {e}")))?;
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: &plain, aad: self.aad.as_bytes() })
            .map_err(|_| AppError::Internal(anyhow::anyhow!("sealing a cursor failed")))?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out))
    }

    /// The key a cursor holds; `None` if it is malformed, altered, or from another grant or resource.
    pub fn open(&self, cursor: &str) -> Option<Vec<Value>> {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor.trim()).ok()?;
        if raw.len() < 12 {
            return None;
        }
        let (nonce, sealed) = raw.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().ok()?;
        let plain = self.cipher.decrypt(&Nonce::from(nonce), Payload { msg: sealed, aad: self.aad.as_bytes() }).ok()?;
        serde_json::from_slice(&plain).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sealed_cursors_open_only_for_their_grant() {
        let s = Sealer::new(b"k", "g1", "301001/000001");
        let c = s.seal(&[json!("11010519491231002X"), json!(3)]).unwrap();
        assert!(!c.contains("1101051949"));
        assert_eq!(s.open(&c).unwrap(), vec![json!("11010519491231002X"), json!(3)]);
        assert!(Sealer::new(b"k", "g2", "301001/000001").open(&c).is_none());
        assert!(Sealer::new(b"other", "g1", "301001/000001").open(&c).is_none());
        assert!(s.open("not a cursor").is_none());
    }
}
