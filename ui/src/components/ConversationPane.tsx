import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  type AttachmentView,
  type ConversationView,
  EngineError,
  MAX_PASTED_BYTES,
  type MessageView,
} from "../engine/api";
import { useEngine } from "../engine/context";
import { newTransferId, readBase64 } from "../lib/files";
import { durationLabel } from "../lib/format";
import { useConversationSettings } from "../state/conversationSettings";
import { TransfersProvider } from "../state/transfers";
import { useMessages } from "../state/useMessages";
import { type AttachmentHandlers, TransferBar } from "./Attachments";
import { Avatar } from "./Avatar";
import { Composer, type ComposerMode, type OutgoingFiles } from "./Composer";
import { type Connection, ConnectionBanner } from "./ConnectionStatus";
import { ImageViewer } from "./ImageViewer";
import { MessageList } from "./MessageList";
import type { MessageActions } from "./MessageRow";
import { RequestBar } from "./RequestBar";

export interface ConversationPaneProps {
  conversation: ConversationView;
  connection: Connection;
  infoOpen: boolean;
  onToggleInfo: () => void;
  onBack: () => void;
  /** The engine was told this conversation is read. */
  onRead: (conversationId: string) => void;
  /** A request was accepted: it belongs in the list now. */
  onAccepted?: (conversation: ConversationView) => void;
  /** A request was blocked or deleted. */
  onRequestRemoved?: (conversation: ConversationView, how: "blocked" | "deleted") => void;
}

export function ConversationPane(props: ConversationPaneProps) {
  return (
    <TransfersProvider>
      <Pane {...props} />
    </TransfersProvider>
  );
}

interface Upload {
  transferId: string;
  name: string;
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() || path;
}

