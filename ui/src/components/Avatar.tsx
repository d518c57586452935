import type { CSSProperties } from "react";

/** A round initial with a colour derived from the address or id, so people are easy to tell apart. */
function hue(seed: string): number {
  let hash = 0;
  for (let i = 0; i < seed.length; i += 1) hash = (hash * 31 + seed.charCodeAt(i)) >>> 0;
  return hash % 360;
}

export function Avatar({
  seed,
  label,
  group = false,
}: {
  seed: string;
  label: string;
  group?: boolean;
}) {
  const initial = label.startsWith("0x") ? label.slice(2, 4) : label.slice(0, 1);
  return (
    <span
      className={`avatar${group ? " group" : ""}`}
      style={{ "--avatar-hue": hue(seed.toLowerCase()) } as CSSProperties}
      aria-hidden="true"
    >
      {initial.toUpperCase()}
    </span>
  );
}
