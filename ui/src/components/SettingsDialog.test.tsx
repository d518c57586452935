import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { verifyMessage } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it, vi } from "vitest";
import { EngineError } from "../engine/api";
import { FakeEngine, ME, makeConversation, OTHER_DEVICE } from "../test/fakeEngine";
import { renderWithEngine } from "../test/render";
import { type Eip1193Provider, WalletError } from "../wallet/eip1193";
import { SettingsDialog } from "./SettingsDialog";

const walletAccount = privateKeyToAccount(
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
);
const wallet: Eip1193Provider = {
  async request({ method, params }) {
    if (method === "eth_requestAccounts" || method === "eth_accounts") {
      return [walletAccount.address];
    }
    if (method === "personal_sign") {
      const [data] = params as [`0x${string}`];
      return walletAccount.signMessage({ message: { raw: data } });
    }
    throw { code: 4200, message: "unsupported" };
  },
};
const disconnect = vi.fn(async () => undefined);
/** The next connection attempt fails with this, as when the WalletConnect window is closed. */
let nextConnectFailure: WalletError | null = null;

// AppKit itself needs a relay; the flow around it is what is tested here.
vi.mock("../wallet/appkit", () => ({
  connectWallet: async () => {
    const failure = nextConnectFailure;
    nextConnectFailure = null;
    if (failure !== null) throw failure;
    return { provider: wallet, address: walletAccount.address, disconnect };
  },
}));

function renderSettings(engine: FakeEngine, walletConnectProjectId: string | null = null) {
  const onClose = vi.fn();
  const onIpfsUrlChanged = vi.fn();
  renderWithEngine(
    <SettingsDialog
      info={engine.info}
      onClose={onClose}
      onNetworkChanged={vi.fn()}
      onIpfsUrlChanged={onIpfsUrlChanged}
      walletConnectProjectId={walletConnectProjectId}
    />,
    engine,
  );
  return { onClose, onIpfsUrlChanged };
}

function externalAccountEngine(): FakeEngine {
  const engine = new FakeEngine();
  engine.info = {
    ...engine.info,
    account: { ...ME, address: walletAccount.address, walletKind: "external" },
  };
  return engine;
}

const otherLabel = `${OTHER_DEVICE.slice(0, 8)}…${OTHER_DEVICE.slice(-4)}`;
const revokeOther = { name: `Revoke device ${otherLabel}` };

