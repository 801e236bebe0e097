import { readFileSync } from 'node:fs';

/** Point in a right-handed frame: x to the image right, y up, z towards the viewer. */
export type Vec3 = [number, number, number];

export interface CanonicalFace {
  /** 468 vertices of MediaPipe's canonical face model (same frame as Vec3; centimetres). */
  vertices: Vec3[];
  /** Landmarks MediaPipe's face-geometry pipeline uses for its weighted Procrustes fit, with their weights. */
  procrustesBasis: [number, number][];
}

export function loadCanonicalFace(path: string): CanonicalFace {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as CanonicalFace;
  if (!Array.isArray(raw.vertices) || raw.vertices.length !== 468 || !Array.isArray(raw.procrustesBasis)) {
    throw new Error(`canonical face model ${path}: expected 468 vertices and a Procrustes basis`);
  }
  return raw;
}

/** Eigenvector of the largest eigenvalue of a symmetric 4x4 matrix (cyclic Jacobi rotations). */
function dominantEigenvector4(m: number[][]): number[] {
  const a = m.map((r) => [...r]);
  const v = [0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((j) => (i === j ? 1 : 0)));
  const at = (i: number, j: number) => (a[i] as number[])[j] as number;
  const set = (i: number, j: number, x: number) => {
    (a[i] as number[])[j] = x;
  };
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    for (let p = 0; p < 4; p++) for (let q = p + 1; q < 4; q++) off += at(p, q) ** 2;
    if (off < 1e-20) break;
    for (let p = 0; p < 4; p++) {
      for (let q = p + 1; q < 4; q++) {
        const apq = at(p, q);
        if (Math.abs(apq) < 1e-30) continue;
        const theta = (at(q, q) - at(p, p)) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < 4; k++) {
          const akp = at(k, p);
          const akq = at(k, q);
          set(k, p, c * akp - s * akq);
          set(k, q, s * akp + c * akq);
        }
        for (let k = 0; k < 4; k++) {
          const apk = at(p, k);
          const aqk = at(q, k);
          set(p, k, c * apk - s * aqk);
          set(q, k, s * apk + c * aqk);
        }
        for (let k = 0; k < 4; k++) {
          const row = v[k] as number[];
          const vkp = row[p] as number;
          const vkq = row[q] as number;
          row[p] = c * vkp - s * vkq;
          row[q] = s * vkp + c * vkq;
        }
      }
    }
  }
  let best = 0;
  for (let i = 1; i < 4; i++) if (at(i, i) > at(best, best)) best = i;
  return v.map((row) => row[best] as number);
}

/**
 * Rotation (3x3, row-major) that best maps the `from` points onto the `to` points in the weighted least-squares
 * sense (Horn's closed-form quaternion solution; translation and scale removed first).
 */
export function fitRotation(from: Vec3[], to: Vec3[], weights: number[]): number[][] {
  let wsum = 0;
  let [ax, ay, az, bx, by, bz] = [0, 0, 0, 0, 0, 0];
  for (let i = 0; i < from.length; i++) {
    const w = weights[i] ?? 0;
    const [a0, a1, a2] = from[i] as Vec3;
    const [b0, b1, b2] = to[i] as Vec3;
    wsum += w;
    ax += w * a0;
    ay += w * a1;
    az += w * a2;
    bx += w * b0;
    by += w * b1;
    bz += w * b2;
  }
  const ca: Vec3 = [ax / wsum, ay / wsum, az / wsum];
  const cb: Vec3 = [bx / wsum, by / wsum, bz / wsum];
  // S[j][k] = sum w * (a_j - ca_j) * (b_k - cb_k)
  const S = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  for (let i = 0; i < from.length; i++) {
    const w = weights[i] ?? 0;
    const a = from[i] as Vec3;
    const b = to[i] as Vec3;
    for (let j = 0; j < 3; j++) {
      const row = S[j] as number[];
      for (let k = 0; k < 3; k++) {
        row[k] =
          (row[k] as number) + w * ((a[j] as number) - (ca[j] as number)) * ((b[k] as number) - (cb[k] as number));
      }
    }
  }
  const s = (j: number, k: number) => (S[j] as number[])[k] as number;
  const [xx, xy, xz, yx, yy, yz, zx, zy, zz] = [
    s(0, 0),
    s(0, 1),
    s(0, 2),
    s(1, 0),
    s(1, 1),
    s(1, 2),
    s(2, 0),
    s(2, 1),
    s(2, 2),
  ];
  const N = [
    [xx + yy + zz, yz - zy, zx - xz, xy - yx],
    [yz - zy, xx - yy - zz, xy + yx, zx + xz],
    [zx - xz, xy + yx, -xx + yy - zz, yz + zy],
    [xy - yx, zx + xz, yz + zy, -xx - yy + zz],
  ];
  const [q0, q1, q2, q3] = dominantEigenvector4(N) as [number, number, number, number];
  const n = Math.hypot(q0, q1, q2, q3) || 1;
  const [w, x, y, z] = [q0 / n, q1 / n, q2 / n, q3 / n];
  return [
    [w * w + x * x - y * y - z * z, 2 * (x * y - w * z), 2 * (x * z + w * y)],
    [2 * (x * y + w * z), w * w - x * x + y * y - z * z, 2 * (y * z - w * x)],
    [2 * (x * z - w * y), 2 * (y * z + w * x), w * w - x * x - y * y + z * z],
  ];
}

export interface HeadPose {
  yaw: number;
  pitch: number;
  roll: number;
}

/**
 * Head pose in degrees from 468 face landmarks given in image pixels (x right, y down) with MediaPipe's relative
 * depth z (smaller = nearer the camera, same scale as x). The landmarks are fitted to MediaPipe's canonical face
 * with its own weighted Procrustes basis; the angles follow the sign convention documented in orientation.ts.
 */
export function headPose(mesh: ArrayLike<number>, canonical: CanonicalFace): HeadPose {
  const from: Vec3[] = [];
  const to: Vec3[] = [];
  const weights: number[] = [];
  for (const [idx, weight] of canonical.procrustesBasis) {
    from.push(canonical.vertices[idx] as Vec3);
    to.push([mesh[idx * 3] as number, -(mesh[idx * 3 + 1] as number), -(mesh[idx * 3 + 2] as number)]);
    weights.push(weight);
  }
  const R = fitRotation(from, to, weights);
  const r = (i: number, j: number) => (R[i] as number[])[j] as number;
  // columns of R: where the canonical axes point in the image frame
  const nx = r(0, 2);
  const ny = r(1, 2);
  const nz = r(2, 2);
  const deg = 180 / Math.PI;
  return {
    // face normal towards the image left = positive yaw
    yaw: Math.atan2(-nx, nz) * deg,
    // normal pointing down (chin to chest) = positive pitch
    pitch: Math.asin(Math.max(-1, Math.min(1, -ny))) * deg,
    // canonical x axis rotated counter-clockwise on screen = positive roll
    roll: Math.atan2(r(1, 0), r(0, 0)) * deg,
  };
}
