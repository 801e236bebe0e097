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
import { parseBody, parseQuery } from '../http.js';
import { listBody, toClient } from '../serialize.js';

/** Removes the photos of a client a few at a time: bytes first, then the record (so no record outlives its bytes). */
async function deleteClientPhotos(ctx: GatewayContext, accountId: string, clientId: string): Promise<void> {
  const photos = await ctx.repos.livePhotos.keysForClient(accountId, clientId);
  const concurrency = 8;
  for (let i = 0; i < photos.length; i += concurrency) {
    await Promise.all(
      photos.slice(i, i + concurrency).map(async (photo) => {
        const id = photo._id.toHexString();
        const doc = await ctx.repos.livePhotos.findForAccount(accountId, id);
        await ctx.store.remove(photo.objectKey);
        if (doc && (await ctx.repos.livePhotos.delete(accountId, id))) {
          ctx.emit({
            accountId,
            type: 'livePhoto.deleted',
            resourceType: 'livePhoto',
            payload: {
              id,
              clientId,
              status: doc.status,
              createdAt: doc.createdAt.toISOString(),
              updatedAt: new Date().toISOString(),
            },
          });
        }
      }),
    );
  }
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
    await deleteClientPhotos(ctx, accountId, req.params.id);
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
