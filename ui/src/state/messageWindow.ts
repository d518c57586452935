import type { MessagePage, MessageView } from "../engine/api";
import { upsertMessage } from "./conversations";

/**
 * The bounded window of messages a conversation view holds. Scrolling up adds older pages and
 * lets the newest go beyond WINDOW_SIZE; scrolling back down fetches them again, a page at a
 * time, until the window reaches the newest message. Only the ids of the messages let go are
 * kept (the page boundaries `list_messages` needs to fetch them again, as it pages backwards).
 */

/** Messages one conversation view holds at most. */
export const WINDOW_SIZE = 300;
/** Messages fetched per call. */
export const PAGE_SIZE = 50;

export interface MessageWindow {
  /** Oldest first; at most WINDOW_SIZE. */
  messages: MessageView[];
  /** Older messages exist before the window. */
  hasOlder: boolean;
  /** Ids of the messages just after the window that it let go, oldest first. */
  newerIds: string[];
  /** Messages arrived after the window while it was away from the newest: not taken in. */
  missedNewer: boolean;
}

export const EMPTY_WINDOW: MessageWindow = {
  messages: [],
  hasOlder: false,
  newerIds: [],
  missedNewer: false,
};

/** The window does not reach the newest message. */
export function hasNewer(window: MessageWindow): boolean {
  return window.newerIds.length > 0 || window.missedNewer;
}

/** The window over the newest page. */
export function newestWindow(page: MessagePage): MessageWindow {
  const messages = page.messages.slice(-WINDOW_SIZE);
  return {
    messages,
    hasOlder: page.hasMore || messages.length < page.messages.length,
    newerIds: [],
    missedNewer: false,
  };
}

function without(known: MessageView[], page: MessageView[]): MessageView[] {
  const ids = new Set(known.map((m) => m.id));
  return page.filter((m) => !ids.has(m.id));
}

/** Adds the page before the window; the newest beyond WINDOW_SIZE are let go. */
export function withOlderPage(window: MessageWindow, page: MessagePage): MessageWindow {
  const all = [...without(window.messages, page.messages), ...window.messages];
  if (all.length <= WINDOW_SIZE) return { ...window, messages: all, hasOlder: page.hasMore };
  const dropped = all.slice(WINDOW_SIZE).map((m) => m.id);
  return {
    ...window,
    messages: all.slice(0, WINDOW_SIZE),
    hasOlder: page.hasMore,
    newerIds: [...dropped, ...window.newerIds],
  };
}

export interface NewerQuery {
  beforeId: string | null;
  limit: number;
}

/**
 * The `list_messages` call that fetches the messages just after the window: the next run of
 * those let go (up to the first one after it), or the newest ones once few remain.
 */
export function newerQuery(window: MessageWindow): NewerQuery | null {
  if (!hasNewer(window)) return null;
  const bound = window.newerIds[PAGE_SIZE];
  if (bound !== undefined) return { beforeId: bound, limit: PAGE_SIZE };
  // The rest and a page more: room for what arrived meanwhile, so the page meets the window.
  return { beforeId: null, limit: window.newerIds.length + PAGE_SIZE };
}

/**
 * Adds the page `query` fetched after the window; the oldest beyond WINDOW_SIZE are let go.
 * Null when the newest page does not reach back to the window (more arrived than a page holds):
 * the view then starts again from the newest page.
 */
export function withNewerPage(
  window: MessageWindow,
  query: NewerQuery,
  page: MessagePage,
): MessageWindow | null {
  let newerIds: string[] = [];
  let missedNewer = false;
  if (query.beforeId !== null) {
    const at = window.newerIds.indexOf(query.beforeId);
    newerIds = window.newerIds.slice(at < 0 ? PAGE_SIZE : at);
    missedNewer = window.missedNewer;
  } else {
    const joint = window.newerIds[0] ?? window.messages[window.messages.length - 1]?.id;
    const reaches = joint === undefined || page.messages.some((m) => m.id === joint);
    if (!reaches && page.hasMore) return null;
  }
  const all = [...window.messages, ...without(window.messages, page.messages)];
  const cut = Math.max(0, all.length - WINDOW_SIZE);
  return {
    messages: cut > 0 ? all.slice(cut) : all,
    hasOlder: window.hasOlder || cut > 0,
    newerIds,
    missedNewer,
  };
}

/** Takes out messages the engine removed (they disappeared). */
export function withoutMessages(window: MessageWindow, ids: string[]): MessageWindow {
  const gone = new Set(ids);
  const messages = window.messages.filter((m) => !gone.has(m.id));
  const newerIds = window.newerIds.filter((id) => !gone.has(id));
  if (messages.length === window.messages.length && newerIds.length === window.newerIds.length) {
    return window;
  }
  return { ...window, messages, newerIds };
}

/**
 * A message from an event or a send. One the window holds is replaced; another is added unless
 * it lies beyond either end of a window that does not reach that end (it comes with the pages
 * there). When that makes
 * the window too long, the end away from the person goes: the oldest while they follow the
 * newest (`following`), else the newest.
 */
export function withMessage(
  window: MessageWindow,
  message: MessageView,
  following: boolean,
): MessageWindow {
  if (window.messages.some((m) => m.id === message.id)) {
    return { ...window, messages: upsertMessage(window.messages, message) };
  }
  if (window.newerIds.includes(message.id)) return window;
  // One from before the window (reacted to, edited) comes with the older pages.
  const first = window.messages[0];
  if (window.hasOlder && first !== undefined && message.sentAtMs < first.sentAtMs) return window;
  const last = window.messages[window.messages.length - 1];
  const isNewest = last === undefined || message.sentAtMs >= last.sentAtMs;
  if (hasNewer(window) && isNewest) {
    return window.missedNewer ? window : { ...window, missedNewer: true };
  }
  const all = upsertMessage(window.messages, message);
  if (all.length <= WINDOW_SIZE) return { ...window, messages: all };
  if (following) {
    return { ...window, messages: all.slice(all.length - WINDOW_SIZE), hasOlder: true };
  }
  const dropped = all.slice(WINDOW_SIZE).map((m) => m.id);
  return {
    ...window,
    messages: all.slice(0, WINDOW_SIZE),
    newerIds: [...dropped, ...window.newerIds],
  };
}
