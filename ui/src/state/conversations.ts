import type { Consent, ConversationView, MessageView } from "../engine/api";

/**
 * Conversations as last reported by the engine, keyed by id: those of one place, the list
 * (consent "allowed") or Requests ("unknown"). A blocked or deleted one ("denied") is in neither.
 */
export type ConversationsState = ReadonlyMap<string, ConversationView>;

export type ConversationsAction =
  | { type: "loaded"; conversations: ConversationView[] }
  | { type: "upsert"; conversation: ConversationView }
  | { type: "removed"; conversationId: string }
  | { type: "message"; message: MessageView; activeConversationId: string | null }
  | { type: "read"; conversationId: string };

/** The reducer of the conversations whose consent is `place`; the others are taken out. */
function reducerOf(place: Consent) {
  return (state: ConversationsState, action: ConversationsAction): ConversationsState =>
    reduce(place, state, action);
}

/** The conversation list: consent "allowed". */
export const conversationsReducer = reducerOf("allowed");
/** Requests: conversations someone not (yet) allowed brought this person into. */
export const requestsReducer = reducerOf("unknown");

function reduce(
  place: Consent,
  state: ConversationsState,
  action: ConversationsAction,
): ConversationsState {
  switch (action.type) {
    case "loaded": {
      const next = new Map<string, ConversationView>();
      for (const conversation of action.conversations) {
        if (conversation.consent === place) next.set(conversation.id, conversation);
      }
      // Events that arrived while the list was loading are newer than the list.
      for (const [id, conversation] of state) {
        const loaded = next.get(id);
        if (loaded === undefined || loaded.lastActivityMs < conversation.lastActivityMs) {
          next.set(id, conversation);
        }
      }
      return next;
    }
    case "upsert": {
      const { conversation } = action;
      if (conversation.consent !== place) {
        return reduce(place, state, { type: "removed", conversationId: conversation.id });
      }
      const next = new Map(state);
      next.set(conversation.id, conversation);
      return next;
    }
    case "removed": {
      if (!state.has(action.conversationId)) return state;
      const next = new Map(state);
      next.delete(action.conversationId);
      return next;
    }
    case "message": {
      // Keeps the preview current between the engine's conversation events; a conversation
      // event that follows replaces the whole entry with the engine's numbers.
      const { message } = action;
      const conversation = state.get(message.conversationId);
      if (conversation === undefined) return state;
      const last = conversation.lastMessage;
      if (last !== null && last.id === message.id) {
        const next = new Map(state);
        next.set(conversation.id, { ...conversation, lastMessage: message });
        return next;
      }
      if (last !== null && last.sentAtMs > message.sentAtMs) return state;
      const unseen = !message.isMine && action.activeConversationId !== conversation.id;
      const next = new Map(state);
      next.set(conversation.id, {
        ...conversation,
        lastMessage: message,
        lastActivityMs: Math.max(conversation.lastActivityMs, message.sentAtMs),
        unreadCount: conversation.unreadCount + (unseen ? 1 : 0),
      });
      return next;
    }
    case "read": {
      const conversation = state.get(action.conversationId);
      if (conversation === undefined || conversation.unreadCount === 0) return state;
      const next = new Map(state);
      next.set(conversation.id, { ...conversation, unreadCount: 0 });
      return next;
    }
  }
}

/** Most recent activity first; ties broken by id so the order is stable. */
export function sortConversations(state: ConversationsState): ConversationView[] {
  return [...state.values()].sort(
    (a, b) => b.lastActivityMs - a.lastActivityMs || a.id.localeCompare(b.id),
  );
}

export function totalUnread(state: ConversationsState): number {
  let total = 0;
  for (const conversation of state.values()) total += conversation.unreadCount;
  return total;
}

/** Keeps conversations whose title or peer address contains `query` (case-insensitive). */
export function filterConversations(
  conversations: ConversationView[],
  query: string,
): ConversationView[] {
  const needle = query.trim().toLowerCase();
  if (needle.length === 0) return conversations;
  return conversations.filter(
    (c) =>
      c.title.toLowerCase().includes(needle) ||
      (c.peerAddress?.toLowerCase().includes(needle) ?? false),
  );
}

/** Inserts or replaces `message` in a list kept oldest first. */
export function upsertMessage(list: MessageView[], message: MessageView): MessageView[] {
  const index = list.findIndex((m) => m.id === message.id);
  if (index >= 0) {
    // A late "sending" (the send call's own answer) never undoes "sent" from an event.
    if (list[index]?.status === "sent" && message.status === "sending") return list;
    const next = list.slice();
    next[index] = message;
    return next;
  }
  const last = list[list.length - 1];
  if (last === undefined || last.sentAtMs <= message.sentAtMs) return [...list, message];
  let at = list.length;
  while (at > 0 && (list[at - 1]?.sentAtMs ?? 0) > message.sentAtMs) at -= 1;
  return [...list.slice(0, at), message, ...list.slice(at)];
}
