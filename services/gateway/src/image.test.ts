import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeBase64Image, sizeMessage, sniffType, validateImage } from './image.js';

const limits = { minBytes: 100, maxBytes: 4 * 1024 * 1024, maxPixels: 10_000 };

describe('decodeBase64Image', () => {
  it('decodes plain, line-wrapped and data-URI base64', () => {
    const bytes = Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x10]);
    const b64 = bytes.toString('base64');
    expect(decodeBase64Image(b64).equals(bytes)).toBe(true);
    expect(decodeBase64Image(`${b64.slice(0, 4)}\r\n${b64.slice(4)}`).equals(bytes)).toBe(true);
    expect(decodeBase64Image(`data:image/jpeg;base64,${b64}`).equals(bytes)).toBe(true);
    expect(decodeBase64Image(`DATA:IMAGE/PNG;BASE64,${b64}`).equals(bytes)).toBe(true);
  });

  it('refuses other data URIs and broken base64 with param data', () => {
    for (const bad of ['data:image/gif;base64,AAAA', 'data:image/png,AAAA', '@@@@', 'AAAAA', 'AA=A', '']) {
      expect(() => decodeBase64Image(bad), bad).toThrow(
        expect.objectContaining({ param: 'data', code: 'INVALID_REQUEST' }),
      );
    }
  });
});

describe('validateImage', () => {
  it('sniffs JPEG and PNG by magic bytes only', async () => {
    const png = await sharp({ create: { width: 10, height: 10, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    expect(sniffType(png)).toBe('image/png');
    expect(sniffType(Buffer.from('GIF89a'))).toBeNull();
  });

  it('derives the size message from the limits', () => {
    expect(sizeMessage({ minBytes: 34 * 1024, maxBytes: 4 * 1024 * 1024, maxPixels: 1 })).toBe(
      'Image file size should be between 34KB and 4MB',
    );
    expect(sizeMessage({ minBytes: 1000, maxBytes: 2048, maxPixels: 1 })).toBe(
      'Image file size should be between 1000 bytes and 2KB',
    );
  });

  it('refuses too many pixels (400) and undecodable bytes (422)', async () => {
    const big = await sharp({ create: { width: 200, height: 200, channels: 3, background: '#123' } })
      .jpeg()
      .toBuffer();
    await expect(validateImage(big, limits)).rejects.toMatchObject({ code: 'INVALID_REQUEST', param: 'data' });
    const ok = await sharp({ create: { width: 90, height: 90, channels: 3, background: '#123' } })
      .jpeg()
      .toBuffer();
    const valid = await validateImage(ok, limits);
    expect(valid).toMatchObject({ contentType: 'image/jpeg', width: 90, height: 90 });
    expect(valid.sha256).toMatch(/^[0-9a-f]{64}$/);
    const broken = Buffer.concat([ok.subarray(0, 3), Buffer.alloc(400, 7)]);
    await expect(validateImage(broken, limits, 'file')).rejects.toMatchObject({
      code: 'UNPROCESSABLE_IMAGE',
      param: 'file',
    });
  });
});
