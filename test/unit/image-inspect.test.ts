import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { base64DecodedLength, decodeImageField, inspectImage, isComplete } from '../../shared/images/inspect';
import { animatedWebpHeader, GIF_1X1, pngDeclaring, solidImage } from '../support/images';

describe('image field decoding (strict base64 or data URL)', () => {
  it('accepts padded base64 and data URLs, keeping the declared type', () => {
    const bytes = Buffer.from('hello image');
    const plain = decodeImageField(bytes.toString('base64'));
    expect(plain.ok && Buffer.from(plain.bytes).equals(bytes)).toBe(true);
    const url = decodeImageField(`data:image/PNG;base64,${bytes.toString('base64')}`);
    expect(url).toMatchObject({ ok: true, declaredType: 'image/png' });
  });

  it.each([
    ['', 'empty'],
    ['aGVsbG8', 'not valid base64'], // unpadded
    ['aGVs bG8=', 'not valid base64'], // whitespace
    ['aGVs\nbG8=', 'not valid base64'],
    ['aGVsbG8_', 'not valid base64'], // base64url alphabet
    ['aG=sbG8=', 'not valid base64'], // padding in the middle
    ['data:image/png,aGVsbG8=', 'not base64'],
    ['data:image/png;base64,', 'empty'],
  ])('refuses %j (%s)', (text, why) => {
    const out = decodeImageField(text);
    expect(out.ok).toBe(false);
    expect(!out.ok && out.why).toContain(why);
  });

  it('knows the decoded size without decoding', () => {
    for (const n of [0, 1, 2, 3, 4, 5, 1000, 1001]) {
      const text = Buffer.alloc(n, 7).toString('base64');
      expect(base64DecodedLength(text)).toBe(n);
      expect(base64DecodedLength(`data:image/png;base64,${text}`)).toBe(n);
    }
  });
});

describe('image headers (format and declared size, nothing decoded)', () => {
  it.each(['png', 'jpeg', 'webp'] as const)('reads %s dimensions', async (format) => {
    const info = inspectImage(await solidImage(format, 37, 21));
    expect(info).toEqual({ ok: true, format, width: 37, height: 21 });
  });

  it('reads lossless WebP and progressive JPEG dimensions', async () => {
    const base = sharp({ create: { width: 50, height: 30, channels: 3, background: '#123456' } });
    expect(inspectImage(await base.clone().webp({ lossless: true }).toBuffer())).toMatchObject({
      format: 'webp',
      width: 50,
      height: 30,
    });
    expect(inspectImage(await base.clone().jpeg({ progressive: true }).toBuffer())).toMatchObject({
      format: 'jpeg',
      width: 50,
      height: 30,
    });
  });

  it('reports what a header declares, so a decompression bomb is caught before decoding', () => {
    expect(inspectImage(pngDeclaring(100_000, 100_000))).toEqual({
      ok: true,
      format: 'png',
      width: 100_000,
      height: 100_000,
    });
  });

  it('refuses GIF, animated PNG and WebP, empty and unknown images', () => {
    expect(inspectImage(GIF_1X1)).toMatchObject({ ok: false, why: expect.stringContaining('GIF') });
    expect(inspectImage(pngDeclaring(10, 10, { animated: true }))).toMatchObject({
      ok: false,
      why: expect.stringContaining('animated PNG'),
    });
    expect(inspectImage(animatedWebpHeader())).toMatchObject({
      ok: false,
      why: expect.stringContaining('animated WebP'),
    });
    expect(inspectImage(pngDeclaring(0, 10))).toMatchObject({
      ok: false,
      why: expect.stringContaining('empty'),
    });
    expect(inspectImage(Buffer.from('%PDF-1.7 not an image'))).toMatchObject({ ok: false });
    expect(inspectImage(Buffer.alloc(0))).toMatchObject({ ok: false });
  });

  it('refuses truncated headers', async () => {
    const png = await solidImage('png');
    expect(inspectImage(png.subarray(0, 20))).toMatchObject({
      ok: false,
      why: expect.stringContaining('PNG'),
    });
    const jpeg = await solidImage('jpeg');
    expect(inspectImage(jpeg.subarray(0, 6))).toMatchObject({
      ok: false,
      why: expect.stringContaining('JPEG'),
    });
  });
});

describe('image completeness (the end marker is there)', () => {
  it.each(['png', 'jpeg', 'webp'] as const)(
    'a whole %s is complete; cut anywhere, it is not',
    async (format) => {
      const bytes = await solidImage(format, 40, 30);
      const info = inspectImage(bytes);
      expect(info.ok).toBe(true);
      expect(isComplete(format, bytes)).toBe(true);
      for (const cut of [1, 2, 7, Math.floor(bytes.length / 2)]) {
        expect(isComplete(format, bytes.subarray(0, bytes.length - cut)), `${format} minus ${cut}`).toBe(
          false,
        );
      }
    },
  );

  it('a JPEG padded after its end marker is still complete', async () => {
    const jpeg = await solidImage('jpeg');
    expect(isComplete('jpeg', Buffer.concat([jpeg, Buffer.alloc(16)]))).toBe(true);
  });
});
