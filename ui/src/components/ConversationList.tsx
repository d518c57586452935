import { type KeyboardEvent, useEffect, useRef, useState } from "react";
import type { ConversationView } from "../engine/api";
import { messageSummary, relativeTime } from "../lib/format";
import { filterConversations } from "../state/conversations";
import { Avatar } from "./Avatar";
import { DeliveryMark, StatusIcon } from "./MessageRow";

export interface ConversationListProps {
  /** The conversation list, or Requests (conversations waiting to be accepted). */
  kind: "conversations" | "requests";
  /** Already ordered by last activity. */
  conversations: ConversationView[];
  activeId: string | null;
  onSelect: (conversationId: string) => void;
  /** True until the engine answered the first time. */
  loading: boolean;
}

function preview(conversation: ConversationView): string {
  const last = conversation.lastMessage;
  if (last === null) return conversation.kind === "group" ? "New group" : "No messages yet";
  const text = messageSummary(last);
  const who = last.isMine ? "You: " : conversation.kind === "group" ? `${last.senderLabel}: ` : "";
  return `${who}${text}`;
}

/**
 * The searchable list of conversations. Arrow keys move between conversations, Enter or a click
 * opens one; Home/End jump to the ends.
 */
const WORDS = {
  conversations: {
    list: "Conversations",
    search: "Search conversations by name or address",
    empty: "No conversations yet. Start one with the pencil button.",
    listId: "conversation-list",
    itemId: "conversation-item",
  },
  requests: {
    list: "Message requests",
    search: "Search requests by name or address",
    empty:
      "No requests. When someone you have not accepted starts a conversation with you, it waits here.",
    listId: "request-list",
    itemId: "request-item",
  },
} as const;

export function ConversationList({
  kind,
  conversations,
  activeId,
  onSelect,
  loading,
}: ConversationListProps) {
  const words = WORDS[kind];
  const [query, setQuery] = useState("");
  const shown = filterConversations(conversations, query);
  const listRef = useRef<HTMLUListElement>(null);
  const [focusId, setFocusId] = useState<string | null>(activeId);

  useEffect(() => {
    if (activeId !== null) setFocusId(activeId);
  }, [activeId]);

  const rovingId =
    focusId !== null && shown.some((c) => c.id === focusId) ? focusId : (shown[0]?.id ?? null);

  const focusItem = (id: string) => {
    setFocusId(id);
    const items = listRef.current?.querySelectorAll<HTMLElement>("[data-conversation-id]") ?? [];
    for (const item of items) {
      if (item.dataset.conversationId === id) {
        item.querySelector<HTMLElement>(".conversation-button")?.focus();
      }
    }
  };

  const onKeyDown = (event: KeyboardEvent<HTMLUListElement>) => {
    const index = shown.findIndex((c) => c.id === rovingId);
    let next: ConversationView | undefined;
    if (event.key === "ArrowDown") next = shown[Math.min(shown.length - 1, index + 1)];
    else if (event.key === "ArrowUp") next = shown[Math.max(0, index - 1)];
    else if (event.key === "Home") next = shown[0];
    else if (event.key === "End") next = shown[shown.length - 1];
    else return;
    event.preventDefault();
    if (next !== undefined) focusItem(next.id);
  };

  return (
    <div className="conversation-list-wrap">
      <div className="search">
        <input
          type="search"
          className="search-input"
          aria-label={words.search}
          placeholder="Search"
          value={query}
          onChange={(event) => setQuery(event.target.value)}
          onKeyDown={(event) => {
            if (event.key === "Escape") setQuery("");
            if (event.key === "ArrowDown" && shown[0] !== undefined) {
              event.preventDefault();
              focusItem(shown[0].id);
            }
          }}
        />
      </div>
      {loading ? (
        <p className="list-note" role="status">
          Loading conversations…
        </p>
      ) : shown.length === 0 ? (
        <p className="list-note">
          {conversations.length === 0
            ? words.empty
            : `No ${kind === "requests" ? "request" : "conversation"} matches “${query.trim()}”.`}
        </p>
      ) : null}
      <ul
        ref={listRef}
        className="conversation-list"
        data-testid={words.listId}
        aria-label={words.list}
        onKeyDown={onKeyDown}
      >
        {shown.map((conversation) => {
          const title = conversation.title;
          const active = conversation.id === activeId;
          const unread = conversation.unreadCount;
          const last = conversation.lastMessage;
          return (
            <li
              key={conversation.id}
              className={`conversation-item${active ? " active" : ""}${unread > 0 ? " unread" : ""}`}
              data-testid={words.itemId}
              data-conversation-id={conversation.id}
            >
              <button
                type="button"
                className="conversation-button"
                tabIndex={conversation.id === rovingId ? 0 : -1}
                aria-current={active ? "true" : undefined}
                onClick={() => onSelect(conversation.id)}
                onFocus={() => setFocusId(conversation.id)}
              >
                <Avatar
                  seed={conversation.peerAddress ?? conversation.id}
                  label={title}
                  group={conversation.kind === "group"}
                />
                <span className="conversation-text">
                  <span className="conversation-top">
                    <span
                      className="conversation-title"
                      title={conversation.peerAddress ?? conversation.title}
                    >
                      {title}
                    </span>
                    <time
                      className="conversation-time"
                      dateTime={new Date(conversation.lastActivityMs).toISOString()}
                    >
                      {relativeTime(conversation.lastActivityMs)}
                    </time>
                  </span>
                  <span className="conversation-bottom">
                    <span className={`conversation-preview${last?.isFallback ? " fallback" : ""}`}>
                      {last?.isMine && !last.deleted ? (
                        conversation.kind === "group" ? (
                          <StatusIcon status={last.status} />
                        ) : (
                          <DeliveryMark message={last} isGroup={false} />
                        )
                      ) : null}
                      {preview(conversation)}
                    </span>
                    {unread > 0 ? (
                      <span className="unread-badge" data-testid="unread-badge">
                        <span aria-hidden="true">{unread > 99 ? "99+" : unread}</span>
                        <span className="sr-only">{`${unread} unread`}</span>
                      </span>
                    ) : null}
                  </span>
                </span>
              </button>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
