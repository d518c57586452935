/**
 * The end of a form: its problem line (always present, so a field can point at it with
 * `aria-describedby`, and announced when it changes) and the submit button, which shows
 * `busyLabel` and is disabled while the engine works.
 */
export function FormFooter({
  problem,
  problemId,
  busy,
  label,
  busyLabel,
  testId,
}: {
  problem: string | null;
  problemId?: string;
  busy: boolean;
  label: string;
  busyLabel: string;
  testId: string;
}) {
  return (
    <>
      <p id={problemId} className="field-error" role="alert">
        {problem ?? ""}
      </p>
      <div className="dialog-actions">
        <button type="submit" className="button primary" data-testid={testId} disabled={busy}>
          {busy ? busyLabel : label}
        </button>
      </div>
    </>
  );
}
