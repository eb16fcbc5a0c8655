/**
 * Image checks the gateway makes before any model sees an image: strict base64 (or a data URL),
 * the format from its magic bytes, and the dimensions the header declares, all without decoding a
 * pixel. A decompression bomb is refused from its first few dozen bytes.
 */

export type ImageFormat = 'png' | 'jpeg' | 'webp';

export const MEDIA_TYPES: Record<ImageFormat, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
};

export type DecodedField =
  | { ok: true; bytes: Uint8Array; declaredType?: string }
  | { ok: false; why: string };

const DATA_URL_RE = /^data:([\w.+-]+\/[\w.+-]+)?((?:;[\w.+-]+=[\w.+-]+)*);base64,/i;
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decoded size of a base64 text, without decoding it (so an oversize image costs nothing). */
export function base64DecodedLength(text: string): number {
  const body = stripDataUrl(text);
  const padding = body.endsWith('==') ? 2 : body.endsWith('=') ? 1 : 0;
  return Math.floor((body.length * 3) / 4) - padding;
}

function stripDataUrl(text: string): string {
  const m = DATA_URL_RE.exec(text);
  return m ? text.slice(m[0].length) : text;
}

/** Strict base64 (standard alphabet, padded, no whitespace) or a `data:<type>;base64,` URL. */
export function decodeImageField(text: string): DecodedField {
  let body = text;
  let declaredType: string | undefined;
  if (text.startsWith('data:')) {
    const m = DATA_URL_RE.exec(text);
    if (!m)
      return { ok: false, why: 'is a data URL that is not base64 (expected data:image/png;base64,...)' };
    declaredType = m[1]?.toLowerCase();
    body = text.slice(m[0].length);
  }
  if (body.length === 0) return { ok: false, why: 'is empty' };
  if (body.length % 4 !== 0 || !BASE64_RE.test(body)) {
    return { ok: false, why: 'is not valid base64 (standard alphabet, padded, no whitespace)' };
  }
  const bytes = Buffer.from(body, 'base64');
  if (bytes.length === 0) return { ok: false, why: 'is empty' };
  return declaredType === undefined ? { ok: true, bytes } : { ok: true, bytes, declaredType };
}

export type ImageInfo =
  | { ok: true; format: ImageFormat; width: number; height: number }
  | { ok: false; why: string };

/** Format and declared dimensions from the header alone. */
export function inspectImage(b: Uint8Array): ImageInfo {
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return inspectPng(b);
  if (startsWith(b, [0xff, 0xd8, 0xff])) return inspectJpeg(b);
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return inspectWebp(b);
  if (ascii(b, 0, 4) === 'GIF8')
    return { ok: false, why: 'is a GIF; send a PNG, JPEG or WebP (GIF and animations are not supported)' };
  return { ok: false, why: 'is not a PNG, JPEG or WebP image' };
}

function inspectPng(b: Uint8Array): ImageInfo {
  // IHDR is always the first chunk: length(4) 'IHDR'(4) width(4) height(4).
  if (b.length < 33 || ascii(b, 12, 4) !== 'IHDR')
    return { ok: false, why: 'is a truncated or malformed PNG' };
  const width = u32be(b, 16);
  const height = u32be(b, 20);
  // APNG announces itself with an acTL chunk before the first IDAT.
  for (let at = 8; at + 8 <= b.length; ) {
    const length = u32be(b, at);
    const type = ascii(b, at + 4, 4);
    if (type === 'acTL') return { ok: false, why: 'is an animated PNG; send a single frame' };
    if (type === 'IDAT' || type === 'IEND') break;
    at += 12 + length;
  }
  return sized('png', width, height);
}

function inspectJpeg(b: Uint8Array): ImageInfo {
  let at = 2;
  while (at + 4 <= b.length) {
    if (b[at] !== 0xff) return { ok: false, why: 'is a malformed JPEG' };
    const marker = b[at + 1] as number;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    const length = u16be(b, at + 2);
    // SOF0..SOF15 carry the frame size, except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (at + 9 > b.length) break;
      return sized('jpeg', u16be(b, at + 7), u16be(b, at + 5));
    }
    if (marker === 0xda || marker === 0xd9) break; // scan data or end before any frame header
    at += 2 + length;
  }
  return { ok: false, why: 'is a truncated or malformed JPEG (no frame header)' };
}

function inspectWebp(b: Uint8Array): ImageInfo {
  const chunk = ascii(b, 12, 4);
  if (chunk === 'VP8 ' && b.length >= 30) {
    return sized('webp', u16le(b, 26) & 0x3fff, u16le(b, 28) & 0x3fff);
  }
  if (chunk === 'VP8L' && b.length >= 25 && b[20] === 0x2f) {
    const bits =
      (b[21] as number) | ((b[22] as number) << 8) | ((b[23] as number) << 16) | ((b[24] as number) << 24);
    return sized('webp', (bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
  }
  if (chunk === 'VP8X' && b.length >= 30) {
    if (((b[20] as number) & 0x02) !== 0)
      return { ok: false, why: 'is an animated WebP; send a single frame' };
    return sized('webp', u24le(b, 24) + 1, u24le(b, 27) + 1);
  }
  return { ok: false, why: 'is a truncated or malformed WebP' };
}

/**
 * Whether the bytes run to the format's end marker: a PNG's IEND chunk, a JPEG's EOI marker, a
 * WebP's whole RIFF length. An image cut short is refused here, before a model spends time
 * decoding half of it (and before the request counts against any limit).
 */
export function isComplete(format: ImageFormat, b: Uint8Array): boolean {
  if (format === 'png') return b.length >= 45 && ascii(b, b.length - 8, 4) === 'IEND';
  if (format === 'jpeg') {
    // Some encoders pad after EOI: look for it near the end, not only in the last two bytes.
    for (let at = b.length - 2; at >= Math.max(2, b.length - 64); at--) {
      if (b[at] === 0xff && b[at + 1] === 0xd9) return true;
    }
    return false;
  }
  const riffLength =
    ((b[4] as number) | ((b[5] as number) << 8) | ((b[6] as number) << 16)) + (b[7] as number) * 2 ** 24;
  return b.length >= riffLength + 8;
}

function sized(format: ImageFormat, width: number, height: number): ImageInfo {
  if (width === 0 || height === 0) return { ok: false, why: `declares an empty ${width}x${height} image` };
  return { ok: true, format, width, height };
}

function startsWith(b: Uint8Array, prefix: number[]): boolean {
  return b.length >= prefix.length && prefix.every((x, i) => b[i] === x);
}
function ascii(b: Uint8Array, at: number, n: number): string {
  return b.length >= at + n ? String.fromCharCode(...b.subarray(at, at + n)) : '';
}
function u16be(b: Uint8Array, at: number): number {
  return ((b[at] as number) << 8) | (b[at + 1] as number);
}
function u16le(b: Uint8Array, at: number): number {
  return (b[at] as number) | ((b[at + 1] as number) << 8);
}
function u24le(b: Uint8Array, at: number): number {
  return (b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16);
}
function u32be(b: Uint8Array, at: number): number {
  return (
    (((b[at] as number) << 24) >>> 0) +
    (((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number))
  );
}
