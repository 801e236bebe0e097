import { createHash } from 'node:crypto';
import { errors } from '@selfie/contracts';
import sharp from 'sharp';

// The gateway only validates each upload once: libvips' operation cache (up to 50 MB) would hold memory for
// nothing, and one libvips thread per request keeps many concurrent uploads from multiplying thread stacks.
sharp.cache(false);
sharp.concurrency(1);

export type ImageContentType = 'image/jpeg' | 'image/png';

export interface UploadLimits {
  minBytes: number;
  maxBytes: number;
  maxPixels: number;
}

export interface ValidImage {
  bytes: Buffer;
  contentType: ImageContentType;
  sha256: string;
  width: number;
  height: number;
}

const DATA_URI = /^data:([^;,]*)((?:;[^;,]*)*),/i;
const ACCEPTED_DATA_URI_TYPES = new Set(['image/jpeg', 'image/jpg', 'image/png']);
function withoutPadding(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 61 /* = */) end--;
  return text.slice(0, end);
}

/**
 * Strict base64 (or base64url) decode. Node's decoder skips characters outside the alphabet, so the input is valid
 * exactly when re-encoding the bytes gives it back (up to padding): one native pass each way, where a regex over a
 * multi-megabyte string cost more than the rest of the request's parsing.
 */
function decodeStrictBase64(payload: string): Buffer | null {
  const encoding = payload.includes('-') || payload.includes('_') ? 'base64url' : 'base64';
  const bytes = Buffer.from(payload, encoding);
  return withoutPadding(bytes.toString(encoding)) === withoutPadding(payload) ? bytes : null;
}

/** Decodes the JSON upload's `data`: base64, optionally behind a `data:image/(jpeg|png);base64,` prefix. */
export function decodeBase64Image(data: string): Buffer {
  let payload = data;
  const uri = DATA_URI.exec(data);
  if (uri) {
    const type = (uri[1] ?? '').toLowerCase();
    if (!ACCEPTED_DATA_URI_TYPES.has(type) || !/;base64$/i.test(uri[2] ?? '')) {
      throw errors.invalid('Only data:image/jpeg;base64 or data:image/png;base64 data URIs are accepted', 'data');
    }
    payload = data.slice(uri[0].length);
  }
  // MIME-style line breaks are common in base64 produced by other tools.
  payload = payload.replace(/[\r\n\t ]+/g, '');
  const bytes =
    payload.length > 0 && payload.length % 4 !== 1 && (!payload.includes('=') || payload.length % 4 === 0)
      ? decodeStrictBase64(payload)
      : null;
  if (!bytes) throw errors.invalid("The 'data' field must be a base64-encoded JPG or PNG image", 'data');
  return bytes;
}

export function sniffType(bytes: Buffer): ImageContentType | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 8 && png.every((b, i) => bytes[i] === b)) return 'image/png';
  return null;
}

function formatSize(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)}MB`;
  if (bytes % 1024 === 0) return `${bytes / 1024}KB`;
  return `${bytes} bytes`;
}

export function sizeMessage(limits: UploadLimits): string {
  return `Image file size should be between ${formatSize(limits.minBytes)} and ${formatSize(limits.maxBytes)}`;
}

/**
 * JPG/PNG by magic bytes, size within limits, dimensions within the pixel budget (against decompression bombs),
 * and a real decode (catches truncated or corrupt files: 422). The bytes are kept exactly as uploaded.
 */
export async function validateImage(bytes: Buffer, limits: UploadLimits, param = 'data'): Promise<ValidImage> {
  const contentType = sniffType(bytes);
  if (!contentType) throw errors.invalid('The image must be a JPG or PNG file', param);
  if (bytes.length < limits.minBytes || bytes.length > limits.maxBytes)
    throw errors.invalid(sizeMessage(limits), param);

  const options: sharp.SharpOptions = { limitInputPixels: limits.maxPixels, failOn: 'truncated', sequentialRead: true };
  let width = 0;
  let height = 0;
  try {
    const meta = await sharp(bytes, options).metadata();
    width = meta.width ?? 0;
    height = meta.height ?? 0;
    if (width * height > limits.maxPixels) throw new Error('Input image exceeds pixel limit');
    if (!width || !height || (meta.format !== 'jpeg' && meta.format !== 'png')) throw new Error('not a JPEG/PNG');
    // A cheap full decode: JPEG shrink-on-load keeps it fast, and truncated data fails here.
    await sharp(bytes, options).resize(64, 64, { fit: 'inside' }).raw().toBuffer();
  } catch (err) {
    if (/pixel limit/i.test((err as Error).message)) {
      throw errors.invalid(`Image dimensions should not exceed ${limits.maxPixels} pixels`, param);
    }
    throw errors.unprocessableImage('The image could not be decoded as a JPG or PNG', param);
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { bytes, contentType, sha256, width, height };
}
