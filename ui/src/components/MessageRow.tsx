import { memo, useEffect, useMemo, useRef, useState } from "react";
import type { DeliveryStatus, MessageView } from "../engine/api";
import { fullDateTime, timeOfDay } from "../lib/format";
import { renderMarkdown } from "../lib/markdown";
import { useEngineAction } from "../lib/useEngineAction";
import { type AttachmentHandlers, Attachments } from "./Attachments";
import { InlineConfirm } from "./InlineConfirm";
import { ReactionPicker } from "./ReactionPicker";

/** What a person can do to the messages of a conversation (none in a request). */
export interface MessageActions {
  reply: (message: MessageView) => void;
  edit: (message: MessageView) => void;
  /** Adds a reaction, or takes this person's back (`remove`). */
  react: (messageId: string, emoji: string, remove: boolean) => void;
  /** Deletes one of this person's messages for everyone; rejects with the engine's error. */
  remove: (messageId: string) => Promise<void>;
}

const STATUS_LABEL: Record<DeliveryStatus, string> = {
  sending: "Sending",
  sent: "Sent",
  failed: "Not sent",
};

export function StatusIcon({ status }: { status: DeliveryStatus }) {
  return (
    <span className={`status status-${status}`} role="img" aria-label={STATUS_LABEL[status]}>
      {status === "sending" ? (
        <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
          <circle cx="8" cy="8" r="6" fill="none" stroke="currentColor" strokeWidth="1.5" />
          <path d="M8 4.5V8l2.5 1.5" fill="none" stroke="currentColor" strokeWidth="1.5" />
        </svg>
      ) : status === "sent" ? (
        <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
          <path d="M3 8.5l3 3 7-7" fill="none" stroke="currentColor" strokeWidth="1.8" />
        </svg>
      ) : (
        <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
          <circle cx="8" cy="8" r="7" fill="currentColor" />
          <path d="M8 4v5M8 11v1.2" stroke="var(--bg)" strokeWidth="1.8" />
        </svg>
      )}
    </span>
  );
}

function DoubleTick() {
  return (
    <svg viewBox="0 0 20 16" width="17" height="14" aria-hidden="true">
      <path d="M1.5 8.5l3 3 7-7M8.5 11.5l7-7" fill="none" stroke="currentColor" strokeWidth="1.8" />
    </svg>
  );
}

/**
 * Where one of this person's messages got to: sending, sent (one tick), not sent, or read
 * (two ticks in a DM; "Read by N" in a group).
 */
export function DeliveryMark({ message, isGroup }: { message: MessageView; isGroup: boolean }) {
  if (message.status !== "sent" || message.readBy === 0) {
    return <StatusIcon status={message.status} />;
  }
  if (isGroup) {
    return (
      <span className="status status-read" data-testid="read-by">
        <DoubleTick />
        <span>Read by {message.readBy}</span>
      </span>
    );
  }
  return (
    <span className="status status-read" role="img" aria-label="Read">
      <DoubleTick />
    </span>
  );
}

export interface MessageRowProps {
  message: MessageView;
  isGroup: boolean;
  showSender: boolean;
  runEnd: boolean;
  /** 1-based place among the messages, for screen readers. */
  position: number;
  setSize: number;
  /** The message this one answers is loaded: its quote scrolls to it. */
  quoteLoaded: boolean;
  /** Shown as the target of a followed quote (it takes focus). */
  highlighted: boolean;
  onRetry: (messageId: string) => void;
  onJumpTo: (messageId: string) => void;
  files: AttachmentHandlers;
  /** Null where messages are only read (a request). */
  actions: MessageActions | null;
}

/**
 * One message: its quote, files, text, time and delivery, its reactions, and (on hover or
 * keyboard focus) the actions this person may take.
 */
