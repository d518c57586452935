import { beforeEach, describe, expect, it, vi } from "vitest";

const invoke = vi.fn();
const unlisten = vi.fn();
let handler: ((event: { payload: unknown }) => void) | null = null;
const listen = vi.fn(async (_name: string, callback: (event: { payload: unknown }) => void) => {
  handler = callback;
  return unlisten;
});

vi.mock("@tauri-apps/api/core", () => ({ invoke: (...args: unknown[]) => invoke(...args) }));
vi.mock("@tauri-apps/api/event", () => ({
  listen: (name: string, callback: (event: { payload: unknown }) => void) => listen(name, callback),
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
