import { EngineError, ErrorCode } from "../engine/api";
import { USER_REJECTED, WalletError } from "../wallet/eip1193";

/**
 * Words for a failure while an external wallet signs an engine text (sign-in, revoking a device):
 * the wallet's own refusals first, then the engine's verdict on the signature.
 */
export function walletMessage(error: unknown): string {
  if (error instanceof WalletError) {
    switch (error.kind) {
      case "rejected":
        return error.providerCode === USER_REJECTED
          ? "You declined in your wallet. Nothing was changed; you can try again."
          : `${error.message} Nothing was changed; you can try again.`;
      case "wrong_account":
        return error.message;
      case "malformed_signature":
        return "The wallet returned an unusable signature. Try again, or try another wallet.";
      case "provider_missing":
      case "no_account":
        return "The wallet did not share an account. Connect again and approve the connection.";
      case "provider_error":
        return `The wallet reported an error: ${error.message}`;
    }
  }
  const engineError = EngineError.from(error);
  if (engineError.code === ErrorCode.signatureMismatch) {
    return "The signature does not match this wallet address. Make sure the wallet signs with the account shown, then try again.";
  }
  return engineError.message;
}
