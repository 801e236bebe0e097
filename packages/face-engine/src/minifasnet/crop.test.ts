import { describe, expect, it } from 'vitest';
import { enlargedBox } from './crop.js';

describe('enlargedBox', () => {
  it('scales around the centre when the box fits', () => {
    expect(enlargedBox(1000, 1000, { x: 400, y: 400, width: 100, height: 100 }, 2)).toEqual({
      x0: 350,
      y0: 350,
      x1: 550,
      y1: 550,
    });
  });
  it('shifts the enlarged box back inside the image and caps the scale', () => {
    const r = enlargedBox(640, 480, { x: 0, y: 10, width: 100, height: 100 }, 2.7);
    expect(r.x0).toBe(0);
    expect(r.x1).toBe(270);
    expect(r.y0).toBe(0);
    const capped = enlargedBox(200, 200, { x: 50, y: 50, width: 100, height: 100 }, 4);
    expect(capped).toEqual({ x0: 0, y0: 0, x1: 199, y1: 199 });
  });
});
