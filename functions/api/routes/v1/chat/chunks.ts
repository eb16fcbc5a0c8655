import type { ErrorEnvelope } from '#shared/errors';
import type { Usage } from './schema';

/** The fields every chunk of one completion repeats. */
export type ChunkBase = { id: string; created: number; model: string };

type Delta = { role?: 'assistant'; content?: string };

/** A `chat.completion.chunk` with one choice. */
export function choiceChunk(base: ChunkBase, delta: Delta, finishReason: 'stop' | 'length' | null = null) {
  return {
    ...base,
    object: 'chat.completion.chunk' as const,
    system_fingerprint: null,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  };
}

/** The last chunk when `stream_options.include_usage` is set: no choices, the usage and its cost. */
export function usageChunk(base: ChunkBase, usage: Usage) {
  return {
    ...base,
    object: 'chat.completion.chunk' as const,
    system_fingerprint: null,
    choices: [],
    usage,
  };
}

/**
 * One server-sent event. `data` is a single line (JSON never holds a raw newline), so the event is
 * exactly `event:` (optional), `data:` and a blank line.
 */
export function sseEvent(data: string, event?: string): string {
  if (/[\r\n]/.test(data) || (event && /[\r\n]/.test(event))) {
    throw new Error('an SSE field must be a single line');
  }
  return `${event ? `event: ${event}\n` : ''}data: ${data}\n\n`;
}

/** The end-of-stream marker the OpenAI clients wait for; without it a stream looks cut short. */
export const SSE_DONE = sseEvent('[DONE]');

/** An error after the stream started: the OpenAI client raises `APIError` from this. */
export function sseError(envelope: ErrorEnvelope): string {
  return sseEvent(JSON.stringify(envelope), 'error');
}
