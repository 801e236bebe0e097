import { getInternals } from './engine.js';
import { score100 } from './image-stats.js';
import { cropResize, enlargedBox } from './minifasnet/crop.js';
import type { MiniFasNet } from './minifasnet/model.js';
import type { Box, DecodedImage, DetectedFace, FaceEngine, InspectionThresholds, StageOutcome } from './types.js';

/**
 * Face box given to MiniFASNet: human's detector box (clipped to the image). Measured on the fixtures it separates
 * attacks from live faces better than the tighter face-mesh extent (APCER 22% vs 30% at equal BPCER).
 */
export function livenessBox(face: DetectedFace): Box {
  return face.boxPixels;
}

/** "real" probability (class 1) of one MiniFASNet model for the face. */
export async function miniFasNetReal(engine: FaceEngine, image: DecodedImage, box: Box, model: MiniFasNet) {
  const { tf } = getInternals(engine);
  const rect = enlargedBox(image.width, image.height, box, model.scale);
  const data = cropResize(image, rect, 80, 80, true);
  const x = tf.tensor4d(data, [1, 80, 80, 3]);
  try {
    const p = (await model.predict(x))[0];
    if (!p || p.length !== 3) throw new Error('MiniFASNet returned no prediction');
    return { real: p[1] ?? 0, probs: p };
  } finally {
    x.dispose();
  }
}

export async function inspectLiveness(
  engine: FaceEngine,
  image: DecodedImage,
  face: DetectedFace,
  thresholds?: Partial<InspectionThresholds>,
): Promise<StageOutcome> {
  const t0 = performance.now();
  const internals = getInternals(engine); // throws when the engine is disposed: never answer without models
  const th = { ...internals.thresholds, ...(thresholds ?? {}) };
  const box = livenessBox(face);
  const v2 = await miniFasNetReal(engine, image, box, internals.fas.v2);
  const v1se = await miniFasNetReal(engine, image, box, internals.fas.v1se);
  // Silent-Face sums the two models' softmax outputs; the mean keeps it a probability
  const fasMean = (v2.real + v1se.real) / 2;
  const score = fasMean;
  const livenessCheckScore = score100(score);
  const attack = livenessCheckScore < th.livenessMinScore;
  return {
    inspection: {
      result: attack ? 'attention' : 'clear',
      breakdown: {
        livenessCheckScore,
        signals: {
          miniFasNet: score100(fasMean),
          miniFasNetV2: score100(v2.real),
          miniFasNetV1SE: score100(v1se.real),
          ...(face.humanReal !== null ? { humanAntispoof: score100(face.humanReal) } : {}),
          ...(face.humanLive !== null ? { humanLiveness: score100(face.humanLive) } : {}),
        },
      },
      reasons: attack ? ['SPOOF_SUSPECTED'] : [],
    },
    ms: Math.round(performance.now() - t0),
  };
}
