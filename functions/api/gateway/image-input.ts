import { z } from '@hono/zod-openapi';
import { ApiError } from '#shared/errors';
import {
  base64DecodedLength,
  decodeImageField,
  type ImageInfo,
  inspectImage,
  isComplete,
  MEDIA_TYPES,
} from '#shared/images/inspect';
import type { Target } from './inference';

/** The `image` field of vision requests. Its size is checked against the version's limits, not here. */
export const ImageField = z
  .string()
  .min(1, 'must not be empty')
  .openapi({
    description:
      'A PNG, JPEG or WebP image as base64, or as a data URL (`data:image/png;base64,...`). ' +
      'Limits per version (bytes and pixels) are listed by GET /v1/models.',
    example: 'data:image/png;base64,iVBORw0KGgo...',
  });

/** A whole (1x1) PNG as a data URL: what a request's `image` looks like, in the examples. */
export const imageExample =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

export interface CheckedImage {
  /** Plain base64 (a data URL's prefix removed), as the model receives it. */
  base64: string;
  info: Extract<ImageInfo, { ok: true }>;
  bytes: number;
}

const fmtBytes = (n: number) => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${n} bytes`);

/**
 * Checks an image field before any model time is spent: size from the base64 length (413 before
 * decoding), strict base64, magic bytes (PNG, JPEG, WebP; GIF and animations refused), the data URL's
 * type against the bytes, and the declared dimensions against the version's pixel limit (413), read
 * from the header alone, and that the data runs to its end marker (a truncated image is 400).
 * Every refusal names `image` and the limit.
 */
export function checkImage(text: string, target: Target): CheckedImage {
  const { maxImageBytes, maxImagePixels } = target.version.limits;
  if (maxImageBytes !== undefined && base64DecodedLength(text) > maxImageBytes) {
    throw new ApiError(
      'image_too_large',
      `'image' is larger than ${fmtBytes(maxImageBytes)}, the limit of ${target.served}.`,
      { param: 'image' },
    );
  }
  const decoded = decodeImageField(text);
  if (!decoded.ok) throw new ApiError('invalid_image', `'image' ${decoded.why}.`, { param: 'image' });
  const info = inspectImage(decoded.bytes);
  if (!info.ok) throw new ApiError('invalid_image', `'image' ${info.why}.`, { param: 'image' });
  if (decoded.declaredType !== undefined && decoded.declaredType !== MEDIA_TYPES[info.format]) {
    throw new ApiError(
      'invalid_image',
      `'image' is declared as ${decoded.declaredType} but its bytes are ${MEDIA_TYPES[info.format]}.`,
      { param: 'image' },
    );
  }
  const pixels = info.width * info.height;
  if (maxImagePixels !== undefined && pixels > maxImagePixels) {
    throw new ApiError(
      'image_too_large',
      `'image' is ${info.width}x${info.height} (${pixels} pixels); ${target.served} accepts at most ${maxImagePixels} pixels.`,
      { param: 'image' },
    );
  }
  if (!isComplete(info.format, decoded.bytes)) {
    throw new ApiError(
      'invalid_image',
      `'image' is a truncated ${info.format.toUpperCase()} (its data ends early).`,
      {
        param: 'image',
      },
    );
  }
  const comma = text.startsWith('data:') ? text.indexOf(',') : -1;
  return { base64: comma === -1 ? text : text.slice(comma + 1), info, bytes: decoded.bytes.length };
}
