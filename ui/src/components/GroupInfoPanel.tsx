import { type FormEvent, useCallback, useEffect, useId, useState } from "react";
import {
  type AddFailure,
  type ConversationView,
  EngineError,
  type MemberView,
} from "../engine/api";
import { useEngine } from "../engine/context";
import { roleLabel, shortId } from "../lib/format";
import { useEngineAction } from "../lib/useEngineAction";
import { parseMemberList, peerIdProblem } from "../lib/validate";
import { Avatar } from "./Avatar";
import { CopyButton } from "./CopyButton";
import { Dialog } from "./Dialog";
import { FieldError } from "./FieldError";
import { describePeerError } from "./NewConversationDialog";

export interface GroupInfoPanelProps {
  conversation: ConversationView;
  onClose: () => void;
  /** I left the group. */
  onLeft: (conversationId: string) => void;
}

const ROLE_ORDER = { super_admin: 0, admin: 1, member: 2 } as const;

/** Members and settings of a group. Admins add and remove members; anyone can leave. */
export function GroupInfoPanel({ conversation, onClose, onLeft }: GroupInfoPanelProps) {
  const engine = useEngine();
  const [members, setMembers] = useState<MemberView[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [confirmLeave, setConfirmLeave] = useState(false);
  const isAdmin = conversation.myRole !== "member";

  const load = useCallback(() => {
    let cancelled = false;
    engine
      .groupMembers(conversation.id)
      .then((list) => {
        if (cancelled) return;
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
        if (!cancelled) setLoadError(EngineError.from(raw).message);
      });
    return () => {
      cancelled = true;
    };
  }, [engine, conversation.id]);

  // Reload when the engine reports the group changed (members, roles).
  // biome-ignore lint/correctness/useExhaustiveDependencies: the count and role signal a change.
  useEffect(() => load(), [load, conversation.memberCount, conversation.myRole]);

  return (
    <aside
      className="info-panel"
      aria-label="Group info"
      onKeyDown={(event) => {
        if (event.key === "Escape" && !confirmLeave) onClose();
      }}
    >
      <header className="panel-header">
        <h2>Group info</h2>
        <button
          type="button"
          className="icon-button"
          aria-label="Close group info"
          onClick={onClose}
        >
          <span aria-hidden="true">✕</span>
        </button>
      </header>
      <div className="panel-body">
        <RenameForm conversation={conversation} />

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
                    isAdmin &&
                    !member.isMe &&
                    (member.role !== "super_admin" || conversation.myRole === "super_admin")
                  }
                  onRemoved={() => load()}
                />
              ))}
            </ul>
          )}
          {isAdmin ? (
            <AddMembersForm conversationId={conversation.id} onAdded={() => load()} />
          ) : (
            <p className="muted small">Only admins can add or remove members.</p>
          )}
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

function RenameForm({ conversation }: { conversation: ConversationView }) {
  const engine = useEngine();
  const inputId = useId();
  const [name, setName] = useState(conversation.title);
  const { busy, problem, setProblem, run } = useEngineAction();
  const [saved, setSaved] = useState(false);

  // Follow renames made elsewhere while not editing.
  useEffect(() => setName(conversation.title), [conversation.title]);

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
    <form className="panel-section rename-form" onSubmit={submit}>
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

function MemberRow({
  member,
  conversationId,
  canRemove,
  onRemoved,
}: {
  member: MemberView;
  conversationId: string;
  canRemove: boolean;
  onRemoved: () => void;
}) {
  const engine = useEngine();
  // The row goes away once the list reloads, so it stays busy until then.
  const { busy, problem, run } = useEngineAction({ staysBusy: true });
  const name = member.label;
  const remove = () =>
    run(async () => {
      await engine.removeMembers(conversationId, [member.inboxId]);
      onRemoved();
    });
  return (
    <li className="member" data-testid="group-member" data-inbox-id={member.inboxId}>
      <Avatar seed={member.address} label={name} />
      <span className="member-text">
        <span className="member-name" title={member.address}>
          {name} {member.isMe ? <span className="tag">You</span> : null}
        </span>
        <span className="member-role">{roleLabel(member.role)}</span>
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
          disabled={busy}
        >
          {busy ? "Removing…" : "Remove"}
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