describe("devices in settings", () => {
  it("lists the account's devices, marks this one and offers no revoke for it", async () => {
    renderSettings(new FakeEngine());
    const list = await screen.findByRole("list", { name: "Devices" });
    const rows = within(list).getAllByRole("listitem");
    expect(rows).toHaveLength(2);
    const [mine, other] = rows as [HTMLElement, HTMLElement];
    expect(within(mine).getByText("This device")).toBeInTheDocument();
    expect(within(mine).getByText(ME.installationId)).toBeInTheDocument();
    expect(within(mine).queryByRole("button", { name: /^Revoke/ })).toBeNull();
    expect(within(other).queryByText("This device")).toBeNull();
    expect(within(other).getByText(OTHER_DEVICE)).toBeInTheDocument();
    expect(
      within(other).getByRole("button", { name: `Copy id of device ${otherLabel}` }),
    ).toBeInTheDocument();
    expect(screen.getAllByRole("button", { name: /^Revoke/ })).toHaveLength(1);
  });

  it("asks before revoking another device, then refreshes the list and reports the result", async () => {
    const engine = new FakeEngine();
    engine.addConversation(makeConversation());
    engine.addConversation(makeConversation({ kind: "group", title: "Team", peerAddress: null }));
    engine.revokePending = 1;
    const revoke = vi.spyOn(engine, "revokeDevice");
    const { onClose } = renderSettings(engine);

    const trigger = await screen.findByRole("button", revokeOther);
    await userEvent.click(trigger);
    const confirm = screen.getByRole("group", { name: /signed out of every conversation/ });
    expect(confirm).toHaveTextContent("This cannot be undone.");
    expect(within(confirm).getByRole("button", { name: "Cancel" })).toHaveFocus();
    expect(revoke).not.toHaveBeenCalled();

    // Escape leaves the confirmation, not the settings.
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("group", { name: /signed out/ })).toBeNull();
    expect(onClose).not.toHaveBeenCalled();
    expect(trigger).toHaveFocus();

    await userEvent.keyboard("{Enter}");
    await userEvent.click(
      within(screen.getByRole("group", { name: /signed out/ })).getByRole("button", {
        name: "Revoke device",
      }),
    );
    expect(revoke).toHaveBeenCalledWith(OTHER_DEVICE);
    await waitFor(() =>
      expect(screen.getAllByTestId("device").map((row) => row.dataset.installationId)).toEqual([
        ME.installationId,
      ]),
    );
    const report = screen.getByText(/^Revoked /);
    expect(report).toHaveTextContent(
      `Revoked ${otherLabel}. Removed from 2 conversations. It is removed from 1 more conversation at the next change there.`,
    );
    expect(report).toHaveFocus();
  });

  it("shows the engine's refusal and keeps the confirmation to try again", async () => {
    const engine = new FakeEngine();
    engine.failures.set(
      "revokeDevice",
      new EngineError("group.not_permitted", "Only the recovery wallet can revoke a device."),
    );
    renderSettings(engine);
    await userEvent.click(await screen.findByRole("button", revokeOther));
    const confirm = screen.getByRole("group", { name: /signed out/ });
    await userEvent.click(within(confirm).getByRole("button", { name: "Revoke device" }));
    expect(await within(confirm).findByRole("alert")).toHaveTextContent(
      "Only the recovery wallet can revoke a device.",
    );
    expect(screen.getAllByTestId("device")).toHaveLength(2);

    await userEvent.click(within(confirm).getByRole("button", { name: "Revoke device" }));
    await waitFor(() => expect(screen.getAllByTestId("device")).toHaveLength(1));
    expect(screen.getByText(/^Revoked /)).toHaveTextContent("Removed from 0 conversations.");
  });

  it("refuses to revoke this device in the fake engine as the real one does", async () => {
    await expect(new FakeEngine().revokeDevice(ME.installationId)).rejects.toMatchObject({
      code: "input.invalid",
    });
  });

  it("has an external wallet sign the engine's exact text: begin, sign, complete", async () => {
    const engine = externalAccountEngine();
    const begin = vi.spyOn(engine, "beginExternalRevoke");
    const complete = vi.spyOn(engine, "completeExternalRevoke");
    const internal = vi.spyOn(engine, "revokeDevice");
    renderSettings(engine, "project");

    await userEvent.click(await screen.findByRole("button", revokeOther));
    await userEvent.click(screen.getByRole("button", { name: "Revoke with my wallet" }));
    const text = await screen.findByText(/^ARX identity update/);
    expect(begin).toHaveBeenCalledWith(OTHER_DEVICE);
    expect(text.textContent).toContain(OTHER_DEVICE);
    expect(complete).not.toHaveBeenCalled();

    const sign = screen.getByRole("button", { name: "Sign in wallet" });
    expect(sign).toHaveFocus();
    await userEvent.click(sign);
    await waitFor(() => expect(screen.getAllByTestId("device")).toHaveLength(1));
    const [requestId, signature] = complete.mock.calls[0] as [string, `0x${string}`];
    expect(requestId).toBe("revoke-1");
    expect(
      await verifyMessage({
        address: walletAccount.address,
        message: text.textContent ?? "",
        signature,
      }),
    ).toBe(true);
    expect(internal).not.toHaveBeenCalled();
    expect(disconnect).toHaveBeenCalled();
    expect(screen.getByText(/^Revoked /)).toHaveTextContent("Removed from 0 conversations.");
  });

  it("says clearly when the external wallet is not connected", async () => {
    const engine = externalAccountEngine();
    const begin = vi.spyOn(engine, "beginExternalRevoke");
    renderSettings(engine, "project");
    await userEvent.click(await screen.findByRole("button", revokeOther));
    nextConnectFailure = new WalletError(
      "rejected",
      "The WalletConnect window was closed before a wallet connected.",
    );
    await userEvent.click(screen.getByRole("button", { name: "Revoke with my wallet" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "Your wallet is not connected, so it cannot sign.",
    );
    expect(begin).not.toHaveBeenCalled();

    // Nothing is lost: the same confirmation tries again.
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByText(/^ARX identity update/)).toBeInTheDocument();
    expect(begin).toHaveBeenCalledWith(OTHER_DEVICE);
  });

  it("explains that a build without a WalletConnect project id cannot revoke with an external wallet", async () => {
    renderSettings(externalAccountEngine(), null);
    await userEvent.click(await screen.findByRole("button", revokeOther));
    expect(screen.getByText(/this build has no WalletConnect project id/)).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Revoke with my wallet" })).toBeDisabled();
  });
});

