import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";
import {
  type AppInfo,
  type ConversationView,
  EngineError,
  type NetworkSetting,
} from "../engine/api";
import { useEngine, useEngineEvents } from "../engine/context";
import { conversationsReducer, sortConversations, totalUnread } from "../state/conversations";
import { type Connection, ConnectionPill } from "./ConnectionStatus";
import { ConversationList } from "./ConversationList";
import { ConversationPane } from "./ConversationPane";
import { CopyButton } from "./CopyButton";
import { GroupInfoPanel } from "./GroupInfoPanel";
import { NewConversationDialog } from "./NewConversationDialog";
import { SettingsDialog } from "./SettingsDialog";

export interface MessengerProps {
  info: AppInfo;
  onNetworkChanged: (network: NetworkSetting) => void;
  /** Called once the conversation list first shows (or fails to load). */
  onReady?: () => void;
  /** The WalletConnect (Reown) project id this build was made with, if any. */
  walletConnectProjectId: string | null;
}

/** The signed-in app: conversation list, the open conversation, and the group info panel. */
export function Messenger({
  info,
  onNetworkChanged,
  onReady,
  walletConnectProjectId,
}: MessengerProps) {
  const engine = useEngine();
  const [conversations, dispatch] = useReducer(
    conversationsReducer,
    new Map<string, ConversationView>(),
  );
  const [loading, setLoading] = useState(true);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [activeId, setActiveId] = useState<string | null>(null);
  const [infoOpen, setInfoOpen] = useState(false);
  const [dialog, setDialog] = useState<"new" | "settings" | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  // Until the engine reports otherwise, assume it is still connecting.
  const [connection, setConnection] = useState<Connection>({ state: "connecting", detail: null });
  const activeRef = useRef(activeId);
  activeRef.current = activeId;
  const conversationsRef = useRef(conversations);
  conversationsRef.current = conversations;

  const load = useCallback(() => {
    setLoading(true);
    setLoadError(null);
    engine
      .listConversations()
      .then((list) => dispatch({ type: "loaded", conversations: list }))
      .catch((raw: unknown) => setLoadError(EngineError.from(raw).message))
      .finally(() => setLoading(false));
  }, [engine]);
  useEffect(() => load(), [load]);
  const readyRef = useRef(onReady);
  readyRef.current = onReady;
  useEffect(() => {
    if (!loading) readyRef.current?.();
  }, [loading]);

  useEngineEvents((event) => {
    switch (event.kind) {
      case "message":
        dispatch({
          type: "message",
          message: event.message,
          activeConversationId: activeRef.current,
        });
        break;
      case "conversation":
        dispatch({ type: "upsert", conversation: event.conversation });
        break;
      case "conversationRemoved": {
        const gone = conversationsRef.current.get(event.conversationId);
        dispatch({ type: "removed", conversationId: event.conversationId });
        if (activeRef.current === event.conversationId) {
          setActiveId(null);
          setInfoOpen(false);
          setNotice(
            gone !== undefined
              ? `You are no longer in “${gone.title}”.`
              : "That conversation is no longer available.",
          );
        }
        break;
      }
      case "connection":
        setConnection({ state: event.state, detail: event.detail });
        break;
      case "openConversation":
        setActiveId(event.conversationId);
        setNotice(null);
        setDialog(null);
        break;
    }
  });

  const sorted = useMemo(() => sortConversations(conversations), [conversations]);
  const unread = totalUnread(conversations);
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) ARX` : "ARX";
  }, [unread]);

  const active = activeId !== null ? (conversations.get(activeId) ?? null) : null;

  const select = useCallback((id: string) => {
    setActiveId(id);
    setNotice(null);
    if (conversationsRef.current.get(id)?.kind !== "group") setInfoOpen(false);
  }, []);

  const onRead = useCallback((id: string) => dispatch({ type: "read", conversationId: id }), []);

  const opened = (conversation: ConversationView) => {
    dispatch({ type: "upsert", conversation });
    setDialog(null);
    select(conversation.id);
  };

  const account = info.account;
  return (
    <div
      className={`messenger${active !== null ? " has-active" : ""}${infoOpen && active?.kind === "group" ? " panel-open" : ""}`}
    >
      <nav className="sidebar" aria-label="Conversations sidebar">
        <header className="sidebar-header">
          <span className="app-name">ARX</span>
          <ConnectionPill connection={connection} />
          <span className="spacer" />
          <button
            type="button"
            className="icon-button"
            data-testid="new-conversation"
            aria-label="New conversation"
            title="New conversation"
            onClick={() => setDialog("new")}
          >
            <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
              <path
                d="M4 20h4L19 9l-4-4L4 16v4z"
                fill="none"
                stroke="currentColor"
                strokeWidth="1.8"
                strokeLinejoin="round"
              />
              <path d="M13.5 6.5l4 4" stroke="currentColor" strokeWidth="1.8" />
            </svg>
          </button>
          <button
            type="button"
            className="icon-button"
            aria-label="Settings"
            title="Settings"
            onClick={() => setDialog("settings")}
          >
            <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
              <circle cx="12" cy="12" r="3" fill="none" stroke="currentColor" strokeWidth="1.8" />
              <path
                d="M12 2.8v2.4M12 18.8v2.4M2.8 12h2.4M18.8 12h2.4M5.5 5.5l1.7 1.7M16.8 16.8l1.7 1.7M5.5 18.5l1.7-1.7M16.8 7.2l1.7-1.7"
                stroke="currentColor"
                strokeWidth="1.8"
                strokeLinecap="round"
              />
            </svg>
          </button>
        </header>
        {loadError !== null ? (
          <div className="list-note" role="alert">
            <p>The conversations could not be loaded: {loadError}</p>
            <button type="button" className="button" onClick={load}>
              Try again
            </button>
          </div>
        ) : null}
        <ConversationList
          conversations={sorted}
          activeId={activeId}
          onSelect={select}
          loading={loading && conversations.size === 0}
        />
        {account !== null ? (
          <footer className="sidebar-footer">
            <span className="account-label">Signed in as</span>
            <span className="account-line">
              <span
                className="account-address mono"
                data-testid="account-address"
                title={account.address}
              >
                {account.address}
              </span>
              <CopyButton value={account.address} label="your address" />
            </span>
          </footer>
        ) : null}
      </nav>

      <main className="main">
        {active !== null ? (
          <ConversationPane
            key={active.id}
            conversation={active}
            connection={connection}
            infoOpen={infoOpen}
            onToggleInfo={() => setInfoOpen((open) => !open)}
            onBack={() => setActiveId(null)}
            onRead={onRead}
          />
        ) : (
          <div className="welcome">
            {notice !== null ? (
              <p className="notice" role="status">
                {notice}
              </p>
            ) : null}
            <h1>
              {sorted.length === 0 && !loading
                ? "Start your first conversation"
                : "Pick a conversation"}
            </h1>
            <p className="muted">
              Everything you send is end-to-end encrypted. Only the people in a conversation can
              read it.
            </p>
            <button type="button" className="button primary" onClick={() => setDialog("new")}>
              New conversation
            </button>
          </div>
        )}
      </main>

      {infoOpen && active !== null && active.kind === "group" ? (
        <GroupInfoPanel
          key={active.id}
          conversation={active}
          onClose={() => setInfoOpen(false)}
          onLeft={(id) => {
            dispatch({ type: "removed", conversationId: id });
            setInfoOpen(false);
            setActiveId(null);
            setNotice(`You left “${active.title}”.`);
          }}
        />
      ) : null}

      {dialog === "new" ? (
        <NewConversationDialog onClose={() => setDialog(null)} onOpened={opened} />
      ) : null}
      {dialog === "settings" ? (
        <SettingsDialog
          info={info}
          onClose={() => setDialog(null)}
          onNetworkChanged={onNetworkChanged}
          walletConnectProjectId={walletConnectProjectId}
        />
      ) : null}
    </div>
  );
}
