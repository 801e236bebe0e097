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
