import { useState } from "react";
import { type AttachmentView, attachmentTransferId, type MessageView } from "../engine/api";
import { fileKind, humanSize } from "../lib/format";
import { useEngineAction } from "../lib/useEngineAction";
import { useTransfer, useTransferStore } from "../state/transfers";
import { FieldError } from "./FieldError";

/** What a message's files let a person do; the conversation pane provides it. */
export interface AttachmentHandlers {
  /** Opens an image in the viewer. */
  openImage: (message: MessageView, attachment: AttachmentView) => void;
  /** Saves a file into Downloads; resolves to where it went. */
  save: (messageId: string, index: number) => Promise<string>;
}

/** The largest box an image preview takes in a bubble. */
const PREVIEW_MAX = { width: 280, height: 280 };
const PREVIEW_MIN = 48;

/** An image preview's size in the bubble: the image's aspect ratio within PREVIEW_MAX. */
export function previewSize(attachment: AttachmentView): { width: number; height: number } {
  const width = attachment.width && attachment.width > 0 ? attachment.width : 4;
  const height = attachment.height && attachment.height > 0 ? attachment.height : 3;
  const scale = Math.min(PREVIEW_MAX.width / width, PREVIEW_MAX.height / height, 1);
  return {
    width: Math.max(PREVIEW_MIN, Math.round(width * scale)),
    height: Math.max(PREVIEW_MIN, Math.round(height * scale)),
  };
}

/** A row's estimated extra height for its files, before it is measured. */
export function attachmentsHeight(attachments: AttachmentView[]): number {
  let total = 0;
  for (const attachment of attachments) {
    total += (attachment.isImage ? previewSize(attachment).height : 58) + 6;
  }
  return total;
}

/** The files of a message: image previews that open the viewer, and cards for other files. */
export function Attachments({
  message,
  handlers,
}: {
  message: MessageView;
  handlers: AttachmentHandlers;
}) {
  return (
    <div className="attachments">
      {message.attachments.map((attachment) =>
        attachment.isImage ? (
          <ImagePreview
            key={attachment.index}
            message={message}
            attachment={attachment}
            onOpen={handlers.openImage}
          />
        ) : (
          <FileCard
            key={attachment.index}
            messageId={message.id}
            attachment={attachment}
            onSave={handlers.save}
          />
        ),
      )}
    </div>
  );
}

function ImagePreview({
  message,
  attachment,
  onOpen,
}: {
  message: MessageView;
  attachment: AttachmentView;
  onOpen: AttachmentHandlers["openImage"];
}) {
  const { width, height } = previewSize(attachment);
  return (
    <button
      type="button"
      className="image-preview"
      data-testid="image-preview"
      aria-label={`Open image ${attachment.name}`}
      title={attachment.name}
      style={{ width, height, aspectRatio: `${width} / ${height}` }}
      onClick={() => onOpen(message, attachment)}
    >
      {attachment.thumbnailDataUrl !== null ? (
        <img
          src={attachment.thumbnailDataUrl}
          alt={attachment.name}
          width={width}
          height={height}
        />
      ) : (
        <span className="image-placeholder">
          <ImageIcon />
          <span className="image-placeholder-name">{attachment.name}</span>
        </span>
      )}
    </button>
  );
}

/** A file that is not shown inline: its name, size and kind, and Save. */
function FileCard({
  messageId,
  attachment,
  onSave,
}: {
  messageId: string;
  attachment: AttachmentView;
  onSave: AttachmentHandlers["save"];
}) {
  const [savedTo, setSavedTo] = useState<string | null>(null);
  const { busy, problem, run } = useEngineAction({
    describe: (error) => `It could not be saved: ${error.message}`,
  });
  const store = useTransferStore();
  const transferId = attachmentTransferId(messageId, attachment.index);
  const save = () => {
    setSavedTo(null);
    store?.forget(transferId);
    void run(async () => setSavedTo(await onSave(messageId, attachment.index)));
  };
  const { name } = attachment;
  return (
    <div className="file-card" data-testid="file-card">
      <div className="file-row">
        <FileIcon />
        <span className="file-text">
          <span className="file-name" title={name}>
            {name}
          </span>
          <span className="file-meta">
            {humanSize(attachment.size)} · {fileKind(attachment.mimeType, name)}
          </span>
        </span>
        <button
          type="button"
          className="file-save"
          aria-label={`Save ${name}`}
          disabled={busy}
          onClick={save}
        >
          {busy ? "Saving…" : "Save"}
        </button>
      </div>
      {busy ? <TransferBar transferId={transferId} label={`Saving ${name}`} /> : null}
      {savedTo !== null ? (
        <p className="file-saved" role="status">
          Saved to {savedTo}
        </p>
      ) : null}
      <FieldError problem={problem} />
    </div>
  );
}

/** A transfer's progress as the engine reports it (indeterminate until the first report). */
export function TransferBar({ transferId, label }: { transferId: string; label: string }) {
  const progress = useTransfer(transferId);
  const percent =
    progress !== null && progress.total > 0
      ? Math.min(100, Math.round((progress.done * 100) / progress.total))
      : null;
  return (
    <div className="transfer">
      <progress
        className="transfer-bar"
        aria-label={label}
        max={100}
        value={percent ?? undefined}
      />
      {percent !== null ? (
        <span className="transfer-percent" aria-hidden="true">
          {percent}%
        </span>
      ) : null}
    </div>
  );
}

function FileIcon() {
  return (
    <svg className="file-icon" viewBox="0 0 24 24" width="28" height="28" aria-hidden="true">
      <path
        d="M6 2.8h8l4.2 4.2v14.2H6z"
        fill="none"
        stroke="currentColor"
        strokeWidth="1.6"
        strokeLinejoin="round"
      />
      <path d="M14 2.8V7h4.2" fill="none" stroke="currentColor" strokeWidth="1.6" />
    </svg>
  );
}

function ImageIcon() {
  return (
    <svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true">
      <rect
        x="3"
        y="4.5"
        width="18"
        height="15"
        rx="2"
        fill="none"
        stroke="currentColor"
        strokeWidth="1.6"
      />
      <circle cx="9" cy="10" r="1.8" fill="currentColor" />
      <path d="M4 18l5.5-5 4 3.5 3-2.5 3.5 3" fill="none" stroke="currentColor" strokeWidth="1.6" />
    </svg>
  );
}
