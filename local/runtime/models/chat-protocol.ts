/** The chat model's request, as the runtime accepts it (already validated). */
export type ChatMessage = { role: 'system' | 'user' | 'assistant'; content: string };

export type ChatRequest = {
  messages: ChatMessage[];
  max_tokens: number;
  /** 0 is greedy (deterministic); above 0 samples. */
  temperature: number;
  top_p: number;
  stop: string[];
  /** The catalog version's prompt limit, checked against the model's own token count. */
  max_input_tokens?: number;
};

export type FinishReason = 'stop' | 'length';
export type ChatUsage = { input_tokens: number; output_tokens: number };

/** Non-streaming answer. */
export type ChatAnswer = { text: string; finish_reason: FinishReason; usage: ChatUsage };

/**
 * Streaming answer: one JSON object per line (and per PayloadPart). Every delta carries the usage
 * so far, so a caller that stops reading still knows what was generated; the last line says why
 * generation ended.
 */
export type ChatStreamLine =
  | { delta: string; usage: ChatUsage }
  | { finish_reason: FinishReason; usage: ChatUsage };

/** Parent -> worker. */
export type ToWorker =
  | { type: 'generate'; id: number; request: ChatRequest; stream: boolean }
  | { type: 'abort'; id: number };

/** Worker -> parent. Deltas are sent only for streaming jobs; `done` always carries the whole text. */
export type FromWorker =
  | { type: 'ready'; contextLength: number }
  | { type: 'load_failed'; message: string }
  | { type: 'delta'; id: number; delta: string; usage: ChatUsage }
  | { type: 'done'; id: number; finish_reason: FinishReason; text: string; usage: ChatUsage }
  | { type: 'failed'; id: number; message: string; input: boolean };

export type WorkerConfig = { modelsRoot: string; modelId: string; dtype: string; threads: number };
