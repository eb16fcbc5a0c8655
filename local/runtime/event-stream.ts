import { EventStreamCodec } from '@smithy/core/event-streams';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const codec = new EventStreamCodec(
  (bytes) => decoder.decode(bytes),
  (text) => encoder.encode(text),
);

/**
 * One `PayloadPart` event of `InvokeEndpointWithResponseStream`, framed as the AWS event-stream
 * encoding (prelude, CRC32s, string headers) that the SDK's response-stream parser expects.
 */
export function payloadPartFrame(bytes: Uint8Array): Uint8Array {
  return codec.encode({
    headers: {
      ':message-type': { type: 'string', value: 'event' },
      ':event-type': { type: 'string', value: 'PayloadPart' },
      ':content-type': { type: 'string', value: 'application/octet-stream' },
    },
    body: bytes,
  });
}

/**
 * A failure after the stream started: the SDK raises it typed (`ModelStreamError` for the model's
 * own failures, `InternalStreamFailure` for the runtime's) from the caller's `for await`.
 */
export function streamErrorFrame(
  type: 'ModelStreamError' | 'InternalStreamFailure',
  message: string,
  errorCode: string = type,
): Uint8Array {
  const body = type === 'ModelStreamError' ? { Message: message, ErrorCode: errorCode } : { message };
  return codec.encode({
    headers: {
      ':message-type': { type: 'string', value: 'exception' },
      ':exception-type': { type: 'string', value: type },
      ':content-type': { type: 'string', value: 'application/json' },
    },
    body: encoder.encode(JSON.stringify(body)),
  });
}

/** Decodes one complete frame (tests and tools; the gateway reads frames through the SDK). */
export function decodeFrame(frame: Uint8Array): ReturnType<EventStreamCodec['decode']> {
  return codec.decode(frame);
}
