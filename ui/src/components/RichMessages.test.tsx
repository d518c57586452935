import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { EngineError, type MessageView } from "../engine/api";
import {
  FakeEngine,
  ME,
  makeAttachment,
  makeConversation,
  makeImage,
  makeMessage,
  PIXEL_DATA_URL,
} from "../test/fakeEngine";
import { renderWithEngine, todayAt } from "../test/render";
import { ConversationPane } from "./ConversationPane";

function setup(messages: MessageView[], kind: "dm" | "group" = "dm") {
  const engine = new FakeEngine();
  const conversation = makeConversation({
    id: "c-rich",
    kind,
    title: kind === "group" ? "Hikers" : "0x2222…2222",
    memberCount: kind === "group" ? 4 : 2,
  });
  engine.addConversation(conversation, messages);
  renderWithEngine(
    <ConversationPane
      conversation={conversation}
      connection={{ state: "online", detail: null }}
      infoOpen={false}
      onToggleInfo={() => undefined}
      onBack={() => undefined}
      onRead={() => undefined}
    />,
    engine,
  );
  return { engine, conversation };
}

function mine(overrides: Partial<MessageView>): MessageView {
  return makeMessage({
    isMine: true,
    senderInboxId: ME.inboxId,
    senderLabel: "You",
    ...overrides,
  });
}

async function row(text: string): Promise<HTMLElement> {
  const found = await screen.findByText(text);
  return found.closest("[data-testid='message']") as HTMLElement;
}

function rowById(id: string): HTMLElement {
  return document.querySelector(`[data-message-id="${id}"]`) as HTMLElement;
}

