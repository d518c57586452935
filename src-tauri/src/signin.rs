//! What an external wallet (WalletConnect in the UI) signs: signing in, and revoking a device.
//! The engine prepares the text, the UI shows it and gets the wallet's signature, and the
//! engine verifies it before publishing anything. The operation runs as a task that waits for
//! the signature.

use std::future::Future;

use arx_core::{CoreError, Revoked, WalletSigner};
use arx_identity::{Address, InstallationKey, Signature};
use tokio::sync::{oneshot, Mutex};

/// What a wallet request did once signed.
pub enum Outcome {
    Registered,
    Revoked(Revoked),
}

/// A wallet request waiting for the wallet.
pub struct Pending {
    signature: oneshot::Sender<[u8; 65]>,
    pub result: oneshot::Receiver<Result<Outcome, CoreError>>,
}

impl Pending {
    pub fn sign(self, signature: [u8; 65]) -> oneshot::Receiver<Result<Outcome, CoreError>> {
        // If the task is gone its result says why.
        let _ = self.signature.send(signature);
        self.result
    }
}

/// A wallet whose signature arrives from the UI.
pub struct ExternalWallet {
    address: Address,
    text: Mutex<Option<oneshot::Sender<String>>>,
    signature: Mutex<Option<oneshot::Receiver<[u8; 65]>>>,
}

#[async_trait::async_trait]
impl WalletSigner for ExternalWallet {
    fn address(&self) -> Address {
        self.address
    }

    async fn sign_text(&self, text: &str) -> Result<Signature, CoreError> {
        let (Some(show), Some(signed)) = (
            self.text.lock().await.take(),
            self.signature.lock().await.take(),
        ) else {
            return Err(CoreError::Wallet("asked to sign twice".into()));
        };
        show.send(text.to_owned())
            .map_err(|_| CoreError::Wallet("the sign-in was abandoned".into()))?;
        let signature = signed
            .await
            .map_err(|_| CoreError::Wallet("the sign-in was abandoned".into()))?;
        Ok(Signature::Eip191(signature))
    }
}

/// Starts registering `client` with the wallet at `address`; returns the text the wallet must
/// sign and the pending sign-in.
pub async fn begin(
    client: std::sync::Arc<arx_core::Client>,
    address: Address,
) -> Result<(String, Pending), CoreError> {
    begin_with(address, move |wallet| async move {
        client.register(&wallet).await.map(|_| Outcome::Registered)
    })
    .await
}

/// Starts revoking `installation` with the wallet at `address` (the account's recovery
/// wallet); returns the text the wallet must sign and the pending request.
pub async fn begin_revoke(
    client: std::sync::Arc<arx_core::Client>,
    address: Address,
    installation: InstallationKey,
) -> Result<(String, Pending), CoreError> {
    begin_with(address, move |wallet| async move {
        client
            .revoke_installation(&wallet, &installation)
            .await
            .map(Outcome::Revoked)
    })
    .await
}

/// Runs `operation` with a wallet whose signature comes from the UI; returns the text to sign
/// once the operation asks for it.
async fn begin_with<F, Fut>(address: Address, operation: F) -> Result<(String, Pending), CoreError>
where
    F: FnOnce(ExternalWallet) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Outcome, CoreError>> + Send + 'static,
{
    let (text_tx, text_rx) = oneshot::channel();
    let (sig_tx, sig_rx) = oneshot::channel();
    let (result_tx, result_rx) = oneshot::channel();
    let wallet = ExternalWallet {
        address,
        text: Mutex::new(Some(text_tx)),
        signature: Mutex::new(Some(sig_rx)),
    };
    tokio::spawn(async move {
        let result = operation(wallet).await;
        let _ = result_tx.send(result);
    });
    let pending = Pending {
        signature: sig_tx,
        result: result_rx,
    };
    match text_rx.await {
        Ok(text) => Ok((text, pending)),
        // Registration failed before asking for a signature.
        Err(_) => Err(match pending.result.await {
            Ok(Err(err)) => err,
            _ => CoreError::Wallet("the request ended before asking the wallet".into()),
        }),
    }
}
