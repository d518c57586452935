//! A client: one installation in one data directory, talking to one node.
//!
//! The data directory holds the installation's Ed25519 key (`installation.key`) and the engine
//! database (`arx.db`: engine tables and openmls state). Opening the same directory again is the
//! same installation; a second device of the same wallet is a second installation of the same
//! inbox.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    str::FromStr,
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use arx_identity::{
    secret_file, Address, AssociationState, IdentityUpdate, InboxId, InstallationKey,
    InstallationSigner, MemberId, Signature, Topic, UnsignedAction, UnsignedIdentityUpdate,
};
use arx_proto::{client_envelope::Payload, ClientEnvelope, KeyPackageUpload, OriginatorEnvelope};
use openmls::prelude::{
    tls_codec::{self, Serialize as _},
    KeyPackage, MlsMessageOut,
};
use prost::Message;
use sqlx::SqlitePool;

use crate::{
    db::{self, Database},
    error::CoreError,
    mls::{self, MlsProvider},
    transport::{NodeIdentity, Transport},
    wallet::WalletSigner,
};

/// How long a superseded key package is kept (a welcome made from it just before a newer one
/// was published can still be joined), before its private keys are deleted.
pub const KEY_PACKAGE_GRACE: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// Runs a read from the node again while it answers `rate.limited`, waiting 100 ms doubling
/// to 1.6 s (3.1 s in all, as publishing does): a reader sharing its address with a busy
/// sender reads on instead of failing its sync.
pub(crate) async fn waiting_out_rate_limit<T, F, Fut>(mut call: F) -> Result<T, CoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, CoreError>>,
{
    let mut wait = std::time::Duration::from_millis(100);
    loop {
        match call().await {
            Err(err)
                if err.code() == arx_identity::NodeCode::RateLimited.into()
                    && wait <= std::time::Duration::from_millis(1_600) =>
            {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            outcome => return outcome,
        }
    }
}

/// What registration left this installation with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub inbox_id: InboxId,
    pub wallet: Address,
    pub installation: InstallationKey,
    /// True when this call created the inbox (the wallet's first device).
    pub created_inbox: bool,
}

/// One installation of ARX.
pub struct Client {
    data_dir: PathBuf,
    /// The database's read pool.
    pub(crate) db: SqlitePool,
    /// The database: its writer connection and the groups kept in memory.
    pub(crate) store: Database,
    pub(crate) installation: InstallationSigner,
    pub(crate) transport: Arc<dyn Transport>,
    /// The node's identity, asked once per client: every envelope is verified against it.
    node: tokio::sync::OnceCell<NodeIdentity>,
    /// One lock per group: its sync and its intents run one at a time (one commit in flight).
    pub(crate) group_locks: std::sync::Mutex<HashMap<Vec<u8>, Arc<tokio::sync::Mutex<()>>>>,
    /// Bumped when this installation creates or joins a conversation (live streams resubscribe).
    pub(crate) conversations_changed: tokio::sync::watch::Sender<u64>,
    /// Own messages whose delivery changed since the live stream last reported them.
    delivery_changed: std::sync::Mutex<Vec<i64>>,
    /// Wallet addresses of inboxes, for labels.
    pub(crate) addresses: crate::view::Addresses,
    /// Identity logs fetched for leaf checks (see [`crate::identities`]).
    pub(crate) identities: crate::identities::IdentityLogs,
    /// Where files go (set by `use_media`).
    pub(crate) media: std::sync::RwLock<Option<Arc<crate::media::Media>>>,
}

pub(crate) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(1)
}

