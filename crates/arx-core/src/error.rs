//! Engine errors, each with a stable code ([`ErrorCode`]) for the CLI and the app.

use arx_identity::{
    code_union, codes, EnvelopeError, IdentityCode, IdentityError, InboxId, InstallationKey,
    NodeCode,
};

codes! {
    /// The engine's own codes.
    pub enum CoreCode {
        DataDir = "core.data_dir": "The data directory cannot be used (permissions, a replaced key).",
        Database = "core.database": "The engine's local database failed (retryable).",
        DatabaseCorrupt = "core.database_corrupt":
            "The engine's database holds a value this version cannot read.",
        StateConflict = "core.state_conflict":
            "A stored intent, message or conversation was not in the state a change starts from.",
        NotRegistered = "core.not_registered": "This installation is not registered yet.",
        IntentFailed = "core.intent_failed": "A change to a group failed without a recorded reason.",
        NodeUnreachable = "network.unreachable": "The node cannot be reached (retryable).",
        NodeInvalidAnswer = "network.invalid_answer":
            "The node answered something this client cannot accept (a bad signature, a wrong count).",
        UnknownOriginator = "network.unknown_originator":
            "An envelope signed by a node this client does not trust.",
        IdentityUnavailable = "identity.unavailable":
            "Identity logs needed to check a commit or welcome could not be fetched (retryable).",
        NodeUnknownRefusal = "network.unknown_refusal":
            "The node refused with a code this version does not know.",
        WalletSigningFailed = "wallet.signing_failed": "The wallet could not sign.",
        SignatureMismatch = "identity.signature_mismatch":
            "A wallet signature made by another account, or over another text.",
        NotOnArx = "identity.not_on_arx": "No inbox belongs to this wallet address.",
        MlsStorage = "mls.storage": "The MLS state of a group could not be read or written.",
        MlsOperationFailed = "mls.operation_failed":
            "MLS could not build a message, commit, proposal or key package.",
        MlsUndecodable = "mls.undecodable": "An MLS message or welcome that cannot be decoded.",
        WelcomeRejected = "mls.welcome_rejected": "A welcome this installation cannot join from.",
        InvalidCredential = "mls.invalid_credential":
            "A group leaf whose credential does not name an inbox.",
        LeafNotAssociated = "group.leaf_not_associated":
            "A leaf whose installation is not associated with the inbox its credential names.",
        CommitRefused = "group.commit_refused":
            "A commit every member refuses (from outside the group, or changing a DM's members).",
        InvalidGroupSettings = "group.invalid_settings": "Group settings that cannot be read.",
        NotPermitted = "group.not_permitted": "The group's settings do not allow this member to do it.",
        NotAMember = "group.not_a_member": "This installation is no longer in the conversation.",
        CommitInFlight = "group.commit_in_flight":
            "A change to this group is still waiting for its echo (retryable).",
        GaveUp = "group.gave_up": "A change gave up after the group kept changing under it.",
        KeyPackageUnusable = "group.key_package_unusable":
            "An installation could not be added: no valid key package.",
        DmConverging = "dm.converging":
            "Both sides are creating the same DM; it is ready in a moment (retryable).",
        PeerUnreachable = "dm.peer_unreachable": "The other inbox has no installation to reach.",
        InvalidInput = "input.invalid": "An argument that is not valid (empty, too long, unknown).",
        MediaNotConfigured = "media.not_configured":
            "Files cannot be sent or opened: no IPFS daemon is set for this installation.",
    }
}

code_union! {
    /// Any code the engine reports: its own, a node's refusal, or an identity rule's.
    pub enum ErrorCode {
        Core(CoreCode),
        Node(NodeCode),
        Identity(IdentityCode),
        Media(arx_media::MediaCode),
    }
}

