import { z } from 'zod';

export const ZObjectId = z.string().regex(/^[0-9a-f]{24}$/, 'must be a 24-char lowercase hex id');

/**
 * W3C trace context of the work that enqueued a job (`traceparent`, `tracestate`), so the consumer's span joins the
 * photo's trace. Optional, and never a reason to refuse a job: jobs from before tracing, or enqueued with tracing
 * off, have none, and a malformed one is dropped (the job then starts a trace of its own).
 */
export const ZJobTrace = z
  .object({ traceparent: z.string().max(256), tracestate: z.string().max(512).optional() })
  .optional()
  .catch(undefined)
  // Outermost optional: the key itself is optional in the payload types.
  .optional();
export type TJobTrace = z.infer<typeof ZJobTrace>;

/** Job data holds ids and object keys only: never image bytes or personal data (Redis keeps it in plain text). */
export const ZStageJob = z.object({
  photoId: ZObjectId,
  accountId: ZObjectId,
  objectKey: z.string().min(1),
  performLivenessCheck: z.boolean(),
  trace: ZJobTrace,
});
export type TStageJob = z.infer<typeof ZStageJob>;

export const ZFinalizeJob = z.object({ photoId: ZObjectId, accountId: ZObjectId, trace: ZJobTrace });
export type TFinalizeJob = z.infer<typeof ZFinalizeJob>;

export const ZWebhookJob = z.object({
  eventId: z.string().min(1),
  webhookId: ZObjectId,
  accountId: ZObjectId,
  trace: ZJobTrace,
});
export type TWebhookJob = z.infer<typeof ZWebhookJob>;

/**
 * The finalizer's periodic upkeep, one scheduler per task: `stuck` (photos left processing; the default, so jobs
 * scheduled before tasks existed still mean it), `orphans` (bytes without a record and records without bytes),
 * `retention` (photos and events past their retention period).
 */
export const SWEEP_TASKS = ['stuck', 'orphans', 'retention'] as const;
export const ZSweepJob = z.object({ task: z.enum(SWEEP_TASKS).optional() });
export type TSweepJob = z.infer<typeof ZSweepJob>;
