import { describe, expect, it } from 'vitest';
import { cropFit } from './liveness-cues.js';

describe('cropFit', () => {
  it('is 1 when the enlarged crop fits in the image', () => {
    expect(cropFit(1000, 1000, { x: 450, y: 450, width: 100, height: 100 }, 2.7)).toBe(1);
  });
  it('is the capped fraction when the face fills the frame', () => {
    // (320-1)/200 = 1.595 -> 1.595/4.0
    expect(cropFit(320, 428, { x: 60, y: 100, width: 200, height: 200 }, 4.0)).toBeCloseTo(1.595 / 4, 5);
  });
  it('is 0 for a degenerate box', () => {
    expect(cropFit(320, 240, { x: 0, y: 0, width: 0, height: 10 }, 2.7)).toBe(0);
  });
});
