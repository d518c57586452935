import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { App } from "./App";
import { FakeEngine, ME } from "./test/fakeEngine";
import { renderWithEngine } from "./test/render";

function signedOut() {
  const engine = new FakeEngine();
  engine.info = { ...engine.info, account: null };
  return engine;
}

describe("onboarding", () => {
  it("creates a key on this computer and opens the messenger", async () => {
    const engine = signedOut();
    renderWithEngine(<App walletConnectProjectId={null} />, engine);
    await userEvent.click(await screen.findByTestId("onboard-create-key"));
    expect(await screen.findByTestId("account-address")).toHaveTextContent(ME.address);
    expect(screen.getByTestId("conversation-list")).toBeInTheDocument();
  });

  it("tells the shell once that the first screen is ready", async () => {
    const engine = signedOut();
    renderWithEngine(<App walletConnectProjectId={null} />, engine);
    await userEvent.click(await screen.findByTestId("onboard-create-key"));
    await screen.findByTestId("conversation-list");
    await waitFor(() => expect(engine.readyCalls).toBe(1));
  });

  it("validates an imported private key before handing it to the engine", async () => {
    const engine = signedOut();
    const importKey = vi.spyOn(engine, "importBuiltinKey");
    renderWithEngine(<App walletConnectProjectId={null} />, engine);
    await userEvent.click(await screen.findByRole("button", { name: "Import a key" }));
    const field = screen.getByLabelText(/Private key/);
    await userEvent.type(field, "0x1234zz");
    await userEvent.click(screen.getByRole("button", { name: "Import" }));
    expect(screen.getByRole("alert")).toHaveTextContent("only hex digits");
    await userEvent.clear(field);
    await userEvent.type(field, "ab".repeat(31));
    await userEvent.click(screen.getByRole("button", { name: "Import" }));
    expect(screen.getByRole("alert")).toHaveTextContent("64 hex digits; this has 62");
    expect(importKey).not.toHaveBeenCalled();

    await userEvent.clear(field);
    await userEvent.type(field, `0x${"ab".repeat(32)}`);
    await userEvent.click(screen.getByRole("button", { name: "Import" }));
    expect(importKey).toHaveBeenCalledWith(`0x${"ab".repeat(32)}`);
    await waitFor(() => expect(screen.getByTestId("account-address")).toBeInTheDocument());
  });

  it("explains that a build without a WalletConnect project id cannot connect wallets", async () => {
    renderWithEngine(<App walletConnectProjectId={null} />, signedOut());
    const button = await screen.findByRole("button", { name: "Connect a wallet" });
    expect(button).toBeDisabled();
    expect(screen.getByText(/This build has no WalletConnect project id/)).toBeInTheDocument();
  });

  it("offers the wallet connection when the build has a project id", async () => {
    renderWithEngine(<App walletConnectProjectId="test-project" />, signedOut());
    const button = await screen.findByRole("button", { name: "Connect a wallet" });
    expect(button).toBeEnabled();
    expect(screen.queryByText(/This build has no WalletConnect project id/)).toBeNull();
  });
});

describe("startup", () => {
  it("shows the messenger straight away for a signed-in account", async () => {
    renderWithEngine(<App walletConnectProjectId={null} />, new FakeEngine());
    expect(await screen.findByTestId("account-address")).toHaveTextContent(ME.address);
    expect(screen.getByTestId("connection-state")).toHaveAttribute("data-state", "connecting");
  });
});
