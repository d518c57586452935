// Generated from the Rust types in src-tauri/src/dto.rs by `cargo test -p arx-messenger bindings` (ARX_UPDATE_BINDINGS=1 rewrites it). Do not edit.

export type Code = "identity.malformed" | "identity.inbox_id_mismatch" | "identity.inbox_exists" | "identity.inbox_not_found" | "identity.signature_invalid" | "identity.signature_replayed" | "identity.unauthorized" | "identity.not_member" | "identity.already_member" | "identity.too_many_installations" | "identity.too_many_wallets" | "identity.too_many_actions" | "identity.smart_wallet_unsupported" | "identity.chain_unavailable" | "topic.unknown_kind" | "topic.invalid_id" | "envelope.hash_mismatch" | "envelope.signature_invalid" | "envelope.malformed" | "publish.empty_batch" | "publish.batch_too_large" | "envelope.too_large" | "envelope.payload_topic_mismatch" | "mls.invalid_message" | "mls.group_id_mismatch" | "key_package.invalid" | "key_package.installation_not_associated" | "identity.address_in_use" | "identity.log_full" | "request.invalid" | "rate.limited" | "subscribe.lagged" | "subscribe.too_many" | "node.shutting_down" | "store.conflict" | "store.unavailable" | "core.data_dir" | "core.database" | "core.database_corrupt" | "core.state_conflict" | "core.not_registered" | "core.intent_failed" | "network.unreachable" | "network.invalid_answer" | "network.unknown_originator" | "identity.unavailable" | "network.unknown_refusal" | "wallet.signing_failed" | "identity.signature_mismatch" | "identity.not_on_arx" | "mls.storage" | "mls.operation_failed" | "mls.undecodable" | "mls.welcome_rejected" | "mls.invalid_credential" | "group.leaf_not_associated" | "group.commit_refused" | "group.invalid_settings" | "group.not_permitted" | "group.not_a_member" | "group.commit_in_flight" | "group.gave_up" | "group.key_package_unusable" | "dm.converging" | "dm.peer_unreachable" | "input.invalid" | "media.not_configured" | "media.too_large" | "media.too_many" | "media.unreadable" | "media.image_too_large" | "media.invalid_image" | "media.unavailable" | "media.digest_mismatch" | "media.decrypt_failed" | "media.invalid_attachment" | "media.io" | "app.internal" | "app.starting" | "app.settings" | "app.local_node" | "app.key_store" | "app.external_wallet" | "app.already_signed_in" | "app.open_link" | "app.ready_file" | "app.update_unreachable" | "app.update_manifest" | "app.update_signature" | "app.update_downgrade" | "app.update_install" | "app.update_busy" | "app.update_none" | "ui.unknown";

