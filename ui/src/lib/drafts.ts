/** Unsent composer text per conversation, kept across conversation switches and restarts. */
const PREFIX = "arx.draft.";

function storage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

export function loadDraft(conversationId: string): string {
  return storage()?.getItem(PREFIX + conversationId) ?? "";
}

export function saveDraft(conversationId: string, text: string): void {
  const store = storage();
  if (store === null) return;
  try {
    if (text.length === 0) store.removeItem(PREFIX + conversationId);
    else store.setItem(PREFIX + conversationId, text);
  } catch {
    // Storage full or unavailable: the draft lives on in the composer until it is sent.
  }
}

export function clearDraft(conversationId: string): void {
  saveDraft(conversationId, "");
}
