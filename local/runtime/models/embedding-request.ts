import { countTextTokens } from '../../../shared/metering/text-tokens';
import { ModelInputError } from '../model-handler';

/** Inputs per call the runtime accepts; the catalog's `maxInputs` per version is at most this. */
export const MAX_EMBEDDING_INPUTS = 2_048;
/** Per input, in characters: the gateway bounds tokens well below this. */
export const MAX_EMBEDDING_INPUT_CHARS = 100_000;

export type EmbeddingRequest = { inputs: string[] };
/**
 * The runtime's answer: one unit-length vector per input, in order, and the input tokens by the
 * platform's billing rule (`countTextTokens`), which the gateway counts too and checks.
 */
export type EmbeddingAnswer = { data: number[][]; dimensions: number; usage: { input_tokens: number } };

/** Validates `{"inputs": string[]}`; every refusal says what was wrong (the model's own 400). */
export function parseEmbeddingRequest(body: Buffer, contentType: string | undefined): EmbeddingRequest {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType && mediaType !== 'application/json' && mediaType !== 'application/octet-stream')
    throw new ModelInputError(`Unsupported content type ${mediaType}: send application/json.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ModelInputError('Body is not valid JSON: expected {"inputs": string[]}.');
  }
  const inputs = (parsed as { inputs?: unknown } | null)?.inputs;
  if (!Array.isArray(inputs)) throw new ModelInputError('"inputs" must be an array of strings.');
  if (inputs.length < 1 || inputs.length > MAX_EMBEDDING_INPUTS)
    throw new ModelInputError(
      `"inputs" must hold 1 to ${MAX_EMBEDDING_INPUTS} strings, got ${inputs.length}.`,
    );
  for (const [i, input] of inputs.entries()) {
    if (typeof input !== 'string') throw new ModelInputError(`inputs[${i}] must be a string.`);
    if (input.trim() === '') throw new ModelInputError(`inputs[${i}] must not be empty.`);
    if (input.length > MAX_EMBEDDING_INPUT_CHARS)
      throw new ModelInputError(`inputs[${i}] is longer than ${MAX_EMBEDDING_INPUT_CHARS} characters.`);
  }
  return { inputs: inputs as string[] };
}

/** The billed tokens of a batch, by the rule the gateway bills with. */
export function billedTokens(inputs: string[]): number {
  return inputs.reduce((sum, text) => sum + countTextTokens(text), 0);
}

/** Scales a vector to unit length in place (a zero vector stays zero). */
export function normalize(v: Float32Array | number[]): number[] {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  return Array.from(v, (x) => (norm > 0 ? x / norm : 0));
}
