#![doc = include_str!("../README.md")]

pub mod client;
pub mod conversations;
pub mod error;
pub mod intents;
pub mod metadata;
pub mod mls;
mod store;
pub mod stream;
pub mod transport;
pub mod wallet;

pub use client::{Client, Registration};
pub use conversations::{Conversation, CreatedGroup, Delivery, StoredMessage, SyncSummary};
pub use error::CoreError;
pub use intents::IntentState;
pub use metadata::{GroupMetadata, Role};
pub use stream::StreamEvent;
pub use transport::{GrpcTransport, NodeIdentity, Transport};
pub use wallet::{verify_wallet_signature, LocalWalletSigner, WalletSigner};
