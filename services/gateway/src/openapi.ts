import {
  ZClientListQuery,
  ZErrorBody,
  ZEvent,
  ZListQuery,
  ZLivePhotoListQuery,
  ZWebhookListQuery,
} from '@selfie/contracts';
import { z } from 'zod';

/**
 * OpenAPI 3.1 document built from the same zod schemas that validate requests (components come from every
 * schema registered with `.meta({ id })` in @selfie/contracts).
 */
type Json = Record<string, unknown>;

const REQUEST_SCHEMAS = new Set([
  'LivePhotoUpload',
  'LivePhotoUploadForm',
  'ClientCreate',
  'ClientUpdate',
  'WebhookCreate',
  'WebhookUpdate',
]);

function components(): Record<string, Json> {
  // Touch the schemas so their modules (and `.meta` registrations) are loaded.
  void ZErrorBody;
  void ZEvent;
  const uri = (id: string) => `#/components/schemas/${id}`;
  const input = z.toJSONSchema(z.globalRegistry, { uri, unrepresentable: 'any', io: 'input' }).schemas;
  const output = z.toJSONSchema(z.globalRegistry, { uri, unrepresentable: 'any', io: 'output' }).schemas;
  const out: Record<string, Json> = {};
  for (const [id, schema] of Object.entries(output)) {
    const chosen = { ...((REQUEST_SCHEMAS.has(id) ? input[id] : schema) as Json) };
    delete chosen.$schema;
    delete chosen.$id;
    out[id] = chosen;
  }
  return out;
}

function queryParameters(schema: z.ZodObject, required: string[] = []): Json[] {
  return Object.entries(schema.shape).map(([name, field]) => {
    const json = z.toJSONSchema(field as z.ZodType, { io: 'input', unrepresentable: 'any' }) as Json;
    delete json.$schema;
    const description = json.description;
    delete json.description;
    return {
      name,
      in: 'query',
      required: required.includes(name),
      schema: json,
      ...(description ? { description } : {}),
    };
  });
}

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const json = (id: string) => ({ 'application/json': { schema: ref(id) } });
const idParam = (what: string) => ({
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[0-9a-f]{24}$' },
  description: `The ${what} id (a malformed id answers 404).`,
});

const errorResponses: Json = {
  '400': { description: 'Validation failed (`invalid_request`, with `param`)', content: json('Error') },
  '401': { description: 'Missing or invalid API key (`unauthorized`)', content: json('Error') },
  '403': { description: 'Key valid but not allowed, e.g. disabled account (`unauthorized`)', content: json('Error') },
  '404': { description: 'Unknown or foreign id (`resource_not_found`)', content: json('Error') },
  '429': { description: 'Rate limit hit (`rate_limit_exceeded`); see Retry-After', content: json('Error') },
  '500': { description: 'Unexpected fault (`internal_server_error`)', content: json('Error') },
  '503': {
    description: 'A backing service is down (`service_unavailable`); nothing was written',
    content: json('Error'),
  },
};

function op(summary: string, success: Json, extra: Json = {}): Json {
  return { summary, ...extra, responses: { ...success, ...errorResponses } };
}

