import {
  type ClipboardEvent,
  type FormEvent,
  type KeyboardEvent,
  useEffect,
  useLayoutEffect,
  useRef,
  useState,
} from "react";
import type { MessageView } from "../engine/api";
import { clearDraft, loadDraft, saveDraft } from "../lib/drafts";
import { messageSummary } from "../lib/format";

const MARKDOWN_KEY = "arx.composer.markdown";

function loadMarkdownPreference(): boolean {
  try {
    return window.localStorage.getItem(MARKDOWN_KEY) !== "off";
  } catch {
    return true;
  }
}

/** The composer answers a message, or edits one of this person's, instead of writing anew. */
export type ComposerMode =
  | { kind: "reply"; message: MessageView }
  | { kind: "edit"; message: MessageView };

/** Files to send: paths on this computer (dropped on the window) or files the browser holds. */
export type OutgoingFiles = { kind: "paths"; paths: string[] } | { kind: "picked"; files: File[] };

export interface ComposerProps {
  conversationId: string;
  /** Placeholder naming the conversation, e.g. "Message 0x12…ab". */
  placeholder: string;
  /** Resolves when the engine accepted the message (or edit); rejects with a message to show. */
  onSend: (text: string, markdown: boolean) => Promise<void>;
  /** Sends files with the composer's text as their caption; rejects with a message to show. */
  onSendFiles: (files: OutgoingFiles, caption: string) => Promise<void>;
  /** Replying or editing; null to write a new message. */
  mode: ComposerMode | null;
  onCancelMode: () => void;
  /** Subscribes to files dropped on the window (by their paths); returns the unsubscribe. */
  subscribeFileDrop?: (handler: (paths: string[]) => void) => () => void;
}

function problemOf(failure: unknown, fallback: string): string {
  return failure instanceof Error && failure.message.length > 0 ? failure.message : fallback;
}

/**
 * The message composer: Enter sends, Shift+Enter adds a line, the draft is kept per
 * conversation (across switches and restarts), and focus comes back here after sending. Files
 * come from the attach button, the clipboard, or a drop on the window, with the text as their
 * caption. A reply shows its quote above the text, an edit puts the message's text in; Escape
 * cancels either.
 */
