import { act, fireEvent, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { MessageView } from "../engine/api";
import { FakeEngine, makeConversation, makeMessage } from "../test/fakeEngine";
import { renderWithEngine, todayAt } from "../test/render";
import { ConversationPane } from "./ConversationPane";

function history(conversationId: string, count: number): MessageView[] {
  const start = todayAt(11) - count * 1000;
  return Array.from({ length: count }, (_, i) =>
    makeMessage({ id: `h${i}`, conversationId, text: `history ${i}`, sentAtMs: start + i * 1000 }),
  );
}

function setup(count = 120, connection: "online" | "offline" = "online") {
  const engine = new FakeEngine();
  const conversation = makeConversation({ id: "c-pane", unreadCount: 1 });
  engine.addConversation(conversation, history("c-pane", count));
  const onRead = vi.fn();
  renderWithEngine(
    <ConversationPane
      conversation={conversation}
      connection={{
        state: connection,
        detail: connection === "offline" ? "node unreachable" : null,
      }}
      infoOpen={false}
      onToggleInfo={() => undefined}
      onBack={() => undefined}
      onRead={onRead}
    />,
    engine,
  );
  return { engine, conversation, onRead };
}

describe("ConversationPane", () => {
  it("loads the newest page, marks the conversation read, and pages back from the oldest shown", async () => {
    const { engine, onRead } = setup();
    const listMessages = vi.spyOn(engine, "listMessages");
    expect(await screen.findByText("history 119")).toBeInTheDocument();
    await waitFor(() => expect(onRead).toHaveBeenCalledWith("c-pane"));

    const log = screen.getByTestId("message-list");
    act(() => {
      log.scrollTop = 0;
      fireEvent.scroll(log);
    });
    await waitFor(() => expect(listMessages).toHaveBeenCalledWith("c-pane", "h70", 50));
    await waitFor(() => expect(screen.getByText("history 69")).toBeInTheDocument());
  });

  it("sends through the engine and shows the message as it moves from sending to sent", async () => {
    const { engine } = setup(3);
    await screen.findByText("history 2");
    const sendText = vi.spyOn(engine, "sendText");
    await userEvent.type(screen.getByTestId("composer-input"), "on my way{Enter}");
    expect(sendText).toHaveBeenCalledWith("c-pane", "on my way", true);
    const mine = await screen.findByText("on my way");
    const row = mine.closest("[data-testid='message']") as HTMLElement;
    expect(row.dataset.status).toBe("sending");
    expect(row.dataset.mine).toBe("true");

    const sent = (await sendText.mock.results[0]?.value) as MessageView;
    act(() => engine.emit({ kind: "message", message: { ...sent, status: "failed" } }));
    expect(row.dataset.status).toBe("failed");
    const retry = vi.spyOn(engine, "retryMessage");
    await userEvent.click(screen.getByRole("button", { name: "Retry" }));
    expect(retry).toHaveBeenCalledWith(sent.id);
    act(() => engine.emit({ kind: "message", message: { ...sent, status: "sent" } }));
    expect(screen.getAllByText("on my way")).toHaveLength(1);
    expect(row.dataset.status).toBe("sent");
  });

  it("shows new messages from others arriving by event, and ignores other conversations", async () => {
    const { engine } = setup(3);
    await screen.findByText("history 2");
    act(() => {
      engine.emit({
        kind: "message",
        message: makeMessage({
          conversationId: "c-pane",
          text: "incoming!",
          sentAtMs: todayAt(11, 30),
        }),
      });
      engine.emit({
        kind: "message",
        message: makeMessage({
          conversationId: "elsewhere",
          text: "not here",
          sentAtMs: todayAt(11, 31),
        }),
      });
    });
    expect(screen.getByText("incoming!")).toBeInTheDocument();
    expect(screen.queryByText("not here")).toBeNull();
  });

  it("warns while offline that messages are queued", async () => {
    setup(3, "offline");
    await screen.findByText("history 2");
    expect(screen.getByText("You're offline.")).toBeInTheDocument();
    expect(screen.getByText(/queued/)).toHaveTextContent("node unreachable");
  });
});

describe("the bounded window of messages", () => {
  function held(): number {
    const first = screen.getAllByTestId("message")[0];
    return Number(first?.getAttribute("aria-setsize") ?? 0);
  }

  async function scrollAndLoad(log: HTMLElement, to: "top" | "bottom", calls: () => number) {
    const before = calls();
    act(() => {
      log.scrollTop = to === "top" ? 0 : log.scrollHeight;
      fireEvent.scroll(log);
    });
    await waitFor(() => expect(calls()).toBe(before + 1));
    await waitFor(() => expect(screen.queryByRole("status")).toBeNull());
  }

  it("holds at most 300 messages while scrolling up and back down a long conversation", async () => {
    const { engine } = setup(2000);
    const listMessages = vi.spyOn(engine, "listMessages");
    const calls = () => listMessages.mock.calls.length;
    expect(await screen.findByText("history 1999")).toBeInTheDocument();
    const log = screen.getByTestId("message-list");

    // Twelve pages up: 650 messages seen, at most 300 held, and few rendered.
    for (let page = 0; page < 12; page += 1) {
      await scrollAndLoad(log, "top", calls);
      expect(held()).toBeLessThanOrEqual(300);
      expect(screen.getAllByTestId("message").length).toBeLessThan(60);
    }
    expect(held()).toBe(300);
    expect(listMessages).toHaveBeenLastCalledWith("c-pane", "h1400", 50);
    expect(screen.queryByText("history 1999")).toBeNull();
    // Away from the newest, the way back is offered.
    expect(screen.getByRole("button", { name: /latest messages/i })).toBeInTheDocument();

    // Something new while away does not grow the window.
    const news = makeMessage({
      conversationId: "c-pane",
      text: "news!",
      sentAtMs: todayAt(11, 59),
    });
    engine.messages.get("c-pane")?.push(news);
    act(() => engine.emit({ kind: "message", message: news }));
    expect(held()).toBe(300);

    // Back down, a page at a time, to the newest: the window stays bounded.
    const lastBefore = () => listMessages.mock.calls[calls() - 1]?.[1];
    for (let page = 0; page < 12 && lastBefore() !== null; page += 1) {
      await scrollAndLoad(log, "bottom", calls);
      expect(held()).toBeLessThanOrEqual(300);
    }
    // The pages came back in order from where the window ended, then the newest ones.
    const newer = listMessages.mock.calls.slice(13).map(([, before, limit]) => [before, limit]);
    expect(newer).toEqual([
      ["h1750", 50],
      ["h1800", 50],
      ["h1850", 50],
      ["h1900", 50],
      ["h1950", 50],
      [null, 100],
    ]);
    expect(held()).toBe(300);
    act(() => {
      log.scrollTop = log.scrollHeight;
      fireEvent.scroll(log);
    });
    expect(await screen.findByText("news!")).toBeInTheDocument();
    expect(screen.getByText("history 1999")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /latest messages/i })).toBeNull();
  });

  it("goes straight to the newest messages with Latest messages", async () => {
    const { engine } = setup(1000);
    const listMessages = vi.spyOn(engine, "listMessages");
    const calls = () => listMessages.mock.calls.length;
    await screen.findByText("history 999");
    const log = screen.getByTestId("message-list");
    for (let page = 0; page < 7; page += 1) await scrollAndLoad(log, "top", calls);
    expect(screen.queryByText("history 999")).toBeNull();

    await userEvent.click(screen.getByRole("button", { name: /latest messages/i }));
    expect(await screen.findByText("history 999")).toBeInTheDocument();
    expect(listMessages).toHaveBeenLastCalledWith("c-pane", null, 50);
    expect(held()).toBe(50);
  });

  it("shows a message I send while reading far back, with the newest", async () => {
    const { engine } = setup(1000);
    const listMessages = vi.spyOn(engine, "listMessages");
    const calls = () => listMessages.mock.calls.length;
    await screen.findByText("history 999");
    const log = screen.getByTestId("message-list");
    for (let page = 0; page < 7; page += 1) await scrollAndLoad(log, "top", calls);
    await userEvent.type(screen.getByTestId("composer-input"), "back in a bit{Enter}");
    expect(await screen.findByText("back in a bit")).toBeInTheDocument();
    expect(screen.getByText("history 999")).toBeInTheDocument();
    expect(held()).toBeLessThanOrEqual(300);
  });
});
