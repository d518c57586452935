//! Errors the node returns, each with a stable code carried in the gRPC status details.

use arx_identity::{EnvelopeError, IdentityCode, IdentityError, NodeCode, RefusalCode};
use arx_proto::ErrorDetail;
use prost::Message;
use tonic::{Code, Status};

use crate::store::StoreError;

/// Why the node refused a call. Every variant maps to one stable code (see [`NodeError::code`]).
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("the batch is empty: publish at least one envelope")]
    EmptyBatch,
    #[error("the batch has {count} envelopes; at most {max} are accepted in one call")]
    BatchTooLarge { count: usize, max: usize },
    #[error("envelope {index} is {size} bytes; the limit is {max} bytes")]
    EnvelopeTooLarge {
        index: usize,
        size: usize,
        max: usize,
    },
    #[error("envelope {index} is not a valid ClientEnvelope: {reason}")]
    MalformedEnvelope { index: usize, reason: String },
    #[error("envelope {index}: {source}")]
    Topic { index: usize, source: EnvelopeError },
    #[error("envelope {index}: payload {payload} cannot be published to topic {topic}")]
    PayloadTopicMismatch {
        index: usize,
        payload: &'static str,
        topic: String,
    },
    #[error("envelope {index}: not a valid MLS message: {reason}")]
    InvalidMlsMessage { index: usize, reason: String },
    #[error("envelope {index}: the MLS message is for group {message_group}, but the topic is group {topic_group}")]
    GroupIdMismatch {
        index: usize,
        message_group: String,
        topic_group: String,
    },
    #[error("envelope {index}: invalid key package: {reason}")]
    InvalidKeyPackage { index: usize, reason: String },
    #[error("envelope {index}: installation {installation} is not associated with inbox {inbox}")]
    InstallationNotAssociated {
        index: usize,
        installation: String,
        inbox: String,
    },
    #[error("envelope {index}: {source}")]
    Identity { index: usize, source: IdentityError },
    #[error("envelope {index}: wallet {address} already belongs to inbox {owner}")]
    AddressInUse {
        index: usize,
        address: String,
        owner: String,
    },
    #[error("envelope {index}: the identity log already holds {max} updates, the most one inbox may have")]
    IdentityLogFull { index: usize, max: u64 },
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("too many requests from {peer}; slow down and retry")]
    RateLimited { peer: String },
    #[error("subscription fell behind (not reading, or behind the live stream); resume from your cursors")]
    SubscriptionLagged,
    #[error("at most {max} subscriptions may be open {scope}; close one or retry later")]
    TooManySubscriptions { max: usize, scope: &'static str },
    #[error("the node is shutting down")]
    ShuttingDown,
    #[error("storage is unavailable: {0}")]
    Store(#[from] StoreError),
}

impl NodeError {
    /// Stable, machine-readable code. Clients branch on it; it never changes meaning.
    pub fn code(&self) -> RefusalCode {
        let code = match self {
            Self::EmptyBatch => NodeCode::PublishEmptyBatch,
            Self::BatchTooLarge { .. } => NodeCode::PublishBatchTooLarge,
            Self::EnvelopeTooLarge { .. } => NodeCode::EnvelopeTooLarge,
            Self::MalformedEnvelope { .. } => return IdentityCode::EnvelopeMalformed.into(),
            Self::Topic { source, .. } => return source.code().into(),
            Self::PayloadTopicMismatch { .. } => NodeCode::PayloadTopicMismatch,
            Self::InvalidMlsMessage { .. } => NodeCode::InvalidMlsMessage,
            Self::GroupIdMismatch { .. } => NodeCode::GroupIdMismatch,
            Self::InvalidKeyPackage { .. } => NodeCode::KeyPackageInvalid,
            Self::InstallationNotAssociated { .. } => NodeCode::KeyPackageNotAssociated,
            Self::Identity { source, .. } => return source.code().into(),
            Self::AddressInUse { .. } => NodeCode::AddressInUse,
            Self::InvalidRequest(_) => NodeCode::InvalidRequest,
            Self::IdentityLogFull { .. } => NodeCode::IdentityLogFull,
            Self::RateLimited { .. } => NodeCode::RateLimited,
            Self::SubscriptionLagged => NodeCode::SubscribeLagged,
            Self::TooManySubscriptions { .. } => NodeCode::SubscribeTooMany,
            Self::ShuttingDown => NodeCode::ShuttingDown,
            Self::Store(StoreError::Conflict(_)) => NodeCode::StoreConflict,
            Self::Store(_) => NodeCode::StoreUnavailable,
        };
        code.into()
    }

    /// Whether the same call can succeed later.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Identity { source, .. } => source.retryable(),
            Self::RateLimited { .. }
            | Self::SubscriptionLagged
            | Self::TooManySubscriptions { .. }
            | Self::ShuttingDown => true,
            Self::Store(_) => true,
            _ => false,
        }
    }

    /// Index of the refused item in the request (envelope, topic, address or key), if any.
    pub fn index(&self) -> Option<usize> {
        match self {
            Self::EnvelopeTooLarge { index, .. }
            | Self::MalformedEnvelope { index, .. }
            | Self::Topic { index, .. }
            | Self::PayloadTopicMismatch { index, .. }
            | Self::InvalidMlsMessage { index, .. }
            | Self::GroupIdMismatch { index, .. }
            | Self::InvalidKeyPackage { index, .. }
            | Self::InstallationNotAssociated { index, .. }
            | Self::Identity { index, .. }
            | Self::AddressInUse { index, .. }
            | Self::IdentityLogFull { index, .. } => Some(*index),
            _ => None,
        }
    }

    fn grpc_code(&self) -> Code {
        match self {
            Self::RateLimited { .. } | Self::TooManySubscriptions { .. } => Code::ResourceExhausted,
            Self::SubscriptionLagged => Code::Aborted,
            Self::ShuttingDown => Code::Unavailable,
            Self::Store(StoreError::Conflict(_)) => Code::Aborted,
            Self::Store(StoreError::Corrupt(_)) => Code::Internal,
            Self::Store(_) => Code::Unavailable,
            Self::Identity { source, .. } if source.retryable() => Code::Unavailable,
            Self::InstallationNotAssociated { .. } | Self::AddressInUse { .. } => {
                Code::FailedPrecondition
            }
            Self::Identity { source, .. } => match source.code() {
                IdentityCode::SignatureInvalid | IdentityCode::Unauthorized => {
                    Code::PermissionDenied
                }
                IdentityCode::SignatureReplayed | IdentityCode::InboxExists => Code::AlreadyExists,
                IdentityCode::InboxNotFound | IdentityCode::NotMember => Code::FailedPrecondition,
                _ => Code::InvalidArgument,
            },
            _ => Code::InvalidArgument,
        }
    }

    /// The detail message that travels in the status.
    pub fn detail(&self) -> ErrorDetail {
        ErrorDetail {
            code: self.code().as_str().to_owned(),
            retryable: self.retryable(),
            index: self.index().and_then(|i| u32::try_from(i).ok()),
        }
    }
}

impl From<NodeError> for Status {
    fn from(err: NodeError) -> Self {
        let detail = err.detail();
        Status::with_details(
            err.grpc_code(),
            format!("[{}] {err}", detail.code),
            detail.encode_to_vec().into(),
        )
    }
}

/// Reads the [`ErrorDetail`] an ARX node attached to a status, if it is there.
pub fn error_detail(status: &Status) -> Option<ErrorDetail> {
    ErrorDetail::decode(status.details())
        .ok()
        .filter(|d| !d.code.is_empty())
}
