import sharp from 'sharp';
import type { DecodedImage } from './types.js';

/** The bytes are not a decodable image. Unrecoverable: retrying the same bytes cannot succeed. */
export class ImageDecodeError extends Error {
  readonly code = 'IMAGE_DECODE_ERROR';
  readonly unrecoverable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageDecodeError';
  }
}

/**
 * Long side of the analysis image. Larger photos are downsized once (JPEG shrink-on-load makes that cheap); smaller
 * ones are kept as they are. Measured against 1024 on every labelled photo: the same verdicts within one photo per
 * row, 13 ms less per photo. The detector itself runs at a long side of 320.
 */
export const MAX_ANALYSIS_SIDE = 640;
/** Refuse absurd images before decoding them (decompression bombs). */
const MAX_INPUT_PIXELS = 100_000_000;

/**
 * Decodes JPEG/PNG/WebP bytes: applies the EXIF orientation, converts to 8-bit sRGB RGB (alpha flattened on
 * white), and downsizes so that the long side is at most MAX_ANALYSIS_SIDE.
 */
export async function decodeImage(bytes: Uint8Array | Buffer, maxSide = MAX_ANALYSIS_SIDE): Promise<DecodedImage> {
  if (!bytes || bytes.length === 0) throw new ImageDecodeError('empty image');
  const input = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let meta: sharp.Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' }).metadata();
  } catch (err) {
    throw new ImageDecodeError(`cannot decode image: ${(err as Error).message}`, { cause: err });
  }
  if (!meta.width || !meta.height || !meta.format) throw new ImageDecodeError('image has no dimensions');
  const orientation = meta.orientation ?? 1;
  const swap = orientation >= 5 && orientation <= 8;
  const originalWidth = swap ? meta.height : meta.width;
  const originalHeight = swap ? meta.width : meta.height;
  const longSide = Math.max(originalWidth, originalHeight);
  const scale = longSide > maxSide ? maxSide / longSide : 1;
  const width = Math.max(1, Math.round(originalWidth * scale));
  const height = Math.max(1, Math.round(originalHeight * scale));
  try {
    let pipeline = sharp(input, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' })
      .rotate()
      .toColourspace('srgb')
      .flatten({ background: { r: 255, g: 255, b: 255 } });
    if (scale < 1) pipeline = pipeline.resize(width, height, { fit: 'fill', kernel: 'lanczos3' });
    const { data, info } = await pipeline.removeAlpha().raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== width || info.height !== height) {
      throw new Error(`unexpected raw output ${info.width}x${info.height}x${info.channels}`);
    }
    return {
      width,
      height,
      originalWidth,
      originalHeight,
      scale: width / originalWidth,
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      exifOrientation: orientation,
      format: meta.format,
    };
  } catch (err) {
    throw new ImageDecodeError(`cannot decode image: ${(err as Error).message}`, { cause: err });
  }
}
