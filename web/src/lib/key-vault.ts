import { createStore } from './store';

/**
 * The API key the playground (and the pages that read through /v1) use. Its secret lives in this
 * tab's sessionStorage only: gone when the tab closes or on log out, never sent anywhere but the
 * API's own /v1 routes, never stored on the server beyond its hash.
 */
const STORAGE = 'tollgate.playgroundKey';

export interface HeldKey {
  secret: string;
  /** The key's id when the console created it; null for a pasted key. */
  id: string | null;
  label: string;
}

function read(): HeldKey | null {
  try {
    const raw = sessionStorage.getItem(STORAGE);
    return raw ? (JSON.parse(raw) as HeldKey) : null;
  } catch {
    return null;
  }
}

export const playgroundKey = createStore<HeldKey | null>(read());

export function holdPlaygroundKey(key: HeldKey): void {
  sessionStorage.setItem(STORAGE, JSON.stringify(key));
  playgroundKey.set(key);
}

export function forgetPlaygroundKey(): void {
  sessionStorage.removeItem(STORAGE);
  playgroundKey.set(null);
}

export const looksLikeKey = (s: string) => /^tg_(live|test)_[A-Za-z0-9]{20,}$/.test(s.trim());
