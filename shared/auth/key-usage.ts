import type { ApiKeyStore } from './api-key-store';

/** How fresh "last used" is: one write per key per minute at most, whatever the traffic. */
export const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Records when keys were last used without a write per request: each instance writes a key's
 * `lastUsedAt` at most once per resolution window (remembered in memory), the store's condition
 * stops a second instance in the same window, and the write never delays the answer.
 */
export class KeyUsageTracker {
  private readonly written = new Map<string, number>();
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly store: ApiKeyStore,
    private readonly opts: {
      now: () => Date;
      onError: (err: unknown) => void;
      resolutionMs?: number;
      maxKeys?: number;
    },
  ) {}

  /** Notes a use; returns at once (the write, if any, runs in the background). */
  touch(tenantId: string, keyId: string): void {
    const now = this.opts.now();
    const resolution = this.opts.resolutionMs ?? LAST_USED_RESOLUTION_MS;
    const last = this.written.get(keyId);
    if (last !== undefined && now.getTime() - last < resolution) return;
    this.written.delete(keyId);
    if (this.written.size >= (this.opts.maxKeys ?? 10_000)) {
      const oldest = this.written.keys().next().value;
      if (oldest !== undefined) this.written.delete(oldest);
    }
    this.written.set(keyId, now.getTime());
    const write = this.store
      .touchLastUsed(tenantId, keyId, now, resolution)
      .catch((err) => {
        // Forget the mark so the next use tries again.
        this.written.delete(keyId);
        this.opts.onError(err);
      })
      .finally(() => this.pending.delete(write));
    this.pending.add(write);
  }

  /** Waits for background writes (tests, and shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}
