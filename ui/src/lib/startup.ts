/**
 * Start-up marks: milliseconds since the page began loading at each step of the first screen
 * (the bundle running, the engine's first answer, the data shown). They go to the shell with
 * `ui_ready`, which logs them beside the time since the process started, so the log says
 * where a slow start spent its time.
 */
const marks: { name: string; ms: number }[] = [];

export function mark(name: string): void {
  if (marks.length < 16) marks.push({ name, ms: Math.round(performance.now()) });
}

export function startupMarks(): { name: string; ms: number }[] {
  return [...marks];
}