describe("wallet key backup", () => {
  it("shows the key only after the person confirms", async () => {
    const engine = new FakeEngine();
    const exportKey = vi.spyOn(engine, "exportBuiltinKey");
    renderSettings(engine);
    const show = screen.getByRole("button", { name: "Show wallet key" });

    await userEvent.click(show);
    const confirm = screen.getByRole("group", { name: /Anyone who sees this key/ });
    expect(confirm).toHaveTextContent("can read and send as you");
    expect(screen.queryByTestId("wallet-key")).toBeNull();
    await userEvent.click(within(confirm).getByRole("button", { name: "Cancel" }));
    expect(exportKey).not.toHaveBeenCalled();
    expect(show).toHaveFocus();

    await userEvent.click(show);
    await userEvent.click(screen.getByRole("button", { name: "Show the key" }));
    expect(exportKey).toHaveBeenCalledTimes(1);
    expect(await screen.findByTestId("wallet-key")).toHaveTextContent(`0x${"ab".repeat(32)}`);
  });
});

describe("files (IPFS) in settings", () => {
  function section() {
    return screen.getByRole("region", { name: "Files (IPFS)" });
  }

  it("switches files to a Kubo RPC URL after checking it, and back to the app's own node", async () => {
    const engine = new FakeEngine();
    const setIpfsUrl = vi.spyOn(engine, "setIpfsUrl");
    const { onIpfsUrlChanged } = renderSettings(engine);
    const files = section();
    expect(within(files).getByTestId("ipfs-in-use")).toHaveTextContent(
      "Now: the app's own IPFS node.",
    );
    expect(within(files).queryByRole("button", { name: "Use the app's own node" })).toBeNull();
    const field = within(files).getByLabelText("Kubo RPC URL");
    const save = within(files).getByRole("button", { name: "Save" });
    expect(save).toBeDisabled();

    await userEvent.type(field, "ftp://kubo.example.org");
    await userEvent.click(save);
    expect(within(files).getByText(/must start with http:\/\/ or https:\/\//)).toBeInTheDocument();
    expect(field).toHaveAttribute("aria-invalid", "true");
    expect(setIpfsUrl).not.toHaveBeenCalled();

    await userEvent.clear(field);
    await userEvent.type(field, "http://127.0.0.1:5001{Enter}");
    expect(setIpfsUrl).toHaveBeenCalledWith("http://127.0.0.1:5001");
    expect(
      await within(files).findByText("Saved. Files now go through http://127.0.0.1:5001."),
    ).toBeInTheDocument();
    expect(within(files).getByTestId("ipfs-in-use")).toHaveTextContent(
      "Now: the Kubo RPC API at http://127.0.0.1:5001.",
    );
    expect(onIpfsUrlChanged).toHaveBeenCalledWith("http://127.0.0.1:5001");

    await userEvent.click(within(files).getByRole("button", { name: "Use the app's own node" }));
    expect(setIpfsUrl).toHaveBeenLastCalledWith(null);
    expect(
      await within(files).findByText("Saved. Files now go through the app's own IPFS node."),
    ).toBeInTheDocument();
    expect(field).toHaveValue("");
    expect(onIpfsUrlChanged).toHaveBeenLastCalledWith(null);
  });

  it("shows the URL in use and the engine's refusal", async () => {
    const engine = new FakeEngine();
    engine.info = { ...engine.info, ipfsUrl: "http://10.0.0.2:5001" };
    engine.failures.set(
      "setIpfsUrl",
      new EngineError("app.settings", "The settings file cannot be written."),
    );
    renderSettings(engine);
    const files = section();
    expect(within(files).getByLabelText("Kubo RPC URL")).toHaveValue("http://10.0.0.2:5001");
    await userEvent.click(within(files).getByRole("button", { name: "Use the app's own node" }));
    expect(
      await within(files).findByText("The settings file cannot be written."),
    ).toBeInTheDocument();
    expect(within(files).getByTestId("ipfs-in-use")).toHaveTextContent("http://10.0.0.2:5001");
  });
});
