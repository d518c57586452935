import {
  memo,
  type ReactElement,
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useReducer,
  useRef,
  useState,
} from "react";
import type { DeliveryStatus, MessageView } from "../engine/api";
import { dayLabel, fullDateTime, isSameDay, timeOfDay } from "../lib/format";
import { renderMarkdown } from "../lib/markdown";

/**
 * The messages of one conversation, windowed: only the rows near the viewport are in the DOM,
 * so ten thousand messages scroll like ten. Row heights start as estimates and are replaced by
 * measurements; the row at the top of the viewport stays put when rows above it change (older
 * messages loaded, heights measured), and the list sticks to the bottom while it is there.
 */

type Row =
  | { kind: "start"; key: string }
  | { kind: "day"; key: string; label: string }
  | { kind: "message"; key: string; message: MessageView; showSender: boolean; runEnd: boolean };

/** Consecutive messages from one sender within this gap form a run (sender name shown once). */
const RUN_GAP_MS = 5 * 60_000;
const OVERSCAN_PX = 600;
const BOTTOM_SLACK_PX = 48;
const LOAD_OLDER_THRESHOLD_PX = 400;
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
    if (newDay) {
      rows.push({
        kind: "day",
        key: `day-${message.id}`,
        label: dayLabel(message.sentAtMs, nowMs),
      });
    }
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
      showSender: isGroup && !message.isMine && !continuesRun,
      runEnd,
    });
    previous = message;
  }
  return rows;
}

function estimateHeight(row: Row): number {
  switch (row.kind) {
    case "start":
      return 56;
    case "day":
      return 40;
    case "message": {
      const lines = Math.max(1, Math.ceil(row.message.text.length / 60));
      return 36 + lines * 20 + (row.showSender ? 18 : 0) + (row.runEnd ? 6 : 0);
    }
  }
}

interface Layout {
  offsets: Float64Array;
  total: number;
  indexByKey: Map<string, number>;
}

function computeLayout(rows: Row[], heights: Map<string, number>): Layout {
  const offsets = new Float64Array(rows.length + 1);
  const indexByKey = new Map<string, number>();
  for (let i = 0; i < rows.length; i += 1) {
    const row = rows[i] as Row;
    indexByKey.set(row.key, i);
    offsets[i + 1] = (offsets[i] ?? 0) + (heights.get(row.key) ?? estimateHeight(row));
  }
  return { offsets, total: offsets[rows.length] ?? 0, indexByKey };
}

