const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const INBOX_ID = /^(0x)?[0-9a-fA-F]{64}$/;
const PRIVATE_KEY = /^(0x)?[0-9a-fA-F]{64}$/;

export function isWalletAddress(value: string): boolean {
  return ADDRESS.test(value.trim());
}

export function isInboxId(value: string): boolean {
  return INBOX_ID.test(value.trim());
}

/** A member or DM peer may be named by wallet address or by inbox id. */
export function isPeerId(value: string): boolean {
  return isWalletAddress(value) || isInboxId(value);
}

/** Why `value` cannot name a peer, or null when it can. */
export function peerIdProblem(value: string): string | null {
  const trimmed = value.trim();
  if (trimmed.length === 0) return "Enter a wallet address or inbox id.";
  if (isPeerId(trimmed)) return null;
  if (/^0x[0-9a-fA-F]*$/.test(trimmed) && trimmed.length < 42) {
    return "A wallet address is 0x followed by 40 hex digits.";
  }
  return "That is neither a wallet address (0x + 40 hex digits) nor an inbox id (64 hex digits).";
}

/** Why `value` is not a private key, or null when it is one (64 hex digits, optional 0x). */
export function privateKeyProblem(value: string): string | null {
  const trimmed = value.trim();
  if (trimmed.length === 0) return "Paste the private key.";
  if (!PRIVATE_KEY.test(trimmed)) {
    const digits = trimmed.replace(/^0x/, "");
    if (/^[0-9a-fA-F]*$/.test(digits)) {
      return `A private key has 64 hex digits; this has ${digits.length}.`;
    }
    return "A private key has only hex digits (0-9, a-f), optionally after 0x.";
  }
  if (/^(0x)?0{64}$/.test(trimmed)) return "The zero key is not a valid private key.";
  return null;
}

/** Splits a list of members typed one per line (commas and spaces also separate). */
export function parseMemberList(text: string): string[] {
  const seen = new Set<string>();
  const members: string[] = [];
  for (const part of text.split(/[\s,;]+/)) {
    const member = part.trim();
    if (member.length === 0) continue;
    const key = member.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    members.push(member);
  }
  return members;
}

/** Why `value` is not a node URL, or null when it is one (http or https, with a host). */
export function nodeUrlProblem(value: string): string | null {
  const trimmed = value.trim();
  if (trimmed.length === 0)
    return "Enter the node's URL, for example https://node.example.org:5050.";
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return "That is not a URL. It should look like https://node.example.org:5050.";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return "The node URL must start with http:// or https://.";
  }
  if (url.hostname.length === 0) return "The node URL needs a host name.";
  if (url.username !== "" || url.password !== "")
    return "The node URL must not contain a password.";
  return null;
}

/** Why `value` is not a Kubo RPC URL, or null when it is one (http or https, with a host). */
export function kuboUrlProblem(value: string): string | null {
  const trimmed = value.trim();
  if (trimmed.length === 0) return "Enter the Kubo RPC URL, for example http://127.0.0.1:5001.";
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return "That is not a URL. It should look like http://127.0.0.1:5001.";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return "The Kubo RPC URL must start with http:// or https://.";
  }
  if (url.hostname.length === 0) return "The Kubo RPC URL needs a host name.";
  return null;
}
