import { type FormEvent, useCallback, useEffect, useId, useRef, useState } from "react";
import {
  type AddFailure,
  type ConversationView,
  EngineError,
  type GroupSettingsView,
  MAX_PASTED_BYTES,
  type MemberView,
  type PoliciesView,
  type PolicyView,
  type Role,
} from "../engine/api";
import { useEngine, useEngineEvents } from "../engine/context";
import { readBase64 } from "../lib/files";
import { policyLabel, roleLabel, shortId } from "../lib/format";
import { useEngineAction } from "../lib/useEngineAction";
import { useOnChange } from "../lib/useOnChange";
import { parseMemberList, peerIdProblem } from "../lib/validate";
import { useConversationSettings } from "../state/conversationSettings";
import { Avatar } from "./Avatar";
import { CopyButton } from "./CopyButton";
import { Dialog } from "./Dialog";
import { DisappearingSetting } from "./DisappearingSetting";
import { FieldError } from "./FieldError";
import { describePeerError } from "./NewConversationDialog";
import { PanelHeader } from "./PanelHeader";

export interface GroupInfoPanelProps {
  conversation: ConversationView;
  onClose: () => void;
  /** I left the group. */
  onLeft: (conversationId: string) => void;
}

const ROLE_ORDER = { super_admin: 0, admin: 1, member: 2 } as const;
const ROLES: Role[] = ["member", "admin", "super_admin"];
const POLICIES: PolicyView[] = ["everyone", "admins", "super_admins"];
const POLICY_ROWS: { key: keyof PoliciesView; label: string }[] = [
  { key: "addMembers", label: "Who can add members" },
  { key: "removeMembers", label: "Who can remove members" },
  { key: "updateProfile", label: "Who can edit the group profile" },
];

/** Who a policy lets make a change, inside a sentence ("Only admins and owners can…"). */
function whoMay(policy: PolicyView): string {
  switch (policy) {
    case "everyone":
      return "members";
    case "admins":
      return "admins and owners";
    case "super_admins":
      return "owners";
  }
}

function membersNote(settings: GroupSettingsView): string | null {
  if (settings.canAddMembers || settings.canRemoveMembers) return null;
  const { addMembers, removeMembers } = settings.policies;
  return addMembers === removeMembers
    ? `Only ${whoMay(addMembers)} can add or remove members.`
    : `Only ${whoMay(addMembers)} can add members, and only ${whoMay(removeMembers)} can remove them.`;
}

/**
 * A group's settings: its image, name and description, the disappearing timer, who may do what,
 * and its members with their roles. Each control is there for whoever may use it; the others
 * see the settings as text. Changes made by anyone show here as they arrive.
 */
