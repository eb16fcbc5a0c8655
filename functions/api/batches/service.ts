import type { z } from '@hono/zod-openapi';
import type { KeyScope } from '#shared/auth/key-scope';
import {
  endpointOf,
  endpointRefusal,
  modelRefusal,
  versionAllowed,
  versionsAllowed,
} from '#shared/auth/key-scope-rules';
import { newBatchId, newFileId } from '#shared/batch/ids';
import { InputFileError, parseInputFile, type RequestLine } from '#shared/batch/jsonl';
import type { Batch, BatchEndpoint, BatchFile, RequestCounts } from '#shared/batch/types';
import { chunkMessages } from '#shared/batch/work-queue';
import { parseModelRef } from '#shared/catalog/resolver';
import type { ModelTask } from '#shared/catalog/types';
import { ApiError } from '#shared/errors';
import type { BatchPlaneDeps } from '../http/env';
import { ChatRequest } from '../routes/v1/chat/schema';
import { EmbeddingRequest } from '../routes/v1/embeddings/create';
import { ModerationRequest } from '../routes/v1/images/moderations';
import { OcrRequest } from '../routes/v1/images/ocr';
import { SentimentRequest } from '../routes/v1/text/sentiment';

/** Each batchable endpoint's request body (the online route's own schema) and the task its model must do. */
const endpointRules: Record<BatchEndpoint, { schema: z.ZodType; task: ModelTask }> = {
  '/v1/chat/completions': { schema: ChatRequest, task: 'chat' },
  '/v1/embeddings': { schema: EmbeddingRequest, task: 'embeddings' },
  '/v1/text/sentiment': { schema: SentimentRequest, task: 'text-sentiment' },
  '/v1/images/moderations': { schema: ModerationRequest, task: 'image-moderation' },
  '/v1/images/ocr': { schema: OcrRequest, task: 'ocr' },
};

/** A batch is done or expires this long after it is created (OpenAI's only window). */
export const COMPLETION_WINDOW_S = 24 * 3600;

type Deps = Pick<BatchPlaneDeps, 'batch' | 'config' | 'now' | 'resolver' | 'pins'>;

const sec = (d: Date) => Math.floor(d.getTime() / 1000);

function fileError(err: unknown, param: string): never {
  if (err instanceof InputFileError) throw new ApiError('invalid_request', err.message, { param });
  throw err;
}

/**
 * Stores an uploaded batch input file after checking every line (JSONL, `custom_id`s unique and
 * well formed, a batchable `url`, an object `body`); a bad file is refused naming its first bad line.
 */
export async function uploadFile(
  deps: Deps,
  tenantId: string,
  upload: { filename: string; bytes: Uint8Array; purpose: string },
): Promise<BatchFile> {
  if (upload.purpose !== 'batch')
    throw new ApiError('invalid_request', "purpose must be 'batch': files are kept for batches only.", {
      param: 'purpose',
    });
  const max = deps.config.BATCH_FILE_MAX_BYTES;
  if (upload.bytes.byteLength > max)
    throw new ApiError(
      'request_too_large',
      `The file is larger than ${max} bytes; split it into several batches.`,
      {
        param: 'file',
      },
    );
  if (upload.bytes.byteLength === 0)
    throw new ApiError('invalid_request', 'The file is empty.', { param: 'file' });
  let lines: RequestLine[];
  try {
    lines = parseInputFile(upload.bytes, { maxLines: deps.config.BATCH_MAX_LINES });
  } catch (err) {
    fileError(err, 'file');
  }
  const now = deps.now();
  const id = newFileId(now.getTime());
  const file: BatchFile = {
    id,
    tenantId,
    purpose: 'batch',
    filename: upload.filename.slice(0, 255) || 'batch.jsonl',
    bytes: upload.bytes.byteLength,
    createdAt: sec(now),
    lines: lines.length,
    storageKey: `files/${tenantId}/${id}`,
    batchId: null,
  };
  await deps.batch.storage.put(file.storageKey, upload.bytes, 'application/jsonl');
  await deps.batch.store.putFile(file);
  return file;
}

