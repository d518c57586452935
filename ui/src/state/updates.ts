import { useEffect, useState } from "react";
import type { UpdatesView } from "../engine/api";
import { useEngine, useEngineEvents } from "../engine/context";

/**
 * The updater as the engine reports it: asked once, then kept current by `updates` events
 * (checks, download progress, installs, failures). Null until the first answer.
 */
export function useUpdates(): [UpdatesView | null, (view: UpdatesView) => void] {
  const engine = useEngine();
  const [view, setView] = useState<UpdatesView | null>(null);
  useEffect(() => {
    let live = true;
    engine
      .updateState()
      .then((state) => {
        // An event may have come first; it is newer than this answer only if it changed state.
        if (live) setView((seen) => seen ?? state);
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [engine]);
  useEngineEvents((event) => {
    if (event.kind === "updates") setView(event.updates);
  });
  return [view, setView];
}

/** A download's progress in whole percent, or null when the size is not known. */
export function downloadPercent(received: number, total: number | null): number | null {
  if (total === null || total <= 0) return null;
  return Math.min(100, Math.floor((received / total) * 100));
}
