import { useState } from "react";
import { EngineError } from "../engine/api";

export interface EngineActionOptions {
  /** Words for a failed call; by default the engine's message. Branch on `error.code` here. */
  describe?: (error: EngineError) => string;
  /**
   * Stay busy after a success: the owner moves on (closes the form, removes the row), so the
   * button must not come back for a second click in between.
   */
  staysBusy?: boolean;
}

export interface EngineAction {
  busy: boolean;
  /** What to show the person: a problem with their input, or the engine's refusal. */
  problem: string | null;
  /** Shows a problem found before asking the engine, or clears it (null) when the input changes. */
  setProblem: (problem: string | null) => void;
  /** Clears the problem, is busy while `call` runs, and shows its error; true when it succeeded. */
  run: (call: () => Promise<unknown>) => Promise<boolean>;
}

/** One call to the engine started by a person (a form submitted, a button pressed). */
export function useEngineAction({
  describe = (error) => error.message,
  staysBusy = false,
}: EngineActionOptions = {}): EngineAction {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  const run = async (call: () => Promise<unknown>) => {
    setBusy(true);
    setProblem(null);
    try {
      await call();
      if (!staysBusy) setBusy(false);
      return true;
    } catch (raw) {
      setProblem(describe(EngineError.from(raw)));
      setBusy(false);
      return false;
    }
  };

  return { busy, problem, setProblem, run };
}
