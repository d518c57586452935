import type { UpdateChannel, UpdatesView } from "../engine/api";
import { useEngine } from "../engine/context";
import { fullDateTime, humanSize } from "../lib/format";
import { useEngineAction } from "../lib/useEngineAction";
import { downloadPercent, useUpdates } from "../state/updates";
import { FieldError } from "./FieldError";

const CHANNELS: { value: UpdateChannel; label: string; hint: string }[] = [
  { value: "stable", label: "Stable", hint: "Published releases." },
  {
    value: "beta",
    label: "Beta",
    hint: "Every release, pre-releases included: new things sooner, with rougher edges.",
  },
];

/**
 * Settings → Updates: the version, the channel, "check now", and what the updater is doing
 * (a newer version, the download's progress, "restart to update", or why it could not).
 * ARX also checks by itself on start and once a day.
 */
export function UpdatesSection() {
  const engine = useEngine();
  const [view, setView] = useUpdates();
  const { busy, problem, run } = useEngineAction();
  if (view === null) return null;
  const act = (call: () => Promise<UpdatesView | undefined>) =>
    void run(async () => {
      const next = await call();
      if (next !== undefined) setView(next);
    });
  const status = view.status;
  const working =
    busy ||
    status.state === "checking" ||
    status.state === "downloading" ||
    status.state === "installing";
  return (
    <section className="settings-section" aria-labelledby="settings-updates">
      <h3 id="settings-updates">Updates</h3>
      <p data-testid="update-version">
        ARX Messenger {view.currentVersion}
        {view.lastCheckedMs !== null ? (
          <span className="field-hint"> · last checked {fullDateTime(view.lastCheckedMs)}</span>
        ) : null}
      </p>
      <fieldset className="radio-group" disabled={working}>
        <legend className="field-label">Channel</legend>
        {CHANNELS.map((channel) => (
          <label key={channel.value} className="radio">
            <input
              type="radio"
              name="update-channel"
              value={channel.value}
              checked={view.channel === channel.value}
              onChange={() => act(() => engine.setUpdateChannel(channel.value))}
            />
            <span>
              <strong>{channel.label}</strong>
              <span className="field-hint">{channel.hint}</span>
            </span>
          </label>
        ))}
      </fieldset>
      <div className="update-status" aria-live="polite" data-testid="update-status">
        <UpdateStatusLine view={view} />
      </div>
      <div className="dialog-actions">
        {status.state === "available" ? (
          <button
            type="button"
            className="button primary"
            disabled={working}
            data-testid="update-install"
            onClick={() => act(() => engine.installUpdate())}
          >
            Download and install {status.version}
          </button>
        ) : null}
        {status.state === "ready" ? (
          <button
            type="button"
            className="button primary"
            disabled={busy}
            data-testid="update-restart"
            onClick={() => act(async () => engine.restartToUpdate().then(() => undefined))}
          >
            Restart to update
          </button>
        ) : null}
        {status.state === "manual" ? (
          <button
            type="button"
            className="button"
            onClick={() =>
              act(async () => engine.openLink(status.downloadUrl).then(() => undefined))
            }
          >
            Download {status.version}
          </button>
        ) : null}
        {status.state !== "ready" ? (
          <button
            type="button"
            className="button"
            disabled={working}
            data-testid="update-check"
            onClick={() => act(() => engine.checkForUpdate())}
          >
            {status.state === "checking" ? "Checking…" : "Check now"}
          </button>
        ) : null}
      </div>
      <FieldError problem={problem} />
    </section>
  );
}

function UpdateStatusLine({ view }: { view: UpdatesView }) {
  const status = view.status;
  switch (status.state) {
    case "idle":
      return <p>ARX checks for updates on start and once a day.</p>;
    case "checking":
      return <p>Checking the {view.channel} channel…</p>;
    case "upToDate":
      return <p>ARX is up to date on the {view.channel} channel.</p>;
    case "available":
      return (
        <>
          <p>ARX {status.version} is available.</p>
          {status.notes !== null && status.notes.trim() !== "" ? (
            <p className="update-notes">{status.notes}</p>
          ) : null}
        </>
      );
    case "downloading": {
      const percent = downloadPercent(status.received, status.total);
      return (
        <>
          <p>
            Downloading ARX {status.version}: {humanSize(status.received)}
            {status.total !== null ? ` of ${humanSize(status.total)}` : ""}
          </p>
          <progress
            aria-label={`Downloading ARX ${status.version}`}
            max={100}
            value={percent ?? undefined}
          />
        </>
      );
    }
    case "installing":
      return <p>Checking the signature and installing ARX {status.version}…</p>;
    case "ready":
      return <p>ARX {status.version} is installed. Restart ARX to use it.</p>;
    case "manual":
      return (
        <>
          <p>ARX {status.version} is available.</p>
          <p className="field-hint">{status.instructions}</p>
        </>
      );
    case "failed":
      return (
        <p role="alert" className="field-error">
          {status.message}
        </p>
      );
  }
}

/** A line at the foot of the conversation list when a newer version is waiting. */
export function UpdateNotice({ onOpen }: { onOpen: () => void }) {
  const [view] = useUpdates();
  const status = view?.status;
  if (status === undefined) return null;
  let text: string;
  if (status.state === "ready") text = `ARX ${status.version} is installed: restart to update`;
  else if (status.state === "available" || status.state === "manual")
    text = `ARX ${status.version} is available`;
  else if (status.state === "downloading") text = `Downloading ARX ${status.version}…`;
  else return null;
  return (
    <button type="button" className="update-notice" onClick={onOpen}>
      {text}
    </button>
  );
}
