import type { TClient, TLivePhoto, TWebhook, TWebhookDelivery } from '@selfie/contracts';
import {
  assembleInspections,
  type ClientDoc,
  type LivePhotoDoc,
  type Page,
  type WebhookDeliveryDoc,
  type WebhookDoc,
} from '@selfie/db';

/** Drops null/undefined properties: the contract omits unset fields instead of sending null. */
function compact<T extends Record<string, unknown>>(obj: T): T {
  for (const key of Object.keys(obj)) if (obj[key] === undefined || obj[key] === null) delete obj[key];
  return obj;
}

/**
 * The wire live photo. While it is processing, the stages that finished show in `inspections` (progress); once it
 * is final, `inspections` is the finalizer's complete object.
 */
export function toLivePhoto(doc: LivePhotoDoc): TLivePhoto {
  const id = doc._id.toHexString();
  return compact({
    id,
    clientId: doc.clientId.toHexString(),
    performLivenessCheck: doc.performLivenessCheck,
    downloadLink: `/livePhotos/${id}/download`,
    contentType: doc.contentType,
    size: doc.size,
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
    status: doc.status,
    inspections: doc.status === 'processing' && doc.stages ? assembleInspections(doc.stages) : (doc.inspections ?? {}),
    redacted: doc.redacted ? true : undefined,
  });
}

export function entityName(doc: Pick<ClientDoc, 'type' | 'personDetails' | 'companyDetails'>): string {
  if (doc.type === 'company') return doc.companyDetails?.name ?? '';
  const p = doc.personDetails;
  return [p?.firstName, p?.middleName, p?.lastName].filter(Boolean).join(' ');
}

export function toClient(doc: ClientDoc): TClient {
  return compact({
    id: doc._id.toHexString(),
    type: doc.type,
    entityName: entityName(doc),
    email: doc.email,
    mobile: doc.mobile,
    telephone: doc.telephone,
    externalId: doc.externalId,
    joinedDate: doc.joinedDate,
    personDetails: doc.personDetails,
    companyDetails: doc.companyDetails,
    metadata: doc.metadata,
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
  });
}

export function toWebhook(doc: WebhookDoc, withSecret = false): TWebhook {
  return compact({
    id: doc._id.toHexString(),
    url: doc.url,
    enabled: doc.enabled,
    events: doc.events,
    description: doc.description,
    secret: withSecret ? doc.secret : undefined,
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
  });
}

export function toDelivery(doc: WebhookDeliveryDoc): TWebhookDelivery {
  return compact({
    id: doc._id.toHexString(),
    webhookId: doc.webhookId.toHexString(),
    eventId: doc.eventId,
    attempt: doc.attempt,
    statusCode: doc.statusCode,
    latencyMs: doc.latencyMs,
    error: doc.error,
    createdAt: doc.createdAt.toISOString(),
  });
}

export function listBody<D, T>(page: { page: number; pageSize: number }, result: Page<D>, map: (doc: D) => T) {
  return {
    page: page.page,
    pageSize: page.pageSize,
    totalItems: result.totalItems,
    pages: Math.ceil(result.totalItems / page.pageSize),
    items: result.items.map(map),
  };
}
