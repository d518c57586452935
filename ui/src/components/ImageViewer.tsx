import { useEffect, useState } from "react";
import {
  type AttachmentView,
  attachmentTransferId,
  EngineError,
  type MessageView,
} from "../engine/api";
import { useEngine } from "../engine/context";
import { fileKind, humanSize } from "../lib/format";
import { useEngineAction } from "../lib/useEngineAction";
import { useTransferStore } from "../state/transfers";
import { TransferBar } from "./Attachments";
import { Dialog } from "./Dialog";
import { FieldError } from "./FieldError";

export interface ImageViewerProps {
  message: MessageView;
  attachment: AttachmentView;
  onClose: () => void;
}

/**
 * An image at full size: fetched and opened by the engine (its progress shown over the
 * thumbnail meanwhile), with Save into Downloads. Escape or Close closes it.
 */
export function ImageViewer({ message, attachment, onClose }: ImageViewerProps) {
  const engine = useEngine();
  const store = useTransferStore();
  const transferId = attachmentTransferId(message.id, attachment.index);
  const [image, setImage] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `attempt` asks for another try.
  useEffect(() => {
    let current = true;
    setImage(null);
    setProblem(null);
    store?.forget(transferId);
    engine
      .openImage(message.id, attachment.index)
      .then((url) => {
        if (current) setImage(url);
      })
      .catch((raw: unknown) => {
        if (current) setProblem(EngineError.from(raw).message);
      });
    return () => {
      current = false;
    };
  }, [engine, store, transferId, message.id, attachment.index, attempt]);

  const [savedTo, setSavedTo] = useState<string | null>(null);
  const saving = useEngineAction({
    describe: (error) => `It could not be saved: ${error.message}`,
  });
  const save = () => {
    setSavedTo(null);
    void saving.run(async () => {
      setSavedTo(await engine.saveAttachment(message.id, attachment.index));
    });
  };

  const { name } = attachment;
  const size =
    attachment.width !== null && attachment.height !== null
      ? `${attachment.width} × ${attachment.height} · `
      : "";
  return (
    <Dialog
      title={name}
      description={`${size}${humanSize(attachment.size)} · ${fileKind(attachment.mimeType, name)}`}
      onClose={onClose}
      className="image-viewer"
    >
      <div className="viewer-stage">
        {image !== null ? (
          <img className="viewer-image" src={image} alt={name} data-testid="viewer-image" />
        ) : problem !== null ? (
          <div className="viewer-problem" role="alert">
            <p>The image could not be opened: {problem}</p>
            <button type="button" className="button" onClick={() => setAttempt((n) => n + 1)}>
              Try again
            </button>
          </div>
        ) : (
          <div className="viewer-loading">
            {attachment.thumbnailDataUrl !== null ? (
              <img className="viewer-thumbnail" src={attachment.thumbnailDataUrl} alt="" />
            ) : null}
            <div className="viewer-progress">
              <p role="status">Opening the image…</p>
              <TransferBar transferId={transferId} label={`Opening ${name}`} />
            </div>
          </div>
        )}
      </div>
      <p className="field-hint" role="status">
        {savedTo !== null ? `Saved to ${savedTo}` : ""}
      </p>
      <FieldError problem={saving.problem} />
      <div className="dialog-actions">
        <button type="button" className="button primary" disabled={saving.busy} onClick={save}>
          {saving.busy ? "Saving…" : "Save"}
        </button>
      </div>
    </Dialog>
  );
}
