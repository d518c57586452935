//! Inbox ids: the name of a person's messaging identity.

use std::fmt;
use std::str::FromStr;

pub use alloy_primitives::Address;
use sha2::{Digest, Sha256};

use crate::error::IdentityError;
use crate::serde_str::serde_via_str;

/// Domain separator of [`InboxId::derive`].
const INBOX_ID_DOMAIN: &[u8] = b"arx/v1/inbox-id";

/// The id of an inbox: SHA-256 over the first wallet address and a nonce, so anyone can
/// recompute it from the `CreateInbox` action.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InboxId([u8; 32]);

impl InboxId {
    /// `sha256("arx/v1/inbox-id" || address (20 bytes) || nonce (u64 big-endian))`.
    pub fn derive(address: &Address, nonce: u64) -> InboxId {
        let mut hasher = Sha256::new();
        hasher.update(INBOX_ID_DOMAIN);
        hasher.update(address.as_slice());
        hasher.update(nonce.to_be_bytes());
        InboxId(hasher.finalize().into())
    }

    /// Wraps 32 bytes; any other length is `identity.malformed`.
    pub fn from_slice(b: &[u8]) -> Result<Self, IdentityError> {
        let bytes: [u8; 32] = b.try_into().map_err(|_| {
            IdentityError::malformed(format!("inbox id must be 32 bytes, got {}", b.len()))
        })?;
        Ok(InboxId(bytes))
    }

    /// Wraps 32 bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        InboxId(bytes)
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for InboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for InboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InboxId({self})")
    }
}

impl FromStr for InboxId {
    type Err = IdentityError;

    /// Parses 64 hex digits, with or without a `0x` prefix.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.strip_prefix("0x").unwrap_or(s);
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(digits, &mut bytes).map_err(|e| {
            IdentityError::malformed(format!("inbox id must be 64 hex digits: {e}"))
        })?;
        Ok(InboxId(bytes))
    }
}

serde_via_str!(InboxId, "an inbox id as 64 hex digits");

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn inbox_id_text_round_trips_with_and_without_prefix() {
        let id = InboxId::derive(&Address::repeat_byte(0x11), 3);
        let text = id.to_string();
        assert_eq!(text.len(), 64);
        assert_eq!(text, text.to_lowercase());
        assert_eq!(text.parse::<InboxId>().unwrap(), id);
        assert_eq!(format!("0x{text}").parse::<InboxId>().unwrap(), id);
    }

    #[test]
    fn inbox_id_rejects_wrong_length() {
        assert_eq!(
            InboxId::from_slice(&[0u8; 31]).unwrap_err().code().as_str(),
            "identity.malformed"
        );
        assert_eq!(
            "abcd".parse::<InboxId>().unwrap_err().code().as_str(),
            "identity.malformed"
        );
    }

    #[test]
    fn inbox_id_depends_on_nonce_and_address() {
        let a = Address::repeat_byte(1);
        assert_ne!(InboxId::derive(&a, 0), InboxId::derive(&a, 1));
        assert_ne!(
            InboxId::derive(&a, 0),
            InboxId::derive(&Address::repeat_byte(2), 0)
        );
    }

    #[test]
    fn inbox_id_serializes_as_hex_string() {
        let id = InboxId::derive(&Address::repeat_byte(0x11), 3);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<InboxId>(&json).unwrap(), id);
    }
}
