//! Signing in with an external wallet (WalletConnect in the UI): the engine prepares the text,
//! the UI shows it and gets the wallet's signature, and the engine verifies it before
//! publishing anything. The registration runs as a task that waits for the signature.

use arx_core::{CoreError, Registration, WalletSigner};
use arx_identity::{Address, Signature};
use tokio::sync::{oneshot, Mutex};

/// A sign-in waiting for the wallet.
pub struct Pending {
    signature: oneshot::Sender<[u8; 65]>,
    pub result: oneshot::Receiver<Result<Registration, CoreError>>,
}

impl Pending {
    pub fn sign(self, signature: [u8; 65]) -> oneshot::Receiver<Result<Registration, CoreError>> {
        // If the task is gone its result says why.
        let _ = self.signature.send(signature);
        self.result
    }
}

/// A wallet whose signature arrives from the UI.
struct ExternalWallet {
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
    let (text_tx, text_rx) = oneshot::channel();
    let (sig_tx, sig_rx) = oneshot::channel();
    let (result_tx, result_rx) = oneshot::channel();
    let wallet = ExternalWallet {
        address,
        text: Mutex::new(Some(text_tx)),
        signature: Mutex::new(Some(sig_rx)),
    };
    tokio::spawn(async move {
        let result = client.register(&wallet).await;
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
            _ => CoreError::Wallet("the sign-in ended before asking the wallet".into()),
        }),
    }
}
