import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { EngineError, type Role } from "../engine/api";
import { FakeEngine, makeConversation, PIXEL_DATA_URL } from "../test/fakeEngine";
import { renderWithEngine } from "../test/render";
import { DmSettingsPanel } from "./DmSettingsPanel";
import { GroupInfoPanel } from "./GroupInfoPanel";
import { Messenger } from "./Messenger";

const ME_INBOX = "a".repeat(64);
const PEER_INBOX = "b".repeat(64);

function setup(myRole: Role, options: { otherOwner?: boolean } = {}) {
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
      inboxId: ME_INBOX,
      address: "0x1111111111111111111111111111111111111111",
      label: "0x1111…1111",
      role: myRole,
      isMe: true,
    },
    {
      inboxId: PEER_INBOX,
      address: "0x2222222222222222222222222222222222222222",
      label: "0x2222…2222",
      role: "member",
      isMe: false,
    },
    {
      inboxId: "d".repeat(64),
      address: "0x3333333333333333333333333333333333333333",
      label: "0x3333…3333",
      role: options.otherOwner === false ? "admin" : "super_admin",
      isMe: false,
    },
  ]);
  engine.settings.set("g", {
    description: "Weekly plans",
    image: PIXEL_DATA_URL,
    policies: { addMembers: "admins", removeMembers: "admins", updateProfile: "admins" },
    disappearAfterSecs: 3600,
  });
  renderWithEngine(
    <GroupInfoPanel conversation={group} onClose={vi.fn()} onLeft={vi.fn()} />,
    engine,
  );
  return { engine };
}

const panel = () => screen.getByRole("complementary", { name: "Group settings" });

