import { type FormEvent, useEffect, useRef, useState } from "react";
import type { AppInfo, NetworkSetting } from "../engine/api";
import { useEngine } from "../engine/context";
import { useEngineAction } from "../lib/useEngineAction";
import { kuboUrlProblem, nodeUrlProblem } from "../lib/validate";
import { CopyButton } from "./CopyButton";
import { DevicesSection } from "./DevicesSection";
import { Dialog } from "./Dialog";
import { FieldError } from "./FieldError";
import { InlineConfirm } from "./InlineConfirm";
import { UpdatesSection } from "./UpdatesSection";

export interface SettingsDialogProps {
  info: AppInfo;
  onClose: () => void;
  onNetworkChanged: (network: NetworkSetting) => void;
  /** Files now go through this Kubo RPC URL (null: the app's own IPFS node). */
  onIpfsUrlChanged?: (url: string | null) => void;
  /** The WalletConnect (Reown) project id this build was made with, if any. */
  walletConnectProjectId: string | null;
}

export function SettingsDialog({
  info,
  onClose,
  onNetworkChanged,
  onIpfsUrlChanged = () => undefined,
  walletConnectProjectId,
}: SettingsDialogProps) {
  return (
    <Dialog title="Settings" onClose={onClose} className="settings">
      <div className="settings-body">
        <NetworkSection current={info.network} onChanged={onNetworkChanged} />
        <IpfsSection current={info.ipfsUrl} onChanged={onIpfsUrlChanged} />
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
            {info.account.walletKind === "builtin" ? <KeyBackup /> : null}
          </section>
        ) : null}
        {info.account !== null ? (
          <DevicesSection account={info.account} walletConnectProjectId={walletConnectProjectId} />
        ) : null}
        <NotificationsSection enabled={info.notifications} />
        <UpdatesSection />
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

/**
 * Where files go: the app's own IPFS node, or a Kubo daemon's RPC API at a URL. The engine
 * restarts on a change.
 */
function IpfsSection({
  current,
  onChanged,
}: {
  current: string | null;
  onChanged: (url: string | null) => void;
}) {
  const engine = useEngine();
  // What the engine uses now (the prop is what it used when the dialog opened).
  const [inUse, setInUse] = useState(current);
  const [url, setUrl] = useState(current ?? "");
  const { busy, problem, setProblem, run } = useEngineAction();
  const [saved, setSaved] = useState<string | null>(null);

  const apply = (next: string | null) => {
    setSaved(null);
    void run(async () => {
      await engine.setIpfsUrl(next);
      setInUse(next);
      setUrl(next ?? "");
      setSaved(
        next === null
          ? "Saved. Files now go through the app's own IPFS node."
          : `Saved. Files now go through ${next}.`,
      );
      onChanged(next);
    });
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const invalid = kuboUrlProblem(url);
    if (invalid !== null) {
      setProblem(invalid);
      return;
    }
    apply(url.trim());
  };

  return (
    <section className="settings-section" aria-labelledby="settings-ipfs">
      <h3 id="settings-ipfs">Files (IPFS)</h3>
      <p className="field-hint">
        Files are encrypted on this computer, then stored through IPFS. Only the people in the
        conversation can open them.
      </p>
      <p data-testid="ipfs-in-use">
        {inUse === null ? (
          "Now: the app's own IPFS node."
        ) : (
          <>
            Now: the Kubo RPC API at <code>{inUse}</code>.
          </>
        )}
      </p>
      <form className="form" onSubmit={submit} noValidate>
        <label className="field">
          <span className="field-label">Kubo RPC URL</span>
          <input
            className="input mono"
            type="url"
            value={url}
            placeholder="http://127.0.0.1:5001"
            spellCheck={false}
            aria-invalid={problem !== null}
            onChange={(event) => {
              setUrl(event.target.value);
              setProblem(null);
              setSaved(null);
            }}
          />
        </label>
        <p className={problem !== null ? "field-error" : "field-hint"} role="status">
          {problem ?? saved ?? ""}
        </p>
        <div className="dialog-actions">
          {inUse !== null ? (
            <button type="button" className="button" disabled={busy} onClick={() => apply(null)}>
              Use the app's own node
            </button>
          ) : null}
          <button
            type="submit"
            className="button primary"
            disabled={busy || url.trim() === (inUse ?? "")}
          >
            {busy ? "Saving…" : "Save"}
          </button>
        </div>
      </form>
    </section>
  );
}