/// What went wrong in the engine.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("cannot use data directory {path}: {reason}")]
    DataDir { path: String, reason: String },
    #[error("local database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("local database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the engine database holds an unexpected {what}: {value:?}")]
    Corrupt { what: &'static str, value: String },
    #[error("{0} was not in the state this change starts from")]
    StateConflict(&'static str),
    #[error("this installation is not registered yet; run registration first")]
    NotRegistered,
    #[error("node {url} is unreachable: {reason}")]
    NodeUnreachable { url: String, reason: String },
    #[error("node refused the request [{code}]: {message}")]
    NodeRefused {
        code: RefusedCode,
        message: String,
        retryable: bool,
    },
    #[error("node sent an invalid answer: {0}")]
    NodeInvalid(String),
    #[error("envelope from originator {0}, which is not a trusted node")]
    UnknownOriginator(u32),
    /// Identity logs a check inside a write transaction needs fetched first (the caller rolls
    /// back, fetches them and applies again; see `identities`).
    #[error("identity logs of {} inboxes must be fetched first", .0.len())]
    IdentitiesNeeded(Vec<InboxId>),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error("the wallet could not sign: {0}")]
    Wallet(String),
    #[error("the signature was made by {signer}, not by the wallet {expected} (wrong account, or a different text was signed)")]
    SignatureMismatch { expected: String, signer: String },
    #[error("{0} is not on ARX yet (no inbox belongs to this wallet)")]
    NotOnArx(String),
    #[error("MLS state could not be read or written: {0}")]
    MlsStorage(String),
    #[error("MLS could not build it: {0}")]
    MlsOperation(String),
    #[error("undecodable MLS data: {0}")]
    MlsUndecodable(String),
    #[error("cannot join from this welcome: {0}")]
    WelcomeRejected(String),
    #[error("a leaf without a valid credential: {0}")]
    InvalidCredential(String),
    #[error("installation {installation} is not associated with inbox {inbox}")]
    LeafNotAssociated {
        installation: InstallationKey,
        inbox: InboxId,
    },
    #[error("commit refused: {0}")]
    CommitRefused(String),
    #[error("group settings cannot be read: {0}")]
    InvalidGroupSettings(String),
    #[error("not permitted: {0}")]
    NotPermitted(String),
    #[error("you are no longer a member of this conversation")]
    NotAMember,
    #[error("a change to this group is still in flight; sync and try again")]
    CommitInFlight,
    #[error("{message}")]
    IntentFailed { code: ErrorCode, message: String },
    #[error("the DM is being set up by both sides at once; try again in a moment")]
    DmConverging,
    #[error("inbox {0} has no installation that can be reached")]
    PeerUnreachable(InboxId),
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error(transparent)]
    Media(#[from] arx_media::MediaError),
    #[error("files cannot be sent or opened: no IPFS daemon is set (see Settings, or --ipfs)")]
    MediaNotConfigured,
}

/// A node's refusal code: one this version knows, or the string it sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefusedCode {
    Known(ErrorCode),
    Unknown(String),
}

impl RefusedCode {
    pub(crate) fn parse(code: String) -> Self {
        match ErrorCode::parse(&code) {
            Some(known) => Self::Known(known),
            None => Self::Unknown(code),
        }
    }
}

impl std::fmt::Display for RefusedCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Known(code) => code.fmt(f),
            Self::Unknown(code) => f.write_str(code),
        }
    }
}

impl CoreError {
    /// A stored value the engine cannot read (`what` names the column).
    pub(crate) fn corrupt(what: &'static str, value: impl Into<String>) -> Self {
        Self::Corrupt {
            what,
            value: value.into(),
        }
    }

