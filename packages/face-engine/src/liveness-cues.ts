import type { Box } from './types.js';

/**
 * Fraction (0..1] of a MiniFASNet model's nominal crop scale (2.7x or 4.0x the face box) that fits inside the
 * image. `enlargedBox` caps the scale the same way, so 1 means the model saw its full context and e.g. 0.4 means
 * the face fills the frame and the model saw a crop only 0.4x as wide as the one it was trained for.
 * Reported as a signal; measured, it does not separate attacks from genuine photos on its own (see liveness.ts).
 */
export function cropFit(imgW: number, imgH: number, box: Box, scale: number): number {
  if (!(box.width > 0 && box.height > 0 && scale > 0)) return 0;
  const s = Math.min((imgH - 1) / box.height, (imgW - 1) / box.width, scale);
  return Math.max(0, Math.min(1, s / scale));
}

/** Mirrors an [h, w, 3] interleaved pixel buffer left-right (test-time augmentation input). */
export function flipHorizontal(data: Float32Array, w: number, h: number): Float32Array {
  if (data.length !== w * h * 3) throw new Error(`flipHorizontal: expected ${w * h * 3} values, got ${data.length}`);
  const out = new Float32Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const src = (y * w + (w - 1 - x)) * 3;
      const dst = (y * w + x) * 3;
      out[dst] = data[src] ?? 0;
      out[dst + 1] = data[src + 1] ?? 0;
      out[dst + 2] = data[src + 2] ?? 0;
    }
  }
  return out;
}
