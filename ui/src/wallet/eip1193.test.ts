// @vitest-environment node
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Hex, verifyMessage } from "viem";
import { type PrivateKeyAccount, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Eip1193Provider,
  type Eip1193RequestArguments,
  requestAddress,
  signText,
  utf8ToHex,
  WalletError,
} from "./eip1193";

// Well-known development keys (Hardhat/Anvil accounts 0 and 1); never used for real funds.
const ALICE_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const BOB_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

/** Text shaped like the engine's identity update, with non-ASCII to exercise UTF-8 encoding. */
const TEXT = [
  "ARX identity update",
  "",
  "Inbox: 955b45af902eb8226a9442d0b1fd3f89196541d8a474a2d47293079274348ef0",
  "Time: 2023-11-14T22:13:20.123456789Z",
  "",
  "1. Create this inbox with wallet 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 as its first wallet and recovery address (nonce 0)",
  "2. Add installation d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737 (a device — “Zoë’s laptop”), approved by wallet 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
  "",
  "Only sign this if you started it in ARX.",
].join("\n");

/** An EIP-1193 provider backed by a viem local account, as a wallet would behave. */
function walletOf(account: PrivateKeyAccount): Eip1193Provider {
  return {
    async request({ method, params }: Eip1193RequestArguments): Promise<unknown> {
      switch (method) {
        case "eth_requestAccounts":
        case "eth_accounts":
          return [account.address];
        case "personal_sign": {
          const [data, address] = params as [Hex, string];
          if (address.toLowerCase() !== account.address.toLowerCase()) {
            throw { code: 4100, message: "unknown account" };
          }
          return account.signMessage({ message: { raw: data } });
        }
        default:
          throw { code: 4200, message: `unsupported method ${method}` };
      }
    },
  };
}

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const arxBin = process.env.ARX_BIN ?? join(repoRoot, "target", "debug", "arx");

interface VerifyOutcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

let workDir = "";

function verifyWithEngine(address: string, signature: string, text: string): VerifyOutcome {
  // A missing engine is a failure, not a skip: this check is the point of the test.
  if (!existsSync(arxBin)) {
    throw new Error(
      `The engine CLI was not found at ${arxBin}. Build it (cargo build -p arx-cli) or set ARX_BIN to the arx binary; this test needs the engine's own signature check.`,
    );
  }
  const textFile = join(workDir, `text-${Math.random().toString(16).slice(2)}.txt`);
  writeFileSync(textFile, text, "utf8");
  const result = spawnSync(
    arxBin,
    ["verify-signature", "--address", address, "--signature", signature, "--text-file", textFile],
    { encoding: "utf8", timeout: 15_000 },
  );
  if (result.error) throw new Error(`could not run ${arxBin}: ${result.error.message}`);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("signatures from the wallet adapter, checked by the engine (arx verify-signature)", () => {
  const alice = privateKeyToAccount(ALICE_KEY);
  const bob = privateKeyToAccount(BOB_KEY);

  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), "arx-ui-sig-"));
  });
  afterAll(() => {
    if (workDir !== "") rmSync(workDir, { recursive: true, force: true });
  });

  it("produces a signature the engine accepts for the signing address", async () => {
    const wallet = walletOf(alice);
    const address = await requestAddress(wallet);
    // The adapter must not care about checksum case.
    const signature = await signText(wallet, address.toLowerCase(), TEXT);

    expect(signature).toMatch(/^0x[0-9a-f]{130}$/);
    expect(await verifyMessage({ address, message: TEXT, signature })).toBe(true);
    const outcome = verifyWithEngine(address, signature, TEXT);
    expect(outcome.stderr).toBe("");
    expect(outcome.status).toBe(0);
    expect(outcome.stdout).toMatch(/^valid: true$/m);
  });

  it("is refused by the engine when another key signed", async () => {
    const signature = await signText(walletOf(bob), bob.address, TEXT);
    const outcome = verifyWithEngine(alice.address, signature, TEXT);

    expect(outcome.status).not.toBe(0);
    expect(outcome.stdout).not.toMatch(/^valid: true$/m);
    expect(outcome.stderr).toMatch(/^arx: .+ \[identity\.signature_mismatch\]\s*$/m);
  });

  it("is refused by the engine when the signature is for other text", async () => {
    const signature = await signText(walletOf(alice), alice.address, `${TEXT}\n3. Revoke`);
    const outcome = verifyWithEngine(alice.address, signature, TEXT);

    expect(outcome.status).not.toBe(0);
    expect(outcome.stderr).toMatch(/^arx: .+ \[identity\.signature_mismatch\]\s*$/m);
  });
});

describe("wallet adapter errors", () => {
  const alice = privateKeyToAccount(ALICE_KEY);

  async function walletErrorOf(promise: Promise<unknown>): Promise<WalletError> {
    try {
      await promise;
    } catch (error) {
      if (error instanceof WalletError) return error;
      throw error;
    }
    throw new Error("expected the call to fail");
  }

  it("maps a 4001 rejection from the wallet to a rejected error", async () => {
    const rejecting: Eip1193Provider = {
      async request({ method }) {
        if (method === "personal_sign") {
          throw { code: 4001, message: "User rejected the request." };
        }
        return [alice.address];
      },
    };
    const error = await walletErrorOf(signText(rejecting, alice.address, TEXT));
    expect(error.kind).toBe("rejected");
    expect(error.providerCode).toBe(4001);

    const refusingAccounts: Eip1193Provider = {
      async request() {
        throw new Error("wrapped", { cause: { code: 4001 } });
      },
    };
    expect((await walletErrorOf(requestAddress(refusingAccounts))).kind).toBe("rejected");
  });

  it("reports a wallet connected with a different account", async () => {
    const bob = privateKeyToAccount(BOB_KEY);
    const error = await walletErrorOf(signText(walletOf(bob), alice.address, TEXT));
    expect(error.kind).toBe("wrong_account");
  });

  it("refuses a signature that is not 65 bytes", async () => {
    const short: Eip1193Provider = {
      async request({ method }) {
        return method === "personal_sign" ? `0x${"ab".repeat(64)}` : [alice.address];
      },
    };
    expect((await walletErrorOf(signText(short, alice.address, TEXT))).kind).toBe(
      "malformed_signature",
    );
  });

  it("reports a missing provider and a wallet with no account", async () => {
    expect((await walletErrorOf(requestAddress(null))).kind).toBe("provider_missing");
    const empty: Eip1193Provider = { request: async () => [] };
    expect((await walletErrorOf(requestAddress(empty))).kind).toBe("no_account");
  });

  it("hex-encodes the text as UTF-8", () => {
    expect(utf8ToHex("Zoë\n")).toBe("0x5a6fc3ab0a");
  });
});
