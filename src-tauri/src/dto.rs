//! The shapes the UI sees (camelCase JSON). TypeScript declarations for them are generated into
//! `ui/src/engine/bindings.ts`; a test fails when the committed file is stale.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::CommandError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum ConversationKind {
    Dm,
    Group,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Sending,
    Sent,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    SuperAdmin,
    Admin,
    Member,
}

impl From<arx_core::Role> for Role {
    fn from(role: arx_core::Role) -> Self {
        match role {
            arx_core::Role::SuperAdmin => Self::SuperAdmin,
            arx_core::Role::Admin => Self::Admin,
            arx_core::Role::Member => Self::Member,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum WalletKind {
    Builtin,
    External,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub address: String,
    pub inbox_id: String,
    pub installation_id: String,
    pub wallet_kind: WalletKind,
}

/// "local" is "This computer": the app runs (or shares) an embedded node on loopback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum NetworkSetting {
    Local,
    Remote { url: String },
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub version: String,
    pub profile: String,
    pub network: NetworkSetting,
    pub account: Option<Account>,
    pub data_dir: String,
    pub log_dir: String,
    /// OS notifications for new messages.
    pub notifications: bool,
    /// The Kubo RPC URL files go through; `None`: the app's own IPFS daemon.
    pub ipfs_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionState {
    Connecting,
    Online,
    Offline,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    pub id: String,
    pub conversation_id: String,
    pub sender_inbox_id: String,
    pub sender_label: String,
    pub is_mine: bool,
    #[ts(type = "number")]
    pub sent_at_ms: i64,
    pub status: DeliveryStatus,
    /// The text; for a message with files, their caption (possibly empty).
    pub text: String,
    pub markdown: bool,
    /// The content type is unknown to this version: `text` holds the sender's fallback text.
    pub is_fallback: bool,
    pub attachments: Vec<AttachmentView>,
    /// Reactions, counted per emoji in the order first used.
    pub reactions: Vec<ReactionView>,
    /// The message this one answers.
    pub reply_to: Option<ReplyView>,
    /// Edited by its sender (`text` is the latest version).
    pub edited: bool,
    /// Deleted by its sender for everyone (`text` says so; no files or reactions remain).
    pub deleted: bool,
    /// How many other members have read it (read ticks on own messages).
    pub read_by: u32,
    /// A line recorded for a change to the conversation (shown centred, without actions);
    /// `text` says what changed.
    pub system: bool,
}

/// Who may make a kind of change to a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PolicyView {
    Everyone,
    Admins,
    SuperAdmins,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PoliciesView {
    pub add_members: PolicyView,
    pub remove_members: PolicyView,
    pub update_profile: PolicyView,
}

/// A conversation's settings as the group settings panel shows them.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GroupSettingsView {
    pub conversation_id: String,
    pub is_dm: bool,
    pub name: Option<String>,
    pub description: Option<String>,
    pub has_image: bool,
    pub policies: PoliciesView,
    /// Messages disappear this many seconds after they were sent (`null`: never).
    #[ts(type = "number | null")]
    pub disappear_after_secs: Option<u64>,
    pub my_role: Role,
    /// What this person may change now (from their role and the policies).
    pub can_edit_profile: bool,
    pub can_add_members: bool,
    pub can_remove_members: bool,
    pub can_manage_admins: bool,
}

/// A file of a message.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentView {
    /// Its position in the message (for `open_attachment`, `save_attachment`).
    pub index: u32,
    pub name: String,
    pub mime_type: String,
    #[ts(type = "number")]
    pub size: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// An image with dimensions: shown as a preview, opened in the viewer.
    pub is_image: bool,
    /// `data:image/jpeg;base64,...` of the inline thumbnail, checked by the engine.
    pub thumbnail_data_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReactionView {
    pub emoji: String,
    pub count: u32,
    /// This person reacted with it (clicking takes it back).
    pub mine: bool,
}

/// The quoted message of a reply.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReplyView {
    /// Its id when this device has it (to scroll to it).
    pub message_id: Option<String>,
    pub sender_label: String,
    pub text: String,
}

/// Where a conversation is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Consent {
    /// In Requests: someone not allowed started it or invited this person.
    Unknown,
    /// In the conversation list.
    Allowed,
    /// Hidden (blocked, or a deleted request).
    Denied,
}

