/** A problem to show next to a control, as an alert; nothing while there is none. */
export function FieldError({ problem }: { problem: string | null }) {
  return problem !== null ? (
    <p className="field-error" role="alert">
      {problem}
    </p>
  ) : null;
}
