import { AccountRepository } from '@selfie/db';
import { processMetrics } from '@selfie/metrics';
import { retentionOnce } from '@selfie/pipeline';
import { QUEUES, type QueueKey } from '@selfie/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, apiClient, fixture, pollPhoto, upload, waitFor } from './helpers.js';
import { startTestStack, type TestStack } from './support.js';

// Erasure, looked for everywhere the product keeps anything: every MongoDB collection, the S3 bucket and every
// Redis key of the deployment's prefix (job data, return values, queue event streams). Deleting a photo or a client
// through the API, and retention, must leave nothing that names what was erased, except the deletion notices
// (`livePhoto.deleted`, `client.deleted`: ids only, and erased in turn by retention).

let stack: TestStack;
let api: Api;
let photoBytes: Buffer;

beforeAll(async () => {
  stack = await startTestStack('test-erasure', {
    WEBHOOK_BACKOFF_MS: 200,
    RATE_LIMIT_PER_SECOND: 1000,
    // Retention and the other sweeps run often (retention itself is off unless an account sets its own period).
    SWEEPER_INTERVAL_MS: 400,
  });
  api = stack.api;
  photoBytes = fixture('single', 0, stack.config.UPLOAD_MIN_BYTES);
  // Every event type reaches the receiver, so deliveries (records and jobs) exist for all of them.
  for (const events of [['*'], ['livePhoto.*']]) {
    const res = await api('POST', '/v1/webhooks', { url: stack.receiver.url, events });
    expect(res.status).toBe(200);
  }
});
afterAll(async () => stack?.stop());

/** Every place that still names one of `terms`: `mongo <collection> <type or id>`, `s3 <key>`, `redis <key>`. */
async function traces(terms: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  const hit = (text: string) => terms.some((t) => text.includes(t));
  const db = stack.ctx.mongo.db;
  if (!db) throw new Error('no database');
  for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
    for (const doc of await db.collection(name).find({}).toArray()) {
      if (hit(JSON.stringify(doc))) found.push(`mongo ${name} ${doc.type ?? doc._id}`);
    }
  }
  for (const key of await stack.ctx.store.list()) if (hit(key)) found.push(`s3 ${key}`);
  const redis = stack.ctx.redis;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${stack.config.REDIS_PREFIX}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      const values: unknown =
        type === 'string'
          ? await redis.get(key)
          : type === 'hash'
            ? await redis.hgetall(key)
            : type === 'list'
              ? await redis.lrange(key, 0, -1)
              : type === 'set'
                ? await redis.smembers(key)
                : type === 'zset'
                  ? await redis.zrange(key, 0, -1)
                  : type === 'stream'
                    ? await redis.xrange(key, '-', '+')
                    : null;
      if (hit(key) || hit(JSON.stringify(values))) found.push(`redis ${key}`);
    }
  } while (cursor !== '0');
  return found.sort();
}

/** No job of the product's queues left to run (the periodic sweeps aside). */
async function quiet(): Promise<void> {
  await waitFor(
    'the queues to drain',
    async () => {
      for (const key of Object.keys(QUEUES) as QueueKey[]) {
        if (key === 'sweeper') continue;
        const counts = await stack.ctx
          .queue(key)
          .getJobCounts('active', 'waiting', 'delayed', 'prioritized', 'waiting-children');
        if (Object.values(counts).some((n) => n > 0)) return false;
      }
      return true;
    },
    30_000,
    100,
  );
}

async function eventIdsAbout(filter: Record<string, unknown>): Promise<string[]> {
  return (await stack.ctx.events.model.find(filter).lean()).map((e) => e._id.toHexString());
}

async function uploadComplete(client: string, on: Api = api): Promise<string> {
  const res = await upload(on, client, photoBytes);
  expect(res.status).toBe(200);
  expect((await pollPhoto(on, res.body.id)).status).toBe('complete');
  return res.body.id;
}

const delivered = (type: string, id: string) =>
  stack.receiver.requests.some((r) => {
    const e = JSON.parse(r.body) as { type: string; payload: { id: string } };
    return e.type === type && e.payload.id === id;
  });

