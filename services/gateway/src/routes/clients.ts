import {
  CLIENT_FIELDS,
  errors,
  isObjectId,
  PAGE_SIZE_DEFAULT,
  type TClientCreate,
  ZClientCreate,
  ZClientListQuery,
  ZClientUpdate,
} from '@selfie/contracts';
import type { ClientDoc } from '@selfie/db';
import { clientEventPayload } from '@selfie/events';
import { Router } from 'express';
import type { GatewayContext } from '../context.js';
import { gatewayEraser } from '../erasure.js';
import { parseBody, parseQuery } from '../http.js';
import { listBody, toClient } from '../serialize.js';

/**
 * Erases the photos of a client a batch at a time, each with everything derived from it (bytes first, the record
 * last, so a retried DELETE finds what a failed one left), then the events about the client and its photos.
 */
async function eraseClientData(ctx: GatewayContext, accountId: string, clientId: string): Promise<void> {
  const eraser = gatewayEraser(ctx);
  for (;;) {
    const photos = await ctx.repos.livePhotos.keysForClient(accountId, clientId, 50);
    if (photos.length === 0) break;
    await eraser.erasePhotos(photos);
    const at = new Date().toISOString();
    for (const photo of photos) {
      ctx.emit({
        accountId,
        type: 'livePhoto.deleted',
        resourceType: 'livePhoto',
        payload: {
          id: photo._id.toHexString(),
          clientId,
          status: photo.status,
          createdAt: photo.createdAt.toISOString(),
          updatedAt: at,
        },
      });
    }
  }
  // Any face embedding of the client left by a stage that raced the deletion (its photo record is already gone).
  await ctx.repos.faceEmbeddings.deleteForClient(accountId, clientId);
  // Deletion notices (those just emitted included) are kept: they say what was erased, with ids only.
  await eraser.eraseClientEvents(accountId, clientId);
}

export function clientsRouter(ctx: GatewayContext): Router {
  const { repos } = ctx;
  const router = Router();

  async function findClient(accountId: string, id: string): Promise<ClientDoc> {
    if (!isObjectId(id)) throw errors.clientNotFound(id);
    const doc = await repos.clients.findForAccount(accountId, id);
    if (!doc) throw errors.clientNotFound(id);
    return doc;
  }

  router.post('/', async (req, res) => {
    const accountId = res.locals.accountId;
    const input = parseBody(ZClientCreate, req.body);
    const doc = await repos.clients.create(accountId, input);
    ctx.emit({ accountId, type: 'client.created', resourceType: 'client', payload: clientEventPayload(doc) });
    res.status(200).json(toClient(doc));
  });

  router.get('/', async (req, res) => {
    const query = parseQuery(ZClientListQuery, req.query);
    const page = { ...query, page: query.page ?? 1, pageSize: query.pageSize ?? PAGE_SIZE_DEFAULT };
    const result = await repos.clients.list(res.locals.accountId, page);
    res.json(listBody(page, result, toClient));
  });

  router.get('/:id', async (req, res) => {
    res.json(toClient(await findClient(res.locals.accountId, req.params.id)));
  });

  router.post('/:id', async (req, res) => {
    const accountId = res.locals.accountId;
    const patch = parseBody(ZClientUpdate, req.body);
    const current = await findClient(accountId, req.params.id);
    // The merged client must satisfy the create rules (e.g. a person keeps its personDetails).
    const merged: Record<string, unknown> = {};
    for (const field of CLIENT_FIELDS) merged[field] = patch[field] !== undefined ? patch[field] : current[field];
    if (patch.type === 'person' && current.type === 'company' && patch.companyDetails === undefined) {
      merged.companyDetails = undefined;
    }
    if (patch.type === 'company' && current.type === 'person' && patch.personDetails === undefined) {
      merged.personDetails = undefined;
    }
    const next: TClientCreate = parseBody(ZClientCreate, merged);
    const doc = await repos.clients.replace(accountId, req.params.id, next);
    if (!doc) throw errors.clientNotFound(req.params.id);
    ctx.emit({ accountId, type: 'client.updated', resourceType: 'client', payload: clientEventPayload(doc) });
    res.json(toClient(doc));
  });

  router.delete('/:id', async (req, res) => {
    const accountId = res.locals.accountId;
    const doc = await findClient(accountId, req.params.id);
    await eraseClientData(ctx, accountId, req.params.id);
    if (await repos.clients.delete(accountId, req.params.id)) {
      ctx.emit({
        accountId,
        type: 'client.deleted',
        resourceType: 'client',
        payload: clientEventPayload(doc, new Date()),
      });
    }
    res.status(204).end();
  });

  return router;
}
