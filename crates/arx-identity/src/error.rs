//! Errors of the identity and envelope rules, each with a stable code.

use crate::codes::IdentityCode;
use crate::inbox::InboxId;
use crate::member::MemberId;

/// Why an identity update, a member or a key was refused.
///
/// [`IdentityError::code`] is the stable code clients branch on; the message is for people.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// A field has the wrong length, is missing or cannot be parsed.
    #[error("malformed identity data: {0}")]
    Malformed(String),
    /// The update names a different inbox than the one it applies to or creates.
    #[error("inbox id mismatch: expected {expected}, got {actual}")]
    InboxIdMismatch {
        /// The inbox id the rules require.
        expected: InboxId,
        /// The inbox id the update names.
        actual: InboxId,
    },
    /// A `CreateInbox` action for an inbox that already exists.
    #[error("inbox {0} already exists")]
    InboxExists(InboxId),
    /// The first update of an identity log does not start by creating the inbox.
    #[error("inbox {0} does not exist: its first update must start with CreateInbox")]
    InboxNotFound(InboxId),
    /// A signature does not verify for the member whose slot it is in.
    #[error("invalid signature: {0}")]
    SignatureInvalid(String),
    /// A signature (or a whole update) that an earlier update of the log already used.
    #[error("signature replayed: {0}")]
    SignatureReplayed(String),
    /// The signer is a real signer but is not allowed to do this.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The action names a member the inbox does not have.
    #[error("{0} is not a member of the inbox")]
    NotMember(MemberId),
    /// The action adds a member the inbox already has.
    #[error("{0} is already a member of the inbox")]
    AlreadyMember(MemberId),
    /// Adding the installation would exceed [`crate::MAX_INSTALLATIONS`].
    #[error("an inbox may have at most {max} installations")]
    TooManyInstallations {
        /// The limit.
        max: usize,
    },
    /// Adding the wallet would exceed [`crate::MAX_WALLETS`].
    #[error("an inbox may have at most {max} wallets")]
    TooManyWallets {
        /// The limit.
        max: usize,
    },
    /// The update has more than [`crate::MAX_ACTIONS_PER_UPDATE`] actions.
    #[error("an identity update may have at most {max} actions, got {count}")]
    TooManyActions {
        /// Actions in the update.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A smart-contract wallet signature met a verifier without chain access.
    #[error("smart-contract wallets need a chain RPC")]
    SmartWalletUnsupported,
    /// The chain needed to check a smart-contract wallet signature could not be reached.
    #[error("chain unavailable: {0}")]
    ChainUnavailable(String),
}

impl IdentityError {
    /// The stable code of this error.
    pub fn code(&self) -> IdentityCode {
        match self {
            Self::Malformed(_) => IdentityCode::Malformed,
            Self::InboxIdMismatch { .. } => IdentityCode::InboxIdMismatch,
            Self::InboxExists(_) => IdentityCode::InboxExists,
            Self::InboxNotFound(_) => IdentityCode::InboxNotFound,
            Self::SignatureInvalid(_) => IdentityCode::SignatureInvalid,
            Self::SignatureReplayed(_) => IdentityCode::SignatureReplayed,
            Self::Unauthorized(_) => IdentityCode::Unauthorized,
            Self::NotMember(_) => IdentityCode::NotMember,
            Self::AlreadyMember(_) => IdentityCode::AlreadyMember,
            Self::TooManyInstallations { .. } => IdentityCode::TooManyInstallations,
            Self::TooManyWallets { .. } => IdentityCode::TooManyWallets,
            Self::TooManyActions { .. } => IdentityCode::TooManyActions,
            Self::SmartWalletUnsupported => IdentityCode::SmartWalletUnsupported,
            Self::ChainUnavailable(_) => IdentityCode::ChainUnavailable,
        }
    }

    /// Whether sending the same thing again later can succeed.
    pub fn retryable(&self) -> bool {
        matches!(self, Self::ChainUnavailable(_))
    }

    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        Self::Malformed(message.into())
    }
}

