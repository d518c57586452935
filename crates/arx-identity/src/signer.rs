//! Local signers: a wallet key (secp256k1, EIP-191) and an installation key (Ed25519).

use std::fmt;

use alloy_primitives::{eip191_hash_message, Address};
use ed25519_dalek::Signer as _;
use k256::ecdsa::SigningKey as WalletKey;

use crate::error::IdentityError;
use crate::member::InstallationKey;
use crate::update::UnsignedIdentityUpdate;

/// A wallet whose secp256k1 private key is held in this process (an "externally owned
/// account"): used by the CLI, agents and tests.
pub struct LocalWallet {
    key: WalletKey,
}

impl LocalWallet {
    /// A new random wallet.
    pub fn generate() -> Self {
        LocalWallet {
            key: WalletKey::random(&mut rand::rngs::OsRng),
        }
    }

    /// The wallet with this private key; zero or a value not below the curve order is
    /// `identity.malformed`.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, IdentityError> {
        let key = WalletKey::from_bytes(bytes.into())
            .map_err(|_| IdentityError::malformed("not a valid secp256k1 private key"))?;
        Ok(LocalWallet { key })
    }

    /// The private key.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes().into()
    }

    /// The wallet's Ethereum address.
    pub fn address(&self) -> Address {
        Address::from_private_key(&self.key)
    }

    /// EIP-191 `personal_sign` of `text`: `r || s || v` with low `s` and `v` = 27 or 28,
    /// deterministic (RFC 6979), byte-for-byte what Ethereum wallets produce.
    pub fn sign_text(&self, text: &str) -> [u8; 65] {
        let hash = eip191_hash_message(text);
        let mut out = [0u8; 65];
        // Signing a 32-byte prehash with a valid key only fails if RFC 6979 yields no nonce,
        // which has negligible probability; the zero signature then simply fails to verify.
        if let Ok((sig, recid)) = self.key.sign_prehash_recoverable(hash.as_slice()) {
            out[..64].copy_from_slice(&sig.to_bytes());
            out[64] = 27 + u8::from(recid.is_y_odd());
        }
        out
    }
}

impl fmt::Debug for LocalWallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalWallet")
            .field("address", &self.address())
            .finish_non_exhaustive()
    }
}

/// The address that made an EIP-191 `personal_sign` signature (`r || s || v`, `v` = 27/28 or
/// 0/1) over `text`. Anything that does not recover is `identity.signature_invalid`.
pub fn recover_eip191(text: &str, signature: &[u8]) -> Result<Address, IdentityError> {
    let sig = parse_eip191(signature)?;
    sig.recover_address_from_msg(text)
        .map_err(|e| IdentityError::SignatureInvalid(format!("EIP-191 signature: {e}")))
}

/// Parses `r || s || v`, accepting only `v` in {0, 1, 27, 28}.
pub(crate) fn parse_eip191(signature: &[u8]) -> Result<alloy_primitives::Signature, IdentityError> {
    let bytes: &[u8; 65] = signature.try_into().map_err(|_| {
        IdentityError::SignatureInvalid(format!(
            "EIP-191 signature must be 65 bytes, got {}",
            signature.len()
        ))
    })?;
    if !matches!(bytes[64], 0 | 1 | 27 | 28) {
        return Err(IdentityError::SignatureInvalid(format!(
            "EIP-191 signature has v = {}, expected 27/28 or 0/1",
            bytes[64]
        )));
    }
    alloy_primitives::Signature::from_raw_array(bytes)
        .map_err(|e| IdentityError::SignatureInvalid(format!("EIP-191 signature: {e}")))
}

/// An installation's Ed25519 private key.
pub struct InstallationSigner {
    key: ed25519_dalek::SigningKey,
}

impl InstallationSigner {
    /// A new random installation key.
    pub fn generate() -> Self {
        InstallationSigner {
            key: ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng),
        }
    }

    /// The installation key with this 32-byte seed.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        InstallationSigner {
            key: ed25519_dalek::SigningKey::from_bytes(bytes),
        }
    }

    /// The 32-byte seed.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The public key, which is the installation's member id.
    pub fn public_key(&self) -> InstallationKey {
        InstallationKey::from_verifying_key(&self.key.verifying_key())
    }

    /// Signs the update's [`UnsignedIdentityUpdate::signing_hash`].
    pub fn sign_update(&self, update: &UnsignedIdentityUpdate) -> [u8; 64] {
        self.sign(&update.signing_hash())
    }

    /// Ed25519 over arbitrary bytes (deterministic).
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.key.sign(msg).to_bytes()
    }
}

impl fmt::Debug for InstallationSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstallationSigner")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn wallet_signature_recovers_to_its_address() {
        let wallet = LocalWallet::generate();
        let sig = wallet.sign_text("hello");
        assert!(sig[64] == 27 || sig[64] == 28);
        assert_eq!(recover_eip191("hello", &sig).unwrap(), wallet.address());
        assert_ne!(
            recover_eip191("hellO", &sig).unwrap_or_default(),
            wallet.address()
        );
    }

    #[test]
    fn recovery_accepts_v_as_parity_bit() {
        let wallet = LocalWallet::from_bytes(&[7u8; 32]).unwrap();
        let mut sig = wallet.sign_text("hello");
        sig[64] -= 27;
        assert_eq!(recover_eip191("hello", &sig).unwrap(), wallet.address());
    }

    #[test]
    fn recovery_refuses_bad_v_and_length() {
        let wallet = LocalWallet::from_bytes(&[7u8; 32]).unwrap();
        let mut sig = wallet.sign_text("hello");
        sig[64] = 37;
        assert_eq!(
            recover_eip191("hello", &sig).unwrap_err().code().as_str(),
            "identity.signature_invalid"
        );
        assert_eq!(
            recover_eip191("hello", &sig[..64])
                .unwrap_err()
                .code()
                .as_str(),
            "identity.signature_invalid"
        );
    }

    #[test]
    fn wallet_key_round_trips_and_rejects_zero() {
        let wallet = LocalWallet::generate();
        let again = LocalWallet::from_bytes(&wallet.to_bytes()).unwrap();
        assert_eq!(again.address(), wallet.address());
        assert_eq!(
            LocalWallet::from_bytes(&[0u8; 32])
                .unwrap_err()
                .code()
                .as_str(),
            "identity.malformed"
        );
        assert_eq!(
            LocalWallet::from_bytes(&[0xff; 32])
                .unwrap_err()
                .code()
                .as_str(),
            "identity.malformed"
        );
    }

    #[test]
    fn debug_output_hides_private_keys() {
        let wallet = LocalWallet::from_bytes(&[0x42; 32]).unwrap();
        let installation = InstallationSigner::from_bytes(&[0x42; 32]);
        for debug in [format!("{wallet:?}"), format!("{installation:?}")] {
            assert!(!debug.contains(&hex::encode([0x42u8; 32])), "{debug}");
            assert!(!debug.contains("66, 66"), "{debug}");
        }
    }

    #[test]
    fn installation_seed_round_trips() {
        let signer = InstallationSigner::generate();
        let again = InstallationSigner::from_bytes(&signer.to_bytes());
        assert_eq!(again.public_key(), signer.public_key());
    }
}