export function GroupInfoPanel({ conversation, onClose, onLeft }: GroupInfoPanelProps) {
  const engine = useEngine();
  const {
    settings,
    error: settingsError,
    reload: reloadSettings,
  } = useConversationSettings(conversation.id);
  const [members, setMembers] = useState<MemberView[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [confirmLeave, setConfirmLeave] = useState(false);
  const latest = useRef(0);

  const load = useCallback(() => {
    latest.current += 1;
    const ticket = latest.current;
    engine
      .groupMembers(conversation.id)
      .then((list) => {
        if (ticket !== latest.current) return;
        setMembers(
          [...list].sort(
            (a, b) =>
              Number(b.isMe) - Number(a.isMe) ||
              ROLE_ORDER[a.role] - ROLE_ORDER[b.role] ||
              a.address.localeCompare(b.address),
          ),
        );
        setLoadError(null);
      })
      .catch((raw: unknown) => {
        if (ticket === latest.current) setLoadError(EngineError.from(raw).message);
      });
  }, [engine, conversation.id]);

  useEffect(() => {
    load();
    return () => {
      latest.current += 1;
    };
  }, [load]);
  // Members, roles and settings changed by anyone arrive as a conversation event.
  useEngineEvents((event) => {
    if (event.kind === "conversation" && event.conversation.id === conversation.id) load();
  });

  const changed = useCallback(() => {
    reloadSettings();
    load();
  }, [reloadSettings, load]);

  const superAdmins = members?.filter((m) => m.role === "super_admin").length ?? 0;
  const note = settings !== null ? membersNote(settings) : null;

  return (
    <aside
      className="info-panel"
      aria-label="Group settings"
      onKeyDown={(event) => {
        if (event.key === "Escape" && !confirmLeave) onClose();
      }}
    >
      <PanelHeader title="Group settings" onClose={onClose} />
      <div className="panel-body">
        {settings === null ? (
          <section className="panel-section">
            {settingsError !== null ? (
              <p className="field-error" role="alert">
                The group settings could not be loaded: {settingsError}{" "}
                <button type="button" className="link-button" onClick={reloadSettings}>
                  Try again
                </button>
              </p>
            ) : (
              <p className="muted" role="status">
                Loading group settings…
              </p>
            )}
          </section>
        ) : (
          <>
            <GroupProfile conversation={conversation} settings={settings} onChanged={changed} />
            <section className="panel-section">
              <DisappearingSetting
                conversationId={conversation.id}
                seconds={settings.disappearAfterSecs}
                canChange={settings.canEditProfile}
                readOnlyHint={`Only ${whoMay(settings.policies.updateProfile)} can change it.`}
                onChanged={reloadSettings}
              />
            </section>
            <PoliciesSection
              conversationId={conversation.id}
              settings={settings}
              onChanged={reloadSettings}
            />
          </>
        )}

        <section aria-labelledby="members-heading" className="panel-section">
          <h3 id="members-heading">
            Members <span className="muted">({members?.length ?? conversation.memberCount})</span>
          </h3>
          {loadError !== null ? (
            <p className="field-error" role="alert">
              The member list could not be loaded: {loadError}{" "}
              <button type="button" className="link-button" onClick={() => load()}>
                Try again
              </button>
            </p>
          ) : members === null ? (
            <p className="muted" role="status">
              Loading members…
            </p>
          ) : (
            <ul className="member-list" aria-label="Members">
              {members.map((member) => (
                <MemberRow
                  key={member.inboxId}
                  member={member}
                  conversationId={conversation.id}
                  canRemove={
                    settings?.canRemoveMembers === true &&
                    !member.isMe &&
                    (member.role !== "super_admin" || settings.myRole === "super_admin")
                  }
                  // The last owner cannot stop being one (the group would have none).
                  canChangeRole={
                    settings?.canManageAdmins === true &&
                    !(member.isMe && member.role === "super_admin" && superAdmins <= 1)
                  }
                  onChanged={changed}
                />
              ))}
            </ul>
          )}
          {settings?.canAddMembers ? (
            <AddMembersForm conversationId={conversation.id} onAdded={() => load()} />
          ) : note !== null ? (
            <p className="muted small">{note}</p>
          ) : null}
        </section>

        <section className="panel-section">
          <button type="button" className="button danger" onClick={() => setConfirmLeave(true)}>
            Leave group
          </button>
        </section>
      </div>
      {confirmLeave ? (
        <LeaveDialog
          conversation={conversation}
          onCancel={() => setConfirmLeave(false)}
          onLeft={() => onLeft(conversation.id)}
        />
      ) : null}
    </aside>
  );
}

/** The image, name and description: forms for who may edit the profile, text for the others. */
function GroupProfile({
  conversation,
  settings,
  onChanged,
}: {
  conversation: ConversationView;
  settings: GroupSettingsView;
  onChanged: () => void;
}) {
  const editable = settings.canEditProfile;
  const description = settings.description ?? "";
  return (
    <section className="panel-section group-profile" aria-label="Group profile">
      <GroupImage
        conversationId={conversation.id}
        title={conversation.title}
        hasImage={settings.hasImage}
        editable={editable}
        onChanged={onChanged}
      />
      {editable ? (
        <>
          <RenameForm conversation={conversation} />
          <DescriptionForm
            conversationId={conversation.id}
            description={description}
            onChanged={onChanged}
          />
        </>
      ) : (
        <>
          <div className="field">
            <span className="field-label">Group name</span>
            <p className="setting-value" data-testid="group-name">
              {conversation.title}
            </p>
          </div>
          <div className="field">
            <span className="field-label">Description</span>
            <p
              className={`setting-value description${description.length === 0 ? " muted" : ""}`}
              data-testid="group-description"
            >
              {description.length > 0 ? description : "No description."}
            </p>
          </div>
          <p className="muted small">
            Only {whoMay(settings.policies.updateProfile)} can change the group's image, name,
            description and disappearing messages.
          </p>
        </>
      )}
    </section>
  );
}

const IMAGE_TYPES = "image/png,image/jpeg,image/gif,image/webp";

function GroupImage({
  conversationId,
  title,
  hasImage,
  editable,
  onChanged,
}: {
  conversationId: string;
  title: string;
  hasImage: boolean;
  editable: boolean;
  onChanged: () => void;
}) {
  const engine = useEngine();
  const [url, setUrl] = useState<string | null>(null);
  const [loadProblem, setLoadProblem] = useState<string | null>(null);
  // Bumped when the image may have changed while the group still has one.
  const [version, setVersion] = useState(0);
  const fileInput = useRef<HTMLInputElement>(null);
  const { busy, problem, setProblem, run } = useEngineAction();

  // biome-ignore lint/correctness/useExhaustiveDependencies: `version` asks for the image again.
  useEffect(() => {
    if (!hasImage) {
      setUrl(null);
      setLoadProblem(null);
      return;
    }
    let cancelled = false;
    engine
      .groupImage(conversationId)
      .then((next) => {
        if (cancelled) return;
        setUrl(next);
        setLoadProblem(null);
      })
      .catch((raw: unknown) => {
        if (!cancelled) setLoadProblem(EngineError.from(raw).message);
      });
    return () => {
      cancelled = true;
    };
  }, [engine, conversationId, hasImage, version]);

  // A change to the profile is recorded as a system line: the image may be another one now.
  useEngineEvents((event) => {
    if (
      event.kind === "message" &&
      event.message.system &&
      event.message.conversationId === conversationId
    ) {
      setVersion((v) => v + 1);
    }
  });

  const choose = (file: File) => {
    if (file.type.length > 0 && !file.type.startsWith("image/")) {
      setProblem(`“${file.name}” is not an image. Choose a PNG, JPEG, GIF or WebP file.`);
      return;
    }
    if (file.size > MAX_PASTED_BYTES) {
      setProblem(`“${file.name}” is larger than 25 MiB. Choose a smaller image.`);
      return;
    }
    void run(async () => {
      await engine.setGroupImage(conversationId, await readBase64(file));
      setVersion((v) => v + 1);
      onChanged();
    });
  };

  const remove = () =>
    run(async () => {
      await engine.clearGroupImage(conversationId);
      onChanged();
    });

  // A removed image goes in the same render as its buttons, not one effect later.
  const shown = hasImage ? url : null;
  return (
    <div className="group-image-block">
      <div className="group-image-row">
        {shown !== null ? (
          <img
            className="group-image"
            src={shown}
            alt={`Avatar of ${title}`}
            data-testid="group-image"
          />
        ) : (
          <span className="group-image placeholder">
            <Avatar seed={conversationId} label={title} group />
          </span>
        )}
        {editable ? (
          <div className="group-image-actions">
            <button
              type="button"
              className="button small"
              disabled={busy}
              onClick={() => fileInput.current?.click()}
            >
              {busy ? "Saving…" : hasImage ? "Change image" : "Add image"}
            </button>
            {hasImage ? (
              <button
                type="button"
                className="button small danger-outline"
                disabled={busy}
                onClick={remove}
              >
                Remove image
              </button>
            ) : null}
            <input
              ref={fileInput}
              type="file"
              accept={IMAGE_TYPES}
              hidden
              tabIndex={-1}
              aria-label="Group image file"
              data-testid="group-image-input"
              onChange={(event) => {
                const file = event.target.files?.[0];
                // The same file can be picked again later.
                event.target.value = "";
                if (file !== undefined) choose(file);
              }}
            />
          </div>
        ) : null}
      </div>
      {loadProblem !== null ? (
        <p className="field-error" role="alert">
          The group image could not be shown: {loadProblem}
        </p>
      ) : null}
      <FieldError problem={problem} />
    </div>
  );
}

function RenameForm({ conversation }: { conversation: ConversationView }) {
  const engine = useEngine();
  const inputId = useId();
  const [name, setName] = useState(conversation.title);
  const { busy, problem, setProblem, run } = useEngineAction();
  const [saved, setSaved] = useState(false);

  // Follow renames made elsewhere while not editing.
  useOnChange(conversation.title, setName);

  const trimmed = name.trim();
  const changed = trimmed.length > 0 && trimmed !== conversation.title;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!changed) return;
    setSaved(false);
    void run(async () => {
      await engine.renameGroup(conversation.id, trimmed);
      setSaved(true);
    });
  };

  return (
    <form className="rename-form" onSubmit={submit}>
      <div className="field">
        <label className="field-label" htmlFor={inputId}>
          Group name
        </label>
        <span className="inline-field">
          <input
            id={inputId}
            className="input"
            value={name}
            maxLength={100}
            onChange={(event) => {
              setName(event.target.value);
              setSaved(false);
              setProblem(null);
            }}
          />
          <button type="submit" className="button" disabled={!changed || busy}>
            {busy ? "Saving…" : "Rename"}
          </button>
        </span>
      </div>
      <p className={problem ? "field-error" : "field-hint"} role="status">
        {problem ?? (saved ? "Renamed." : "")}
      </p>
    </form>
  );
}

