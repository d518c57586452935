//! The profile's account: the built-in wallet key, registration, and what the UI shows of it.

use std::sync::Arc;

use arx_identity::LocalWallet;

use crate::{
    app::App,
    dto::{Account, WalletKind},
    error::{AppCode, CommandError, CommandResult},
    keystore::{self, KeyStore, OsKeychain},
};

impl App {
    /// The built-in wallet's private key, for the person to back it up.
    pub fn builtin_key(&self) -> CommandResult<[u8; 32]> {
        let settings = self.settings();
        if settings.wallet_kind == Some(WalletKind::External) {
            return Err(CommandError::new(
                AppCode::ExternalWallet,
                "this account signs with an external wallet: its key never reaches ARX",
            ));
        }
        let store = settings.key_store.unwrap_or(KeyStore::File);
        keystore::load(&OsKeychain, &self.profile_dir, store)?.ok_or_else(|| {
            CommandError::new(
                AppCode::KeyStore,
                "the wallet key of this profile is missing",
            )
        })
    }

    /// The account of the profile, if registered.
    pub async fn account(&self) -> CommandResult<Option<Account>> {
        let Ok(client) = self.client().await else {
            return Ok(None);
        };
        let Some(registration) = client.registration().await? else {
            return Ok(None);
        };
        Ok(Some(Account {
            address: registration.wallet.to_checksum(None),
            inbox_id: registration.inbox_id.to_string(),
            installation_id: client.installation_key().to_string(),
            wallet_kind: self.settings().wallet_kind.unwrap_or(WalletKind::Builtin),
        }))
    }

    /// Registers with a built-in wallet: `imported`, or else the key a sign-in that did not
    /// finish already kept, or else a new one. The key is kept in the OS keychain (or an
    /// owner-only file where there is none) before anything is published.
    pub async fn register_builtin(
        self: &Arc<Self>,
        imported: Option<LocalWallet>,
    ) -> CommandResult<Account> {
        let client = self.client().await?;
        if client.registration().await?.is_some() {
            return Err(CommandError::new(
                AppCode::AlreadySignedIn,
                "this profile already has an account (use --profile NAME for another)",
            ));
        }
        let mut settings = self.settings();
        let kept = match settings.key_store {
            Some(store) => keystore::load(&OsKeychain, &self.profile_dir, store)?,
            None => None,
        };
        let wallet = match (imported, kept) {
            (None, Some(bytes)) => LocalWallet::from_bytes(&bytes)?,
            (imported, _) => {
                let wallet = imported.unwrap_or_else(LocalWallet::generate);
                let profile_dir = self.profile_dir.clone();
                let secret = wallet.to_bytes();
                let store = tokio::task::spawn_blocking(move || {
                    keystore::store(&OsKeychain, &profile_dir, &secret)
                })
                .await
                .map_err(|_| CommandError::new(AppCode::Internal, "the key store task ended"))??;
                settings.key_store = Some(store);
                self.save_settings(&settings)?;
                wallet
            }
        };
        client
            .register(&arx_core::LocalWalletSigner(wallet))
            .await?;
        self.registered(WalletKind::Builtin).await
    }

    /// After registration: remember how, start streaming, and report the account.
    pub async fn registered(self: &Arc<Self>, kind: WalletKind) -> CommandResult<Account> {
        let mut settings = self.settings();
        settings.wallet_kind = Some(kind);
        self.save_settings(&settings)?;
        self.start_stream().await;
        self.account().await?.ok_or_else(|| {
            CommandError::new(
                arx_core::CoreCode::NotRegistered,
                "registration did not complete",
            )
        })
    }
}
