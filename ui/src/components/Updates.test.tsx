import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { EngineError } from "../engine/api";
import { downloadPercent } from "../state/updates";
import { FakeEngine } from "../test/fakeEngine";
import { renderWithEngine } from "../test/render";
import { UpdateNotice, UpdatesSection } from "./UpdatesSection";

describe("Settings → Updates", () => {
  it("shows the version, checks on the chosen channel and installs with progress", async () => {
    const user = userEvent.setup();
    const engine = new FakeEngine();
    engine.updater.offered = { stable: null, beta: "0.2.0-beta.1" };
    renderWithEngine(<UpdatesSection />, engine);
    const region = await screen.findByRole("region", { name: "Updates" });
    expect(region).toHaveTextContent("ARX Messenger 0.1.0");
    expect(within(region).getByRole("radio", { name: /Stable/ })).toBeChecked();

    await user.click(within(region).getByRole("button", { name: "Check now" }));
    expect(await within(region).findByText(/up to date on the stable channel/)).toBeVisible();
    expect(region).toHaveTextContent("last checked");

    await user.click(within(region).getByRole("radio", { name: /Beta/ }));
    expect(within(region).getByRole("radio", { name: /Beta/ })).toBeChecked();
    await user.click(within(region).getByRole("button", { name: "Check now" }));
    expect(await within(region).findByText("ARX 0.2.0-beta.1 is available.")).toBeVisible();

    // The download's progress as the engine reports it.
    act(() =>
      engine.emit({
        kind: "updates",
        updates: {
          ...engine.updater.view,
          status: {
            state: "downloading",
            version: "0.2.0-beta.1",
            received: 250_000,
            total: 1_000_000,
          },
        },
      }),
    );
    const bar = within(region).getByRole("progressbar", { name: "Downloading ARX 0.2.0-beta.1" });
    expect(bar).toHaveAttribute("value", "25");
    act(() =>
      engine.emit({
        kind: "updates",
        updates: {
          ...engine.updater.view,
          status: { state: "available", version: "0.2.0-beta.1", notes: null },
        },
      }),
    );

    await user.click(
      within(region).getByRole("button", { name: "Download and install 0.2.0-beta.1" }),
    );
    expect(await within(region).findByText(/0.2.0-beta.1 is installed/)).toBeVisible();
    await user.click(within(region).getByRole("button", { name: "Restart to update" }));
    expect(engine.updater.restarts).toBe(1);
  });

  it("says why an update was refused and offers to check again", async () => {
    const user = userEvent.setup();
    const engine = new FakeEngine();
    engine.updater.offered.stable = "0.1.1";
    engine.updater.installFailure = new EngineError(
      "app.update_signature",
      "The downloaded update does not match its signature (tampered with, or not signed by ARX's key): it was not installed.",
    );
    renderWithEngine(<UpdatesSection />, engine);
    const region = await screen.findByRole("region", { name: "Updates" });
    await user.click(within(region).getByRole("button", { name: "Check now" }));
    await user.click(
      await within(region).findByRole("button", { name: "Download and install 0.1.1" }),
    );
    const alerts = await within(region).findAllByRole("alert");
    expect(alerts.map((a) => a.textContent).join(" ")).toMatch(/does not match its signature/);
    expect(within(region).queryByRole("button", { name: "Restart to update" })).toBeNull();
    expect(within(region).getByRole("button", { name: "Check now" })).toBeEnabled();
  });

  it("tells a system package without rights how to update instead of failing", async () => {
    const engine = new FakeEngine();
    engine.updater.view = {
      ...engine.updater.view,
      status: {
        state: "manual",
        version: "0.1.1",
        instructions: "Download the new .deb and install it with `sudo apt install ./<file>.deb`.",
        downloadUrl: "https://example.org/arx_0.1.1_amd64.deb",
      },
    };
    const user = userEvent.setup();
    renderWithEngine(<UpdatesSection />, engine);
    const region = await screen.findByRole("region", { name: "Updates" });
    expect(region).toHaveTextContent("sudo apt install");
    expect(within(region).queryByRole("button", { name: /Download and install/ })).toBeNull();
    await user.click(within(region).getByRole("button", { name: "Download 0.1.1" }));
    expect(engine.openedLinks).toEqual(["https://example.org/arx_0.1.1_amd64.deb"]);
  });

  it("points to Settings from the conversation list when a version is waiting", async () => {
    const engine = new FakeEngine();
    let opened = 0;
    renderWithEngine(<UpdateNotice onOpen={() => (opened += 1)} />, engine);
    await waitFor(() => expect(screen.queryByRole("button")).toBeNull());
    engine.updater.offered.stable = "0.1.1";
    act(() => void engine.updater.check());
    const notice = await screen.findByRole("button", { name: "ARX 0.1.1 is available" });
    await userEvent.setup().click(notice);
    expect(opened).toBe(1);
  });
});

describe("downloadPercent", () => {
  it("is whole percent, or null without a size", () => {
    expect(downloadPercent(0, 100)).toBe(0);
    expect(downloadPercent(999, 1000)).toBe(99);
    expect(downloadPercent(2000, 1000)).toBe(100);
    expect(downloadPercent(10, null)).toBeNull();
  });
});
