/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Reown (WalletConnect) cloud project id; without it, "Connect a wallet" is disabled. */
  readonly VITE_REOWN_PROJECT_ID?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
