import { useEffect, useId, useState } from "react";
import { useEngine } from "../engine/context";
import { durationLabel } from "../lib/format";
import { useEngineAction } from "../lib/useEngineAction";

/** The timers offered (seconds; null: off). Another one set elsewhere is shown as it is. */
export const DISAPPEAR_CHOICES: readonly (number | null)[] = [
  null,
  30,
  5 * 60,
  3_600,
  86_400,
  7 * 86_400,
];

function choiceLabel(seconds: number | null): string {
  return seconds === null ? "Off" : durationLabel(seconds);
}

function choiceValue(seconds: number | null): string {
  return seconds === null ? "off" : String(seconds);
}

/** What a timer means, in a sentence: "Messages disappear after 1 hour." */
export function disappearSentence(seconds: number | null): string {
  return seconds === null
    ? "Messages do not disappear."
    : `Messages disappear after ${durationLabel(seconds)}.`;
}

export interface DisappearingSettingProps {
  conversationId: string;
  /** The timer in force (seconds; null: off). */
  seconds: number | null;
  /** This person may change it (in a DM either person; in a group who may edit the profile). */
  canChange: boolean;
  /** Why it cannot be changed here, when it cannot. */
  readOnlyHint?: string;
  /** The engine accepted a new timer. */
  onChanged: () => void;
}

/** The disappearing-messages timer: a selector, or the timer in words when it cannot be changed. */
export function DisappearingSetting({
  conversationId,
  seconds,
  canChange,
  readOnlyHint = "",
  onChanged,
}: DisappearingSettingProps) {
  const engine = useEngine();
  const id = useId();
  const { busy, problem, run } = useEngineAction();
  // The choice being made, shown until the settings catch up (undefined: none).
  const [chosen, setChosen] = useState<number | null | undefined>(undefined);
  const [saved, setSaved] = useState(false);

  // The settings caught up (here or from someone else): show them.
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new timer from the engine ends the choice.
  useEffect(() => {
    setChosen(undefined);
  }, [seconds]);

  const shown = chosen !== undefined ? chosen : seconds;
  const choices = DISAPPEAR_CHOICES.includes(shown)
    ? DISAPPEAR_CHOICES
    : [...DISAPPEAR_CHOICES, shown].sort((a, b) => (a ?? 0) - (b ?? 0));

  const choose = (value: string) => {
    const next = value === "off" ? null : Number(value);
    if (next === shown) return;
    setChosen(next);
    setSaved(false);
    void run(() => engine.setDisappearing(conversationId, next)).then((done) => {
      if (done) {
        setSaved(true);
        onChanged();
      } else {
        setChosen(undefined);
      }
    });
  };

  const hintId = `${id}-hint`;
  if (!canChange) {
    return (
      <div className="field setting" data-testid="disappearing-setting">
        <span className="field-label">Disappearing messages</span>
        <p className="setting-value">{choiceLabel(seconds)}</p>
        {readOnlyHint.length > 0 ? <p className="field-hint">{readOnlyHint}</p> : null}
      </div>
    );
  }
  return (
    <div className="field setting" data-testid="disappearing-setting">
      <label className="field-label" htmlFor={id}>
        Disappearing messages
      </label>
      <select
        id={id}
        className="input select"
        value={choiceValue(shown)}
        disabled={busy}
        aria-describedby={hintId}
        onChange={(event) => choose(event.target.value)}
      >
        {choices.map((choice) => (
          <option key={choiceValue(choice)} value={choiceValue(choice)}>
            {choiceLabel(choice)}
          </option>
        ))}
      </select>
      <p id={hintId} className="field-hint">
        Applies to messages sent from now on, on everyone's devices.
      </p>
      {problem !== null ? (
        <p className="field-error" role="alert">
          The timer was not changed: {problem}
        </p>
      ) : (
        <p className="field-hint" role="status">
          {busy ? "Saving…" : saved ? disappearSentence(shown) : ""}
        </p>
      )}
    </div>
  );
}
