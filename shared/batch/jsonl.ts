import { type BatchEndpoint, batchEndpoints, isBatchEndpoint } from './types';

/** One request line of a batch input file, as OpenAI's Batch API has it. */
export interface RequestLine {
  /** 0-based position among the file's requests (blank lines are skipped). */
  index: number;
  /** 1-based line number in the file, as errors name it. */
  lineNumber: number;
  customId: string;
  url: BatchEndpoint;
  body: Record<string, unknown>;
  /** Where the line's bytes are in what was parsed: [start, end), its newline excluded. */
  bytes: { start: number; end: number };
}

/** Why a file is refused, naming the line. */
export class InputFileError extends Error {
  constructor(
    readonly lineNumber: number | null,
    message: string,
  ) {
    super(lineNumber === null ? message : `Line ${lineNumber}: ${message}`);
  }
}

/** `custom_id`: 1 to 64 characters of letters, digits and `_ - . :`. */
export const CUSTOM_ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
/** The largest one request line may be, in bytes. */
export const MAX_LINE_BYTES = 1024 * 1024;

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses and checks a batch input file: UTF-8 JSONL, one JSON object per line with `custom_id`
 * (unique in the file, of the form above), `method: "POST"`, `url` (a batchable endpoint) and an
 * object `body`. Throws an InputFileError naming the first bad line.
 */
export function parseInputFile(
  bytes: Uint8Array,
  opts: {
    maxLines: number;
    /** The index of the first request in `bytes` (a chunk's part of a file: its first line's). */
    firstIndex?: number;
  },
): RequestLine[] {
  const firstIndex = opts.firstIndex ?? 0;
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new InputFileError(null, 'The file is not UTF-8 text.');
  }
  const lines: RequestLine[] = [];
  const seen = new Map<string, number>();
  const raw = text.split('\n');
  let offset = 0;
  for (let i = 0; i < raw.length; i++) {
    const lineNumber = i + 1;
    const start = offset;
    const rawBytes = Buffer.byteLength(raw[i]!);
    offset += rawBytes + 1;
    const source = raw[i]!.endsWith('\r') ? raw[i]!.slice(0, -1) : raw[i]!;
    if (source.trim() === '') continue;
    if (Buffer.byteLength(source) > MAX_LINE_BYTES)
      throw new InputFileError(lineNumber, `is larger than ${MAX_LINE_BYTES} bytes.`);
    let value: unknown;
    try {
      value = JSON.parse(source);
    } catch {
      throw new InputFileError(lineNumber, 'is not valid JSON.');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new InputFileError(lineNumber, 'must be a JSON object with custom_id, method, url and body.');
    const o = value as Record<string, unknown>;
    if (typeof o.custom_id !== 'string') throw new InputFileError(lineNumber, 'custom_id must be a string.');
    if (!CUSTOM_ID_RE.test(o.custom_id))
      throw new InputFileError(
        lineNumber,
        'custom_id must be 1 to 64 characters of letters, digits, and _ - . : only.',
      );
    const earlier = seen.get(o.custom_id);
    if (earlier !== undefined)
      throw new InputFileError(lineNumber, `custom_id '${o.custom_id}' is already used on line ${earlier}.`);
    seen.set(o.custom_id, lineNumber);
    if (o.method !== 'POST') throw new InputFileError(lineNumber, 'method must be "POST".');
    if (!isBatchEndpoint(o.url))
      throw new InputFileError(lineNumber, `url must be one of ${batchEndpoints.join(', ')}.`);
    if (typeof o.body !== 'object' || o.body === null || Array.isArray(o.body))
      throw new InputFileError(lineNumber, 'body must be a JSON object.');
    const extra = Object.keys(o).filter((k) => !['custom_id', 'method', 'url', 'body'].includes(k));
    if (extra.length > 0) throw new InputFileError(lineNumber, `unknown field '${extra[0]}'.`);
    lines.push({
      index: firstIndex + lines.length,
      lineNumber,
      customId: o.custom_id,
      url: o.url,
      body: o.body as Record<string, unknown>,
      bytes: { start, end: start + rawBytes },
    });
    if (lines.length > opts.maxLines)
      throw new InputFileError(lineNumber, `a batch file may have at most ${opts.maxLines} requests.`);
  }
  if (lines.length === 0) throw new InputFileError(null, 'The file has no request lines.');
  return lines;
}
