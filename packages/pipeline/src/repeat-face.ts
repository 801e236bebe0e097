import { ReasonCode } from '@selfie/contracts';
import type { LivePhotoDoc } from '@selfie/db';
import {
  alignedFaceChip,
  type DecodedImage,
  type DetectedFace,
  EMBEDDING_CHIP_SIZE,
  EMBEDDING_VERSION,
  type StageOutcome,
} from '@selfie/face-engine';
import type { PipelineContext } from './context.js';
import type { InspectionEngine } from './engine.js';

/** Most matches a repeatFace result lists (best first); the rest are only counted. */
export const REPEAT_FACE_MAX_MATCHES = 5;

const CHIP_VALUES = EMBEDDING_CHIP_SIZE * EMBEDDING_CHIP_SIZE * 3;

/**
 * What the faces stage hands the repeatFace stage in the photo record (`work.repeatFace`): dlib's aligned 150x150
 * face chip as 8-bit RGB (67.5 KB; the chip is sampled from the decoded 8-bit photo, so rounding its bilinear
 * samples to integers moves the embedding by less than the model's own noise), and how it was aligned. The stage
 * then neither fetches nor decodes the photo. Dropped with the other working data when the photo is final.
 */
export interface RepeatFaceHandOver {
  chip: Buffer;
  from: 'landmarks' | 'keypoints';
  fitError: number;
  eyeDistancePx: number;
}

export function repeatFaceHandOver(image: DecodedImage, face: DetectedFace): RepeatFaceHandOver {
  const { chip, alignment } = alignedFaceChip(image, face);
  const bytes = Buffer.allocUnsafe(chip.length);
  for (let i = 0; i < chip.length; i++) bytes[i] = Math.max(0, Math.min(255, Math.round(chip[i] as number)));
  return {
    chip: bytes,
    from: alignment.from,
    fitError: Math.round(alignment.fitError * 1000) / 1000,
    eyeDistancePx: Math.round(alignment.eyeDistancePx * 10) / 10,
  };
}

/** The hand-over as stored (its chip comes back from the store as a BSON Binary), or undefined. */
export function storedRepeatFaceInput(
  value: unknown,
): { chip: Float32Array; alignment: Omit<RepeatFaceHandOver, 'chip'> } | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const stored = value as RepeatFaceHandOver & { chip: unknown };
  const raw = stored.chip as { buffer?: unknown } | Uint8Array | undefined;
  const bytes = raw instanceof Uint8Array ? raw : raw?.buffer instanceof Uint8Array ? raw.buffer : undefined;
  if (!bytes || bytes.length !== CHIP_VALUES) return undefined;
  const chip = new Float32Array(CHIP_VALUES);
  for (let i = 0; i < CHIP_VALUES; i++) chip[i] = bytes[i] as number;
  return { chip, alignment: { from: stored.from, fitError: stored.fitError, eyeDistancePx: stored.eyeDistancePx } };
}

/**
 * The repeatFace inspection: embeds the face chip, searches the account's embeddings of other clients (exact
 * cosine, REPEAT_FACE_THRESHOLD), stores this photo's embedding, and reports `attention` with
 * FACE_SEEN_ON_OTHER_CLIENT and the best matches (client id, live photo id, similarity), or `clear`. Photos of the
 * same client above the threshold are counted (people retake selfies) but are not a finding. The embedding itself
 * is never part of the result.
 */
export async function inspectRepeatFace(
  ctx: PipelineContext,
  engine: InspectionEngine,
  photo: Pick<LivePhotoDoc, '_id' | 'accountId' | 'clientId'>,
  input: { chip: Float32Array; alignment: Omit<RepeatFaceHandOver, 'chip'> },
): Promise<StageOutcome> {
  const t0 = performance.now();
  const { embedding, ms: embedMs } = await engine.embed(input.chip);
  const accountId = photo.accountId.toHexString();
  const clientId = photo.clientId.toHexString();
  const photoId = photo._id.toHexString();
  const threshold = ctx.config.REPEAT_FACE_THRESHOLD;
  const s0 = performance.now();
  const found = await ctx.faceEmbeddingIndex.search({
    accountId,
    clientId,
    photoId,
    embedding,
    version: EMBEDDING_VERSION,
    threshold,
    limit: REPEAT_FACE_MAX_MATCHES,
  });
  const searchMs = Math.round((performance.now() - s0) * 10) / 10;
  // Stored before the result: if the result cannot be saved (photo deleted or final meanwhile) the caller removes it.
  await ctx.faceEmbeddings.upsert({ accountId, clientId, photoId, embedding, version: EMBEDDING_VERSION });
  const matches = found.matches.map((m) => ({
    clientId: m.clientId,
    livePhotoId: m.photoId,
    similarity: Math.round(m.similarity * 10_000) / 10_000,
  }));
  return {
    inspection: {
      result: matches.length > 0 ? 'attention' : 'clear',
      breakdown: {
        matches,
        sameClientMatches: found.sameClientMatches,
        threshold,
        comparedFaces: found.scanned,
        alignment: input.alignment.from,
        embeddingMs: embedMs,
        searchMs,
      },
      reasons: matches.length > 0 ? [ReasonCode.FACE_SEEN_ON_OTHER_CLIENT] : [],
    },
    ms: Math.round((performance.now() - t0) * 10) / 10,
  };
}

/**
 * After the repeatFace result was (or could not be) saved: the embedding stays only while its photo exists and is
 * not redacted, so an erasure or a redaction that raced the stage does not leave a template behind.
 */
export async function keepEmbeddingOnlyForLivePhoto(
  ctx: PipelineContext,
  photoId: string,
  saved: boolean,
): Promise<void> {
  if (saved) {
    const now = await ctx.photos.findById(photoId, { work: 0, stages: 0 });
    if (now && !now.redacted) return;
  }
  await ctx.faceEmbeddings.deleteForPhotos([photoId]);
}