/// A file transfer's progress (sending: its `transferId` from the UI; opening: the message
/// id and file index).
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TransferProgress {
    pub transfer_id: String,
    #[ts(type = "number")]
    pub done: u64,
    #[ts(type = "number")]
    pub total: u64,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConversationView {
    pub id: String,
    pub kind: ConversationKind,
    /// What to call it (made by the engine): the group's name, its first members' short
    /// addresses, or the other person's short address for a DM.
    pub title: String,
    pub peer_address: Option<String>,
    pub last_message: Option<MessageView>,
    #[ts(type = "number")]
    pub last_activity_ms: i64,
    pub unread_count: u32,
    pub my_role: Role,
    pub member_count: u32,
    pub consent: Consent,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    pub inbox_id: String,
    pub address: String,
    /// How the member is shown: the short wallet address (made by the engine).
    pub label: String,
    pub role: Role,
    pub is_me: bool,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AddFailure {
    pub member: String,
    #[ts(type = "Code")]
    pub code: crate::error::CommandCode,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MessagePage {
    /// Oldest first.
    pub messages: Vec<MessageView>,
    pub has_more: bool,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSigninRequest {
    pub request_id: String,
    pub text_to_sign: String,
}

/// One device (installation) of the account.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeviceView {
    pub installation_id: String,
    /// The short form shown in lists.
    pub label: String,
    pub this_device: bool,
}

/// What revoking a device did.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RevokeResult {
    pub installation_id: String,
    /// Conversations it was removed from.
    pub removed_from: u32,
    /// Conversations where that is still to happen (the next change there removes it).
    pub pending: u32,
}

impl From<&arx_core::Revoked> for RevokeResult {
    fn from(revoked: &arx_core::Revoked) -> Self {
        Self {
            installation_id: revoked.installation.to_string(),
            removed_from: u32::try_from(revoked.removed_from).unwrap_or(u32::MAX),
            pending: u32::try_from(revoked.failed.len()).unwrap_or(u32::MAX),
        }
    }
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CreateGroupResult {
    pub conversation: ConversationView,
    pub failures: Vec<AddFailure>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AddMembersResult {
    pub failures: Vec<AddFailure>,
}

/// Pushed to the UI on the `engine-event` channel.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum EngineEvent {
    /// A new message, or a known one whose status changed: upsert by id.
    Message { message: MessageView },
    /// A new or changed conversation: upsert by id.
    Conversation { conversation: ConversationView },
    /// The conversation is gone for this account (removed from the group, or left).
    #[serde(rename_all = "camelCase")]
    ConversationRemoved { conversation_id: String },
    Connection {
        state: ConnectionState,
        detail: Option<String>,
    },
    /// The person clicked an OS notification for this conversation.
    #[serde(rename_all = "camelCase")]
    OpenConversation { conversation_id: String },
    /// A file is being sent or opened.
    Transfer { progress: TransferProgress },
    /// Messages disappeared (their timer ran out): remove them.
    #[serde(rename_all = "camelCase")]
    MessagesRemoved {
        conversation_id: String,
        message_ids: Vec<String>,
    },
    /// The updater moved on (a check, download progress, an install, a failure).
    Updates { updates: UpdatesView },
    /// An `arx://` link arrived: the UI takes it with `take_deep_link`.
    LinkWaiting,
}

/// One step of the UI's start-up: milliseconds since the page began loading.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct StartupMark {
    pub name: String,
    pub ms: f64,
}

/// Which releases this installation follows: `stable` (published releases) or `beta` (every
/// release, pre-releases included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum UpdateChannel {
    #[default]
    Stable,
    Beta,
}

/// Where the updater is. Every failure leaves the installed version as it was.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum UpdateStatus {
    /// Nothing checked since the app started.
    Idle,
    Checking,
    /// The channel offers nothing newer.
    UpToDate,
    /// A newer version, ready to download.
    Available {
        version: String,
        notes: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    Downloading {
        version: String,
        #[ts(type = "number")]
        received: u64,
        /// `null` when the server does not say the size.
        #[ts(type = "number | null")]
        total: Option<u64>,
    },
    /// Downloaded and verified; being installed.
    Installing {
        version: String,
    },
    /// Installed: the next start runs it ("restart to update").
    Ready {
        version: String,
    },
    /// A newer version that this installation cannot put in place itself (a system package
    /// without administrator rights, a build from source): how to get it instead.
    #[serde(rename_all = "camelCase")]
    Manual {
        version: String,
        instructions: String,
        download_url: String,
    },
    Failed {
        #[ts(type = "Code")]
        code: crate::error::CommandCode,
        message: String,
    },
}

/// Settings → Updates.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct UpdatesView {
    pub current_version: String,
    pub channel: UpdateChannel,
    pub status: UpdateStatus,
    /// When the last check finished (milliseconds since 1970), if one has.
    #[ts(type = "number | null")]
    pub last_checked_ms: Option<u64>,
}

