/**
 * The engine contract as the UI sees it: plain TypeScript, no Tauri.
 *
 * Components receive an `EngineApi` through React context (see `context.tsx`); the Tauri adapter
 * (`tauri.ts`) is the only implementation that reaches Rust. The engine owns the truth: the UI
 * renders what these calls return and updates itself from `EngineEvent`s.
 */

// The data shapes are generated from the Rust types of the shell (src-tauri/src/dto.rs), so the
// two sides cannot drift; a Rust test fails when this generated file is stale.
export type {
  Account,
  AddFailure,
  AddMembersResult,
  AppInfo,
  AttachmentView,
  Code,
  ConnectionState,
  Consent,
  ConversationKind,
  ConversationView,
  CreateGroupResult,
  DeliveryStatus,
  DeviceView,
  EngineEvent,
  ExternalSigninRequest,
  GroupSettingsView,
  MemberView,
  MessagePage,
  MessageView,
  NetworkSetting,
  PoliciesView,
  PolicyView,
  ReactionView,
  ReplyView,
  RevokeResult,
  Role,
  StartupMark,
  TransferProgress,
  UpdateChannel,
  UpdateStatus,
  UpdatesView,
  WalletKind,
} from "./bindings";

import type {
  Account,
  AddMembersResult,
  AppInfo,
  Code,
  ConversationView,
  CreateGroupResult,
  DeviceView,
  EngineEvent,
  ExternalSigninRequest,
  GroupSettingsView,
  MemberView,
  MessagePage,
  MessageView,
  NetworkSetting,
  PoliciesView,
  RevokeResult,
  Role,
  StartupMark,
  UpdateChannel,
  UpdatesView,
} from "./bindings";

export type EngineListener = (event: EngineEvent) => void;

/** The most a pasted or picked file may weigh (`sendPasted`); larger files go by path. */
export const MAX_PASTED_BYTES = 25 * 1024 * 1024;

