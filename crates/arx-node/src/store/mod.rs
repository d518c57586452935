//! Node storage: one trait, one module per backend (SQLite, PostgreSQL).
//!
//! The store holds accepted envelopes and the indexes the node answers from (identity state per
//! inbox, the inbox of each wallet address, the latest key package of each installation). It does
//! not validate: the publisher validates, assigns sequence ids, signs, and hands the store one
//! [`AppendBatch`] that is written in a single transaction.

mod postgres;
mod sql;
mod sqlite;

use async_trait::async_trait;

pub use self::{postgres::PostgresStore, sqlite::SqliteStore};

/// Failure of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another writer changed what this batch depended on (identity version or address owner).
    #[error("concurrent change: {0}")]
    Conflict(String),
    /// The database could not be reached or refused the operation.
    #[error("database error: {0}")]
    Unavailable(#[from] sqlx::Error),
    /// Data read back from the database does not have the expected shape.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A write failed; carries the original error's text (for replies to several callers).
    #[error("database write failed: {0}")]
    Failed(String),
    /// Migrations failed to apply.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// A copy of this error to send to each caller whose write it failed.
    pub fn for_reply(&self) -> StoreError {
        match self {
            StoreError::Conflict(m) => StoreError::Conflict(m.clone()),
            other => StoreError::Failed(other.to_string()),
        }
    }
}

/// An accepted envelope as stored: its place in the originator's sequence and its encoded
/// `OriginatorEnvelope`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEnvelope {
    pub originator_id: u32,
    pub sequence_id: u64,
    /// Storage bytes of the topic (`Topic::to_bytes`).
    pub topic: Vec<u8>,
    pub received_at_ns: i64,
    /// Encoded `arx_proto::OriginatorEnvelope`.
    pub envelope: Vec<u8>,
}

/// New identity state of one inbox, written only if the stored version is still `expected_version`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityStateChange {
    pub inbox_id: [u8; 32],
    /// Version read before validating (None: the inbox had no state).
    pub expected_version: Option<u64>,
    pub new_version: u64,
    /// Serialized `AssociationState`.
    pub state: Vec<u8>,
    /// Wallet addresses that now belong to this inbox.
    pub added_addresses: Vec<[u8; 20]>,
    /// Wallet addresses that no longer belong to this inbox.
    pub removed_addresses: Vec<[u8; 20]>,
}

/// The newest key package of an installation (replaces the previous one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPackageRecord {
    pub installation_key: [u8; 32],
    pub inbox_id: [u8; 32],
    pub originator_id: u32,
    pub sequence_id: u64,
    /// Seconds since the Unix epoch after which the key package is expired.
    pub not_after: u64,
}

/// Everything one group of publishes writes, committed in one transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppendBatch {
    pub envelopes: Vec<StoredEnvelope>,
    pub identity: Vec<IdentityStateChange>,
    pub key_packages: Vec<KeyPackageRecord>,
}

impl AppendBatch {
    pub fn is_empty(&self) -> bool {
        self.envelopes.is_empty() && self.identity.is_empty() && self.key_packages.is_empty()
    }
}

/// Identity state as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredIdentityState {
    pub version: u64,
    pub state: Vec<u8>,
}

/// A key package found for an installation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredKeyPackage {
    pub inbox_id: [u8; 32],
    pub envelope: StoredEnvelope,
}

/// The node's storage. Implementations must be safe to share between tasks.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Short name of the backend, for logs and benchmarks.
    fn backend(&self) -> &'static str;

    /// Highest sequence id stored for `originator_id` (0 when none).
    async fn last_sequence_id(&self, originator_id: u32) -> Result<u64, StoreError>;

    /// Originators that have envelopes in this store, ascending.
    async fn originators(&self) -> Result<Vec<u32>, StoreError>;

    /// Writes the whole batch in one transaction, or nothing.
    async fn append(&self, batch: &AppendBatch) -> Result<(), StoreError>;

    /// Records that node `node_id` with `public_key` writes here. Refused (conflict) when that
    /// id is registered with another key.
    async fn register_node(&self, node_id: u32, public_key: &[u8; 32]) -> Result<(), StoreError>;

    /// Every node registered here, by id.
    async fn nodes(&self) -> Result<Vec<(u32, [u8; 32])>, StoreError>;

    /// One page of `originator_id`'s envelopes on several topics, each read after its own
    /// sequence id (`reads`: topic, after): ascending by sequence id, at most `limit` envelopes
    /// and (but always at least one) `max_bytes` of encoded envelopes. True when more follow.
    /// A fixed number of statements whatever the number of topics.
    async fn page(
        &self,
        reads: &[(Vec<u8>, u64)],
        originator_id: u32,
        limit: u32,
        max_bytes: usize,
    ) -> Result<(Vec<StoredEnvelope>, bool), StoreError>;

    /// Envelopes of `topic` from `originator_id` with a sequence id above `after`, ascending,
    /// at most `limit`.
    async fn query(
        &self,
        topic: &[u8],
        originator_id: u32,
        after: u64,
        limit: u32,
    ) -> Result<Vec<StoredEnvelope>, StoreError>;

    /// Current identity state of an inbox.
    async fn identity_state(
        &self,
        inbox_id: &[u8; 32],
    ) -> Result<Option<StoredIdentityState>, StoreError>;

    /// The inbox each address currently belongs to, in the order asked.
    async fn inbox_ids(&self, addresses: &[[u8; 20]]) -> Result<Vec<Option<[u8; 32]>>, StoreError>;

    /// The newest key package of each installation that is not expired at `now` (Unix seconds).
    async fn key_packages(
        &self,
        installation_keys: &[[u8; 32]],
        now: u64,
    ) -> Result<Vec<Option<StoredKeyPackage>>, StoreError>;
}

/// Opens the store named by a database URL (`sqlite://…` or `postgres://…`) and applies its
/// migrations.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(PostgresStore::connect(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(SqliteStore::open(url).await?))
    } else {
        Err(StoreError::Unavailable(sqlx::Error::Configuration(
            format!("unsupported database URL {url:?}: use sqlite://PATH or postgres://…").into(),
        )))
    }
}

pub(crate) fn to_i64(value: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} {value} exceeds i64")))
}

pub(crate) fn to_u64(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} {value} is negative")))
}

pub(crate) fn fixed<const N: usize>(bytes: Vec<u8>, what: &str) -> Result<[u8; N], StoreError> {
    <[u8; N]>::try_from(bytes)
        .map_err(|b| StoreError::Corrupt(format!("{what} has {} bytes, expected {N}", b.len())))
}
