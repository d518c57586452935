import {
  createContext,
  type ReactNode,
  useCallback,
  useContext,
  useState,
  useSyncExternalStore,
} from "react";
import type { TransferProgress } from "../engine/api";
import { useEngineEvents } from "../engine/context";

/** Transfers remembered at most; the oldest is forgotten first. */
const KEPT = 64;

/** The latest progress of each file transfer (upload, open, save) the engine reported. */
export class TransferStore {
  private progress = new Map<string, TransferProgress>();
  private listeners = new Set<() => void>();

  report(progress: TransferProgress): void {
    this.progress.delete(progress.transferId);
    this.progress.set(progress.transferId, progress);
    if (this.progress.size > KEPT) {
      const oldest = this.progress.keys().next().value;
      if (oldest !== undefined) this.progress.delete(oldest);
    }
    this.notify();
  }

  /** Starts a transfer afresh (an id is reused when the same file is opened or saved again). */
  forget(transferId: string): void {
    if (this.progress.delete(transferId)) this.notify();
  }

  get(transferId: string): TransferProgress | null {
    return this.progress.get(transferId) ?? null;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

const TransfersContext = createContext<TransferStore | null>(null);

/** Collects the engine's transfer events for the components inside. */
export function TransfersProvider({ children }: { children: ReactNode }) {
  const [store] = useState(() => new TransferStore());
  useEngineEvents((event) => {
    if (event.kind === "transfer") store.report(event.progress);
  });
  return <TransfersContext.Provider value={store}>{children}</TransfersContext.Provider>;
}

/** The store, or null outside a TransfersProvider (progress is then not shown). */
export function useTransferStore(): TransferStore | null {
  return useContext(TransfersContext);
}

/** The latest progress of `transferId`, or null when none is known (yet). */
export function useTransfer(transferId: string | null): TransferProgress | null {
  const store = useContext(TransfersContext);
  const subscribe = useCallback(
    (listener: () => void) => store?.subscribe(listener) ?? (() => undefined),
    [store],
  );
  return useSyncExternalStore(subscribe, () =>
    store !== null && transferId !== null ? store.get(transferId) : null,
  );
}
