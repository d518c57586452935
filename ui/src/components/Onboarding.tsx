import { type FormEvent, useRef, useState } from "react";
import type { Account } from "../engine/api";
import { useEngine } from "../engine/context";
import { useEngineAction } from "../lib/useEngineAction";
import { privateKeyProblem } from "../lib/validate";
import { walletMessage } from "../lib/walletMessage";
import type { WalletConnection } from "../wallet/appkit";
import { signText } from "../wallet/eip1193";
import { FieldError } from "./FieldError";

export interface OnboardingProps {
  onSignedIn: (account: Account) => void;
  /** The WalletConnect (Reown) project id this build was made with, if any. */
  walletConnectProjectId: string | null;
}

type Choice = "none" | "import" | "wallet";

/** First run: make a key here, import one, or sign in with an external wallet. */
export function Onboarding({ onSignedIn, walletConnectProjectId }: OnboardingProps) {
  const engine = useEngine();
  const [choice, setChoice] = useState<Choice>("none");
  const creation = useEngineAction({ staysBusy: true });
  const createKey = () => creation.run(async () => onSignedIn(await engine.createBuiltinAccount()));

  return (
    <main className="onboarding">
      <div className="onboarding-card">
        <div className="brand" aria-hidden="true">
          ARX
        </div>
        <h1>Welcome to ARX Messenger</h1>
        <p className="lead">
          Private conversations, end-to-end encrypted. Your wallet is your identity: no phone
          number, no e-mail.
        </p>

        <div className="options">
          <section className="option" aria-labelledby="opt-create">
            <h2 id="opt-create">Create a key on this computer</h2>
            <p>
              The simplest start. ARX makes a new wallet key and keeps it in this app's data folder.
            </p>
            <button
              type="button"
              className="button primary"
              data-testid="onboard-create-key"
              onClick={createKey}
              disabled={creation.busy}
            >
              {creation.busy ? "Creating your key…" : "Create a key"}
            </button>
            <FieldError problem={creation.problem} />
          </section>

          <section className="option" aria-labelledby="opt-import">
            <h2 id="opt-import">Import a private key</h2>
            <p>Use a wallet key you already have, for example to add this computer as a device.</p>
            {choice === "import" ? (
              <ImportKeyForm onSignedIn={onSignedIn} onCancel={() => setChoice("none")} />
            ) : (
              <button type="button" className="button" onClick={() => setChoice("import")}>
                Import a key
              </button>
            )}
          </section>

          <section className="option" aria-labelledby="opt-wallet">
            <h2 id="opt-wallet">Connect a wallet</h2>
            {walletConnectProjectId === null ? (
              <>
                <p>Sign in with a wallet app on your phone or computer through WalletConnect.</p>
                <button type="button" className="button" disabled aria-describedby="no-wc">
                  Connect a wallet
                </button>
                <p id="no-wc" className="field-hint">
                  This build has no WalletConnect project id, so external wallets cannot connect.
                  Create a key on this computer or import one instead.
                </p>
              </>
            ) : choice === "wallet" ? (
              <ExternalWalletFlow
                projectId={walletConnectProjectId}
                onSignedIn={onSignedIn}
                onCancel={() => setChoice("none")}
              />
            ) : (
              <>
                <p>Sign in with a wallet app on your phone or computer through WalletConnect.</p>
                <button type="button" className="button" onClick={() => setChoice("wallet")}>
                  Connect a wallet
                </button>
              </>
            )}
          </section>
        </div>
      </div>
    </main>
  );
}

function ImportKeyForm({
  onSignedIn,
  onCancel,
}: {
  onSignedIn: (account: Account) => void;
  onCancel: () => void;
}) {
  const engine = useEngine();
  const [key, setKey] = useState("");
  const [visible, setVisible] = useState(false);
  const { busy, problem, setProblem, run } = useEngineAction({ staysBusy: true });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const invalid = privateKeyProblem(key);
    if (invalid !== null) {
      setProblem(invalid);
      return;
    }
    void run(async () => onSignedIn(await engine.importBuiltinKey(key.trim())));
  };

  return (
    <form className="form" onSubmit={submit} noValidate>
      <div className="field">
        <label className="field-label" htmlFor="import-key">
          Private key (64 hex digits)
        </label>
        <span className="inline-field">
          <input
            id="import-key"
            className="input mono"
            type={visible ? "text" : "password"}
            value={key}
            autoComplete="off"
            spellCheck={false}
            // biome-ignore lint/a11y/noAutofocus: the person just asked for this field.
            autoFocus
            aria-invalid={problem !== null}
            aria-describedby="import-problem"
            onChange={(event) => {
              setKey(event.target.value);
              setProblem(null);
            }}
          />
          <button
            type="button"
            className="button small"
            aria-pressed={visible}
            onClick={() => setVisible((v) => !v)}
          >
            {visible ? "Hide" : "Show"}
          </button>
        </span>
      </div>
      <p id="import-problem" className="field-error" role="alert">
        {problem ?? ""}
      </p>
      <div className="dialog-actions">
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="button primary" disabled={busy}>
          {busy ? "Importing…" : "Import"}
        </button>
      </div>
    </form>
  );
}

