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
import { fetchImageUrl, type ImageUrlPolicy } from './image-url';
import type { Target } from './inference';

const ImageUrl = z.object({
  url: z.string().min(1, 'must not be empty').openapi({
    description: 'An `https` URL of the image, or a data URL (`data:image/png;base64,...`).',
    example: 'https://example.com/receipt.png',
  }),
  detail: z.enum(['auto', 'low', 'high']).optional().openapi({ description: 'Accepted and not used.' }),
});

/**
 * The `image` field of vision requests: base64, a data URL or an `https` URL as a string, or the
 * OpenAI shapes `{"url": ...}` and `{"type": "image_url", "image_url": {"url": ...}}`. Its size is
 * checked against the version's limits, not here.
 */
export const ImageField = z
  .union([
    z.string().min(1, 'must not be empty'),
    ImageUrl,
    z.object({ type: z.literal('image_url'), image_url: ImageUrl }),
  ])
  .openapi({
    description:
      'A PNG, JPEG or WebP image: base64, a data URL (`data:image/png;base64,...`) or an `https` URL, ' +
      'as a string or in the OpenAI shapes `{"url": ...}` and `{"type": "image_url", "image_url": {"url": ...}}`. ' +
      'A URL is fetched by the gateway: https only, public addresses only (after DNS and on every ' +
      'redirect), within the byte limit and IMAGE_URL_TIMEOUT_MS; the type is read from the bytes. ' +
      'Limits per version (bytes and pixels) are listed by GET /v1/models.',
    example: 'data:image/png;base64,iVBORw0KGgo...',
  });

export type ImageFieldValue = z.infer<typeof ImageField>;

/** The image as the request gave it: inline base64 (or a data URL), or a URL to fetch; and its `param`. */
export function imageSource(field: ImageFieldValue): { text: string; param: string; isUrl: boolean } {
  const [text, param] =
    typeof field === 'string'
      ? [field, 'image']
      : 'url' in field
        ? [field.url, 'image.url']
        : [field.image_url.url, 'image.image_url.url'];
  // Any scheme but data: is a URL, so `ftp://...` is refused as a URL, not as bad base64.
  return { text, param, isUrl: /^[a-z][a-z0-9+.-]*:\/\//i.test(text) };
}

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
export function checkImage(text: string, target: Target, param = 'image'): CheckedImage {
  const { maxImageBytes } = target.version.limits;
  if (maxImageBytes !== undefined && base64DecodedLength(text) > maxImageBytes) {
    throw new ApiError(
      'image_too_large',
      `'${param}' is larger than ${fmtBytes(maxImageBytes)}, the limit of ${target.served}.`,
      { param },
    );
  }
  const decoded = decodeImageField(text);
  if (!decoded.ok) throw new ApiError('invalid_image', `'${param}' ${decoded.why}.`, { param });
  const info = checkImageBytes(decoded.bytes, target, param, decoded.declaredType);
  const comma = text.startsWith('data:') ? text.indexOf(',') : -1;
  return { base64: comma === -1 ? text : text.slice(comma + 1), info, bytes: decoded.bytes.length };
}

/**
 * The checks on an image's bytes, wherever they came from: the format from the magic bytes (what a
 * data URL or a server declares must agree), the declared dimensions within the version's pixel
 * limit, read from the header alone, and the data running to its end marker.
 */
export function checkImageBytes(
  bytes: Uint8Array,
  target: Target,
  param: string,
  declaredType?: string,
): Extract<ImageInfo, { ok: true }> {
  const { maxImagePixels } = target.version.limits;
  const info = inspectImage(bytes);
  if (!info.ok) throw new ApiError('invalid_image', `'${param}' ${info.why}.`, { param });
  if (declaredType !== undefined && declaredType !== MEDIA_TYPES[info.format]) {
    throw new ApiError(
      'invalid_image',
      `'${param}' is declared as ${declaredType} but its bytes are ${MEDIA_TYPES[info.format]}.`,
      { param },
    );
  }
  const pixels = info.width * info.height;
  if (maxImagePixels !== undefined && pixels > maxImagePixels) {
    throw new ApiError(
      'image_too_large',
      `'${param}' is ${info.width}x${info.height} (${pixels} pixels); ${target.served} accepts at most ${maxImagePixels} pixels.`,
      { param },
    );
  }
  if (!isComplete(info.format, bytes)) {
    throw new ApiError(
      'invalid_image',
      `'${param}' is a truncated ${info.format.toUpperCase()} (its data ends early).`,
      {
        param,
      },
    );
  }
  return info;
}

/** A hard ceiling for a fetched image when a version names no byte limit. */
const URL_MAX_BYTES = 20 * 1024 * 1024;

/**
 * Fetches an image URL (see `fetchImageUrl`) and checks the bytes as an inline image's: refusals
 * name `param`, and nothing is reserved or billed before this returns.
 */
export async function checkImageUrl(
  url: string,
  target: Target,
  param: string,
  policy: Omit<ImageUrlPolicy, 'maxBytes'>,
): Promise<CheckedImage> {
  const maxBytes = target.version.limits.maxImageBytes ?? URL_MAX_BYTES;
  const fetched = await fetchImageUrl(url, { ...policy, maxBytes });
  if (!fetched.ok) {
    const message =
      fetched.code === 'image_too_large'
        ? `'${param}' ${fetched.why}: larger than ${fmtBytes(maxBytes)}, the limit of ${target.served}.`
        : `'${param}' ${fetched.why}.`;
    throw new ApiError(fetched.code, message, { param });
  }
  let info: Extract<ImageInfo, { ok: true }>;
  try {
    info = checkImageBytes(fetched.bytes, target, param);
  } catch (err) {
    // Say what the server called it: a web page where an image was expected is the usual mistake.
    const said = fetched.contentType?.split(';')[0]?.trim();
    if (err instanceof ApiError && err.code === 'invalid_image' && said && !said.startsWith('image/')) {
      throw new ApiError('invalid_image', `${err.message.replace(/\.$/, '')} (its server sent ${said}).`, {
        param,
      });
    }
    throw err;
  }
  return { base64: fetched.bytes.toString('base64'), info, bytes: fetched.bytes.length };
}
