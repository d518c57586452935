import { type FormEvent, useState } from "react";
import { type AppInfo, EngineError, type NetworkSetting } from "../engine/api";
import { useEngine } from "../engine/context";
import { nodeUrlProblem } from "../lib/validate";
import { CopyButton } from "./CopyButton";
import { Dialog } from "./Dialog";

export interface SettingsDialogProps {
  info: AppInfo;
  onClose: () => void;
  onNetworkChanged: (network: NetworkSetting) => void;
}

export function SettingsDialog({ info, onClose, onNetworkChanged }: SettingsDialogProps) {
  return (
    <Dialog title="Settings" onClose={onClose} className="settings">
      <div className="settings-body">
        <NetworkSection current={info.network} onChanged={onNetworkChanged} />
        {info.account !== null ? (
          <section className="settings-section" aria-labelledby="settings-account">
            <h3 id="settings-account">Account</h3>
            <dl className="facts">
              <Fact label="Wallet address" value={info.account.address} />
              <Fact label="Inbox id" value={info.account.inboxId} />
              <Fact label="This installation" value={info.account.installationId} />
              <div className="fact">
                <dt>Wallet</dt>
                <dd>
                  {info.account.walletKind === "builtin"
                    ? "Key kept on this computer"
                    : "External wallet (WalletConnect)"}
                </dd>
              </div>
            </dl>
          </section>
        ) : null}
        <section className="settings-section" aria-labelledby="settings-about">
          <h3 id="settings-about">About</h3>
          <dl className="facts">
            <div className="fact">
              <dt>Version</dt>
              <dd>
                ARX Messenger {info.version}
                {info.profile !== "release" ? ` (${info.profile})` : ""}
              </dd>
            </div>
            <Fact label="Data folder" value={info.dataDir} />
            <Fact label="Log folder" value={info.logDir} />
          </dl>
          <p className="field-hint">Appearance follows your system's light or dark setting.</p>
        </section>
      </div>
    </Dialog>
  );
}

function Fact({ label, value }: { label: string; value: string }) {
  return (
    <div className="fact">
      <dt>{label}</dt>
      <dd>
        <code className="fact-value">{value}</code>
        <CopyButton value={value} label={label.toLowerCase()} />
      </dd>
    </div>
  );
}

function NetworkSection({
  current,
  onChanged,
}: {
  current: NetworkSetting;
  onChanged: (network: NetworkSetting) => void;
}) {
  const engine = useEngine();
  const [kind, setKind] = useState<NetworkSetting["kind"]>(current.kind);
  const [url, setUrl] = useState(current.kind === "remote" ? current.url : "");
  const [problem, setProblem] = useState<string | null>(null);
  const [status, setStatus] = useState<"idle" | "saving" | "saved">("idle");

  const next: NetworkSetting =
    kind === "local" ? { kind: "local" } : { kind: "remote", url: url.trim() };
  const unchanged =
    next.kind === current.kind &&
    (next.kind === "local" || (current.kind === "remote" && current.url === next.url));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (next.kind === "remote") {
      const invalid = nodeUrlProblem(next.url);
      if (invalid !== null) {
        setProblem(invalid);
        return;
      }
    }
    setProblem(null);
    setStatus("saving");
    try {
      await engine.setNetwork(next);
      setStatus("saved");
      onChanged(next);
    } catch (raw) {
      setProblem(EngineError.from(raw).message);
      setStatus("idle");
    }
  };

  return (
    <section className="settings-section" aria-labelledby="settings-network">
      <h3 id="settings-network">Network</h3>
      <form className="form" onSubmit={submit} noValidate>
        <fieldset className="radio-group">
          <legend className="sr-only">Where ARX connects</legend>
          <label className="radio">
            <input
              type="radio"
              name="network"
              checked={kind === "local"}
              onChange={() => {
                setKind("local");
                setProblem(null);
                setStatus("idle");
              }}
            />
            <span>
              <strong>This computer</strong>
              <span className="field-hint">
                Runs a node inside the app. Works with no server, for people on this computer.
              </span>
            </span>
          </label>
          <label className="radio">
            <input
              type="radio"
              name="network"
              checked={kind === "remote"}
              onChange={() => {
                setKind("remote");
                setStatus("idle");
              }}
            />
            <span>
              <strong>A node on the network</strong>
              <span className="field-hint">Connect to an ARX node by its URL.</span>
            </span>
          </label>
        </fieldset>
        {kind === "remote" ? (
          <label className="field">
            <span className="field-label">Node URL</span>
            <input
              className="input mono"
              type="url"
              value={url}
              placeholder="https://node.example.org:5050"
              spellCheck={false}
              aria-invalid={problem !== null}
              onChange={(event) => {
                setUrl(event.target.value);
                setProblem(null);
                setStatus("idle");
              }}
            />
          </label>
        ) : null}
        <p className={problem !== null ? "field-error" : "field-hint"} role="status">
          {problem ??
            (status === "saved" ? "Saved. ARX is reconnecting with the new network." : "")}
        </p>
        <div className="dialog-actions">
          <button
            type="submit"
            className="button primary"
            disabled={unchanged || status === "saving"}
          >
            {status === "saving" ? "Switching…" : "Use this network"}
          </button>
        </div>
      </form>
    </section>
  );
}
