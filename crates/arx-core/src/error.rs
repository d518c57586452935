//! Engine errors, each with a stable code for the CLI and the app.

use arx_identity::{EnvelopeError, IdentityError};

/// What went wrong in the engine.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("cannot use data directory {path}: {reason}")]
    DataDir { path: String, reason: String },
    #[error("local database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("local database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("node {url} is unreachable: {reason}")]
    NodeUnreachable { url: String, reason: String },
    #[error("node refused the request [{code}]: {message}")]
    NodeRefused {
        code: String,
        message: String,
        retryable: bool,
    },
    #[error("node sent an invalid answer: {0}")]
    NodeInvalid(String),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error("the wallet could not sign: {0}")]
    Wallet(String),
    #[error("MLS error: {0}")]
    Mls(String),
    #[error("{0} is not on ARX yet (no inbox belongs to this wallet)")]
    NotOnArx(String),
    #[error("{message}")]
    IntentFailed { code: String, message: String },
    #[error("a change to this group is still in flight; sync and try again")]
    CommitInFlight,
    #[error("the DM is being set up by both sides at once; try again in a moment")]
    DmConverging,
    #[error("the signature was made by {signer}, not by the wallet {expected} (wrong account, or a different text was signed)")]
    SignatureMismatch { expected: String, signer: String },
    #[error("not permitted: {0}")]
    NotPermitted(String),
    #[error("you are no longer a member of this conversation")]
    NotAMember,
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("this installation is not registered yet; run registration first")]
    NotRegistered,
}

impl CoreError {
    /// Stable, machine-readable code.
    pub fn code(&self) -> String {
        match self {
            Self::DataDir { .. } => "core.data_dir".into(),
            Self::Database(_) | Self::Migrate(_) => "core.database".into(),
            Self::NodeUnreachable { .. } => "network.unreachable".into(),
            Self::NodeRefused { code, .. } => code.clone(),
            Self::NodeInvalid(_) => "network.invalid_answer".into(),
            Self::Identity(e) => e.code().into(),
            Self::Envelope(e) => e.code().into(),
            Self::Wallet(_) => "wallet.signing_failed".into(),
            Self::Mls(_) => "mls.error".into(),
            Self::InvalidInput(_) => "input.invalid".into(),
            Self::NotPermitted(_) => "group.not_permitted".into(),
            Self::SignatureMismatch { .. } => "identity.signature_mismatch".into(),
            Self::NotAMember => "group.not_a_member".into(),
            Self::IntentFailed { code, .. } => code.clone(),
            Self::DmConverging => "dm.converging".into(),
            Self::CommitInFlight => "group.commit_in_flight".into(),
            Self::NotOnArx(_) => "identity.not_on_arx".into(),
            Self::NotRegistered => "core.not_registered".into(),
        }
    }

    /// Whether retrying later can help.
    pub fn retryable(&self) -> bool {
        match self {
            Self::NodeUnreachable { .. } | Self::Database(_) => true,
            Self::CommitInFlight | Self::DmConverging => true,
            Self::IntentFailed { code, .. } => code == "dm.converging",
            Self::NodeRefused { retryable, .. } => *retryable,
            Self::Identity(e) => e.retryable(),
            _ => false,
        }
    }
}
