import { createContext, type ReactNode, useContext, useEffect, useRef } from "react";
import type { EngineApi, EngineEvent } from "./api";

const EngineContext = createContext<EngineApi | null>(null);

export function EngineProvider({ engine, children }: { engine: EngineApi; children: ReactNode }) {
  return <EngineContext.Provider value={engine}>{children}</EngineContext.Provider>;
}

export function useEngine(): EngineApi {
  const engine = useContext(EngineContext);
  if (engine === null) throw new Error("useEngine must be used inside <EngineProvider>");
  return engine;
}

/** Calls `handler` for every engine event while the component is mounted (latest handler wins). */
export function useEngineEvents(handler: (event: EngineEvent) => void): void {
  const engine = useEngine();
  const latest = useRef(handler);
  latest.current = handler;
  useEffect(() => engine.subscribe((event) => latest.current(event)), [engine]);
}
