import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { EngineError } from "../engine/api";
import { FakeEngine, makeConversation, makeMessage } from "../test/fakeEngine";
import { renderWithEngine } from "../test/render";
import { Messenger } from "./Messenger";

const STRANGER = "0x5757000000000000000000000000000000000057";

function setup() {
  const engine = new FakeEngine();
  const now = Date.now();
  engine.addConversation(
    makeConversation({ id: "dm-friend", title: "0xf00d…0001", lastActivityMs: now - 60_000 }),
  );
  engine.addConversation(
    makeConversation({
      id: "dm-stranger",
      title: "0x5757…0057",
      peerAddress: STRANGER,
      consent: "unknown",
      unreadCount: 1,
      lastActivityMs: now - 1000,
    }),
    [makeMessage({ id: "s1", text: "hi, do you remember me?", sentAtMs: now - 1000 })],
  );
  engine.addConversation(
    makeConversation({
      id: "group-spam",
      kind: "group",
      title: "Free tokens",
      peerAddress: null,
      consent: "unknown",
      lastActivityMs: now - 5000,
      memberCount: 40,
    }),
    [makeMessage({ id: "g1", text: "claim now", sentAtMs: now - 5000 })],
  );
  renderWithEngine(
    <Messenger
      info={engine.info}
      onNetworkChanged={() => undefined}
      walletConnectProjectId={null}
    />,
    engine,
  );
  return { engine, now };
}

function listIds(): string[] {
  return screen
    .queryAllByTestId("conversation-item")
    .map((item) => item.dataset.conversationId ?? "");
}

function requestIds(): string[] {
  return screen.queryAllByTestId("request-item").map((item) => item.dataset.conversationId ?? "");
}

async function openRequests() {
  await userEvent.click(screen.getByRole("tab", { name: "Requests" }));
  await waitFor(() => expect(requestIds().length).toBeGreaterThan(0));
}

async function openRequest(title: string) {
  await openRequests();
  const item = screen
    .getAllByTestId("request-item")
    .find((i) => within(i).queryByText(title) !== null) as HTMLElement;
  await userEvent.click(within(item).getByRole("button"));
  return screen.findByRole("region", { name: "Message request" });
}