type WalletStep =
  | { step: "connecting" }
  | { step: "preparing"; address: string }
  | { step: "review"; address: string; requestId: string; text: string }
  | { step: "signing"; address: string; requestId: string; text: string }
  | { step: "failed"; message: string };

function ExternalWalletFlow({
  projectId,
  onSignedIn,
  onCancel,
}: {
  projectId: string;
  onSignedIn: (account: Account) => void;
  onCancel: () => void;
}) {
  const engine = useEngine();
  const [state, setState] = useState<WalletStep | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const connection = useRef<WalletConnection | null>(null);

  const connect = async () => {
    setNotice(null);
    setState({ step: "connecting" });
    try {
      const { connectWallet } = await import("../wallet/appkit");
      const connected = await connectWallet(projectId);
      connection.current = connected;
      setState({ step: "preparing", address: connected.address });
      const request = await engine.beginExternalSignin(connected.address);
      setState({
        step: "review",
        address: connected.address,
        requestId: request.requestId,
        text: request.textToSign,
      });
    } catch (error) {
      setState({ step: "failed", message: walletMessage(error) });
    }
  };

  const sign = async () => {
    if (state === null || state.step !== "review" || connection.current === null) return;
    const review = state;
    setNotice(null);
    setState({ ...review, step: "signing" });
    try {
      const signature = await signText(connection.current.provider, review.address, review.text);
      const account = await engine.completeExternalSignin(review.requestId, signature);
      void connection.current.disconnect();
      onSignedIn(account);
    } catch (error) {
      // Back to the text with the reason; the request stays valid, so signing again works.
      setNotice(walletMessage(error));
      setState(review);
    }
  };

  const cancel = () => {
    void connection.current?.disconnect();
    connection.current = null;
    onCancel();
  };

  if (state === null) {
    return (
      <div className="wallet-flow">
        <p>
          A WalletConnect window opens. Choose your wallet, approve the connection, then ARX shows
          you exactly what you will sign.
        </p>
        <div className="dialog-actions">
          <button type="button" className="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="button" className="button primary" onClick={connect}>
            Open WalletConnect
          </button>
        </div>
      </div>
    );
  }

  switch (state.step) {
    case "connecting":
      return (
        <p className="wallet-flow" role="status">
          Waiting for your wallet to connect…
        </p>
      );
    case "preparing":
      return (
        <p className="wallet-flow" role="status">
          Connected as <code>{state.address}</code>. Preparing the sign-in…
        </p>
      );
    case "failed":
      return (
        <div className="wallet-flow">
          <p className="field-error" role="alert">
            {state.message}
          </p>
          <div className="dialog-actions">
            <button type="button" className="button" onClick={cancel}>
              Cancel
            </button>
            <button type="button" className="button primary" onClick={connect}>
              Try again
            </button>
          </div>
        </div>
      );
    case "review":
    case "signing":
      return (
        <div className="wallet-flow">
          <p>
            Your wallet <code>{state.address}</code> will be asked to sign this text. Check it in
            the wallet too; it should be the same.
          </p>
          <pre className="sign-text">{state.text}</pre>
          <FieldError problem={notice} />
          <div className="dialog-actions">
            <button type="button" className="button" onClick={cancel}>
              Cancel
            </button>
            <button
              type="button"
              className="button primary"
              onClick={sign}
              disabled={state.step === "signing"}
            >
              {state.step === "signing" ? "Confirm in your wallet…" : "Sign in wallet"}
            </button>
          </div>
        </div>
      );
  }
}
