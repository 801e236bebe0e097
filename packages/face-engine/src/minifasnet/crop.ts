import type { Box, DecodedImage } from '../types.js';

/** Integer pixel rectangle, inclusive of x0..x1 and y0..y1. */
export interface PixelRect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * Enlarges a face box by `scale` around its centre the way Silent-Face prepares its inputs: the scale is capped so
 * that the enlarged box fits in the image, and a box that sticks out on one side is shifted back inside (its size
 * is kept), then the corners are truncated to integers.
 */
export function enlargedBox(imgW: number, imgH: number, box: Box, scale: number): PixelRect {
  const s = Math.min((imgH - 1) / box.height, (imgW - 1) / box.width, scale);
  const w = box.width * s;
  const h = box.height * s;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  let left = cx - w / 2;
  let top = cy - h / 2;
  let right = cx + w / 2;
  let bottom = cy + h / 2;
  if (left < 0) {
    right -= left;
    left = 0;
  }
  if (top < 0) {
    bottom -= top;
    top = 0;
  }
  if (right > imgW - 1) {
    left -= right - imgW + 1;
    right = imgW - 1;
  }
  if (bottom > imgH - 1) {
    top -= bottom - imgH + 1;
    bottom = imgH - 1;
  }
  return { x0: Math.trunc(left), y0: Math.trunc(top), x1: Math.trunc(right), y1: Math.trunc(bottom) };
}

/**
 * Bilinear resample of the rectangle to outW x outH (half-pixel centres, edge clamping, like OpenCV INTER_LINEAR),
 * rounded to 8-bit values. Output channel order BGR when bgr is true (MiniFASNet input), RGB otherwise.
 */
export function cropResize(img: DecodedImage, r: PixelRect, outW: number, outH: number, bgr: boolean): Float32Array {
  const srcW = r.x1 - r.x0 + 1;
  const srcH = r.y1 - r.y0 + 1;
  const out = new Float32Array(outW * outH * 3);
  const sx = srcW / outW;
  const sy = srcH / outH;
  const maxX = img.width - 1;
  const maxY = img.height - 1;
  const d = img.data;
  for (let oy = 0; oy < outH; oy++) {
    let fy = (oy + 0.5) * sy - 0.5;
    if (fy < 0) fy = 0;
    const y0 = Math.floor(fy);
    const wy = fy - y0;
    const ya = Math.min(maxY, Math.max(0, r.y0 + Math.min(y0, srcH - 1)));
    const yb = Math.min(maxY, Math.max(0, r.y0 + Math.min(y0 + 1, srcH - 1)));
    for (let ox = 0; ox < outW; ox++) {
      let fx = (ox + 0.5) * sx - 0.5;
      if (fx < 0) fx = 0;
      const x0 = Math.floor(fx);
      const wx = fx - x0;
      const xa = Math.min(maxX, Math.max(0, r.x0 + Math.min(x0, srcW - 1)));
      const xb = Math.min(maxX, Math.max(0, r.x0 + Math.min(x0 + 1, srcW - 1)));
      const o = (oy * outW + ox) * 3;
      for (let c = 0; c < 3; c++) {
        const p00 = d[(ya * img.width + xa) * 3 + c] ?? 0;
        const p01 = d[(ya * img.width + xb) * 3 + c] ?? 0;
        const p10 = d[(yb * img.width + xa) * 3 + c] ?? 0;
        const p11 = d[(yb * img.width + xb) * 3 + c] ?? 0;
        const v = (p00 * (1 - wx) + p01 * wx) * (1 - wy) + (p10 * (1 - wx) + p11 * wx) * wy;
        out[o + (bgr ? 2 - c : c)] = Math.round(v);
      }
    }
  }
  return out;
}
