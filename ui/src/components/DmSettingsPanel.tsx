import type { ConversationView } from "../engine/api";
import { useConversationSettings } from "../state/conversationSettings";
import { Avatar } from "./Avatar";
import { CopyButton } from "./CopyButton";
import { DisappearingSetting } from "./DisappearingSetting";
import { PanelHeader } from "./PanelHeader";

export interface DmSettingsPanelProps {
  conversation: ConversationView;
  onClose: () => void;
}

/** A direct message's settings: who it is with, and the disappearing timer either person sets. */
export function DmSettingsPanel({ conversation, onClose }: DmSettingsPanelProps) {
  const { settings, error, reload } = useConversationSettings(conversation.id);
  const address = conversation.peerAddress;
  return (
    <aside
      className="info-panel"
      aria-label="Conversation settings"
      onKeyDown={(event) => {
        if (event.key === "Escape") onClose();
      }}
    >
      <PanelHeader title="Conversation settings" onClose={onClose} />
      <div className="panel-body">
        <section className="panel-section" aria-label="With">
          <div className="member">
            <Avatar seed={address ?? conversation.id} label={conversation.title} />
            <span className="member-text">
              <span className="member-name" title={address ?? conversation.title}>
                {address ?? conversation.title}
              </span>
              <span className="member-role">Direct message, end-to-end encrypted</span>
            </span>
            {address !== null ? <CopyButton value={address} label="their address" /> : null}
          </div>
        </section>
        <section className="panel-section">
          {settings !== null ? (
            <DisappearingSetting
              conversationId={conversation.id}
              seconds={settings.disappearAfterSecs}
              canChange={settings.canEditProfile}
              onChanged={reload}
            />
          ) : error !== null ? (
            <p className="field-error" role="alert">
              The settings could not be loaded: {error}{" "}
              <button type="button" className="link-button" onClick={reload}>
                Try again
              </button>
            </p>
          ) : (
            <p className="muted" role="status">
              Loading settings…
            </p>
          )}
        </section>
      </div>
    </aside>
  );
}
