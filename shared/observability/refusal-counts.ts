/**
 * Refused and failed /v1 calls of a known key (any 4xx or 5xx answered after the key was
 * authenticated), counted per minute x tenant x key x reason (the error code): the request log's
 * view of calls that have no usage record. Counted in memory per instance and written in the
 * background, never once per refusal: a refusal stays as cheap as the hot path made it.
 */

/** One (tenant, key, reason, minute) bucket's count since the last write (or as read back). */
export interface RefusalDelta {
  tenantId: string;
  keyId: string;
  /** The key's project (`proj_default` for a key of the default project). */
  projectId: string;
  /** The error code answered (`rate_limit_exceeded`, `model_scope_denied`, ...). */
  reason: string;
  /** The HTTP status answered with it. */
  status: number;
  /** UTC minute, `YYYY-MM-DDTHH:MM`. */
  minute: string;
  count: number;
}

/** Where counts go: one commutative `ADD` per bucket. */
export interface RefusalSink {
  /** Writes each delta; answers those that were not written (with the first error), to retry. */
  add(deltas: RefusalDelta[]): Promise<{ unwritten: RefusalDelta[]; error?: unknown }>;
}

export interface RefusalCounterStats {
  /** Store writes started (first-of-bucket writes and flushes' items), since this counter was made. */
  writes: number;
  /** Refusals recorded. */
  recorded: number;
}

function bucketId(d: Pick<RefusalDelta, 'tenantId' | 'keyId' | 'reason' | 'minute'>): string {
  return `${d.minute}#${d.tenantId}#${d.keyId}#${d.reason}`;
}

/**
 * Per-instance refusal counts, kept in memory and written in the background (the pattern of
 * model-health.ts), so the request path pays a Map update and never a store round trip.
 *
 * - The first refusal of a bucket this instance sees is written at once, in the background (the
 *   answer does not wait for it): the request log shows a refusal within the store's round trip,
 *   not a flush interval later.
 * - Later refusals of the bucket are added up and written by the next flush: at most one write
 *   per bucket per `flushMs` per instance, however many refusals.
 * - Every write is an `ADD` to the bucket's item: any number of instances count into the same
 *   items, in any order. A failed write puts its counts back for the next flush.
 *
 * What can be lost: what an instance counted since its last flush when it dies without a clean
 * stop (operational counts, never billing). A write whose answer is lost after the store applied
 * it may count twice. Correctness needs no timer: `record` starts a flush when one is due (in
 * Lambda, where timers do not run between invocations, this is what flushes).
 */
export class RefusalCounter {
  private pending = new Map<string, RefusalDelta>();
  /** Buckets of the current minute this instance has already written a first refusal of. */
  private seen = new Set<string>();
  private seenMinute = '';
  private lastFlush: number;
  private flushing: Promise<void> | undefined;
  private firstWrites = new Set<Promise<void>>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private minuteCache = { from: Number.NEGATIVE_INFINITY, text: '' };
  readonly stats: RefusalCounterStats = { writes: 0, recorded: 0 };

  constructor(
    private readonly sink: RefusalSink,
    private readonly opts: {
      /** How often pending counts are written; 0 writes only when `flush()` is called. */
      flushMs: number;
      now: () => Date;
      onError: (err: unknown) => void;
    },
  ) {
    this.lastFlush = opts.now().getTime();
  }

  /** Notes one refused or failed call of a known key. Never waits for the store. */
  record(r: { tenantId: string; keyId: string; projectId: string; reason: string; status: number }): void {
    const now = this.opts.now().getTime();
    const minute = this.minuteOf(now);
    this.stats.recorded += 1;
    if (minute !== this.seenMinute) {
      // A new minute: its buckets are new. (The old minute's pending counts stay for the flush.)
      if (minute > this.seenMinute) {
        this.seen = new Set();
        this.seenMinute = minute;
      }
    }
    const delta: RefusalDelta = { ...r, minute, count: 1 };
    const id = bucketId(delta);
    if (minute === this.seenMinute && !this.seen.has(id)) {
      this.seen.add(id);
      this.writeFirst(delta);
    } else {
      const d = this.pending.get(id);
      if (d) {
        d.count += 1;
        d.status = r.status;
      } else this.pending.set(id, delta);
    }
    if (this.opts.flushMs > 0 && now - this.lastFlush >= this.opts.flushMs) this.flushInBackground();
  }

  /** Writes what is pending (after first-of-bucket writes and any flush under way). */
  async flush(): Promise<void> {
    await Promise.all([...this.firstWrites]);
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

  private writeFirst(delta: RefusalDelta): void {
    this.stats.writes += 1;
    const write = this.sink
      .add([delta])
      .then(({ unwritten, error }) => {
        if (unwritten.length) this.putBack(unwritten, error);
      })
      .catch((err) => this.putBack([delta], err))
      .finally(() => {
        this.firstWrites.delete(write);
      });
    this.firstWrites.add(write);
  }

  /** The UTC minute of `ms`, formatted once per minute rather than once per refusal. */
  private minuteOf(ms: number): string {
    if (ms < this.minuteCache.from || ms >= this.minuteCache.from + 60_000) {
      const from = ms - (ms % 60_000);
      this.minuteCache = { from, text: new Date(from).toISOString().slice(0, 16) };
    }
    return this.minuteCache.text;
  }

  private flushInBackground(): void {
    if (this.flushing) return;
    this.flush().catch(() => {}); // writePending reports its own errors
  }

  private async writePending(): Promise<void> {
    const batch = [...this.pending.values()];
    this.pending = new Map();
    this.lastFlush = this.opts.now().getTime();
    this.stats.writes += batch.length;
    let unwritten: RefusalDelta[];
    let error: unknown;
    try {
      ({ unwritten, error } = await this.sink.add(batch));
    } catch (err) {
      [unwritten, error] = [batch, err];
    }
    if (unwritten.length) this.putBack(unwritten, error);
  }

  /** Sums: putting counts back is the same as never having taken them. */
  private putBack(deltas: RefusalDelta[], error: unknown): void {
    for (const d of deltas) {
      const id = bucketId(d);
      const now = this.pending.get(id);
      if (now) now.count += d.count;
      else this.pending.set(id, { ...d });
    }
    this.opts.onError(error);
  }
}
