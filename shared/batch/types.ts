/** What a batch line may call: every synchronous `/v1` endpoint. */
export const batchEndpoints = [
  '/v1/chat/completions',
  '/v1/embeddings',
  '/v1/text/sentiment',
  '/v1/images/moderations',
  '/v1/images/ocr',
] as const;
export type BatchEndpoint = (typeof batchEndpoints)[number];

export function isBatchEndpoint(value: unknown): value is BatchEndpoint {
  return typeof value === 'string' && (batchEndpoints as readonly string[]).includes(value);
}

/** OpenAI's purposes: `batch` for inputs, `batch_output` for what a batch writes. */
export type FilePurpose = 'batch' | 'batch_output';

/** A file's record; its bytes are in object storage under `storageKey`. Times in Unix seconds, as OpenAI's. */
export interface BatchFile {
  id: string;
  tenantId: string;
  purpose: FilePurpose;
  filename: string;
  bytes: number;
  createdAt: number;
  /** Lines of an input file (counted at upload). */
  lines: number;
  storageKey: string;
  /** The batch that wrote it (outputs). */
  batchId: string | null;
}

/** OpenAI's batch statuses. `validating` is passed within the create call here (it validates every line). */
export type BatchStatus =
  | 'validating'
  | 'failed'
  | 'in_progress'
  | 'finalizing'
  | 'completed'
  | 'expired'
  | 'cancelling'
  | 'cancelled';

export const finalStatuses: readonly BatchStatus[] = ['failed', 'completed', 'expired', 'cancelled'];

export interface RequestCounts {
  total: number;
  completed: number;
  failed: number;
}

/** Why a batch's remaining lines were not run: a spend cap, the balance or the month's quota. */
export interface BatchStop {
  code: string;
  message: string;
}

export interface Batch {
  id: string;
  tenantId: string;
  /** The API key the batch was created with (or chosen in the console): its lines are billed to it. */
  keyId: string;
  endpoint: BatchEndpoint;
  inputFileId: string;
  completionWindow: '24h';
  status: BatchStatus;
  lines: number;
  chunkLines: number;
  chunks: number;
  /** Chunks whose lines are all answered. */
  chunksFinished: number;
  outputFileId: string | null;
  errorFileId: string | null;
  /** Final counts (while running, the chunks' counters are summed instead). */
  requestCounts: RequestCounts | null;
  metadata: Record<string, string> | null;
  stopped: BatchStop | null;
  createdAt: number;
  inProgressAt: number | null;
  expiresAt: number;
  finalizingAt: number | null;
  completedAt: number | null;
  failedAt: number | null;
  expiredAt: number | null;
  cancellingAt: number | null;
  cancelledAt: number | null;
  /** Whether every chunk was handed to the queue (the sweep hands them again if not). */
  enqueued: boolean;
  /** The model versions the lines name (for the operators' backlog), as written in the lines. */
  models: string[];
}

/** One line's outcome, as it goes into the output or the error file. */
export interface LineResult {
  line: number;
  customId: string;
  /** The request id the line ran (and was billed) as. */
  requestId: string;
  outcome: 'completed' | 'failed';
  /** The endpoint's answer: status and body (JSON); null when the line never ran. */
  response: { statusCode: number; body: unknown } | null;
  error: { code: string; message: string } | null;
  /** The version that served it, when one did. */
  served: string | null;
  at: number;
}

/** A unit of batch work on the queue. */
export type WorkMessage =
  | {
      kind: 'chunk';
      tenantId: string;
      batchId: string;
      chunk: number;
      /**
       * Where the chunk's lines are in the input file, [start, end) in bytes, so a worker reads
       * only them. Absent (a chunk queued again by the sweep): the worker reads the whole file.
       */
      bytes?: { start: number; end: number };
    }
  | { kind: 'finalize'; tenantId: string; batchId: string };
