import { act, fireEvent, render, screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { MessageView } from "../engine/api";
import { makeMessage } from "../test/fakeEngine";
import { DAY_MS, todayAt } from "../test/render";
import { MessageList, type MessageListProps } from "./MessageList";

function manyMessages(count: number): MessageView[] {
  const start = todayAt(12) - count * 1000;
  return Array.from({ length: count }, (_, i) =>
    makeMessage({
      id: `msg-${i}`,
      text: `Message number ${i}`,
      sentAtMs: start + i * 1000,
      isMine: i % 3 === 0,
      senderInboxId: i % 3 === 0 ? "me" : "them",
    }),
  );
}

function renderList(overrides: Partial<MessageListProps> = {}) {
  const props: MessageListProps = {
    messages: [],
    isGroup: false,
    hasMore: false,
    hasNewer: false,
    loadingOlder: false,
    loadingNewer: false,
    onLoadOlder: vi.fn(),
    onLoadNewer: vi.fn(),
    onJumpToLatest: vi.fn(),
    onFollowingChange: vi.fn(),
    onRetry: vi.fn(),
    label: "Messages",
    onOpenLink: vi.fn(),
    files: { openImage: vi.fn(), save: vi.fn(async () => "/home/me/Downloads/x") },
    actions: null,
    ...overrides,
  };
  const view = render(<MessageList {...props} />);
  return { ...view, props };
}

function scrollTo(element: HTMLElement, top: number) {
  act(() => {
    element.scrollTop = top;
    fireEvent.scroll(element);
  });
}

describe("MessageList", () => {
  it("keeps only a window of 10,000 messages in the DOM and follows the scroll position", () => {
    renderList({ messages: manyMessages(10_000) });
    const rendered = screen.getAllByTestId("message");
    expect(rendered.length).toBeGreaterThan(5);
    expect(rendered.length).toBeLessThan(100);
    // It opens at the newest message.
    expect(screen.getByText("Message number 9999")).toBeInTheDocument();
    expect(screen.queryByText("Message number 0")).toBeNull();

    const log = screen.getByTestId("message-list");
    expect(log).toHaveAttribute("role", "log");
    expect(log).toHaveAttribute("aria-live", "polite");
    scrollTo(log, 0);
    expect(screen.getByText("Message number 0")).toBeInTheDocument();
    expect(screen.queryByText("Message number 9999")).toBeNull();
    expect(screen.getAllByTestId("message").length).toBeLessThan(100);
  });

  it("separates days with Today, Yesterday and a date", () => {
    const messages = [
      makeMessage({ id: "a", sentAtMs: todayAt(12) - 5 * DAY_MS, text: "older" }),
      makeMessage({ id: "b", sentAtMs: todayAt(12) - DAY_MS, text: "yesterday" }),
      makeMessage({ id: "c", sentAtMs: todayAt(0, 30), text: "early today" }),
      makeMessage({ id: "d", sentAtMs: todayAt(0, 40), text: "later today" }),
    ];
    renderList({ messages });
    const headings = screen.getAllByRole("heading").map((h) => h.textContent);
    expect(headings).toHaveLength(3);
    expect(headings[1]).toBe("Yesterday");
    expect(headings[2]).toBe("Today");
    expect(headings[0]).not.toMatch(/Today|Yesterday/);
    expect(headings[0]).toMatch(/\d/);
  });

  it("marks my messages apart from others' and names senders once per run in groups", () => {
    const t = todayAt(10);
    const messages = [
      makeMessage({ id: "1", sentAtMs: t, senderInboxId: "alice", senderLabel: "Alice" }),
      makeMessage({ id: "2", sentAtMs: t + 1000, senderInboxId: "alice", senderLabel: "Alice" }),
      makeMessage({ id: "3", sentAtMs: t + 2000, senderInboxId: "bob", senderLabel: "Bob" }),
      makeMessage({
        id: "4",
        sentAtMs: t + 3000,
        isMine: true,
        senderInboxId: "me",
        senderLabel: "You",
      }),
      makeMessage({ id: "5", sentAtMs: t + 4000, senderInboxId: "alice", senderLabel: "Alice" }),
    ];
    const { container, rerender, props } = renderList({ messages, isGroup: true });
    const rows = screen.getAllByTestId("message");
    expect(rows.map((r) => r.dataset.mine)).toEqual(["false", "false", "false", "true", "false"]);
    const senders = [...container.querySelectorAll(".sender")].map((s) => s.textContent);
    expect(senders).toEqual(["Alice", "Bob", "Alice"]);

    // A DM shows no sender names.
    rerender(<MessageList {...props} isGroup={false} />);
    expect(container.querySelectorAll(".sender")).toHaveLength(0);
  });

  it("shows delivery status with labels and retries a failed message", () => {
    const t = todayAt(9);
    const onRetry = vi.fn();
    renderList({
      onRetry,
      messages: [
        makeMessage({ id: "s1", isMine: true, status: "sending", sentAtMs: t }),
        makeMessage({ id: "s2", isMine: true, status: "sent", sentAtMs: t + 1 }),
        makeMessage({ id: "s3", isMine: true, status: "failed", sentAtMs: t + 2 }),
      ],
    });
    expect(screen.getAllByTestId("message").map((m) => m.dataset.status)).toEqual([
      "sending",
      "sent",
      "failed",
    ]);
    expect(screen.getByRole("img", { name: "Sending" })).toBeInTheDocument();
    expect(screen.getByRole("img", { name: "Sent" })).toBeInTheDocument();
    expect(screen.getByRole("img", { name: "Not sent" })).toBeInTheDocument();
    const retryButtons = screen.getAllByRole("button", { name: "Retry" });
    expect(retryButtons).toHaveLength(1);
    fireEvent.click(retryButtons[0] as HTMLElement);
    expect(onRetry).toHaveBeenCalledWith("s3");
  });

  it("renders markdown without letting scripts, handlers or javascript: links through", () => {
    const payload = [
      "**bold** and [a link](https://example.org/page)",
      "",
      '<script>window.__pwned = 1</script><img src="x" onerror="window.__pwned = 2">',
      '<a href="javascript:alert(1)">click</a> [bad](javascript:alert(2))',
      '<iframe src="https://evil.example"></iframe><div onclick="alert(3)">div</div>',
    ].join("\n");
    const { container } = renderList({
      messages: [makeMessage({ id: "md", markdown: true, text: payload })],
    });
    const bubble = container.querySelector(".markdown");
    expect(bubble).not.toBeNull();
    expect(bubble?.querySelector("strong")?.textContent).toBe("bold");
    const link = within(bubble as HTMLElement).getByRole("link", { name: "a link" });
    expect(link).toHaveAttribute("href", "https://example.org/page");
    expect(link).toHaveAttribute("target", "_blank");
    expect(link.getAttribute("rel")).toContain("noopener");

    expect(container.querySelector("script, img, iframe")).toBeNull();
    expect(container.querySelector("[onerror], [onclick]")).toBeNull();
    for (const anchor of container.querySelectorAll("a")) {
      expect(anchor.getAttribute("href") ?? "").not.toMatch(/^javascript:/i);
    }
    expect(container.innerHTML).not.toContain("onerror");
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
  });

  it("hands links to the app to open outside instead of following them", () => {
    const onOpenLink = vi.fn();
    const { container } = renderList({
      onOpenLink,
      messages: [
        makeMessage({ id: "l1", markdown: true, text: "see [the docs](https://example.org/d)" }),
      ],
    });
    const link = within(container.querySelector(".markdown") as HTMLElement).getByRole("link");
    const click = new MouseEvent("click", { bubbles: true, cancelable: true });
    link.dispatchEvent(click);
    expect(click.defaultPrevented).toBe(true);
    expect(onOpenLink).toHaveBeenCalledWith("https://example.org/d");
    // A click elsewhere in a bubble opens nothing.
    fireEvent.click(container.querySelector(".markdown") as HTMLElement);
    expect(onOpenLink).toHaveBeenCalledTimes(1);
  });

  it("shows plain text as typed and unknown content as its fallback", () => {
    const { container } = renderList({
      messages: [
        makeMessage({ id: "p", text: "<b>not bold</b> **not bold**", markdown: false }),
        makeMessage({ id: "f", text: "Reacted 👍", isFallback: true, markdown: true }),
      ],
    });
    expect(screen.getByText("<b>not bold</b> **not bold**")).toBeInTheDocument();
    expect(container.querySelector("b")).toBeNull();
    const fallback = container.querySelector(".fallback");
    expect(fallback?.textContent).toContain("Reacted 👍");
    expect(fallback?.textContent).toContain("isn't supported");
  });

  it("asks for older messages when scrolled to the top, not before", () => {
    const onLoadOlder = vi.fn();
    renderList({ messages: manyMessages(200), hasMore: true, onLoadOlder });
    expect(onLoadOlder).not.toHaveBeenCalled();
    const log = screen.getByTestId("message-list");
    scrollTo(log, 3000);
    expect(onLoadOlder).not.toHaveBeenCalled();
    scrollTo(log, 0);
    expect(onLoadOlder).toHaveBeenCalledTimes(1);
  });

  it("keeps the reading position when older messages are added above", () => {
    const all = manyMessages(300);
    const { rerender, props } = renderList({ messages: all.slice(100), hasMore: true });
    const log = screen.getByTestId("message-list");
    scrollTo(log, 0);
    expect(screen.getByText("Message number 100")).toBeInTheDocument();

    rerender(<MessageList {...props} messages={all} hasMore={false} />);
    // The first message seen before is still at the top of the viewport.
    expect(log.scrollTop).toBeGreaterThan(1000);
    expect(screen.getByText("Message number 100")).toBeInTheDocument();
    expect(screen.queryByText("Message number 0")).toBeNull();
  });

  it("sticks to the bottom for new messages only while at the bottom", () => {
    const messages = manyMessages(100);
    const { rerender, props } = renderList({ messages });
    const log = screen.getByTestId("message-list");
    const bottom = log.scrollTop;
    expect(bottom).toBeGreaterThan(0);

    const next = [
      ...messages,
      makeMessage({ id: "new-1", text: "fresh", sentAtMs: todayAt(12) + 1 }),
    ];
    rerender(<MessageList {...props} messages={next} />);
    expect(log.scrollTop).toBeGreaterThan(bottom);
    expect(screen.getByText("fresh")).toBeInTheDocument();

    scrollTo(log, 100);
    const later = [...next, makeMessage({ id: "new-2", text: "later", sentAtMs: todayAt(12) + 2 })];
    rerender(<MessageList {...props} messages={later} />);
    expect(log.scrollTop).toBe(100);
    expect(screen.getByRole("button", { name: /latest messages/i })).toBeInTheDocument();
  });

  it("shows a message I just sent even when scrolled up", async () => {
    const messages = manyMessages(100);
    const { rerender, props } = renderList({ messages });
    const log = screen.getByTestId("message-list");
    scrollTo(log, 100);
    const mine = makeMessage({
      id: "mine",
      text: "on my way",
      isMine: true,
      senderInboxId: "me",
      sentAtMs: todayAt(12) + 1,
    });
    rerender(<MessageList {...props} messages={[...messages, mine]} />);
    expect(await screen.findByText("on my way")).toBeInTheDocument();
    expect(log.scrollTop).toBeGreaterThan(5000);
    expect(screen.queryByRole("button", { name: /latest messages/i })).toBeNull();
  });
});
