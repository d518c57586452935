import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import type { EngineApi } from "../engine/api";
import { EngineProvider } from "../engine/context";

export function renderWithEngine(ui: ReactElement, engine: EngineApi) {
  return render(<EngineProvider engine={engine}>{ui}</EngineProvider>);
}

export const DAY_MS = 86_400_000;

/** Today at the given local time. */
export function todayAt(hours: number, minutes = 0): number {
  const date = new Date();
  date.setHours(hours, minutes, 0, 0);
  return date.getTime();
}
