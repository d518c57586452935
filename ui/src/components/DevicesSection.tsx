import { useCallback, useEffect, useId, useRef, useState } from "react";
import { type Account, type DeviceView, EngineError, type RevokeResult } from "../engine/api";
import { useEngine } from "../engine/context";
import { useEngineAction } from "../lib/useEngineAction";
import { walletMessage } from "../lib/walletMessage";
import type { WalletConnection } from "../wallet/appkit";
import { signText } from "../wallet/eip1193";
import { CopyButton } from "./CopyButton";
import { FieldError } from "./FieldError";
import { InlineConfirm } from "./InlineConfirm";

export interface DevicesSectionProps {
  account: Account;
  /** The WalletConnect (Reown) project id this build was made with, if any. */
  walletConnectProjectId: string | null;
}

/** The account's installations; every other one can be revoked by the account's wallet. */
export function DevicesSection({ account, walletConnectProjectId }: DevicesSectionProps) {
  const engine = useEngine();
  const [devices, setDevices] = useState<DeviceView[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [report, setReport] = useState<string | null>(null);
  const reportRef = useRef<HTMLParagraphElement>(null);

  const load = useCallback(() => {
    let cancelled = false;
    engine
      .listDevices()
      .then((list) => {
        if (cancelled) return;
        setDevices(list);
        setLoadError(null);
      })
      .catch((raw: unknown) => {
        if (!cancelled) setLoadError(EngineError.from(raw).message);
      });
    return () => {
      cancelled = true;
    };
  }, [engine]);
  useEffect(() => load(), [load]);

  const revoked = (device: DeviceView, result: RevokeResult) => {
    setReport(revokeReport(device.label, result));
    load();
    // Its row goes away with the reload: keep keyboard focus in the section, on what happened.
    reportRef.current?.focus();
  };

  return (
    <section className="settings-section" aria-labelledby="settings-devices">
      <h3 id="settings-devices">Devices</h3>
      <p className="field-hint">
        Every installation of ARX signed in to this account. Revoke one you no longer use or have
        lost.
      </p>
      {loadError !== null ? (
        <p className="field-error" role="alert">
          The devices could not be loaded: {loadError}{" "}
          <button type="button" className="link-button" onClick={() => load()}>
            Try again
          </button>
        </p>
      ) : devices === null ? (
        <p className="muted" role="status">
          Loading devices…
        </p>
      ) : (
        <ul className="device-list" aria-label="Devices">
          {devices.map((device) => (
            <DeviceRow
              key={device.installationId}
              device={device}
              account={account}
              walletConnectProjectId={walletConnectProjectId}
              onRevoked={(result) => revoked(device, result)}
            />
          ))}
        </ul>
      )}
      <p ref={reportRef} className="field-hint" role="status" tabIndex={-1}>
        {report ?? ""}
      </p>
    </section>
  );
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** What a revocation did, in words. */
export function revokeReport(label: string, result: RevokeResult): string {
  const removed = `Revoked ${label}. Removed from ${plural(result.removedFrom, "conversation")}.`;
  return result.pending > 0
    ? `${removed} It is removed from ${plural(result.pending, "more conversation")} at the next change there.`
    : removed;
}

function DeviceRow({
  device,
  account,
  walletConnectProjectId,
  onRevoked,
}: {
  device: DeviceView;
  account: Account;
  walletConnectProjectId: string | null;
  onRevoked: (result: RevokeResult) => void;
}) {
  const flowId = useId();
  const [open, setOpen] = useState(false);
  const trigger = useRef<HTMLButtonElement>(null);
  const name = `device ${device.label}`;

  const close = () => {
    setOpen(false);
    trigger.current?.focus();
  };

  return (
    <li className="device" data-testid="device" data-installation-id={device.installationId}>
      <div className="device-line">
        <span className="device-text">
          <span className="device-name">
            {device.label}
            {device.thisDevice ? <span className="tag">This device</span> : null}
          </span>
          <code className="fact-value">{device.installationId}</code>
        </span>
        <CopyButton value={device.installationId} label={`id of ${name}`} />
        {device.thisDevice ? null : (
          <button
            ref={trigger}
            type="button"
            className="button small danger-outline"
            aria-label={`Revoke ${name}`}
            aria-expanded={open}
            aria-controls={open ? flowId : undefined}
            onClick={() => setOpen((was) => !was)}
          >
            Revoke
          </button>
        )}
      </div>
      {open ? (
        <div id={flowId}>
          {account.walletKind === "builtin" ? (
            <BuiltinRevoke device={device} onCancel={close} onRevoked={onRevoked} />
          ) : (
            <ExternalRevoke
              device={device}
              address={account.address}
              projectId={walletConnectProjectId}
              onCancel={close}
              onRevoked={onRevoked}
            />
          )}
        </div>
      ) : null}
    </li>
  );
}

function RevokeWarning({ device }: { device: DeviceView }) {
  return (
    <p>
      Revoke <strong>{device.label}</strong>? It is signed out of every conversation and can no
      longer read new messages. This cannot be undone.
    </p>
  );
}

/** The app signs the revocation with the built-in wallet's key. */
function BuiltinRevoke({
  device,
  onCancel,
  onRevoked,
}: {
  device: DeviceView;
  onCancel: () => void;
  onRevoked: (result: RevokeResult) => void;
}) {
  const engine = useEngine();
  // The row goes away once the list reloads, so it stays busy until then.
  const { busy, problem, run } = useEngineAction({ staysBusy: true });
  const revoke = () => run(async () => onRevoked(await engine.revokeDevice(device.installationId)));
  return (
    <InlineConfirm
      tone="danger"
      confirmLabel="Revoke device"
      busyLabel="Revoking…"
      busy={busy}
      onConfirm={() => void revoke()}
      onCancel={onCancel}
    >
      <RevokeWarning device={device} />
      <FieldError problem={problem} />
    </InlineConfirm>
  );
}

type ExternalStep =
  | { step: "confirm" }
  | { step: "connecting" }
  | { step: "preparing" }
  | { step: "review"; requestId: string; text: string }
  | { step: "signing"; requestId: string; text: string }
  | { step: "done" };

/** The account's external wallet signs the engine's revocation text through WalletConnect. */
function ExternalRevoke({
  device,
  address,
  projectId,
  onCancel,
  onRevoked,
}: {
  device: DeviceView;
  address: string;
  projectId: string | null;
  onCancel: () => void;
  onRevoked: (result: RevokeResult) => void;
}) {
  const engine = useEngine();
  const [state, setState] = useState<ExternalStep>({ step: "confirm" });
  const [problem, setProblem] = useState<string | null>(null);
  const connection = useRef<WalletConnection | null>(null);
  // Bumped when the flow ends (Cancel, or the row or dialog closes), so a late answer is ignored.
  const attempt = useRef(0);
  const signButton = useRef<HTMLButtonElement>(null);
  const textId = useId();

  const end = useCallback(() => {
    attempt.current += 1;
    void connection.current?.disconnect();
    connection.current = null;
  }, []);
  useEffect(() => end, [end]);

  // The text to sign arrived: the next step is the Sign button, which reads the text out too.
  const reviewing = state.step === "review";
  useEffect(() => {
    if (reviewing) signButton.current?.focus();
  }, [reviewing]);

  const start = async () => {
    if (projectId === null) return;
    const mine = ++attempt.current;
    setProblem(null);
    setState({ step: "connecting" });
    try {
      const { connectWallet } = await import("../wallet/appkit");
      const connected = await connectWallet(projectId);
      if (mine !== attempt.current) {
        void connected.disconnect();
        return;
      }
      connection.current = connected;
    } catch (error) {
      if (mine !== attempt.current) return;
      setProblem(`Your wallet is not connected, so it cannot sign. ${walletMessage(error)}`);
      setState({ step: "confirm" });
      return;
    }
    setState({ step: "preparing" });
    try {
      const request = await engine.beginExternalRevoke(device.installationId);
      if (mine !== attempt.current) return;
      setState({ step: "review", requestId: request.requestId, text: request.textToSign });
    } catch (error) {
      if (mine !== attempt.current) return;
      setProblem(walletMessage(error));
      setState({ step: "confirm" });
    }
  };

  const sign = async () => {
    if (state.step !== "review") return;
    const review = state;
    const wallet = connection.current;
    if (wallet === null) {
      setProblem("Your wallet is not connected, so it cannot sign. Connect it again.");
      setState({ step: "confirm" });
      return;
    }
    setProblem(null);
    setState({ ...review, step: "signing" });
    try {
      const signature = await signText(wallet.provider, address, review.text);
      const result = await engine.completeExternalRevoke(review.requestId, signature);
      void wallet.disconnect();
      connection.current = null;
      setState({ step: "done" });
      onRevoked(result);
    } catch (error) {
      // Back to the text with the reason; the request stays valid, so signing again works.
      setProblem(walletMessage(error));
      setState(review);
    }
  };

  const cancel = () => {
    end();
    onCancel();
  };

  switch (state.step) {
    case "confirm":
    case "connecting":
    case "preparing":
      return (
        <InlineConfirm
          tone="danger"
          confirmLabel={problem !== null ? "Try again" : "Revoke with my wallet"}
          busyLabel={
            state.step === "connecting" ? "Waiting for your wallet…" : "Preparing the revocation…"
          }
          busy={state.step !== "confirm"}
          disabled={projectId === null}
          onConfirm={() => void start()}
          onCancel={cancel}
        >
          <RevokeWarning device={device} />
          {projectId === null ? (
            <p className="field-error">
              Your wallet is not connected: this build has no WalletConnect project id, so it cannot
              connect to sign the revocation.
            </p>
          ) : (
            <p className="field-hint">
              Your wallet <code>{address}</code> signs the revocation through WalletConnect.
            </p>
          )}
          <FieldError problem={problem} />
        </InlineConfirm>
      );
    case "review":
    case "signing":
      return (
        <fieldset
          className="wallet-flow inline-confirm"
          aria-label={`Sign the revocation of ${device.label}`}
          onKeyDown={(event) => {
            if (event.key === "Escape") {
              event.stopPropagation();
              cancel();
            }
          }}
        >
          <p>
            Your wallet <code>{address}</code> will be asked to sign this text. Check it in the
            wallet too; it should be the same.
          </p>
          <pre id={textId} className="sign-text">
            {state.text}
          </pre>
          <FieldError problem={problem} />
          <div className="dialog-actions">
            <button type="button" className="button" onClick={cancel}>
              Cancel
            </button>
            <button
              ref={signButton}
              type="button"
              className="button danger"
              aria-describedby={textId}
              onClick={() => void sign()}
              disabled={state.step === "signing"}
            >
              {state.step === "signing" ? "Confirm in your wallet…" : "Sign in wallet"}
            </button>
          </div>
        </fieldset>
      );
    case "done":
      return null;
  }
}
