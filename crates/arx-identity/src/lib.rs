#![doc = include_str!("../README.md")]

mod association;
pub mod codes;
mod envelope;
mod error;
mod inbox;
mod member;
pub mod secret_file;
mod serde_str;
mod signer;
mod smart_wallet;
mod topic;
mod update;

pub use association::{
    AssociationState, CheckedSignatures, Member, MAX_INSTALLATIONS, MAX_WALLETS,
};
pub use codes::{IdentityCode, NodeCode, RefusalCode};
pub use envelope::{
    client_envelope_hash, node_id_from_public_key, originator_signing_hash,
    verify_originator_envelope, NodeKey,
};
pub use error::{EnvelopeError, IdentityError};
pub use inbox::{Address, InboxId};
pub use member::{InstallationKey, MemberId};
pub use signer::{recover_eip191, InstallationSigner, LocalWallet};
pub use smart_wallet::{NoChainVerifier, SmartWalletVerifier};
pub use topic::{Topic, TopicKind, MAX_GROUP_ID_LEN};
pub use update::{
    Action, IdentityUpdate, Signature, UnsignedAction, UnsignedIdentityUpdate,
    MAX_ACTIONS_PER_UPDATE,
};