/** Index of the last row whose top is at or above `y`. */
function rowAt(offsets: Float64Array, count: number, y: number): number {
  let low = 0;
  let high = count - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if ((offsets[mid] ?? 0) <= y) low = mid;
    else high = mid - 1;
  }
  return Math.max(0, low);
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
  const heights = useRef(new Map<string, number>());
  const [measured, bumpMeasured] = useReducer((n: number) => n + 1, 0);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(FALLBACK_VIEWPORT_PX);
  const [atBottom, setAtBottom] = useState(true);
  const stickToBottom = useRef(true);
  const anchor = useRef<{ key: string; offset: number } | null>(null);
  const lastKey = useRef<string | null>(null);

  // The day labels change at midnight; recomputing on each new message list is enough.
  const rows = useMemo(
    () => buildRows(messages, isGroup, hasMore, Date.now()),
    [messages, isGroup, hasMore],
  );
  // biome-ignore lint/correctness/useExhaustiveDependencies: `measured` signals new heights in the ref.
  const layout = useMemo(() => computeLayout(rows, heights.current), [rows, measured]);
  const layoutRef = useRef(layout);
  layoutRef.current = layout;

  const canLoadOlder = hasMore && !loadingOlder;
  const loadOlderRef = useRef(onLoadOlder);
  loadOlderRef.current = onLoadOlder;

  const updateFromScroll = useCallback(
    (element: HTMLDivElement) => {
      const { offsets, total } = layoutRef.current;
      const top = element.scrollTop;
      const height = element.clientHeight > 0 ? element.clientHeight : FALLBACK_VIEWPORT_PX;
      const bottom = total - top - height < BOTTOM_SLACK_PX;
      stickToBottom.current = bottom;
      setAtBottom(bottom);
      setScrollTop(top);
      // Anchor to a message row: day separators and the start marker change keys when older
      // messages arrive above them.
      let index = rowAt(offsets, rows.length, top);
      while (index < rows.length - 1 && rows[index]?.kind !== "message") index += 1;
      const row = rows[index];
      anchor.current =
        row === undefined ? null : { key: row.key, offset: (offsets[index] ?? 0) - top };
      if (top < LOAD_OLDER_THRESHOLD_PX && canLoadOlder) loadOlderRef.current();
    },
    [rows, canLoadOlder],
  );

  // Track the viewport height.
  useLayoutEffect(() => {
    const element = scrollRef.current;
    if (element === null) return;
    const update = () => {
      if (element.clientHeight > 0) setViewport(element.clientHeight);
    };
    update();
    if (typeof ResizeObserver === "undefined") {
      window.addEventListener("resize", update);
      return () => window.removeEventListener("resize", update);
    }
    const observer = new ResizeObserver(update);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  // Keep the reading position: at the bottom if we were there (or I just sent something),
  // otherwise the anchored row stays where it was on screen.
  useLayoutEffect(() => {
    const element = scrollRef.current;
    if (element === null) return;
    const lastRow = rows[rows.length - 1];
    const newLast = lastRow !== undefined && lastRow.key !== lastKey.current;
    lastKey.current = lastRow?.key ?? null;
    if (newLast && lastRow?.kind === "message" && lastRow.message.isMine) {
      stickToBottom.current = true;
    }
    let target: number | null = null;
    if (stickToBottom.current) {
      target = Math.max(0, layout.total - viewport);
    } else if (anchor.current !== null) {
      const index = layout.indexByKey.get(anchor.current.key);
      if (index !== undefined) target = (layout.offsets[index] ?? 0) - anchor.current.offset;
    }
    if (target !== null && Math.abs(element.scrollTop - target) > 0.5) {
      element.scrollTop = target;
      setScrollTop(element.scrollTop);
    }
    if (stickToBottom.current) setAtBottom(true);
  }, [layout, rows, viewport]);

  // A short first page leaves nothing to scroll: fetch older messages until the view is full.
  useEffect(() => {
    if (canLoadOlder && layout.total < viewport) loadOlderRef.current();
  }, [canLoadOlder, layout.total, viewport]);

  // Measure rendered rows; a changed height re-lays out the list.
  const observer = useRef<ResizeObserver | null>(null);
  useEffect(() => {
    if (typeof ResizeObserver === "undefined") return;
    observer.current = new ResizeObserver((entries) => {
      let changed = false;
      for (const entry of entries) {
        const element = entry.target as HTMLElement;
        const key = element.dataset.rowKey;
        const height = element.offsetHeight;
        if (key === undefined || height === 0) continue;
        if (heights.current.get(key) !== height) {
          heights.current.set(key, height);
          changed = true;
        }
      }
      if (changed) bumpMeasured();
    });
    return () => observer.current?.disconnect();
  }, []);
  const measureRef = useCallback((element: HTMLDivElement | null) => {
    if (element === null) return;
    const key = element.dataset.rowKey;
    const height = element.offsetHeight;
    if (key !== undefined && height > 0 && heights.current.get(key) !== height) {
      heights.current.set(key, height);
      bumpMeasured();
    }
    observer.current?.observe(element);
  }, []);

  const first = rowAt(layout.offsets, rows.length, scrollTop - OVERSCAN_PX);
  let last = rowAt(layout.offsets, rows.length, scrollTop + viewport + OVERSCAN_PX);
  if (rows.length === 0) last = -1;

  const visible: ReactElement[] = [];
  for (let i = first; i <= last; i += 1) {
    const row = rows[i];
    if (row === undefined) continue;
    visible.push(
      <div
        key={row.key}
        ref={measureRef}
        data-row-key={row.key}
        className="row"
        style={{ transform: `translateY(${layout.offsets[i] ?? 0}px)` }}
      >
        {row.kind === "start" ? (
          <p className="conversation-start">This is the beginning of the conversation.</p>
        ) : row.kind === "day" ? (
          <div className="day-separator">
            <h2 className="day-label">{row.label}</h2>
          </div>
        ) : (
          <MessageRow
            message={row.message}
            showSender={row.showSender}
            runEnd={row.runEnd}
            onRetry={onRetry}
            position={i + 1}
            setSize={rows.length}
          />
        )}
      </div>,
    );
  }

  const jumpToLatest = () => {
    const element = scrollRef.current;
    if (element === null) return;
    stickToBottom.current = true;
    element.scrollTop = Math.max(0, layout.total - viewport);
    setScrollTop(element.scrollTop);
    setAtBottom(true);
  };

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
        onScroll={(event) => updateFromScroll(event.currentTarget)}
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
        <div className="message-list-inner" style={{ height: layout.total }}>
          {visible}
        </div>
      </div>
      {!atBottom ? (
        <button type="button" className="jump-latest" onClick={jumpToLatest}>
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
