import { useCallback, useEffect, useRef } from "react";
import { type ConversationView, EngineError } from "../engine/api";
import { useEngine, useEngineEvents } from "../engine/context";

/**
 * `arx://dm/<address>` links: the one ARX was started with, and each later one (handed over by
 * a second start, or opened by macOS), opens that DM through `open`. A link that names no one
 * ARX can reach is reported through `problem`.
 */
export function useDeepLinks(
  open: (conversation: ConversationView) => void,
  problem: (message: string) => void,
): void {
  const engine = useEngine();
  const openRef = useRef(open);
  openRef.current = open;
  const problemRef = useRef(problem);
  problemRef.current = problem;
  const take = useCallback(() => {
    engine
      .takeDeepLink()
      .then(async (peer) => {
        if (peer !== null) openRef.current(await engine.openDm(peer));
      })
      .catch((raw: unknown) =>
        problemRef.current(`The link could not be opened: ${EngineError.from(raw).message}`),
      );
  }, [engine]);
  useEffect(() => take(), [take]);
  useEngineEvents((event) => {
    if (event.kind === "linkWaiting") take();
  });
}
