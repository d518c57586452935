/**
 * WalletConnect v2 through Reown AppKit. This module is loaded with a dynamic import only when
 * the person chooses "Connect a wallet", so AppKit costs nothing otherwise.
 */
import { createAppKit } from "@reown/appkit";
import { mainnet } from "@reown/appkit/networks";
import { type Address, type Eip1193Provider, requestAddress, WalletError } from "./eip1193";

export interface WalletConnection {
  provider: Eip1193Provider;
  address: Address;
  /** Ends the WalletConnect session (after sign-in the wallet is no longer needed). */
  disconnect(): Promise<void>;
}

type AppKit = ReturnType<typeof createAppKit>;

let instance: { projectId: string; kit: AppKit } | null = null;

function appKit(projectId: string): AppKit {
  if (instance !== null && instance.projectId === projectId) return instance.kit;
  const dark = window.matchMedia?.("(prefers-color-scheme: dark)").matches ?? false;
  const kit = createAppKit({
    projectId,
    networks: [mainnet],
    metadata: {
      name: "ARX Messenger",
      description: "Sign in to ARX Messenger with your wallet",
      url: window.location.origin,
      icons: [],
    },
    themeMode: dark ? "dark" : "light",
    // Only the wallet connection: no accounts by e-mail, no swaps, no telemetry.
    features: {
      analytics: false,
      email: false,
      socials: false,
      swaps: false,
      onramp: false,
      send: false,
      history: false,
    },
  });
  instance = { projectId, kit };
  return kit;
}

function isProvider(value: unknown): value is Eip1193Provider {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { request?: unknown }).request === "function"
  );
}

/**
 * Opens the AppKit modal and resolves once a wallet is connected with an Ethereum account.
 * Closing the modal without connecting rejects with a `rejected` WalletError.
 */
export async function connectWallet(projectId: string): Promise<WalletConnection> {
  const kit = appKit(projectId);
  const provider = await new Promise<Eip1193Provider>((resolve, reject) => {
    let settled = false;
    let opened = false;
    const stops: Array<() => void> = [];
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      for (const stop of stops) stop();
      outcome();
    };
    const check = () => {
      const candidate = kit.getWalletProvider();
      if (kit.getIsConnectedState() && isProvider(candidate)) {
        finish(() => resolve(candidate));
      }
    };
    stops.push(kit.subscribeProviders(() => check()));
    stops.push(kit.subscribeAccount(() => check(), "eip155"));
    stops.push(
      kit.subscribeState((state) => {
        if (state.open) opened = true;
        else if (opened) {
          // The modal closes itself after a connection; give the provider a moment to arrive.
          window.setTimeout(() => {
            check();
            finish(() =>
              reject(
                new WalletError(
                  "rejected",
                  "The WalletConnect window was closed before a wallet connected.",
                ),
              ),
            );
          }, 400);
        }
      }),
    );
    check();
    if (!settled) {
      kit.open({ view: "Connect", namespace: "eip155" }).catch((error: unknown) => {
        finish(() =>
          reject(
            new WalletError(
              "provider_error",
              error instanceof Error ? error.message : "The wallet dialog could not be opened.",
            ),
          ),
        );
      });
    }
  });
  const address = await requestAddress(provider);
  return {
    provider,
    address,
    disconnect: async () => {
      await kit.disconnect().catch(() => undefined);
    },
  };
}
