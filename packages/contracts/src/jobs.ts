import { z } from 'zod';

export const ZObjectId = z.string().regex(/^[0-9a-f]{24}$/, 'must be a 24-char lowercase hex id');

/** Job data holds ids and object keys only: never image bytes or personal data (Redis keeps it in plain text). */
export const ZStageJob = z.object({
  photoId: ZObjectId,
  accountId: ZObjectId,
  objectKey: z.string().min(1),
  performLivenessCheck: z.boolean(),
});
export type TStageJob = z.infer<typeof ZStageJob>;

export const ZFinalizeJob = z.object({ photoId: ZObjectId, accountId: ZObjectId });
export type TFinalizeJob = z.infer<typeof ZFinalizeJob>;

export const ZWebhookJob = z.object({ eventId: z.string().min(1), webhookId: ZObjectId, accountId: ZObjectId });
export type TWebhookJob = z.infer<typeof ZWebhookJob>;

export const ZSweepJob = z.object({});
export type TSweepJob = z.infer<typeof ZSweepJob>;
