//! The seam to a chain for smart-contract wallet signatures (ERC-1271 / ERC-6492).

use alloy_primitives::Address;

use crate::error::IdentityError;

/// Checks a smart-contract wallet's signature against a chain.
///
/// Implementations call `isValidSignature` (ERC-1271, or ERC-6492 for undeployed wallets) on
/// `account` at `block_number` of `chain_id`. An unreachable chain is
/// [`IdentityError::ChainUnavailable`] (retryable); a signature the contract rejects is
/// [`IdentityError::SignatureInvalid`].
#[async_trait::async_trait]
pub trait SmartWalletVerifier: Send + Sync {
    /// `Ok(())` if `account` accepts `signature` over `message_hash` (the EIP-191 hash of the
    /// update's signature text).
    async fn verify(
        &self,
        account: Address,
        chain_id: u64,
        block_number: u64,
        message_hash: [u8; 32],
        signature: &[u8],
    ) -> Result<(), IdentityError>;
}

/// A verifier without chain access: every smart-contract wallet signature is
/// [`IdentityError::SmartWalletUnsupported`].
#[derive(Clone, Copy, Debug, Default)]
pub struct NoChainVerifier;

#[async_trait::async_trait]
impl SmartWalletVerifier for NoChainVerifier {
    async fn verify(
        &self,
        _account: Address,
        _chain_id: u64,
        _block_number: u64,
        _message_hash: [u8; 32],
        _signature: &[u8],
    ) -> Result<(), IdentityError> {
        Err(IdentityError::SmartWalletUnsupported)
    }
}