/** A tenant's file, or 404 (another tenant's file is no different from none). */
export async function fileOf(
  deps: Pick<Deps, 'batch'>,
  tenantId: string,
  fileId: string,
): Promise<BatchFile> {
  const file = await deps.batch.store.getFile(tenantId, fileId);
  if (!file) throw new ApiError('not_found', `No such file: '${fileId}'.`, { param: 'file_id' });
  return file;
}

/**
 * The batch key's scope for a batch of `endpoint`: its lines run as that key, so it needs the batch
 * endpoints and the lines' own (a key limited to `batch` and `chat` may batch chat, not embeddings).
 * Read-only and the address are the `/v1` guard's (keyScopeGuard); the models are checked per line.
 */
export function batchScopeRefusal(scope: KeyScope | undefined, endpoint: BatchEndpoint): ApiError | null {
  if (!scope?.endpoints || scope.endpoints.length === 0) return null;
  for (const needed of ['batch', endpointOf(endpoint)] as const) {
    if (needed && !scope.endpoints.includes(needed)) return endpointRefusal(scope, needed, 'endpoint');
  }
  return null;
}

/**
 * A line's model against the key's model scope, as `resolveTarget` will hold it when the line runs:
 * a model the scope does not name, or a version or alias named outside it, is refused now.
 */
function lineModelRefusal(scope: KeyScope | undefined, ref: string, served: string | null): string | null {
  if (!scope?.models || scope.models.length === 0) return null;
  const parsed = parseModelRef(ref);
  if (!parsed) return null;
  const allowed = versionsAllowed(scope, parsed.name);
  const explicitOutside =
    parsed.requested !== undefined &&
    served !== null &&
    !versionAllowed(scope, parsed.name, served.slice(parsed.name.length + 1));
  if (allowed !== 'none' && !explicitOutside) return null;
  return modelRefusal(scope, ref, served ?? undefined).message;
}

/** Checks every line's body against the endpoint's online schema and its model against the catalog. */
async function validateLines(
  deps: Deps,
  tenantId: string,
  endpoint: BatchEndpoint,
  lines: RequestLine[],
  scope?: KeyScope,
) {
  const rule = endpointRules[endpoint];
  const models = new Map<string, string | null>();
  const pins = await deps.pins.forTenant(tenantId);
  for (const line of lines) {
    const at = (message: string) => new InputFileError(line.lineNumber, message);
    if (line.url !== endpoint) throw at(`url is ${line.url}, but this batch's endpoint is ${endpoint}.`);
    const parsed = rule.schema.safeParse(line.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const path = issue.path.length > 0 ? `body.${issue.path.join('.')}` : 'body';
      throw at(`${path}: ${issue.message}`);
    }
    if ((line.body as { stream?: unknown }).stream === true)
      throw at('body.stream: batch lines cannot stream.');
    const ref = String((line.body as { model: string }).model);
    if (!models.has(ref)) {
      const r = await deps.resolver.resolve(ref, { tenantId, pins });
      if (!r.ok) {
        models.set(
          ref,
          r.reason === 'retired'
            ? `body.model: version '${r.version}' of '${r.model}' is retired; use '${r.model}@${r.replacement}'.`
            : r.reason === 'unknown_model'
              ? `body.model: the model '${r.model}' does not exist.`
              : `body.model: '${r.model}' has no version or alias '${r.version}'.`,
        );
      } else if (r.model.task !== rule.task) {
        models.set(ref, `body.model: '${r.model.name}' does ${r.model.task}, not what ${endpoint} serves.`);
      } else {
        models.set(ref, null);
        const refused = lineModelRefusal(scope, ref, `${r.model.name}@${r.version.version}`);
        if (refused)
          throw new ApiError('model_not_in_key_scope', `Line ${line.lineNumber}: body.model: ${refused}`, {
            param: 'input_file_id',
          });
      }
    }
    const problem = models.get(ref);
    if (problem) throw at(problem);
  }
  return [...models.keys()];
}

