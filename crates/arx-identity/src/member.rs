//! Members of an inbox: wallets and installations.

use std::fmt;
use std::str::FromStr;

use alloy_primitives::Address;
use ed25519_dalek::{Signature as Ed25519Signature, VerifyingKey};

use crate::error::IdentityError;
use crate::serde_str::serde_via_str;

/// An installation's Ed25519 public key: a device's identity and its MLS signature key.
///
/// Only valid, non-weak (not small-order) curve points can be constructed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstallationKey([u8; 32]);

impl InstallationKey {
    /// Checks that `b` is a 32-byte encoding of an Ed25519 point of large order.
    pub fn from_slice(b: &[u8]) -> Result<Self, IdentityError> {
        let bytes: [u8; 32] = b.try_into().map_err(|_| {
            IdentityError::malformed(format!(
                "installation key must be 32 bytes, got {}",
                b.len()
            ))
        })?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| {
            IdentityError::malformed("installation key is not a valid Ed25519 public key")
        })?;
        if key.is_weak() {
            return Err(IdentityError::malformed(
                "installation key is a small-order Ed25519 point",
            ));
        }
        Ok(InstallationKey(bytes))
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Verifies an Ed25519 signature by this key over `msg` (strict verification: no
    /// malleable or small-order encodings).
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<(), IdentityError> {
        let sig = Ed25519Signature::from_slice(sig).map_err(|_| {
            IdentityError::SignatureInvalid(format!(
                "installation signature must be 64 bytes, got {}",
                sig.len()
            ))
        })?;
        let key = VerifyingKey::from_bytes(&self.0).map_err(|_| {
            IdentityError::malformed("installation key is not a valid Ed25519 public key")
        })?;
        key.verify_strict(msg, &sig).map_err(|_| {
            IdentityError::SignatureInvalid(format!("installation {self} did not sign this"))
        })
    }

    pub(crate) fn from_verifying_key(key: &VerifyingKey) -> Self {
        InstallationKey(key.to_bytes())
    }
}

impl fmt::Display for InstallationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for InstallationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InstallationKey({self})")
    }
}

impl FromStr for InstallationKey {
    type Err = IdentityError;

    /// Parses 64 hex digits, with or without a `0x` prefix.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.strip_prefix("0x").unwrap_or(s);
        let bytes = hex::decode(digits)
            .map_err(|e| IdentityError::malformed(format!("installation key must be hex: {e}")))?;
        Self::from_slice(&bytes)
    }
}

serde_via_str!(InstallationKey, "an Ed25519 public key as 64 hex digits");

/// A member of an inbox.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum MemberId {
    /// A wallet address; it signs with EIP-191 or as a smart-contract wallet.
    Wallet(Address),
    /// An installation (device); it signs with its Ed25519 key.
    Installation(InstallationKey),
}

impl MemberId {
    /// Parses the wire form; a missing oneof, a wrong-length address or an invalid key is
    /// `identity.malformed`.
    pub fn from_proto(proto: &arx_proto::MemberIdentifier) -> Result<Self, IdentityError> {
        use arx_proto::member_identifier::Kind;
        match &proto.kind {
            Some(Kind::WalletAddress(bytes)) => Ok(MemberId::Wallet(address_from_slice(bytes)?)),
            Some(Kind::InstallationKey(bytes)) => {
                Ok(MemberId::Installation(InstallationKey::from_slice(bytes)?))
            }
            None => Err(IdentityError::malformed("member identifier has no kind")),
        }
    }

    /// The wire form.
    pub fn to_proto(&self) -> arx_proto::MemberIdentifier {
        use arx_proto::member_identifier::Kind;
        let kind = match self {
            MemberId::Wallet(address) => Kind::WalletAddress(address.to_vec()),
            MemberId::Installation(key) => Kind::InstallationKey(key.as_bytes().to_vec()),
        };
        arx_proto::MemberIdentifier { kind: Some(kind) }
    }

    /// Whether this member is a wallet.
    pub fn is_wallet(&self) -> bool {
        matches!(self, MemberId::Wallet(_))
    }
}

impl From<Address> for MemberId {
    fn from(address: Address) -> Self {
        MemberId::Wallet(address)
    }
}

impl From<InstallationKey> for MemberId {
    fn from(key: InstallationKey) -> Self {
        MemberId::Installation(key)
    }
}

