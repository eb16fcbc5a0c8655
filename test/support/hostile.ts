import fc from 'fast-check';
import { expect } from 'vitest';

/**
 * Arbitraries for hostile request bodies and headers, and the one check every hostile answer
 * must pass. Sizes are bounded so a property run stays in the seconds on a 2-core machine.
 */

/** Strings that stress decoders: lone surrogates, NULs, RTL marks, emoji. */
const oddString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.string({ unit: 'grapheme', maxLength: 64 }),
  fc.constantFrom(
    '\ud800',
    '\udfff',
    'a\u0000b',
    '\u202e\u202d',
    '\ufeff',
    '🧨'.repeat(50),
    '__proto__',
    'constructor',
    '{{7*7}}',
    "'; DROP TABLE tenants; --",
    '../../etc/passwd',
    '%00',
    'null',
    '',
  ),
);

/** Odd strings, and long runs (up to 40 000 characters). */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: oddString },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 40_000 }).map((n) => 'x'.repeat(n)) },
);

/** Numbers JSON can carry that no field wants: negative, huge, fractional, beyond safe integers. */
export const nastyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(-1, 0, -0, 1e308, -1e308, 2 ** 53 + 1, 4_294_967_296, 0.5, 1e-300),
  fc.integer(),
);

const nastyLeaf: fc.Arbitrary<unknown> = fc.oneof(oddString, nastyNumber, fc.boolean(), fc.constant(null));

/** Any JSON value, leaves drawn from the nasty ones, a few levels deep. */
export const nastyJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    nastyLeaf,
    fc.array(tie('value'), { maxLength: 6 }),
    fc.dictionary(fc.oneof(oddString, fc.string({ maxLength: 8 })), tie('value'), { maxKeys: 6 }),
  ),
})).value;

/** Huge arrays (cheap to build, expensive to validate naively). */
const hugeArray = fc
  .tuple(fc.integer({ min: 1_000, max: 20_000 }), nastyLeaf)
  .map(([n, leaf]) => Array.from({ length: n }, () => leaf));

/** Nesting far deeper than any schema: arrays or objects, tens of thousands of levels. */
export const deepNesting: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 50, max: 20_000 }), fc.boolean())
  .map(([depth, arrays]) =>
    arrays ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
  );

/** Text that is not JSON, or JSON cut short. */
export const malformedJson: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }).filter((s) => {
    try {
      JSON.parse(s);
      return false;
    } catch {
      return true;
    }
  }),
  fc.tuple(fc.jsonValue({ maxDepth: 3 }), fc.nat()).map(([v, cut]) => {
    const text = JSON.stringify({ v });
    return text.slice(0, cut % text.length);
  }),
  fc.constantFrom('{"model":', '{"a":1,}', "{'a':1}", '[1,2', 'NaN', '\u0000', '{"a":1}{"b":2}', '\ufeff{}'),
);

/**
 * A hostile body for an operation whose schema has `fields`: the right field names with wrong
 * values (types, sizes, unicode, numbers), any JSON at all, huge arrays, deep nesting, or text
 * that is not JSON. Always serialized: the caller sends it as is.
 */
export function hostileBody(fields: string[]): fc.Arbitrary<string> {
  const wrongFields =
    fields.length > 0
      ? fc.dictionary(fc.constantFrom(...fields), fc.oneof(nastyJson, nastyString, hugeArray), {
          minKeys: 1,
        })
      : fc.dictionary(fc.string({ maxLength: 8 }), nastyJson, { minKeys: 1 });
  return fc.oneof(
    { weight: 4, arbitrary: wrongFields.map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: nastyJson.map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 1, arbitrary: hugeArray.map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: deepNesting },
    { weight: 2, arbitrary: malformedJson },
  );
}

/** A header value a client can put on the wire (visible ASCII and Latin-1, no CR/LF/NUL). */
export const headerValue: fc.Arbitrary<string> = fc
  .oneof(
    fc.string({
      unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
      maxLength: 200,
    }),
    fc.string({
      unit: fc.integer({ min: 0xa0, max: 0xff }).map((c) => String.fromCharCode(c)),
      maxLength: 20,
    }),
    fc.integer({ min: 5_000, max: 16_000 }).map((n) => 'A'.repeat(n)),
    fc.constantFrom('Bearer', 'Bearer ', 'bearer tg_', 'Bearer tg_live_', 'Basic Og==', 'Bearer a.b.c'),
  )
  .map((s) => s.trim());

interface Envelope {
  error: { message: string; type: string; code: string; param: string | null; request_id?: string };
}

/**
 * The contract of a hostile answer: a status below 500 and, if it is an error, the OpenAI
 * envelope with the request id of the `x-request-id` header. `strict` also demands a 4xx.
 */
export async function expectHostileAnswer(
  res: Response,
  what: string,
  opts: { strict?: boolean } = {},
): Promise<Envelope | undefined> {
  const text = await res.text();
  expect(res.status, `${what}: ${text.slice(0, 300)}`).toBeLessThan(500);
  if (opts.strict) expect(res.status, `${what}: ${text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
  if (res.status < 400) return undefined;
  const body = JSON.parse(text) as Envelope;
  expect(Object.keys(body), what).toEqual(['error']);
  expect(typeof body.error.message, what).toBe('string');
  expect(typeof body.error.type, what).toBe('string');
  expect(typeof body.error.code, what).toBe('string');
  expect(body.error.param === null || typeof body.error.param === 'string', what).toBe(true);
  expect(body.error.request_id, what).toBe(res.headers.get('x-request-id'));
  expect(body.error.request_id, what).toMatch(/^req_/);
  return body;
}
