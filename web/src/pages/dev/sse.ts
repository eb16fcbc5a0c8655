import { ApiFailure, type ErrorEnvelope } from '../../lib/api';

/**
 * Reads an OpenAI-style server-sent event stream: `data: {...}` chunks, `data: [DONE]` at the
 * end, and `event: error` with an error envelope when the model fails mid-stream.
 */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<Record<string, unknown>> {
  const reader = body
    .pipeThrough(new TextDecoderStream() as unknown as ReadableWritablePair<string, Uint8Array>)
    .getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end = buffer.indexOf('\n\n');
    while (end !== -1) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
      let event = 'message';
      const data: string[] = [];
      for (const line of frame.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      const text = data.join('\n');
      if (text === '[DONE]') return;
      if (!text) continue;
      const parsed = JSON.parse(text) as Record<string, unknown>;
      if (event === 'error') {
        const error = (parsed as { error?: ErrorEnvelope }).error;
        throw new ApiFailure(
          0,
          error ?? { message: text, type: 'api_error', code: 'stream_error', param: null },
        );
      }
      yield parsed;
    }
  }
  throw new ApiFailure(0, {
    message: 'The stream ended before the answer was complete.',
    type: 'api_error',
    code: 'stream_incomplete',
    param: null,
  });
}