/** Longest description the engine accepts, in bytes of UTF-8. */
const MAX_DESCRIPTION_BYTES = 1024;

function DescriptionForm({
  conversationId,
  description,
  onChanged,
}: {
  conversationId: string;
  description: string;
  onChanged: () => void;
}) {
  const engine = useEngine();
  const inputId = useId();
  const [text, setText] = useState(description);
  const { busy, problem, setProblem, run } = useEngineAction();
  const [saved, setSaved] = useState(false);

  // Follow changes made elsewhere.
  useOnChange(description, setText);

  const trimmed = text.trim();
  const changed = trimmed !== description;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!changed) return;
    const bytes = new TextEncoder().encode(trimmed).length;
    if (bytes > MAX_DESCRIPTION_BYTES) {
      setProblem(
        `The description is too long: ${bytes} bytes, at most ${MAX_DESCRIPTION_BYTES} fit.`,
      );
      return;
    }
    setSaved(false);
    void run(async () => {
      await engine.setGroupDescription(conversationId, trimmed);
      setSaved(true);
      onChanged();
    });
  };

  return (
    <form className="description-form" onSubmit={submit}>
      <div className="field">
        <label className="field-label" htmlFor={inputId}>
          Description
        </label>
        <textarea
          id={inputId}
          className="input"
          rows={3}
          value={text}
          maxLength={MAX_DESCRIPTION_BYTES}
          placeholder="What this group is about"
          aria-invalid={problem !== null}
          onChange={(event) => {
            setText(event.target.value);
            setSaved(false);
            setProblem(null);
          }}
        />
      </div>
      <p className={problem ? "field-error" : "field-hint"} role="status">
        {problem ?? (saved ? "Description saved." : "")}
      </p>
      <button type="submit" className="button" disabled={!changed || busy}>
        {busy ? "Saving…" : "Save description"}
      </button>
    </form>
  );
}

