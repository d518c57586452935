import { describe, expect, it } from "vitest";
import { conversationsReducer, requestsReducer, upsertMessage } from "../state/conversations";
import { makeAttachment, makeConversation, makeImage, makeMessage } from "../test/fakeEngine";
import {
  dayLabel,
  durationLabel,
  fileKind,
  humanSize,
  messageSummary,
  policyLabel,
  previewText,
  relativeTime,
  shortId,
} from "./format";
import {
  kuboUrlProblem,
  nodeUrlProblem,
  parseMemberList,
  peerIdProblem,
  privateKeyProblem,
} from "./validate";

describe("formatting", () => {
  it("shortens long ids (addresses are shortened by the engine)", () => {
    expect(shortId("955b45af0000000000000000000000000000000000000000000000000000008ef0")).toBe(
      "955b45af…8ef0",
    );
    expect(shortId("short")).toBe("short");
  });

  it("labels days and relative times", () => {
    const now = new Date(2026, 2, 12, 15, 0).getTime();
    expect(dayLabel(new Date(2026, 2, 12, 0, 5).getTime(), now)).toBe("Today");
    expect(dayLabel(new Date(2026, 2, 11, 23, 55).getTime(), now)).toBe("Yesterday");
    expect(dayLabel(new Date(2025, 2, 11).getTime(), now)).toMatch(/2025/);
    expect(relativeTime(now - 30_000, now)).toBe("now");
    expect(relativeTime(now - 5 * 60_000, now)).toBe("5m");
    expect(relativeTime(new Date(2026, 2, 11, 9).getTime(), now)).toBe("Yesterday");
  });

  it("says timers in their largest whole unit, and who a policy allows", () => {
    expect(durationLabel(30)).toBe("30 seconds");
    expect(durationLabel(90)).toBe("90 seconds");
    expect(durationLabel(300)).toBe("5 minutes");
    expect(durationLabel(3600)).toBe("1 hour");
    expect(durationLabel(7200)).toBe("2 hours");
    expect(durationLabel(86_400)).toBe("1 day");
    expect(durationLabel(604_800)).toBe("1 week");
    expect(durationLabel(365 * 86_400)).toBe("365 days");
    expect(policyLabel("everyone")).toBe("Everyone");
    expect(policyLabel("admins")).toBe("Admins and owners");
    expect(policyLabel("super_admins")).toBe("Owners only");
  });
});

describe("previews", () => {
  it("shows the words of markdown on one line, and plain text as typed", () => {
    expect(previewText("# Plan\n- **bring** _water_\n- see [the map](https://x.org)", true)).toBe(
      "Plan bring water see the map",
    );
    expect(previewText("**not markdown**\n  next", false)).toBe("**not markdown** next");
    expect(previewText("snake_case_name stays", true)).toBe("snake_case_name stays");
  });
});

describe("validation", () => {
  it("accepts addresses and inbox ids as peers", () => {
    expect(peerIdProblem("0x1234567890abcdef1234567890ABCDEF1234abcd")).toBeNull();
    expect(peerIdProblem("a".repeat(64))).toBeNull();
    expect(peerIdProblem(`0x${"a".repeat(64)}`)).toBeNull();
    expect(peerIdProblem("0x1234")).toMatch(/40 hex digits/);
    expect(peerIdProblem("alice.eth")).toMatch(/neither/);
    expect(peerIdProblem("")).toMatch(/Enter/);
  });

  it("checks private keys", () => {
    expect(privateKeyProblem(`0x${"1f".repeat(32)}`)).toBeNull();
    expect(privateKeyProblem("1f".repeat(32))).toBeNull();
    expect(privateKeyProblem("0".repeat(64))).toMatch(/zero key/);
    expect(privateKeyProblem("xyz")).toMatch(/only hex/);
  });

  it("checks node URLs", () => {
    expect(nodeUrlProblem("http://127.0.0.1:5050")).toBeNull();
    expect(nodeUrlProblem("https://node.example.org")).toBeNull();
    expect(nodeUrlProblem("node.example.org")).toMatch(/not a URL/);
    expect(nodeUrlProblem("grpc://node.example.org")).toMatch(/http/);
    expect(nodeUrlProblem("https://me:secret@node.example.org")).toMatch(/password/);
  });

  it("splits member lists and drops duplicates", () => {
    expect(parseMemberList(" 0xAb \n\n0xab, 0xcd;0xef\n")).toEqual(["0xAb", "0xcd", "0xef"]);
  });
});

