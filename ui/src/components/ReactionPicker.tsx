import { type KeyboardEvent, useEffect, useRef } from "react";
import type { ReactionView } from "../engine/api";

/** The reactions offered, with the words a screen reader says for each. */
export const REACTIONS = [
  { emoji: "👍", name: "thumbs up" },
  { emoji: "❤️", name: "heart" },
  { emoji: "😂", name: "laughing" },
  { emoji: "😮", name: "surprised" },
  { emoji: "😢", name: "sad" },
  { emoji: "🙏", name: "thank you" },
] as const;

export interface ReactionPickerProps {
  /** The message's reactions: one of this person's is taken back when picked again. */
  reactions: ReactionView[];
  onPick: (emoji: string, remove: boolean) => void;
  /** Closed without a pick: by Escape (`refocus`: focus goes back to its button) or by leaving it. */
  onClose: (refocus: boolean) => void;
}

/**
 * A small menu of reactions. Focus starts on the first; the arrow keys, Home and End move
 * between them, Enter or a click picks one, Escape closes.
 */
export function ReactionPicker({ reactions, onPick, onClose }: ReactionPickerProps) {
  const menu = useRef<HTMLDivElement>(null);
  useEffect(() => {
    menu.current?.querySelector<HTMLButtonElement>("button")?.focus();
  }, []);

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const items = [...(menu.current?.querySelectorAll<HTMLButtonElement>("button") ?? [])];
    const at = items.indexOf(document.activeElement as HTMLButtonElement);
    let next: HTMLButtonElement | undefined;
    if (event.key === "ArrowRight" || event.key === "ArrowDown") {
      next = items[(at + 1) % items.length];
    } else if (event.key === "ArrowLeft" || event.key === "ArrowUp") {
      next = items[(at - 1 + items.length) % items.length];
    } else if (event.key === "Home") {
      next = items[0];
    } else if (event.key === "End") {
      next = items[items.length - 1];
    } else if (event.key === "Escape") {
      event.stopPropagation();
      onClose(true);
      return;
    } else if (event.key === "Tab") {
      onClose(false);
      return;
    } else {
      return;
    }
    event.preventDefault();
    next?.focus();
  };

  return (
    <div
      ref={menu}
      className="reaction-picker"
      role="menu"
      aria-label="Reactions"
      onKeyDown={onKeyDown}
      onBlur={(event) => {
        if (!event.currentTarget.contains(event.relatedTarget as Node | null)) onClose(false);
      }}
    >
      {REACTIONS.map(({ emoji, name }, index) => {
        const mine = reactions.some((r) => r.emoji === emoji && r.mine);
        return (
          <button
            key={emoji}
            type="button"
            role="menuitem"
            className={`reaction-option${mine ? " mine" : ""}`}
            tabIndex={index === 0 ? 0 : -1}
            aria-label={mine ? `Take back ${name}` : `React with ${name}`}
            title={mine ? `Take back ${name}` : `React with ${name}`}
            onClick={() => onPick(emoji, mine)}
          >
            <span aria-hidden="true">{emoji}</span>
          </button>
        );
      })}
    </div>
  );
}
