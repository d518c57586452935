import { type FormEvent, useState } from "react";
import { type AddFailure, type ConversationView, ErrorCode } from "../engine/api";
import { useEngine } from "../engine/context";
import { shortId } from "../lib/format";
import { useEngineAction } from "../lib/useEngineAction";
import { parseMemberList, peerIdProblem } from "../lib/validate";
import { Dialog } from "./Dialog";
import { FormFooter } from "./FormFooter";

export interface NewConversationDialogProps {
  onClose: () => void;
  /** The conversation exists (new or already there): show it. */
  onOpened: (conversation: ConversationView) => void;
}

type Tab = "dm" | "group";

/** Says what went wrong with a member or peer, by error code. */
export function describePeerError({ code, message }: { code: string; message: string }): string {
  switch (code) {
    case ErrorCode.notOnArx:
      return "This address isn't on ARX yet.";
    default:
      return message;
  }
}

export function NewConversationDialog({ onClose, onOpened }: NewConversationDialogProps) {
  const [tab, setTab] = useState<Tab>("dm");
  const [failures, setFailures] = useState<{
    conversation: ConversationView;
    list: AddFailure[];
  } | null>(null);

  if (failures !== null) {
    return (
      <Dialog
        title="Group created, with exceptions"
        onClose={() => onOpened(failures.conversation)}
      >
        <p>These members could not be added:</p>
        <ul className="failure-list">
          {failures.list.map((failure) => (
            <li key={failure.member}>
              <code title={failure.member}>{shortId(failure.member)}</code>
              <span>{describePeerError(failure)}</span>
            </li>
          ))}
        </ul>
        <p className="muted">You can add them later from the group's info panel.</p>
        <div className="dialog-actions">
          <button
            type="button"
            className="button primary"
            data-autofocus
            onClick={() => onOpened(failures.conversation)}
          >
            Open the group
          </button>
        </div>
      </Dialog>
    );
  }

  return (
    <Dialog title="New conversation" onClose={onClose} className="new-conversation">
      <div
        className="tabs"
        role="tablist"
        aria-label="Conversation type"
        onKeyDown={(event) => {
          if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
          event.preventDefault();
          const next: Tab = tab === "dm" ? "group" : "dm";
          setTab(next);
          document.getElementById(`tab-${next}`)?.focus();
        }}
      >
        <button
          type="button"
          role="tab"
          id="tab-dm"
          tabIndex={tab === "dm" ? 0 : -1}
          aria-selected={tab === "dm"}
          aria-controls="panel-dm"
          className={`tab${tab === "dm" ? " selected" : ""}`}
          onClick={() => setTab("dm")}
        >
          Direct message
        </button>
        <button
          type="button"
          role="tab"
          id="tab-group"
          tabIndex={tab === "group" ? 0 : -1}
          aria-selected={tab === "group"}
          aria-controls="panel-group"
          className={`tab${tab === "group" ? " selected" : ""}`}
          onClick={() => setTab("group")}
        >
          Group
        </button>
      </div>
      {tab === "dm" ? (
        <DirectMessageForm onOpened={onOpened} />
      ) : (
        <GroupForm
          onCreated={(conversation, list) =>
            list.length > 0 ? setFailures({ conversation, list }) : onOpened(conversation)
          }
        />
      )}
    </Dialog>
  );
}

function DirectMessageForm({ onOpened }: { onOpened: (conversation: ConversationView) => void }) {
  const engine = useEngine();
  const [peer, setPeer] = useState("");
  const { busy, problem, setProblem, run } = useEngineAction({
    describe: describePeerError,
    staysBusy: true,
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const trimmed = peer.trim();
    const invalid = peerIdProblem(trimmed);
    if (invalid !== null) {
      setProblem(invalid);
      return;
    }
    void run(async () => onOpened(await engine.openDm(trimmed)));
  };

  return (
    <form
      id="panel-dm"
      role="tabpanel"
      aria-labelledby="tab-dm"
      className="form"
      onSubmit={submit}
      noValidate
    >
      <label className="field">
        <span className="field-label">Wallet address or inbox id</span>
        <input
          data-testid="new-dm-input"
          data-autofocus
          className="input mono"
          value={peer}
          onChange={(event) => {
            setPeer(event.target.value);
            setProblem(null);
          }}
          placeholder="0x…"
          spellCheck={false}
          autoComplete="off"
          aria-invalid={problem !== null}
          aria-describedby="dm-problem"
        />
      </label>
      <FormFooter
        problem={problem}
        problemId="dm-problem"
        busy={busy}
        label="Start conversation"
        busyLabel="Opening…"
        testId="new-dm-submit"
      />
    </form>
  );
}

function GroupForm({
  onCreated,
}: {
  onCreated: (conversation: ConversationView, failures: AddFailure[]) => void;
}) {
  const engine = useEngine();
  const [name, setName] = useState("");
  const [membersText, setMembersText] = useState("");
  const { busy, problem, setProblem, run } = useEngineAction({ staysBusy: true });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const trimmedName = name.trim();
    if (trimmedName.length === 0) {
      setProblem("Give the group a name.");
      return;
    }
    const members = parseMemberList(membersText);
    const invalid = members.filter((m) => peerIdProblem(m) !== null);
    if (invalid.length > 0) {
      setProblem(
        `Not a wallet address or inbox id: ${invalid.map((m) => (m.length > 24 ? `${m.slice(0, 24)}…` : m)).join(", ")}`,
      );
      return;
    }
    void run(async () => {
      const result = await engine.createGroup(trimmedName, members);
      onCreated(result.conversation, result.failures);
    });
  };

  return (
    <form
      id="panel-group"
      role="tabpanel"
      aria-labelledby="tab-group"
      className="form"
      onSubmit={submit}
      noValidate
    >
      <label className="field">
        <span className="field-label">Group name</span>
        <input
          data-testid="new-group-name"
          data-autofocus
          className="input"
          value={name}
          maxLength={100}
          onChange={(event) => {
            setName(event.target.value);
            setProblem(null);
          }}
        />
      </label>
      <label className="field">
        <span className="field-label">Members, one wallet address or inbox id per line</span>
        <textarea
          data-testid="new-group-members"
          className="input mono"
          rows={5}
          value={membersText}
          spellCheck={false}
          onChange={(event) => {
            setMembersText(event.target.value);
            setProblem(null);
          }}
          placeholder={"0x…\n0x…"}
        />
      </label>
      <p className="field-hint">You can also create the group alone and add people later.</p>
      <FormFooter
        problem={problem}
        busy={busy}
        label="Create group"
        busyLabel="Creating…"
        testId="new-group-submit"
      />
    </form>
  );
}
