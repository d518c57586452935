/**
 * Signing with any EIP-1193 wallet provider (WalletConnect through AppKit, an injected wallet, or
 * a test double). The engine prepares the text and verifies the signature; this module only asks
 * the wallet for an address and an EIP-191 `personal_sign` signature.
 */

export interface Eip1193RequestArguments {
  readonly method: string;
  readonly params?: readonly unknown[] | object;
}

export interface Eip1193Provider {
  request(args: Eip1193RequestArguments): Promise<unknown>;
}

export type WalletErrorKind =
  /** The person declined in their wallet (EIP-1193 code 4001). */
  | "rejected"
  /** The wallet is signing with, or only exposes, a different account than the one asked for. */
  | "wrong_account"
  /** The wallet answered with something that is not a 65-byte hex signature. */
  | "malformed_signature"
  /** There is no provider, or it has no `request` method. */
  | "provider_missing"
  /** The wallet exposed no account at all. */
  | "no_account"
  /** Any other failure reported by the wallet. */
  | "provider_error";

export class WalletError extends Error {
  readonly kind: WalletErrorKind;
  /** The EIP-1193 error code, when the wallet gave one. */
  readonly providerCode: number | null;

  constructor(kind: WalletErrorKind, message: string, providerCode: number | null = null) {
    super(message);
    this.name = "WalletError";
    this.kind = kind;
    this.providerCode = providerCode;
  }
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/;

export const USER_REJECTED = 4001;
export const UNAUTHORIZED = 4100;

function assertProvider(provider: Eip1193Provider | null | undefined): Eip1193Provider {
  if (provider === null || provider === undefined || typeof provider.request !== "function") {
    throw new WalletError("provider_missing", "No wallet is connected.");
  }
  return provider;
}

function providerErrorCode(error: unknown): number | null {
  if (typeof error !== "object" || error === null) return null;
  const record = error as Record<string, unknown>;
  if (typeof record.code === "number") return record.code;
  // Some providers wrap the wallet's error (viem's `cause`, ethers' `error`/`info.error`).
  for (const key of ["cause", "error", "data"]) {
    const nested = providerErrorCode(record[key]);
    if (nested !== null) return nested;
  }
  return null;
}

function toWalletError(error: unknown): WalletError {
  if (error instanceof WalletError) return error;
  const code = providerErrorCode(error);
  if (code === USER_REJECTED) {
    return new WalletError("rejected", "The request was declined in the wallet.", code);
  }
  if (code === UNAUTHORIZED) {
    return new WalletError("wrong_account", "The wallet did not authorize this account.", code);
  }
  const message =
    error instanceof Error
      ? error.message
      : typeof error === "object" && error !== null && "message" in error
        ? String((error as { message: unknown }).message)
        : "The wallet reported an error.";
  return new WalletError("provider_error", message, code);
}

async function request(provider: Eip1193Provider, args: Eip1193RequestArguments): Promise<unknown> {
  try {
    return await provider.request(args);
  } catch (error) {
    throw toWalletError(error);
  }
}

export type Address = `0x${string}`;

function isAddress(value: unknown): value is Address {
  return typeof value === "string" && ADDRESS.test(value);
}

function addresses(value: unknown): Address[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isAddress);
}

/** The accounts the wallet exposes now; empty when it cannot say (the check is then skipped). */
async function exposedAccounts(provider: Eip1193Provider): Promise<Address[]> {
  try {
    return addresses(await provider.request({ method: "eth_accounts" }));
  } catch {
    return [];
  }
}

/** Asks the wallet for its accounts and returns the first one. */
export async function requestAddress(
  provider: Eip1193Provider | null | undefined,
): Promise<Address> {
  const ready = assertProvider(provider);
  const accounts = addresses(await request(ready, { method: "eth_requestAccounts" }));
  const first = accounts[0];
  if (first === undefined) throw new WalletError("no_account", "The wallet shared no account.");
  return first;
}

/** Hex-encodes UTF-8 text as personal_sign expects it. */
export function utf8ToHex(text: string): `0x${string}` {
  let hex = "0x";
  for (const byte of new TextEncoder().encode(text)) hex += byte.toString(16).padStart(2, "0");
  return hex as `0x${string}`;
}

/**
 * Signs `text` with EIP-191 `personal_sign` as `address` and returns the 65-byte signature as
 * 0x-prefixed hex. Addresses are compared without regard to checksum case.
 */
export async function signText(
  provider: Eip1193Provider | null | undefined,
  address: string,
  text: string,
): Promise<`0x${string}`> {
  const ready = assertProvider(provider);
  if (!ADDRESS.test(address)) {
    throw new WalletError("wrong_account", `"${address}" is not a wallet address.`);
  }
  const exposed = await exposedAccounts(ready);
  if (exposed.length > 0 && !exposed.some((a) => a.toLowerCase() === address.toLowerCase())) {
    throw new WalletError(
      "wrong_account",
      `The wallet is connected with ${exposed[0]}, not ${address}. Switch accounts in the wallet and try again.`,
    );
  }
  const signature = await request(ready, {
    method: "personal_sign",
    params: [utf8ToHex(text), address],
  });
  if (typeof signature !== "string" || !SIGNATURE.test(signature)) {
    throw new WalletError(
      "malformed_signature",
      "The wallet returned a signature that is not 65 bytes of hex.",
    );
  }
  return signature.toLowerCase() as `0x${string}`;
}
