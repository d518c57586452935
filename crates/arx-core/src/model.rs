//! What the engine reports: conversations, messages, and what a sync or a group creation did.

use arx_identity::{InboxId, InstallationKey};

pub use crate::db::{Consent, ConversationKind, ConversationState, Delivery};

/// A conversation as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversation {
    pub group_id: Vec<u8>,
    pub kind: ConversationKind,
    pub name: Option<String>,
    /// For a DM, the other person's inbox.
    pub dm_peer: Option<InboxId>,
    pub last_activity_ns: i64,
    /// Whether this installation is still in it.
    pub state: ConversationState,
    /// Messages from others after the last one marked read.
    pub unread: i64,
    /// In the list, in Requests, or hidden.
    pub consent: Consent,
    /// The newest message, if any.
    pub last_message: Option<StoredMessage>,
}

/// A stored message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMessage {
    pub id: i64,
    pub group_id: Vec<u8>,
    /// The id its sender gave it (replies, reactions, edits and deletes name it by this).
    pub content_id: Option<crate::content::ContentId>,
    pub sender_inbox: InboxId,
    pub sender_installation: InstallationKey,
    pub type_id: String,
    /// The text of a text message; for other types, the fallback.
    pub text: String,
    /// Whether the text is markdown.
    pub markdown: bool,
    /// Whether `text` is the fallback of a content type this version cannot show.
    pub is_fallback: bool,
    /// Files (`text` is then their caption, possibly empty).
    pub attachments: Vec<crate::content::AttachmentInfo>,
    /// The message this one answers.
    pub reply_to: Option<crate::content::ContentId>,
    /// When its sender last edited it.
    pub edited_at_ns: Option<i64>,
    /// Deleted by its sender for everyone (`text` is then "This message was deleted").
    pub deleted: bool,
    /// A line this device recorded for a change to the conversation (never sent; `text`
    /// describes it, and views name the people in it).
    pub system: Option<SystemLine>,
    pub sent_at_ns: i64,
    pub delivery: Delivery,
}

/// Result of creating a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedGroup {
    pub group_id: Vec<u8>,
    /// Installations that could not be added, and why (the others were added).
    pub failed: Vec<(InstallationKey, String)>,
}

/// What a sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncSummary {
    pub groups_joined: usize,
    pub messages: usize,
    pub commits: usize,
    pub skipped: usize,
}

impl SyncSummary {
    pub(crate) fn add_counts(&mut self, other: &SyncSummary) {
        self.groups_joined += other.groups_joined;
        self.messages += other.messages;
        self.commits += other.commits;
        self.skipped += other.skipped;
    }
}

/// What a system line records: a change (`kind`: "added", "removed", "left", "renamed",
/// "description", "image", "roles", "policies", "timer"), its subjects and its value. Its
/// sender is whoever made the change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemLine {
    pub kind: String,
    pub subjects: Vec<InboxId>,
    pub value: String,
}