describe("images and files in messages", () => {
  it("shows an image's thumbnail at its aspect ratio and opens it in the viewer", async () => {
    const image = makeImage({ name: "summit.jpg", width: 1600, height: 1200 });
    const { engine } = setup([
      makeMessage({ id: "img", text: "at the top", attachments: [image], sentAtMs: todayAt(9) }),
    ]);
    const thumbnail = await screen.findByAltText("summit.jpg");
    expect(thumbnail).toHaveAttribute("src", PIXEL_DATA_URL);
    const preview = screen.getByRole("button", { name: "Open image summit.jpg" });
    // 1600×1200 fits 280 wide: 4:3.
    expect(preview.style.width).toBe("280px");
    expect(preview.style.height).toBe("210px");
    expect(screen.getByText("at the top")).toBeInTheDocument();

    const release = engine.hold("openImage");
    const openImage = vi.spyOn(engine, "openImage");
    preview.focus();
    await userEvent.keyboard("{Enter}");
    const viewer = await screen.findByRole("dialog", { name: "summit.jpg" });
    expect(openImage).toHaveBeenCalledWith("img", 0);
    // Progress while fetching (the fake reports half of it).
    expect(within(viewer).getByText("Opening the image…")).toBeInTheDocument();
    expect(within(viewer).getByRole("progressbar", { name: "Opening summit.jpg" })).toHaveAttribute(
      "value",
      "50",
    );
    act(() => release());
    const full = await within(viewer).findByTestId("viewer-image");
    expect(full).toHaveAttribute("src", PIXEL_DATA_URL);
    expect(full).toHaveAttribute("alt", "summit.jpg");

    await userEvent.click(within(viewer).getByRole("button", { name: "Save" }));
    expect(
      await within(viewer).findByText("Saved to /home/me/Downloads/summit.jpg"),
    ).toBeInTheDocument();

    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  it("says why an image could not be opened, and tries again", async () => {
    const { engine } = setup([makeMessage({ id: "img", text: "", attachments: [makeImage()] })]);
    engine.failures.set("openImage", new EngineError("network.unreachable", "IPFS is offline."));
    await userEvent.click(await screen.findByRole("button", { name: "Open image photo.jpg" }));
    const viewer = await screen.findByRole("dialog", { name: "photo.jpg" });
    expect(await within(viewer).findByRole("alert")).toHaveTextContent("IPFS is offline.");
    await userEvent.click(within(viewer).getByRole("button", { name: "Try again" }));
    expect(await within(viewer).findByTestId("viewer-image")).toBeInTheDocument();
  });

  it("shows other files as cards that save into Downloads", async () => {
    const file = makeAttachment({ name: "plan.pdf", size: 123_456, mimeType: "application/pdf" });
    const { engine } = setup([makeMessage({ id: "f", text: "the plan", attachments: [file] })]);
    const card = await screen.findByTestId("file-card");
    expect(within(card).getByText("plan.pdf")).toBeInTheDocument();
    expect(within(card).getByText("121 KB · PDF document")).toBeInTheDocument();

    const save = vi.spyOn(engine, "saveAttachment");
    const release = engine.hold("saveAttachment");
    await userEvent.click(within(card).getByRole("button", { name: "Save plan.pdf" }));
    expect(save).toHaveBeenCalledWith("f", 0);
    expect(within(card).getByRole("button", { name: "Save plan.pdf" })).toBeDisabled();
    expect(within(card).getByRole("progressbar", { name: "Saving plan.pdf" })).toBeInTheDocument();
    act(() => release());
    expect(await within(card).findByRole("status")).toHaveTextContent(
      "Saved to /home/me/Downloads/plan.pdf",
    );

    // A failure shows the engine's words.
    engine.failures.set("saveAttachment", new EngineError("app.internal", "Downloads is full."));
    await userEvent.click(within(card).getByRole("button", { name: "Save plan.pdf" }));
    expect(await within(card).findByRole("alert")).toHaveTextContent(
      "It could not be saved: Downloads is full.",
    );
  });
});

describe("sending files", () => {
  it("sends a picked file with the composer text as its caption, showing progress", async () => {
    const { engine } = setup([makeMessage({ id: "a", text: "hello" })]);
    await screen.findByText("hello");
    const sendPasted = vi.spyOn(engine, "sendPasted");
    const release = engine.hold("sendPasted");
    await userEvent.type(screen.getByTestId("composer-input"), "our route");
    const file = new File(["hi"], "route.gpx", { type: "application/gpx+xml" });
    await userEvent.upload(screen.getByTestId("attach-input"), file);

    await waitFor(() => expect(sendPasted).toHaveBeenCalledTimes(1));
    const [conversationId, name, data, caption, transferId] = sendPasted.mock.calls[0] ?? [];
    expect([conversationId, name, data, caption]).toEqual([
      "c-rich",
      "route.gpx",
      "aGk=",
      "our route",
    ]);
    expect(transferId).toMatch(/.+/);
    expect(screen.getByTestId("composer-input")).toHaveValue("");
    const uploads = screen.getByRole("list", { name: "Files being sent" });
    expect(within(uploads).getByText("Sending route.gpx…")).toBeInTheDocument();
    act(() => release());
    expect(await screen.findByText("our route")).toBeInTheDocument();
    await waitFor(() =>
      expect(screen.queryByRole("list", { name: "Files being sent" })).toBeNull(),
    );
    expect(within(await row("our route")).getByTestId("file-card")).toHaveTextContent("route.gpx");
  });

  it("refuses a file over 25 MiB and suggests dragging it in", async () => {
    const { engine } = setup([makeMessage({ id: "a", text: "hello" })]);
    await screen.findByText("hello");
    const sendPasted = vi.spyOn(engine, "sendPasted");
    await userEvent.type(screen.getByTestId("composer-input"), "the film");
    const big = new File(["x"], "film.mkv");
    Object.defineProperty(big, "size", { value: 26 * 1024 * 1024 });
    await userEvent.upload(screen.getByTestId("attach-input"), big);
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("“film.mkv” is larger than 25 MiB");
    expect(alert).toHaveTextContent("Drag it into this window");
    expect(sendPasted).not.toHaveBeenCalled();
    // The caption is given back.
    expect(screen.getByTestId("composer-input")).toHaveValue("the film");
  });

  it("sends a pasted image", async () => {
    const { engine } = setup([makeMessage({ id: "a", text: "hello" })]);
    await screen.findByText("hello");
    const sendPasted = vi.spyOn(engine, "sendPasted");
    const image = new File(["png"], "image.png", { type: "image/png" });
    fireEvent.paste(screen.getByTestId("composer-input"), {
      clipboardData: { files: [image], getData: () => "" },
    });
    await waitFor(() => expect(sendPasted).toHaveBeenCalledTimes(1));
    expect(sendPasted.mock.calls[0]?.[1]).toBe("image.png");
    expect(await screen.findByAltText("image.png")).toBeInTheDocument();
  });

  it("sends files dropped on the window by their paths", async () => {
    const { engine } = setup([makeMessage({ id: "a", text: "hello" })]);
    await screen.findByText("hello");
    const sendFiles = vi.spyOn(engine, "sendFiles");
    await userEvent.type(screen.getByTestId("composer-input"), "two files");
    act(() => engine.dropFiles(["/home/me/a.pdf", "/home/me/b.zip"]));
    await waitFor(() => expect(sendFiles).toHaveBeenCalledTimes(1));
    const [conversationId, paths, caption] = sendFiles.mock.calls[0] ?? [];
    expect([conversationId, paths, caption]).toEqual([
      "c-rich",
      ["/home/me/a.pdf", "/home/me/b.zip"],
      "two files",
    ]);
    const sent = await row("two files");
    expect(within(sent).getAllByTestId("file-card")).toHaveLength(2);
  });

  it("shows the engine's refusal of a drop and gives the caption back", async () => {
    const { engine } = setup([makeMessage({ id: "a", text: "hello" })]);
    await screen.findByText("hello");
    engine.failures.set("sendFiles", new EngineError("media.not_configured", "No IPFS node."));
    await userEvent.type(screen.getByTestId("composer-input"), "caption");
    act(() => engine.dropFiles(["/home/me/a.pdf"]));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "“a.pdf” was not sent: No IPFS node.",
    );
    expect(screen.getByTestId("composer-input")).toHaveValue("caption");
  });
});

describe("replies", () => {
  it("quotes the message above the composer and sends a reply to it", async () => {
    const { engine } = setup([
      makeMessage({ id: "q", text: "shall we go at 8?", senderLabel: "0x2222…2222" }),
    ]);
    const target = await row("shall we go at 8?");
    target.focus();
    const actions = within(target).getByRole("group", { name: "Message actions" });
    await userEvent.click(within(actions).getByRole("button", { name: "Reply" }));
    const bar = screen.getByTestId("composer-mode");
    expect(bar).toHaveTextContent("Replying to 0x2222…2222");
    expect(bar).toHaveTextContent("shall we go at 8?");
    expect(screen.getByTestId("composer-input")).toHaveFocus();

    // Escape cancels; a new message is then plain again.
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByTestId("composer-mode")).toBeNull();
    await userEvent.click(within(actions).getByRole("button", { name: "Reply" }));

    const reply = vi.spyOn(engine, "reply");
    const sendText = vi.spyOn(engine, "sendText");
    await userEvent.type(screen.getByTestId("composer-input"), "yes, 8 is fine{Enter}");
    expect(reply).toHaveBeenCalledWith("q", "yes, 8 is fine", true);
    expect(sendText).not.toHaveBeenCalled();
    const answer = await row("yes, 8 is fine");
    const quote = within(answer).getByTestId("reply-quote");
    expect(quote).toHaveTextContent("0x2222…2222");
    expect(quote).toHaveTextContent("shall we go at 8?");
    await waitFor(() => expect(screen.queryByTestId("composer-mode")).toBeNull());

    // The quote leads back to the original.
    await userEvent.click(quote);
    await waitFor(() => expect(rowById("q")).toHaveFocus());
    expect(rowById("q")).toHaveClass("highlighted");
  });

  it("cancels a reply with its Cancel button", async () => {
    setup([makeMessage({ id: "q", text: "question" })]);
    const target = await row("question");
    await userEvent.click(within(target).getByRole("button", { name: "Reply" }));
    await userEvent.click(screen.getByRole("button", { name: "Cancel reply" }));
    expect(screen.queryByTestId("composer-mode")).toBeNull();
  });

  it("shows a quote whose original is not loaded as plain text", async () => {
    setup([
      makeMessage({
        id: "r",
        text: "indeed",
        replyTo: { messageId: "far-away", senderLabel: "0x3333…3333", text: "long ago" },
      }),
    ]);
    const answer = await row("indeed");
    const quote = within(answer).getByTestId("reply-quote");
    expect(quote.tagName).not.toBe("BUTTON");
    expect(quote).toHaveTextContent("long ago");
  });
});

