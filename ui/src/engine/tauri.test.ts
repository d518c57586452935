import { beforeEach, describe, expect, it, vi } from "vitest";

const invoke = vi.fn();
const unlisten = vi.fn();
let handler: ((event: { payload: unknown }) => void) | null = null;
const listen = vi.fn(async (_name: string, callback: (event: { payload: unknown }) => void) => {
  handler = callback;
  return unlisten;
});

type DropPayload = { type: "enter" | "drop"; paths: string[] } | { type: "leave" };
let dropHandler: ((event: { payload: DropPayload }) => void) | null = null;
const stopDrops = vi.fn();

vi.mock("@tauri-apps/api/core", () => ({ invoke: (...args: unknown[]) => invoke(...args) }));
vi.mock("@tauri-apps/api/event", () => ({
  listen: (name: string, callback: (event: { payload: unknown }) => void) => listen(name, callback),
}));
vi.mock("@tauri-apps/api/webview", () => ({
  getCurrentWebview: () => ({
    onDragDropEvent: async (callback: (event: { payload: DropPayload }) => void) => {
      dropHandler = callback;
      return stopDrops;
    },
  }),
}));

const { createTauriEngine } = await import("./tauri");
const { EngineError } = await import("./api");

describe("Tauri engine adapter", () => {
  beforeEach(() => {
    invoke.mockReset();
    handler = null;
  });

  it("invokes snake_case commands with camelCase arguments", async () => {
    invoke.mockResolvedValue(undefined);
    const engine = createTauriEngine();
    await engine.listMessages("c1", null, 50);
    await engine.sendText("c1", "hi", true);
    await engine.completeExternalSignin("r1", "0xsig");
    await engine.setNetwork({ kind: "remote", url: "https://n.example" });
    await engine.importBuiltinKey("ab");
    await engine.listDevices();
    await engine.revokeDevice("i1");
    await engine.beginExternalRevoke("i2");
    await engine.completeExternalRevoke("r2", "0xsig2");
    expect(invoke.mock.calls).toEqual([
      ["list_messages", { conversationId: "c1", beforeId: null, limit: 50 }],
      ["send_text", { conversationId: "c1", text: "hi", markdown: true }],
      ["complete_external_signin", { requestId: "r1", signatureHex: "0xsig" }],
      ["set_network", { network: { kind: "remote", url: "https://n.example" } }],
      ["import_builtin_key", { privateKeyHex: "ab" }],
      ["list_devices", {}],
      ["revoke_device", { installationId: "i1" }],
      ["begin_external_revoke", { installationId: "i2" }],
      ["complete_external_revoke", { requestId: "r2", signatureHex: "0xsig2" }],
    ]);
  });

  it("invokes the commands for files, message actions, Requests and IPFS", async () => {
    invoke.mockResolvedValue(null);
    const engine = createTauriEngine();
    await engine.sendFiles("c1", ["/tmp/a.pdf"], "caption", "t1");
    await engine.sendPasted("c1", "image.png", "aGk=", "", "t2");
    await engine.openImage("42", 0);
    await engine.saveAttachment("42", 1);
    await engine.reply("42", "yes", false);
    await engine.react("42", "👍", true);
    await engine.editMessage("42", "fixed", true);
    await engine.deleteMessage("42");
    await engine.listRequests();
    await engine.acceptRequest("c2");
    await engine.blockConversation("c3");
    await engine.deleteRequest("c4");
    await engine.setIpfsUrl(null);
    expect(invoke.mock.calls).toEqual([
      [
        "send_files",
        { conversationId: "c1", paths: ["/tmp/a.pdf"], caption: "caption", transferId: "t1" },
      ],
      [
        "send_pasted",
        {
          conversationId: "c1",
          name: "image.png",
          dataBase64: "aGk=",
          caption: "",
          transferId: "t2",
        },
      ],
      ["open_image", { messageId: "42", index: 0 }],
      ["save_attachment", { messageId: "42", index: 1 }],
      ["reply", { messageId: "42", text: "yes", markdown: false }],
      ["react", { messageId: "42", emoji: "👍", remove: true }],
      ["edit_message", { messageId: "42", text: "fixed", markdown: true }],
      ["delete_message", { messageId: "42" }],
      ["list_requests", {}],
      ["accept_request", { conversationId: "c2" }],
      ["block_conversation", { conversationId: "c3" }],
      ["delete_request", { conversationId: "c4" }],
      ["set_ipfs_url", { url: null }],
    ]);
  });

  it("invokes the commands for a conversation's settings", async () => {
    invoke.mockResolvedValue(null);
    const engine = createTauriEngine();
    const policies = {
      addMembers: "everyone",
      removeMembers: "admins",
      updateProfile: "super_admins",
    } as const;
    await engine.groupSettings("c1");
    await engine.setGroupDescription("c1", "About us");
    await engine.setGroupImage("c1", "aGk=");
    await engine.clearGroupImage("c1");
    await engine.groupImage("c1");
    await engine.setGroupPolicies("c1", policies);
    await engine.setMemberRole("c1", "i1", "admin");
    await engine.setDisappearing("c1", 3600);
    await engine.setDisappearing("c1", null);
    expect(invoke.mock.calls).toEqual([
      ["group_settings", { conversationId: "c1" }],
      ["set_group_description", { conversationId: "c1", description: "About us" }],
      ["set_group_image", { conversationId: "c1", dataBase64: "aGk=" }],
      ["clear_group_image", { conversationId: "c1" }],
      ["group_image", { conversationId: "c1" }],
      ["set_group_policies", { conversationId: "c1", policies }],
      ["set_member_role", { conversationId: "c1", inboxId: "i1", role: "admin" }],
      ["set_disappearing", { conversationId: "c1", seconds: 3600 }],
      ["set_disappearing", { conversationId: "c1", seconds: null }],
    ]);
  });

  it("hands the paths of dropped files to the handler until it stops", async () => {
    const engine = createTauriEngine();
    const handler = vi.fn();
    const stop = engine.onFileDrop(handler);
    await vi.waitFor(() => expect(dropHandler).not.toBeNull());
    dropHandler?.({ payload: { type: "enter", paths: ["/tmp/a.png"] } });
    dropHandler?.({ payload: { type: "leave" } });
    dropHandler?.({ payload: { type: "drop", paths: ["/tmp/a.png", "/tmp/b.pdf"] } });
    expect(handler.mock.calls).toEqual([[["/tmp/a.png", "/tmp/b.pdf"]]]);
    stop();
    dropHandler?.({ payload: { type: "drop", paths: ["/tmp/c.txt"] } });
    expect(handler).toHaveBeenCalledTimes(1);
    await vi.waitFor(() => expect(stopDrops).toHaveBeenCalledTimes(1));
  });

  it("turns coded errors into EngineError", async () => {
    invoke.mockRejectedValue({ code: "identity.not_on_arx", message: "nope", retryable: false });
    const error = await createTauriEngine()
      .openDm("0x")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect(error).toMatchObject({ code: "identity.not_on_arx", message: "nope", retryable: false });
  });

  it("delivers engine-event payloads to every subscriber and stops listening after the last", async () => {
    const engine = createTauriEngine();
    const a = vi.fn();
    const b = vi.fn();
    const stopA = engine.subscribe(a);
    const stopB = engine.subscribe(b);
    expect(listen).toHaveBeenCalledTimes(1);
    expect(listen.mock.calls[0]?.[0]).toBe("engine-event");
    const event = { kind: "connection", state: "online", detail: null };
    handler?.({ payload: event });
    expect(a).toHaveBeenCalledWith(event);
    expect(b).toHaveBeenCalledWith(event);
    stopA();
    stopB();
    await vi.waitFor(() => expect(unlisten).toHaveBeenCalledTimes(1));
  });
});
