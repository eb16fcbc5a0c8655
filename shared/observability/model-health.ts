import { type Histogram, mergeInto, observe } from './latency-histogram';

/**
 * How a /v1 answer counts for its model version's health:
 * - `succeeded`: 2xx (its latency goes into the histogram);
 * - `refused`: the platform said no to a caller it knows, by a limit or the account's state: 429
 *   (rate, concurrency, quota, spend cap) and 403 (suspended tenant, missing scope);
 * - `failed`: the platform or the model failed: every 5xx (model_error, model_timeout,
 *   model_unavailable, store_unavailable, ...);
 * - `client_error`: any other 4xx (bad input, unknown model, a prompt the model refuses): the
 *   caller's mistake, counted apart so it does not read as an outage or a refusal.
 */
export type Outcome = 'succeeded' | 'refused' | 'failed' | 'client_error';

export function outcomeOf(status: number): Outcome | null {
  if (status >= 200 && status < 300) return 'succeeded';
  if (status === 429 || status === 403) return 'refused';
  if (status >= 500) return 'failed';
  if (status >= 400) return 'client_error';
  return null;
}

/** At least this many failures, and at least this share of answers failed, before a version is flagged. */
export const FAILING = { minFailed: 3, rate: 0.5 } as const;

/**
 * 503s a version answers by design, not by fault: `model_cold`, a version idling at zero copies
 * that the call wakes. Counted as failures (the caller got no answer) but never what flags a
 * version as failing: a preview version's first calls after idle would flag it every morning.
 */
export const EXPECTED_FAILURES: ReadonlySet<string> = new Set(['model_cold']);

/**
 * Why a version needs an operator, or null: most of its answers were the platform's or the
 * model's failures (5xx), e.g. a version that is not installed answering `model_not_installed` to
 * every call. Refusals (limits), client errors and cold starts never flag one.
 */
export function failingAlert(c: Pick<HealthCounts, 'requests' | 'failed' | 'failedByCode'>): string | null {
  let expected = 0;
  for (const code of EXPECTED_FAILURES) expected += c.failedByCode.get(code) ?? 0;
  const failed = c.failed - expected;
  if (failed < FAILING.minFailed || failed < c.requests * FAILING.rate) return null;
  const pct = Math.round((failed / c.requests) * 100);
  const codes = [...c.failedByCode]
    .filter(([code]) => !EXPECTED_FAILURES.has(code))
    .sort(([, a], [, b]) => b - a)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  return `${failed} of ${c.requests} answers failed (${pct}%)${codes ? `: ${codes}` : ''}`;
}

/** One day's counts of one model version, as recorded since the last flush (or as read back). */
export interface HealthCounts {
  requests: number;
  succeeded: number;
  refused: number;
  failed: number;
  clientErrors: number;
  refusedByCode: Map<string, number>;
  failedByCode: Map<string, number>;
  /** Latencies of succeeded requests, to the last byte of a stream. */
  latency: Histogram;
}

export interface HealthDelta extends HealthCounts {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  modelVersion: string;
}

export function emptyCounts(): HealthCounts {
  return {
    requests: 0,
    succeeded: 0,
    refused: 0,
    failed: 0,
    clientErrors: 0,
    refusedByCode: new Map(),
    failedByCode: new Map(),
    latency: new Map(),
  };
}

function addCodes(into: Map<string, number>, from: Map<string, number>): void {
  for (const [code, n] of from) into.set(code, (into.get(code) ?? 0) + n);
}

/** Adds `from` into `into`: every counter and bucket is a sum, so order never matters. */
export function mergeCounts(into: HealthCounts, from: HealthCounts): void {
  into.requests += from.requests;
  into.succeeded += from.succeeded;
  into.refused += from.refused;
  into.failed += from.failed;
  into.clientErrors += from.clientErrors;
  addCodes(into.refusedByCode, from.refusedByCode);
  addCodes(into.failedByCode, from.failedByCode);
  mergeInto(into.latency, from.latency);
}

/** Where flushed deltas go: one commutative `ADD` per (day, model version) item. */
export interface HealthSink {
  /** Writes each delta; answers those that were not written (with the first error), to retry. */
  add(deltas: HealthDelta[]): Promise<{ unwritten: HealthDelta[]; error?: unknown }>;
}

