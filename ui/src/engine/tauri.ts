/**
 * The EngineApi over Tauri commands and events. This is the only module that imports
 * `@tauri-apps/*`. Every command goes through `call`, typed by the `Commands` map that the shell
 * generates from its Rust commands (`bindings.ts`): a misspelt command, a missing or mistyped
 * argument, or a wrong result type fails the type check.
 */
import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import { getCurrentWebview } from "@tauri-apps/api/webview";
import type { EngineApi, EngineEvent, EngineListener } from "./api";
import { EngineError } from "./api";
import type { Commands } from "./bindings";

const EVENT_NAME = "engine-event";

/** A command's result as the UI sees it: a command that returns nothing resolves to void. */
type Result<K extends keyof Commands> = Commands[K]["result"] extends null
  ? undefined
  : Commands[K]["result"];

async function call<K extends keyof Commands>(
  command: K,
  args: Commands[K]["args"],
): Promise<Result<K>> {
  try {
    return await invoke<Result<K>>(command, args);
  } catch (raw) {
    throw EngineError.from(raw);
  }
}

export function createTauriEngine(): EngineApi {
  const listeners = new Set<EngineListener>();
  let unlisten: Promise<() => void> | null = null;

  const dispatch = (event: EngineEvent) => {
    for (const listener of [...listeners]) listener(event);
  };

  return {
    appInfo: () => call("app_info", {}),
    createBuiltinAccount: () => call("create_builtin_account", {}),
    importBuiltinKey: (privateKeyHex) => call("import_builtin_key", { privateKeyHex }),
    beginExternalSignin: (address) => call("begin_external_signin", { address }),
    completeExternalSignin: (requestId, signatureHex) =>
      call("complete_external_signin", { requestId, signatureHex }),
    listConversations: () => call("list_conversations", {}),
    openDm: (peer) => call("open_dm", { peer }),
    createGroup: (name, members) => call("create_group", { name, members }),
    addMembers: (conversationId, members) => call("add_members", { conversationId, members }),
    removeMembers: (conversationId, members) => call("remove_members", { conversationId, members }),
    leaveGroup: (conversationId) => call("leave_group", { conversationId }),
    groupMembers: (conversationId) => call("group_members", { conversationId }),
    renameGroup: (conversationId, name) => call("rename_group", { conversationId, name }),
    groupSettings: (conversationId) => call("group_settings", { conversationId }),
    setGroupDescription: (conversationId, description) =>
      call("set_group_description", { conversationId, description }),
    setGroupImage: (conversationId, dataBase64) =>
      call("set_group_image", { conversationId, dataBase64 }),
    clearGroupImage: (conversationId) => call("clear_group_image", { conversationId }),
    groupImage: (conversationId) => call("group_image", { conversationId }),
    setGroupPolicies: (conversationId, policies) =>
      call("set_group_policies", { conversationId, policies }),
    setMemberRole: (conversationId, inboxId, role) =>
      call("set_member_role", { conversationId, inboxId, role }),
    setDisappearing: (conversationId, seconds) =>
      call("set_disappearing", { conversationId, seconds }),
    listMessages: (conversationId, beforeId, limit) =>
      call("list_messages", { conversationId, beforeId, limit }),
    sendText: (conversationId, text, markdown) =>
      call("send_text", { conversationId, text, markdown }),
    retryMessage: (messageId) => call("retry_message", { messageId }),
    sendFiles: (conversationId, paths, caption, transferId) =>
      call("send_files", { conversationId, paths, caption, transferId }),
    sendPasted: (conversationId, name, dataBase64, caption, transferId) =>
      call("send_pasted", { conversationId, name, dataBase64, caption, transferId }),
    openImage: (messageId, index) => call("open_image", { messageId, index }),
    saveAttachment: (messageId, index) => call("save_attachment", { messageId, index }),
    reply: (messageId, text, markdown) => call("reply", { messageId, text, markdown }),
    react: (messageId, emoji, remove) => call("react", { messageId, emoji, remove }),
    editMessage: (messageId, text, markdown) => call("edit_message", { messageId, text, markdown }),
    deleteMessage: (messageId) => call("delete_message", { messageId }),
    listRequests: () => call("list_requests", {}),
    acceptRequest: (conversationId) => call("accept_request", { conversationId }),
    blockConversation: (conversationId) => call("block_conversation", { conversationId }),
    deleteRequest: (conversationId) => call("delete_request", { conversationId }),
    setIpfsUrl: (url) => call("set_ipfs_url", { url }),
    markRead: (conversationId) => call("mark_read", { conversationId }),
    setNetwork: (network) => call("set_network", { network }),
    setNotifications: (enabled) => call("set_notifications", { enabled }),
    exportBuiltinKey: () => call("export_builtin_key", {}),
    listDevices: () => call("list_devices", {}),
    revokeDevice: (installationId) => call("revoke_device", { installationId }),
    beginExternalRevoke: (installationId) => call("begin_external_revoke", { installationId }),
    completeExternalRevoke: (requestId, signatureHex) =>
      call("complete_external_revoke", { requestId, signatureHex }),
    openLink: (url) => call("open_link", { url }),
    uiReady: (marks) => call("ui_ready", { marks }),
    takeDeepLink: () => call("take_deep_link", {}),
    updateState: () => call("update_state", {}),
    setUpdateChannel: (channel) => call("set_update_channel", { channel }),
    checkForUpdate: () => call("check_for_update", {}),
    installUpdate: () => call("install_update", {}),
    restartToUpdate: () => call("restart_to_update", {}),
    subscribe(listener) {
      listeners.add(listener);
      // One Tauri listener feeds every UI listener; it is registered on first use.
      if (unlisten === null) {
        unlisten = listen<EngineEvent>(EVENT_NAME, (event) => dispatch(event.payload));
        // Events sent before the listener existed are gone: ask for the connection state now.
        void unlisten
          .then(() => call("connection_state", {}))
          .then(dispatch)
          .catch(() => undefined);
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && unlisten !== null) {
          const pending = unlisten;
          unlisten = null;
          void pending.then((stop) => stop());
        }
      };
    },
    onFileDrop(handler) {
      let stopped = false;
      const pending = getCurrentWebview().onDragDropEvent((event) => {
        if (!stopped && event.payload.type === "drop" && event.payload.paths.length > 0) {
          handler(event.payload.paths);
        }
      });
      // Without the webview (or its permission) nothing is ever dropped; that is all it means.
      pending.catch(() => undefined);
      return () => {
        stopped = true;
        void pending.then((stop) => stop()).catch(() => undefined);
      };
    },
  };
}