/**
 * Checks an input file's bytes for an endpoint before anything is stored (the console's upload and
 * create in one call): every line as the upload and the creation check it, a bad one named.
 */
export async function checkInputFile(
  deps: Deps,
  tenantId: string,
  endpoint: BatchEndpoint,
  bytes: Uint8Array,
  param = 'file',
  scope?: KeyScope,
): Promise<void> {
  try {
    const lines = parseInputFile(bytes, { maxLines: deps.config.BATCH_MAX_LINES });
    await validateLines(deps, tenantId, endpoint, lines, scope);
  } catch (err) {
    fileError(err, param);
  }
}

export interface CreateBatchInput {
  inputFileId: string;
  endpoint: BatchEndpoint;
  metadata: Record<string, string> | null;
}

/**
 * Creates a batch from an uploaded file: every line is validated for the endpoint first (a bad
 * line is a 400 naming it, and nothing is created), the day's batch lines are counted against
 * BATCH_LINES_PER_DAY, and its chunks are handed to the queue.
 */
export async function createBatch(
  deps: Deps,
  owner: { tenantId: string; keyId: string; scope?: KeyScope },
  input: CreateBatchInput,
): Promise<Batch> {
  const refusal = batchScopeRefusal(owner.scope, input.endpoint);
  if (refusal) throw refusal;
  const file = await deps.batch.store.getFile(owner.tenantId, input.inputFileId);
  if (!file)
    throw new ApiError('not_found', `No such file: '${input.inputFileId}'.`, { param: 'input_file_id' });
  if (file.purpose !== 'batch')
    throw new ApiError('invalid_request', `The file '${file.id}' is a batch output, not a batch input.`, {
      param: 'input_file_id',
    });
  const bytes = await deps.batch.storage.get(file.storageKey);
  if (!bytes)
    throw new ApiError('not_found', `No such file: '${input.inputFileId}'.`, { param: 'input_file_id' });
  let models: string[];
  let lines: RequestLine[];
  try {
    lines = parseInputFile(bytes, { maxLines: deps.config.BATCH_MAX_LINES });
    models = await validateLines(deps, owner.tenantId, input.endpoint, lines, owner.scope);
  } catch (err) {
    fileError(err, 'input_file_id');
  }
  const now = deps.now();
  const created = sec(now);
  const chunkLines = deps.config.BATCH_CHUNK_LINES;
  const batch: Batch = {
    id: newBatchId(now.getTime()),
    tenantId: owner.tenantId,
    keyId: owner.keyId,
    endpoint: input.endpoint,
    inputFileId: file.id,
    completionWindow: '24h',
    // Validated above, within this call: it starts in progress.
    status: 'in_progress',
    lines: lines.length,
    chunkLines,
    chunks: Math.ceil(lines.length / chunkLines),
    chunksFinished: 0,
    outputFileId: null,
    errorFileId: null,
    requestCounts: null,
    metadata: input.metadata,
    stopped: null,
    createdAt: created,
    inProgressAt: created,
    expiresAt: created + COMPLETION_WINDOW_S,
    finalizingAt: null,
    completedAt: null,
    failedAt: null,
    expiredAt: null,
    cancellingAt: null,
    cancelledAt: null,
    enqueued: false,
    models: models.slice(0, 20),
  };
  const day = now.toISOString().slice(0, 10);
  const perDay = deps.config.BATCH_LINES_PER_DAY;
  const result = await deps.batch.store.createBatch(batch, day, perDay);
  if (!result.ok) {
    if (result.reason === 'file_gone')
      throw new ApiError('not_found', `No such file: '${input.inputFileId}'.`, { param: 'input_file_id' });
    const tomorrow = Date.parse(`${day}T00:00:00Z`) + 86_400_000;
    throw new ApiError(
      'batch_limit_reached',
      `This batch's ${batch.lines} lines would pass the ${perDay} batch lines a day your account may enqueue (${result.used ?? 0} used today). Batch limits are apart from online limits; they renew at 00:00 UTC.`,
      {
        param: 'input_file_id',
        headers: {
          'retry-after': String(Math.max(1, Math.ceil((tomorrow - now.getTime()) / 1000))),
          'x-should-retry': 'false',
        },
      },
    );
  }
  // Queued after the batch is written; a batch whose chunks never reached the queue is queued
  // again by the sweep (a line answered twice is written and billed once either way).
  try {
    await deps.batch.queue.send(chunkMessages(batch, lines));
    await deps.batch.store.markEnqueued(batch.tenantId, batch.id);
    batch.enqueued = true;
  } catch {
    // The sweep hands the chunks over within a minute or two.
  }
  return batch;
}

