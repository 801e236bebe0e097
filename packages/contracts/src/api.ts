import { z } from 'zod';
import { ZEventPattern } from './events.js';
import { ZLivePhotoStatus } from './inspections.js';

/**
 * HTTP API contracts. The gateway validates every request with these schemas and the OpenAPI document is
 * generated from them, so docs and behaviour cannot drift apart. Wire shapes follow ComplyCube's API.
 */

/** Path/query ids; a malformed id answers 404 (ComplyCube behaviour), so routes check it with `isObjectId`. */
export function isObjectId(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{24}$/.test(value);
}

const ZIsoDate = z.string().meta({ format: 'date-time', example: '2020-01-01T14:06:44.756Z' });

// ---------------------------------------------------------------------------------------------- lists

/** One query value: repeated parameters (`?page=1&page=2`) arrive as arrays and are refused. */
const queryString = z.string({ error: 'must be a single string value' });

const ZDateFilter = queryString
  .refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 date')
  .transform((s) => new Date(s))
  .meta({ format: 'date-time' });

export const PAGE_SIZE_MAX = 1000;
export const PAGE_SIZE_DEFAULT = 100;

export const ZListQuery = z.object({
  page: queryString
    .regex(/^\d{1,9}$/, 'must be an integer of at least 1')
    .transform(Number)
    .refine((n) => n >= 1, 'must be an integer of at least 1')
    .optional()
    .meta({ description: 'Page number, from 1.' }),
  pageSize: queryString
    .regex(/^\d{1,9}$/, `must be an integer between 1 and ${PAGE_SIZE_MAX}`)
    .transform(Number)
    .refine((n) => n >= 1 && n <= PAGE_SIZE_MAX, `must be an integer between 1 and ${PAGE_SIZE_MAX}`)
    .optional()
    .meta({ description: `Items per page, 1-${PAGE_SIZE_MAX} (default ${PAGE_SIZE_DEFAULT}).` }),
  createdAfter: ZDateFilter.optional(),
  createdBefore: ZDateFilter.optional(),
  updatedAfter: ZDateFilter.optional(),
  updatedBefore: ZDateFilter.optional(),
});
export type TListQuery = z.output<typeof ZListQuery>;

export function listEnvelope<T extends z.ZodType>(item: T, id: string) {
  return z
    .object({
      page: z.number().int(),
      pageSize: z.number().int(),
      totalItems: z.number().int(),
      pages: z.number().int(),
      items: z.array(item),
    })
    .meta({ id });
}

// ---------------------------------------------------------------------------------------------- live photos

export const ZLivePhotoUpload = z
  .object({
    clientId: z.string().meta({ description: 'The client the photo belongs to.' }),
    data: z
      .string()
      .min(1)
      .meta({ description: 'Base64 JPG or PNG; an optional `data:image/...;base64,` prefix is accepted.' }),
    performLivenessCheck: z.boolean().optional().meta({ description: 'Defaults to true.' }),
  })
  .meta({ id: 'LivePhotoUpload' });
export type TLivePhotoUpload = z.infer<typeof ZLivePhotoUpload>;

/** The multipart form's text fields (the image is the `file` part). */
export const ZLivePhotoUploadForm = z
  .object({
    clientId: z.string(),
    performLivenessCheck: z.enum(['true', 'false']).optional(),
    file: z.string().meta({ format: 'binary', description: 'The JPG or PNG image.' }).optional(),
  })
  .meta({ id: 'LivePhotoUploadForm' });

export const ZLivePhotoListQuery = ZListQuery.extend({
  clientId: queryString.optional().meta({ description: 'Required: the client whose photos to list.' }),
});

export const ZLivePhoto = z
  .object({
    id: z.string(),
    clientId: z.string(),
    performLivenessCheck: z.boolean(),
    downloadLink: z.string().meta({ example: '/livePhotos/5eb1b5f231778a0008d1c3f6/download' }),
    contentType: z.enum(['image/jpeg', 'image/png']),
    size: z.number().int(),
    createdAt: ZIsoDate,
    updatedAt: ZIsoDate,
    status: ZLivePhotoStatus,
    inspections: z.record(z.string(), z.unknown()),
    redacted: z.boolean().optional(),
  })
  .meta({ id: 'LivePhoto' });
export type TLivePhoto = z.infer<typeof ZLivePhoto>;

export const ZLivePhotoList = listEnvelope(ZLivePhoto, 'LivePhotoList');

export const ZLivePhotoDownload = z
  .object({
    fileName: z.string().meta({ example: 'selfie_1588675059066.jpg' }),
    contentType: z.string(),
    data: z.string().meta({ description: 'Base64 image bytes.' }),
  })
  .meta({ id: 'LivePhotoDownload' });

// ---------------------------------------------------------------------------------------------- clients

const isoCountry = z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 country code');
const name = (max: number) => z.string().trim().min(1).max(max);

export const ZPersonDetails = z.object({
  firstName: name(100),
  middleName: name(100).optional(),
  lastName: name(100),
  dob: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD')
    .optional(),
  gender: z.enum(['male', 'female', 'other']).optional(),
  nationality: isoCountry.optional(),
  birthCountry: isoCountry.optional(),
});

export const ZCompanyDetails = z.object({
  name: name(200),
  registrationNumber: z.string().max(100).optional(),
  incorporationCountry: isoCountry.optional(),
  incorporationType: z.string().max(100).optional(),
  website: z.string().max(500).optional(),
});

