/** The fake engine's updater: what each channel offers, and the steps of an install. */
import { EngineError, type EngineEvent, type UpdateChannel, type UpdatesView } from "../engine/api";

export class FakeUpdater {
  view: UpdatesView = {
    currentVersion: "0.1.0",
    channel: "stable",
    status: { state: "idle" },
    lastCheckedMs: null,
  };
  /** The newer version each channel offers (null: nothing newer). */
  offered: Record<UpdateChannel, string | null> = { stable: null, beta: null };
  /** What the next install fails with (a tampered download, say). */
  installFailure: EngineError | null = null;
  restarts = 0;

  constructor(private readonly emit: (event: EngineEvent) => void) {}

  private set(next: Partial<UpdatesView>): UpdatesView {
    this.view = { ...this.view, ...next };
    this.emit({ kind: "updates", updates: this.view });
    return this.view;
  }

  state(): UpdatesView {
    return this.view;
  }

  setChannel(channel: UpdateChannel): UpdatesView {
    return this.set({ channel, status: { state: "idle" } });
  }

  check(): UpdatesView {
    const version = this.offered[this.view.channel];
    return this.set({
      lastCheckedMs: Date.now(),
      status:
        version === null ? { state: "upToDate" } : { state: "available", version, notes: null },
    });
  }

  install(): UpdatesView {
    const status = this.view.status;
    if (status.state !== "available") {
      throw new EngineError(
        "app.update_none",
        "There is no update to install: check for one first.",
      );
    }
    const { version } = status;
    this.set({ status: { state: "downloading", version, received: 500_000, total: 1_000_000 } });
    const failure = this.installFailure;
    if (failure !== null) {
      this.installFailure = null;
      this.set({ status: { state: "failed", code: failure.code, message: failure.message } });
      throw failure;
    }
    return this.set({ status: { state: "ready", version } });
  }

  restart(): void {
    if (this.view.status.state !== "ready") {
      throw new EngineError("app.update_none", "No update has been installed yet.");
    }
    this.restarts += 1;
  }
}