describe('erasure', { timeout: 120_000 }, () => {
  it('deleting a photo leaves nothing derived from it in MongoDB, S3 or Redis', async () => {
    const photoId = await uploadComplete(stack.clientId);
    await waitFor('livePhoto.completed delivered', () => delivered('livePhoto.completed', photoId));
    await quiet();
    const terms = [photoId, ...(await eventIdsAbout({ 'payload.id': photoId }))];
    expect(terms.length).toBeGreaterThanOrEqual(3);
    // Before: the record, the bytes, its events, their deliveries, its jobs.
    const before = await traces(terms);
    for (const where of ['mongo livephotos', 'mongo events livePhoto.completed', 'mongo webhookdeliveries', 's3 ']) {
      expect(
        before.some((t) => t.startsWith(where)),
        `${where} in ${before.join(', ')}`,
      ).toBe(true);
    }
    expect(before.filter((t) => t.startsWith('redis ')).length).toBeGreaterThan(4);

    expect((await api('DELETE', `/v1/livePhotos/${photoId}`)).status).toBe(204);
    await waitFor('livePhoto.deleted delivered', () => delivered('livePhoto.deleted', photoId));
    await quiet();
    expect(await traces(terms)).toEqual(['mongo events livePhoto.deleted']);
    expect((await api('GET', `/v1/livePhotos/${photoId}`)).status).toBe(404);
  });

  it('deleting a client leaves nothing derived from it or its photos, deletion notices aside', async () => {
    const client = await api<{ id: string }>('POST', '/v1/clients', {
      type: 'person',
      email: 'erase@example.com',
      personDetails: { firstName: 'Eri', lastName: 'Sure' },
    });
    const clientId = client.body.id;
    const photos = [await uploadComplete(clientId), await uploadComplete(clientId)];
    await waitFor('both completions delivered', () => photos.every((id) => delivered('livePhoto.completed', id)));
    await quiet();
    const terms = [
      clientId,
      ...photos,
      ...(await eventIdsAbout({ $or: [{ 'payload.clientId': clientId }, { 'payload.id': { $in: photos } }] })),
    ];
    expect((await traces(terms)).some((t) => t.startsWith('mongo clients'))).toBe(true);

    expect((await api('DELETE', `/v1/clients/${clientId}`)).status).toBe(204);
    await waitFor('client.deleted delivered', () => delivered('client.deleted', clientId));
    await waitFor('livePhoto.deleted delivered', () => photos.every((id) => delivered('livePhoto.deleted', id)));
    await quiet();
    expect(await traces(terms)).toEqual([
      'mongo events client.deleted',
      'mongo events livePhoto.deleted',
      'mongo events livePhoto.deleted',
    ]);
  });
});

describe('retention', { timeout: 120_000 }, () => {
  const DAY = 24 * 3600_000;

  it("erases an account's photos after its own period, on the finalizer's schedule, then the events too", async () => {
    const accounts = new AccountRepository(stack.ctx.mongo);
    const short = await accounts.createWithKey({ name: 'short-retention' });
    await accounts.setRetentionDays(short.account._id, 4000 / DAY); // 4 seconds
    const shortApi = apiClient(stack.app.gateway.url, short.key);
    const client = await shortApi<{ id: string }>('POST', '/v1/clients', {
      type: 'person',
      email: 'short@example.com',
      personDetails: { firstName: 'Sho', lastName: 'Rt' },
    });
    const kept = await uploadComplete(stack.clientId); // the main account has no period: kept
    const photoId = await uploadComplete(client.body.id, shortApi);
    const terms = [photoId, ...(await eventIdsAbout({ 'payload.id': photoId }))];

    await waitFor(
      'retention to erase the photo',
      async () => (await shortApi('GET', `/v1/livePhotos/${photoId}`)).status === 404,
      30_000,
      250,
    );
    await quiet();
    const left = await traces(terms);
    expect(left.filter((t) => t !== 'mongo events livePhoto.deleted')).toEqual([]);
    // Events of any kind go after the same period, the deletion notice included.
    const accountId = short.account._id;
    await waitFor(
      "the account's events to go",
      async () => (await stack.ctx.events.model.countDocuments({ accountId })) === 0,
      30_000,
      250,
    );
    expect(await traces(terms)).toEqual([]);
    expect((await api('GET', `/v1/livePhotos/${kept}`)).status).toBe(200);

    const text = await processMetrics().registry.getSingleMetricAsString('selfie_retention_erased_total');
    const value = (kind: string) => Number(new RegExp(`kind="${kind}"[^\\n]* (\\d+)`).exec(text)?.[1] ?? 0);
    expect(value('photos')).toBeGreaterThanOrEqual(1);
    expect(value('objects')).toBeGreaterThanOrEqual(1);
    expect(value('events')).toBeGreaterThanOrEqual(2);
  });

  it('RETENTION_DAYS applies to accounts without a period of their own; 0 keeps an account until deleted', async () => {
    const accounts = new AccountRepository(stack.ctx.mongo);
    const other = await accounts.createWithKey({ name: 'global-retention' });
    const otherApi = apiClient(stack.app.gateway.url, other.key);
    const client = await otherApi<{ id: string }>('POST', '/v1/clients', {
      type: 'person',
      email: 'global@example.com',
      personDetails: { firstName: 'Glo', lastName: 'Bal' },
    });
    const erased = await uploadComplete(client.body.id, otherApi);
    const kept = await uploadComplete(stack.clientId);
    const main = (await accounts.authenticate(stack.config.LOCAL_API_KEY as string))?.account._id;
    if (!main) throw new Error('no main account');
    await accounts.setRetentionDays(main, 0);
    await quiet();

    // A pass as with RETENTION_DAYS set to one millisecond, in small batches.
    const withGlobal = { ...stack.ctx, config: { ...stack.config, RETENTION_DAYS: 1 / DAY } };
    const result = await retentionOnce(withGlobal, { batchSize: 1, maxBatches: 100 });
    expect(result.photos).toBeGreaterThanOrEqual(1);
    expect(await stack.ctx.photos.findById(erased)).toBeNull();
    expect(await stack.ctx.photos.findById(kept)).not.toBeNull();

    // Without its override the main account falls under RETENTION_DAYS too.
    await accounts.setRetentionDays(main, null);
    await retentionOnce(withGlobal, { batchSize: 10 });
    expect(await stack.ctx.photos.findById(kept)).toBeNull();
    expect(await stack.ctx.photos.model.countDocuments({})).toBe(0);
    expect(await stack.ctx.store.list()).toEqual([]);
  });
});
