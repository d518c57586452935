//! The openmls provider the engine uses: RustCrypto for crypto, and openmls_sqlx_storage over a
//! borrowed SQLite connection, so MLS writes land in the caller's transaction together with the
//! engine's own writes.

use openmls::prelude::{BasicCredential, Ciphersuite, CredentialWithKey};
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::RustCrypto;
use openmls_sqlx_storage::{Codec, SqliteStorageProvider};
use openmls_traits::{types::SignatureScheme, OpenMlsProvider};
use sqlx::SqliteConnection;

use arx_identity::{InboxId, InstallationSigner};

/// The only ciphersuite ARX uses (RFC 9420 mandatory-to-implement).
pub const CIPHERSUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

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
