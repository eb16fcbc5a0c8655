import { costNanoUsd, type Units } from '#shared/metering/pricing';
import type { UsageEvent, UsageStore } from '#shared/metering/usage-store';

/**
 * Output tokens a stream's open usage record allows at a time: the record is written (or moved
 * on) before the tokens it covers are sent, one step ahead. 64 because it is about one store write
 * (a conditional UpdateItem, a few ms) per second of a streaming answer at typical speeds (20-100
 * tokens/s): answers of up to 64 tokens (or `max_tokens` <= 64) pay only their opening and closing
 * writes, a long one one write per 64 tokens. It is also the bound of what a stream cut off by a
 * crash or an outage can be billed beyond what it sent (the sweeper closes it at its allowance):
 * 64 output tokens, 9.6 micro-USD at chat@tiny-1's price.
 */
export const STREAM_ALLOWANCE_STEP = 64;

/** Why a stream had to stop: its usage record could not be moved on (the store failed, or the record was closed). */
export class StreamRecordFailure extends Error {
  override name = 'StreamRecordFailure';
}

/**
 * The `open` usage record of one stream, as its writer keeps it: written once the model's first
 * line says the exact input, with an output allowance of one step; grown by a step (before the
 * tokens past it are sent), closed at the actual use when the stream ends or the client leaves, or
 * voided when the model fails. Every move is conditional on the record still being open at the
 * allowance last written, so the sweeper's close (of a record whose writer is gone) and the
 * writer's cannot both land. A record whose writer lives is never expired: each write moves its
 * expiry on, and a stream slow enough to write nothing for half its time-to-live writes one to say
 * it lives.
 */
export class StreamRecord {
  private written: UsageEvent | undefined;
  private writtenAt = 0;
  /** A put whose outcome is unknown (it failed: it may have landed): voided on the way out. */
  private uncertain = false;

  constructor(
    private readonly usage: UsageStore,
    /** The record as it will be written: tenant, key, version, price book, lease; `units` are replaced. */
    private readonly base: UsageEvent,
    private readonly opts: {
      prices: Parameters<typeof costNanoUsd>[1];
      /** The most output the request may generate: no allowance goes beyond it. */
      maxTokens: number;
      /** How long an open record outlives its last write before the sweeper closes it. */
      ttlMs: number;
      now: () => Date;
      step?: number;
    },
  ) {}

  /** Output tokens the record allows now (0 before it is written). */
  get allowance(): number {
    return this.written?.units.output_tokens ?? 0;
  }

  /** What the record bills now: the allowance (what the sweeper would close it at). */
  get allowanceUnits(): Units {
    return this.written?.units ?? { input_tokens: 0, output_tokens: 0 };
  }

  /** Writes the open record, allowing the exact input and one step of output (or what is already generated). */
  async open(usage: { input_tokens: number; output_tokens: number }): Promise<void> {
    const units = { input_tokens: usage.input_tokens, output_tokens: this.allowanceFor(usage.output_tokens) };
    const event = this.at(units, 'open');
    this.uncertain = true;
    const out = await this.usage.record(event);
    this.uncertain = false;
    if (out === 'duplicate') throw new StreamRecordFailure('the request id is recorded already');
    this.written = event;
    this.writtenAt = this.opts.now().getTime();
  }

  /**
   * Makes the record allow `outputTokens` (grown by a step, or to what is needed, before they are
   * sent), or, unchanged but half-way to its expiry, says that its writer lives. Throws
   * `StreamRecordFailure` if it is not open any more (the sweeper closed it), and the store's
   * error if the write failed: either way nothing more may be sent.
   */
  async cover(outputTokens: number): Promise<void> {
    const current = this.written;
    if (!current) throw new StreamRecordFailure('the usage record was not written');
    const stale = this.opts.now().getTime() - this.writtenAt > this.opts.ttlMs / 2;
    if (outputTokens <= this.allowance && !stale) return;
    const units = {
      ...current.units,
      output_tokens: Math.max(this.allowance, this.allowanceFor(outputTokens)),
    };
    const next = this.at(units, 'open');
    if (!(await this.usage.advance(current, current, next)))
      throw new StreamRecordFailure('the usage record was closed while the stream ran');
    this.written = next;
    this.writtenAt = this.opts.now().getTime();
  }

  /** Closes the record at the actual use. False if it was not open any more; throws if the store failed. */
  async close(units: Units, latencyMs: number): Promise<boolean> {
    const current = this.written;
    if (!current) return false;
    const closed = { ...this.at(units, 'succeeded'), latencyMs };
    if (!(await this.usage.advance(current, current, closed))) return false;
    this.written = closed;
    return true;
  }

  /**
   * Voids the record (the model failed: not billed). True if nothing is billed for it (voided, or
   * never written); false if it was not open any more (closed by the sweeper); throws if the store failed.
   */
  async void(): Promise<boolean> {
    if (!this.written && !this.uncertain) return true;
    if (!(await this.usage.voidOpen(this.base.tenantId, this.base.requestId))) return !this.written;
    this.written = undefined;
    return true;
  }

  /** Output allowed for `generated` tokens: whole steps, at least one, never beyond `maxTokens` (unless already generated). */
  private allowanceFor(generated: number): number {
    const step = this.opts.step ?? STREAM_ALLOWANCE_STEP;
    const steps = Math.max(1, Math.ceil(generated / step));
    return Math.max(generated, Math.min(this.opts.maxTokens, steps * step));
  }

  private at(units: Units, status: UsageEvent['status']): UsageEvent {
    const now = this.opts.now();
    const { expiresAt: _e, ...base } = this.base;
    return {
      ...base,
      units,
      costNanoUsd: costNanoUsd(units, this.opts.prices),
      status,
      at: now.toISOString(),
      ...(status === 'open' ? { expiresAt: new Date(now.getTime() + this.opts.ttlMs).toISOString() } : {}),
    };
  }
}
