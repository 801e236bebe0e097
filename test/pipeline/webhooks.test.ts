import { EventVerifier } from '@complycube/api';
import type { TConfig } from '@selfie/config';
import { Types, type WebhookDoc } from '@selfie/db';
import { createEventPublisher } from '@selfie/events';
import { createLogger } from '@selfie/logger';
import {
  createPipelineContext,
  isPrivateAddress,
  type PipelineContext,
  postWebhook,
  SIGNATURE_HEADER,
  signBody,
  startWebhookDispatcher,
} from '@selfie/pipeline';
import { jobOptions, QUEUES, webhookBackoffDelay } from '@selfie/queue';
import type { ServiceHandle } from '@selfie/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../support/env.js';
import { freePort, type Receiver, startReceiver, waitFor } from './helpers.js';

let config: TConfig;
let ctx: PipelineContext;
let dispatcher: ServiceHandle;
const accountId = new Types.ObjectId().toHexString();

beforeAll(async () => {
  config = testConfig({
    WEBHOOK_ALLOW_PRIVATE: true,
    WEBHOOK_BACKOFF_MS: 150,
    WEBHOOK_MAX_ATTEMPTS: 5,
    WEBHOOK_TIMEOUT_MS: 1000,
  });
  const logger = createLogger({ service: 'test-webhooks', level: config.LOG_LEVEL });
  ctx = await createPipelineContext(config, logger);
  await Promise.all([ctx.webhooks.init(), ctx.events.init(), ctx.deliveries.init()]);
  dispatcher = await startWebhookDispatcher(config, logger);
});

afterAll(async () => {
  await dispatcher?.stop();
  await ctx?.mongo.dropDatabase().catch(() => {});
  await ctx?.queue('webhooks').obliterate({ force: true });
  await ctx?.close();
});

async function createWebhook(url: string): Promise<WebhookDoc> {
  return ctx.webhooks.create(accountId, { url, events: ['livePhoto.*'] });
}

/** Publishes through the product's publisher: the event is stored and one delivery job per webhook enqueued. */
async function publish(): Promise<string> {
  const publisher = createEventPublisher({
    connection: ctx.mongo,
    queue: ctx.queue('webhooks'),
    jobOptions: jobOptions('webhooks', config),
  });
  const now = new Date().toISOString();
  const { event } = await publisher.publish({
    accountId,
    type: 'livePhoto.completed',
    resourceType: 'livePhoto',
    payload: {
      id: new Types.ObjectId().toHexString(),
      status: 'complete',
      outcome: 'clear',
      createdAt: now,
      updatedAt: now,
    },
  });
  return event.id;
}

async function attempts(webhookId: string) {
  return ctx.deliveries.model
    .find({ webhookId: new Types.ObjectId(webhookId) })
    .sort({ createdAt: 1 })
    .lean();
}

describe('signature and address checks', () => {
  it('matches the ComplyCube test vector', () => {
    expect(signBody('a_webhook_signature', '{"id":"value"}')).toBe(
      'bc00414fa4d54277a3ed01e5ee258d9800a918a7791c7cda16d38b82f38f2150',
    );
  });

  it('classifies private and public addresses', () => {
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '0.0.0.0',
    ]) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111']) expect(isPrivateAddress(a), a).toBe(false);
  });

  it('follows ComplyCube back-off: 60 s, 120 s, 480 s, then doubling', () => {
    expect([1, 2, 3, 4].map((n) => webhookBackoffDelay(n, 60_000))).toEqual([60_000, 120_000, 480_000, 960_000]);
  });

  it('refuses loopback targets, by literal IP and by resolved name, unless allowed', async () => {
    const receiver = await startReceiver();
    try {
      for (const url of [receiver.url, `http://localhost:${receiver.port}/hook`]) {
        const result = await postWebhook(url, '{}', { timeoutMs: 1000, allowPrivate: false });
        expect(result.ok, url).toBe(false);
        expect(result.error).toMatch(/private or loopback/);
      }
      expect(receiver.requests).toHaveLength(0);
      expect((await postWebhook(receiver.url, '{}', { timeoutMs: 1000, allowPrivate: true })).ok).toBe(true);
    } finally {
      await receiver.close();
    }
  });
});

