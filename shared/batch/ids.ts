import { createHash, randomBytes } from 'node:crypto';
import { encodeTime } from '../ids';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function base32(bytes: Uint8Array, chars: number): string {
  let out = '';
  for (let i = 0; i < chars; i++) out += CROCKFORD[bytes[i % bytes.length]! % 32];
  return out;
}

const ulid = (now: number) => `${encodeTime(now)}${base32(randomBytes(16), 16)}`;

/** `file-01J...`: OpenAI's file id shape, time-ordered. */
export const newFileId = (now: number) => `file-${ulid(now)}`;
/** `batch_01J...`: OpenAI's batch id shape, time-ordered. */
export const newBatchId = (now: number) => `batch_${ulid(now)}`;

const FILE_ID_RE = /^file-[0-9A-HJKMNP-TV-Z]{26}$/;
const BATCH_ID_RE = /^batch_[0-9A-HJKMNP-TV-Z]{26}$/;
export const isFileId = (v: string) => FILE_ID_RE.test(v);
export const isBatchId = (v: string) => BATCH_ID_RE.test(v);

function derived(batchId: string, what: string): string {
  return base32(createHash('sha256').update(`${batchId}:${what}`).digest(), 16);
}

/**
 * The request id a batch line runs as, the same on every attempt: the usage record's conditional
 * put on it is what bills a line once however often it runs. It carries the batch's creation time.
 */
export function lineRequestId(batchId: string, line: number): string {
  return `req_${batchId.slice(6, 16)}${derived(batchId, `line:${line}`)}`;
}

/** The output and error files' ids, fixed by the batch, so writing them twice makes one of each. */
export function outputFileId(batchId: string, kind: 'output' | 'error'): string {
  return `file-${batchId.slice(6, 16)}${derived(batchId, kind)}`;
}