export type Commands = {
  app_info: { args: Record<string, never>; result: AppInfo };
  connection_state: { args: Record<string, never>; result: EngineEvent };
  create_builtin_account: { args: Record<string, never>; result: Account };
  import_builtin_key: { args: { privateKeyHex: string }; result: Account };
  begin_external_signin: { args: { address: string }; result: ExternalSigninRequest };
  complete_external_signin: { args: { requestId: string, signatureHex: string }; result: Account };
  list_conversations: { args: Record<string, never>; result: Array<ConversationView> };
  open_dm: { args: { peer: string }; result: ConversationView };
  create_group: { args: { name: string, members: Array<string> }; result: CreateGroupResult };
  add_members: { args: { conversationId: string, members: Array<string> }; result: AddMembersResult };
  remove_members: { args: { conversationId: string, members: Array<string> }; result: null };
  leave_group: { args: { conversationId: string }; result: null };
  group_members: { args: { conversationId: string }; result: Array<MemberView> };
  rename_group: { args: { conversationId: string, name: string }; result: null };
  list_messages: { args: { conversationId: string, beforeId: string | null, limit: number }; result: MessagePage };
  send_text: { args: { conversationId: string, text: string, markdown: boolean }; result: MessageView };
  retry_message: { args: { messageId: string }; result: null };
  mark_read: { args: { conversationId: string }; result: null };
  open_link: { args: { url: string }; result: null };
  ui_ready: { args: { marks: Array<StartupMark> }; result: null };
  set_notifications: { args: { enabled: boolean }; result: null };
  export_builtin_key: { args: Record<string, never>; result: string };
  list_devices: { args: Record<string, never>; result: Array<DeviceView> };
  revoke_device: { args: { installationId: string }; result: RevokeResult };
  begin_external_revoke: { args: { installationId: string }; result: ExternalSigninRequest };
  complete_external_revoke: { args: { requestId: string, signatureHex: string }; result: RevokeResult };
  set_network: { args: { network: NetworkSetting }; result: null };
  send_files: { args: { conversationId: string, paths: Array<string>, caption: string, transferId: string }; result: MessageView };
  send_pasted: { args: { conversationId: string, name: string, dataBase64: string, caption: string, transferId: string }; result: MessageView };
  open_image: { args: { messageId: string, index: number }; result: string };
  save_attachment: { args: { messageId: string, index: number }; result: string };
  reply: { args: { messageId: string, text: string, markdown: boolean }; result: MessageView };
  react: { args: { messageId: string, emoji: string, remove: boolean }; result: MessageView };
  edit_message: { args: { messageId: string, text: string, markdown: boolean }; result: MessageView };
  delete_message: { args: { messageId: string }; result: MessageView };
  list_requests: { args: Record<string, never>; result: Array<ConversationView> };
  accept_request: { args: { conversationId: string }; result: null };
  block_conversation: { args: { conversationId: string }; result: null };
  delete_request: { args: { conversationId: string }; result: null };
  set_ipfs_url: { args: { url: string | null }; result: null };
  group_settings: { args: { conversationId: string }; result: GroupSettingsView };
  set_group_description: { args: { conversationId: string, description: string }; result: null };
  set_group_image: { args: { conversationId: string, dataBase64: string }; result: null };
  clear_group_image: { args: { conversationId: string }; result: null };
  group_image: { args: { conversationId: string }; result: string | null };
  set_group_policies: { args: { conversationId: string, policies: PoliciesView }; result: null };
  set_member_role: { args: { conversationId: string, inboxId: string, role: Role }; result: null };
  set_disappearing: { args: { conversationId: string, seconds: number | null }; result: null };
  update_state: { args: Record<string, never>; result: UpdatesView };
  set_update_channel: { args: { channel: UpdateChannel }; result: UpdatesView };
  check_for_update: { args: Record<string, never>; result: UpdatesView };
  install_update: { args: Record<string, never>; result: UpdatesView };
  restart_to_update: { args: Record<string, never>; result: null };
  take_deep_link: { args: Record<string, never>; result: string | null };
};

export type ConversationKind = "dm" | "group";

export type DeliveryStatus = "sending" | "sent" | "failed";

export type Role = "super_admin" | "admin" | "member";

export type WalletKind = "builtin" | "external";

export type Account = { address: string, inboxId: string, installationId: string, walletKind: WalletKind, };

export type NetworkSetting = { "kind": "local" } | { "kind": "remote", url: string, };

export type AppInfo = { version: string, profile: string, network: NetworkSetting, account: Account | null, dataDir: string, logDir: string, 
/**
 * OS notifications for new messages.
 */
notifications: boolean, 
/**
 * The Kubo RPC URL files go through; `None`: the app's own IPFS daemon.
 */
ipfsUrl: string | null, };

export type ConnectionState = "connecting" | "online" | "offline";

export type AttachmentView = { 
/**
 * Its position in the message (for `open_attachment`, `save_attachment`).
 */
index: number, name: string, mimeType: string, size: number, width: number | null, height: number | null, 
/**
 * An image with dimensions: shown as a preview, opened in the viewer.
 */
isImage: boolean, 
/**
 * `data:image/jpeg;base64,...` of the inline thumbnail, checked by the engine.
 */
thumbnailDataUrl: string | null, };

export type ReactionView = { emoji: string, count: number, 
/**
 * This person reacted with it (clicking takes it back).
 */
mine: boolean, };

export type ReplyView = { 
/**
 * Its id when this device has it (to scroll to it).
 */
messageId: string | null, senderLabel: string, text: string, };

export type Consent = "unknown" | "allowed" | "denied";

export type TransferProgress = { transferId: string, done: number, total: number, };

export type PolicyView = "everyone" | "admins" | "super_admins";

