/**
 * An in-memory EngineApi for component tests. Never imported by production code.
 * It behaves like the engine where the UI can tell (paging, upserts, events) and lets a test
 * push events with `emit`.
 */
import {
  type Account,
  type AddMembersResult,
  type AppInfo,
  type AttachmentView,
  type ConversationView,
  type CreateGroupResult,
  type DeviceView,
  type EngineApi,
  EngineError,
  type EngineEvent,
  type EngineListener,
  type ExternalSigninRequest,
  type GroupSettingsView,
  type MemberView,
  type MessagePage,
  type MessageView,
  type NetworkSetting,
  type PoliciesView,
  type PolicyView,
  type RevokeResult,
  type Role,
  type StartupMark,
  type UpdateChannel,
  type UpdatesView,
} from "../engine/api";
import { FakeUpdater } from "./fakeUpdater";

export const ME: Account = {
  address: "0x1111111111111111111111111111111111111111",
  inboxId: "a".repeat(64),
  installationId: "b".repeat(64),
  walletKind: "builtin",
};

/** The account's other installation in the fake engine. */
export const OTHER_DEVICE = "e".repeat(64);

function deviceLabel(installationId: string): string {
  return `${installationId.slice(0, 8)}…${installationId.slice(-4)}`;
}

let sequence = 0;

export function makeMessage(overrides: Partial<MessageView> = {}): MessageView {
  sequence += 1;
  return {
    id: `m${sequence}`,
    conversationId: "c1",
    senderInboxId: "f".repeat(64),
    senderLabel: "0x2222…2222",
    isMine: false,
    sentAtMs: Date.now(),
    status: "sent",
    text: `message ${sequence}`,
    markdown: false,
    isFallback: false,
    attachments: [],
    reactions: [],
    replyTo: null,
    edited: false,
    deleted: false,
    readBy: 0,
    system: false,
    ...overrides,
  };
}

/** A 1×1 PNG, as the engine's thumbnails and opened images are data URLs. */
export const PIXEL_DATA_URL =
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

export function makeAttachment(overrides: Partial<AttachmentView> = {}): AttachmentView {
  return {
    index: 0,
    name: "report.pdf",
    mimeType: "application/pdf",
    size: 123_456,
    width: null,
    height: null,
    isImage: false,
    thumbnailDataUrl: null,
    ...overrides,
  };
}

export function makeImage(overrides: Partial<AttachmentView> = {}): AttachmentView {
  return makeAttachment({
    name: "photo.jpg",
    mimeType: "image/jpeg",
    size: 2_400_000,
    width: 1600,
    height: 1200,
    isImage: true,
    thumbnailDataUrl: PIXEL_DATA_URL,
    ...overrides,
  });
}

export function makeConversation(overrides: Partial<ConversationView> = {}): ConversationView {
  sequence += 1;
  return {
    id: `c${sequence}`,
    kind: "dm",
    // The engine names a DM by the other person's short address.
    title: "0x2222…2222",
    peerAddress: "0x2222222222222222222222222222222222222222",
    lastMessage: null,
    lastActivityMs: Date.now(),
    unreadCount: 0,
    myRole: "member",
    memberCount: 2,
    consent: "allowed",
    ...overrides,
  };
}

/** What the fake engine keeps of a conversation's settings (the rest comes from its view). */
export interface FakeSettings {
  description: string | null;
  /** The group image as a data URL. */
  image: string | null;
  policies: PoliciesView;
  disappearAfterSecs: number | null;
}

/** A new group's policies, as the engine makes them: admins do everything. */
export const DEFAULT_POLICIES: PoliciesView = {
  addMembers: "admins",
  removeMembers: "admins",
  updateProfile: "admins",
};

function allows(policy: PolicyView, role: Role): boolean {
  switch (policy) {
    case "everyone":
      return true;
    case "admins":
      return role !== "member";
    case "super_admins":
      return role === "super_admin";
  }
}

