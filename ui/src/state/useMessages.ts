import { useCallback, useEffect, useRef, useState } from "react";
import { EngineError, type MessageView } from "../engine/api";
import { useEngine, useEngineEvents } from "../engine/context";
import {
  EMPTY_WINDOW,
  hasNewer,
  type MessageWindow,
  newerQuery,
  newestWindow,
  PAGE_SIZE,
  withMessage,
  withNewerPage,
  withOlderPage,
  withoutMessages,
} from "./messageWindow";

export { PAGE_SIZE } from "./messageWindow";

interface MessagesState {
  window: MessageWindow;
  /** Counts the times the view started again from the newest page (the list reopens at its end). */
  generation: number;
  loading: boolean;
  loadingOlder: boolean;
  loadingNewer: boolean;
  error: EngineError | null;
}

type Load = "newest" | "older" | "newer";

/**
 * The messages of one conversation as a bounded window (see `messageWindow.ts`): the newest
 * page first, older and newer pages as the person scrolls, and every message event for this
 * conversation applied by id.
 */
export function useMessages(conversationId: string) {
  const engine = useEngine();
  const [state, setState] = useState<MessagesState>({
    window: EMPTY_WINDOW,
    generation: 0,
    loading: true,
    loadingOlder: false,
    loadingNewer: false,
    error: null,
  });
  const stateRef = useRef(state);
  stateRef.current = state;
  /** One load at a time. */
  const busy = useRef(false);
  /** Bumped by every load of the newest page: answers to loads started before are dropped. */
  const epoch = useRef(0);
  /** Messages that arrived by event while the newest page was loading: newer than it maybe. */
  const arrived = useRef<MessageView[] | null>(null);
  /** The person follows the newest message (the list is at its end). */
  const following = useRef(true);
  const failed = useRef<Load>("newest");

  const loadNewest = useCallback(
    (startOver: boolean) => {
      epoch.current += 1;
      const mine = epoch.current;
      busy.current = true;
      arrived.current = [];
      setState((s) => ({ ...s, loading: true, error: null }));
      engine
        .listMessages(conversationId, null, PAGE_SIZE)
        .then((page) => {
          if (epoch.current !== mine) return;
          const late = arrived.current ?? [];
          arrived.current = null;
          setState((s) => {
            let window = newestWindow(page);
            for (const message of late) window = withMessage(window, message, true);
            return {
              ...s,
              window,
              loading: false,
              generation: startOver ? s.generation + 1 : s.generation,
            };
          });
        })
        .catch((error: unknown) => {
          if (epoch.current !== mine) return;
          arrived.current = null;
          failed.current = "newest";
          setState((s) => ({ ...s, loading: false, error: EngineError.from(error) }));
        })
        .finally(() => {
          if (epoch.current === mine) busy.current = false;
        });
    },
    [engine, conversationId],
  );

  useEffect(() => {
    loadNewest(false);
    return () => {
      epoch.current += 1;
    };
  }, [loadNewest]);

  const loadOlder = useCallback(() => {
    const { window } = stateRef.current;
    const oldest = window.messages[0];
    if (busy.current || !window.hasOlder || oldest === undefined) return;
    busy.current = true;
    const mine = epoch.current;
    setState((s) => ({ ...s, loadingOlder: true, error: null }));
    engine
      .listMessages(conversationId, oldest.id, PAGE_SIZE)
      .then((page) => {
        if (epoch.current !== mine) return;
        setState((s) => ({ ...s, window: withOlderPage(s.window, page), loadingOlder: false }));
      })
      .catch((error: unknown) => {
        if (epoch.current !== mine) return;
        failed.current = "older";
        setState((s) => ({ ...s, loadingOlder: false, error: EngineError.from(error) }));
      })
      .finally(() => {
        if (epoch.current === mine) busy.current = false;
      });
  }, [engine, conversationId]);

  const loadNewer = useCallback(() => {
    const query = newerQuery(stateRef.current.window);
    if (busy.current || query === null) return;
    busy.current = true;
    const mine = epoch.current;
    setState((s) => ({ ...s, loadingNewer: true, error: null }));
    engine
      .listMessages(conversationId, query.beforeId, query.limit)
      .then((page) => {
        if (epoch.current !== mine) return;
        if (withNewerPage(stateRef.current.window, query, page) === null) {
          // More arrived than a page holds: start again from the newest.
          setState((s) => ({ ...s, loadingNewer: false }));
          loadNewest(true);
          return;
        }
        setState((s) => ({
          ...s,
          window: withNewerPage(s.window, query, page) ?? s.window,
          loadingNewer: false,
        }));
      })
      .catch((error: unknown) => {
        if (epoch.current !== mine) return;
        failed.current = "newer";
        setState((s) => ({ ...s, loadingNewer: false, error: EngineError.from(error) }));
      })
      .finally(() => {
        if (epoch.current === mine) busy.current = false;
      });
  }, [engine, conversationId, loadNewest]);

  /** Applies a message from an event or a call's answer. */
  const upsert = useCallback((message: MessageView) => {
    arrived.current?.push(message);
    setState((s) => ({ ...s, window: withMessage(s.window, message, following.current) }));
  }, []);

  /** Shows a message this person just sent: the view goes to the newest if it was away. */
  const showSent = useCallback(
    (message: MessageView) => {
      if (hasNewer(stateRef.current.window)) {
        loadNewest(true);
      } else {
        arrived.current?.push(message);
        setState((s) => ({ ...s, window: withMessage(s.window, message, true) }));
      }
    },
    [loadNewest],
  );

  const jumpToLatest = useCallback(() => loadNewest(true), [loadNewest]);

  const setFollowing = useCallback((atEnd: boolean) => {
    following.current = atEnd;
  }, []);

  /** Tries the load that failed again. */
  const retry = useCallback(() => {
    if (failed.current === "older") loadOlder();
    else if (failed.current === "newer") loadNewer();
    else loadNewest(false);
  }, [loadOlder, loadNewer, loadNewest]);

  useEngineEvents((event) => {
    if (event.kind === "message" && event.message.conversationId === conversationId) {
      upsert(event.message);
    } else if (event.kind === "messagesRemoved" && event.conversationId === conversationId) {
      const gone = new Set(event.messageIds);
      if (arrived.current !== null) {
        arrived.current = arrived.current.filter((m) => !gone.has(m.id));
      }
      setState((s) => ({ ...s, window: withoutMessages(s.window, event.messageIds) }));
    }
  });

  const { window } = state;
  return {
    messages: window.messages,
    hasMore: window.hasOlder,
    hasNewer: hasNewer(window),
    generation: state.generation,
    loading: state.loading,
    loadingOlder: state.loadingOlder,
    loadingNewer: state.loadingNewer,
    error: state.error,
    loadOlder,
    loadNewer,
    upsert,
    showSent,
    jumpToLatest,
    setFollowing,
    retry,
  };
}