/// Why a topic or an originator envelope was refused.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// The topic kind is unspecified or not one this protocol version knows.
    #[error("unknown topic kind: {0}")]
    UnknownTopicKind(String),
    /// The topic id has the wrong length or encoding for its kind.
    #[error("invalid topic id: {0}")]
    InvalidTopicId(String),
    /// The envelope's `client_envelope_hash` is not the hash of its `client_envelope`.
    #[error("client envelope hash does not match the client envelope")]
    HashMismatch,
    /// The originator signature does not verify, or was made by another node.
    #[error("invalid originator signature: {0}")]
    SignatureInvalid(String),
    /// A field has the wrong length or is missing.
    #[error("malformed envelope: {0}")]
    Malformed(String),
}

impl EnvelopeError {
    /// The stable code of this error.
    pub fn code(&self) -> IdentityCode {
        match self {
            Self::UnknownTopicKind(_) => IdentityCode::TopicUnknownKind,
            Self::InvalidTopicId(_) => IdentityCode::TopicInvalidId,
            Self::HashMismatch => IdentityCode::EnvelopeHashMismatch,
            Self::SignatureInvalid(_) => IdentityCode::EnvelopeSignatureInvalid,
            Self::Malformed(_) => IdentityCode::EnvelopeMalformed,
        }
    }

    /// Whether sending the same thing again later can succeed (never, for these errors).
    pub fn retryable(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Address;

    #[test]
    fn identity_error_codes_are_stable_and_only_chain_outages_are_retryable() {
        let inbox = InboxId::derive(&Address::ZERO, 0);
        let member = MemberId::Wallet(Address::ZERO);
        let cases = [
            (IdentityError::Malformed("x".into()), "identity.malformed"),
            (
                IdentityError::InboxIdMismatch {
                    expected: inbox,
                    actual: inbox,
                },
                "identity.inbox_id_mismatch",
            ),
            (IdentityError::InboxExists(inbox), "identity.inbox_exists"),
            (
                IdentityError::InboxNotFound(inbox),
                "identity.inbox_not_found",
            ),
            (
                IdentityError::SignatureInvalid("x".into()),
                "identity.signature_invalid",
            ),
            (
                IdentityError::SignatureReplayed("x".into()),
                "identity.signature_replayed",
            ),
            (
                IdentityError::Unauthorized("x".into()),
                "identity.unauthorized",
            ),
            (IdentityError::NotMember(member), "identity.not_member"),
            (
                IdentityError::AlreadyMember(member),
                "identity.already_member",
            ),
            (
                IdentityError::TooManyInstallations { max: 10 },
                "identity.too_many_installations",
            ),
            (
                IdentityError::TooManyWallets { max: 10 },
                "identity.too_many_wallets",
            ),
            (
                IdentityError::TooManyActions { count: 17, max: 16 },
                "identity.too_many_actions",
            ),
            (
                IdentityError::SmartWalletUnsupported,
                "identity.smart_wallet_unsupported",
            ),
            (
                IdentityError::ChainUnavailable("x".into()),
                "identity.chain_unavailable",
            ),
        ];
        for (err, code) in cases {
            assert_eq!(err.code().as_str(), code);
            assert_eq!(
                err.retryable(),
                code == "identity.chain_unavailable",
                "{code}"
            );
        }
        assert_eq!(
            IdentityError::SmartWalletUnsupported.to_string(),
            "smart-contract wallets need a chain RPC"
        );
    }

    #[test]
    fn envelope_error_codes_are_stable_and_not_retryable() {
        let cases = [
            (
                EnvelopeError::UnknownTopicKind("x".into()),
                "topic.unknown_kind",
            ),
            (
                EnvelopeError::InvalidTopicId("x".into()),
                "topic.invalid_id",
            ),
            (EnvelopeError::HashMismatch, "envelope.hash_mismatch"),
            (
                EnvelopeError::SignatureInvalid("x".into()),
                "envelope.signature_invalid",
            ),
            (EnvelopeError::Malformed("x".into()), "envelope.malformed"),
        ];
        for (err, code) in cases {
            assert_eq!(err.code().as_str(), code);
            assert!(!err.retryable());
        }
    }
}