describe("reactions", () => {
  it("toggles a reaction from its chip, mine highlighted", async () => {
    const { engine } = setup([
      makeMessage({
        id: "m",
        text: "made it!",
        reactions: [
          { emoji: "👍", count: 2, mine: true },
          { emoji: "❤️", count: 1, mine: false },
        ],
      }),
    ]);
    const message = await row("made it!");
    const thumbs = within(message).getByRole("button", { name: "👍 2" });
    expect(thumbs).toHaveAttribute("aria-pressed", "true");
    expect(thumbs).toHaveClass("mine");
    const heart = within(message).getByRole("button", { name: "❤️ 1" });
    expect(heart).toHaveAttribute("aria-pressed", "false");

    const react = vi.spyOn(engine, "react");
    await userEvent.click(thumbs);
    expect(react).toHaveBeenCalledWith("m", "👍", true);
    expect(await within(message).findByRole("button", { name: "👍 1" })).toHaveAttribute(
      "aria-pressed",
      "false",
    );
    await userEvent.click(within(message).getByRole("button", { name: "❤️ 1" }));
    expect(react).toHaveBeenLastCalledWith("m", "❤️", false);
    expect(await within(message).findByRole("button", { name: "❤️ 2" })).toHaveAttribute(
      "aria-pressed",
      "true",
    );
  });

  it("picks a reaction from the picker with the keyboard", async () => {
    const { engine } = setup([makeMessage({ id: "m", text: "made it!" })]);
    const message = await row("made it!");
    const react = vi.spyOn(engine, "react");
    const button = within(message).getByRole("button", { name: "React" });
    button.focus();
    await userEvent.keyboard("{Enter}");
    const picker = within(message).getByRole("menu", { name: "Reactions" });
    expect(within(picker).getAllByRole("menuitem")).toHaveLength(6);
    expect(within(picker).getByRole("menuitem", { name: "React with thumbs up" })).toHaveFocus();
    await userEvent.keyboard("{ArrowRight}");
    expect(within(picker).getByRole("menuitem", { name: "React with heart" })).toHaveFocus();
    await userEvent.keyboard("{End}");
    expect(within(picker).getByRole("menuitem", { name: "React with thank you" })).toHaveFocus();
    await userEvent.keyboard("{Enter}");
    expect(react).toHaveBeenCalledWith("m", "🙏", false);
    expect(within(message).queryByRole("menu")).toBeNull();
    expect(button).toHaveFocus();
    expect(await within(message).findByRole("button", { name: "🙏 1" })).toBeInTheDocument();

    // Escape closes the picker without reacting.
    await userEvent.keyboard("{Enter}");
    expect(within(message).getByRole("menu")).toBeInTheDocument();
    await userEvent.keyboard("{Escape}");
    expect(within(message).queryByRole("menu")).toBeNull();
    expect(react).toHaveBeenCalledTimes(1);
  });

  it("says when a reaction was not sent", async () => {
    const { engine } = setup([makeMessage({ id: "m", text: "made it!" })]);
    engine.failures.set("react", new EngineError("network.unreachable", "The node is away."));
    const message = await row("made it!");
    await userEvent.click(within(message).getByRole("button", { name: "React" }));
    await userEvent.click(screen.getByRole("menuitem", { name: "React with heart" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "The reaction was not sent: The node is away.",
    );
  });
});

describe("editing and deleting", () => {
  it("edits one of my text messages in the composer", async () => {
    const { engine } = setup([
      mine({ id: "e", text: "see you at 9" }),
      makeMessage({ id: "t", text: "theirs" }),
    ]);
    window.localStorage.setItem("arx.draft.c-rich", "half-written draft");
    const message = await row("see you at 9");
    // Only my own text messages can be edited or deleted.
    expect(within(await row("theirs")).queryByRole("button", { name: "Edit" })).toBeNull();
    expect(within(await row("theirs")).queryByRole("button", { name: "Delete" })).toBeNull();

    await userEvent.click(within(message).getByRole("button", { name: "Edit" }));
    expect(screen.getByTestId("composer-mode")).toHaveTextContent("Editing");
    const input = screen.getByTestId("composer-input");
    expect(input).toHaveValue("see you at 9");
    expect(input).toHaveFocus();

    // Escape cancels the edit and brings the draft back.
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByTestId("composer-mode")).toBeNull();
    await waitFor(() => expect(input).toHaveValue("half-written draft"));

    await userEvent.click(within(message).getByRole("button", { name: "Edit" }));
    const edit = vi.spyOn(engine, "editMessage");
    await userEvent.clear(input);
    await userEvent.type(input, "see you at 10");
    await userEvent.click(screen.getByRole("button", { name: "Save edit" }));
    expect(edit).toHaveBeenCalledWith("e", "see you at 10", true);
    const edited = await row("see you at 10");
    expect(within(edited).getByText("(edited)")).toBeInTheDocument();
    await waitFor(() => expect(input).toHaveValue("half-written draft"));
    expect(window.localStorage.getItem("arx.draft.c-rich")).toBe("half-written draft");
  });

  it("offers no edit for a message with files", async () => {
    setup([mine({ id: "f", text: "photo", attachments: [makeImage()] })]);
    const message = await row("photo");
    expect(within(message).queryByRole("button", { name: "Edit" })).toBeNull();
    expect(within(message).getByRole("button", { name: "Delete" })).toBeInTheDocument();
  });

  it("deletes for everyone after a confirmation in place", async () => {
    const { engine } = setup([mine({ id: "d", text: "oops, wrong chat" })]);
    const message = await row("oops, wrong chat");
    const remove = vi.spyOn(engine, "deleteMessage");
    await userEvent.click(within(message).getByRole("button", { name: "Delete" }));
    const confirm = within(message).getByRole("group", { name: /Delete this message/ });
    expect(within(confirm).getByRole("button", { name: "Cancel" })).toHaveFocus();
    await userEvent.keyboard("{Escape}");
    expect(within(message).queryByRole("group", { name: /Delete this message/ })).toBeNull();
    expect(remove).not.toHaveBeenCalled();

    await userEvent.click(within(message).getByRole("button", { name: "Delete" }));
    await userEvent.click(within(message).getByRole("button", { name: "Delete for everyone" }));
    expect(remove).toHaveBeenCalledWith("d");
    const gone = await within(message).findByText("This message was deleted");
    expect(gone).toHaveClass("deleted");
    expect(within(message).queryByRole("group", { name: "Message actions" })).toBeNull();
    expect(within(message).queryByRole("button")).toBeNull();
  });

  it("keeps the confirmation and shows the engine's refusal", async () => {
    const { engine } = setup([mine({ id: "d", text: "keep trying" })]);
    engine.failures.set("deleteMessage", new EngineError("rate.limited", "Slow down."));
    const message = await row("keep trying");
    await userEvent.click(within(message).getByRole("button", { name: "Delete" }));
    await userEvent.click(within(message).getByRole("button", { name: "Delete for everyone" }));
    expect(await within(message).findByRole("alert")).toHaveTextContent(
      "It could not be deleted: Slow down.",
    );
    expect(within(message).getByRole("button", { name: "Delete for everyone" })).toBeEnabled();
  });

  it("shows a deleted message without actions or reactions", async () => {
    setup([
      makeMessage({
        id: "x",
        text: "",
        deleted: true,
        reactions: [{ emoji: "👍", count: 1, mine: false }],
      }),
    ]);
    const gone = await screen.findByText("This message was deleted");
    const message = gone.closest("[data-testid='message']") as HTMLElement;
    expect(within(message).queryByRole("button")).toBeNull();
    expect(within(message).queryByText("👍 1")).toBeNull();
  });
});

describe("read ticks", () => {
  it("shows one tick when sent and two when read in a DM", async () => {
    setup([
      mine({ id: "s", text: "sent only", sentAtMs: todayAt(8) }),
      mine({ id: "r", text: "read it", readBy: 1, sentAtMs: todayAt(8, 1) }),
    ]);
    const sent = await row("sent only");
    expect(within(sent).getByRole("img", { name: "Sent" })).toBeInTheDocument();
    const read = await row("read it");
    expect(within(read).getByRole("img", { name: "Read" })).toBeInTheDocument();
    expect(within(read).queryByRole("img", { name: "Sent" })).toBeNull();
  });

  it("says how many read it in a group", async () => {
    setup(
      [
        mine({ id: "s", text: "nobody yet", sentAtMs: todayAt(8) }),
        mine({ id: "r", text: "two of you", readBy: 2, sentAtMs: todayAt(8, 1) }),
      ],
      "group",
    );
    expect(within(await row("nobody yet")).getByRole("img", { name: "Sent" })).toBeInTheDocument();
    expect(within(await row("two of you")).getByText("Read by 2")).toBeInTheDocument();
  });
});

describe("lines and removals from the engine", () => {
  it("shows a change to the conversation as a line without actions", async () => {
    setup(
      [
        makeMessage({ id: "s", text: "0x2222…2222 renamed the group to Hikers", system: true }),
        makeMessage({ id: "n", text: "nice name" }),
      ],
      "group",
    );
    const line = await row("0x2222…2222 renamed the group to Hikers");
    expect(line).toHaveClass("system");
    expect(within(line).queryByRole("button")).toBeNull();
    expect(
      within(await row("nice name")).getByRole("button", { name: "Reply" }),
    ).toBeInTheDocument();
  });

  it("takes out messages the engine removed", async () => {
    const { engine } = setup([
      makeMessage({ id: "a", text: "stays" }),
      makeMessage({ id: "b", text: "disappears" }),
    ]);
    await screen.findByText("disappears");
    act(() =>
      engine.emit({ kind: "messagesRemoved", conversationId: "c-rich", messageIds: ["b"] }),
    );
    expect(screen.queryByText("disappears")).toBeNull();
    expect(screen.getByText("stays")).toBeInTheDocument();
  });
});
