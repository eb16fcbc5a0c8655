import { createBatchLineApp, type LineAnswer, type LineApp, runLine } from '#api/gateway/batch-lines';
import type { DataPlaneDeps } from '#api/http/env';
import type { AuthResult } from '#shared/auth/authenticator';
import type { BatchDeps } from '#shared/batch/batch-deps';
import type { StoredLine } from '#shared/batch/batch-store';
import { lineRequestId, outputFileId } from '#shared/batch/ids';
import { parseInputFile, type RequestLine } from '#shared/batch/jsonl';
import type { Batch, BatchFile, BatchStop, WorkMessage } from '#shared/batch/types';
import { chunkMessages } from '#shared/batch/work-queue';

/** What the worker runs with: the data plane's deps (routes, gateway, metering) and batch's own. */
export interface BatchWorkerDeps {
  data: DataPlaneDeps;
  batch: BatchDeps;
}

export interface BatchWorker {
  /**
   * Works one queue message. Throws when it should be delivered again (the lines done stay done):
   * a line kept failing with a server error. When `deadline` (epoch ms: the invocation's end) comes
   * too near to start another line, the rest of the chunk is queued again as a new message.
   */
  handle(message: WorkMessage, receives?: number, deadline?: number): Promise<void>;
  /** Finalizes what is due (expired, cancelled, finished, stuck) and re-enqueues what was never queued. */
  sweep(): Promise<{ finalized: number; requeued: number }>;
  /** Finalizes a batch if it is due; true if this call did. */
  finalize(tenantId: string, batchId: string): Promise<boolean>;
}

/** Refusals that stop a batch: every line left is failed with the same code, not run. */
const STOP_CODES = new Set([
  'spend_cap_reached',
  'insufficient_balance',
  'quota_exceeded',
  'invalid_api_key',
  'tenant_inactive',
]);
/** Bodies larger than this are kept in object storage, not in the line's item (400 KB at most). */
const MAX_INLINE_BODY = 300_000;
/** How stale a view of the batch's state a worker acts on: cancellation bites within this. */
const STATE_TTL_MS = 1_000;
/** A finalization not done in this long was left by a worker that died: another takes it over. */
const FINALIZE_STALE_S = 600;
/** Deliveries of a chunk after which a line failing with a server error is failed, not retried. */
const REDELIVERIES_BEFORE_FAILING = 3;

