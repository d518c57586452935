/** A shortened inbox id or other long hex id: `955b45af…8ef0`. */
export function shortId(value: string): string {
  return value.length > 16 ? `${value.slice(0, 8)}…${value.slice(-4)}` : value;
}

/**
 * Date formatters, made once per set of options and kept. Each `toLocale…String` call with
 * options builds a new ICU formatter, and WebKit keeps their native memory until a later
 * garbage collection: a message list formatting every row's time on each render grew the web
 * process by tens of MiB.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = JSON.stringify(options);
  let made = formatters.get(key);
  if (made === undefined) {
    made = new Intl.DateTimeFormat(undefined, options);
    formatters.set(key, made);
  }
  return made;
}

function startOfDay(ms: number): number {
  const day = new Date(ms);
  day.setHours(0, 0, 0, 0);
  return day.getTime();
}

/** Whole calendar days between two instants in local time (DST-safe). */
export function calendarDaysBetween(earlierMs: number, laterMs: number): number {
  return Math.round((startOfDay(laterMs) - startOfDay(earlierMs)) / 86_400_000);
}

export function isSameDay(a: number, b: number): boolean {
  return startOfDay(a) === startOfDay(b);
}

/** Day separator label: "Today", "Yesterday", or a date. */
export function dayLabel(ms: number, nowMs: number = Date.now()): string {
  const days = calendarDaysBetween(ms, nowMs);
  if (days === 0) return "Today";
  if (days === 1) return "Yesterday";
  const date = new Date(ms);
  const sameYear = date.getFullYear() === new Date(nowMs).getFullYear();
  const options: Intl.DateTimeFormatOptions = { month: "long", day: "numeric" };
  if (days < 7 && days > 0) options.weekday = "long";
  if (!sameYear) options.year = "numeric";
  return formatter(options).format(date);
}

/** Clock time of a message: "14:05" (locale dependent). */
export function timeOfDay(ms: number): string {
  return formatter({ hour: "2-digit", minute: "2-digit" }).format(ms);
}

/** Compact relative time for the conversation list: "now", "5m", "14:05", "Yesterday", "Mon", "12 Mar". */
export function relativeTime(ms: number, nowMs: number = Date.now()): string {
  const elapsed = nowMs - ms;
  if (elapsed < 60_000) return "now";
  if (elapsed < 3_600_000) return `${Math.floor(elapsed / 60_000)}m`;
  const days = calendarDaysBetween(ms, nowMs);
  if (days <= 0) return timeOfDay(ms);
  if (days === 1) return "Yesterday";
  const date = new Date(ms);
  if (days < 7) return formatter({ weekday: "short" }).format(date);
  if (date.getFullYear() === new Date(nowMs).getFullYear()) {
    return formatter({ day: "numeric", month: "short" }).format(date);
  }
  return formatter({ day: "numeric", month: "short", year: "numeric" }).format(date);
}

/** Full date and time for tooltips. */
export function fullDateTime(ms: number): string {
  return formatter({ dateStyle: "full", timeStyle: "short" }).format(ms);
}

export function roleLabel(role: "super_admin" | "admin" | "member"): string {
  switch (role) {
    case "super_admin":
      return "Owner";
    case "admin":
      return "Admin";
    case "member":
      return "Member";
  }
}

/** Who a group policy lets make a change: "Everyone", "Admins and owners", "Owners only". */
export function policyLabel(policy: "everyone" | "admins" | "super_admins"): string {
  switch (policy) {
    case "everyone":
      return "Everyone";
    case "admins":
      return "Admins and owners";
    case "super_admins":
      return "Owners only";
  }
}

const DURATION_UNITS: [seconds: number, unit: string][] = [
  [604_800, "week"],
  [86_400, "day"],
  [3_600, "hour"],
  [60, "minute"],
  [1, "second"],
];

/** A disappearing timer in words, in its largest whole unit: "30 seconds", "1 hour", "2 weeks". */
export function durationLabel(seconds: number): string {
  for (const [size, unit] of DURATION_UNITS) {
    if (seconds >= size && seconds % size === 0) {
      const count = seconds / size;
      return `${count} ${unit}${count === 1 ? "" : "s"}`;
    }
  }
  return `${seconds} seconds`;
}

/**
 * One line of a message for the conversation list. Markdown shows its words, not its markup:
 * [label](url) becomes label; emphasis, heading, quote, list and code markers are dropped.
 */
export function previewText(text: string, markdown: boolean): string {
  let plain = text;
  if (markdown) {
    plain = plain
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/^\s{0,3}(?:#{1,6}|>|[-*+]|\d+[.)])\s+/gm, "")
      .replace(/(\*\*|__|~~|`+)(.+?)\1/g, "$2")
      .replace(/(^|[\s(])[*_](\S(?:.*?\S)?)[*_](?=[\s).,!?:;]|$)/g, "$1$2");
  }
  return plain.replace(/\s+/g, " ").trim();
}

/** A file size for people: "512 B", "1.2 KB", "34 MB" (powers of 1024). */
export function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = value < 10 ? 1 : 0;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

const KNOWN_TYPES: Record<string, string> = {
  "application/pdf": "PDF document",
  "application/zip": "ZIP archive",
  "application/json": "JSON file",
  "text/plain": "Text file",
  "text/markdown": "Markdown file",
  "text/csv": "CSV file",
};

/** What kind of file it is, in words: "PDF document", "Image", "ZIP archive", "DOCX file". */
export function fileKind(mimeType: string, name: string): string {
  const known = KNOWN_TYPES[mimeType.toLowerCase()];
  if (known !== undefined) return known;
  const family = mimeType.split("/")[0]?.toLowerCase();
  if (family === "image") return "Image";
  if (family === "audio") return "Audio";
  if (family === "video") return "Video";
  const dot = name.lastIndexOf(".");
  const extension = dot > 0 ? name.slice(dot + 1) : "";
  if (/^[a-z0-9]{1,8}$/i.test(extension)) return `${extension.toUpperCase()} file`;
  return "File";
}

/** The words of a message shown where it is quoted or previewed (a caption, else its files). */
export function messageSummary(message: {
  text: string;
  markdown: boolean;
  isFallback: boolean;
  deleted: boolean;
  attachments: { name: string; isImage: boolean }[];
}): string {
  if (message.deleted) return "This message was deleted";
  const text = previewText(message.text, message.markdown && !message.isFallback);
  if (text.length > 0 || message.attachments.length === 0) return text;
  const [first] = message.attachments;
  if (message.attachments.length === 1 && first !== undefined) {
    return first.isImage ? `Photo: ${first.name}` : `File: ${first.name}`;
  }
  return `${message.attachments.length} files`;
}
