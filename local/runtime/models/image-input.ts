import sharp, { type Sharp } from 'sharp';
import { ModelInputError } from '../model-handler';

/** Decoding refuses anything larger, whatever the gateway let through (defence in depth). */
export const MAX_PIXELS = 50_000_000;

/** The vision models' request contract: JSON `{"image": "<base64>"}`. */
export function parseImageBody(body: Buffer, contentType: string | undefined): Buffer {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType && mediaType !== 'application/json' && mediaType !== 'application/octet-stream') {
    throw new ModelInputError(`Unsupported content type ${mediaType}: send application/json.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ModelInputError('Body is not valid JSON: expected {"image": "<base64>"}.');
  }
  const image = (parsed as { image?: unknown } | null)?.image;
  if (typeof image !== 'string' || image.length === 0) {
    throw new ModelInputError('"image" must be a non-empty base64 string.');
  }
  const bytes = Buffer.from(image, 'base64');
  if (bytes.length === 0) throw new ModelInputError('"image" decodes to no bytes.');
  return bytes;
}

/** Runs a sharp pipeline on untrusted bytes; anything it cannot decode is the caller's input error. */
export async function decodeWith<T>(bytes: Buffer, pipeline: (img: Sharp) => Promise<T>): Promise<T> {
  try {
    return await pipeline(sharp(bytes, { failOn: 'warning', limitInputPixels: MAX_PIXELS, animated: false }));
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ModelInputError(`the image could not be decoded: ${why}`);
  }
}

/** A re-encoded PNG that certainly decodes: what the OCR engines read (they decode again internally). */
export function toCleanPng(bytes: Buffer): Promise<Buffer> {
  return decodeWith(bytes, (img) => img.rotate().png({ compressionLevel: 1 }).toBuffer());
}
