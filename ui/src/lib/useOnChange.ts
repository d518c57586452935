import { useEffect, useRef } from "react";

/**
 * Calls `apply` when `value` changes after the first render (compared with `Object.is`), for
 * a form that follows changes made elsewhere. Not on mount: that first effect may run after
 * the person already typed or chose, and must not undo it.
 */
export function useOnChange<T>(value: T, apply: (value: T) => void): void {
  const seen = useRef(value);
  const applyRef = useRef(apply);
  applyRef.current = apply;
  useEffect(() => {
    if (Object.is(seen.current, value)) return;
    seen.current = value;
    applyRef.current(value);
  }, [value]);
}