export const MessageRow = memo(function MessageRow({
  message,
  isGroup,
  showSender,
  runEnd,
  position,
  setSize,
  quoteLoaded,
  highlighted,
  onRetry,
  onJumpTo,
  files,
  actions,
}: MessageRowProps) {
  const html = useMemo(
    () =>
      message.markdown && !message.isFallback && !message.deleted
        ? renderMarkdown(message.text)
        : null,
    [message.markdown, message.isFallback, message.deleted, message.text],
  );
  const [picking, setPicking] = useState(false);
  const [confirmingDelete, setConfirmingDelete] = useState(false);
  const deletion = useEngineAction({
    describe: (error) => `It could not be deleted: ${error.message}`,
  });
  const article = useRef<HTMLElement>(null);
  const reactButton = useRef<HTMLButtonElement>(null);
  const deleteButton = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (highlighted) article.current?.focus({ preventScroll: true });
  }, [highlighted]);

  const live = !message.deleted && !message.system && message.status === "sent";
  const canAct = actions !== null && live;
  const canEdit =
    canAct && message.isMine && message.attachments.length === 0 && !message.isFallback;
  const canDelete = canAct && message.isMine;
  const hasText = message.deleted || message.text.length > 0 || message.attachments.length === 0;

  const classes = [
    "message",
    message.isMine ? "mine" : "theirs",
    runEnd ? "run-end" : "",
    message.status === "failed" ? "is-failed" : "",
    highlighted ? "highlighted" : "",
    picking || confirmingDelete ? "acting" : "",
  ]
    .filter(Boolean)
    .join(" ");

  if (message.system) {
    // A change to the conversation, recorded as a line: no bubble, no actions.
    return (
      <article
        ref={article}
        className={`message system${highlighted ? " highlighted" : ""}`}
        data-testid="message"
        data-message-id={message.id}
        data-status={message.status}
        data-mine={message.isMine ? "true" : "false"}
        aria-posinset={position}
        aria-setsize={setSize}
        tabIndex={-1}
      >
        <p className="system-line">
          {message.text}{" "}
          <time
            dateTime={new Date(message.sentAtMs).toISOString()}
            title={fullDateTime(message.sentAtMs)}
          >
            {timeOfDay(message.sentAtMs)}
          </time>
        </p>
      </article>
    );
  }

  const closePicker = (refocus: boolean) => {
    setPicking(false);
    if (refocus) reactButton.current?.focus();
  };
  const cancelDelete = () => {
    setConfirmingDelete(false);
    deletion.setProblem(null);
    deleteButton.current?.focus();
  };
  const confirmDelete = () => {
    if (actions === null) return;
    void deletion
      .run(() => actions.remove(message.id))
      .then((done) => {
        if (done) setConfirmingDelete(false);
      });
  };

  return (
    <article
      ref={article}
      className={classes}
      data-testid="message"
      data-message-id={message.id}
      data-status={message.status}
      data-mine={message.isMine ? "true" : "false"}
      aria-posinset={position}
      aria-setsize={setSize}
      // A message with actions is a stop for Tab, which shows its actions; the others can still
      // take focus when a quote leads to them.
      tabIndex={canAct ? 0 : -1}
    >
      {showSender ? <div className="sender">{message.senderLabel}</div> : null}
      <div className="message-line">
        <div className="bubble">
          <span className="sr-only">{message.isMine ? "You: " : `${message.senderLabel}: `}</span>
          {message.replyTo !== null && !message.deleted ? (
            <Quote
              senderLabel={message.replyTo.senderLabel}
              text={message.replyTo.text}
              onShow={
                quoteLoaded && message.replyTo.messageId !== null
                  ? () => onJumpTo(message.replyTo?.messageId ?? "")
                  : null
              }
            />
          ) : null}
          {message.attachments.length > 0 && !message.deleted ? (
            <Attachments message={message} handlers={files} />
          ) : null}
          {!hasText ? null : message.deleted ? (
            <p className="deleted">This message was deleted</p>
          ) : message.isFallback ? (
            <p className="fallback">
              <span className="fallback-tag">This message type isn't supported here.</span>{" "}
              {message.text}
            </p>
          ) : html !== null ? (
            // Sanitized by renderMarkdown (DOMPurify, formatting tags only).
            // biome-ignore lint/security/noDangerouslySetInnerHtml: the HTML is sanitized above.
            <div className="markdown" dangerouslySetInnerHTML={{ __html: html }} />
          ) : (
            <p className="plain">{message.text}</p>
          )}
          <span className="meta">
            {message.edited && !message.deleted ? <span className="edited">(edited)</span> : null}
            <time
              dateTime={new Date(message.sentAtMs).toISOString()}
              title={fullDateTime(message.sentAtMs)}
            >
              {timeOfDay(message.sentAtMs)}
            </time>
            {message.isMine ? <DeliveryMark message={message} isGroup={isGroup} /> : null}
          </span>
        </div>
        {canAct && actions !== null ? (
          <fieldset className="message-actions" aria-label="Message actions">
            <button
              type="button"
              className="action-button"
              aria-label="Reply"
              title="Reply"
              onClick={() => actions.reply(message)}
            >
              <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
                <path
                  d="M9.5 6L4 11.5 9.5 17M4.5 11.5H14a6 6 0 016 6V19"
                  fill="none"
                  stroke="currentColor"
                  strokeWidth="1.8"
                  strokeLinecap="round"
                  strokeLinejoin="round"
                />
              </svg>
            </button>
            <button
              ref={reactButton}
              type="button"
              className="action-button"
              aria-label="React"
              title="React"
              aria-haspopup="menu"
              aria-expanded={picking}
              // Keeps focus in an open picker, so this click closes it instead of reopening it.
              onMouseDown={(event) => event.preventDefault()}
              onClick={() => (picking ? closePicker(true) : setPicking(true))}
            >
              <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
                <circle
                  cx="12"
                  cy="12"
                  r="8.5"
                  fill="none"
                  stroke="currentColor"
                  strokeWidth="1.8"
                />
                <path
                  d="M8.5 14a4 4 0 007 0"
                  fill="none"
                  stroke="currentColor"
                  strokeWidth="1.8"
                  strokeLinecap="round"
                />
                <circle cx="9.3" cy="10" r="1.1" fill="currentColor" />
                <circle cx="14.7" cy="10" r="1.1" fill="currentColor" />
              </svg>
            </button>
            {canEdit ? (
              <button
                type="button"
                className="action-button"
                aria-label="Edit"
                title="Edit"
                onClick={() => actions.edit(message)}
              >
                <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
                  <path
                    d="M4 20h4L19 9l-4-4L4 16v4z"
                    fill="none"
                    stroke="currentColor"
                    strokeWidth="1.8"
                    strokeLinejoin="round"
                  />
                </svg>
              </button>
            ) : null}
            {canDelete ? (
              <button
                ref={deleteButton}
                type="button"
                className="action-button"
                aria-label="Delete"
                title="Delete"
                aria-expanded={confirmingDelete}
                onClick={() => setConfirmingDelete((open) => !open)}
              >
                <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
                  <path
                    d="M5 7h14M10 7V4.5h4V7M7 7l1 13h8l1-13"
                    fill="none"
                    stroke="currentColor"
                    strokeWidth="1.8"
                    strokeLinejoin="round"
                  />
                </svg>
              </button>
            ) : null}
            {picking ? (
              <ReactionPicker
                reactions={message.reactions}
                onPick={(emoji, remove) => {
                  closePicker(true);
                  actions.react(message.id, emoji, remove);
                }}
                onClose={closePicker}
              />
            ) : null}
          </fieldset>
        ) : null}
      </div>
      {message.reactions.length > 0 && !message.deleted ? (
        <ul className="reactions" aria-label="Reactions">
          {message.reactions.map((reaction) => (
            <li key={reaction.emoji}>
              {canAct && actions !== null ? (
                <button
                  type="button"
                  className={`reaction-chip${reaction.mine ? " mine" : ""}`}
                  aria-pressed={reaction.mine}
                  title={reaction.mine ? "Take back your reaction" : "React with this too"}
                  onClick={() => actions.react(message.id, reaction.emoji, reaction.mine)}
                >
                  {reaction.emoji} {reaction.count}
                </button>
              ) : (
                <span className={`reaction-chip${reaction.mine ? " mine" : ""}`}>
                  {reaction.emoji} {reaction.count}
                </span>
              )}
            </li>
          ))}
        </ul>
      ) : null}
      {confirmingDelete && canDelete ? (
        <div className="message-confirm">
          <InlineConfirm
            tone="danger"
            confirmLabel="Delete for everyone"
            busyLabel="Deleting…"
            busy={deletion.busy}
            onConfirm={confirmDelete}
            onCancel={cancelDelete}
          >
            <p>Delete this message for everyone in the conversation?</p>
          </InlineConfirm>
          {deletion.problem !== null ? (
            <p className="field-error" role="alert">
              {deletion.problem}
            </p>
          ) : null}
        </div>
      ) : null}
      {message.status === "failed" ? (
        <div className="failed-row">
          <span>Not sent.</span>
          <button type="button" className="link-button" onClick={() => onRetry(message.id)}>
            Retry
          </button>
        </div>
      ) : null}
    </article>
  );
});

/** The message a reply answers: who and what; a button to it when it is loaded. */
function Quote({
  senderLabel,
  text,
  onShow,
}: {
  senderLabel: string;
  text: string;
  onShow: (() => void) | null;
}) {
  const body = (
    <>
      <span className="sr-only">In reply to </span>
      <span className="quote-sender">{senderLabel}</span>
      <span className="quote-text">{text.length > 0 ? text : "A message"}</span>
    </>
  );
  return onShow !== null ? (
    <button
      type="button"
      className="quote"
      data-testid="reply-quote"
      title="Show the original message"
      onClick={onShow}
    >
      {body}
    </button>
  ) : (
    <div className="quote" data-testid="reply-quote">
      {body}
    </div>
  );
}
