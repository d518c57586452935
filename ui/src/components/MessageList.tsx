import { measureElement, useVirtualizer, type Virtualizer } from "@tanstack/react-virtual";
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import type { MessageView } from "../engine/api";
import { dayLabel, isSameDay } from "../lib/format";
import { type AttachmentHandlers, attachmentsHeight } from "./Attachments";
import { type MessageActions, MessageRow } from "./MessageRow";

/**
 * The messages of one conversation, windowed by @tanstack/react-virtual: only the rows near the
 * viewport are in the DOM, so ten thousand messages scroll like ten. Row heights start as
 * estimates and are replaced by measurements. The list is anchored to its end, as chats are:
 * the row at the top of the viewport stays put when older messages arrive above it, and new
 * messages are followed while the view is at the bottom. The messages are a bounded window
 * (`state/messageWindow.ts`): reaching its top asks for older ones, reaching its bottom while it
 * is away from the newest asks for newer ones.
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
      /** The message it replies to is among the messages. */
      quoteLoaded: boolean;
    };

/** Consecutive messages from one sender within this gap form a run (sender name shown once). */
const RUN_GAP_MS = 5 * 60_000;
/** Rows rendered beyond each edge of the viewport. */
const OVERSCAN_ROWS = 8;
const BOTTOM_SLACK_PX = 48;
/** Older (newer) messages are asked for this close to the top (bottom). */
const LOAD_THRESHOLD_PX = 400;
/** How long the message a quote led to stays highlighted. */
const HIGHLIGHT_MS = 1600;
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
  const ids = new Set(messages.map((m) => m.id));
  let previous: MessageView | null = null;
  for (let i = 0; i < messages.length; i += 1) {
    const message = messages[i] as MessageView;
    const newDay = previous === null || !isSameDay(previous.sentAtMs, message.sentAtMs);
    const continuesRun =
      !newDay &&
      previous !== null &&
      !previous.system &&
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
      showSender: isGroup && !message.isMine && !message.system && !continuesRun,
      runEnd,
      position: i + 1,
      quoteLoaded: message.replyTo?.messageId != null && ids.has(message.replyTo.messageId),
    });
    previous = message;
  }
  return rows;
}

function estimateHeight(row: Row): number {
  if (row.kind === "start") return 56;
  const { message } = row;
  const lines = Math.max(1, Math.ceil(message.text.length / 60));
  return (
    36 +
    lines * 20 +
    (row.day !== null ? 40 : 0) +
    (row.showSender ? 18 : 0) +
    (row.runEnd ? 6 : 0) +
    (message.replyTo !== null ? 44 : 0) +
    (message.reactions.length > 0 ? 30 : 0) +
    (message.deleted ? 0 : attachmentsHeight(message.attachments))
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
  /** Older messages exist before these. */
  hasMore: boolean;
  /** Newer messages exist after these (the window is away from the newest). */
  hasNewer: boolean;
  loadingOlder: boolean;
  loadingNewer: boolean;
  onLoadOlder: () => void;
  onLoadNewer: () => void;
  /** Go to the newest messages when they are not loaded. */
  onJumpToLatest: () => void;
  /** Whether the person follows the newest message (the view is at its end). */
  onFollowingChange: (following: boolean) => void;
  onRetry: (messageId: string) => void;
  /** Text read by screen readers for the log, e.g. "Messages with 0x12…". */
  label: string;
  /** A link in a message was followed: the app opens it outside, never in its own window. */
  onOpenLink: (url: string) => void;
  files: AttachmentHandlers;
  /** Null where the messages are only read (a request). */
  actions: MessageActions | null;
}

export function MessageList({
  messages,
  isGroup,
  hasMore,
  hasNewer,
  loadingOlder,
  loadingNewer,
  onLoadOlder,
  onLoadNewer,
  onJumpToLatest,
  onFollowingChange,
  onRetry,
  label,
  onOpenLink,
  files,
  actions,
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

  // Rows added at the end while the window was away from the newest are history, not news:
  // the view follows only what arrives while it shows the newest (as of the previous render).
  const wasAway = useRef(hasNewer);
  useEffect(() => {
    wasAway.current = hasNewer;
  }, [hasNewer]);
  const follows = !hasNewer && !wasAway.current;

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
    followOnAppend: follows,
    scrollEndThreshold: BOTTOM_SLACK_PX,
  });
  const atBottom = virtualizer.isAtEnd();
  const total = virtualizer.getTotalSize();
  const viewport = virtualizer.scrollRect?.height || FALLBACK_VIEWPORT_PX;

  const following = atBottom && !hasNewer;
  useEffect(() => onFollowingChange(following), [following, onFollowingChange]);

  // Something I just sent is shown even when I had scrolled up.
  const last = messages[messages.length - 1];
  const lastId = useRef(last?.id);
  useLayoutEffect(() => {
    if (last === undefined || last.id === lastId.current) return;
    lastId.current = last.id;
    if (last.isMine && follows) virtualizer.scrollToEnd();
  }, [last, virtualizer, follows]);

  // A followed quote scrolls to its message, which is highlighted and takes focus.
  const [highlightId, setHighlightId] = useState<string | null>(null);
  const rowsRef = useRef(rows);
  rowsRef.current = rows;
  const jumpTo = useCallback(
    (messageId: string) => {
      const index = rowsRef.current.findIndex((row) => row.key === messageId);
      if (index < 0) return;
      virtualizer.scrollToIndex(index, { align: "center" });
      setHighlightId(messageId);
    },
    [virtualizer],
  );
  useEffect(() => {
    if (highlightId === null) return;
    const timer = window.setTimeout(() => setHighlightId(null), HIGHLIGHT_MS);
    return () => window.clearTimeout(timer);
  }, [highlightId]);

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
          const list = event.currentTarget;
          if (list.scrollTop < LOAD_THRESHOLD_PX && canLoadOlder) onLoadOlder();
          const below = list.scrollHeight - list.clientHeight - list.scrollTop;
          if (below < LOAD_THRESHOLD_PX && hasNewer && !loadingNewer) onLoadNewer();
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
                      isGroup={isGroup}
                      showSender={row.showSender}
                      runEnd={row.runEnd}
                      position={row.position}
                      setSize={messages.length}
                      quoteLoaded={row.quoteLoaded}
                      highlighted={row.key === highlightId}
                      onRetry={onRetry}
                      onJumpTo={jumpTo}
                      files={files}
                      actions={actions}
                    />
                  </>
                )}
              </div>
            );
          })}
        </div>
      </div>
      {loadingNewer ? (
        <div className="loading-newer" role="status">
          Loading later messages…
        </div>
      ) : null}
      {!atBottom || hasNewer ? (
        <button
          type="button"
          className="jump-latest"
          onClick={() => (hasNewer ? onJumpToLatest() : virtualizer.scrollToEnd())}
        >
          <span aria-hidden="true">↓</span> Latest messages
        </button>
      ) : null}
    </div>
  );
}
