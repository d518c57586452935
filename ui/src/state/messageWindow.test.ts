import { describe, expect, it } from "vitest";
import type { MessagePage, MessageView } from "../engine/api";
import { makeMessage } from "../test/fakeEngine";
import {
  EMPTY_WINDOW,
  hasNewer,
  type MessageWindow,
  type NewerQuery,
  newerQuery,
  newestWindow,
  PAGE_SIZE,
  WINDOW_SIZE,
  withMessage,
  withNewerPage,
  withOlderPage,
} from "./messageWindow";

/** A conversation of `count` messages, one a second, ids "0" … */
function conversation(count: number): MessageView[] {
  return Array.from({ length: count }, (_, i) =>
    makeMessage({ id: String(i), sentAtMs: 1_000_000 + i * 1000 }),
  );
}

/** `list_messages` over `all`, as the engine pages it (backwards from `beforeId`). */
function page(all: MessageView[], beforeId: string | null, limit: number): MessagePage {
  const end = beforeId === null ? all.length : all.findIndex((m) => m.id === beforeId);
  const start = Math.max(0, end - limit);
  return { messages: all.slice(start, end), hasMore: start > 0 };
}

function ids(window: MessageWindow): string[] {
  return window.messages.map((m) => m.id);
}

function scrolledUp(all: MessageView[], pages: number): MessageWindow {
  let window = newestWindow(page(all, null, PAGE_SIZE));
  for (let i = 0; i < pages; i += 1) {
    window = withOlderPage(window, page(all, window.messages[0]?.id ?? null, PAGE_SIZE));
  }
  return window;
}

describe("the message window", () => {
  it("lets the newest go when older pages pass the bound, keeping their ids", () => {
    const all = conversation(1000);
    const window = scrolledUp(all, 7);
    expect(window.messages).toHaveLength(WINDOW_SIZE);
    expect(ids(window)[0]).toBe("600");
    expect(ids(window).at(-1)).toBe("899");
    expect(window.newerIds).toEqual(all.slice(900).map((m) => m.id));
    expect(window.hasOlder).toBe(true);
    expect(hasNewer(window)).toBe(true);
  });

  it("fetches the let-go messages back in order and meets the newest", () => {
    const all = conversation(1000);
    let window = scrolledUp(all, 7);
    const queries = [];
    for (let query = newerQuery(window); query !== null; query = newerQuery(window)) {
      queries.push(query);
      const next = withNewerPage(window, query, page(all, query.beforeId, query.limit));
      expect(next).not.toBeNull();
      window = next as MessageWindow;
      expect(window.messages.length).toBeLessThanOrEqual(WINDOW_SIZE);
    }
    expect(queries).toEqual([
      { beforeId: "950", limit: PAGE_SIZE },
      { beforeId: null, limit: 100 },
    ]);
    expect(ids(window)).toEqual(all.slice(700).map((m) => m.id));
    expect(hasNewer(window)).toBe(false);
  });

  it("does not grow while away from the newest, and starts over when a page cannot meet it", () => {
    const all = conversation(400);
    let window = scrolledUp(all, 6);
    expect(ids(window).at(-1)).toBe("349");
    const arrivals = Array.from({ length: 120 }, (_, i) =>
      makeMessage({ id: `new-${i}`, sentAtMs: 9_000_000 + i }),
    );
    for (const message of arrivals) window = withMessage(window, message, false);
    expect(window.messages).toHaveLength(WINDOW_SIZE);
    expect(window.missedNewer).toBe(true);

    const everything = [...all, ...arrivals];
    const query = newerQuery(window);
    expect(query).toEqual({ beforeId: null, limit: 100 });
    // 120 arrived: the newest 100 no longer reach back to the window.
    expect(withNewerPage(window, query as NewerQuery, page(everything, null, 100))).toBeNull();
    // Fewer would have: they are taken in after the window.
    const few = [...all, ...arrivals.slice(0, 30)];
    const met = withNewerPage(window, query as NewerQuery, page(few, null, 100));
    expect(met?.messages.at(-1)?.id).toBe("new-29");
    expect(met?.messages).toHaveLength(WINDOW_SIZE);
  });

  it("applies changes to held messages and ignores those beyond its ends", () => {
    const all = conversation(1000);
    const window = scrolledUp(all, 7);
    const held = all[700] as MessageView;
    const reacted = { ...held, reactions: [{ emoji: "👍", count: 1, mine: false }] };
    expect(withMessage(window, reacted, false).messages[100]).toEqual(reacted);
    // Reacted to below the window (let go) or above it (not loaded): nothing changes.
    expect(withMessage(window, { ...(all[950] as MessageView), edited: true }, false)).toBe(window);
    expect(withMessage(window, { ...(all[10] as MessageView), edited: true }, false)).toBe(window);
  });

  it("takes in new messages at the newest, letting the oldest or the newest go", () => {
    const all = conversation(WINDOW_SIZE);
    const full = newestWindow({ messages: all, hasMore: false });
    const arrival = makeMessage({ id: "new", sentAtMs: 9_000_000 });
    // Following the newest: the oldest goes.
    const followed = withMessage(full, arrival, true);
    expect(ids(followed).at(-1)).toBe("new");
    expect(ids(followed)[0]).toBe("1");
    expect(followed.hasOlder).toBe(true);
    // Reading further up: the arrival waits below.
    const reading = withMessage(full, arrival, false);
    expect(ids(reading)[0]).toBe("0");
    expect(reading.newerIds).toEqual(["new"]);
    // Below the bound, everything is kept.
    expect(withMessage(EMPTY_WINDOW, arrival, false).messages).toEqual([arrival]);
  });
});