/** Who may add members, remove members and edit the profile: owners change it, others read it. */
function PoliciesSection({
  conversationId,
  settings,
  onChanged,
}: {
  conversationId: string;
  settings: GroupSettingsView;
  onChanged: () => void;
}) {
  const engine = useEngine();
  const id = useId();
  const { busy, problem, run } = useEngineAction();
  const [saved, setSaved] = useState(false);
  // The policies being set, shown until the settings catch up.
  const [chosen, setChosen] = useState<PoliciesView | null>(null);
  const { addMembers, removeMembers, updateProfile } = settings.policies;
  // New policies from the engine end the choice.
  useOnChange(`${addMembers}/${removeMembers}/${updateProfile}`, () => setChosen(null));
  const shown = chosen ?? settings.policies;

  const choose = (key: keyof PoliciesView, value: PolicyView) => {
    if (shown[key] === value) return;
    const next = { ...shown, [key]: value };
    setChosen(next);
    setSaved(false);
    void run(() => engine.setGroupPolicies(conversationId, next)).then((done) => {
      if (done) {
        setSaved(true);
        onChanged();
      } else {
        setChosen(null);
      }
    });
  };

  const headingId = `${id}-heading`;
  return (
    <section className="panel-section" aria-labelledby={headingId}>
      <h3 id={headingId}>Permissions</h3>
      {settings.canManageAdmins ? (
        <>
          {POLICY_ROWS.map((row) => (
            <div className="field setting" key={row.key}>
              <label className="field-label" htmlFor={`${id}-${row.key}`}>
                {row.label}
              </label>
              <select
                id={`${id}-${row.key}`}
                className="input select"
                value={shown[row.key]}
                disabled={busy}
                onChange={(event) => {
                  const value = POLICIES.find((p) => p === event.target.value);
                  if (value !== undefined) choose(row.key, value);
                }}
              >
                {POLICIES.map((policy) => (
                  <option key={policy} value={policy}>
                    {policyLabel(policy)}
                  </option>
                ))}
              </select>
            </div>
          ))}
          <p className="field-hint">
            Editing the profile covers the name, description, image and disappearing messages.
          </p>
          {problem !== null ? (
            <p className="field-error" role="alert">
              The permissions were not changed: {problem}
            </p>
          ) : (
            <p className="field-hint" role="status">
              {busy ? "Saving…" : saved ? "Permissions saved." : ""}
            </p>
          )}
        </>
      ) : (
        <>
          <dl className="settings-list">
            {POLICY_ROWS.map((row) => (
              <div key={row.key}>
                <dt>{row.label}</dt>
                <dd>{policyLabel(settings.policies[row.key])}</dd>
              </div>
            ))}
          </dl>
          <p className="muted small">Only owners can change who may do what.</p>
        </>
      )}
    </section>
  );
}

