import type { VersionLimits } from '#shared/catalog/types';
import { ApiError } from '#shared/errors';

/**
 * The `dimensions` a request gets: its own ask where the version allows shortening (between
 * `minDimensions` and the version's length), the version's length when it asks for none or for
 * exactly that. Anything else is a 400 naming `dimensions`.
 */
export function dimensionsFor(
  asked: number | undefined,
  limits: VersionLimits,
  served: string,
): number | undefined {
  const native = limits.dimensions;
  if (asked === undefined || asked === native) return native;
  if (limits.minDimensions === undefined || native === undefined)
    throw new ApiError(
      'invalid_request',
      `The model ${served} does not allow choosing 'dimensions'${native ? `: its vectors have ${native}` : ''}. Leave it out.`,
      { param: 'dimensions' },
    );
  if (asked < limits.minDimensions || asked > native)
    throw new ApiError(
      'invalid_request',
      `'dimensions' must be from ${limits.minDimensions} to ${native} for ${served}, got ${asked}.`,
      { param: 'dimensions' },
    );
  return asked;
}

/**
 * The first `dimensions` components, scaled back to unit length: what OpenAI's text-embedding-3
 * models answer for a shorter `dimensions`, so cosine similarity stays a dot product.
 */
export function shorten(vector: number[], dimensions: number): number[] {
  const cut = vector.length > dimensions ? vector.slice(0, dimensions) : vector;
  if (cut === vector) return vector;
  const norm = Math.sqrt(cut.reduce((sum, x) => sum + x * x, 0));
  return norm > 0 ? cut.map((x) => x / norm) : cut;
}

/** `encoding_format: "base64"`: the vector as little-endian float32, base64, as OpenAI sends it. */
export function toBase64(vector: number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((x, i) => {
    bytes.writeFloatLE(x, i * 4);
  });
  return bytes.toString('base64');
}
