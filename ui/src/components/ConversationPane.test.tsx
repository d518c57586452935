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