describe('webhook dispatcher', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver.close();
  });

  it('delivers a signed event that ComplyCube’s EventVerifier accepts', async () => {
    const webhook = await createWebhook(receiver.url);
    const eventId = await publish();
    const request = await waitFor('delivery', () => receiver.requests.find((r) => r.body.includes(eventId)));
    expect(request.headers['content-type']).toBe('application/json');
    const signature = request.headers[SIGNATURE_HEADER.toLowerCase()] as string;
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
    const event = new EventVerifier(webhook.secret).constructEvent(request.body, signature);
    expect(event.id).toBe(eventId);
    expect(event.type).toBe('livePhoto.completed');
    expect(request.body).toBe(JSON.stringify(JSON.parse(request.body)));
    expect(() =>
      new EventVerifier('another_secret_of_32_characters_').constructEvent(request.body, signature),
    ).toThrow();
    const log = await waitFor('delivery record', async () => {
      const rows = await attempts(webhook._id.toHexString());
      return rows.length > 0 ? rows : undefined;
    });
    expect(log[0]).toMatchObject({ eventId, attempt: 1, statusCode: 200 });
  });

  it('gets the event to a receiver that was down for a while, with the same event id', async () => {
    const port = await freePort();
    const webhook = await createWebhook(`http://127.0.0.1:${port}/hook`);
    const webhookId = webhook._id.toHexString();
    const eventId = await publish();
    await waitFor('two failed attempts', async () => (await attempts(webhookId)).length >= 2, 15_000);
    const late = await startReceiver(port);
    try {
      const request = await waitFor('late delivery', () => late.requests[0], 15_000);
      expect(JSON.parse(request.body).id).toBe(eventId);
      const rows = await waitFor('success recorded', async () => {
        const r = await attempts(webhookId);
        return r.at(-1)?.statusCode === 200 ? r : undefined;
      });
      expect(rows.length).toBeGreaterThanOrEqual(3);
      expect(new Set(rows.map((r) => r.eventId))).toEqual(new Set([eventId]));
      expect(rows.slice(0, -1).every((r) => r.error && r.statusCode === undefined)).toBe(true);
      expect(rows.map((r) => r.attempt)).toEqual(rows.map((_, i) => i + 1));
      expect(late.requests).toHaveLength(1);
      expect((await ctx.webhooks.findById(webhookId))?.enabled).toBe(true);
    } finally {
      await late.close();
    }
  });

  it('disables a webhook that always answers 500, after logging every attempt', async () => {
    const failing = await startReceiver();
    failing.respond = () => ({ status: 500 });
    try {
      const webhook = await createWebhook(failing.url);
      const webhookId = webhook._id.toHexString();
      const eventId = await publish();
      await waitFor(
        'webhook disabled',
        async () => (await ctx.webhooks.findById(webhookId))?.enabled === false,
        20_000,
      );
      const rows = await attempts(webhookId);
      expect(rows.map((r) => r.attempt)).toEqual([1, 2, 3, 4, 5]);
      expect(rows.every((r) => r.statusCode === 500 && r.eventId === eventId && r.error === 'HTTP 500')).toBe(true);
      expect(rows.every((r) => typeof r.latencyMs === 'number')).toBe(true);
      expect(failing.requests).toHaveLength(5);
      expect(new Set(failing.requests.map((r) => JSON.parse(r.body).id))).toEqual(new Set([eventId]));
    } finally {
      await failing.close();
    }
  });

  it('does not follow redirects', async () => {
    const redirecting = await startReceiver();
    redirecting.respond = (req) =>
      req.path === '/hook' ? { status: 302, headers: { location: `${redirecting.url}-moved` } } : { status: 200 };
    try {
      const webhook = await createWebhook(redirecting.url);
      await publish();
      const rows = await waitFor('a failed attempt', async () => {
        const r = await attempts(webhook._id.toHexString());
        return r.length > 0 ? r : undefined;
      });
      expect(rows[0]).toMatchObject({ statusCode: 302, error: 'redirect 302 not followed' });
      expect(redirecting.requests.every((r) => r.path === '/hook')).toBe(true);
      await ctx.webhooks.disable(webhook._id.toHexString());
    } finally {
      await redirecting.close();
    }
  });

  it('drops jobs of a webhook deleted or disabled meanwhile', async () => {
    // The state is read first and the job (with its return value) after: read the other way round, a job that
    // completes in between is returned with the return value it had before.
    const completedJob = (id: string) =>
      waitFor('job completed', async () =>
        (await ctx.queue('webhooks').getJobState(id)) === 'completed'
          ? await ctx.queue('webhooks').getJob(id)
          : undefined,
      );
    const webhook = await createWebhook(receiver.url);
    const webhookId = webhook._id.toHexString();
    const eventId = (
      await ctx.events.create({
        accountId,
        type: 'livePhoto.completed',
        resourceType: 'livePhoto',
        payload: { id: 'x', createdAt: new Date().toISOString(), updatedAt: new Date().toISOString() },
      })
    )._id.toHexString();
    await ctx.webhooks.disable(webhookId);
    const before = receiver.requests.length;
    const job = await ctx.queue('webhooks').add(QUEUES.webhooks.job, { eventId, webhookId, accountId });
    const done = await completedJob(job.id as string);
    expect(done.returnvalue).toEqual({ dropped: 'webhook_disabled' });
    await ctx.webhooks.delete(accountId, webhookId);
    const gone = await ctx.queue('webhooks').add(QUEUES.webhooks.job, { eventId, webhookId, accountId });
    const done2 = await completedJob(gone.id as string);
    expect(done2.returnvalue).toEqual({ dropped: 'webhook_deleted' });
    expect(receiver.requests.length).toBe(before);
    expect(await attempts(webhookId)).toHaveLength(0);
  });
});