impl Client {
    /// Opens (creating on first use) the installation in `data_dir`.
    pub async fn open(data_dir: &Path, transport: Arc<dyn Transport>) -> Result<Self, CoreError> {
        let dir_error = |reason: String| CoreError::DataDir {
            path: data_dir.display().to_string(),
            reason,
        };
        // Keys and message history: the owner's only (0700, the database 0600).
        secret_file::private_dir(data_dir).map_err(|e| dir_error(e.to_string()))?;
        for file in ["arx.db", "arx.db-wal", "arx.db-shm"] {
            let path = data_dir.join(file);
            if file == "arx.db" || path.exists() {
                secret_file::private_file(&path).map_err(|e| dir_error(e.to_string()))?;
            }
        }
        let (seed, _) = secret_file::load_or_create(&data_dir.join("installation.key"), || {
            InstallationSigner::generate().to_bytes()
        })
        .map_err(|e| dir_error(e.to_string()))?;
        let installation = InstallationSigner::from_bytes(&seed);

        let store = Database::open(&data_dir.join("arx.db")).await?;
        let db = store.read.clone();
        let key = installation.public_key();
        if db::installation::claim(&db, &key).await? != key.as_bytes() {
            return Err(dir_error(
                "installation.key does not belong to this database (was one of them replaced?)"
                    .into(),
            ));
        }
        Ok(Self {
            data_dir: data_dir.to_owned(),
            db,
            store,
            installation,
            transport,
            node: tokio::sync::OnceCell::new(),
            group_locks: std::sync::Mutex::default(),
            conversations_changed: tokio::sync::watch::Sender::new(0),
            delivery_changed: std::sync::Mutex::default(),
            addresses: crate::view::Addresses::default(),
            identities: crate::identities::IdentityLogs::default(),
            media: std::sync::RwLock::default(),
        })
    }

