import { ModelStreamFailure } from './model-client';

/**
 * Splits a model's byte stream into JSON values, one per line. Part boundaries carry no meaning
 * (SageMaker may split or merge a container's writes), so bytes are buffered up to each newline;
 * UTF-8 characters split across parts are decoded whole.
 */
export async function* jsonLines(stream: AsyncIterable<Uint8Array>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  let buffer = '';
  const parse = (line: string): unknown => {
    try {
      return JSON.parse(line);
    } catch {
      throw new ModelStreamFailure('model_error', 'the model streamed a line that is not JSON');
    }
  };
  for await (const part of stream) {
    buffer += decoder.decode(part, { stream: true });
    let newline = buffer.indexOf('\n');
    while (newline !== -1) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line !== '') yield parse(line);
      newline = buffer.indexOf('\n');
    }
  }
  buffer += decoder.decode();
  if (buffer.trim() !== '') yield parse(buffer.trim());
}