export class FakeEngine implements EngineApi {
  info: AppInfo = {
    version: "0.1.0",
    profile: "test",
    network: { kind: "local" },
    account: ME,
    dataDir: "/home/me/.local/share/arx",
    logDir: "/home/me/.local/share/arx/logs",
    notifications: true,
    ipfsUrl: null,
  };
  conversations = new Map<string, ConversationView>();
  messages = new Map<string, MessageView[]>();
  members = new Map<string, MemberView[]>();
  /** Settings by conversation id; a conversation without an entry has the defaults. */
  settings = new Map<string, FakeSettings>();
  /** The account's installations, this one first. */
  devices: DeviceView[] = [
    { installationId: ME.installationId, label: deviceLabel(ME.installationId), thisDevice: true },
    { installationId: OTHER_DEVICE, label: deviceLabel(OTHER_DEVICE), thisDevice: false },
  ];
  /** How many conversations a revocation leaves for their next change (`RevokeResult.pending`). */
  revokePending = 0;
  /** External revocations begun and not yet completed: request id → installation id. */
  private revokeRequests = new Map<string, string>();
  /** Codes that the next call of a method fails with. */
  failures = new Map<keyof EngineApi, EngineError>();
  private listeners = new Set<EngineListener>();
  private dropHandlers = new Set<(paths: string[]) => void>();
  /** Calls held until a test releases them (see `hold`). */
  private holds = new Map<keyof EngineApi, Promise<void>>();
  /** Where files were saved, in order. */
  readonly savedPaths: string[] = [];

  addConversation(conversation: ConversationView, messages: MessageView[] = []): void {
    this.conversations.set(conversation.id, conversation);
    this.messages.set(
      conversation.id,
      messages.map((m) => ({ ...m, conversationId: conversation.id })),
    );
  }