impl fmt::Display for MemberId {
    /// `wallet 0x<EIP-55 checksummed>` or `installation <lowercase hex>`, as in signature texts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemberId::Wallet(address) => write!(f, "wallet {}", address.to_checksum(None)),
            MemberId::Installation(key) => write!(f, "installation {key}"),
        }
    }
}

/// Parses a 20-byte wallet address; any other length is `identity.malformed`.
pub(crate) fn address_from_slice(b: &[u8]) -> Result<Address, IdentityError> {
    if b.len() != 20 {
        return Err(IdentityError::malformed(format!(
            "wallet address must be 20 bytes, got {}",
            b.len()
        )));
    }
    Ok(Address::from_slice(b))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::InstallationSigner;

    #[test]
    fn installation_key_rejects_wrong_length() {
        let err = InstallationKey::from_slice(&[7u8; 31]).unwrap_err();
        assert_eq!(err.code().as_str(), "identity.malformed");
        assert!(err.to_string().contains("32 bytes"));
    }

    #[test]
    fn installation_key_rejects_points_not_on_the_curve() {
        // y = 2 has no x on edwards25519.
        let mut bytes = [0u8; 32];
        bytes[0] = 2;
        let err = InstallationKey::from_slice(&bytes).unwrap_err();
        assert_eq!(err.code().as_str(), "identity.malformed");
        assert!(err.to_string().contains("not a valid Ed25519"), "{err}");
    }

    #[test]
    fn installation_key_rejects_small_order_points() {
        // The identity point (y = 1).
        let mut bytes = [0u8; 32];
        bytes[0] = 1;
        assert_eq!(
            InstallationKey::from_slice(&bytes)
                .unwrap_err()
                .code()
                .as_str(),
            "identity.malformed"
        );
    }

    #[test]
    fn installation_key_verifies_only_its_own_signatures() {
        let signer = InstallationSigner::from_bytes(&[3u8; 32]);
        let other = InstallationSigner::from_bytes(&[4u8; 32]);
        let sig = signer.sign(b"hello");
        signer.public_key().verify(b"hello", &sig).unwrap();
        assert_eq!(
            signer
                .public_key()
                .verify(b"hellO", &sig)
                .unwrap_err()
                .code()
                .as_str(),
            "identity.signature_invalid"
        );
        assert_eq!(
            other
                .public_key()
                .verify(b"hello", &sig)
                .unwrap_err()
                .code()
                .as_str(),
            "identity.signature_invalid"
        );
        assert_eq!(
            signer
                .public_key()
                .verify(b"hello", &sig[..63])
                .unwrap_err()
                .code()
                .as_str(),
            "identity.signature_invalid"
        );
    }

    #[test]
    fn member_id_displays_checksummed_wallet_and_hex_installation() {
        let address: Address = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
            .parse()
            .unwrap();
        assert_eq!(
            MemberId::Wallet(address).to_string(),
            "wallet 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        );
        let key = InstallationSigner::from_bytes(&[3u8; 32]).public_key();
        assert_eq!(
            MemberId::Installation(key).to_string(),
            format!("installation {key}")
        );
    }

    #[test]
    fn member_id_proto_round_trips() {
        let members = [
            MemberId::Wallet(Address::repeat_byte(9)),
            MemberId::Installation(InstallationSigner::from_bytes(&[5u8; 32]).public_key()),
        ];
        for member in members {
            assert_eq!(MemberId::from_proto(&member.to_proto()).unwrap(), member);
        }
    }

    #[test]
    fn malformed_member_identifiers_are_refused() {
        use arx_proto::member_identifier::Kind;
        let cases = [
            arx_proto::MemberIdentifier { kind: None },
            arx_proto::MemberIdentifier {
                kind: Some(Kind::WalletAddress(vec![1; 19])),
            },
            arx_proto::MemberIdentifier {
                kind: Some(Kind::InstallationKey(vec![1; 33])),
            },
        ];
        for case in cases {
            assert_eq!(
                MemberId::from_proto(&case).unwrap_err().code().as_str(),
                "identity.malformed"
            );
        }
    }

    #[test]
    fn member_id_serde_round_trips() {
        let member =
            MemberId::Installation(InstallationSigner::from_bytes(&[5u8; 32]).public_key());
        let json = serde_json::to_string(&member).unwrap();
        assert!(json.starts_with("{\"installation\":\""), "{json}");
        assert_eq!(serde_json::from_str::<MemberId>(&json).unwrap(), member);
    }
}