    /// Stable, machine-readable code.
    pub fn code(&self) -> ErrorCode {
        let core = match self {
            Self::DataDir { .. } => CoreCode::DataDir,
            Self::Database(_) | Self::Migrate(_) => CoreCode::Database,
            Self::Corrupt { .. } => CoreCode::DatabaseCorrupt,
            Self::StateConflict(_) => CoreCode::StateConflict,
            Self::NotRegistered => CoreCode::NotRegistered,
            Self::NodeUnreachable { .. } => CoreCode::NodeUnreachable,
            Self::NodeRefused { code, .. } => match code {
                RefusedCode::Known(code) => return *code,
                RefusedCode::Unknown(_) => CoreCode::NodeUnknownRefusal,
            },
            Self::NodeInvalid(_) => CoreCode::NodeInvalidAnswer,
            Self::UnknownOriginator(_) => CoreCode::UnknownOriginator,
            Self::IdentitiesNeeded(_) => CoreCode::IdentityUnavailable,
            Self::Identity(e) => return e.code().into(),
            Self::Envelope(e) => return e.code().into(),
            Self::Wallet(_) => CoreCode::WalletSigningFailed,
            Self::SignatureMismatch { .. } => CoreCode::SignatureMismatch,
            Self::NotOnArx(_) => CoreCode::NotOnArx,
            Self::MlsStorage(_) => CoreCode::MlsStorage,
            Self::MlsOperation(_) => CoreCode::MlsOperationFailed,
            Self::MlsUndecodable(_) => CoreCode::MlsUndecodable,
            Self::WelcomeRejected(_) => CoreCode::WelcomeRejected,
            Self::InvalidCredential(_) => CoreCode::InvalidCredential,
            Self::LeafNotAssociated { .. } => CoreCode::LeafNotAssociated,
            Self::CommitRefused(_) => CoreCode::CommitRefused,
            Self::InvalidGroupSettings(_) => CoreCode::InvalidGroupSettings,
            Self::NotPermitted(_) => CoreCode::NotPermitted,
            Self::NotAMember => CoreCode::NotAMember,
            Self::CommitInFlight => CoreCode::CommitInFlight,
            Self::IntentFailed { code, .. } => return *code,
            Self::DmConverging => CoreCode::DmConverging,
            Self::PeerUnreachable(_) => CoreCode::PeerUnreachable,
            Self::InvalidInput(_) => CoreCode::InvalidInput,
            Self::Media(e) => return e.code().into(),
            Self::MediaNotConfigured => CoreCode::MediaNotConfigured,
        };
        core.into()
    }

    /// Whether retrying later can help.
    pub fn retryable(&self) -> bool {
        match self {
            Self::NodeUnreachable { .. } | Self::Database(_) | Self::IdentitiesNeeded(_) => true,
            Self::CommitInFlight | Self::DmConverging => true,
            Self::IntentFailed { code, .. } => *code == CoreCode::DmConverging.into(),
            Self::NodeRefused { retryable, .. } => *retryable,
            Self::Identity(e) => e.retryable(),
            Self::Media(e) => e.is_retryable(),
            _ => false,
        }
    }
}

impl CoreError {
    /// Whether this error stops a sync where it is, leaving the cursor before the envelope it
    /// hit: a transport or local failure that a later sync can get past. Anything else that
    /// fails on an envelope is the envelope's fault: it is skipped with its reason recorded.
    pub fn stops_sync(&self) -> bool {
        match self {
            Self::NodeUnreachable { .. }
            | Self::Database(_)
            | Self::Migrate(_)
            | Self::IdentitiesNeeded(_)
            | Self::MlsStorage(_) => true,
            Self::NodeRefused { retryable, .. } => *retryable,
            Self::Identity(e) => e.retryable(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_code_is_unique_across_all_lists_and_parses_back() {
        let mut seen = std::collections::BTreeSet::new();
        let all = CoreCode::ALL
            .iter()
            .map(|c| ErrorCode::from(*c))
            .chain(NodeCode::ALL.iter().map(|c| ErrorCode::from(*c)))
            .chain(IdentityCode::ALL.iter().map(|c| ErrorCode::from(*c)))
            .chain(
                arx_media::MediaCode::ALL
                    .iter()
                    .map(|c| ErrorCode::from(*c)),
            );
        for code in all {
            assert!(seen.insert(code.as_str()), "{code} is in two lists");
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
        assert_eq!(ErrorCode::parse("no.such_code"), None);
    }

    #[test]
    fn a_refusal_code_this_version_does_not_know_keeps_its_string() {
        let refused = CoreError::NodeRefused {
            code: RefusedCode::parse("future.code".into()),
            message: "later".into(),
            retryable: false,
        };
        assert_eq!(refused.code(), CoreCode::NodeUnknownRefusal.into());
        assert!(refused.to_string().contains("future.code"));
        let known = CoreError::NodeRefused {
            code: RefusedCode::parse("rate.limited".into()),
            message: "slow down".into(),
            retryable: true,
        };
        assert_eq!(known.code(), NodeCode::RateLimited.into());
    }
}