describe("group settings panel", () => {
  it("shows the group's image, profile, timer, permissions and members with their roles", async () => {
    setup("super_admin");
    const description = await screen.findByRole("textbox", { name: "Description" });
    expect(description).toHaveValue("Weekly plans");
    expect(screen.getByRole("textbox", { name: "Group name" })).toHaveValue("Team");
    expect(await screen.findByRole("img", { name: "Avatar of Team" })).toHaveAttribute(
      "src",
      PIXEL_DATA_URL,
    );
    expect(screen.getByRole("button", { name: "Change image" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Remove image" })).toBeInTheDocument();
    const timer = screen.getByRole("combobox", { name: "Disappearing messages" });
    expect(timer).toHaveValue("3600");
    expect(within(timer).getByRole("option", { selected: true })).toHaveTextContent("1 hour");
    for (const name of [
      "Who can add members",
      "Who can remove members",
      "Who can edit the group profile",
    ]) {
      expect(screen.getByRole("combobox", { name })).toHaveValue("admins");
    }
    const list = await screen.findByRole("list", { name: "Members" });
    expect(within(list).getAllByRole("listitem")).toHaveLength(3);
    // Another owner exists, so this person may step down too.
    expect(await screen.findByRole("combobox", { name: "Role of 0x2222…2222" })).toHaveValue(
      "member",
    );
    expect(screen.getByRole("combobox", { name: "Role of 0x3333…3333" })).toHaveValue(
      "super_admin",
    );
    expect(screen.getByRole("combobox", { name: "Role of 0x1111…1111 (you)" })).toHaveValue(
      "super_admin",
    );
  });

  it("shows a plain member the settings as text, with nothing to change", async () => {
    setup("member");
    expect(await screen.findByTestId("group-description")).toHaveTextContent("Weekly plans");
    expect(screen.getByTestId("group-name")).toHaveTextContent("Team");
    expect(screen.queryByRole("textbox", { name: "Group name" })).toBeNull();
    expect(screen.queryByRole("textbox", { name: "Description" })).toBeNull();
    expect(screen.queryByRole("button", { name: /image/i })).toBeNull();
    await screen.findByRole("list", { name: "Members" });
    expect(within(panel()).queryAllByRole("combobox")).toHaveLength(0);
    const timer = screen.getByTestId("disappearing-setting");
    expect(timer).toHaveTextContent("Disappearing messages");
    expect(timer).toHaveTextContent("1 hour");
    expect(screen.getAllByText("Admins and owners")).toHaveLength(3);
    expect(screen.getByText("Only owners can change who may do what.")).toBeInTheDocument();
    expect(screen.getByText(/Only admins and owners can change the group's image/)).toBeVisible();
    expect(screen.getAllByText("Member").length).toBeGreaterThan(0);
  });

  it("lets an admin edit the profile but not the permissions or roles", async () => {
    const { engine } = setup("admin");
    const setDescription = vi.spyOn(engine, "setGroupDescription");
    const description = await screen.findByRole("textbox", { name: "Description" });
    await userEvent.clear(description);
    await userEvent.type(description, "Plans for the week");
    await userEvent.click(screen.getByRole("button", { name: "Save description" }));
    expect(setDescription).toHaveBeenCalledWith("g", "Plans for the week");
    expect(await screen.findByText("Description saved.")).toBeInTheDocument();
    expect(screen.queryByRole("combobox", { name: "Who can add members" })).toBeNull();
    expect(screen.queryByRole("combobox", { name: /^Role of/ })).toBeNull();
    expect(screen.getByRole("combobox", { name: "Disappearing messages" })).toBeEnabled();
  });

  it("lets a super admin change a policy and a member's role", async () => {
    const { engine } = setup("super_admin");
    const setPolicies = vi.spyOn(engine, "setGroupPolicies");
    const setRole = vi.spyOn(engine, "setMemberRole");

    const adding = await screen.findByRole("combobox", { name: "Who can add members" });
    await userEvent.selectOptions(adding, "everyone");
    expect(setPolicies).toHaveBeenCalledWith("g", {
      addMembers: "everyone",
      removeMembers: "admins",
      updateProfile: "admins",
    });
    expect(await screen.findByText("Permissions saved.")).toBeInTheDocument();
    expect(adding).toHaveValue("everyone");

    const role = await screen.findByRole("combobox", { name: "Role of 0x2222…2222" });
    await userEvent.selectOptions(role, "admin");
    expect(setRole).toHaveBeenCalledWith("g", PEER_INBOX, "admin");
    await waitFor(() =>
      expect(screen.getByRole("combobox", { name: "Role of 0x2222…2222" })).toHaveValue("admin"),
    );
  });

  it("offers no role selector to the last owner for themselves", async () => {
    setup("super_admin", { otherOwner: false });
    expect(await screen.findByRole("combobox", { name: "Role of 0x3333…3333" })).toHaveValue(
      "admin",
    );
    expect(screen.queryByRole("combobox", { name: /Role of 0x1111…1111/ })).toBeNull();
  });

  it("sets the disappearing timer in seconds, and turns it off with null", async () => {
    const { engine } = setup("admin");
    const setDisappearing = vi.spyOn(engine, "setDisappearing");
    const timer = await screen.findByRole("combobox", { name: "Disappearing messages" });
    expect(
      within(timer)
        .getAllByRole("option")
        .map((o) => o.textContent),
    ).toEqual(["Off", "30 seconds", "5 minutes", "1 hour", "1 day", "1 week"]);
    await userEvent.selectOptions(timer, "1 day");
    expect(setDisappearing).toHaveBeenLastCalledWith("g", 86_400);
    expect(await screen.findByText("Messages disappear after 1 day.")).toBeInTheDocument();
    await userEvent.selectOptions(timer, "Off");
    expect(setDisappearing).toHaveBeenLastCalledWith("g", null);
    expect(await screen.findByText("Messages do not disappear.")).toBeInTheDocument();
    expect(timer).toHaveValue("off");
  });

  it("shows the engine's refusals and goes back to the settings in force", async () => {
    const { engine } = setup("super_admin");
    engine.failures.set(
      "setGroupPolicies",
      new EngineError("group.not_permitted", "Only super admins may change the policies."),
    );
    const removing = await screen.findByRole("combobox", { name: "Who can remove members" });
    await userEvent.selectOptions(removing, "super_admins");
    expect(
      await screen.findByText(
        "The permissions were not changed: Only super admins may change the policies.",
      ),
    ).toHaveAttribute("role", "alert");
    expect(removing).toHaveValue("admins");

    engine.failures.set(
      "setMemberRole",
      new EngineError("group.invalid_settings", "A group needs at least one super admin."),
    );
    const role = screen.getByRole("combobox", { name: "Role of 0x3333…3333" });
    await userEvent.selectOptions(role, "member");
    const row = role.closest("li") as HTMLElement;
    expect(await within(row).findByRole("alert")).toHaveTextContent(
      "The role was not changed: A group needs at least one super admin.",
    );
    expect(role).toHaveValue("super_admin");

    engine.failures.set("setDisappearing", new EngineError("network.unreachable", "offline"));
    const timer = screen.getByRole("combobox", { name: "Disappearing messages" });
    await userEvent.selectOptions(timer, "1 week");
    expect(await screen.findByText("The timer was not changed: offline")).toHaveAttribute(
      "role",
      "alert",
    );
    expect(timer).toHaveValue("3600");
  });

  it("says why the settings are missing and loads them again on request", async () => {
    const engine = new FakeEngine();
    const group = makeConversation({ id: "g", kind: "group", title: "Team", peerAddress: null });
    engine.addConversation(group);
    engine.failures.set("groupSettings", new EngineError("store.unavailable", "database busy"));
    renderWithEngine(
      <GroupInfoPanel conversation={group} onClose={vi.fn()} onLeft={vi.fn()} />,
      engine,
    );
    expect(await screen.findByText(/could not be loaded: database busy/)).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByTestId("disappearing-setting")).toHaveTextContent("Off");
  });

  it("follows settings changed by someone else", async () => {
    const { engine } = setup("member");
    expect(await screen.findByTestId("group-description")).toHaveTextContent("Weekly plans");
    const settings = engine.settings.get("g");
    if (settings === undefined) throw new Error("no settings");
    settings.description = "New plans";
    settings.disappearAfterSecs = 7200;
    settings.policies = { ...settings.policies, updateProfile: "everyone" };
    const conversation = engine.conversations.get("g");
    if (conversation === undefined) throw new Error("no group");
    act(() => engine.emit({ kind: "conversation", conversation }));
    // Everyone may edit the profile now: the member gets the forms, with the new values.
    expect(await screen.findByRole("textbox", { name: "Description" })).toHaveValue("New plans");
    const timer = screen.getByRole("combobox", { name: "Disappearing messages" });
    expect(timer).toHaveValue("7200");
    expect(within(timer).getByRole("option", { selected: true })).toHaveTextContent("2 hours");
  });

  it("changes and removes the group image", async () => {
    const { engine } = setup("admin");
    engine.settings.set("g", { ...(engine.settings.get("g") ?? fail()), image: null });
    const setImage = vi.spyOn(engine, "setGroupImage");
    const clearImage = vi.spyOn(engine, "clearGroupImage");
    // Settings are read on open; show the group without an image.
    const conversation = engine.conversations.get("g") ?? fail();
    act(() => engine.emit({ kind: "conversation", conversation }));
    await screen.findByRole("button", { name: "Add image" });

    const file = new File([new Uint8Array([1, 2, 3])], "team.png", { type: "image/png" });
    await userEvent.upload(screen.getByTestId("group-image-input"), file);
    await waitFor(() => expect(setImage).toHaveBeenCalledWith("g", "AQID"));
    expect(await screen.findByRole("img", { name: "Avatar of Team" })).toBeInTheDocument();

    await userEvent.click(await screen.findByRole("button", { name: "Remove image" }));
    expect(clearImage).toHaveBeenCalledWith("g");
    await screen.findByRole("button", { name: "Add image" });
    expect(screen.queryByRole("img", { name: "Avatar of Team" })).toBeNull();
  });

  it("refuses a file that is not an image before sending it", async () => {
    const { engine } = setup("admin");
    const setImage = vi.spyOn(engine, "setGroupImage");
    await screen.findByRole("button", { name: "Change image" });
    const file = new File(["hello"], "notes.txt", { type: "text/plain" });
    await userEvent.upload(screen.getByTestId("group-image-input"), file, { applyAccept: false });
    expect(await screen.findByText(/“notes.txt” is not an image/)).toHaveAttribute("role", "alert");
    expect(setImage).not.toHaveBeenCalled();
  });
});

describe("DM settings", () => {
  it("lets either person set the timer, shown in the header", async () => {
    const engine = new FakeEngine();
    engine.addConversation(makeConversation({ id: "dm", title: "0x2222…2222" }));
    const setDisappearing = vi.spyOn(engine, "setDisappearing");
    renderWithEngine(
      <Messenger info={engine.info} onNetworkChanged={vi.fn()} walletConnectProjectId={null} />,
      engine,
    );
    const item = await screen.findByTestId("conversation-item");
    await userEvent.click(within(item).getByRole("button"));
    expect(screen.queryByRole("img", { name: /Messages disappear/ })).toBeNull();
    const open = screen.getByRole("button", { name: "Conversation settings" });
    expect(open).toHaveAttribute("aria-expanded", "false");
    await userEvent.click(open);
    const settings = screen.getByRole("complementary", { name: "Conversation settings" });
    const timer = await within(settings).findByRole("combobox", {
      name: "Disappearing messages",
    });
    await userEvent.selectOptions(timer, "5 minutes");
    expect(setDisappearing).toHaveBeenCalledWith("dm", 300);
    const badge = await screen.findByRole("img", { name: "Messages disappear after 5 minutes" });
    expect(badge).toHaveTextContent("5 minutes");

    await userEvent.selectOptions(timer, "Off");
    expect(setDisappearing).toHaveBeenLastCalledWith("dm", null);
    await waitFor(() =>
      expect(screen.queryByRole("img", { name: /Messages disappear/ })).toBeNull(),
    );

    // Escape closes the panel and gives focus back to the button that opened it.
    timer.focus();
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("complementary", { name: "Conversation settings" })).toBeNull();
    expect(screen.getByRole("button", { name: "Conversation settings" })).toHaveFocus();
  });

  it("shows the timer set by the other person", async () => {
    const engine = new FakeEngine();
    const dm = makeConversation({ id: "dm" });
    engine.addConversation(dm);
    renderWithEngine(<DmSettingsPanel conversation={dm} onClose={vi.fn()} />, engine);
    const timer = await screen.findByRole("combobox", { name: "Disappearing messages" });
    expect(timer).toHaveValue("off");
    engine.settings.set("dm", {
      description: null,
      image: null,
      policies: { addMembers: "admins", removeMembers: "admins", updateProfile: "admins" },
      disappearAfterSecs: 30,
    });
    act(() => engine.emit({ kind: "conversation", conversation: dm }));
    await waitFor(() => expect(timer).toHaveValue("30"));
  });
});

function fail(): never {
  throw new Error("missing test data");
}