export interface EngineApi {
  appInfo(): Promise<AppInfo>;
  createBuiltinAccount(): Promise<Account>;
  importBuiltinKey(privateKeyHex: string): Promise<Account>;
  beginExternalSignin(address: string): Promise<ExternalSigninRequest>;
  /** The engine verifies the signature before publishing; a wrong one fails with `identity.signature_mismatch`. */
  completeExternalSignin(requestId: string, signatureHex: string): Promise<Account>;
  listConversations(): Promise<ConversationView[]>;
  /** `peer` is a 0x wallet address or an inbox id; an unregistered peer fails with `identity.not_on_arx`. */
  openDm(peer: string): Promise<ConversationView>;
  createGroup(name: string, members: string[]): Promise<CreateGroupResult>;
  addMembers(conversationId: string, members: string[]): Promise<AddMembersResult>;
  removeMembers(conversationId: string, members: string[]): Promise<void>;
  leaveGroup(conversationId: string): Promise<void>;
  groupMembers(conversationId: string): Promise<MemberView[]>;
  renameGroup(conversationId: string, name: string): Promise<void>;
  /**
   * A conversation's settings (a DM's too: its disappearing timer) and what this person may
   * change. A change by anyone arrives as a conversation event (and a system line).
   */
  groupSettings(conversationId: string): Promise<GroupSettingsView>;
  setGroupDescription(conversationId: string, description: string): Promise<void>;
  /** Sets the group image from an image file's bytes (base64); the engine re-encodes it. */
  setGroupImage(conversationId: string, dataBase64: string): Promise<void>;
  clearGroupImage(conversationId: string): Promise<void>;
  /** The group image as a `data:` URL (fetched through IPFS and checked), or null without one. */
  groupImage(conversationId: string): Promise<string | null>;
  /** Who may add members, remove members and edit the profile (super admins only). */
  setGroupPolicies(conversationId: string, policies: PoliciesView): Promise<void>;
  /** Makes a member a member, admin or super admin (super admins only). */
  setMemberRole(conversationId: string, inboxId: string, role: Role): Promise<void>;
  /**
   * Messages sent from now on disappear `seconds` after they were sent (10 s to a year), or
   * never (null). In a DM either person may; in a group whoever may edit the profile.
   */
  setDisappearing(conversationId: string, seconds: number | null): Promise<void>;
  listMessages(
    conversationId: string,
    beforeId: string | null,
    limit: number,
  ): Promise<MessagePage>;
  /**
   * Sends at once and returns the message as the attempt left it ("sent", or "failed" with the
   * engine sending it again later); a later change arrives as a message event.
   */
  sendText(conversationId: string, text: string, markdown: boolean): Promise<MessageView>;
  retryMessage(messageId: string): Promise<void>;
  /**
   * Sends files by their paths on this computer (dropped on the window) as one message with
   * `caption`; progress arrives as transfer events named `transferId`.
   */
  sendFiles(
    conversationId: string,
    paths: string[],
    caption: string,
    transferId: string,
  ): Promise<MessageView>;
  /** Sends one file given as bytes (base64, at most MAX_PASTED_BYTES): pasted or picked. */
  sendPasted(
    conversationId: string,
    name: string,
    dataBase64: string,
    caption: string,
    transferId: string,
  ): Promise<MessageView>;
  /**
   * Fetches and opens image `index` of a message: a `data:` URL. Progress arrives as transfer
   * events named `<messageId>/<index>` (see `attachmentTransferId`).
   */
  openImage(messageId: string, index: number): Promise<string>;
  /** Saves file `index` of a message into the Downloads folder (never over a file) and says where. */
  saveAttachment(messageId: string, index: number): Promise<string>;
  /** Answers a message; resolves to the new reply. */
  reply(messageId: string, text: string, markdown: boolean): Promise<MessageView>;
  /** Adds `emoji` to a message, or takes it back (`remove`); resolves to the message as it is now. */
  react(messageId: string, emoji: string, remove: boolean): Promise<MessageView>;
  /** Replaces the text of one of this person's messages; resolves to the message as edited. */
  editMessage(messageId: string, text: string, markdown: boolean): Promise<MessageView>;
  /** Deletes one of this person's messages for everyone; resolves to it, now `deleted`. */
  deleteMessage(messageId: string): Promise<MessageView>;
  /** Conversations waiting in Requests (consent "unknown"), most recently active first. */
  listRequests(): Promise<ConversationView[]>;
  /** Moves a request to the conversation list and allows whoever started it. */
  acceptRequest(conversationId: string): Promise<void>;
  /** Hides the conversation and everything else from its other person (a DM) or inviter. */
  blockConversation(conversationId: string): Promise<void>;
  /** Hides one request; its sender is neither allowed nor blocked. */
  deleteRequest(conversationId: string): Promise<void>;
  /** Files go through the Kubo RPC API at `url`, or the app's own IPFS node (null); the engine restarts. */
  setIpfsUrl(url: string | null): Promise<void>;
  markRead(conversationId: string): Promise<void>;
  /** The app restarts its engine on the new network. */
  setNetwork(network: NetworkSetting): Promise<void>;
  /** OS notifications for new messages while the window is not focused. */
  setNotifications(enabled: boolean): Promise<void>;
  /** The built-in wallet's private key (0x hex), for the person to back it up. */
  exportBuiltinKey(): Promise<string>;
  /** The account's installations (devices), this one first. */
  listDevices(): Promise<DeviceView[]>;
  /**
   * Revokes another installation of the account, signed with the built-in wallet: it is removed
   * from every conversation. Only the recovery wallet may revoke, and never this installation.
   */
  revokeDevice(installationId: string): Promise<RevokeResult>;
  /**
   * Starts revoking an installation when the account's wallet is external: the wallet must sign
   * `textToSign` exactly (as in the external sign-in), then `completeExternalRevoke` finishes.
   */
  beginExternalRevoke(installationId: string): Promise<ExternalSigninRequest>;
  /** The engine verifies the wallet's signature before publishing the revocation. */
  completeExternalRevoke(requestId: string, signatureHex: string): Promise<RevokeResult>;
  /** Opens an http(s) or mailto link in the system's browser or mail app. */
  openLink(url: string): Promise<void>;
  /**
   * The person an `arx://dm/…` link asked for (a wallet address or inbox id), once: null when no
   * link is waiting. A malformed link fails with `input.invalid`.
   */
  takeDeepLink(): Promise<string | null>;
  /** Settings → Updates: this version, the channel and where the updater is. */
  updateState(): Promise<UpdatesView>;
  /** Follows the other channel from the next check on (for every profile of this computer). */
  setUpdateChannel(channel: UpdateChannel): Promise<UpdatesView>;
  /** Asks the channel for a newer version; the answer is in the returned view. */
  checkForUpdate(): Promise<UpdatesView>;
  /**
   * Downloads the version the last check found, verifies its signature and installs it
   * (progress arrives as `updates` events); a refusal leaves the installed version as it was.
   */
  installUpdate(): Promise<UpdatesView>;
  /** Restarts ARX into the installed update. */
  restartToUpdate(): Promise<void>;
  /**
   * The first interactive screen is showing: logged with the time since the process started
   * and the page's start-up marks (`lib/startup.ts`).
   */
  uiReady(marks: StartupMark[]): Promise<void>;
  /** Registers a listener for engine events; the returned function removes it. */
  subscribe(listener: EngineListener): () => void;
  /** Calls `handler` with the paths of files dropped on the window; the returned function stops. */
  onFileDrop(handler: (paths: string[]) => void): () => void;
}

/** The transfer id of opening or saving file `index` of a message (its progress events). */
export function attachmentTransferId(messageId: string, index: number): string {
  return `${messageId}/${index}`;
}

/** Error codes the UI branches on. Other codes are shown with the engine's message. */
export const ErrorCode = {
  notOnArx: "identity.not_on_arx",
  signatureMismatch: "identity.signature_mismatch",
  /** Produced by the UI itself when the bridge returns something that is not a coded error. */
  unknown: "ui.unknown",
} as const satisfies Record<string, Code>;

/** A failed engine call: `code` is stable and is what the UI branches on; `message` is for people. */
export class EngineError extends Error {
  readonly code: Code;
  readonly retryable: boolean;

  constructor(code: Code, message: string, retryable = false) {
    super(message);
    this.name = "EngineError";
    this.code = code;
    this.retryable = retryable;
  }

  /** Converts whatever a bridge call rejected with into an EngineError. */
  static from(raw: unknown): EngineError {
    if (raw instanceof EngineError) return raw;
    if (typeof raw === "object" && raw !== null) {
      const record = raw as Record<string, unknown>;
      if (typeof record.code === "string") {
        const message = typeof record.message === "string" ? record.message : record.code;
        // The shell fails commands only with the generated codes (CommandError.code).
        return new EngineError(record.code as Code, message, record.retryable === true);
      }
      if (raw instanceof Error) return new EngineError(ErrorCode.unknown, raw.message);
    }
    if (typeof raw === "string" && raw.length > 0) return new EngineError(ErrorCode.unknown, raw);
    return new EngineError(ErrorCode.unknown, "Something went wrong in the engine.");
  }
}

export function isEngineError(value: unknown): value is EngineError {
  return value instanceof EngineError;
}