    /// A write transaction on the database's writer connection (see [`Database::write_tx`]).
    pub(crate) async fn write_tx(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, CoreError> {
        self.store.write_tx().await
    }

    /// Notes that own message `id` was sent or failed (the live stream reports it).
    pub(crate) fn note_delivery(&self, id: i64) {
        self.delivery_changed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(id);
    }

    /// The own messages whose delivery changed since the last call, each once.
    pub(crate) fn take_delivery_changes(&self) -> Vec<i64> {
        let mut ids = std::mem::take(
            &mut *self
                .delivery_changed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The node's id and public key (asked once; a node keeps its key across restarts).
    pub(crate) async fn node(&self) -> Result<NodeIdentity, CoreError> {
        self.node
            .get_or_try_init(|| self.transport.node_info())
            .await
            .cloned()
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// This installation's public key (its MLS leaf signature key).
    pub fn installation_key(&self) -> InstallationKey {
        self.installation.public_key()
    }

    /// The registration recorded in this data directory, if any.
    pub async fn registration(&self) -> Result<Option<Registration>, CoreError> {
        Ok(db::installation::registration(&self.db)
            .await?
            .map(|(inbox_id, wallet)| Registration {
                inbox_id,
                wallet,
                installation: self.installation_key(),
                created_inbox: false,
            }))
    }

    /// This installation's inbox; refused before registration.
    pub(crate) async fn inbox(&self) -> Result<InboxId, CoreError> {
        self.registration()
            .await?
            .map(|r| r.inbox_id)
            .ok_or(CoreError::NotRegistered)
    }

    /// The inbox named by `member`: an inbox id (64 hex characters) or a wallet address
    /// (0x + 40 hex characters) that belongs to an inbox.
    pub async fn resolve_member(&self, member: &str) -> Result<InboxId, CoreError> {
        let trimmed = member.trim();
        if let Ok(address) = Address::from_str(trimmed) {
            let found = self.transport.inbox_ids(vec![address.into_array()]).await?;
            let Some(inbox) = found.into_iter().next().flatten() else {
                return Err(CoreError::NotOnArx(address.to_checksum(None)));
            };
            let inbox = InboxId::from_slice(&inbox)?;
            // The node's answer is a hint: the inbox's own (verified) log must list the wallet.
            let node = self.node().await?;
            let state = self.association_state_from(&node, &inbox).await?;
            if !state.has_wallet(&address) {
                return Err(CoreError::NodeInvalid(format!(
                    "the node named inbox {inbox} for {}, but that inbox does not list it",
                    address.to_checksum(None)
                )));
            }
            return Ok(inbox);
        }
        InboxId::from_str(trimmed).map_err(|_| {
            CoreError::InvalidInput(format!(
                "{trimmed:?} is neither a wallet address (0x + 40 hex) nor an inbox id (64 hex)"
            ))
        })
    }

    /// Registers this installation for `wallet`: creates the wallet's inbox if it has none,
    /// otherwise adds this installation to it; then uploads a key package. Both go in one
    /// batch, so the node accepts both or neither. Calling it again is harmless.
    pub async fn register(&self, wallet: &dyn WalletSigner) -> Result<Registration, CoreError> {
        let node = self.node().await?;
        let address = wallet.address();
        let existing = self.transport.inbox_ids(vec![address.into_array()]).await?;
        let mine = self.installation_key();

        let (inbox_id, state) = match existing.into_iter().next().flatten() {
            Some(inbox) => {
                let inbox_id = InboxId::from_slice(&inbox)
                    .map_err(|_| CoreError::NodeInvalid("inbox id from GetInboxIds".into()))?;
                let state = self.association_state_from(&node, &inbox_id).await?;
                if !state.has_wallet(&address) {
                    return Err(CoreError::NodeInvalid(format!(
                        "the node named inbox {inbox_id} for this wallet, but that inbox does \
                         not list it"
                    )));
                }
                (inbox_id, Some(state))
            }
            None => (InboxId::derive(&address, 0), None),
        };

        let mut envelopes = Vec::new();
        let already = state.as_ref().is_some_and(|s| s.has_installation(&mine));
        if !already {
            let actions = match &state {
                Some(_) => vec![],
                None => vec![UnsignedAction::CreateInbox {
                    initial_address: address,
                    nonce: 0,
                }],
            };
            let mut unsigned = UnsignedIdentityUpdate {
                inbox_id,
                client_timestamp_ns: now_ns(),
                actions,
            };
            unsigned.actions.push(UnsignedAction::AddAssociation {
                new_member: MemberId::Installation(mine),
                existing_member: MemberId::Wallet(address),
            });
            let update = self.sign_update(unsigned, wallet, state.as_ref()).await?;
            envelopes.push(identity_envelope(&update));
        }
        envelopes.push(self.new_key_package(&inbox_id).await?);
        let published = self.transport.publish(envelopes.clone()).await?;
        check_echo(&node, &envelopes, &published)?;

        db::installation::set_registration(&self.db, &inbox_id, &address, now_ns()).await?;
        tracing::info!(inbox = %inbox_id, installation = %mine, "installation registered");
        Ok(Registration {
            inbox_id,
            wallet: address,
            installation: mine,
            created_inbox: state.is_none(),
        })
    }

    pub(crate) async fn sign_update(
        &self,
        unsigned: UnsignedIdentityUpdate,
        wallet: &dyn WalletSigner,
        state: Option<&AssociationState>,
    ) -> Result<IdentityUpdate, CoreError> {
        let text = unsigned.signature_text();
        let wallet_signature = wallet.sign_text(&text).await?;
        if let Signature::Eip191(sig) = &wallet_signature {
            crate::wallet::verify_wallet_signature(&wallet.address(), &text, sig)?;
        }
        let installation_signature =
            Signature::Installation(self.installation.sign_update(&unsigned));
        let recovery = state.map(AssociationState::recovery_address);
        Ok(unsigned.attach(
            &[
                (MemberId::Wallet(wallet.address()), wallet_signature),
                (
                    MemberId::Installation(self.installation_key()),
                    installation_signature,
                ),
            ],
            recovery,
        )?)
    }

    /// Publishes one identity update and checks the node's echo of it.
    pub(crate) async fn publish_identity_update(
        &self,
        node: &NodeIdentity,
        update: &IdentityUpdate,
    ) -> Result<(), CoreError> {
        let envelopes = vec![identity_envelope(update)];
        let published = self.transport.publish(envelopes.clone()).await?;
        check_echo(node, &envelopes, &published)
    }

    /// Publishes a fresh key package for this installation (after a welcome used the last
    /// one); the node serves the newest.
    pub(crate) async fn rotate_key_package(&self) -> Result<(), CoreError> {
        let inbox = self.inbox().await?;
        let envelope = self.new_key_package(&inbox).await?;
        waiting_out_rate_limit(|| self.transport.publish(vec![envelope.clone()])).await?;
        Ok(())
    }

    /// Deletes the key packages superseded more than [`KEY_PACKAGE_GRACE`] ago, private keys
    /// included: a welcome made from one can no longer be joined, and a stolen database no
    /// longer opens old welcomes.
    pub(crate) async fn delete_old_key_packages(&self) -> Result<usize, CoreError> {
        let grace = i64::try_from(KEY_PACKAGE_GRACE.as_nanos()).unwrap_or(i64::MAX);
        self.delete_key_packages_superseded_before(now_ns().saturating_sub(grace))
            .await
    }

    /// [`Client::delete_old_key_packages`] with the cut-off given.
    pub(crate) async fn delete_key_packages_superseded_before(
        &self,
        before: i64,
    ) -> Result<usize, CoreError> {
        let old = db::key_packages::superseded_before(&self.db, before).await?;
        if old.is_empty() {
            return Ok(0);
        }
        let mut tx = self.write_tx().await?;
        for hash_ref in &old {
            {
                let provider = MlsProvider::new(&mut tx);
                openmls_traits::storage::StorageProvider::delete_key_package(
                    openmls_traits::OpenMlsProvider::storage(&provider),
                    &<openmls::prelude::KeyPackageRef as tls_codec::Deserialize>::tls_deserialize_exact(
                        hash_ref.as_slice(),
                    )
                    .map_err(|e| CoreError::corrupt("own_key_packages.hash_ref", e.to_string()))?,
                )
                .map_err(mls::mls_storage)?;
            }
            db::key_packages::delete(&mut *tx, hash_ref).await?;
        }
        tx.commit().await?;
        Ok(old.len())
    }

    /// A fresh key package for this installation; its private keys are stored in the engine
    /// database before it leaves the device.
    async fn new_key_package(&self, inbox_id: &InboxId) -> Result<Vec<u8>, CoreError> {
        let signer = mls::mls_signer(&self.installation);
        let credential = mls::credential(inbox_id, &self.installation);
        let mut tx = self.write_tx().await?;
        let message = {
            let provider = MlsProvider::new(&mut tx);
            // Last resort: two welcomes made from it at once both work; a fresh one replaces
            // it after every join.
            let bundle = KeyPackage::builder()
                .leaf_node_capabilities(crate::metadata::capabilities())
                .mark_as_last_resort()
                .build(mls::CIPHERSUITE, &provider, &signer, credential)
                .map_err(|e| CoreError::MlsOperation(e.to_string()))?;
            let hash_ref = bundle
                .key_package()
                .hash_ref(openmls_traits::OpenMlsProvider::crypto(&provider))
                .map_err(|e| CoreError::MlsOperation(e.to_string()))?;
            let message = MlsMessageOut::from(bundle.key_package().clone())
                .tls_serialize_detached()
                .map_err(|e| CoreError::MlsOperation(e.to_string()))?;
            let hash_ref = hash_ref
                .tls_serialize_detached()
                .map_err(|e| CoreError::MlsOperation(e.to_string()))?;
            (message, hash_ref)
        };
        let (message, hash_ref) = message;
        db::key_packages::insert_current(&mut tx, &hash_ref, now_ns()).await?;
        tx.commit().await?;
        Ok(ClientEnvelope {
            topic: Some(Topic::key_packages(&self.installation_key()).to_proto()),
            payload: Some(Payload::KeyPackage(KeyPackageUpload {
                mls_message: message,
            })),
        }
        .encode_to_vec())
    }

    /// The verified association state of `inbox_id`: every envelope's node signature and every
    /// identity signature is checked, and the log is folded here, not trusted from the node.
    pub async fn association_state(
        &self,
        inbox_id: &InboxId,
    ) -> Result<AssociationState, CoreError> {
        let node = self.node().await?;
        self.association_state_from(&node, inbox_id).await
    }
}

fn identity_envelope(update: &IdentityUpdate) -> Vec<u8> {
    ClientEnvelope {
        topic: Some(Topic::identity_log(&update.inbox_id).to_proto()),
        payload: Some(Payload::IdentityUpdate(update.to_proto())),
    }
    .encode_to_vec()
}

/// Checks that the node returned our envelopes, signed by itself, in order.
fn check_echo(
    node: &NodeIdentity,
    sent: &[Vec<u8>],
    published: &[OriginatorEnvelope],
) -> Result<(), CoreError> {
    if published.len() != sent.len() {
        return Err(CoreError::NodeInvalid(
            "Publish returned a different count".into(),
        ));
    }
    for (sent, env) in sent.iter().zip(published) {
        node.verify(env)?;
        if env.client_envelope != *sent {
            return Err(CoreError::NodeInvalid(
                "Publish returned another envelope".into(),
            ));
        }
    }
    Ok(())
}
