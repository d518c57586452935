import { useCallback, useEffect, useRef, useState } from "react";
import { EngineError, type GroupSettingsView } from "../engine/api";
import { useEngine, useEngineEvents } from "../engine/context";

export interface ConversationSettings {
  /** The settings as last loaded; null until they first are (or when they could not be). */
  settings: GroupSettingsView | null;
  /** Why they could not be loaded. */
  error: string | null;
  /** Loads them again (after a change made here, or to try again). */
  reload: () => void;
}

interface Loaded {
  conversationId: string;
  settings: GroupSettingsView | null;
  error: string | null;
}

/**
 * A conversation's settings (its disappearing timer, a group's profile, policies and what this
 * person may change), loaded again whenever the engine reports the conversation changed:
 * settings changed by anyone arrive that way.
 */
export function useConversationSettings(conversationId: string): ConversationSettings {
  const engine = useEngine();
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  // Only the latest load is shown: an older answer arriving late must not undo a newer one.
  const latest = useRef(0);

  const reload = useCallback(() => {
    latest.current += 1;
    const ticket = latest.current;
    engine
      .groupSettings(conversationId)
      .then((settings) => {
        if (ticket === latest.current) setLoaded({ conversationId, settings, error: null });
      })
      .catch((raw: unknown) => {
        if (ticket !== latest.current) return;
        const error = EngineError.from(raw).message;
        // Keep what was shown: a failed refresh does not make the settings unknown.
        setLoaded((previous) => ({
          conversationId,
          settings: previous?.conversationId === conversationId ? previous.settings : null,
          error,
        }));
      });
  }, [engine, conversationId]);

  useEffect(() => {
    reload();
    return () => {
      // Answers for a conversation no longer shown are dropped.
      latest.current += 1;
    };
  }, [reload]);

  useEngineEvents((event) => {
    if (event.kind === "conversation" && event.conversation.id === conversationId) reload();
  });

  const current = loaded?.conversationId === conversationId ? loaded : null;
  return { settings: current?.settings ?? null, error: current?.error ?? null, reload };
}
