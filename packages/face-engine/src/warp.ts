import type { DecodedImage, Point2 } from './types.js';

/**
 * A square region of the image, possibly rotated: centre, side length (pixels) and rotation (radians,
 * counter-clockwise in the image as seen on screen). Sampling it gives an upright crop of the content.
 */
export interface SquareRegion {
  cx: number;
  cy: number;
  side: number;
  angle: number;
}

export interface SampleOptions {
  /** output value = pixel * scale + offset (e.g. 1/255 and 0 for [0,1], 1/127.5 and -1 for [-1,1]) */
  scale: number;
  offset: number;
  /** BGR channel order instead of RGB */
  bgr?: boolean;
}

/**
 * Bilinear sample of a (rotated) square region into an out x out NHWC float buffer. Pixels outside the image read
 * as black, as a camera frame padded by the models' own pre-processing would.
 */
export function sampleRegion(img: DecodedImage, r: SquareRegion, out: number, o: SampleOptions): Float32Array {
  const dst = new Float32Array(out * out * 3);
  const cos = Math.cos(r.angle);
  const sin = Math.sin(r.angle);
  const step = r.side / out;
  const { width: W, height: H, data } = img;
  for (let v = 0; v < out; v++) {
    const dy = (v + 0.5) * step - r.side / 2;
    for (let u = 0; u < out; u++) {
      const dx = (u + 0.5) * step - r.side / 2;
      // rotate the crop's axes by the region angle (counter-clockwise on screen = negative in image y-down maths)
      const sx = r.cx + dx * cos + dy * sin - 0.5;
      const sy = r.cy - dx * sin + dy * cos - 0.5;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const base = (v * out + u) * 3;
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let k = 0; k < 4; k++) {
          const xx = x0 + (k & 1);
          const yy = y0 + (k >> 1);
          if (xx < 0 || yy < 0 || xx >= W || yy >= H) continue;
          const w = ((k & 1) === 1 ? fx : 1 - fx) * (k >> 1 === 1 ? fy : 1 - fy);
          acc += w * (data[(yy * W + xx) * 3 + c] ?? 0);
        }
        dst[base + (o.bgr ? 2 - c : c)] = acc * o.scale + o.offset;
      }
    }
  }
  return dst;
}

/** Maps a point given in the sampled crop's pixel units (0..out) back to image pixels. */
export function regionToImage(r: SquareRegion, out: number, x: number, y: number): Point2 {
  const cos = Math.cos(r.angle);
  const sin = Math.sin(r.angle);
  const k = r.side / out;
  const dx = x * k - r.side / 2;
  const dy = y * k - r.side / 2;
  return [r.cx + dx * cos + dy * sin, r.cy - dx * sin + dy * cos];
}
