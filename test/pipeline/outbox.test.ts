import type { TConfig } from '@selfie/config';
import { Types } from '@selfie/db';
import { createEventPublisher } from '@selfie/events';
import { createLogger } from '@selfie/logger';
import { createPipelineContext, type PipelineContext, relayOutbox, startWebhookDispatcher } from '@selfie/pipeline';
import { createQueue, createRedisClient, type JobPayload, jobOptions, type Queue } from '@selfie/queue';
import type { ServiceHandle } from '@selfie/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../support/env.js';
import { freePort, type Receiver, sleep, startReceiver, waitFor } from './helpers.js';
import { type PrivateServer, privateRedis } from './support.js';

// The outbox: an event and the deliveries it owes are stored in one insert; the dispatcher's relay queues what
// Redis never received. Redis here is a PRIVATE instance (never the shared one), killed and started again.

let redis: PrivateServer;
let config: TConfig;
let ctx: PipelineContext;
let dispatcher: ServiceHandle | undefined;
let receiver: Receiver;
let producer: ReturnType<typeof createRedisClient>;
let queue: Queue<JobPayload<'webhooks'>>;

beforeAll(async () => {
  redis = privateRedis(await freePort());
  await redis.start();
  config = testConfig({
    REDIS_URL: redis.url,
    WEBHOOK_ALLOW_PRIVATE: true,
    OUTBOX_RELAY_INTERVAL_MS: 250,
    WEBHOOK_BACKOFF_MS: 200,
  });
  const logger = createLogger({ service: 'test-outbox', level: config.LOG_LEVEL });
  ctx = await createPipelineContext(config, logger);
  await Promise.all([ctx.webhooks.init(), ctx.events.init(), ctx.deliveries.init()]);
  receiver = await startReceiver();
  dispatcher = await startWebhookDispatcher(config, logger);
  // The gateway's kind of connection: fails fast while Redis is down instead of waiting for it.
  producer = createRedisClient(config.REDIS_URL, 'producer');
  queue = createQueue('webhooks', { connection: producer, prefix: config.REDIS_PREFIX }, config);
  await queue.waitUntilReady();
});

afterAll(async () => {
  await dispatcher?.stop();
  await queue?.close().catch(() => {});
  producer?.disconnect();
  await receiver?.close();
  await ctx?.mongo.dropDatabase().catch(() => {});
  await ctx?.close();
  await redis?.cleanup();
});

describe('transactional outbox', { timeout: 90_000 }, () => {
  let eventId: string;

  it('an event stored while Redis is down is delivered once per matching webhook when Redis is back', async () => {
    const accountId = new Types.ObjectId().toHexString();
    const a = await ctx.webhooks.create(accountId, { url: `${receiver.url}/a`, events: ['client.*'] });
    const b = await ctx.webhooks.create(accountId, { url: `${receiver.url}/b`, events: ['*'] });
    await ctx.webhooks.create(accountId, { url: `${receiver.url}/c`, events: ['livePhoto.completed'] });
    await ctx.webhooks.create(accountId, { url: `${receiver.url}/d`, events: ['client.created'], enabled: false });
    await ctx.webhooks.create(new Types.ObjectId().toHexString(), { url: `${receiver.url}/e`, events: ['*'] });
    const publisher = createEventPublisher({
      connection: ctx.mongo,
      queue,
      jobOptions: jobOptions('webhooks', config),
      queueTimeoutMs: 1000,
    });

    await redis.kill();
    const now = new Date().toISOString();
    const clientId = new Types.ObjectId().toHexString();
    const published = await publisher.publish({
      accountId,
      type: 'client.created',
      resourceType: 'client',
      payload: { id: clientId, clientId, createdAt: now, updatedAt: now },
    });
    eventId = published.event.id;
    expect(published.queued).toBe(false);
    const wanted = [a._id.toHexString(), b._id.toHexString()].sort();
    expect([...published.webhookIds].sort()).toEqual(wanted);
    // One document: the event, the webhooks it owes a delivery to, and the flag saying Redis does not have them.
    const stored = await ctx.events.findById(eventId);
    expect(stored?.pending).toBe(true);
    expect(stored?.webhookIds?.map((id) => id.toHexString()).sort()).toEqual(wanted);
    expect(stored?.clientId?.toHexString()).toBe(clientId);

    // While Redis is down the relay waits; nothing is delivered, nothing is lost.
    await sleep(1000);
    expect(receiver.requests).toHaveLength(0);
    expect((await ctx.events.findById(eventId))?.pending).toBe(true);

    await redis.start();
    await waitFor('both deliveries', () => receiver.requests.length >= 2, 45_000, 100);
    await waitFor('the event handed over', async () => (await ctx.events.findById(eventId))?.pending === false);
    // Several relay periods later: still exactly one delivery per matching webhook.
    await sleep(1500);
    expect(receiver.requests.map((r) => r.path).sort()).toEqual(['/hook/a', '/hook/b']);
    for (const r of receiver.requests)
      expect(JSON.parse(r.body)).toMatchObject({ id: eventId, type: 'client.created' });
    const attempts = await ctx.deliveries.model.find({ eventId }).lean();
    expect(attempts.map((d) => d.webhookId.toHexString()).sort()).toEqual(wanted);
  });

  it('relaying an event again (a crash between its enqueue and its mark) delivers nothing twice', async () => {
    await ctx.events.model.updateOne({ _id: new Types.ObjectId(eventId) }, { $set: { pending: true } });
    const relayed = await relayOutbox(ctx, { minAgeMs: 0 });
    expect(relayed).toEqual({ events: 1, deliveries: 2 });
    expect((await ctx.events.findById(eventId))?.pending).toBe(false);
    await sleep(1000);
    expect(receiver.requests).toHaveLength(2);
    expect(await relayOutbox(ctx, { minAgeMs: 0 })).toEqual({ events: 0, deliveries: 0 });
  });

  it('with Redis up, the publisher queues the deliveries itself and leaves nothing for the relay', async () => {
    const accountId = new Types.ObjectId().toHexString();
    await ctx.webhooks.create(accountId, { url: `${receiver.url}/f`, events: ['client.*'] });
    const publisher = createEventPublisher({ connection: ctx.mongo, queue });
    const now = new Date().toISOString();
    const id = new Types.ObjectId().toHexString();
    const { event, queued } = await publisher.publish({
      accountId,
      type: 'client.updated',
      resourceType: 'client',
      payload: { id, clientId: id, createdAt: now, updatedAt: now },
    });
    expect(queued).toBe(true);
    expect((await ctx.events.findById(event.id))?.pending).toBe(false);
    await waitFor('the delivery', () => receiver.requests.some((r) => r.path === '/hook/f'));
    // An account without webhooks: nothing is owed, nothing pending.
    const none = await publisher.publish({
      accountId: new Types.ObjectId().toHexString(),
      type: 'client.deleted',
      resourceType: 'client',
      payload: { id, clientId: id, createdAt: now, updatedAt: now },
    });
    expect(none.webhookIds).toEqual([]);
    expect((await ctx.events.findById(none.event.id))?.pending).toBe(false);
  });
});
