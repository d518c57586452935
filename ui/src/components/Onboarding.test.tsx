import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it, vi } from "vitest";
import { EngineError } from "../engine/api";
import { FakeEngine } from "../test/fakeEngine";
import { renderWithEngine } from "../test/render";
import type { Eip1193Provider } from "../wallet/eip1193";
import { Onboarding } from "./Onboarding";

const account = privateKeyToAccount(
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
);
let refuseNextSignature = false;
const wallet: Eip1193Provider = {
  async request({ method, params }) {
    if (method === "eth_requestAccounts" || method === "eth_accounts") return [account.address];
    if (method === "personal_sign") {
      if (refuseNextSignature) {
        refuseNextSignature = false;
        throw { code: 4001, message: "User rejected the request." };
      }
      const [data] = params as [`0x${string}`];
      return account.signMessage({ message: { raw: data } });
    }
    throw { code: 4200, message: "unsupported" };
  },
};
const disconnect = vi.fn(async () => undefined);

// AppKit itself needs a relay; the flow around it is what is tested here.
vi.mock("../wallet/appkit", () => ({
  connectWallet: async () => ({ provider: wallet, address: account.address, disconnect }),
}));

describe("signing in with an external wallet", () => {
  it("shows the engine's text, survives a refusal in the wallet, then completes", async () => {
    const engine = new FakeEngine();
    engine.info = { ...engine.info, account: null };
    const complete = vi.spyOn(engine, "completeExternalSignin");
    const onSignedIn = vi.fn();
    renderWithEngine(
      <Onboarding walletConnectProjectId="project" onSignedIn={onSignedIn} />,
      engine,
    );

    await userEvent.click(screen.getByRole("button", { name: "Connect a wallet" }));
    await userEvent.click(screen.getByRole("button", { name: "Open WalletConnect" }));
    const text = await screen.findByText(/^ARX identity update/);
    expect(text.textContent).toContain(account.address);

    refuseNextSignature = true;
    await userEvent.click(screen.getByRole("button", { name: "Sign in wallet" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("You declined in your wallet");
    expect(screen.getByText(/^ARX identity update/)).toBeInTheDocument();
    expect(complete).not.toHaveBeenCalled();

    await userEvent.click(screen.getByRole("button", { name: "Sign in wallet" }));
    await waitFor(() => expect(onSignedIn).toHaveBeenCalled());
    expect(complete).toHaveBeenCalledWith("r1", expect.stringMatching(/^0x[0-9a-f]{130}$/));
    expect(disconnect).toHaveBeenCalled();
  });

  it("explains a signature the engine refused", async () => {
    const engine = new FakeEngine();
    engine.info = { ...engine.info, account: null };
    engine.failures.set(
      "completeExternalSignin",
      new EngineError("identity.signature_mismatch", "recovered 0xabc"),
    );
    renderWithEngine(<Onboarding walletConnectProjectId="project" onSignedIn={vi.fn()} />, engine);
    await userEvent.click(screen.getByRole("button", { name: "Connect a wallet" }));
    await userEvent.click(screen.getByRole("button", { name: "Open WalletConnect" }));
    await userEvent.click(await screen.findByRole("button", { name: "Sign in wallet" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "The signature does not match this wallet address",
    );
  });
});