export function Composer({
  conversationId,
  placeholder,
  onSend,
  onSendFiles,
  mode,
  onCancelMode,
  subscribeFileDrop,
}: ComposerProps) {
  const [text, setText] = useState(() => loadDraft(conversationId));
  const [markdown, setMarkdown] = useState(loadMarkdownPreference);
  const [error, setError] = useState<string | null>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const shownFor = useRef(conversationId);
  const editing = mode?.kind === "edit";

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

  // An edit shows the message's text; leaving it brings the draft back.
  const modeKey = mode === null ? null : `${mode.kind}:${mode.message.id}`;
  const shownMode = useRef<string | null>(null);
  useEffect(() => {
    if (shownMode.current === modeKey) return;
    const was = shownMode.current;
    shownMode.current = modeKey;
    setError(null);
    if (mode?.kind === "edit") setText(mode.message.text);
    else if (was?.startsWith("edit:")) setText(loadDraft(conversationId));
    if (mode !== null) inputRef.current?.focus();
  }, [modeKey, mode, conversationId]);

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
    if (!editing) saveDraft(conversationId, value);
    if (error !== null) setError(null);
  };

  const send = () => {
    if (text.trim().length === 0) return;
    if (mode?.kind === "edit" && text === mode.message.text) {
      onCancelMode();
      return;
    }
    const sending = text;
    const target = conversationId;
    const keepsDraft = !editing;
    setText("");
    if (keepsDraft) clearDraft(target);
    inputRef.current?.focus();
    onSend(sending, markdown).catch((failure: unknown) => {
      // Nothing is lost: the text comes back if the engine refused it outright.
      if (shownFor.current === target) {
        setText((current) => (current.length === 0 ? sending : current));
        setError(problemOf(failure, "The message could not be sent."));
      }
      if (keepsDraft) saveDraft(target, loadDraft(target) || sending);
    });
  };

  const sendFiles = (files: OutgoingFiles) => {
    if (mode !== null) {
      setError(
        mode.kind === "edit"
          ? "Files cannot be added to an edit. Save or cancel the edit first."
          : "Files cannot be sent as a reply. Cancel the reply to send them.",
      );
      return;
    }
    const caption = text;
    const target = conversationId;
    setText("");
    clearDraft(target);
    setError(null);
    onSendFiles(files, caption).catch((failure: unknown) => {
      if (shownFor.current === target) {
        setText((current) => (current.length === 0 ? caption : current));
        setError(problemOf(failure, "The files could not be sent."));
      }
      if (caption.length > 0) saveDraft(target, loadDraft(target) || caption);
    });
  };

  // Files dropped on the window go to the conversation shown, unless a dialog is open over it.
  const sendFilesRef = useRef(sendFiles);
  sendFilesRef.current = sendFiles;
  useEffect(() => {
    if (subscribeFileDrop === undefined) return;
    return subscribeFileDrop((paths) => {
      if (document.querySelector('[aria-modal="true"]') !== null) return;
      sendFilesRef.current({ kind: "paths", paths });
    });
  }, [subscribeFileDrop]);

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Escape" && mode !== null) {
      event.preventDefault();
      event.stopPropagation();
      onCancelMode();
      return;
    }
    if (event.key !== "Enter" || event.shiftKey || event.nativeEvent.isComposing) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    send();
  };

  const onPaste = (event: ClipboardEvent<HTMLTextAreaElement>) => {
    const files = [...(event.clipboardData?.files ?? [])];
    if (files.length === 0) return;
    event.preventDefault();
    sendFiles({ kind: "picked", files });
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

  const cancelMode = () => {
    onCancelMode();
    inputRef.current?.focus();
  };

  const empty = text.trim().length === 0;
  return (
    <form className="composer" onSubmit={onSubmit} aria-label="Write a message">
      {mode !== null ? (
        <div className="composer-mode" data-testid="composer-mode">
          <div className="composer-mode-text">
            <span className="composer-mode-title">
              {mode.kind === "edit"
                ? "Editing"
                : `Replying to ${mode.message.isMine ? "yourself" : mode.message.senderLabel}`}
            </span>
            <span className="composer-mode-quote">{messageSummary(mode.message)}</span>
          </div>
          <button
            type="button"
            className="icon-button"
            aria-label={mode.kind === "edit" ? "Cancel editing" : "Cancel reply"}
            title="Cancel (Esc)"
            onClick={cancelMode}
          >
            <span aria-hidden="true">✕</span>
          </button>
        </div>
      ) : null}
      {error !== null ? (
        <p className="composer-error" role="alert">
          {error}
        </p>
      ) : null}
      <div className="composer-row">
        <button
          type="button"
          className="icon-button attach-button"
          aria-label="Attach files"
          title={mode !== null ? "Files cannot be sent while replying or editing" : "Attach files"}
          disabled={mode !== null}
          onClick={() => fileInput.current?.click()}
        >
          <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
            <path
              d="M20 11.5l-7.8 7.8a5 5 0 01-7.1-7.1l8.5-8.5a3.3 3.3 0 014.7 4.7l-8.5 8.5a1.7 1.7 0 01-2.4-2.4l7.8-7.8"
              fill="none"
              stroke="currentColor"
              strokeWidth="1.8"
              strokeLinecap="round"
            />
          </svg>
        </button>
        <input
          ref={fileInput}
          type="file"
          multiple
          hidden
          tabIndex={-1}
          aria-label="Files to attach"
          data-testid="attach-input"
          onChange={(event) => {
            const files = [...(event.target.files ?? [])];
            // The same file can be picked again later.
            event.target.value = "";
            if (files.length > 0) sendFiles({ kind: "picked", files });
          }}
        />
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
          aria-label={editing ? "Edited message" : "Message"}
          placeholder={placeholder}
          rows={1}
          value={text}
          onChange={(event) => update(event.target.value)}
          onKeyDown={onKeyDown}
          onPaste={onPaste}
        />
        <button
          type="submit"
          className="send-button"
          data-testid="composer-send"
          aria-label={editing ? "Save edit" : "Send"}
          disabled={empty}
        >
          {editing ? (
            <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
              <path
                d="M5 12.5l4.5 4.5L19 7.5"
                fill="none"
                stroke="currentColor"
                strokeWidth="2.2"
              />
            </svg>
          ) : (
            <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
              <path d="M3 20.5l18-8.5L3 3.5v6.6l12 1.9-12 1.9z" fill="currentColor" />
            </svg>
          )}
        </button>
      </div>
      <p className="composer-hint" aria-hidden="true">
        Enter to send · Shift+Enter for a new line
        {mode !== null ? " · Esc to cancel" : " · Paste or drop files to send them"}
      </p>
    </form>
  );
}