export type PoliciesView = { addMembers: PolicyView, removeMembers: PolicyView, updateProfile: PolicyView, };

export type GroupSettingsView = { conversationId: string, isDm: boolean, name: string | null, description: string | null, hasImage: boolean, policies: PoliciesView, 
/**
 * Messages disappear this many seconds after they were sent (`null`: never).
 */
disappearAfterSecs: number | null, myRole: Role, 
/**
 * What this person may change now (from their role and the policies).
 */
canEditProfile: boolean, canAddMembers: boolean, canRemoveMembers: boolean, canManageAdmins: boolean, };

export type MessageView = { id: string, conversationId: string, senderInboxId: string, senderLabel: string, isMine: boolean, sentAtMs: number, status: DeliveryStatus, 
/**
 * The text; for a message with files, their caption (possibly empty).
 */
text: string, markdown: boolean, 
/**
 * The content type is unknown to this version: `text` holds the sender's fallback text.
 */
isFallback: boolean, attachments: Array<AttachmentView>, 
/**
 * Reactions, counted per emoji in the order first used.
 */
reactions: Array<ReactionView>, 
/**
 * The message this one answers.
 */
replyTo: ReplyView | null, 
/**
 * Edited by its sender (`text` is the latest version).
 */
edited: boolean, 
/**
 * Deleted by its sender for everyone (`text` says so; no files or reactions remain).
 */
deleted: boolean, 
/**
 * How many other members have read it (read ticks on own messages).
 */
readBy: number, 
/**
 * A line recorded for a change to the conversation (shown centred, without actions);
 * `text` says what changed.
 */
system: boolean, };

export type ConversationView = { id: string, kind: ConversationKind, 
/**
 * What to call it (made by the engine): the group's name, its first members' short
 * addresses, or the other person's short address for a DM.
 */
title: string, peerAddress: string | null, lastMessage: MessageView | null, lastActivityMs: number, unreadCount: number, myRole: Role, memberCount: number, consent: Consent, };

export type MemberView = { inboxId: string, address: string, 
/**
 * How the member is shown: the short wallet address (made by the engine).
 */
label: string, role: Role, isMe: boolean, };

export type AddFailure = { member: string, code: Code, message: string, };

export type MessagePage = { 
/**
 * Oldest first.
 */
messages: Array<MessageView>, hasMore: boolean, };

export type ExternalSigninRequest = { requestId: string, textToSign: string, };

export type DeviceView = { installationId: string, 
/**
 * The short form shown in lists.
 */
label: string, thisDevice: boolean, };

export type RevokeResult = { installationId: string, 
/**
 * Conversations it was removed from.
 */
removedFrom: number, 
/**
 * Conversations where that is still to happen (the next change there removes it).
 */
pending: number, };

export type CreateGroupResult = { conversation: ConversationView, failures: Array<AddFailure>, };

export type AddMembersResult = { failures: Array<AddFailure>, };

export type StartupMark = { name: string, ms: number, };

export type UpdateChannel = "stable" | "beta";

export type UpdateStatus = { "state": "idle" } | { "state": "checking" } | { "state": "upToDate" } | { "state": "available", version: string, notes: string | null, } | { "state": "downloading", version: string, received: number, 
/**
 * `null` when the server does not say the size.
 */
total: number | null, } | { "state": "installing", version: string, } | { "state": "ready", version: string, } | { "state": "manual", version: string, instructions: string, downloadUrl: string, } | { "state": "failed", code: Code, message: string, };

export type UpdatesView = { currentVersion: string, channel: UpdateChannel, status: UpdateStatus, 
/**
 * When the last check finished (milliseconds since 1970), if one has.
 */
lastCheckedMs: number | null, };

export type EngineEvent = { "kind": "message", message: MessageView, } | { "kind": "conversation", conversation: ConversationView, } | { "kind": "conversationRemoved", conversationId: string, } | { "kind": "connection", state: ConnectionState, detail: string | null, } | { "kind": "openConversation", conversationId: string, } | { "kind": "transfer", progress: TransferProgress, } | { "kind": "messagesRemoved", conversationId: string, messageIds: Array<string>, } | { "kind": "updates", updates: UpdatesView, } | { "kind": "linkWaiting" };

export type CommandError = { code: Code, message: string, retryable: boolean, };
