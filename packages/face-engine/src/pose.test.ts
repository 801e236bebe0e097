import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CANONICAL_FACE_FILE, packageRoot } from './engine.js';
import { keypointPose } from './faces.js';
import { headPose, loadCanonicalFace } from './pose.js';
import { regionToImage, sampleRegion } from './warp.js';

const canonical = loadCanonicalFace(join(packageRoot, 'models', CANONICAL_FACE_FILE));

/** The canonical face rotated (y-up frame, degrees), projected as MediaPipe reports landmarks (y down, z away). */
function meshFor(rot: { x?: number; y?: number; z?: number }): number[] {
  const r = (d = 0) => (d * Math.PI) / 180;
  const cos = (d = 0) => Math.cos(r(d));
  const sin = (d = 0) => Math.sin(r(d));
  const [cx, sx, cy, sy, cz, sz] = [cos(rot.x), sin(rot.x), cos(rot.y), sin(rot.y), cos(rot.z), sin(rot.z)];
  const mesh: number[] = [];
  for (const [x0, y0, z0] of canonical.vertices) {
    // about z (roll), then x (pitch), then y (yaw)
    const x1 = cz * x0 - sz * y0;
    const y1 = sz * x0 + cz * y0;
    const y2 = cx * y1 - sx * z0;
    const z2 = sx * y1 + cx * z0;
    const x3 = cy * x1 + sy * z2;
    const z3 = -sy * x1 + cy * z2;
    mesh.push(300 + 12 * x3, 300 - 12 * y2, -12 * z3);
  }
  return mesh;
}

describe('headPose', () => {
  it('is zero for the canonical face and follows the documented sign convention', () => {
    const z = headPose(meshFor({}), canonical);
    for (const v of [z.yaw, z.pitch, z.roll]) expect(Math.abs(v)).toBeLessThan(1e-6);
    // turned towards the image left (subject looks to their right): yaw > 0
    expect(headPose(meshFor({ y: -30 }), canonical).yaw).toBeCloseTo(30, 6);
    // chin towards the chest: pitch > 0
    expect(headPose(meshFor({ x: 20 }), canonical).pitch).toBeCloseTo(20, 6);
    // counter-clockwise on screen: roll > 0
    expect(headPose(meshFor({ z: 15 }), canonical).roll).toBeCloseTo(15, 6);
  });
});

describe('keypointPose', () => {
  it('reads yaw from the nose position between the eyes and roll from the eye line', () => {
    const frontal = keypointPose({
      rightEye: [40, 50],
      leftEye: [80, 50],
      nose: [60, 70],
      mouthRight: [45, 90],
      mouthLeft: [75, 90],
    });
    expect(Math.abs(frontal.yaw)).toBeLessThan(1e-6);
    expect(Math.abs(frontal.roll)).toBeLessThan(1e-6);
    // nose past the subject's right eye (towards the image left): a full profile turned to the image left
    const profile = keypointPose({
      rightEye: [40, 50],
      leftEye: [60, 50],
      nose: [25, 70],
      mouthRight: [45, 90],
      mouthLeft: [60, 90],
    });
    expect(profile.yaw).toBeGreaterThan(45);
    // right eye lower than the left on screen: the head is rotated counter-clockwise
    expect(
      keypointPose({ rightEye: [40, 60], leftEye: [80, 40], nose: [60, 65], mouthRight: [45, 90], mouthLeft: [75, 80] })
        .roll,
    ).toBeGreaterThan(20);
  });
});

describe('sampleRegion', () => {
  it('samples a rotated square and maps crop points back to the image', () => {
    // a 64x64 image whose red channel is x and green channel is y
    const W = 64;
    const data = new Uint8Array(W * W * 3);
    for (let y = 0; y < W; y++) for (let x = 0; x < W; x++) data.set([x, y, 0], (y * W + x) * 3);
    const image = {
      width: W,
      height: W,
      originalWidth: W,
      originalHeight: W,
      scale: 1,
      data,
      exifOrientation: 1,
      format: 'raw',
    };
    const region = { cx: 32, cy: 32, side: 32, angle: Math.PI / 2 };
    const out = sampleRegion(image, region, 32, { scale: 1, offset: 0 });
    // with a 90-degree counter-clockwise region, the crop's top-left corner sits at the image's bottom-left
    const [x, y] = regionToImage(region, 32, 0.5, 0.5);
    expect(x).toBeCloseTo(16.5, 6);
    expect(y).toBeCloseTo(47.5, 6);
    expect(out[0]).toBeCloseTo(16, 0);
    expect(out[1]).toBeCloseTo(47, 0);
  });
});