const sec = (d: Date) => Math.floor(d.getTime() / 1000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function errorOf(body: unknown): { code: string; message: string } | undefined {
  const e = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (!e || typeof e.code !== 'string') return undefined;
  return { code: e.code, message: typeof e.message === 'string' ? e.message : e.code };
}

function authStop(r: Exclude<AuthResult, { ok: true }>): BatchStop {
  if (r.reason === 'tenant_inactive')
    return {
      code: 'tenant_inactive',
      message: 'The account is not active, so the remaining lines were not run.',
    };
  return {
    code: 'invalid_api_key',
    message: `The batch's API key is ${r.reason === 'unknown' ? 'gone' : r.reason}, so the remaining lines were not run.`,
  };
}

export function createBatchWorker(deps: BatchWorkerDeps): BatchWorker {
  const { data, batch: b } = deps;
  const app: LineApp = createBatchLineApp(data);
  const log = data.log.child({ job: 'batch' });
  const cfg = data.config;

  async function inputLines(batch: Batch): Promise<RequestLine[]> {
    const file = await b.store.getFile(batch.tenantId, batch.inputFileId);
    if (!file) throw new Error(`batch ${batch.id}: its input file ${batch.inputFileId} is gone`);
    const bytes = await b.storage.get(file.storageKey);
    if (!bytes) throw new Error(`batch ${batch.id}: the input file's content is missing`);
    return parseInputFile(bytes, { maxLines: Number.MAX_SAFE_INTEGER });
  }

  /**
   * The chunk's lines, `from` to `to`: only their bytes when the message says where they are (one
   * ranged read), else from the whole file. A range that does not hold exactly the chunk's lines
   * (it never should: files do not change) falls back to the whole file.
   */
  async function chunkLines(
    batch: Batch,
    m: Extract<WorkMessage, { kind: 'chunk' }>,
    from: number,
    to: number,
  ): Promise<RequestLine[]> {
    if (m.bytes) {
      const file = await b.store.getFile(batch.tenantId, batch.inputFileId);
      if (!file) throw new Error(`batch ${batch.id}: its input file ${batch.inputFileId} is gone`);
      const bytes = await b.storage.getRange(file.storageKey, m.bytes.start, m.bytes.end);
      const lines = bytes
        ? (() => {
            try {
              return parseInputFile(bytes, { maxLines: Number.MAX_SAFE_INTEGER, firstIndex: from });
            } catch {
              return undefined;
            }
          })()
        : undefined;
      if (lines?.length === to - from) return lines;
      log.warn(
        { batchId: batch.id, chunk: m.chunk },
        "a chunk's byte range did not hold its lines; reading the file",
      );
    }
    return (await inputLines(batch)).slice(from, to);
  }

  /** The batch's state, read at most once a second per chunk. */
  function stateReader(tenantId: string, batchId: string) {
    let read: { at: number; batch: Promise<Batch | undefined> } | undefined;
    return () => {
      const now = Date.now();
      if (!read || now - read.at > STATE_TTL_MS)
        read = { at: now, batch: b.store.getBatch(tenantId, batchId) };
      return read.batch;
    };
  }

  async function stored(batch: Batch, line: RequestLine, answer: LineAnswer | null, error: BatchStop | null) {
    const requestId = lineRequestId(batch.id, line.index);
    let response: StoredLine['response'] = null;
    if (answer) {
      const text = JSON.stringify(answer.body);
      if (text.length > MAX_INLINE_BODY) {
        const key = `batches/${batch.id}/lines/${line.index}.json`;
        await b.storage.put(key, text, 'application/json');
        response = { statusCode: answer.statusCode, body: null, bodyKey: key };
      } else {
        response = { statusCode: answer.statusCode, body: text, bodyKey: null };
      }
    }
    const ok = answer !== null && answer.statusCode >= 200 && answer.statusCode < 300;
    return {
      line: line.index,
      customId: line.customId,
      requestId,
      outcome: ok ? 'completed' : 'failed',
      response,
      error: error ? { code: error.code, message: error.message } : null,
      served: answer?.served ?? null,
      at: sec(data.now()),
    } satisfies StoredLine;
  }

  async function runWithRetries(
    line: RequestLine,
    call: Parameters<typeof runLine>[2],
    lastDelivery: boolean,
  ) {
    for (let attempt = 1; ; attempt++) {
      const answer = await runLine(app, line, call);
      const code = errorOf(answer.body)?.code;
      const retryable =
        answer.statusCode >= 500 || (answer.statusCode === 429 && !STOP_CODES.has(code ?? ''));
      if (!retryable) return answer;
      if (attempt < 3) {
        await sleep(250 * 2 ** attempt);
        continue;
      }
      // Still failing: let the queue deliver the chunk again later, unless it has been tried enough.
      if (!lastDelivery)
        throw new Error(`line ${line.index}: ${answer.statusCode} ${code ?? ''} after ${attempt} tries`);
      return answer;
    }
  }

  async function processChunk(
    m: Extract<WorkMessage, { kind: 'chunk' }>,
    receives: number,
    deadline: number,
  ): Promise<void> {
    const batch = await b.store.getBatch(m.tenantId, m.batchId);
    if (!batch || (batch.status !== 'in_progress' && batch.status !== 'cancelling')) return;
    if (batch.status === 'cancelling' || sec(data.now()) >= batch.expiresAt) {
      await finalize(m.tenantId, m.batchId);
      return;
    }
    const from = m.chunk * batch.chunkLines;
    const to = Math.min(batch.lines, from + batch.chunkLines);
    const mine = await chunkLines(batch, m, from, to);
    const done = new Set((await b.store.lines(batch.id, from, to)).map((l) => l.line));
    const todo = mine.filter((l) => !done.has(l.index));
    const auth =
      todo.length > 0 ? await data.authenticator.authenticateKeyId(batch.tenantId, batch.keyId) : undefined;
    const state = stateReader(batch.tenantId, batch.id);
    let halted = false;
    let outOfTime = false;
    let next = 0;
    // A line started must be able to end (its model call and retries) before the invocation does.
    const lineBudgetMs = 3 * cfg.MODEL_TIMEOUT_MS;
    const lane = async () => {
      while (!halted && next < todo.length) {
        if (Date.now() + lineBudgetMs > deadline) {
          outOfTime = true;
          return;
        }
        const line = todo[next++]!;
        const now = await state();
        if (now?.status !== 'in_progress' || sec(data.now()) >= now.expiresAt) {
          halted = true;
          return;
        }
        let result: StoredLine;
        let stop = now.stopped;
        if (!stop && auth && !auth.ok) {
          stop = authStop(auth);
          await b.store.stop(batch.tenantId, batch.id, stop);
        }
        if (stop || !auth?.ok) {
          result = await stored(batch, line, null, stop ?? { code: 'internal_error', message: 'not run' });
        } else {
          const answer = await runWithRetries(
            line,
            { principal: auth.principal, requestId: lineRequestId(batch.id, line.index) },
            receives >= REDELIVERIES_BEFORE_FAILING,
          );
          const err = errorOf(answer.body);
          if (answer.statusCode === 429 && err && STOP_CODES.has(err.code)) {
            await b.store.stop(batch.tenantId, batch.id, err);
          }
          result = await stored(batch, line, answer, null);
        }
        const written = await b.store.writeLine(batch.tenantId, batch.id, m.chunk, result);
        if (written === 'closed' && result.outcome === 'completed') {
          // Finalized meanwhile (cancelled or expired): this answer is in no file, so it is not billed.
          await data.usage.void(batch.tenantId, result.requestId);
          halted = true;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(cfg.BATCH_WORKER_CONCURRENCY, todo.length || 1) }, lane));
    if (outOfTime && !halted) {
      // Handed to the queue again as a new message (so it does not count towards the dead-letter
      // receives): the next worker skips the lines done.
      await b.queue.send([m]);
      return;
    }
    if (halted) {
      await finalize(m.tenantId, m.batchId);
      return;
    }
    const finished = await b.store.finishChunk(batch.tenantId, batch.id, m.chunk);
    if (finished !== undefined && finished >= batch.chunks) await finalize(batch.tenantId, batch.id);
  }

  async function bodyOf(line: StoredLine): Promise<unknown> {
    if (!line.response) return null;
    const text =
      line.response.body ??
      (line.response.bodyKey ? new TextDecoder().decode(await b.storage.get(line.response.bodyKey)) : 'null');
    return JSON.parse(text);
  }

  async function finalize(tenantId: string, batchId: string): Promise<boolean> {
    const batch = await b.store.getBatch(tenantId, batchId);
    if (!batch) return false;
    const now = sec(data.now());
    const expired = now >= batch.expiresAt;
    let from = batch.status;
    if (from === 'finalizing') {
      if (batch.finalizingAt !== null && batch.finalizingAt >= now - FINALIZE_STALE_S) return false;
      from = (await b.store.finalizingFrom(tenantId, batchId)) ?? 'in_progress';
    } else if (from === 'in_progress') {
      if (!expired && batch.chunksFinished < batch.chunks) return false;
    } else if (from !== 'cancelling') {
      return false;
    }
    if (!(await b.store.beginFinalize(tenantId, batchId, now, now - FINALIZE_STALE_S))) return false;
    const status =
      from === 'cancelling' ? 'cancelled' : batch.chunksFinished >= batch.chunks ? 'completed' : 'expired';
    const results = await b.store.lines(batchId);
    const answered = new Set(results.map((r) => r.line));
    const missing: RequestLine[] = [];
    if (answered.size < batch.lines) {
      for (const line of await inputLines(batch)) if (!answered.has(line.index)) missing.push(line);
      // A line whose answer was never written may have been billed by an attempt that died
      // between its usage record and its result: it is in no file, so it is not billed.
      for (const line of missing) await data.usage.void(tenantId, lineRequestId(batchId, line.index));
    }
    const record = async (r: StoredLine) =>
      JSON.stringify({
        id: `batch_req_${r.requestId.slice(4)}`,
        custom_id: r.customId,
        response: r.response
          ? { status_code: r.response.statusCode, request_id: r.requestId, body: await bodyOf(r) }
          : null,
        error: r.error,
      });
    const out: string[] = [];
    const errors: string[] = [];
    for (const r of results) (r.outcome === 'completed' ? out : errors).push(await record(r));
    if (status === 'expired') {
      for (const line of missing)
        errors.push(
          JSON.stringify({
            id: `batch_req_${lineRequestId(batchId, line.index).slice(4)}`,
            custom_id: line.customId,
            response: null,
            error: {
              code: 'batch_expired',
              message: 'This line was not run within the 24 h completion window; it was not billed.',
            },
          }),
        );
    }
    const files: BatchFile[] = [];
    const write = async (kind: 'output' | 'error', lines: string[]) => {
      if (lines.length === 0) return null;
      const id = outputFileId(batchId, kind);
      const key = `files/${tenantId}/${id}`;
      const text = `${lines.join('\n')}\n`;
      await b.storage.put(key, text, 'application/jsonl');
      files.push({
        id,
        tenantId,
        purpose: 'batch_output',
        filename: `${batchId}_${kind}.jsonl`,
        bytes: Buffer.byteLength(text),
        createdAt: now,
        lines: lines.length,
        storageKey: key,
        batchId,
      });
      return id;
    };
    const outputId = await write('output', out);
    const errorId = await write('error', errors);
    const completed = out.length;
    const ok = await b.store.complete(batch, {
      status,
      at: now,
      counts: { total: batch.lines, completed, failed: errors.length },
      outputFileId: outputId,
      errorFileId: errorId,
      files,
    });
    if (ok) log.info({ batchId, tenantId, status, completed, failed: errors.length }, 'batch finalized');
    return ok;
  }

  return {
    async handle(message, receives = 1, deadline = Number.POSITIVE_INFINITY) {
      if (message.kind === 'finalize') {
        await finalize(message.tenantId, message.batchId);
        return;
      }
      await processChunk(message, receives, deadline);
    },
    async sweep() {
      let finalized = 0;
      let requeued = 0;
      const now = sec(data.now());
      for (const batch of await b.store.activeBatches()) {
        try {
          if (batch.status === 'in_progress' && !batch.enqueued && batch.createdAt < now - 60) {
            await b.queue.send(chunkMessages(batch));
            await b.store.markEnqueued(batch.tenantId, batch.id);
            requeued++;
          }
          const due =
            batch.status === 'cancelling' ||
            batch.status === 'finalizing' ||
            (batch.status === 'in_progress' &&
              (now >= batch.expiresAt || batch.chunksFinished >= batch.chunks));
          if (due && (await finalize(batch.tenantId, batch.id))) finalized++;
        } catch (err) {
          log.error({ err, batchId: batch.id }, 'batch sweep failed for a batch; the next sweep retries');
        }
      }
      return { finalized, requeued };
    },
    finalize,
  };
}
