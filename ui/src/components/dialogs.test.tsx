import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { EngineError } from "../engine/api";
import { FakeEngine, makeConversation } from "../test/fakeEngine";
import { renderWithEngine } from "../test/render";
import { GroupInfoPanel } from "./GroupInfoPanel";
import { NewConversationDialog } from "./NewConversationDialog";
import { SettingsDialog } from "./SettingsDialog";

const PEER = "0x2222222222222222222222222222222222222222";

describe("new conversation dialog", () => {
  it("checks the address format before asking the engine", async () => {
    const engine = new FakeEngine();
    const openDm = vi.spyOn(engine, "openDm");
    renderWithEngine(<NewConversationDialog onClose={vi.fn()} onOpened={vi.fn()} />, engine);
    expect(screen.getByRole("dialog")).toHaveAttribute("aria-modal", "true");
    await userEvent.type(screen.getByTestId("new-dm-input"), "0x1234");
    await userEvent.click(screen.getByTestId("new-dm-submit"));
    expect(screen.getByRole("alert")).toHaveTextContent("40 hex digits");
    expect(openDm).not.toHaveBeenCalled();
  });

  it("says plainly when the address is not on ARX", async () => {
    const engine = new FakeEngine();
    engine.failures.set("openDm", new EngineError("identity.not_on_arx", "no inbox for 0x2222…"));
    const onOpened = vi.fn();
    renderWithEngine(<NewConversationDialog onClose={vi.fn()} onOpened={onOpened} />, engine);
    await userEvent.type(screen.getByTestId("new-dm-input"), PEER);
    await userEvent.click(screen.getByTestId("new-dm-submit"));
    expect(await screen.findByText("This address isn't on ARX yet.")).toBeInTheDocument();
    expect(onOpened).not.toHaveBeenCalled();

    await userEvent.click(screen.getByTestId("new-dm-submit"));
    await waitFor(() => expect(onOpened).toHaveBeenCalledTimes(1));
  });

  it("creates a group and reports the members that could not be added", async () => {
    const engine = new FakeEngine();
    const group = makeConversation({ id: "g1", kind: "group", title: "Trip", peerAddress: null });
    const createGroup = vi.spyOn(engine, "createGroup").mockResolvedValue({
      conversation: group,
      failures: [{ member: PEER, code: "identity.not_on_arx", message: "not registered" }],
    });
    const onOpened = vi.fn();
    renderWithEngine(<NewConversationDialog onClose={vi.fn()} onOpened={onOpened} />, engine);
    await userEvent.click(screen.getByRole("tab", { name: "Group" }));
    await userEvent.type(screen.getByTestId("new-group-name"), "Trip");
    await userEvent.type(
      screen.getByTestId("new-group-members"),
      `${PEER}\n${"c".repeat(64)}\n${PEER}\n`,
    );
    await userEvent.click(screen.getByTestId("new-group-submit"));
    expect(createGroup).toHaveBeenCalledWith("Trip", [PEER, "c".repeat(64)]);
    expect(await screen.findByText("This address isn't on ARX yet.")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Open the group" }));
    expect(onOpened).toHaveBeenCalledWith(group);
  });

  it("closes on Escape", async () => {
    const onClose = vi.fn();
    renderWithEngine(
      <NewConversationDialog onClose={onClose} onOpened={vi.fn()} />,
      new FakeEngine(),
    );
    await userEvent.keyboard("{Escape}");
    expect(onClose).toHaveBeenCalled();
  });
});

describe("group info panel", () => {
  function setup(myRole: "admin" | "member") {
    const engine = new FakeEngine();
    const group = makeConversation({
      id: "g",
      kind: "group",
      title: "Team",
      peerAddress: null,
      myRole,
      memberCount: 3,
    });
    engine.addConversation(group);
    engine.members.set("g", [
      {
        inboxId: "a".repeat(64),
        address: "0x1111111111111111111111111111111111111111",
        label: "0x1111…1111",
        role: myRole,
        isMe: true,
      },
      {
        inboxId: "b".repeat(64),
        address: PEER,
        label: `${PEER.slice(0, 6)}…${PEER.slice(-4)}`,
        role: "member",
        isMe: false,
      },
      {
        inboxId: "d".repeat(64),
        address: "0x3333333333333333333333333333333333333333",
        label: "0x3333…3333",
        role: "super_admin",
        isMe: false,
      },
    ]);
    const onLeft = vi.fn();
    renderWithEngine(
      <GroupInfoPanel conversation={group} onClose={vi.fn()} onLeft={onLeft} />,
      engine,
    );
    return { engine, onLeft };
  }

  it("lets admins add and remove members, but not the owner", async () => {
    const { engine } = setup("admin");
    const list = await screen.findByRole("list", { name: "Members" });
    expect(within(list).getAllByRole("listitem")).toHaveLength(3);
    expect(within(list).getByText("Owner")).toBeInTheDocument();
    const removeButtons = await screen.findAllByRole("button", { name: /^Remove / });
    expect(removeButtons).toHaveLength(1);
    const remove = vi.spyOn(engine, "removeMembers");
    await userEvent.click(removeButtons[0] as HTMLElement);
    expect(remove).toHaveBeenCalledWith("g", ["b".repeat(64)]);
    expect(screen.getByRole("textbox", { name: /Add members/ })).toBeInTheDocument();
  });

  it("shows members without add or remove controls to a plain member", async () => {
    setup("member");
    await screen.findByRole("list", { name: "Members" });
    expect(
      await screen.findByText("Only admins and owners can add or remove members."),
    ).toBeInTheDocument();
    expect(screen.queryAllByRole("button", { name: /^Remove / })).toHaveLength(0);
    expect(screen.queryByRole("textbox", { name: /Add members/ })).toBeNull();
  });

  it("asks before leaving the group", async () => {
    const { engine, onLeft } = setup("member");
    const leave = vi.spyOn(engine, "leaveGroup");
    await userEvent.click(screen.getByRole("button", { name: "Leave group" }));
    const confirm = screen.getByRole("dialog", { name: /Leave “Team”/ });
    expect(leave).not.toHaveBeenCalled();
    await userEvent.click(within(confirm).getByRole("button", { name: "Cancel" }));
    expect(screen.queryByRole("dialog")).toBeNull();

    await userEvent.click(screen.getByRole("button", { name: "Leave group" }));
    await userEvent.click(
      within(screen.getByRole("dialog")).getByRole("button", { name: "Leave group" }),
    );
    expect(leave).toHaveBeenCalledWith("g");
    await waitFor(() => expect(onLeft).toHaveBeenCalledWith("g"));
  });

  it("renames the group", async () => {
    const { engine } = setup("admin");
    const rename = vi.spyOn(engine, "renameGroup");
    const input = await screen.findByRole("textbox", { name: "Group name" });
    await userEvent.clear(input);
    await userEvent.type(input, "Team 2");
    await userEvent.click(screen.getByRole("button", { name: "Rename" }));
    expect(rename).toHaveBeenCalledWith("g", "Team 2");
  });
});

describe("settings", () => {
  it("validates the node URL before switching networks", async () => {
    const engine = new FakeEngine();
    const setNetwork = vi.spyOn(engine, "setNetwork");
    const onNetworkChanged = vi.fn();
    renderWithEngine(
      <SettingsDialog
        info={engine.info}
        onClose={vi.fn()}
        onNetworkChanged={onNetworkChanged}
        walletConnectProjectId={null}
      />,
      engine,
    );
    expect(screen.getByText(engine.info.account?.inboxId ?? "")).toBeInTheDocument();
    expect(screen.getByText(engine.info.dataDir)).toBeInTheDocument();
    await userEvent.click(screen.getByRole("radio", { name: /A node on the network/ }));
    const url = screen.getByRole("textbox", { name: "Node URL" });
    await userEvent.type(url, "ftp://node.example.org");
    await userEvent.click(screen.getByRole("button", { name: "Use this network" }));
    expect(screen.getByText(/must start with http/)).toBeInTheDocument();
    expect(setNetwork).not.toHaveBeenCalled();

    await userEvent.clear(url);
    await userEvent.type(url, "https://node.example.org:5050");
    await userEvent.click(screen.getByRole("button", { name: "Use this network" }));
    const remote = { kind: "remote", url: "https://node.example.org:5050" };
    expect(setNetwork).toHaveBeenCalledWith(remote);
    await waitFor(() => expect(onNetworkChanged).toHaveBeenCalledWith(remote));
  });

  it("turns notifications off and back on through the engine", async () => {
    const engine = new FakeEngine();
    const setNotifications = vi.spyOn(engine, "setNotifications");
    renderWithEngine(
      <SettingsDialog
        info={engine.info}
        onClose={vi.fn()}
        onNetworkChanged={vi.fn()}
        walletConnectProjectId={null}
      />,
      engine,
    );
    const toggle = screen.getByRole("checkbox", { name: /notify me of new messages/i });
    expect(toggle).toBeChecked();
    await userEvent.click(toggle);
    expect(setNotifications).toHaveBeenLastCalledWith(false);
    expect(toggle).not.toBeChecked();
    engine.failures.set("setNotifications", new EngineError("app.settings", "disk full"));
    await userEvent.click(toggle);
    expect(await screen.findByRole("alert")).toHaveTextContent("disk full");
    expect(toggle).not.toBeChecked();
  });

  it("shows the built-in wallet key only when asked", async () => {
    const engine = new FakeEngine();
    renderWithEngine(
      <SettingsDialog
        info={engine.info}
        onClose={vi.fn()}
        onNetworkChanged={vi.fn()}
        walletConnectProjectId={null}
      />,
      engine,
    );
    expect(screen.queryByTestId("wallet-key")).toBeNull();
    await userEvent.click(screen.getByRole("button", { name: "Show wallet key" }));
    expect(screen.queryByTestId("wallet-key")).toBeNull();
    await userEvent.click(screen.getByRole("button", { name: "Show the key" }));
    expect(await screen.findByTestId("wallet-key")).toHaveTextContent(`0x${"ab".repeat(32)}`);
    await userEvent.click(screen.getByRole("button", { name: "Hide" }));
    expect(screen.queryByTestId("wallet-key")).toBeNull();
  });
});