function Pane({
  conversation,
  connection,
  infoOpen,
  onToggleInfo,
  onBack,
  onRead,
  onAccepted = () => undefined,
  onRequestRemoved = () => undefined,
}: ConversationPaneProps) {
  const engine = useEngine();
  const {
    messages,
    hasMore,
    hasNewer,
    generation,
    loading,
    loadingOlder,
    loadingNewer,
    error,
    loadOlder,
    loadNewer,
    upsert,
    showSent,
    jumpToLatest,
    setFollowing,
    retry,
  } = useMessages(conversation.id);
  const title = conversation.title;
  const isGroup = conversation.kind === "group";
  // A request is only read until accepted: no composer, no actions, and no read receipts.
  const isRequest = conversation.consent === "unknown";

  // Read on open, and again whenever something new arrives while it is open and on screen
  // (a minimized or hidden window waits until it is shown again).
  const unread = conversation.unreadCount;
  useEffect(() => {
    if (unread === 0 || isRequest) return;
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
  }, [engine, conversation.id, unread, onRead, isRequest]);

  /** A problem with something done to the messages (a link, a reaction), until dismissed. */
  const [problem, setProblem] = useState<string | null>(null);
  const openLink = useCallback(
    (url: string) => {
      setProblem(null);
      engine.openLink(url).catch((raw: unknown) => {
        setProblem(`That link cannot be opened: ${EngineError.from(raw).message}`);
      });
    },
    [engine],
  );

  const [mode, setMode] = useState<ComposerMode | null>(null);
  const modeRef = useRef(mode);
  modeRef.current = mode;

  const send = useCallback(
    async (text: string, markdown: boolean) => {
      const current = modeRef.current;
      try {
        if (current?.kind === "reply") {
          showSent(await engine.reply(current.message.id, text, markdown));
        } else if (current?.kind === "edit") {
          upsert(await engine.editMessage(current.message.id, text, markdown));
        } else {
          showSent(await engine.sendText(conversation.id, text, markdown));
        }
      } catch (raw) {
        throw EngineError.from(raw);
      }
      if (current !== null) setMode((now) => (now === current ? null : now));
    },
    [engine, conversation.id, upsert, showSent],
  );

  const [uploads, setUploads] = useState<Upload[]>([]);
  const sendFiles = useCallback(
    async (files: OutgoingFiles, caption: string) => {
      const upload = async (name: string, start: (transferId: string) => Promise<MessageView>) => {
        const transferId = newTransferId();
        setUploads((list) => [...list, { transferId, name }]);
        try {
          showSent(await start(transferId));
        } catch (raw) {
          throw new Error(`“${name}” was not sent: ${EngineError.from(raw).message}`);
        } finally {
          setUploads((list) => list.filter((u) => u.transferId !== transferId));
        }
      };
      if (files.kind === "paths") {
        const [first] = files.paths;
        const name =
          files.paths.length === 1 && first !== undefined
            ? baseName(first)
            : `${files.paths.length} files`;
        await upload(name, (transferId) =>
          engine.sendFiles(conversation.id, files.paths, caption, transferId),
        );
        return;
      }
      const tooLarge = files.files.find((file) => file.size > MAX_PASTED_BYTES);
      if (tooLarge !== undefined) {
        throw new Error(
          `“${tooLarge.name}” is larger than 25 MiB, the most that can be attached or pasted. Drag it into this window instead: dropped files are sent from their folder, at any size.`,
        );
      }
      // One message per file; the caption goes with the last, so a failure keeps it unsent.
      const last = files.files.length - 1;
      for (const [index, file] of files.files.entries()) {
        const name = file.name || "pasted file";
        await upload(name, async (transferId) =>
          engine.sendPasted(
            conversation.id,
            name,
            await readBase64(file),
            index === last ? caption : "",
            transferId,
          ),
        );
      }
    },
    [engine, conversation.id, showSent],
  );

  const retrySend = useCallback(
    (messageId: string) => {
      engine.retryMessage(messageId).catch(() => {
        // A retry that cannot even start leaves the message failed, with Retry still offered.
      });
    },
    [engine],
  );

  const [viewing, setViewing] = useState<{
    message: MessageView;
    attachment: AttachmentView;
  } | null>(null);
  const files = useMemo<AttachmentHandlers>(
    () => ({
      openImage: (message, attachment) => setViewing({ message, attachment }),
      save: (messageId, index) => engine.saveAttachment(messageId, index),
    }),
    [engine],
  );

  const actions = useMemo<MessageActions | null>(
    () =>
      isRequest
        ? null
        : {
            reply: (message) => setMode({ kind: "reply", message }),
            edit: (message) => setMode({ kind: "edit", message }),
            react: (messageId, emoji, remove) => {
              setProblem(null);
              engine
                .react(messageId, emoji, remove)
                .then(upsert)
                .catch((raw: unknown) => {
                  setProblem(`The reaction was not sent: ${EngineError.from(raw).message}`);
                });
            },
            remove: async (messageId) => {
              upsert(await engine.deleteMessage(messageId));
              setMode((now) => (now?.message.id === messageId ? null : now));
            },
          },
    [isRequest, engine, upsert],
  );

  const subscribeFileDrop = useCallback(
    (handler: (paths: string[]) => void) => engine.onFileDrop(handler),
    [engine],
  );

  // The disappearing timer shows in the header; it changes with the settings (by anyone).
  const disappearAfter = useConversationSettings(conversation.id).settings?.disappearAfterSecs;
  const settingsLabel = isGroup ? "Group settings" : "Conversation settings";

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
        {disappearAfter !== undefined && disappearAfter !== null ? (
          <DisappearingBadge seconds={disappearAfter} />
        ) : null}
        {!isRequest ? (
          <button
            type="button"
            className={`icon-button${infoOpen ? " on" : ""}`}
            aria-label={settingsLabel}
            title={settingsLabel}
            aria-expanded={infoOpen}
            data-testid="conversation-settings"
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
          <button type="button" className="button" onClick={retry}>
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
              Messages could not be loaded: {error.message}{" "}
              <button type="button" className="link-button" onClick={retry}>
                Try again
              </button>
            </div>
          ) : null}
          {problem !== null ? (
            <div className="pane-inline-error" role="alert">
              {problem}{" "}
              <button type="button" className="link-button" onClick={() => setProblem(null)}>
                Dismiss
              </button>
            </div>
          ) : null}
          <MessageList
            key={generation}
            messages={messages}
            isGroup={isGroup}
            hasMore={hasMore}
            hasNewer={hasNewer}
            loadingOlder={loadingOlder}
            loadingNewer={loadingNewer}
            onLoadOlder={loadOlder}
            onLoadNewer={loadNewer}
            onJumpToLatest={jumpToLatest}
            onFollowingChange={setFollowing}
            onRetry={retrySend}
            label={`Messages in ${title}`}
            onOpenLink={openLink}
            files={files}
            actions={actions}
          />
        </>
      )}
      {uploads.length > 0 ? (
        <ul className="uploads" aria-label="Files being sent">
          {uploads.map((upload) => (
            <li key={upload.transferId} className="upload">
              <span className="upload-name">Sending {upload.name}…</span>
              <TransferBar transferId={upload.transferId} label={`Sending ${upload.name}`} />
            </li>
          ))}
        </ul>
      ) : null}
      {isRequest ? (
        <RequestBar
          conversation={conversation}
          onAccepted={onAccepted}
          onRemoved={onRequestRemoved}
        />
      ) : (
        <Composer
          key={conversation.id}
          conversationId={conversation.id}
          placeholder={`Message ${title}`}
          onSend={send}
          onSendFiles={sendFiles}
          mode={mode}
          onCancelMode={() => setMode(null)}
          subscribeFileDrop={subscribeFileDrop}
        />
      )}
      {viewing !== null ? (
        <ImageViewer
          message={viewing.message}
          attachment={viewing.attachment}
          onClose={() => setViewing(null)}
        />
      ) : null}
    </section>
  );
}

/** The disappearing timer in force, in the conversation's header. */
function DisappearingBadge({ seconds }: { seconds: number }) {
  const label = `Messages disappear after ${durationLabel(seconds)}`;
  return (
    <span className="timer-badge" role="img" aria-label={label} title={label}>
      <svg viewBox="0 0 24 24" width="15" height="15" aria-hidden="true">
        <circle cx="12" cy="13" r="7.5" fill="none" stroke="currentColor" strokeWidth="1.8" />
        <path
          d="M12 9v4l2.5 2M10 3h4"
          fill="none"
          stroke="currentColor"
          strokeWidth="1.8"
          strokeLinecap="round"
        />
      </svg>
      <span aria-hidden="true">{durationLabel(seconds)}</span>
    </span>
  );
}
