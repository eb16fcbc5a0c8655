import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeFrame, payloadPartFrame, streamErrorFrame } from '../../local/runtime/event-stream';
import { jsonLines } from '../../shared/models/json-lines';
import { ModelStreamFailure } from '../../shared/models/model-client';

const bytes = (text: string) => new TextEncoder().encode(text);
const headerValues = (frame: Uint8Array) =>
  Object.fromEntries(Object.entries(decodeFrame(frame).headers).map(([name, h]) => [name, h.value]));

async function collect(parts: Uint8Array[]): Promise<unknown[]> {
  async function* source() {
    yield* parts;
  }
  const out: unknown[] = [];
  for await (const value of jsonLines(source())) out.push(value);
  return out;
}

describe('event-stream framing of the runtime response stream', () => {
  it('a PayloadPart frame has a valid prelude, CRCs, the event headers and the bytes as body', () => {
    const body = bytes('{"delta":"héllo"}\n');
    const frame = payloadPartFrame(body);
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    // Prelude: total length, headers length, CRC32 of those 8 bytes; the message ends with the CRC32 of all before it.
    expect(view.getUint32(0)).toBe(frame.byteLength);
    const headersLength = view.getUint32(4);
    expect(frame.byteLength).toBe(12 + headersLength + body.byteLength + 4);
    expect(view.getUint32(8)).toBe(crc32(frame.subarray(0, 8)));
    expect(view.getUint32(frame.byteLength - 4)).toBe(crc32(frame.subarray(0, frame.byteLength - 4)));
    expect(headerValues(frame)).toEqual({
      ':message-type': 'event',
      ':event-type': 'PayloadPart',
      ':content-type': 'application/octet-stream',
    });
    expect(decodeFrame(frame).body).toEqual(body);
  });

  it('a mid-stream failure is an exception frame the SDK raises as ModelStreamError', () => {
    const frame = streamErrorFrame('ModelStreamError', 'worker died', 'ModelError');
    expect(headerValues(frame)).toMatchObject({
      ':message-type': 'exception',
      ':exception-type': 'ModelStreamError',
    });
    expect(JSON.parse(new TextDecoder().decode(decodeFrame(frame).body))).toEqual({
      Message: 'worker died',
      ErrorCode: 'ModelError',
    });
  });

  it('a corrupted frame is refused by its checksum', () => {
    const frame = payloadPartFrame(bytes('{"delta":"x"}\n'));
    frame[frame.byteLength - 6]! ^= 0xff;
    expect(() => decodeFrame(frame)).toThrow(/checksum/i);
  });
});

describe('jsonLines: the gateway reading the model stream', () => {
  it('ignores part boundaries, including ones inside a UTF-8 character', async () => {
    const text = bytes('{"delta":"né"}\n{"delta":"b"}\n{"finish_reason":"stop"}\n');
    const at = text.indexOf(0xc3) + 1; // between the two bytes of é
    expect(await collect([text.subarray(0, at), text.subarray(at, at + 20), text.subarray(at + 20)])).toEqual(
      [{ delta: 'né' }, { delta: 'b' }, { finish_reason: 'stop' }],
    );
  });

  it('several lines in one part, and a last line without a newline', async () => {
    expect(await collect([bytes('{"a":1}\n\n{"a":2}\n{"a"'), bytes(':3}')])).toEqual([
      { a: 1 },
      { a: 2 },
      { a: 3 },
    ]);
  });

  it('a line that is not JSON is the model failing', async () => {
    const error = await collect([bytes('{"a":1}\nnot json\n')]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelStreamFailure);
    expect((error as ModelStreamFailure).reason).toBe('model_error');
  });
});