  emit(event: EngineEvent): void {
    for (const listener of [...this.listeners]) listener(event);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Files dropped on the window, as the shell reports them. */
  dropFiles(paths: string[]): void {
    for (const handler of [...this.dropHandlers]) handler(paths);
  }

  /**
   * The next call of `method` waits (after its progress events, before its answer) until the
   * returned function is called, so a test can see what the UI shows meanwhile.
   */
  hold(method: keyof EngineApi): () => void {
    let release: () => void = () => undefined;
    this.holds.set(
      method,
      new Promise<void>((resolve) => {
        release = resolve;
      }),
    );
    return () => release();
  }

  private async held(method: keyof EngineApi): Promise<void> {
    const gate = this.holds.get(method);
    if (gate !== undefined) {
      this.holds.delete(method);
      await gate;
    }
  }

  private progress(transferId: string, total: number): void {
    this.emit({ kind: "transfer", progress: { transferId, done: Math.floor(total / 2), total } });
  }

  /** The stored message `id` and its conversation's list. */
  private requireMessage(id: string): { list: MessageView[]; index: number; message: MessageView } {
    for (const list of this.messages.values()) {
      const index = list.findIndex((m) => m.id === id);
      const message = list[index];
      if (message !== undefined) return { list, index, message };
    }
    throw new EngineError("input.invalid", `no message ${id}`);
  }

  private replaceMessage(id: string, change: (m: MessageView) => MessageView): MessageView {
    const { list, index, message } = this.requireMessage(id);
    const next = change(message);
    list[index] = next;
    return next;
  }

  private mine(conversationId: string, overrides: Partial<MessageView>): MessageView {
    this.requireConversation(conversationId);
    const message = makeMessage({
      conversationId,
      isMine: true,
      status: "sent",
      senderInboxId: ME.inboxId,
      senderLabel: "You",
      ...overrides,
    });
    this.messages.get(conversationId)?.push(message);
    return message;
  }

  private setConsent(conversationId: string, consent: ConversationView["consent"]): void {
    const conversation = { ...this.requireConversation(conversationId), consent };
    this.conversations.set(conversationId, conversation);
    this.emit({ kind: "conversation", conversation });
  }

  private fail(method: keyof EngineApi): void {
    const error = this.failures.get(method);
    if (error !== undefined) {
      this.failures.delete(method);
      throw error;
    }
  }

  private requireConversation(id: string): ConversationView {
    const conversation = this.conversations.get(id);
    if (conversation === undefined) {
      throw new EngineError("input.invalid", `no conversation ${id}`);
    }
    return conversation;
  }

  async appInfo(): Promise<AppInfo> {
    this.fail("appInfo");
    return this.info;
  }
  async createBuiltinAccount(): Promise<Account> {
    this.fail("createBuiltinAccount");
    this.info = { ...this.info, account: ME };
    return ME;
  }
  async importBuiltinKey(_privateKeyHex: string): Promise<Account> {
    this.fail("importBuiltinKey");
    this.info = { ...this.info, account: ME };
    return ME;
  }
  async beginExternalSignin(address: string): Promise<ExternalSigninRequest> {
    this.fail("beginExternalSignin");
    return { requestId: "r1", textToSign: `ARX identity update\n\nWallet: ${address}` };
  }
  async completeExternalSignin(_requestId: string, _signatureHex: string): Promise<Account> {
    this.fail("completeExternalSignin");
    return { ...ME, walletKind: "external" };
  }
  async listConversations(): Promise<ConversationView[]> {
    this.fail("listConversations");
    return [...this.conversations.values()].filter((c) => c.consent === "allowed");
  }
  async openDm(peer: string): Promise<ConversationView> {
    this.fail("openDm");
    const title = `${peer.slice(0, 6)}…${peer.slice(-4)}`;
    const conversation = makeConversation({ title, peerAddress: peer });
    this.addConversation(conversation);
    return conversation;
  }
  async createGroup(name: string, members: string[]): Promise<CreateGroupResult> {
    this.fail("createGroup");
    const conversation = makeConversation({
      kind: "group",
      title: name,
      peerAddress: null,
      myRole: "super_admin",
      memberCount: members.length + 1,
    });
    this.addConversation(conversation);
    return { conversation, failures: [] };
  }
  async addMembers(_conversationId: string, _members: string[]): Promise<AddMembersResult> {
    this.fail("addMembers");
    return { failures: [] };
  }
  async removeMembers(conversationId: string, members: string[]): Promise<void> {
    this.fail("removeMembers");
    const list = this.members.get(conversationId) ?? [];
    this.members.set(
      conversationId,
      list.filter((m) => !members.includes(m.inboxId)),
    );
  }
  async leaveGroup(conversationId: string): Promise<void> {
    this.fail("leaveGroup");
    this.conversations.delete(conversationId);
  }
  async groupMembers(conversationId: string): Promise<MemberView[]> {
    this.fail("groupMembers");
    return this.members.get(conversationId) ?? [];
  }
  async renameGroup(conversationId: string, name: string): Promise<void> {
    this.fail("renameGroup");
    const conversation = this.requireConversation(conversationId);
    this.conversations.set(conversationId, { ...conversation, title: name });
  }
  private settingsOf(conversationId: string): FakeSettings {
    this.requireConversation(conversationId);
    let settings = this.settings.get(conversationId);
    if (settings === undefined) {
      settings = {
        description: null,
        image: null,
        policies: { ...DEFAULT_POLICIES },
        disappearAfterSecs: null,
      };
      this.settings.set(conversationId, settings);
    }
    return settings;
  }
  /** Reports a changed conversation, as the engine does after every change to its settings. */
  private changed(conversationId: string): void {
    const conversation = { ...this.requireConversation(conversationId) };
    this.conversations.set(conversationId, conversation);
    this.emit({ kind: "conversation", conversation });
  }
  private requireProfileEditor(conversationId: string): FakeSettings {
    const conversation = this.requireConversation(conversationId);
    const settings = this.settingsOf(conversationId);
    if (
      conversation.kind === "group" &&
      !allows(settings.policies.updateProfile, conversation.myRole)
    ) {
      throw new EngineError("group.not_permitted", "You may not change this group's profile.");
    }
    return settings;
  }
  private requireSuperAdmin(conversationId: string): void {
    const conversation = this.requireConversation(conversationId);
    if (conversation.kind !== "group" || conversation.myRole !== "super_admin") {
      throw new EngineError("group.not_permitted", "Only super admins may do that.");
    }
  }
  async groupSettings(conversationId: string): Promise<GroupSettingsView> {
    this.fail("groupSettings");
    const conversation = this.requireConversation(conversationId);
    const settings = this.settingsOf(conversationId);
    const isDm = conversation.kind === "dm";
    const role = conversation.myRole;
    return {
      conversationId,
      isDm,
      name: isDm ? null : conversation.title,
      description: settings.description,
      hasImage: settings.image !== null,
      policies: { ...settings.policies },
      disappearAfterSecs: settings.disappearAfterSecs,
      myRole: role,
      canEditProfile: isDm || allows(settings.policies.updateProfile, role),
      canAddMembers: !isDm && allows(settings.policies.addMembers, role),
      canRemoveMembers: !isDm && allows(settings.policies.removeMembers, role),
      canManageAdmins: !isDm && role === "super_admin",
    };
  }
  async setGroupDescription(conversationId: string, description: string): Promise<void> {
    this.fail("setGroupDescription");
    const settings = this.requireProfileEditor(conversationId);
    if (new TextEncoder().encode(description).length > 1024) {
      throw new EngineError("input.invalid", "a description of more than 1024 bytes");
    }
    settings.description = description.length > 0 ? description : null;
    this.changed(conversationId);
  }
  async setGroupImage(conversationId: string, dataBase64: string): Promise<void> {
    this.fail("setGroupImage");
    const settings = this.requireProfileEditor(conversationId);
    if (dataBase64.length === 0) throw new EngineError("media.invalid_image", "not an image");
    settings.image = PIXEL_DATA_URL;
    this.changed(conversationId);
  }
  async clearGroupImage(conversationId: string): Promise<void> {
    this.fail("clearGroupImage");
    this.requireProfileEditor(conversationId).image = null;
    this.changed(conversationId);
  }
  async groupImage(conversationId: string): Promise<string | null> {
    this.fail("groupImage");
    return this.settingsOf(conversationId).image;
  }
  async setGroupPolicies(conversationId: string, policies: PoliciesView): Promise<void> {
    this.fail("setGroupPolicies");
    this.requireSuperAdmin(conversationId);
    this.settingsOf(conversationId).policies = { ...policies };
    this.changed(conversationId);
  }
  async setMemberRole(conversationId: string, inboxId: string, role: Role): Promise<void> {
    this.fail("setMemberRole");
    this.requireSuperAdmin(conversationId);
    const list = this.members.get(conversationId) ?? [];
    const member = list.find((m) => m.inboxId === inboxId);
    if (member === undefined) throw new EngineError("group.not_a_member", "not a member");
    const superAdmins = list.filter((m) => m.role === "super_admin").length;
    if (member.role === "super_admin" && role !== "super_admin" && superAdmins === 1) {
      throw new EngineError("group.invalid_settings", "A group needs at least one super admin.");
    }
    this.members.set(
      conversationId,
      list.map((m) => (m.inboxId === inboxId ? { ...m, role } : m)),
    );
    if (member.isMe) {
      const conversation = this.requireConversation(conversationId);
      this.conversations.set(conversationId, { ...conversation, myRole: role });
    }
    this.changed(conversationId);
  }
  async setDisappearing(conversationId: string, seconds: number | null): Promise<void> {
    this.fail("setDisappearing");
    const settings = this.requireProfileEditor(conversationId);
    if (seconds !== null && (seconds < 10 || seconds > 366 * 86_400)) {
      throw new EngineError("input.invalid", "a disappearing timer is from 10 seconds to a year");
    }
    settings.disappearAfterSecs = seconds;
    this.changed(conversationId);
  }
  async listMessages(
    conversationId: string,
    beforeId: string | null,
    limit: number,
  ): Promise<MessagePage> {
    this.fail("listMessages");
    const all = this.messages.get(conversationId) ?? [];
    const end = beforeId === null ? all.length : all.findIndex((m) => m.id === beforeId);
    const stop = end < 0 ? all.length : end;
    const start = Math.max(0, stop - limit);
    return { messages: all.slice(start, stop), hasMore: start > 0 };
  }
  async sendText(conversationId: string, text: string, markdown: boolean): Promise<MessageView> {
    this.fail("sendText");
    this.requireConversation(conversationId);
    const message = makeMessage({
      conversationId,
      text,
      markdown,
      isMine: true,
      status: "sending",
      senderInboxId: ME.inboxId,
      senderLabel: "You",
    });
    this.messages.get(conversationId)?.push(message);
    return message;
  }
  async retryMessage(_messageId: string): Promise<void> {
    this.fail("retryMessage");
  }
  async sendFiles(
    conversationId: string,
    paths: string[],
    caption: string,
    transferId: string,
  ): Promise<MessageView> {
    this.fail("sendFiles");
    this.progress(transferId, 1_000_000);
    await this.held("sendFiles");
    const attachments = paths.map((path, index) =>
      makeAttachment({
        index,
        name: path.split("/").pop() ?? path,
        mimeType: "application/octet-stream",
      }),
    );
    return this.mine(conversationId, { text: caption, attachments });
  }
  async sendPasted(
    conversationId: string,
    name: string,
    dataBase64: string,
    caption: string,
    transferId: string,
  ): Promise<MessageView> {
    this.fail("sendPasted");
    const size = Math.floor((dataBase64.length * 3) / 4);
    this.progress(transferId, size);
    await this.held("sendPasted");
    const image = /\.(png|jpe?g|gif|webp)$/i.test(name);
    const attachment = image
      ? makeImage({ name, size, width: 640, height: 480 })
      : makeAttachment({ name, size, mimeType: "application/octet-stream" });
    return this.mine(conversationId, { text: caption, attachments: [attachment] });
  }
  async openImage(messageId: string, index: number): Promise<string> {
    this.fail("openImage");
    const { message } = this.requireMessage(messageId);
    const attachment = message.attachments[index];
    if (attachment === undefined || !attachment.isImage) {
      throw new EngineError("input.invalid", "this file is not an image");
    }
    this.progress(`${messageId}/${index}`, attachment.size);
    await this.held("openImage");
    return PIXEL_DATA_URL;
  }
  async saveAttachment(messageId: string, index: number): Promise<string> {
    this.fail("saveAttachment");
    const { message } = this.requireMessage(messageId);
    const attachment = message.attachments[index];
    if (attachment === undefined) throw new EngineError("input.invalid", "no such file");
    this.progress(`${messageId}/${index}`, attachment.size);
    await this.held("saveAttachment");
    const taken = this.savedPaths.filter((p) => p.includes(attachment.name)).length;
    const name = taken === 0 ? attachment.name : `${attachment.name} (${taken + 1})`;
    const path = `/home/me/Downloads/${name}`;
    this.savedPaths.push(path);
    return path;
  }
  async reply(messageId: string, text: string, markdown: boolean): Promise<MessageView> {
    this.fail("reply");
    const { message } = this.requireMessage(messageId);
    return this.mine(message.conversationId, {
      text,
      markdown,
      replyTo: { messageId, senderLabel: message.senderLabel, text: message.text },
    });
  }
  async react(messageId: string, emoji: string, remove: boolean): Promise<MessageView> {
    this.fail("react");
    return this.replaceMessage(messageId, (m) => {
      const existing = m.reactions.find((r) => r.emoji === emoji);
      let reactions = m.reactions;
      if (remove && existing?.mine) {
        reactions = m.reactions
          .map((r) => (r.emoji === emoji ? { ...r, count: r.count - 1, mine: false } : r))
          .filter((r) => r.count > 0);
      } else if (!remove && existing === undefined) {
        reactions = [...m.reactions, { emoji, count: 1, mine: true }];
      } else if (!remove && existing !== undefined && !existing.mine) {
        reactions = m.reactions.map((r) =>
          r.emoji === emoji ? { ...r, count: r.count + 1, mine: true } : r,
        );
      }
      return { ...m, reactions };
    });
  }
  async editMessage(messageId: string, text: string, markdown: boolean): Promise<MessageView> {
    this.fail("editMessage");
    return this.replaceMessage(messageId, (m) => ({ ...m, text, markdown, edited: true }));
  }
  async deleteMessage(messageId: string): Promise<MessageView> {
    this.fail("deleteMessage");
    return this.replaceMessage(messageId, (m) => ({
      ...m,
      text: "",
      attachments: [],
      reactions: [],
      deleted: true,
    }));
  }
  async listRequests(): Promise<ConversationView[]> {
    this.fail("listRequests");
    return [...this.conversations.values()].filter((c) => c.consent === "unknown");
  }
  async acceptRequest(conversationId: string): Promise<void> {
    this.fail("acceptRequest");
    this.setConsent(conversationId, "allowed");
  }
  async blockConversation(conversationId: string): Promise<void> {
    this.fail("blockConversation");
    this.setConsent(conversationId, "denied");
  }
  async deleteRequest(conversationId: string): Promise<void> {
    this.fail("deleteRequest");
    this.setConsent(conversationId, "denied");
  }
  async setIpfsUrl(url: string | null): Promise<void> {
    this.fail("setIpfsUrl");
    this.info = { ...this.info, ipfsUrl: url };
  }
  async markRead(conversationId: string): Promise<void> {
    this.fail("markRead");
    const conversation = this.conversations.get(conversationId);
    if (conversation !== undefined) {
      this.conversations.set(conversationId, { ...conversation, unreadCount: 0 });
    }
  }
  async setNetwork(network: NetworkSetting): Promise<void> {
    this.fail("setNetwork");
    this.info = { ...this.info, network };
  }
  async setNotifications(enabled: boolean): Promise<void> {
    this.fail("setNotifications");
    this.info = { ...this.info, notifications: enabled };
  }
  async exportBuiltinKey(): Promise<string> {
    this.fail("exportBuiltinKey");
    return `0x${"ab".repeat(32)}`;
  }
  async listDevices(): Promise<DeviceView[]> {
    this.fail("listDevices");
    return [...this.devices];
  }
  async revokeDevice(installationId: string): Promise<RevokeResult> {
    this.fail("revokeDevice");
    return this.revoke(this.requireRevocable(installationId));
  }
  async beginExternalRevoke(installationId: string): Promise<ExternalSigninRequest> {
    this.fail("beginExternalRevoke");
    this.requireRevocable(installationId);
    const requestId = `revoke-${this.revokeRequests.size + 1}`;
    this.revokeRequests.set(requestId, installationId);
    return {
      requestId,
      textToSign: `ARX identity update\n\nRevoke installation: ${installationId}`,
    };
  }
  async completeExternalRevoke(requestId: string, _signatureHex: string): Promise<RevokeResult> {
    this.fail("completeExternalRevoke");
    const installationId = this.revokeRequests.get(requestId);
    if (installationId === undefined) {
      throw new EngineError("input.invalid", `no revocation request ${requestId}`);
    }
    this.revokeRequests.delete(requestId);
    return this.revoke(this.requireRevocable(installationId));
  }
  private requireRevocable(installationId: string): DeviceView {
    const device = this.devices.find((d) => d.installationId === installationId);
    if (device === undefined) {
      throw new EngineError("input.invalid", `no installation ${installationId} on this account`);
    }
    if (device.thisDevice) {
      throw new EngineError("input.invalid", "This installation cannot revoke itself.");
    }
    return device;
  }
  private revoke(device: DeviceView): RevokeResult {
    this.devices = this.devices.filter((d) => d !== device);
    return {
      installationId: device.installationId,
      removedFrom: this.conversations.size,
      pending: this.revokePending,
    };
  }
  /** Links the UI asked to open, in order. */
  readonly openedLinks: string[] = [];
  async openLink(url: string): Promise<void> {
    this.fail("openLink");
    this.openedLinks.push(url);
  }
  /** `arx://` links waiting for the UI, oldest first (a string that is not a peer fails). */
  links: string[] = [];
  async takeDeepLink(): Promise<string | null> {
    this.fail("takeDeepLink");
    const link = this.links.shift();
    if (link === undefined) return null;
    const peer = /^arx:\/\/dm\/(0x[0-9a-fA-F]{40})$/.exec(link)?.[1];
    if (peer === undefined) {
      throw new EngineError("input.invalid", `"${link}" is not a link ARX opens`);
    }
    return peer;
  }
  readonly updater = new FakeUpdater((event) => this.emit(event));
  async updateState(): Promise<UpdatesView> {
    this.fail("updateState");
    return this.updater.state();
  }
  async setUpdateChannel(channel: UpdateChannel): Promise<UpdatesView> {
    this.fail("setUpdateChannel");
    return this.updater.setChannel(channel);
  }
  async checkForUpdate(): Promise<UpdatesView> {
    this.fail("checkForUpdate");
    return this.updater.check();
  }
  async installUpdate(): Promise<UpdatesView> {
    this.fail("installUpdate");
    return this.updater.install();
  }
  async restartToUpdate(): Promise<void> {
    this.fail("restartToUpdate");
    this.updater.restart();
  }
  readyCalls = 0;
  async uiReady(_marks: StartupMark[]): Promise<void> {
    this.readyCalls += 1;
  }
  subscribe(listener: EngineListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
  onFileDrop(handler: (paths: string[]) => void): () => void {
    this.dropHandlers.add(handler);
    return () => {
      this.dropHandlers.delete(handler);
    };
  }
}
