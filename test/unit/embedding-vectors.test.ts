import { describe, expect, it } from 'vitest';
import { dimensionsFor, shorten, toBase64 } from '#api/routes/v1/embeddings/vectors';
import { ApiError } from '#shared/errors';

const SHORTENABLE = { dimensions: 4, minDimensions: 2 };
const FIXED = { dimensions: 4 };

function refusal(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('dimensionsFor', () => {
  it("no ask, or the version's own length: the version's length", () => {
    expect(dimensionsFor(undefined, FIXED, 'e@f')).toBe(4);
    expect(dimensionsFor(4, FIXED, 'e@f')).toBe(4);
    expect(dimensionsFor(undefined, SHORTENABLE, 'e@s')).toBe(4);
  });

  it('a shorter length where the version allows it, within its bounds', () => {
    expect(dimensionsFor(2, SHORTENABLE, 'e@s')).toBe(2);
    expect(refusal(() => dimensionsFor(1, SHORTENABLE, 'e@s')).param).toBe('dimensions');
    expect(refusal(() => dimensionsFor(5, SHORTENABLE, 'e@s')).message).toContain('from 2 to 4');
  });

  it('any other length on a version that does not allow it: 400 naming dimensions', () => {
    const err = refusal(() => dimensionsFor(2, FIXED, 'e@f'));
    expect(err.param).toBe('dimensions');
    expect(err.message).toContain('does not allow');
  });
});

describe('shorten', () => {
  it('keeps the first components and scales them to unit length', () => {
    expect(shorten([0.6, 0.8, 0, 0], 4)).toEqual([0.6, 0.8, 0, 0]);
    const short = shorten([0.5, 0.5, 0.5, 0.5], 2);
    expect(short[0]).toBeCloseTo(Math.SQRT1_2, 12);
    expect(short[1]).toBeCloseTo(Math.SQRT1_2, 12);
  });
});

describe('toBase64', () => {
  it('is little-endian float32, as OpenAI sends it', () => {
    const encoded = toBase64([1, -2.5, 0.1]);
    const bytes = Buffer.from(encoded, 'base64');
    expect(bytes).toHaveLength(12);
    // 1.0f is 00 00 80 3f in little-endian.
    expect([...bytes.subarray(0, 4)]).toEqual([0x00, 0x00, 0x80, 0x3f]);
    expect(bytes.readFloatLE(4)).toBe(-2.5);
    expect(bytes.readFloatLE(8)).toBe(Math.fround(0.1));
  });
});
