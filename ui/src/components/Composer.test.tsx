import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { Composer, type ComposerProps } from "./Composer";

/** The composer's props with nothing to reply to or edit, and files accepted. */
function props(overrides: Partial<ComposerProps> = {}): ComposerProps {
  return {
    conversationId: "c1",
    placeholder: "Message",
    onSend: vi.fn(async () => undefined),
    onSendFiles: vi.fn(async () => undefined),
    mode: null,
    onCancelMode: vi.fn(),
    ...overrides,
  };
}

function setup(conversationId = "c1") {
  const onSend = vi.fn(async (_text: string, _markdown: boolean) => undefined);
  const view = render(<Composer {...props({ conversationId, onSend })} />);
  const input = () => screen.getByTestId("composer-input") as HTMLTextAreaElement;
  return { ...view, onSend, input };
}

describe("Composer", () => {
  it("sends on Enter, clears, and keeps focus in the composer", async () => {
    const user = userEvent.setup();
    const { onSend, input } = setup();
    await user.click(input());
    await user.type(input(), "hello there{Enter}");
    expect(onSend).toHaveBeenCalledTimes(1);
    expect(onSend).toHaveBeenCalledWith("hello there", true);
    expect(input().value).toBe("");
    expect(document.activeElement).toBe(input());
  });

  it("inserts a newline on Shift+Enter instead of sending", async () => {
    const user = userEvent.setup();
    const { onSend, input } = setup();
    await user.type(input(), "line one{Shift>}{Enter}{/Shift}line two");
    expect(onSend).not.toHaveBeenCalled();
    expect(input().value).toBe("line one\nline two");
    await user.keyboard("{Enter}");
    expect(onSend).toHaveBeenCalledWith("line one\nline two", true);
  });

  it("does not send empty or whitespace-only text", async () => {
    const user = userEvent.setup();
    const { onSend, input } = setup();
    await user.type(input(), "{Enter}");
    await user.type(input(), "   {Shift>}{Enter}{/Shift}  {Enter}");
    expect(onSend).not.toHaveBeenCalled();
    expect(screen.getByTestId("composer-send")).toBeDisabled();
  });

  it("sends with the button and can turn markdown off", async () => {
    const user = userEvent.setup();
    const { onSend, input } = setup();
    await user.click(screen.getByRole("button", { name: "Format with Markdown" }));
    await user.type(input(), "*plain*");
    await user.click(screen.getByTestId("composer-send"));
    expect(onSend).toHaveBeenCalledWith("*plain*", false);
    expect(document.activeElement).toBe(input());
  });

  it("keeps a draft per conversation, across switches and restarts", async () => {
    const user = userEvent.setup();
    const onSend = vi.fn(async () => undefined);
    const { rerender, unmount } = render(<Composer {...props({ conversationId: "a", onSend })} />);
    const input = () => screen.getByTestId("composer-input") as HTMLTextAreaElement;
    await user.type(input(), "draft for A");

    rerender(<Composer {...props({ conversationId: "b", onSend })} />);
    await waitFor(() => expect(input().value).toBe(""));
    await user.type(input(), "draft for B");

    rerender(<Composer {...props({ conversationId: "a", onSend })} />);
    await waitFor(() => expect(input().value).toBe("draft for A"));

    // A restart: the drafts come back from storage.
    unmount();
    render(<Composer {...props({ conversationId: "b", onSend })} />);
    expect(input().value).toBe("draft for B");

    // Sending clears the draft for good.
    await user.type(input(), "{Enter}");
    expect(onSend).toHaveBeenCalledWith("draft for B", true);
    expect(window.localStorage.getItem("arx.draft.b")).toBeNull();
    expect(window.localStorage.getItem("arx.draft.a")).toBe("draft for A");
  });

  it("gives the text back when the engine refuses it", async () => {
    const user = userEvent.setup();
    const onSend = vi.fn(async () => {
      throw new Error("The conversation is read-only.");
    });
    render(<Composer {...props({ conversationId: "c", onSend })} />);
    const input = screen.getByTestId("composer-input") as HTMLTextAreaElement;
    await user.type(input, "important{Enter}");
    expect(await screen.findByRole("alert")).toHaveTextContent("The conversation is read-only.");
    expect(input.value).toBe("important");
  });
});
