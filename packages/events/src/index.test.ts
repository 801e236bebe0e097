import { eventMatches } from '@selfie/contracts';
import { type Connection, connectMongo, EventRepository, WebhookRepository } from '@selfie/db';
import { createQueue, createRedisClient } from '@selfie/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../../test/support/env.js';
import { createEventPublisher, deliveryJobId } from './index.js';

describe('eventMatches', () => {
  it('lets * match ComplyCube types but not our livePhoto.* ones', () => {
    expect(eventMatches(['*'], 'client.created')).toBe(true);
    expect(eventMatches(['*'], 'livePhoto.completed')).toBe(false);
    expect(eventMatches(['livePhoto.*'], 'livePhoto.completed')).toBe(true);
    expect(eventMatches(['livePhoto.completed'], 'livePhoto.completed')).toBe(true);
    expect(eventMatches(['livePhoto.completed'], 'livePhoto.failed')).toBe(false);
    expect(eventMatches(['client.*'], 'client.updated')).toBe(true);
    expect(eventMatches(['client.*'], 'clientx.updated')).toBe(false);
    expect(eventMatches([], 'client.created')).toBe(false);
  });
});

describe('createEventPublisher', () => {
  const config = testConfig();
  const redis = createRedisClient(config.REDIS_URL, 'producer');
  const queue = createQueue('webhooks', { connection: redis, prefix: config.REDIS_PREFIX });
  let conn: Connection;
  beforeAll(async () => {
    conn = await connectMongo(config.MONGODB_URI);
  });
  afterAll(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    redis.disconnect();
    await conn.dropDatabase();
    await conn.close();
  });

  it('stores a compact envelope and enqueues one idempotent job per matching enabled webhook', async () => {
    const accountId = 'aaaaaaaaaaaaaaaaaaaaaaaa';
    const hooks = new WebhookRepository(conn);
    const own = await hooks.create(accountId, { url: 'https://x.test/a', events: ['livePhoto.*'] });
    await hooks.create(accountId, { url: 'https://x.test/b', events: ['*'] });
    await hooks.create(accountId, { url: 'https://x.test/c', events: ['livePhoto.completed'], enabled: false });
    await hooks.create('bbbbbbbbbbbbbbbbbbbbbbbb', { url: 'https://x.test/d', events: ['livePhoto.*'] });

    const publisher = createEventPublisher({ connection: conn, queue, jobOptions: { attempts: 3 } });
    const payload = {
      id: 'cccccccccccccccccccccccc',
      clientId: 'dddddddddddddddddddddddd',
      status: 'complete',
      outcome: 'clear' as const,
      createdAt: '2020-01-01T00:00:00.000Z',
      updatedAt: '2020-01-01T00:00:01.000Z',
    };
    const { event, webhookIds } = await publisher.publish({
      accountId,
      type: 'livePhoto.completed',
      resourceType: 'livePhoto',
      payload,
    });
    expect(webhookIds).toEqual([own._id.toHexString()]);
    expect(Object.keys(event)).toEqual(['id', 'type', 'resourceType', 'payload', 'createdAt']);
    expect(event).toMatchObject({ type: 'livePhoto.completed', resourceType: 'livePhoto', payload });
    const stored = await new EventRepository(conn).findById(event.id);
    expect(stored?.payload).toEqual(payload);

    const job = await queue.getJob(deliveryJobId(event.id, own._id.toHexString()));
    expect(job?.data).toEqual({ eventId: event.id, webhookId: own._id.toHexString(), accountId });
    expect(job?.opts.attempts).toBe(3);
    expect(await queue.count()).toBe(1);
  });
});