function MemberRow({
  member,
  conversationId,
  canRemove,
  canChangeRole,
  onChanged,
}: {
  member: MemberView;
  conversationId: string;
  canRemove: boolean;
  canChangeRole: boolean;
  /** Removed, or given another role. */
  onChanged: () => void;
}) {
  const engine = useEngine();
  // The row goes away once the list reloads, so it stays busy until then.
  const removal = useEngineAction({
    staysBusy: true,
    describe: (error) => `Not removed: ${error.message}`,
  });
  const roleChange = useEngineAction({
    describe: (error) => `The role was not changed: ${error.message}`,
  });
  // The role being given, shown until the list catches up.
  const [chosenRole, setChosenRole] = useState<Role | null>(null);
  // A new role from the engine ends the choice.
  useOnChange(member.role, () => setChosenRole(null));
  const name = member.label;
  const remove = () =>
    removal.run(async () => {
      await engine.removeMembers(conversationId, [member.inboxId]);
      onChanged();
    });
  const changeRole = (role: Role) => {
    if (role === (chosenRole ?? member.role)) return;
    setChosenRole(role);
    void roleChange
      .run(() => engine.setMemberRole(conversationId, member.inboxId, role))
      .then((done) => {
        if (done) onChanged();
        else setChosenRole(null);
      });
  };
  const problem = removal.problem ?? roleChange.problem;
  return (
    <li className="member" data-testid="group-member" data-inbox-id={member.inboxId}>
      <Avatar seed={member.address} label={name} />
      <span className="member-text">
        <span className="member-name" title={member.address}>
          {name} {member.isMe ? <span className="tag">You</span> : null}
        </span>
        {canChangeRole ? (
          <select
            className="input select member-role-select"
            aria-label={`Role of ${name}${member.isMe ? " (you)" : ""}`}
            value={chosenRole ?? member.role}
            disabled={roleChange.busy}
            onChange={(event) => {
              const role = ROLES.find((r) => r === event.target.value);
              if (role !== undefined) changeRole(role);
            }}
          >
            {ROLES.map((role) => (
              <option key={role} value={role}>
                {roleLabel(role)}
              </option>
            ))}
          </select>
        ) : (
          <span className="member-role">{roleLabel(member.role)}</span>
        )}
        {problem !== null ? (
          <span className="field-error" role="alert">
            {problem}
          </span>
        ) : null}
      </span>
      <CopyButton value={member.address} label={`address of ${name}`} />
      {canRemove ? (
        <button
          type="button"
          className="button small danger-outline"
          aria-label={`Remove ${name} from the group`}
          onClick={remove}
          disabled={removal.busy}
        >
          {removal.busy ? "Removing…" : "Remove"}
        </button>
      ) : null}
    </li>
  );
}