describe("conversation state", () => {
  it("counts a new message from someone else as unread once, not for the open conversation", () => {
    const c = makeConversation({ id: "c", unreadCount: 0, lastActivityMs: 1000 });
    let state = conversationsReducer(new Map(), { type: "loaded", conversations: [c] });
    const m = makeMessage({ id: "x", conversationId: "c", sentAtMs: 2000 });
    state = conversationsReducer(state, {
      type: "message",
      message: m,
      activeConversationId: null,
    });
    state = conversationsReducer(state, {
      type: "message",
      message: { ...m, status: "sent" },
      activeConversationId: null,
    });
    expect(state.get("c")?.unreadCount).toBe(1);
    expect(state.get("c")?.lastActivityMs).toBe(2000);

    const n = makeMessage({ id: "y", conversationId: "c", sentAtMs: 3000 });
    state = conversationsReducer(state, { type: "message", message: n, activeConversationId: "c" });
    expect(state.get("c")?.unreadCount).toBe(1);
    expect(state.get("c")?.lastMessage?.id).toBe("y");

    // An older message (history) does not replace the preview.
    const old = makeMessage({ id: "z", conversationId: "c", sentAtMs: 500 });
    state = conversationsReducer(state, {
      type: "message",
      message: old,
      activeConversationId: null,
    });
    expect(state.get("c")?.lastMessage?.id).toBe("y");
  });

  it("upserts messages by id, in time order", () => {
    const a = makeMessage({ id: "a", sentAtMs: 1 });
    const c = makeMessage({ id: "c", sentAtMs: 3 });
    const b = makeMessage({ id: "b", sentAtMs: 2 });
    let list = upsertMessage(upsertMessage([], a), c);
    list = upsertMessage(list, b);
    list = upsertMessage(list, { ...b, status: "failed" });
    expect(list.map((m) => m.id)).toEqual(["a", "b", "c"]);
    expect(list[1]?.status).toBe("failed");
  });
});

describe("files and consent", () => {
  it("says file sizes and kinds in words", () => {
    expect(humanSize(0)).toBe("0 B");
    expect(humanSize(1023)).toBe("1023 B");
    expect(humanSize(1536)).toBe("1.5 KB");
    expect(humanSize(25 * 1024 * 1024)).toBe("25 MB");
    expect(humanSize(3 * 1024 ** 3)).toBe("3.0 GB");
    expect(fileKind("application/pdf", "a.pdf")).toBe("PDF document");
    expect(fileKind("image/webp", "a.webp")).toBe("Image");
    expect(fileKind("application/octet-stream", "notes.docx")).toBe("DOCX file");
    expect(fileKind("application/octet-stream", "README")).toBe("File");
  });

  it("summarizes a message by its caption, else its files", () => {
    const base = makeMessage({ text: "" });
    expect(messageSummary({ ...base, attachments: [makeImage({ name: "a.jpg" })] })).toBe(
      "Photo: a.jpg",
    );
    expect(messageSummary({ ...base, attachments: [makeAttachment(), makeAttachment()] })).toBe(
      "2 files",
    );
    expect(messageSummary({ ...base, text: "**look**", markdown: true })).toBe("look");
    expect(messageSummary({ ...base, deleted: true })).toBe("This message was deleted");
  });

  it("accepts only http(s) Kubo RPC URLs", () => {
    expect(kuboUrlProblem("http://127.0.0.1:5001")).toBeNull();
    expect(kuboUrlProblem(" https://kubo.example.org ")).toBeNull();
    expect(kuboUrlProblem("")).toMatch(/Enter the Kubo RPC URL/);
    expect(kuboUrlProblem("localhost:5001")).toMatch(/http:\/\/ or https:\/\//);
    expect(kuboUrlProblem("ipfs://x")).toMatch(/http:\/\/ or https:\/\//);
    expect(kuboUrlProblem("not a url")).toMatch(/not a URL/);
  });

  it("keeps each conversation in the list or in Requests by its consent", () => {
    const request = makeConversation({ id: "r", consent: "unknown" });
    const friend = makeConversation({ id: "f", consent: "allowed" });
    const loaded = { type: "loaded" as const, conversations: [request, friend] };
    let list = conversationsReducer(new Map(), loaded);
    let requests = requestsReducer(new Map(), loaded);
    expect([...list.keys()]).toEqual(["f"]);
    expect([...requests.keys()]).toEqual(["r"]);

    const accepted = { type: "upsert", conversation: { ...request, consent: "allowed" } } as const;
    list = conversationsReducer(list, accepted);
    requests = requestsReducer(requests, accepted);
    expect([...list.keys()].sort()).toEqual(["f", "r"]);
    expect(requests.size).toBe(0);

    const blocked = { type: "upsert", conversation: { ...friend, consent: "denied" } } as const;
    list = conversationsReducer(list, blocked);
    requests = requestsReducer(requests, blocked);
    expect([...list.keys()]).toEqual(["r"]);
    expect(requests.size).toBe(0);
  });
});
