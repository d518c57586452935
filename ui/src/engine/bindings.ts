// Generated from the Rust types in src-tauri/src/dto.rs by `cargo test -p arx-messenger bindings` (ARX_UPDATE_BINDINGS=1 rewrites it). Do not edit.

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
notifications: boolean, };

export type ConnectionState = "connecting" | "online" | "offline";

export type MessageView = { id: string, conversationId: string, senderInboxId: string, senderLabel: string, isMine: boolean, sentAtMs: number, status: DeliveryStatus, text: string, markdown: boolean, 
/**
 * The content type is unknown to this version: `text` holds the sender's fallback text.
 */
isFallback: boolean, };

export type ConversationView = { id: string, kind: ConversationKind, 
/**
 * The group name, or the peer's address for a DM.
 */
title: string, peerAddress: string | null, lastMessage: MessageView | null, lastActivityMs: number, unreadCount: number, myRole: Role, memberCount: number, };

export type MemberView = { inboxId: string, address: string, role: Role, isMe: boolean, };

export type AddFailure = { member: string, code: string, message: string, };

export type MessagePage = { 
/**
 * Oldest first.
 */
messages: Array<MessageView>, hasMore: boolean, };

export type ExternalSigninRequest = { requestId: string, textToSign: string, };

export type CreateGroupResult = { conversation: ConversationView, failures: Array<AddFailure>, };

export type AddMembersResult = { failures: Array<AddFailure>, };

export type EngineEvent = { "kind": "message", message: MessageView, } | { "kind": "conversation", conversation: ConversationView, } | { "kind": "conversationRemoved", conversationId: string, } | { "kind": "connection", state: ConnectionState, detail: string | null, } | { "kind": "openConversation", conversationId: string, };

export type CommandError = { code: string, message: string, retryable: boolean, };
