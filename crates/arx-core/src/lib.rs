#![doc = include_str!("../README.md")]

pub mod client;
mod consent;
pub mod content;
pub mod conversation;
mod db;
mod devices;
pub mod dm;
pub mod error;
mod groups;
mod identities;
pub mod intents;
pub mod media;
mod membership;
pub mod messaging;
pub mod metadata;
pub mod mls;
pub mod model;
mod profile;
#[cfg(test)]
mod scenarios;
mod send;
pub mod stream;
mod sync;
pub mod system;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod transport;
pub mod view;
pub mod wallet;

pub use client::{Client, Registration};
pub use content::{AttachmentInfo, ContentId};
pub use conversation::ConversationHandle;
pub use db::skipped::SkippedEnvelope;
pub use db::{Consent, ConversationKind, ConversationState, Delivery, IntentState};
pub use devices::{Device, Revoked};
pub use error::{CoreCode, CoreError, ErrorCode, RefusedCode};
pub use media::FileSource;
pub use messaging::{EarlierVersion, ReactionCount};
pub use metadata::{GroupMetadata, Policies, Policy, Role};
pub use model::{Conversation, CreatedGroup, StoredMessage, SyncSummary, SystemLine};
pub use send::Outgoing;
pub use stream::StreamEvent;
pub use transport::{GrpcTransport, NodeIdentity, Timeouts, Transport, TransportOptions};
pub use view::{short_address, MemberOverview, MessageOverview, Overview, ReplyQuote};
pub use wallet::{verify_wallet_signature, LocalWalletSigner, WalletSigner};
