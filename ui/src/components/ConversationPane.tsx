import { useCallback, useEffect, useState } from "react";
import { type ConversationView, EngineError } from "../engine/api";
import { useEngine } from "../engine/context";
import { useMessages } from "../state/useMessages";
import { Avatar } from "./Avatar";
import { Composer } from "./Composer";
import { type Connection, ConnectionBanner } from "./ConnectionStatus";
import { MessageList } from "./MessageList";

export interface ConversationPaneProps {
  conversation: ConversationView;
  connection: Connection;
  infoOpen: boolean;
  onToggleInfo: () => void;
  onBack: () => void;
  /** The engine was told this conversation is read. */
  onRead: (conversationId: string) => void;
}

export function ConversationPane({
  conversation,
  connection,
  infoOpen,
  onToggleInfo,
  onBack,
  onRead,
}: ConversationPaneProps) {
  const engine = useEngine();
  const { messages, hasMore, loading, loadingOlder, error, loadOlder, upsert, reload } =
    useMessages(conversation.id);
  const title = conversation.title;
  const isGroup = conversation.kind === "group";

  // Read on open, and again whenever something new arrives while it is open and on screen
  // (a minimized or hidden window waits until it is shown again).
  const unread = conversation.unreadCount;
  useEffect(() => {
    if (unread === 0) return;
    let done = false;
    const markRead = () => {
      if (done || document.visibilityState === "hidden") return;
      done = true;
      engine
        .markRead(conversation.id)
        .then(() => onRead(conversation.id))
        .catch(() => {
          // The unread count stays as the engine reports it; nothing else depends on this.
        });
    };
    markRead();
    document.addEventListener("visibilitychange", markRead);
    return () => document.removeEventListener("visibilitychange", markRead);
  }, [engine, conversation.id, unread, onRead]);

  const [linkProblem, setLinkProblem] = useState<string | null>(null);
  const openLink = useCallback(
    (url: string) => {
      setLinkProblem(null);
      engine.openLink(url).catch((raw: unknown) => {
        setLinkProblem(`That link cannot be opened: ${EngineError.from(raw).message}`);
      });
    },
    [engine],
  );

  const send = useCallback(
    async (text: string, markdown: boolean) => {
      try {
        upsert(await engine.sendText(conversation.id, text, markdown));
      } catch (raw) {
        throw EngineError.from(raw);
      }
    },
    [engine, conversation.id, upsert],
  );

  const retry = useCallback(
    (messageId: string) => {
      engine.retryMessage(messageId).catch(() => {
        // A retry that cannot even start leaves the message failed, with Retry still offered.
      });
    },
    [engine],
  );

  const subtitle = isGroup
    ? `${conversation.memberCount} ${conversation.memberCount === 1 ? "member" : "members"}`
    : (conversation.peerAddress ?? "Direct message");

  return (
    <section className="conversation-pane" aria-label={`Conversation: ${title}`}>
      <header className="pane-header">
        <button
          type="button"
          className="icon-button back-button"
          aria-label="Back to conversations"
          onClick={onBack}
        >
          <span aria-hidden="true">←</span>
        </button>
        <Avatar seed={conversation.peerAddress ?? conversation.id} label={title} group={isGroup} />
        <div className="pane-title">
          <h1 title={conversation.peerAddress ?? conversation.title}>{title}</h1>
          <p className="pane-subtitle" title={subtitle}>
            {subtitle}
          </p>
        </div>
        {isGroup ? (
          <button
            type="button"
            className={`icon-button${infoOpen ? " on" : ""}`}
            aria-label="Group info"
            aria-expanded={infoOpen}
            onClick={onToggleInfo}
          >
            <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
              <circle cx="12" cy="12" r="9.5" fill="none" stroke="currentColor" strokeWidth="1.8" />
              <path d="M12 10.5v6M12 7.2v1.3" stroke="currentColor" strokeWidth="2" />
            </svg>
          </button>
        ) : null}
      </header>
      <ConnectionBanner connection={connection} />
      {error !== null && messages.length === 0 ? (
        <div className="pane-error" role="alert">
          <p>The messages could not be loaded: {error.message}</p>
          <button type="button" className="button" onClick={() => reload()}>
            Try again
          </button>
        </div>
      ) : loading && messages.length === 0 ? (
        <div className="pane-loading" role="status">
          Loading messages…
        </div>
      ) : messages.length === 0 ? (
        <div className="pane-empty">
          <p>No messages yet.</p>
          <p className="muted">Messages are end-to-end encrypted. Say hello!</p>
        </div>
      ) : (
        <>
          {error !== null ? (
            <div className="pane-inline-error" role="alert">
              Earlier messages could not be loaded: {error.message}{" "}
              <button type="button" className="link-button" onClick={loadOlder}>
                Try again
              </button>
            </div>
          ) : null}
          {linkProblem !== null ? (
            <div className="pane-inline-error" role="alert">
              {linkProblem}{" "}
              <button type="button" className="link-button" onClick={() => setLinkProblem(null)}>
                Dismiss
              </button>
            </div>
          ) : null}
          <MessageList
            messages={messages}
            isGroup={isGroup}
            hasMore={hasMore}
            loadingOlder={loadingOlder}
            onLoadOlder={loadOlder}
            onRetry={retry}
            label={`Messages in ${title}`}
            onOpenLink={openLink}
          />
        </>
      )}
      <Composer
        key={conversation.id}
        conversationId={conversation.id}
        placeholder={`Message ${title}`}
        onSend={send}
      />
    </section>
  );
}
