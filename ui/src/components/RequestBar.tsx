import { useRef, useState } from "react";
import type { ConversationView } from "../engine/api";
import { useEngine } from "../engine/context";
import { useEngineAction } from "../lib/useEngineAction";
import { FieldError } from "./FieldError";
import { InlineConfirm } from "./InlineConfirm";

export interface RequestBarProps {
  conversation: ConversationView;
  /** Accepted: the conversation is in the list now. */
  onAccepted: (conversation: ConversationView) => void;
  /** Blocked or deleted: it is gone from Requests. */
  onRemoved: (conversation: ConversationView, how: "blocked" | "deleted") => void;
}

/**
 * In place of the composer while a conversation waits in Requests: Accept moves it to the list,
 * Delete hides it, Block (confirmed here) hides it and everything else from that person.
 */
export function RequestBar({ conversation, onAccepted, onRemoved }: RequestBarProps) {
  const engine = useEngine();
  const [confirmingBlock, setConfirmingBlock] = useState(false);
  const blockButton = useRef<HTMLButtonElement>(null);
  // The bar goes away after any of the three, so it stays busy after a success.
  const { busy, problem, run } = useEngineAction({ staysBusy: true });
  const isGroup = conversation.kind === "group";
  const id = conversation.id;

  const accept = () =>
    run(async () => {
      await engine.acceptRequest(id);
      onAccepted({ ...conversation, consent: "allowed" });
    });
  const remove = () =>
    run(async () => {
      await engine.deleteRequest(id);
      onRemoved(conversation, "deleted");
    });
  const block = () =>
    run(async () => {
      await engine.blockConversation(id);
      onRemoved(conversation, "blocked");
    });

  return (
    <section className="request-bar" aria-label="Message request" data-testid="request-bar">
      <p className="request-text">
        {isGroup
          ? "Someone you have not accepted added you to this group."
          : "This person is not in your conversations yet."}{" "}
        Accept to reply. Until then, they are not told that you have read their messages.
      </p>
      {confirmingBlock ? (
        <InlineConfirm
          tone="danger"
          confirmLabel="Block"
          busyLabel="Blocking…"
          busy={busy}
          onConfirm={() => void block()}
          onCancel={() => {
            setConfirmingBlock(false);
            // The Block button is back: focus returns to it.
            requestAnimationFrame(() => blockButton.current?.focus());
          }}
        >
          <p>
            {isGroup
              ? "Block whoever added you? This group and anything else from them will be hidden."
              : "Block this person? This conversation and anything else from them will be hidden."}
          </p>
        </InlineConfirm>
      ) : (
        <div className="request-actions">
          <button
            type="button"
            className="button primary"
            data-testid="request-accept"
            disabled={busy}
            onClick={() => void accept()}
          >
            Accept
          </button>
          <button
            type="button"
            className="button"
            data-testid="request-delete"
            disabled={busy}
            onClick={() => void remove()}
          >
            Delete
          </button>
          <button
            ref={blockButton}
            type="button"
            className="button danger-outline"
            data-testid="request-block"
            disabled={busy}
            onClick={() => setConfirmingBlock(true)}
          >
            Block
          </button>
        </div>
      )}
      <FieldError problem={problem} />
    </section>
  );
}