/**
 * Per-instance model-version health, kept in memory and flushed in the background, so the request
 * path pays a Map update and never a store round trip. A flush writes one `ADD` per (day, model
 * version) touched since the last one; counters and histogram buckets are sums, so any number of
 * instances flush into the same items. A failed flush puts its counts back for the next one.
 *
 * What can be lost: whatever an instance recorded since its last flush when it dies without a
 * clean stop (at most about one flush interval of operational stats; never billing, which is the
 * usage ledger's). A flush whose answer is lost after the store applied it may count twice.
 */
export class ModelHealthRecorder {
  private pending = new Map<string, HealthDelta>();
  private lastFlush: number;
  private flushing: Promise<void> | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private day = { from: Number.NEGATIVE_INFINITY, text: '' };

  constructor(
    private readonly sink: HealthSink,
    private readonly opts: {
      /** How often pending counts are written; 0 writes only when `flush()` is called. */
      flushMs: number;
      now: () => Date;
      onError: (err: unknown) => void;
    },
  ) {
    this.lastFlush = opts.now().getTime();
  }

  /**
   * Notes one answered request. `modelVersion` is `none` for one refused or failed before a model
   * version was resolved. Starts a background flush when one is due (in Lambda, where timers do
   * not run between invocations, this is what flushes); never waits for it.
   */
  record(r: { modelVersion: string; status: number; code?: string; latencyMs?: number }): void {
    const outcome = outcomeOf(r.status);
    if (outcome === null) return;
    const now = this.opts.now().getTime();
    const day = this.dayOf(now);
    const id = `${day}#${r.modelVersion}`;
    let d = this.pending.get(id);
    if (!d) {
      d = { day, modelVersion: r.modelVersion, ...emptyCounts() };
      this.pending.set(id, d);
    }
    d.requests += 1;
    if (outcome === 'succeeded') {
      d.succeeded += 1;
      if (r.latencyMs !== undefined) observe(d.latency, r.latencyMs);
    } else if (outcome === 'refused' || outcome === 'failed') {
      d[outcome] += 1;
      const byCode = outcome === 'refused' ? d.refusedByCode : d.failedByCode;
      const code = r.code ?? String(r.status);
      byCode.set(code, (byCode.get(code) ?? 0) + 1);
    } else {
      d.clientErrors += 1;
    }
    if (this.opts.flushMs > 0 && now - this.lastFlush >= this.opts.flushMs) {
      this.flushInBackground();
    }
  }

  /** Writes what is pending (after any flush under way); resolves when it is stored or put back. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.size === 0) return;
    this.flushing = this.writePending().finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
  }

  /** Flushes every `flushMs` until `close()` (the local server; a Lambda flushes from `record`). */
  start(): void {
    if (this.timer || this.opts.flushMs <= 0) return;
    this.timer = setInterval(() => this.flushInBackground(), this.opts.flushMs);
    this.timer.unref?.();
  }

  /** Stops the timer and writes what is pending: a clean stop loses nothing. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** The UTC day of `ms`, formatted once per day rather than once per request. */
  private dayOf(ms: number): string {
    if (ms < this.day.from || ms >= this.day.from + 86_400_000) {
      const from = ms - (ms % 86_400_000);
      this.day = { from, text: new Date(from).toISOString().slice(0, 10) };
    }
    return this.day.text;
  }

  private flushInBackground(): void {
    if (this.flushing) return;
    this.flush().catch(() => {}); // writePending reports its own errors
  }

  private async writePending(): Promise<void> {
    const batch = [...this.pending.values()];
    this.pending = new Map();
    this.lastFlush = this.opts.now().getTime();
    let unwritten: HealthDelta[];
    let error: unknown;
    try {
      ({ unwritten, error } = await this.sink.add(batch));
    } catch (err) {
      [unwritten, error] = [batch, err];
    }
    if (unwritten.length === 0) return;
    // Sums: putting them back is the same as having never taken them.
    for (const d of unwritten) {
      const id = `${d.day}#${d.modelVersion}`;
      const now = this.pending.get(id);
      if (now) mergeCounts(now, d);
      else this.pending.set(id, d);
    }
    this.opts.onError(error);
  }
}