/** A tenant's batch, or 404. */
export async function batchOf(deps: Pick<Deps, 'batch'>, tenantId: string, batchId: string): Promise<Batch> {
  const batch = await deps.batch.store.getBatch(tenantId, batchId);
  if (!batch) throw new ApiError('not_found', `No such batch: '${batchId}'.`, { param: 'batch_id' });
  return batch;
}

/** A batch's request counts: final ones once it is done, else summed from its chunks now. */
export async function countsOf(deps: Pick<Deps, 'batch'>, batch: Batch): Promise<RequestCounts> {
  if (batch.requestCounts) return batch.requestCounts;
  const p = await deps.batch.store.progress(batch.id);
  return { total: batch.lines, completed: p.completed, failed: p.failed };
}

/**
 * Asks a running batch to stop: `cancelling` at once; no new line starts within about a second,
 * lines already answered are kept (and billed), and the worker then ends it as `cancelled`.
 * Cancelling a batch already cancelling or done changes nothing and answers its state.
 */
export async function cancelBatch(deps: Pick<Deps, 'batch' | 'now'>, tenantId: string, batchId: string) {
  const batch = await batchOf(deps, tenantId, batchId);
  if (batch.status === 'in_progress') {
    const at = sec(deps.now());
    if (await deps.batch.store.cancel(tenantId, batchId, at)) {
      await deps.batch.queue.send([{ kind: 'finalize', tenantId, batchId }]).catch(() => {
        // The sweep finalizes cancelling batches too.
      });
    }
  }
  return batchOf(deps, tenantId, batchId);
}

/** OpenAI's file object. */
export function presentFile(f: BatchFile) {
  return {
    id: f.id,
    object: 'file' as const,
    bytes: f.bytes,
    created_at: f.createdAt,
    filename: f.filename,
    purpose: f.purpose,
    status: 'processed' as const,
    expires_at: null,
    status_details: null,
  };
}

/** OpenAI's batch object. */
export function presentBatch(b: Batch, counts: RequestCounts) {
  return {
    id: b.id,
    object: 'batch' as const,
    endpoint: b.endpoint,
    errors: b.stopped
      ? {
          object: 'list' as const,
          data: [{ code: b.stopped.code, message: b.stopped.message, param: null, line: null }],
        }
      : null,
    input_file_id: b.inputFileId,
    completion_window: b.completionWindow,
    status: b.status,
    output_file_id: b.outputFileId,
    error_file_id: b.errorFileId,
    created_at: b.createdAt,
    in_progress_at: b.inProgressAt,
    expires_at: b.expiresAt,
    finalizing_at: b.finalizingAt,
    completed_at: b.completedAt,
    failed_at: b.failedAt,
    expired_at: b.expiredAt,
    cancelling_at: b.cancellingAt,
    cancelled_at: b.cancelledAt,
    request_counts: counts,
    metadata: b.metadata,
  };
}
