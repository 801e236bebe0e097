import {
  errors,
  isObjectId,
  PAGE_SIZE_DEFAULT,
  WEBHOOKS_PER_ACCOUNT,
  ZListQuery,
  ZWebhookCreate,
  ZWebhookListQuery,
  ZWebhookUpdate,
} from '@selfie/contracts';
import type { WebhookDoc } from '@selfie/db';
import { Router } from 'express';
import type { GatewayContext } from '../context.js';
import { parseBody, parseQuery } from '../http.js';
import { listBody, toDelivery, toWebhook } from '../serialize.js';

export function webhooksRouter(ctx: GatewayContext): Router {
  const { repos } = ctx;
  const router = Router();

  async function findWebhook(accountId: string, id: string): Promise<WebhookDoc> {
    if (!isObjectId(id)) throw errors.webhookNotFound(id);
    const doc = await repos.webhooks.findForAccount(accountId, id);
    if (!doc) throw errors.webhookNotFound(id);
    return doc;
  }

  router.post('/', async (req, res) => {
    const accountId = res.locals.accountId;
    const input = parseBody(ZWebhookCreate, req.body);
    // Each webhook takes one of the account's slots (unique per account), so concurrent creates cannot overshoot.
    const doc = await repos.webhooks.createWithinLimit(accountId, input, WEBHOOKS_PER_ACCOUNT);
    if (!doc) throw errors.invalid(`An account can have at most ${WEBHOOKS_PER_ACCOUNT} webhooks`);
    res.status(200).json(toWebhook(doc, true));
  });

  router.get('/', async (req, res) => {
    const query = parseQuery(ZWebhookListQuery, req.query);
    const page = { ...query, page: query.page ?? 1, pageSize: query.pageSize ?? PAGE_SIZE_DEFAULT };
    const result = await repos.webhooks.list(res.locals.accountId, {
      ...page,
      enabled: query.enabled === undefined ? undefined : query.enabled === 'true',
    });
    res.json(listBody(page, result, (doc) => toWebhook(doc)));
  });

  router.get('/:id', async (req, res) => {
    res.json(toWebhook(await findWebhook(res.locals.accountId, req.params.id)));
  });

  router.post('/:id', async (req, res) => {
    const accountId = res.locals.accountId;
    const patch = parseBody(ZWebhookUpdate, req.body);
    await findWebhook(accountId, req.params.id);
    const doc = await repos.webhooks.update(accountId, req.params.id, patch);
    if (!doc) throw errors.webhookNotFound(req.params.id);
    res.json(toWebhook(doc));
  });

  router.delete('/:id', async (req, res) => {
    const accountId = res.locals.accountId;
    await findWebhook(accountId, req.params.id);
    await repos.webhooks.delete(accountId, req.params.id);
    await repos.deliveries.deleteForWebhook(req.params.id);
    res.status(204).end();
  });

  router.get('/:id/deliveries', async (req, res) => {
    const query = parseQuery(ZListQuery, req.query);
    await findWebhook(res.locals.accountId, req.params.id);
    const page = { ...query, page: query.page ?? 1, pageSize: query.pageSize ?? PAGE_SIZE_DEFAULT };
    const result = await repos.deliveries.listForWebhook(req.params.id, page);
    res.json(listBody(page, result, toDelivery));
  });

  return router;
}