/// Every generated declaration, in the order they appear in `bindings.ts`.
pub fn typescript_bindings() -> String {
    let decls = [
        ConversationKind::decl(),
        DeliveryStatus::decl(),
        Role::decl(),
        WalletKind::decl(),
        Account::decl(),
        NetworkSetting::decl(),
        AppInfo::decl(),
        ConnectionState::decl(),
        AttachmentView::decl(),
        ReactionView::decl(),
        ReplyView::decl(),
        Consent::decl(),
        TransferProgress::decl(),
        PolicyView::decl(),
        PoliciesView::decl(),
        GroupSettingsView::decl(),
        MessageView::decl(),
        ConversationView::decl(),
        MemberView::decl(),
        AddFailure::decl(),
        MessagePage::decl(),
        ExternalSigninRequest::decl(),
        DeviceView::decl(),
        RevokeResult::decl(),
        CreateGroupResult::decl(),
        AddMembersResult::decl(),
        StartupMark::decl(),
        UpdateChannel::decl(),
        UpdateStatus::decl(),
        UpdatesView::decl(),
        EngineEvent::decl(),
        CommandError::decl(),
    ];
    let mut out = String::from(
        "// Generated from the Rust types in src-tauri/src/dto.rs by `cargo test -p \
         arx-messenger bindings` (ARX_UPDATE_BINDINGS=1 rewrites it). Do not edit.\n\n",
    );
    // Every code a command can fail with (see docs/CODES.md): a misspelt one fails the type check.
    let codes: Vec<String> = crate::error::CommandCode::all()
        .map(|(code, _)| format!("\"{code}\""))
        .collect();
    out.push_str(&format!("export type Code = {};\n\n", codes.join(" | ")));
    // Every command the UI calls, with its arguments and result (from `command!`).
    out.push_str("export type Commands = {\n");
    for command in crate::commands::signatures() {
        let args: Vec<String> = command
            .args
            .iter()
            .map(|(name, ts)| format!("{name}: {ts}"))
            .collect();
        let args = if args.is_empty() {
            "Record<string, never>".to_owned()
        } else {
            format!("{{ {} }}", args.join(", "))
        };
        out.push_str(&format!(
            "  {}: {{ args: {args}; result: {} }};\n",
            command.name, command.result
        ));
    }
    out.push_str("};\n\n");
    for decl in decls {
        out.push_str("export ");
        out.push_str(&decl);
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    /// The committed bindings match the Rust types (ARX_UPDATE_BINDINGS=1 rewrites them).
    #[test]
    fn bindings_are_up_to_date() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/src/engine/bindings.ts");
        let fresh = super::typescript_bindings();
        if std::env::var_os("ARX_UPDATE_BINDINGS").is_some() {
            std::fs::write(&path, &fresh).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == fresh,
            "ui/src/engine/bindings.ts is stale: run ARX_UPDATE_BINDINGS=1 cargo test -p arx-messenger bindings"
        );
    }
}
