import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { FakeEngine, makeConversation, makeMessage } from "../test/fakeEngine";
import { renderWithEngine } from "../test/render";
import { Messenger } from "./Messenger";

const ALICE = "0xa11ce00000000000000000000000000000000001";
const BOB = "0xb0b0000000000000000000000000000000000002";

function setup() {
  const engine = new FakeEngine();
  const now = Date.now();
  const dm = makeConversation({
    id: "dm-alice",
    title: "0xa11c…0001",
    peerAddress: ALICE,
    lastActivityMs: now - 60_000,
    unreadCount: 2,
    lastMessage: makeMessage({
      id: "a-last",
      conversationId: "dm-alice",
      text: "see you",
      sentAtMs: now - 60_000,
    }),
  });
  const group = makeConversation({
    id: "group-hikers",
    kind: "group",
    title: "Hikers",
    peerAddress: null,
    lastActivityMs: now - 10_000,
    unreadCount: 0,
    memberCount: 4,
  });
  const old = makeConversation({
    id: "dm-bob",
    title: "0xb0b0…0002",
    peerAddress: BOB,
    lastActivityMs: now - 86_400_000 * 3,
    unreadCount: 3,
  });
  engine.addConversation(dm);
  engine.addConversation(old);
  engine.addConversation(group);
  renderWithEngine(
    <Messenger
      info={engine.info}
      onNetworkChanged={() => undefined}
      walletConnectProjectId={null}
    />,
    engine,
  );
  return { engine, dm, group, old, now };
}

function itemIds(): string[] {
  return screen
    .getAllByTestId("conversation-item")
    .map((item) => item.dataset.conversationId ?? "");
}

describe("conversation list", () => {
  it("orders conversations by last activity under the engine's titles", async () => {
    setup();
    await waitFor(() => expect(itemIds()).toEqual(["group-hikers", "dm-alice", "dm-bob"]));
    const items = screen.getAllByTestId("conversation-item");
    expect(within(items[1] as HTMLElement).getByText("0xa11c…0001")).toBeInTheDocument();
    expect(within(items[1] as HTMLElement).getByText("see you")).toBeInTheDocument();
  });

  it("shows unread badges and the total in the window title", async () => {
    setup();
    await waitFor(() => expect(screen.getAllByTestId("conversation-item")).toHaveLength(3));
    const badges = screen.getAllByTestId("unread-badge").map((b) => b.textContent);
    expect(badges).toEqual(["22 unread", "33 unread"]);
    expect(screen.getByText("2 unread")).toBeInTheDocument();
    await waitFor(() => expect(document.title).toBe("(5) ARX"));
  });

  it("filters by name or address", async () => {
    setup();
    await waitFor(() => expect(screen.getAllByTestId("conversation-item")).toHaveLength(3));
    const search = screen.getByRole("searchbox", { name: /search conversations/i });
    await userEvent.type(search, "hik");
    expect(itemIds()).toEqual(["group-hikers"]);
    await userEvent.clear(search);
    await userEvent.type(search, "B0B0");
    expect(itemIds()).toEqual(["dm-bob"]);
    await userEvent.clear(search);
    await userEvent.type(search, "nobody");
    expect(screen.queryAllByTestId("conversation-item")).toHaveLength(0);
    expect(screen.getByText(/No conversation matches/)).toBeInTheDocument();
  });

  it("updates from conversation and message events", async () => {
    const { engine, now, dm } = setup();
    await waitFor(() => expect(itemIds()).toHaveLength(3));

    // A new message moves its conversation to the top, with preview and unread count.
    act(() =>
      engine.emit({
        kind: "message",
        message: makeMessage({
          id: "b-new",
          conversationId: "dm-bob",
          text: "hey there",
          sentAtMs: now,
        }),
      }),
    );
    expect(itemIds()[0]).toBe("dm-bob");
    const bob = screen.getAllByTestId("conversation-item")[0] as HTMLElement;
    expect(within(bob).getByText("hey there")).toBeInTheDocument();
    expect(within(bob).getByTestId("unread-badge")).toHaveTextContent("4 unread");
    await waitFor(() => expect(document.title).toBe("(6) ARX"));

    // The engine's conversation event is the truth and replaces the entry.
    act(() =>
      engine.emit({
        kind: "conversation",
        conversation: { ...dm, lastActivityMs: now + 5000, unreadCount: 7 },
      }),
    );
    expect(itemIds()[0]).toBe("dm-alice");
    await waitFor(() => expect(document.title).toBe("(11) ARX"));

    // A new conversation appears.
    act(() =>
      engine.emit({
        kind: "conversation",
        conversation: makeConversation({
          id: "new-group",
          kind: "group",
          title: "Book club",
          peerAddress: null,
          lastActivityMs: now + 9000,
        }),
      }),
    );
    expect(itemIds()[0]).toBe("new-group");
    expect(screen.getByText("Book club")).toBeInTheDocument();

    // And a removed one goes away.
    act(() => engine.emit({ kind: "conversationRemoved", conversationId: "group-hikers" }));
    expect(itemIds()).not.toContain("group-hikers");
  });

  it("opens a conversation with the keyboard and marks it read", async () => {
    const { engine } = setup();
    await waitFor(() => expect(itemIds()).toHaveLength(3));
    const buttons = screen
      .getAllByTestId("conversation-item")
      .map((item) => within(item).getByRole("button"));
    (buttons[0] as HTMLElement).focus();
    fireEvent.keyDown(buttons[0] as HTMLElement, { key: "ArrowDown" });
    expect(document.activeElement).toBe(buttons[1]);
    await userEvent.keyboard("{Enter}");
    await waitFor(() => expect(engine.conversations.get("dm-alice")?.unreadCount).toBe(0));
    await waitFor(() => expect(document.title).toBe("(3) ARX"));
    expect(screen.getByRole("heading", { level: 1, name: "0xa11c…0001" })).toBeInTheDocument();
  });

  it("opens the conversation an OS notification points at", async () => {
    const { engine } = setup();
    await waitFor(() => expect(itemIds()).toHaveLength(3));
    act(() => engine.emit({ kind: "openConversation", conversationId: "group-hikers" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Hikers" })).toBeInTheDocument();
  });
});
