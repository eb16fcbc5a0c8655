import type { ModelVersionHealth } from './model-health-store';

/** A version's latency as model cards show it: succeeded requests over the last `days` UTC days. */
export interface TypicalLatency {
  p50: number | null;
  p90: number | null;
  /** Succeeded requests the percentiles are read from. */
  requests: number;
  days: number;
}

/** Days of model health a card's latency is read from (today included). */
export const TYPICAL_LATENCY_DAYS = 7;

const DAY_MS = 86_400_000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Typical latency per model version for the model cards (`/v1/models`, the console, the public
 * pricing page), from the model-health items the gateways write. It is decoration, not a
 * guarantee: read at most once per `ttlMs` per instance (one Query over a week of health items),
 * and a failed read shows no latency rather than failing the list.
 */
export class TypicalLatencyReader {
  private cached: { at: number; value: Promise<Map<string, TypicalLatency>> } | null = null;

  constructor(
    private readonly health: { range(from: string, to: string): Promise<ModelVersionHealth[]> },
    private readonly opts: { ttlMs?: number; now?: () => Date; onError?: (err: unknown) => void } = {},
  ) {}

  /** Every version with succeeded requests in the window, by `model@version`. */
  byVersion(): Promise<Map<string, TypicalLatency>> {
    const now = (this.opts.now?.() ?? new Date()).getTime();
    const ttl = this.opts.ttlMs ?? 60_000;
    if (this.cached && now - this.cached.at < ttl) return this.cached.value;
    const value = this.read(now);
    this.cached = { at: now, value };
    return value;
  }

  private async read(now: number): Promise<Map<string, TypicalLatency>> {
    try {
      const rows = await this.health.range(isoDay(now - (TYPICAL_LATENCY_DAYS - 1) * DAY_MS), isoDay(now));
      const out = new Map<string, TypicalLatency>();
      for (const row of rows) {
        if (row.succeeded === 0) continue;
        out.set(row.modelVersion, {
          p50: row.latencyMs.p50,
          p90: row.latencyMs.p90,
          requests: row.succeeded,
          days: TYPICAL_LATENCY_DAYS,
        });
      }
      return out;
    } catch (err) {
      this.opts.onError?.(err);
      // Not cached: the next list tries again.
      this.cached = null;
      return new Map();
    }
  }
}
