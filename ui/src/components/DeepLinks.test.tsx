import { act, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { FakeEngine } from "../test/fakeEngine";
import { renderWithEngine } from "../test/render";
import { Messenger } from "./Messenger";

const PEER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const OTHER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";

function renderMessenger(engine: FakeEngine) {
  renderWithEngine(
    <Messenger
      info={engine.info}
      onNetworkChanged={() => undefined}
      walletConnectProjectId={null}
    />,
    engine,
  );
}

describe("arx:// links", () => {
  it("opens the DM a link names, at start and when one arrives later", async () => {
    const engine = new FakeEngine();
    engine.links.push(`arx://dm/${PEER}`);
    renderMessenger(engine);
    expect(await screen.findByRole("heading", { level: 1, name: /0x7099/ })).toBeVisible();
    expect(engine.links).toEqual([]);

    // A second start of the profile hands its link over while ARX runs.
    engine.links.push(`arx://dm/${OTHER}`);
    act(() => engine.emit({ kind: "linkWaiting" }));
    expect(await screen.findByRole("heading", { level: 1, name: /0x3C44/ })).toBeVisible();
  });

  it("says when a link names no one ARX can open", async () => {
    const engine = new FakeEngine();
    engine.links.push("arx://group/whatever");
    renderMessenger(engine);
    expect(await screen.findByText(/The link could not be opened/)).toBeVisible();
  });
});