describe("Requests", () => {
  it("keeps requests out of the list and counts them on the Requests tab", async () => {
    setup();
    await waitFor(() => expect(listIds()).toEqual(["dm-friend"]));
    const tab = screen.getByRole("tab", { name: "Requests" });
    expect(tab).toHaveAccessibleDescription("2 requests waiting");
    expect(within(tab).getByTestId("requests-count")).toHaveTextContent("2");

    await openRequests();
    expect(requestIds()).toEqual(["dm-stranger", "group-spam"]);
    expect(tab).toHaveAttribute("aria-selected", "true");
    expect(screen.queryAllByTestId("conversation-item")).toHaveLength(0);
  });

  it("shows a request's messages read-only, without telling the sender it was read", async () => {
    const { engine } = setup();
    const markRead = vi.spyOn(engine, "markRead");
    const bar = await openRequest("0x5757…0057");
    expect(await screen.findByText("hi, do you remember me?")).toBeInTheDocument();
    expect(within(bar).getByRole("button", { name: "Accept" })).toBeInTheDocument();
    expect(within(bar).getByRole("button", { name: "Delete" })).toBeInTheDocument();
    expect(within(bar).getByRole("button", { name: "Block" })).toBeInTheDocument();
    // No composer and no actions on the messages.
    expect(screen.queryByTestId("composer-input")).toBeNull();
    expect(screen.queryByRole("group", { name: "Message actions" })).toBeNull();
    expect(markRead).not.toHaveBeenCalled();
  });

  it("accepts a request: it moves to the list and the composer appears", async () => {
    const { engine } = setup();
    const accept = vi.spyOn(engine, "acceptRequest");
    const bar = await openRequest("0x5757…0057");
    await userEvent.click(within(bar).getByRole("button", { name: "Accept" }));
    expect(accept).toHaveBeenCalledWith("dm-stranger");
    expect(await screen.findByTestId("composer-input")).toBeInTheDocument();
    expect(screen.queryByRole("region", { name: "Message request" })).toBeNull();
    // The sidebar shows the list again, with the accepted conversation in it.
    await waitFor(() => expect(listIds()).toEqual(["dm-stranger", "dm-friend"]));
    expect(screen.getByRole("tab", { name: "Requests" })).toHaveAccessibleDescription(
      "1 request waiting",
    );
  });

  it("deletes a request at once", async () => {
    const { engine } = setup();
    const remove = vi.spyOn(engine, "deleteRequest");
    const bar = await openRequest("Free tokens");
    await userEvent.click(within(bar).getByRole("button", { name: "Delete" }));
    expect(remove).toHaveBeenCalledWith("group-spam");
    expect(await screen.findByText(/The request “Free tokens” was deleted/)).toBeInTheDocument();
    expect(requestIds()).toEqual(["dm-stranger"]);
    expect(listIds()).toEqual([]);
  });

  it("blocks only after a confirmation in place, and can be cancelled", async () => {
    const { engine } = setup();
    const block = vi.spyOn(engine, "blockConversation");
    const bar = await openRequest("0x5757…0057");
    await userEvent.click(within(bar).getByRole("button", { name: "Block" }));
    const confirm = within(bar).getByRole("group", { name: /Block this person\?/ });
    expect(block).not.toHaveBeenCalled();
    // Focus starts on Cancel; Escape backs out.
    expect(within(confirm).getByRole("button", { name: "Cancel" })).toHaveFocus();
    await userEvent.keyboard("{Escape}");
    expect(within(bar).queryByRole("group")).toBeNull();
    expect(block).not.toHaveBeenCalled();

    await userEvent.click(within(bar).getByRole("button", { name: "Block" }));
    await userEvent.click(within(bar).getByRole("button", { name: "Block" }));
    expect(block).toHaveBeenCalledWith("dm-stranger");
    expect(
      await screen.findByText(/Blocked\. Nothing more from “0x5757…0057”/),
    ).toBeInTheDocument();
    expect(requestIds()).toEqual(["group-spam"]);
  });

  it("shows the engine's refusal and keeps the request", async () => {
    const { engine } = setup();
    engine.failures.set(
      "acceptRequest",
      new EngineError("store.unavailable", "The store is busy."),
    );
    const bar = await openRequest("0x5757…0057");
    await userEvent.click(within(bar).getByRole("button", { name: "Accept" }));
    expect(await within(bar).findByRole("alert")).toHaveTextContent("The store is busy.");
    expect(within(bar).getByRole("button", { name: "Accept" })).toBeEnabled();
  });

  it("routes conversation events by consent", async () => {
    const { engine, now } = setup();
    await waitFor(() => expect(listIds()).toEqual(["dm-friend"]));
    const newcomer = makeConversation({
      id: "dm-new",
      title: "0x9999…9999",
      consent: "unknown",
      lastActivityMs: now,
    });
    act(() => engine.emit({ kind: "conversation", conversation: newcomer }));
    expect(listIds()).toEqual(["dm-friend"]);
    expect(screen.getByRole("tab", { name: "Requests" })).toHaveAccessibleDescription(
      "3 requests waiting",
    );
    // Accepted on another device: it moves to the list.
    act(() =>
      engine.emit({ kind: "conversation", conversation: { ...newcomer, consent: "allowed" } }),
    );
    expect(listIds()).toEqual(["dm-new", "dm-friend"]);
    // Blocked: it leaves both.
    act(() =>
      engine.emit({ kind: "conversation", conversation: { ...newcomer, consent: "denied" } }),
    );
    expect(listIds()).toEqual(["dm-friend"]);
    expect(screen.getByRole("tab", { name: "Requests" })).toHaveAccessibleDescription(
      "2 requests waiting",
    );
  });

  it("switches between the list and Requests with the arrow keys", async () => {
    setup();
    await waitFor(() => expect(listIds()).toEqual(["dm-friend"]));
    const conversationsTab = screen.getByRole("tab", { name: "Conversations" });
    conversationsTab.focus();
    await userEvent.keyboard("{ArrowRight}");
    const requestsTab = screen.getByRole("tab", { name: "Requests" });
    expect(requestsTab).toHaveFocus();
    expect(requestsTab).toHaveAttribute("aria-selected", "true");
    expect(requestIds()).toEqual(["dm-stranger", "group-spam"]);
    await userEvent.keyboard("{ArrowLeft}");
    expect(conversationsTab).toHaveFocus();
    expect(listIds()).toEqual(["dm-friend"]);
  });
});
