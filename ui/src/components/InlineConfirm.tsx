import { type ReactNode, useEffect, useId, useRef } from "react";

export interface InlineConfirmProps {
  /** What confirming does, said before anything is done. */
  children: ReactNode;
  confirmLabel: string;
  /** The confirm button's words while the action runs. */
  busyLabel: string;
  busy: boolean;
  /** A destructive action gets the danger button. */
  tone: "danger" | "primary";
  /** Confirming is not possible now (the children say why). */
  disabled?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}

/**
 * A confirmation step shown in place, under the button that asked for it. Focus moves to Cancel
 * (the safe choice), Escape cancels without closing the surrounding dialog, and focus comes back
 * to the confirm button after an attempt that failed.
 */
export function InlineConfirm({
  children,
  confirmLabel,
  busyLabel,
  busy,
  tone,
  disabled = false,
  onConfirm,
  onCancel,
}: InlineConfirmProps) {
  const messageId = useId();
  const cancel = useRef<HTMLButtonElement>(null);
  const confirm = useRef<HTMLButtonElement>(null);
  useEffect(() => cancel.current?.focus(), []);
  // The confirm button lost focus while it was disabled; when the attempt failed, give it back.
  useEffect(() => {
    const lost = document.activeElement === null || document.activeElement === document.body;
    if (!busy && lost) confirm.current?.focus();
  }, [busy]);

  return (
    <fieldset
      className="inline-confirm"
      aria-labelledby={messageId}
      onKeyDown={(event) => {
        if (event.key === "Escape") {
          event.stopPropagation();
          onCancel();
        }
      }}
    >
      <div id={messageId} className="inline-confirm-text">
        {children}
      </div>
      <div className="dialog-actions">
        <button ref={cancel} type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
        <button
          ref={confirm}
          type="button"
          className={`button ${tone}`}
          onClick={onConfirm}
          disabled={busy || disabled}
        >
          {busy ? busyLabel : confirmLabel}
        </button>
      </div>
    </fieldset>
  );
}
