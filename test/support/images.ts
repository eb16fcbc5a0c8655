import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

/** Black text on white, rendered with the machine's DejaVu fonts: what the OCR versions must read. */
export function textPng(
  text: string,
  opts: { width?: number; height?: number; size?: number } = {},
): Promise<Buffer> {
  const { width = 800, height = 200, size = 64 } = opts;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    '<rect width="100%" height="100%" fill="white"/>' +
    `<text x="40" y="${Math.round(height / 2 + size / 3)}" font-family="DejaVu Sans" font-size="${size}" fill="black">${text}</text>` +
    '</svg>';
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** A plain landscape (sky, hills, sun): an image every moderation version should find harmless. */
export function landscapeJpeg(): Promise<Buffer> {
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480">' +
    '<defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#4a90d9"/><stop offset="1" stop-color="#cfe8ff"/></linearGradient></defs>' +
    '<rect width="640" height="480" fill="url(#sky)"/>' +
    '<circle cx="520" cy="90" r="45" fill="#ffd34d"/>' +
    '<path d="M0 330 Q160 240 320 320 T640 300 V480 H0 Z" fill="#3f8f3a"/>' +
    '<path d="M0 400 Q200 340 420 400 T640 390 V480 H0 Z" fill="#2d6e2a"/>' +
    '</svg>';
  return sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toBuffer();
}

export function solidImage(format: 'png' | 'jpeg' | 'webp', width = 32, height = 24): Promise<Buffer> {
  const img = sharp({ create: { width, height, channels: 3, background: { r: 200, g: 120, b: 40 } } });
  return (format === 'png' ? img.png() : format === 'jpeg' ? img.jpeg() : img.webp()).toBuffer();
}

/** A valid PNG whose header declares `width` x `height`: decoding it would allocate width*height*4 bytes. */
export function pngDeclaring(width: number, height: number, opts: { animated?: boolean } = {}): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    return Buffer.concat([len, Buffer.from(type, 'ascii'), data, Buffer.alloc(4)]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...(opts.animated ? [chunk('acTL', Buffer.alloc(8))] : []),
    chunk('IDAT', deflateSync(Buffer.alloc(64))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The header of an animated WebP (VP8X with the animation flag): enough for the gateway to refuse it. */
export function animatedWebpHeader(width = 8, height = 8): Buffer {
  const vp8x = Buffer.alloc(18);
  vp8x.write('VP8X', 0, 'ascii');
  vp8x.writeUInt32LE(10, 4);
  vp8x[8] = 0x02; // animation
  vp8x.writeUIntLE(width - 1, 12, 3);
  vp8x.writeUIntLE(height - 1, 15, 3);
  const riff = Buffer.alloc(12);
  riff.write('RIFF', 0, 'ascii');
  riff.writeUInt32LE(4 + vp8x.length, 4);
  riff.write('WEBP', 8, 'ascii');
  return Buffer.concat([riff, vp8x]);
}

/** The smallest GIF89a (1x1). */
export const GIF_1X1 = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');

export const b64 = (b: Buffer) => b.toString('base64');
export const dataUrl = (type: string, b: Buffer) => `data:${type};base64,${b.toString('base64')}`;
