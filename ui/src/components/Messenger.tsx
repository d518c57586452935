import {
  type KeyboardEvent,
  useCallback,
  useEffect,
  useMemo,
  useReducer,
  useRef,
  useState,
} from "react";
import {
  type AppInfo,
  type ConversationView,
  EngineError,
  type NetworkSetting,
} from "../engine/api";
import { useEngine, useEngineEvents } from "../engine/context";
import {
  type ConversationsAction,
  conversationsReducer,
  requestsReducer,
  sortConversations,
  totalUnread,
} from "../state/conversations";
import { useDeepLinks } from "../state/links";
import { type Connection, ConnectionPill } from "./ConnectionStatus";
import { ConversationList } from "./ConversationList";
import { ConversationPane } from "./ConversationPane";
import { CopyButton } from "./CopyButton";
import { DmSettingsPanel } from "./DmSettingsPanel";
import { GroupInfoPanel } from "./GroupInfoPanel";
import { NewConversationDialog } from "./NewConversationDialog";
import { SettingsDialog } from "./SettingsDialog";
import { UpdateNotice } from "./UpdatesSection";

export interface MessengerProps {
  info: AppInfo;
  onNetworkChanged: (network: NetworkSetting) => void;
  /** Files now go through this Kubo RPC URL (null: the app's own IPFS node). */
  onIpfsUrlChanged?: (url: string | null) => void;
  /** Called once the conversation list first shows (or fails to load). */
  onReady?: () => void;
  /** The WalletConnect (Reown) project id this build was made with, if any. */
  walletConnectProjectId: string | null;
}

type SidebarTab = "conversations" | "requests";

/**
 * The signed-in app: the conversation list and Requests, the open conversation, and its settings
 * panel (a group's, or a DM's).
 */
