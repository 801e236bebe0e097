import { z } from 'zod';
import { ZVerdict } from './inspections.js';

/** Event types we emit: ComplyCube's client events plus our own `livePhoto.*` ones. */
export const EVENT_TYPES = [
  'client.created',
  'client.updated',
  'client.deleted',
  'livePhoto.created',
  'livePhoto.completed',
  'livePhoto.failed',
  'livePhoto.redacted',
  'livePhoto.deleted',
] as const;
export const ZEventType = z.enum(EVENT_TYPES);
export type TEventType = z.infer<typeof ZEventType>;

export const ZResourceType = z.enum(['client', 'livePhoto']);
export type TResourceType = z.infer<typeof ZResourceType>;

/** Our own types that a `*` subscription does not receive (ComplyCube's sample receivers 400 on unknown types). */
export const OWN_EVENT_PREFIX = 'livePhoto.';

/**
 * What a webhook may subscribe to: `*`, an exact type (`client.created`, also ComplyCube types we don't emit
 * such as `check.completed`), or a `<resource>.*` pattern.
 */
export const ZEventPattern = z
  .string()
  .max(100)
  .regex(/^(\*|[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9_]*)*(\.\*)?)$/, 'must be an event type, a pattern or *');

/** Does a webhook subscribed to `patterns` receive an event of `type`? */
export function eventMatches(patterns: readonly string[], type: string): boolean {
  for (const pattern of patterns) {
    if (pattern === type) return true;
    if (pattern === '*') {
      if (!type.startsWith(OWN_EVENT_PREFIX)) return true;
      continue;
    }
    if (pattern.endsWith('.*') && type.startsWith(pattern.slice(0, -1))) return true;
  }
  return false;
}

/** The compact payload: ids and status only, never personal data or image bytes. */
export const ZEventPayload = z.object({
  id: z.string(),
  clientId: z.string().optional(),
  status: z.string().optional(),
  outcome: ZVerdict.optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type TEventPayload = z.infer<typeof ZEventPayload>;

/** The envelope delivered to webhooks; `id` is stable across retries. */
export const ZEvent = z
  .object({
    id: z.string(),
    type: z.string(),
    resourceType: z.string(),
    payload: ZEventPayload,
    createdAt: z.string(),
  })
  .meta({ id: 'Event' });
export type TEvent = z.infer<typeof ZEvent>;
