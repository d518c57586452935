/**
 * The EngineApi over Tauri commands and events. This is the only module that imports
 * `@tauri-apps/*`; when the shell generates typed bindings (tauri-specta, `bindings.ts`), this
 * adapter switches to them and nothing else changes.
 */
import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type {
  Account,
  AddMembersResult,
  AppInfo,
  ConversationView,
  CreateGroupResult,
  EngineApi,
  EngineEvent,
  EngineListener,
  ExternalSigninRequest,
  MemberView,
  MessagePage,
  MessageView,
  NetworkSetting,
} from "./api";
import { EngineError } from "./api";

const EVENT_NAME = "engine-event";

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
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
    appInfo: () => call<AppInfo>("app_info"),
    createBuiltinAccount: () => call<Account>("create_builtin_account"),
    importBuiltinKey: (privateKeyHex) => call<Account>("import_builtin_key", { privateKeyHex }),
    beginExternalSignin: (address) =>
      call<ExternalSigninRequest>("begin_external_signin", { address }),
    completeExternalSignin: (requestId, signatureHex) =>
      call<Account>("complete_external_signin", { requestId, signatureHex }),
    listConversations: () => call<ConversationView[]>("list_conversations"),
    openDm: (peer) => call<ConversationView>("open_dm", { peer }),
    createGroup: (name, members) => call<CreateGroupResult>("create_group", { name, members }),
    addMembers: (conversationId, members) =>
      call<AddMembersResult>("add_members", { conversationId, members }),
    removeMembers: (conversationId, members) =>
      call<void>("remove_members", { conversationId, members }),
    leaveGroup: (conversationId) => call<void>("leave_group", { conversationId }),
    groupMembers: (conversationId) => call<MemberView[]>("group_members", { conversationId }),
    renameGroup: (conversationId, name) => call<void>("rename_group", { conversationId, name }),
    listMessages: (conversationId, beforeId, limit) =>
      call<MessagePage>("list_messages", { conversationId, beforeId, limit }),
    sendText: (conversationId, text, markdown) =>
      call<MessageView>("send_text", { conversationId, text, markdown }),
    retryMessage: (messageId) => call<void>("retry_message", { messageId }),
    markRead: (conversationId) => call<void>("mark_read", { conversationId }),
    setNetwork: (network: NetworkSetting) => call<void>("set_network", { network }),
    setNotifications: (enabled) => call<void>("set_notifications", { enabled }),
    exportBuiltinKey: () => call<string>("export_builtin_key"),
    openLink: (url) => call<void>("open_link", { url }),
    uiReady: () => call<void>("ui_ready"),
    subscribe(listener) {
      listeners.add(listener);
      // One Tauri listener feeds every UI listener; it is registered on first use.
      if (unlisten === null) {
        unlisten = listen<EngineEvent>(EVENT_NAME, (event) => dispatch(event.payload));
        // Events sent before the listener existed are gone: ask for the connection state now.
        void unlisten
          .then(() => call<EngineEvent>("connection_state"))
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
  };
}
