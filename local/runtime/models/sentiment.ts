import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import model from 'wink-eng-lite-web-model';
import winkNLP, { type WinkMethods } from 'wink-nlp';
import { countTextTokens } from '../../../shared/metering/text-tokens';
import { type ModelHandler, ModelInputError } from '../model-handler';

export const MAX_INPUTS = 256;
/** Per input: wink is linear (about 1 ms per 1k tokens) but cannot be interrupted inside one text. */
export const MAX_INPUT_CHARS = 100_000;
/** |score| below this is "neutral": wink gives 0 to texts without polar words, small values to mixed ones. */
export const NEUTRAL_BAND = 0.05;
/** Longest stretch of CPU one invocation takes before letting other requests (and /ping) run. */
const TIME_SLICE_MS = 8;

export type SentimentLabel = 'positive' | 'negative' | 'neutral';
export type SentimentRequest = { inputs: string[] };
export type SentimentResult = { label: SentimentLabel; score: number; tokens: number };
export type SentimentResponse = { results: SentimentResult[]; usage: { input_tokens: number } };

/** Maps a wink sentiment score in [-1, 1] to a label using the documented neutral band. */
export function labelFor(score: number): SentimentLabel {
  if (score >= NEUTRAL_BAND) return 'positive';
  if (score <= -NEUTRAL_BAND) return 'negative';
  return 'neutral';
}

/** Validates the body against the contract; every rejection says what was wrong. */
export function parseSentimentRequest(body: Buffer, contentType: string | undefined): SentimentRequest {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  // The SDK sends application/octet-stream when the caller gives no ContentType, so it is tolerated.
  if (
    mediaType !== undefined &&
    mediaType !== '' &&
    mediaType !== 'application/json' &&
    mediaType !== 'application/octet-stream'
  ) {
    throw new ModelInputError(`Unsupported content type ${mediaType}: send application/json.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ModelInputError('Body is not valid JSON: expected {"inputs": string[]}.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ModelInputError('Body must be a JSON object {"inputs": string[]}.');
  }
  const extra = Object.keys(parsed).filter((key) => key !== 'inputs');
  if (extra.length > 0) {
    // Key names come from the caller: keep what is echoed (and so logged) short.
    const shown = extra.slice(0, 5).map((key) => JSON.stringify(key.slice(0, 40)));
    throw new ModelInputError(`Unknown field(s) ${shown.join(', ')}: only "inputs" is accepted.`);
  }
  const inputs = (parsed as { inputs?: unknown }).inputs;
  if (!Array.isArray(inputs)) throw new ModelInputError('"inputs" must be an array of strings.');
  if (inputs.length < 1 || inputs.length > MAX_INPUTS) {
    throw new ModelInputError(`"inputs" must hold 1 to ${MAX_INPUTS} strings, got ${inputs.length}.`);
  }
  for (const [index, input] of inputs.entries()) {
    if (typeof input !== 'string') throw new ModelInputError(`inputs[${index}] must be a string.`);
    // Whitespace-only text has no tokens, so it could not be scored or metered.
    if (input.trim() === '') throw new ModelInputError(`inputs[${index}] must not be empty.`);
    if (input.length > MAX_INPUT_CHARS) {
      throw new ModelInputError(`inputs[${index}] is longer than ${MAX_INPUT_CHARS} characters.`);
    }
  }
  return { inputs: inputs as string[] };
}

/**
 * Sentiment analysis with wink-nlp's English lite model (lexicon based, negation aware). The token
 * counts it reports (`tokens` per result, `usage.input_tokens`) are the platform's billing rule
 * (`countTextTokens`), not wink's own tokenization: the gateway counts the same before it calls,
 * so what it bills and what the model reports agree by construction.
 */
export function createSentimentModel(): ModelHandler {
  let nlp: WinkMethods | undefined;
  return {
    name: 'wink-sentiment',
    async load() {
      // Only the pipes sentiment needs: sbd makes the document score a mean over sentences, negation
      // flips "not good". Skipping pos/ner/cer roughly halves load time and per-token cost.
      nlp ??= winkNLP(model, ['sbd', 'negation', 'sentiment']);
    },
    async invoke(body, contentType): Promise<SentimentResponse> {
      if (!nlp) throw new Error('sentiment model used before load()');
      const { inputs } = parseSentimentRequest(body, contentType);
      const results: SentimentResult[] = [];
      let inputTokens = 0;
      let sliceStart = performance.now();
      for (const input of inputs) {
        if (performance.now() - sliceStart > TIME_SLICE_MS) {
          await yieldToEventLoop();
          sliceStart = performance.now();
        }
        const doc = nlp.readDoc(input);
        const raw = Number(doc.out(nlp.its.sentiment));
        const score = Number.isFinite(raw) ? Math.min(1, Math.max(-1, raw)) : 0;
        const tokens = countTextTokens(input);
        inputTokens += tokens;
        results.push({ label: labelFor(score), score, tokens });
      }
      return { results, usage: { input_tokens: inputTokens } };
    },
  };
}
