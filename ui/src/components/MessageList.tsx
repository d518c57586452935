import { measureElement, useVirtualizer, type Virtualizer } from "@tanstack/react-virtual";
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import type { DeliveryStatus, MessageView } from "../engine/api";
import { dayLabel, fullDateTime, isSameDay, timeOfDay } from "../lib/format";
import { renderMarkdown } from "../lib/markdown";

/**
 * The messages of one conversation, windowed by @tanstack/react-virtual: only the rows near the
 * viewport are in the DOM, so ten thousand messages scroll like ten. Row heights start as
 * estimates and are replaced by measurements. The list is anchored to its end, as chats are:
 * the row at the top of the viewport stays put when older messages arrive above it, and new
 * messages are followed while the view is at the bottom.
 */

/**
 * A row of the list. A day's heading belongs to the row of its first message, so that every
 * row keeps its key when older messages arrive (the anchor the virtualizer keeps in place is
 * whichever row is at the top of the viewport).
 */
type Row =
  | { kind: "start"; key: string }
  | {
      kind: "message";
      key: string;
      message: MessageView;
      /** The day heading above this message: it is the day's first. */
      day: string | null;
      showSender: boolean;
      runEnd: boolean;
      /** 1-based place among the messages, for screen readers. */
      position: number;
    };

/** Consecutive messages from one sender within this gap form a run (sender name shown once). */
const RUN_GAP_MS = 5 * 60_000;
/** Rows rendered beyond each edge of the viewport. */
const OVERSCAN_ROWS = 8;
const BOTTOM_SLACK_PX = 48;
const LOAD_OLDER_THRESHOLD_PX = 400;
/** The viewport height assumed while the list has none (hidden, not laid out). */
const FALLBACK_VIEWPORT_PX = 600;

export function buildRows(
  messages: MessageView[],
  isGroup: boolean,
  hasMore: boolean,
  nowMs: number,
): Row[] {
  const rows: Row[] = [];
  if (!hasMore && messages.length > 0) rows.push({ kind: "start", key: "start" });
  let previous: MessageView | null = null;
  for (let i = 0; i < messages.length; i += 1) {
    const message = messages[i] as MessageView;
    const newDay = previous === null || !isSameDay(previous.sentAtMs, message.sentAtMs);
    const continuesRun =
      !newDay &&
      previous !== null &&
      previous.senderInboxId === message.senderInboxId &&
      message.sentAtMs - previous.sentAtMs < RUN_GAP_MS;
    const next = messages[i + 1];
    const runEnd =
      next === undefined ||
      next.senderInboxId !== message.senderInboxId ||
      !isSameDay(next.sentAtMs, message.sentAtMs) ||
      next.sentAtMs - message.sentAtMs >= RUN_GAP_MS;
    rows.push({
      kind: "message",
      key: message.id,
      message,
      day: newDay ? dayLabel(message.sentAtMs, nowMs) : null,
      showSender: isGroup && !message.isMine && !continuesRun,
      runEnd,
      position: i + 1,
    });
    previous = message;
  }
  return rows;
}

function estimateHeight(row: Row): number {
  if (row.kind === "start") return 56;
  const lines = Math.max(1, Math.ceil(row.message.text.length / 60));
  return (
    36 + lines * 20 + (row.day !== null ? 40 : 0) + (row.showSender ? 18 : 0) + (row.runEnd ? 6 : 0)
  );
}

/** A row's measured height; one that measures 0 (not laid out, or hidden) keeps its estimate. */
function measureRow(
  element: HTMLDivElement,
  entry: ResizeObserverEntry | undefined,
  instance: Virtualizer<HTMLDivElement, HTMLDivElement>,
): number {
  const height = measureElement(element, entry, instance);
  return height > 0 ? height : instance.options.estimateSize(instance.indexFromElement(element));
}

export interface MessageListProps {
  messages: MessageView[];
  isGroup: boolean;
  hasMore: boolean;
  loadingOlder: boolean;
  onLoadOlder: () => void;
  onRetry: (messageId: string) => void;
  /** Text read by screen readers for the log, e.g. "Messages with 0x12…". */
  label: string;
  /** A link in a message was followed: the app opens it outside, never in its own window. */
  onOpenLink: (url: string) => void;
}

