import { useCallback, useEffect, useRef, useState } from "react";
import { Messenger } from "./components/Messenger";
import { Onboarding } from "./components/Onboarding";
import { type AppInfo, EngineError } from "./engine/api";
import { useEngine } from "./engine/context";
import { mark, startupMarks } from "./lib/startup";

const projectId = (import.meta.env.VITE_REOWN_PROJECT_ID ?? "").trim();

export interface AppProps {
  /** Overrides the build's WalletConnect project id (tests). */
  walletConnectProjectId?: string | null;
}

export function App({
  walletConnectProjectId = projectId.length > 0 ? projectId : null,
}: AppProps) {
  const engine = useEngine();
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [error, setError] = useState<EngineError | null>(null);

  const load = useCallback(() => {
    setError(null);
    engine
      .appInfo()
      .then((answer) => {
        mark("engine");
        setInfo(answer);
      })
      .catch((raw: unknown) => setError(EngineError.from(raw)));
  }, [engine]);
  useEffect(() => load(), [load]);

  // Tells the shell once that the first interactive screen shows (it logs the start-up time).
  const readySent = useRef(false);
  const ready = useCallback(() => {
    if (readySent.current) return;
    readySent.current = true;
    mark("screen");
    engine.uiReady(startupMarks()).catch(() => undefined);
  }, [engine]);
  const onboarding = info !== null && info.account === null;
  useEffect(() => {
    if (onboarding) ready();
  }, [onboarding, ready]);

  if (error !== null) {
    return (
      <main className="startup">
        <h1>ARX could not start</h1>
        <p role="alert">{error.message}</p>
        <button type="button" className="button primary" onClick={load}>
          Try again
        </button>
      </main>
    );
  }
  if (info === null) {
    return (
      <main className="startup" aria-busy="true">
        <p role="status">Starting ARX…</p>
      </main>
    );
  }
  if (info.account === null) {
    return (
      <Onboarding
        walletConnectProjectId={walletConnectProjectId}
        onSignedIn={(account) => setInfo({ ...info, account })}
      />
    );
  }
  return (
    <Messenger
      info={info}
      onReady={ready}
      walletConnectProjectId={walletConnectProjectId}
      onNetworkChanged={(network) => {
        setInfo({ ...info, network });
      }}
      onIpfsUrlChanged={(ipfsUrl) => {
        setInfo({ ...info, ipfsUrl });
      }}
    />
  );
}
