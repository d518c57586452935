//! The openmls provider the engine uses: RustCrypto for crypto, and openmls_sqlx_storage over a
//! borrowed SQLite connection, so MLS writes land in the caller's transaction together with the
//! engine's own writes.

use openmls::prelude::{
    BasicCredential, Ciphersuite, Credential, CredentialWithKey, GroupContext, GroupId, MlsGroup,
    MlsGroupJoinConfig,
};
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::RustCrypto;
use openmls_sqlx_storage::{Codec, SqliteStorageProvider};
use openmls_traits::{storage::StorageProvider as _, types::SignatureScheme, OpenMlsProvider};
use sqlx::SqliteConnection;

use arx_identity::{InboxId, InstallationSigner};

use crate::error::CoreError;

/// The only ciphersuite ARX uses (RFC 9420 mandatory-to-implement).
pub const CIPHERSUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

/// Epochs back from which late application messages can still be decrypted.
pub(crate) const MAX_PAST_EPOCHS: usize = 5;

/// Serializes openmls state as JSON in the engine database.
#[derive(Default)]
pub struct JsonCodec;

impl Codec for JsonCodec {
    type Error = serde_json::Error;

    fn to_vec<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Self::Error> {
        serde_json::to_vec(value)
    }

    fn from_slice<T: serde::de::DeserializeOwned>(slice: &[u8]) -> Result<T, Self::Error> {
        serde_json::from_slice(slice)
    }
}

/// An openmls provider over one borrowed connection (usually an open transaction). Not `Send`:
/// scope it so it is dropped before the next `.await` on the connection.
pub struct MlsProvider<'a> {
    crypto: RustCrypto,
    storage: SqliteStorageProvider<'a, JsonCodec>,
}

impl<'a> MlsProvider<'a> {
    pub fn new(connection: &'a mut SqliteConnection) -> Self {
        Self {
            crypto: RustCrypto::default(),
            storage: SqliteStorageProvider::new(connection),
        }
    }

    /// Applies openmls_sqlx_storage's own migrations (its own migrations table).
    pub fn migrate(
        connection: &'a mut SqliteConnection,
    ) -> Result<(), sqlx::migrate::MigrateError> {
        SqliteStorageProvider::<JsonCodec>::new(connection).run_migrations()
    }
}

impl<'a> OpenMlsProvider for MlsProvider<'a> {
    type CryptoProvider = RustCrypto;
    type RandProvider = RustCrypto;
    type StorageProvider = SqliteStorageProvider<'a, JsonCodec>;

    fn storage(&self) -> &Self::StorageProvider {
        &self.storage
    }

    fn crypto(&self) -> &Self::CryptoProvider {
        &self.crypto
    }

    fn rand(&self) -> &Self::RandProvider {
        &self.crypto
    }
}

/// The MLS signer of an installation: its Ed25519 installation key.
pub fn mls_signer(installation: &InstallationSigner) -> SignatureKeyPair {
    SignatureKeyPair::from_raw(
        SignatureScheme::ED25519,
        installation.to_bytes().to_vec(),
        installation.public_key().as_bytes().to_vec(),
    )
}

/// The MLS credential of an installation: a basic credential naming its inbox, with the
/// installation key as signature key.
pub fn credential(inbox_id: &InboxId, installation: &InstallationSigner) -> CredentialWithKey {
    CredentialWithKey {
        credential: BasicCredential::new(inbox_id.as_bytes().to_vec()).into(),
        signature_key: installation.public_key().as_bytes().to_vec().into(),
    }
}

/// MLS state that could not be read or written.
pub(crate) fn mls_storage(e: impl std::fmt::Display) -> CoreError {
    CoreError::MlsStorage(e.to_string())
}

/// An MLS message, commit, proposal or key package that could not be built (or merged).
pub(crate) fn mls_op(e: impl std::fmt::Display) -> CoreError {
    CoreError::MlsOperation(e.to_string())
}

/// How this installation joins groups from welcomes.
pub(crate) fn join_config() -> MlsGroupJoinConfig {
    MlsGroupJoinConfig::builder()
        .use_ratchet_tree_extension(true)
        .max_past_epochs(MAX_PAST_EPOCHS)
        .build()
}

/// The inbox a leaf's credential names.
pub(crate) fn credential_inbox(credential: &Credential) -> Result<InboxId, CoreError> {
    let basic = BasicCredential::try_from(credential.clone())
        .map_err(|e| CoreError::InvalidCredential(e.to_string()))?;
    Ok(InboxId::from_slice(basic.identity())?)
}

/// The group as stored.
pub(crate) fn load_group(
    provider: &MlsProvider<'_>,
    group_id: &[u8],
) -> Result<MlsGroup, CoreError> {
    MlsGroup::load(provider.storage(), &GroupId::from_slice(group_id))
        .map_err(mls_storage)?
        .ok_or_else(|| CoreError::InvalidInput("no such conversation".into()))
}

/// The group's context as stored (its epoch and its settings): one read, where loading the
/// group reads and decodes its whole tree and secrets as well.
pub(crate) fn load_context(
    provider: &MlsProvider<'_>,
    group_id: &[u8],
) -> Result<GroupContext, CoreError> {
    let context: Option<GroupContext> = provider
        .storage()
        .group_context(&GroupId::from_slice(group_id))
        .map_err(mls_storage)?;
    context.ok_or_else(|| CoreError::InvalidInput("no such conversation".into()))
}

/// The group's epoch as stored in the engine's integer columns.
pub(crate) fn epoch_of(group: &MlsGroup) -> Result<i64, CoreError> {
    i64::try_from(group.epoch().as_u64()).map_err(mls_op)
}