export function buildOpenApi(options: { serverUrl?: string } = {}): Json {
  const list = queryParameters(ZListQuery);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Live Photos API',
      version: '1.0.0',
      description:
        "Self-hostable, ComplyCube-compatible live photo (selfie) inspection. Authenticate with `Authorization: <api key>` (a 'Bearer ' prefix is accepted).",
    },
    servers: [{ url: options.serverUrl ?? '/v1' }],
    security: [{ apiKey: [] }],
    components: {
      securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'Authorization' } },
      schemas: components(),
    },
    paths: {
      '/livePhotos': {
        post: op(
          'Upload a live photo (JSON base64 or multipart)',
          { '200': { description: 'Accepted; inspections run in the background', content: json('LivePhoto') } },
          {
            requestBody: {
              required: true,
              content: {
                'application/json': { schema: ref('LivePhotoUpload') },
                'multipart/form-data': { schema: ref('LivePhotoUploadForm') },
              },
            },
          },
        ),
        get: op(
          "List a client's live photos, newest first",
          { '200': { description: 'A page of live photos', content: json('LivePhotoList') } },
          { parameters: queryParameters(ZLivePhotoListQuery, ['clientId']) },
        ),
      },
      '/livePhotos/{id}': {
        parameters: [idParam('live photo')],
        get: op('Get a live photo (poll until status is not processing)', {
          '200': { description: 'The live photo', content: json('LivePhoto') },
        }),
        delete: op('Delete a live photo and its bytes', { '204': { description: 'Deleted' } }),
      },
      '/livePhotos/{id}/download': {
        parameters: [
          idParam('live photo'),
          { name: 'raw', in: 'query', required: false, schema: { type: 'string', enum: ['1', 'true'] } },
        ],
        get: op('Download the image (JSON base64; raw bytes with Accept: image/* or ?raw=1)', {
          '200': {
            description: 'The image',
            content: {
              ...json('LivePhotoDownload'),
              'image/jpeg': { schema: { type: 'string', contentMediaType: 'image/jpeg' } },
              'image/png': { schema: { type: 'string', contentMediaType: 'image/png' } },
            },
          },
        }),
        post: op('Download the image (same as GET)', {
          '200': { description: 'The image', content: json('LivePhotoDownload') },
        }),
      },
      '/livePhotos/{id}/redact': {
        parameters: [idParam('live photo')],
        post: op('Destroy the image bytes; the record stays with redacted: true', {
          '200': { description: 'Redacted', content: { 'application/json': { schema: { type: 'object' } } } },
        }),
      },
      '/clients': {
        post: op(
          'Create a client',
          { '200': { description: 'The client', content: json('Client') } },
          { requestBody: { required: true, content: json('ClientCreate') } },
        ),
        get: op(
          'List clients',
          { '200': { description: 'A page of clients', content: json('ClientList') } },
          { parameters: queryParameters(ZClientListQuery) },
        ),
      },
      '/clients/{id}': {
        parameters: [idParam('client')],
        get: op('Get a client', { '200': { description: 'The client', content: json('Client') } }),
        post: op(
          'Update a client (partial)',
          { '200': { description: 'The client', content: json('Client') } },
          { requestBody: { required: true, content: json('ClientUpdate') } },
        ),
        delete: op('Delete a client and all its live photos', { '204': { description: 'Deleted' } }),
      },
      '/webhooks': {
        post: op(
          'Create a webhook (the secret is returned only here)',
          { '200': { description: 'The webhook, with its secret', content: json('Webhook') } },
          { requestBody: { required: true, content: json('WebhookCreate') } },
        ),
        get: op(
          'List webhooks',
          { '200': { description: 'A page of webhooks', content: json('WebhookList') } },
          { parameters: queryParameters(ZWebhookListQuery) },
        ),
      },
      '/webhooks/{id}': {
        parameters: [idParam('webhook')],
        get: op('Get a webhook', { '200': { description: 'The webhook', content: json('Webhook') } }),
        post: op(
          'Update a webhook (partial)',
          { '200': { description: 'The webhook', content: json('Webhook') } },
          { requestBody: { required: true, content: json('WebhookUpdate') } },
        ),
        delete: op('Delete a webhook', { '204': { description: 'Deleted' } }),
      },
      '/webhooks/{id}/deliveries': {
        parameters: [idParam('webhook')],
        get: op(
          'List recorded delivery attempts',
          { '200': { description: 'A page of delivery attempts', content: json('WebhookDeliveryList') } },
          { parameters: list },
        ),
      },
    },
    webhooks: {
      event: {
        post: {
          summary: 'Event delivery, signed with ComplyCube-Signature (hex HMAC-SHA256 of the raw body)',
          requestBody: { content: json('Event') },
          responses: { '200': { description: 'Any 2xx within the timeout counts as delivered' } },
        },
      },
    },
  };
}
