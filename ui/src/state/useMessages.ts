import { useCallback, useEffect, useRef, useState } from "react";
import { EngineError, type MessageView } from "../engine/api";
import { useEngine, useEngineEvents } from "../engine/context";
import { upsertMessage } from "./conversations";

export const PAGE_SIZE = 50;

export interface MessagesState {
  messages: MessageView[];
  hasMore: boolean;
  loading: boolean;
  loadingOlder: boolean;
  error: EngineError | null;
}

/**
 * The messages of one conversation: the newest page first, older pages on demand, and every
 * message event for this conversation upserted by id.
 */
export function useMessages(conversationId: string) {
  const engine = useEngine();
  const [state, setState] = useState<MessagesState>({
    messages: [],
    hasMore: false,
    loading: true,
    loadingOlder: false,
    error: null,
  });
  const busy = useRef(false);
  const stateRef = useRef(state);
  stateRef.current = state;

  const loadFirst = useCallback(() => {
    let cancelled = false;
    busy.current = true;
    setState((s) => ({ ...s, loading: true, error: null }));
    engine
      .listMessages(conversationId, null, PAGE_SIZE)
      .then((page) => {
        if (cancelled) return;
        setState((s) => {
          // Messages that arrived by event while loading are kept.
          let messages = page.messages;
          for (const m of s.messages) messages = upsertMessage(messages, m);
          return { ...s, messages, hasMore: page.hasMore, loading: false };
        });
      })
      .catch((error: unknown) => {
        if (!cancelled) setState((s) => ({ ...s, loading: false, error: EngineError.from(error) }));
      })
      .finally(() => {
        busy.current = false;
      });
    return () => {
      cancelled = true;
    };
  }, [engine, conversationId]);

  useEffect(() => loadFirst(), [loadFirst]);

  const loadOlder = useCallback(() => {
    const current = stateRef.current;
    if (busy.current || !current.hasMore) return;
    const oldest = current.messages[0];
    if (oldest === undefined) return;
    busy.current = true;
    setState((s) => ({ ...s, loadingOlder: true, error: null }));
    engine
      .listMessages(conversationId, oldest.id, PAGE_SIZE)
      .then((page) => {
        setState((s) => {
          const known = new Set(s.messages.map((m) => m.id));
          const older = page.messages.filter((m) => !known.has(m.id));
          return {
            ...s,
            messages: [...older, ...s.messages],
            hasMore: page.hasMore,
            loadingOlder: false,
          };
        });
      })
      .catch((error: unknown) => {
        setState((s) => ({ ...s, loadingOlder: false, error: EngineError.from(error) }));
      })
      .finally(() => {
        busy.current = false;
      });
  }, [engine, conversationId]);

  const upsert = useCallback((message: MessageView) => {
    setState((s) => ({ ...s, messages: upsertMessage(s.messages, message) }));
  }, []);

  useEngineEvents((event) => {
    if (event.kind === "message" && event.message.conversationId === conversationId) {
      upsert(event.message);
    }
  });

  return { ...state, loadOlder, upsert, reload: loadFirst };
}