function AddMembersForm({
  conversationId,
  onAdded,
}: {
  conversationId: string;
  onAdded: () => void;
}) {
  const engine = useEngine();
  const [text, setText] = useState("");
  const { busy, problem, setProblem, run } = useEngineAction();
  const [failures, setFailures] = useState<AddFailure[]>([]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const members = parseMemberList(text);
    if (members.length === 0) {
      setProblem("Enter at least one wallet address or inbox id.");
      return;
    }
    const invalid = members.filter((m) => peerIdProblem(m) !== null);
    if (invalid.length > 0) {
      setProblem(`Not a wallet address or inbox id: ${invalid.join(", ")}`);
      return;
    }
    setFailures([]);
    void run(async () => {
      const result = await engine.addMembers(conversationId, members);
      setFailures(result.failures);
      const failed = new Set(result.failures.map((f) => f.member));
      setText(members.filter((m) => failed.has(m)).join("\n"));
      onAdded();
    });
  };

  return (
    <form className="add-members" onSubmit={submit}>
      <label className="field">
        <span className="field-label">Add members (one per line)</span>
        <textarea
          className="input mono"
          rows={2}
          value={text}
          spellCheck={false}
          placeholder="0x…"
          onChange={(event) => {
            setText(event.target.value);
            setProblem(null);
          }}
        />
      </label>
      <p className="field-error" role="alert">
        {problem ?? ""}
      </p>
      {failures.length > 0 ? (
        <ul className="failure-list" aria-label="Members not added">
          {failures.map((failure) => (
            <li key={failure.member}>
              <code title={failure.member}>{shortId(failure.member)}</code>
              <span>{describePeerError(failure)}</span>
            </li>
          ))}
        </ul>
      ) : null}
      <button type="submit" className="button" disabled={busy || text.trim().length === 0}>
        {busy ? "Adding…" : "Add"}
      </button>
    </form>
  );
}

function LeaveDialog({
  conversation,
  onCancel,
  onLeft,
}: {
  conversation: ConversationView;
  onCancel: () => void;
  onLeft: () => void;
}) {
  const engine = useEngine();
  const { busy, problem, run } = useEngineAction({ staysBusy: true });
  const leave = () =>
    run(async () => {
      await engine.leaveGroup(conversation.id);
      onLeft();
    });
  return (
    <Dialog
      title={`Leave “${conversation.title}”?`}
      description="You will stop receiving this group's messages. To come back, an admin has to add you again."
      onClose={onCancel}
    >
      <FieldError problem={problem} />
      <div className="dialog-actions">
        <button type="button" className="button" data-autofocus onClick={onCancel}>
          Cancel
        </button>
        <button type="button" className="button danger" onClick={leave} disabled={busy}>
          {busy ? "Leaving…" : "Leave group"}
        </button>
      </div>
    </Dialog>
  );
}
