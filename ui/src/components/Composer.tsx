import {
  type FormEvent,
  type KeyboardEvent,
  useEffect,
  useLayoutEffect,
  useRef,
  useState,
} from "react";
import { clearDraft, loadDraft, saveDraft } from "../lib/drafts";

const MARKDOWN_KEY = "arx.composer.markdown";

function loadMarkdownPreference(): boolean {
  try {
    return window.localStorage.getItem(MARKDOWN_KEY) !== "off";
  } catch {
    return true;
  }
}

export interface ComposerProps {
  conversationId: string;
  /** Placeholder naming the conversation, e.g. "Message 0x12…ab". */
  placeholder: string;
  /** Resolves when the engine accepted the message; rejects with a message to show. */
  onSend: (text: string, markdown: boolean) => Promise<void>;
}

/**
 * The message composer: Enter sends, Shift+Enter adds a line, the draft is kept per
 * conversation (across switches and restarts), and focus comes back here after sending.
 */
export function Composer({ conversationId, placeholder, onSend }: ComposerProps) {
  const [text, setText] = useState(() => loadDraft(conversationId));
  const [markdown, setMarkdown] = useState(loadMarkdownPreference);
  const [error, setError] = useState<string | null>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const shownFor = useRef(conversationId);

  // Another conversation: show its draft.
  useEffect(() => {
    if (shownFor.current === conversationId) return;
    shownFor.current = conversationId;
    setText(loadDraft(conversationId));
    setError(null);
  }, [conversationId]);

  useEffect(() => {
    inputRef.current?.focus();
  }, []);

  // Grow with the text up to a limit, then scroll.
  // biome-ignore lint/correctness/useExhaustiveDependencies: re-measure whenever the text changes.
  useLayoutEffect(() => {
    const input = inputRef.current;
    if (input === null) return;
    input.style.height = "auto";
    if (input.scrollHeight > 0) input.style.height = `${Math.min(input.scrollHeight, 200)}px`;
  }, [text]);

  const update = (value: string) => {
    setText(value);
    saveDraft(conversationId, value);
    if (error !== null) setError(null);
  };

  const send = () => {
    if (text.trim().length === 0) return;
    const sending = text;
    const target = conversationId;
    setText("");
    clearDraft(target);
    inputRef.current?.focus();
    onSend(sending, markdown).catch((failure: unknown) => {
      // Nothing is lost: the text comes back if the engine refused it outright.
      if (shownFor.current === target) {
        setText((current) => (current.length === 0 ? sending : current));
        setError(failure instanceof Error ? failure.message : "The message could not be sent.");
      }
      saveDraft(target, loadDraft(target) || sending);
    });
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key !== "Enter" || event.shiftKey || event.nativeEvent.isComposing) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    send();
  };

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    send();
  };

  const toggleMarkdown = () => {
    const next = !markdown;
    setMarkdown(next);
    try {
      window.localStorage.setItem(MARKDOWN_KEY, next ? "on" : "off");
    } catch {
      // The preference lasts for this session only.
    }
    inputRef.current?.focus();
  };

  const empty = text.trim().length === 0;
  return (
    <form className="composer" onSubmit={onSubmit} aria-label="Write a message">
      {error !== null ? (
        <p className="composer-error" role="alert">
          {error}
        </p>
      ) : null}
      <div className="composer-row">
        <button
          type="button"
          className={`icon-button markdown-toggle${markdown ? " on" : ""}`}
          aria-pressed={markdown}
          aria-label="Format with Markdown"
          title={markdown ? "Markdown formatting is on" : "Markdown formatting is off"}
          onClick={toggleMarkdown}
        >
          <span aria-hidden="true">M↓</span>
        </button>
        <textarea
          ref={inputRef}
          data-testid="composer-input"
          className="composer-input"
          aria-label="Message"
          placeholder={placeholder}
          rows={1}
          value={text}
          onChange={(event) => update(event.target.value)}
          onKeyDown={onKeyDown}
        />
        <button
          type="submit"
          className="send-button"
          data-testid="composer-send"
          aria-label="Send"
          disabled={empty}
        >
          <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
            <path d="M3 20.5l18-8.5L3 3.5v6.6l12 1.9-12 1.9z" fill="currentColor" />
          </svg>
        </button>
      </div>
      <p className="composer-hint" aria-hidden="true">
        Enter to send · Shift+Enter for a new line
      </p>
    </form>
  );
}
