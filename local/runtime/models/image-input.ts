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

/**
 * A re-encoded PNG of at most `maxPixels` (aspect kept), and the factor that takes its coordinates
 * back to the caller's image. A model whose cost grows with the pixels it reads (PP-OCR's detection
 * runs on the whole image: 25 s for a blank 4096x4096 here) then costs what this size costs, whatever
 * the upload; the header-only read comes first, so a small image is never decoded twice.
 */
export async function toPngWithin(
  bytes: Buffer,
  maxPixels: number,
): Promise<{ png: Buffer; scaleX: number; scaleY: number }> {
  const meta = await decodeWith(bytes, (img) => img.metadata());
  const pixels = (meta.width ?? 0) * (meta.height ?? 0);
  if (!(pixels > maxPixels)) return { png: await toCleanPng(bytes), scaleX: 1, scaleY: 1 };
  const factor = Math.sqrt(maxPixels / pixels);
  // EXIF orientations 5-8 turn the image a quarter: its upright width is the stored height.
  const turned = (meta.orientation ?? 1) >= 5;
  const uprightWidth = turned ? meta.height! : meta.width!;
  const uprightHeight = turned ? meta.width! : meta.height!;
  const width = Math.max(1, Math.floor(uprightWidth * factor));
  const height = Math.max(1, Math.floor(uprightHeight * factor));
  const png = await decodeWith(bytes, (img) =>
    img.rotate().resize(width, height, { fit: 'fill' }).png({ compressionLevel: 1 }).toBuffer(),
  );
  return { png, scaleX: uprightWidth / width, scaleY: uprightHeight / height };
}