export const METADATA_MAX_KEYS = 20;
export const ZMetadata = z
  .record(
    z.string().min(1).max(40, 'metadata keys must be at most 40 characters'),
    z.string({ error: 'metadata values must be strings' }).max(500, 'metadata values must be at most 500 characters'),
  )
  .refine((m) => Object.keys(m).length <= METADATA_MAX_KEYS, `metadata can have at most ${METADATA_MAX_KEYS} keys`)
  .meta({ description: 'Flat string-to-string map: at most 20 keys of 40 chars, values of 500 chars.' });

const clientFields = {
  type: z.enum(['person', 'company']),
  email: z.email().max(254),
  mobile: z.string().max(50).optional(),
  telephone: z.string().max(50).optional(),
  externalId: z.string().max(200).optional(),
  joinedDate: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD')
    .optional(),
  personDetails: ZPersonDetails.optional(),
  companyDetails: ZCompanyDetails.optional(),
  metadata: ZMetadata.optional(),
};

/** Every field a client carries besides its id and timestamps: updates merge and unset exactly these. */
export const CLIENT_FIELDS = [
  'type',
  'email',
  'mobile',
  'telephone',
  'externalId',
  'joinedDate',
  'personDetails',
  'companyDetails',
  'metadata',
] as const;

export const ZClientCreate = z
  .object(clientFields)
  .superRefine((c, ctx) => {
    if (c.type === 'person' && !c.personDetails) {
      ctx.addIssue({ code: 'custom', path: ['personDetails'], message: "'personDetails' is required for a person" });
    }
    if (c.type === 'company' && !c.companyDetails) {
      ctx.addIssue({ code: 'custom', path: ['companyDetails'], message: "'companyDetails' is required for a company" });
    }
  })
  .meta({ id: 'ClientCreate' });
export type TClientCreate = z.infer<typeof ZClientCreate>;

/** Partial update; the merged client is validated again with ZClientCreate. */
export const ZClientUpdate = z.object(clientFields).partial().meta({ id: 'ClientUpdate' });
export type TClientUpdate = z.infer<typeof ZClientUpdate>;

export const ZClient = z
  .object({
    id: z.string(),
    type: z.enum(['person', 'company']),
    entityName: z.string(),
    email: z.string(),
    mobile: z.string().optional(),
    telephone: z.string().optional(),
    externalId: z.string().optional(),
    joinedDate: z.string().optional(),
    personDetails: ZPersonDetails.optional(),
    companyDetails: ZCompanyDetails.optional(),
    metadata: z.record(z.string(), z.string()).optional(),
    createdAt: ZIsoDate,
    updatedAt: ZIsoDate,
  })
  .meta({ id: 'Client' });
export type TClient = z.infer<typeof ZClient>;

export const ZClientList = listEnvelope(ZClient, 'ClientList');

export const ZClientListQuery = ZListQuery.extend({
  type: z.enum(['person', 'company']).optional(),
  email: queryString.optional(),
});

// ---------------------------------------------------------------------------------------------- webhooks

export const WEBHOOKS_PER_ACCOUNT = 20;

const webhookFields = {
  url: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .max(2048)
    .meta({ example: 'https://example.com/hooks/complycube' }),
  enabled: z.boolean(),
  events: z
    .array(ZEventPattern)
    .min(1)
    .max(50)
    .meta({ example: ['livePhoto.completed', 'client.*'] }),
  description: z.string().max(500).optional(),
};

export const ZWebhookCreate = z
  .object({ ...webhookFields, enabled: webhookFields.enabled.optional() })
  .meta({ id: 'WebhookCreate' });
export type TWebhookCreate = z.infer<typeof ZWebhookCreate>;

export const ZWebhookUpdate = z.object(webhookFields).partial().meta({ id: 'WebhookUpdate' });
export type TWebhookUpdate = z.infer<typeof ZWebhookUpdate>;

export const ZWebhook = z
  .object({
    id: z.string(),
    url: z.string(),
    enabled: z.boolean(),
    events: z.array(z.string()),
    description: z.string().optional(),
    secret: z.string().optional().meta({ description: 'Only in the response to create: 32 alphanumerics.' }),
    createdAt: ZIsoDate,
    updatedAt: ZIsoDate,
  })
  .meta({ id: 'Webhook' });
export type TWebhook = z.infer<typeof ZWebhook>;

export const ZWebhookList = listEnvelope(ZWebhook, 'WebhookList');

export const ZWebhookListQuery = ZListQuery.extend({
  enabled: z.enum(['true', 'false']).optional(),
  url: queryString.optional(),
  events: queryString.optional().meta({ description: 'Webhooks subscribed to this exact event entry.' }),
});

export const ZWebhookDelivery = z
  .object({
    id: z.string(),
    webhookId: z.string(),
    eventId: z.string(),
    attempt: z.number().int(),
    statusCode: z.number().int().optional(),
    latencyMs: z.number(),
    error: z.string().optional(),
    createdAt: ZIsoDate,
  })
  .meta({ id: 'WebhookDelivery' });
export type TWebhookDelivery = z.infer<typeof ZWebhookDelivery>;

export const ZWebhookDeliveryList = listEnvelope(ZWebhookDelivery, 'WebhookDeliveryList');
