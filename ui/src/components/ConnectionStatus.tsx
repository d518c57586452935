import type { ConnectionState } from "../engine/api";

export interface Connection {
  state: ConnectionState;
  detail: string | null;
}

const LABEL: Record<ConnectionState, string> = {
  connecting: "Connecting…",
  online: "Online",
  offline: "Offline",
};

/** Small always-present indicator (sidebar header). */
export function ConnectionPill({ connection }: { connection: Connection }) {
  return (
    <span
      className={`connection-pill ${connection.state}`}
      data-testid="connection-state"
      data-state={connection.state}
      role="status"
      title={connection.detail ?? LABEL[connection.state]}
    >
      <span className="dot" aria-hidden="true" />
      {LABEL[connection.state]}
    </span>
  );
}

/** Banner over the conversation while not online: messages written now wait and go out later. */
export function ConnectionBanner({ connection }: { connection: Connection }) {
  if (connection.state === "online") return null;
  const headline =
    connection.state === "connecting" ? "Connecting to the network…" : "You're offline.";
  return (
    <div className={`connection-banner ${connection.state}`} role="status">
      <strong>{headline}</strong>{" "}
      <span>
        Messages you send now are queued and go out when the connection is back.
        {connection.detail ? ` (${connection.detail})` : ""}
      </span>
    </div>
  );
}
