/** The platform's chat request to a model, in the model server's own contract. */
export interface ChatModelRequest {
  messages: { role: 'system' | 'user' | 'assistant'; content: string }[];
  max_tokens: number;
  temperature: number;
  top_p: number;
  stop: string[];
  /** The version's prompt limit (the model server checks it; TGI has its own, MAX_INPUT_TOKENS). */
  max_input_tokens?: number;
}

/**
 * Translates between the platform's chat call and one container's wire. The gateway's chat route
 * works in the model server's terms (`{text, finish_reason, usage}` answers; stream lines of
 * `{delta, usage}` and a last `{finish_reason, usage}`, the usage so far on each); an adapter
 * turns its request into the container's and the container's answer and stream back into those,
 * so the route's admission, metering and relay are the same for every container. Its outputs are
 * checked by the route (`ModelAnswer`, `ModelStreamLine`): garbage is the model's failure.
 */
export interface ChatAdapter {
  /** The body to send. */
  request(request: ChatModelRequest, stream: boolean): unknown;
  /** The container's unstreamed answer, as `{text, finish_reason, usage}`. */
  answer(raw: unknown): unknown;
  /**
   * The container's stream as lines. `promptTokenBound` is what the gateway admitted for the
   * prompt: a wire that says the prompt's tokens only at the end (TGI) reports it until then.
   * Throws `ModelStreamFailure`.
   */
  lines(stream: AsyncIterable<Uint8Array>, promptTokenBound: number): AsyncIterable<unknown>;
}