function NotificationsSection({ enabled }: { enabled: boolean }) {
  const engine = useEngine();
  const [on, setOn] = useState(enabled);
  const { problem, run } = useEngineAction();
  const change = async (next: boolean) => {
    setOn(next);
    if (!(await run(() => engine.setNotifications(next)))) setOn(!next);
  };
  return (
    <section className="settings-section" aria-labelledby="settings-notifications">
      <h3 id="settings-notifications">Notifications</h3>
      <label className="checkbox">
        <input
          type="checkbox"
          checked={on}
          onChange={(event) => void change(event.target.checked)}
        />
        <span>Notify me of new messages when ARX is in the background</span>
      </label>
      <FieldError problem={problem} />
    </section>
  );
}

/** Shows the built-in wallet's key after a warning and a confirmation, so the person can keep a copy. */
function KeyBackup() {
  const engine = useEngine();
  const [confirming, setConfirming] = useState(false);
  const [key, setKey] = useState<string | null>(null);
  const { busy, problem, run } = useEngineAction();
  const showButton = useRef<HTMLButtonElement>(null);
  const hideButton = useRef<HTMLButtonElement>(null);
  // Focus follows what is shown: Hide once the key is there, "Show wallet key" once it is gone.
  const refocus = useRef(false);
  useEffect(() => {
    if (key !== null) {
      hideButton.current?.focus();
    } else if (refocus.current && !confirming) {
      refocus.current = false;
      showButton.current?.focus();
    }
  }, [key, confirming]);
  const reveal = () =>
    run(async () => {
      setKey(await engine.exportBuiltinKey());
      setConfirming(false);
    });
  const back = () => {
    refocus.current = true;
    setConfirming(false);
    setKey(null);
  };
  return (
    <div className="key-backup">
      <p className="field-hint">
        Your account is this wallet key. Keep a copy somewhere safe: with it you can sign in on
        another computer. Anyone who has it can speak as you.
      </p>
      {key === null ? (
        <>
          <button
            ref={showButton}
            type="button"
            className="button"
            aria-expanded={confirming}
            onClick={() => setConfirming((was) => !was)}
          >
            Show wallet key
          </button>
          {confirming ? (
            <InlineConfirm
              tone="primary"
              confirmLabel="Show the key"
              busyLabel="Showing…"
              busy={busy}
              onConfirm={() => void reveal()}
              onCancel={back}
            >
              <p>
                Anyone who sees this key can read and send as you. Make sure no one else can see
                your screen. Show it?
              </p>
            </InlineConfirm>
          ) : null}
        </>
      ) : (
        <dl className="facts">
          <div className="fact">
            <dt>Wallet key</dt>
            <dd>
              <code className="fact-value" data-testid="wallet-key">
                {key}
              </code>
              <CopyButton value={key} label="wallet key" />
              <button ref={hideButton} type="button" className="link-button" onClick={back}>
                Hide
              </button>
            </dd>
          </div>
        </dl>
      )}
      <FieldError problem={problem} />
    </div>
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
  const { busy, problem, setProblem, run } = useEngineAction();
  const [saved, setSaved] = useState(false);

  const next: NetworkSetting =
    kind === "local" ? { kind: "local" } : { kind: "remote", url: url.trim() };
  const unchanged =
    next.kind === current.kind &&
    (next.kind === "local" || (current.kind === "remote" && current.url === next.url));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (next.kind === "remote") {
      const invalid = nodeUrlProblem(next.url);
      if (invalid !== null) {
        setProblem(invalid);
        return;
      }
    }
    setSaved(false);
    void run(async () => {
      await engine.setNetwork(next);
      setSaved(true);
      onChanged(next);
    });
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
                setSaved(false);
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
                setSaved(false);
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
                setSaved(false);
              }}
            />
          </label>
        ) : null}
        <p className={problem !== null ? "field-error" : "field-hint"} role="status">
          {problem ?? (saved ? "Saved. ARX is reconnecting with the new network." : "")}
        </p>
        <div className="dialog-actions">
          <button type="submit" className="button primary" disabled={unchanged || busy}>
            {busy ? "Switching…" : "Use this network"}
          </button>
        </div>
      </form>
    </section>
  );
}