export function MessageList({
  messages,
  isGroup,
  hasMore,
  loadingOlder,
  onLoadOlder,
  onRetry,
  label,
  onOpenLink,
}: MessageListProps) {
  const scrollRef = useRef<HTMLDivElement>(null);
  // The rows are windowed once the viewport is known, so the list opens exactly at its end.
  const [openingHeight, setOpeningHeight] = useState<number | null>(null);
  useLayoutEffect(() => {
    setOpeningHeight(scrollRef.current?.clientHeight || FALLBACK_VIEWPORT_PX);
  }, []);

  // The day labels change at midnight; recomputing on each new message list is enough.
  const rows = useMemo(
    () => buildRows(messages, isGroup, hasMore, Date.now()),
    [messages, isGroup, hasMore],
  );
  // Stable between scroll renders: the virtualizer re-lays out the rows when these change.
  const estimateSize = useCallback((index: number) => estimateHeight(rows[index] as Row), [rows]);
  const getItemKey = useCallback((index: number) => (rows[index] as Row).key, [rows]);

  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize,
    getItemKey,
    measureElement: measureRow,
    overscan: OVERSCAN_ROWS,
    enabled: openingHeight !== null,
    initialRect: { width: 0, height: openingHeight ?? FALLBACK_VIEWPORT_PX },
    // Open at the newest message.
    initialOffset: () =>
      Math.max(
        0,
        rows.reduce((sum, row) => sum + estimateHeight(row), 0) -
          (openingHeight ?? FALLBACK_VIEWPORT_PX),
      ),
    anchorTo: "end",
    followOnAppend: true,
    scrollEndThreshold: BOTTOM_SLACK_PX,
  });
  const atBottom = virtualizer.isAtEnd();
  const total = virtualizer.getTotalSize();
  const viewport = virtualizer.scrollRect?.height || FALLBACK_VIEWPORT_PX;

  // Something I just sent is shown even when I had scrolled up.
  const last = messages[messages.length - 1];
  const lastId = useRef(last?.id);
  useLayoutEffect(() => {
    if (last === undefined || last.id === lastId.current) return;
    lastId.current = last.id;
    if (last.isMine) virtualizer.scrollToEnd();
  }, [last, virtualizer]);

  const canLoadOlder = hasMore && !loadingOlder;
  // A short first page leaves nothing to scroll: fetch older messages until the view is full.
  useEffect(() => {
    if (openingHeight !== null && canLoadOlder && total < viewport) onLoadOlder();
  }, [openingHeight, canLoadOlder, total, viewport, onLoadOlder]);

  return (
    <div className="message-list-wrap">
      {loadingOlder ? (
        <div className="loading-older" role="status">
          Loading earlier messages…
        </div>
      ) : null}
      {/* biome-ignore lint/a11y/useKeyWithClickEvents: the click handler only serves links, and Enter on a focused link fires the same click. */}
      <div
        ref={scrollRef}
        className="message-list"
        data-testid="message-list"
        role="log"
        aria-live="polite"
        aria-relevant="additions"
        aria-label={label}
        // The log scrolls with the keyboard once focused.
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be focusable.
        tabIndex={0}
        onScroll={(event) => {
          if (event.currentTarget.scrollTop < LOAD_OLDER_THRESHOLD_PX && canLoadOlder) {
            onLoadOlder();
          }
        }}
        // Links are anchors (keyboard-reachable); a click or Enter on one bubbles up here.
        onClick={(event) => {
          const target = event.target instanceof Element ? event.target.closest("a[href]") : null;
          const href = target?.getAttribute("href");
          if (href) {
            event.preventDefault();
            onOpenLink(href);
          }
        }}
      >
        <div className="message-list-inner" style={{ height: total }}>
          {virtualizer.getVirtualItems().map((item) => {
            const row = rows[item.index] as Row;
            return (
              <div
                key={item.key}
                ref={virtualizer.measureElement}
                data-index={item.index}
                className="row"
                style={{ transform: `translateY(${item.start}px)` }}
              >
                {row.kind === "start" ? (
                  <p className="conversation-start">This is the beginning of the conversation.</p>
                ) : (
                  <>
                    {row.day !== null ? (
                      <div className="day-separator">
                        <h2 className="day-label">{row.day}</h2>
                      </div>
                    ) : null}
                    <MessageRow
                      message={row.message}
                      showSender={row.showSender}
                      runEnd={row.runEnd}
                      onRetry={onRetry}
                      position={row.position}
                      setSize={messages.length}
                    />
                  </>
                )}
              </div>
            );
          })}
        </div>
      </div>
      {!atBottom ? (
        <button type="button" className="jump-latest" onClick={() => virtualizer.scrollToEnd()}>
          <span aria-hidden="true">↓</span> Latest messages
        </button>
      ) : null}
    </div>
  );
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

interface MessageRowProps {
  message: MessageView;
  showSender: boolean;
  runEnd: boolean;
  onRetry: (messageId: string) => void;
  position: number;
  setSize: number;
}

const MessageRow = memo(function MessageRow({
  message,
  showSender,
  runEnd,
  onRetry,
  position,
  setSize,
}: MessageRowProps) {
  const html = useMemo(
    () => (message.markdown && !message.isFallback ? renderMarkdown(message.text) : null),
    [message.markdown, message.isFallback, message.text],
  );
  const classes = [
    "message",
    message.isMine ? "mine" : "theirs",
    runEnd ? "run-end" : "",
    message.status === "failed" ? "is-failed" : "",
  ]
    .filter(Boolean)
    .join(" ");
  return (
    <article
      className={classes}
      data-testid="message"
      data-message-id={message.id}
      data-status={message.status}
      data-mine={message.isMine ? "true" : "false"}
      aria-posinset={position}
      aria-setsize={setSize}
    >
      {showSender ? <div className="sender">{message.senderLabel}</div> : null}
      <div className="bubble">
        <span className="sr-only">{message.isMine ? "You: " : `${message.senderLabel}: `}</span>
        {message.isFallback ? (
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
          <time
            dateTime={new Date(message.sentAtMs).toISOString()}
            title={fullDateTime(message.sentAtMs)}
          >
            {timeOfDay(message.sentAtMs)}
          </time>
          {message.isMine ? <StatusIcon status={message.status} /> : null}
        </span>
      </div>
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
