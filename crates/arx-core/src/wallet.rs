//! Wallets sign the text the engine prepares. The built-in key signs here; WalletConnect (in the
//! app) implements the same trait by asking the user's wallet.

use arx_identity::{Address, LocalWallet, Signature};
use async_trait::async_trait;

use crate::error::CoreError;

/// Something that holds a wallet address and can sign text for it (EIP-191 personal_sign).
#[async_trait]
pub trait WalletSigner: Send + Sync {
    fn address(&self) -> Address;
    /// Signs `text` exactly as shown to the user.
    async fn sign_text(&self, text: &str) -> Result<Signature, CoreError>;
}

/// The built-in wallet: a secp256k1 key held by this process.
pub struct LocalWalletSigner(pub LocalWallet);

#[async_trait]
impl WalletSigner for LocalWalletSigner {
    fn address(&self) -> Address {
        self.0.address()
    }

    async fn sign_text(&self, text: &str) -> Result<Signature, CoreError> {
        Ok(Signature::Eip191(self.0.sign_text(text)))
    }
}

/// Checks that `signature` is `address`'s EIP-191 (`personal_sign`) signature of `text`: what
/// the engine requires of a wallet's signature before it publishes anything signed with it.
pub fn verify_wallet_signature(
    address: &Address,
    text: &str,
    signature: &[u8],
) -> Result<(), CoreError> {
    let signer = arx_identity::recover_eip191(text, signature)?;
    if signer != *address {
        return Err(CoreError::SignatureMismatch {
            expected: address.to_checksum(None),
            signer: signer.to_checksum(None),
        });
    }
    Ok(())
}