export function Messenger({
  info,
  onNetworkChanged,
  onIpfsUrlChanged,
  onReady,
  walletConnectProjectId,
}: MessengerProps) {
  const engine = useEngine();
  const [conversations, dispatchList] = useReducer(
    conversationsReducer,
    new Map<string, ConversationView>(),
  );
  const [requests, dispatchRequests] = useReducer(
    requestsReducer,
    new Map<string, ConversationView>(),
  );
  // Every change goes to both places: each keeps the conversations whose consent is its own.
  const dispatch = useCallback((action: ConversationsAction) => {
    dispatchList(action);
    dispatchRequests(action);
  }, []);
  const [tab, setTab] = useState<SidebarTab>("conversations");
  const [loading, setLoading] = useState(true);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [requestsError, setRequestsError] = useState<string | null>(null);
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
  const requestsRef = useRef(requests);
  requestsRef.current = requests;

  const load = useCallback(() => {
    setLoading(true);
    setLoadError(null);
    setRequestsError(null);
    engine
      .listConversations()
      .then((list) => dispatchList({ type: "loaded", conversations: list }))
      .catch((raw: unknown) => setLoadError(EngineError.from(raw).message))
      .finally(() => setLoading(false));
    engine
      .listRequests()
      .then((list) => dispatchRequests({ type: "loaded", conversations: list }))
      .catch((raw: unknown) => setRequestsError(EngineError.from(raw).message));
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
      case "conversation": {
        const { conversation } = event;
        dispatch({ type: "upsert", conversation });
        if (conversation.consent === "denied" && activeRef.current === conversation.id) {
          setActiveId(null);
          setInfoOpen(false);
          setNotice(`“${conversation.title}” is hidden: it was blocked or deleted.`);
        }
        break;
      }
      case "conversationRemoved": {
        const gone =
          conversationsRef.current.get(event.conversationId) ??
          requestsRef.current.get(event.conversationId);
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
        if (requestsRef.current.has(event.conversationId)) setTab("requests");
        setNotice(null);
        setDialog(null);
        break;
    }
  });

  const sorted = useMemo(() => sortConversations(conversations), [conversations]);
  const sortedRequests = useMemo(() => sortConversations(requests), [requests]);
  const unread = totalUnread(conversations);
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) ARX` : "ARX";
  }, [unread]);

  const active =
    activeId !== null ? (conversations.get(activeId) ?? requests.get(activeId) ?? null) : null;
  // A request has no settings panel: it is only read until accepted.
  const panel = infoOpen && active !== null && active.consent === "allowed" ? active : null;
  const closePanel = useCallback(() => {
    setInfoOpen(false);
    // Focus goes back to the button that opened it.
    document.querySelector<HTMLElement>('[data-testid="conversation-settings"]')?.focus();
  }, []);

  // The settings panel stays open from one conversation to the next (each has its own).
  const select = useCallback((id: string) => {
    setActiveId(id);
    setNotice(null);
  }, []);

  const onRead = useCallback(
    (id: string) => dispatch({ type: "read", conversationId: id }),
    [dispatch],
  );

  const accepted = useCallback(
    (conversation: ConversationView) => {
      dispatch({ type: "upsert", conversation });
      setTab("conversations");
    },
    [dispatch],
  );

  const requestRemoved = useCallback(
    (conversation: ConversationView, how: "blocked" | "deleted") => {
      dispatch({ type: "removed", conversationId: conversation.id });
      setActiveId(null);
      setNotice(
        how === "blocked"
          ? `Blocked. Nothing more from “${conversation.title}” will reach you.`
          : `The request “${conversation.title}” was deleted.`,
      );
    },
    [dispatch],
  );

  const requestCount = requests.size;
  const tabs: SidebarTab[] = ["conversations", "requests"];
  const onTabKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const at = tabs.indexOf(tab);
    let next: SidebarTab | undefined;
    if (event.key === "ArrowRight" || event.key === "ArrowLeft") next = tabs[(at + 1) % 2];
    else if (event.key === "Home") next = tabs[0];
    else if (event.key === "End") next = tabs[1];
    if (next === undefined) return;
    event.preventDefault();
    setTab(next);
    document.getElementById(`sidebar-tab-${next}`)?.focus();
  };

  const opened = (conversation: ConversationView) => {
    dispatch({ type: "upsert", conversation });
    setDialog(null);
    setTab(conversation.consent === "unknown" ? "requests" : "conversations");
    select(conversation.id);
  };
  useDeepLinks(opened, setNotice);

  const account = info.account;
  return (
    <div
      className={`messenger${active !== null ? " has-active" : ""}${panel !== null ? " panel-open" : ""}`}
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
        <div className="sidebar-tabs" role="tablist" aria-label="Show" onKeyDown={onTabKeyDown}>
          <button
            type="button"
            role="tab"
            id="sidebar-tab-conversations"
            className={`sidebar-tab${tab === "conversations" ? " selected" : ""}`}
            aria-selected={tab === "conversations"}
            aria-controls="sidebar-panel"
            tabIndex={tab === "conversations" ? 0 : -1}
            onClick={() => setTab("conversations")}
          >
            Conversations
          </button>
          <button
            type="button"
            role="tab"
            id="sidebar-tab-requests"
            data-testid="requests-tab"
            className={`sidebar-tab${tab === "requests" ? " selected" : ""}`}
            aria-label="Requests"
            aria-describedby="sidebar-requests-count"
            aria-selected={tab === "requests"}
            aria-controls="sidebar-panel"
            tabIndex={tab === "requests" ? 0 : -1}
            onClick={() => setTab("requests")}
          >
            Requests
            {requestCount > 0 ? (
              <span className="count-badge" aria-hidden="true" data-testid="requests-count">
                {requestCount > 99 ? "99+" : requestCount}
              </span>
            ) : null}
          </button>
          <span id="sidebar-requests-count" hidden>
            {requestCount === 0
              ? "No requests"
              : `${requestCount} ${requestCount === 1 ? "request" : "requests"} waiting`}
          </span>
        </div>
        <div
          className="sidebar-panel"
          role="tabpanel"
          id="sidebar-panel"
          aria-labelledby={`sidebar-tab-${tab}`}
        >
          {tab === "conversations" ? (
            <ConversationList
              kind="conversations"
              conversations={sorted}
              activeId={activeId}
              onSelect={select}
              loading={loading && conversations.size === 0}
            />
          ) : (
            <>
              {requestsError !== null ? (
                <div className="list-note" role="alert">
                  <p>The requests could not be loaded: {requestsError}</p>
                  <button type="button" className="button" onClick={load}>
                    Try again
                  </button>
                </div>
              ) : null}
              <ConversationList
                kind="requests"
                conversations={sortedRequests}
                activeId={activeId}
                onSelect={select}
                loading={false}
              />
            </>
          )}
        </div>
        <UpdateNotice onOpen={() => setDialog("settings")} />
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
            onAccepted={accepted}
            onRequestRemoved={requestRemoved}
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

      {panel?.kind === "group" ? (
        <GroupInfoPanel
          key={panel.id}
          conversation={panel}
          onClose={closePanel}
          onLeft={(id) => {
            dispatch({ type: "removed", conversationId: id });
            setInfoOpen(false);
            setActiveId(null);
            setNotice(`You left “${panel.title}”.`);
          }}
        />
      ) : panel !== null ? (
        <DmSettingsPanel key={panel.id} conversation={panel} onClose={closePanel} />
      ) : null}

      {dialog === "new" ? (
        <NewConversationDialog onClose={() => setDialog(null)} onOpened={opened} />
      ) : null}
      {dialog === "settings" ? (
        <SettingsDialog
          info={info}
          onClose={() => setDialog(null)}
          onNetworkChanged={onNetworkChanged}
          onIpfsUrlChanged={onIpfsUrlChanged}
          walletConnectProjectId={walletConnectProjectId}
        />
      ) : null}
    </div>
  );
}
