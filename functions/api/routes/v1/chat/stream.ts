import type { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { chatAdapterOf, modelCallFailed, modelTimeoutMs, type Target } from '#api/gateway/inference';
import { release, reserve, settleRecorded, usageEvent, type WorstCase } from '#api/gateway/limits';
import type { DataEnv } from '#api/http/env';
import { ApiError } from '#shared/errors';
import { formatUsd } from '#shared/metering/pricing';
import { ModelStreamFailure } from '#shared/models/model-client';
import { type ChunkBase, choiceChunk, SSE_DONE, sseError, sseEvent, usageChunk } from './chunks';
import { type ChatRequestBody, ModelStreamLine, toModelRequest } from './schema';
import { StreamRecord } from './stream-record';

type Line = z.infer<typeof ModelStreamLine>;

const RETRY = { 'retry-after': '1', 'x-should-retry': 'true' };

/** The model's next stream line, checked; undefined at the end. Throws `ModelStreamFailure`. */
async function readLine(lines: AsyncIterator<unknown>): Promise<Line | undefined> {
  const next = await lines.next();
  if (next.done) return undefined;
  const line = ModelStreamLine.safeParse(next.value);
  if (!line.success) throw new ModelStreamFailure('model_error', 'unexpected stream line');
  return line.data;
}

function asFailure(err: unknown): ModelStreamFailure {
  return err instanceof ModelStreamFailure
    ? err
    : new ModelStreamFailure('model_error', String(err), { cause: err });
}

/**
 * `stream: true`: opens the model's response stream and reads its first line first, so a
 * rejected request, a model that fails at once or a usage record that cannot be written is still
 * a plain JSON error with its status; then relays the parts as SSE chunks.
 *
 * Billing: the stream's usage record is written `open` once the first line says the exact input,
 * allowing one step of output (`STREAM_ALLOWANCE_STEP`), before any content is sent, and grown a
 * step before the tokens past its allowance are sent: a stream never sends what its record does not
 * cover. It is closed at the model's last reported usage when the stream ends or the client leaves
 * (the model is stopped then), and voided when the model fails mid-stream (not billed). If the store
 * fails a write, the stream stops with an `event: error` and the record stays open at its
 * allowance: the sweeper closes it there, at most one step beyond what was sent.
 */
export async function streamCompletion(
  c: Context<DataEnv>,
  body: ChatRequestBody,
  target: Target,
  maxTokens: number,
  worst: WorstCase,
): Promise<Response> {
  const deps = c.get('deps');
  const log = c.get('log');
  const stopModel = new AbortController();
  const timeoutMs = modelTimeoutMs(c, target);
  const adapter = chatAdapterOf(c, target);
  const admission = await reserve(c, target, worst);
  const started = performance.now();
  const opened = await deps.models.invokeStream({
    endpointName: target.version.endpointName,
    variant: target.version.variant,
    body: adapter.request(toModelRequest(body, maxTokens, target.version.limits.maxInputTokens), true),
    timeoutMs,
    requestId: c.get('requestId'),
    signal: stopModel.signal,
  });
  if (!opened.ok) {
    await release(c, admission);
    throw modelCallFailed(c, target, opened, timeoutMs, 'messages');
  }
  // The container's stream as lines of the model server's contract (shared/models/chat-contract.ts).
  const lines = adapter.lines(opened.stream, worst.units.input_tokens ?? 0)[Symbol.asyncIterator]();

  // The first line carries the exact input (and the first output): the record opens on it.
  let first: Line | undefined;
  try {
    first = await readLine(lines);
    if (!first) throw new ModelStreamFailure('model_error', 'the model streamed nothing');
  } catch (err) {
    stopModel.abort();
    await release(c, admission);
    const failure = asFailure(err);
    // `rejected`: the model refused the request inside its stream, before any token (TGI's
    // validation of a prompt that is too long): the caller's 400, as unstreamed.
    const reason =
      failure.reason === 'timeout' || failure.reason === 'rejected' ? failure.reason : 'model_error';
    throw modelCallFailed(c, target, { reason, detail: failure.message }, timeoutMs, 'messages');
  }
  const leaseId = deps.admission.recordLeaseId(admission);
  const record = new StreamRecord(
    deps.usage,
    usageEvent(c, target, {}, 0, { status: 'open', ...(leaseId ? { leaseId } : {}) }),
    {
      prices: target.version.prices,
      maxTokens,
      ttlMs: timeoutMs + deps.config.RESERVATION_GRACE_MS,
      now: deps.now,
    },
  );
  try {
    await record.open(first.usage);
  } catch (err) {
    stopModel.abort();
    // A put that failed may still have landed (its answer lost): voided, so nothing is billed.
    await record.void().catch(() => {});
    await release(c, admission);
    throw new ApiError(
      'store_unavailable',
      'Usage could not be recorded, so the stream was not started; you were not billed. Try again.',
      { cause: err, headers: RETRY },
    );
  }

  const base: ChunkBase = {
    id: c.get('requestId'),
    created: Math.floor(deps.now().getTime() / 1000),
    model: target.served,
  };
  const includeUsage = body.stream_options?.include_usage === true;

  return streamSSE(c, async (sse) => {
    let clientLeft = false;
    const leave = () => {
      clientLeft = true;
      stopModel.abort();
    };
    sse.onAbort(leave);
    if (sse.aborted) leave();
    const send = (data: unknown) => sse.write(sseEvent(JSON.stringify(data)));
    const fail = async (error: ApiError) => {
      c.set('streamFailure', error);
      if (!clientLeft) await sse.write(sseError(error.toEnvelope(c.get('requestId'))));
    };
    let usage = first.usage;
    let finish: 'stop' | 'length' | null = null;
    let failure: ModelStreamFailure | null = null;
    /** A write of the record that failed: nothing more may be sent. */
    let cutOff: unknown = null;
    try {
      await send(choiceChunk(base, { role: 'assistant', content: '' }));
      for (let line: Line | undefined = first; line; line = await readLine(lines)) {
        usage = line.usage;
        if (!('delta' in line)) {
          finish = line.finish_reason;
          continue;
        }
        if (line.delta === '' || clientLeft) continue;
        // Covered by the record before it is sent.
        cutOff = await record.cover(usage.output_tokens).then(
          () => null,
          (err: unknown) => err ?? new Error('the usage record could not be written'),
        );
        if (cutOff) break;
        await send(choiceChunk(base, { content: line.delta }));
      }
    } catch (err) {
      failure = asFailure(err);
    }
    const latencyMs = performance.now() - started;

    if (cutOff) {
      // Stop the model; the record stays open at its allowance (at least what was sent) and the
      // sweeper closes it there. The admission counts that allowance.
      stopModel.abort();
      void lines.return?.(undefined).catch(() => {});
      log.error(
        { err: cutOff, model: target.served },
        'usage of a stream could not be recorded: stream stopped',
      );
      await settleRecorded(c, target, admission, record.allowanceUnits, latencyMs);
      return fail(
        new ApiError(
          'store_unavailable',
          `Usage could not be recorded, so the stream was stopped. The tokens sent are billed: at most ${record.allowance} output tokens, the usage recorded before they were sent. Retry for the rest.`,
          { cause: cutOff, headers: RETRY },
        ),
      );
    }
    if (clientLeft) {
      // The client left: bill what the model had generated by then; nobody reads an answer. If
      // the close fails, the record stays open and the sweeper closes it at its allowance.
      log.info({ model: target.served, ...usage }, 'stream abandoned by the client');
      const closed = await record.close(usage, latencyMs).catch((err: unknown) => {
        log.error({ err, model: target.served }, 'usage of an abandoned stream could not be closed');
        return false;
      });
      await settleRecorded(c, target, admission, closed ? usage : record.allowanceUnits, latencyMs);
      return;
    }
    if (failure || finish === null) {
      const reason = failure?.reason === 'timeout' ? 'timeout' : 'model_error';
      log.warn(
        { model: target.served, reason, detail: failure?.message ?? 'no finish line' },
        'model stream failed',
      );
      const error = modelCallFailed(c, target, { reason, detail: failure?.message ?? '' }, timeoutMs);
      const voided = await record.void().catch((err: unknown) => {
        log.error({ err, model: target.served }, 'usage of a failed stream could not be voided');
        return false;
      });
      if (voided) {
        await release(c, admission);
        return fail(error);
      }
      // Still open (the store failed) or closed by the sweeper: billed at its allowance.
      await settleRecorded(c, target, admission, record.allowanceUnits, latencyMs);
      return fail(
        new ApiError(
          error.code,
          `${error.message.replace(/ ?You were not billed[^.]*\./, '')} Its usage record could not be voided: at most ${record.allowance} output tokens, the usage recorded before they were sent, may be billed.`,
          { cause: error },
        ),
      );
    }
    const closed = await record.close(usage, latencyMs).then(
      (ok) => (ok ? null : new Error('the usage record was closed before the stream ended')),
      (err: unknown) => err ?? new Error('the usage record could not be closed'),
    );
    if (closed) {
      log.error({ err: closed, model: target.served }, 'usage of a stream could not be closed');
      await settleRecorded(c, target, admission, record.allowanceUnits, latencyMs);
      return fail(
        new ApiError(
          'store_unavailable',
          `The answer was sent, but its usage could not be recorded as final: it is billed at most ${record.allowance} output tokens, the usage recorded before they were sent.`,
          { cause: closed },
        ),
      );
    }
    const cost = await settleRecorded(c, target, admission, usage, latencyMs);
    await send(choiceChunk(base, {}, finish));
    if (includeUsage) {
      await send(
        usageChunk(base, {
          prompt_tokens: usage.input_tokens,
          completion_tokens: usage.output_tokens,
          total_tokens: usage.input_tokens + usage.output_tokens,
          cost_usd: formatUsd(cost),
        }),
      );
    }
    await sse.write(SSE_DONE);
  });
}
