import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createQueue, createRedisClient, QUEUES, type Queue, type QueueKey } from '@selfie/queue';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../../test/support/env.js';
import { createQueueDashboard, keysMatch } from './index.js';

const config = testConfig({ ADMIN_KEY: 'admin-key-for-tests-0123456789' });
const adminKey = config.ADMIN_KEY as string;

describe('queue dashboard', () => {
  let connection: ReturnType<typeof createRedisClient>;
  let queues: Queue[];
  let server: Server;
  let base: string;

  beforeAll(async () => {
    connection = createRedisClient(config.REDIS_URL, 'producer');
    const ctx = { connection, prefix: config.REDIS_PREFIX };
    queues = (Object.keys(QUEUES) as QueueKey[]).map((key) => createQueue(key, ctx) as Queue);
    const app = express();
    app.use(createQueueDashboard({ queues, adminKey }));
    app.use((_req, res) => {
      res.status(404).json({ type: 'resource_not_found' });
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await Promise.all(queues.map((q) => q.obliterate({ force: true }).catch(() => {})));
    await Promise.all(queues.map((q) => q.close()));
    await connection.quit();
  });

  it('answers 401 with a Basic challenge without the key, or with a wrong one', async () => {
    const none = await fetch(`${base}/admin/queues`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic /);
    const wrong = await fetch(`${base}/admin/queues/api/queues`, { headers: { 'X-Admin-Key': 'nope' } });
    expect(wrong.status).toBe(401);
    const wrongBasic = await fetch(`${base}/admin/queues`, {
      headers: { Authorization: `Basic ${Buffer.from(`admin:${adminKey}x`).toString('base64')}` },
    });
    expect(wrongBasic.status).toBe(401);
  });

  it('serves the dashboard HTML with the key in X-Admin-Key or as the Basic password', async () => {
    const viaHeader = await fetch(`${base}/admin/queues`, { headers: { 'X-Admin-Key': adminKey } });
    expect(viaHeader.status).toBe(200);
    expect(viaHeader.headers.get('content-type')).toContain('text/html');
    const html = await viaHeader.text();
    expect(html).toContain('<base href="/admin/queues/');
    expect(html).toContain('Selfie queues');

    const viaBasic = await fetch(`${base}/admin/queues`, {
      headers: { Authorization: `Basic ${Buffer.from(`anyone:${adminKey}`).toString('base64')}` },
    });
    expect(viaBasic.status).toBe(200);
  });

  it('lists every catalogue queue through bull-board’s API route', async () => {
    await queues[0]?.add(QUEUES.faces.job, { photoId: '0'.repeat(24) } as never, { jobId: 'dashboard-test' });
    const res = await fetch(`${base}/admin/queues/api/queues`, { headers: { 'X-Admin-Key': adminKey } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { queues: { name: string; counts: Record<string, number> }[] };
    const names = body.queues.map((q) => q.name).sort();
    expect(names).toEqual(
      Object.values(QUEUES)
        .map((q) => q.name)
        .sort(),
    );
    const faces = body.queues.find((q) => q.name === QUEUES.faces.name);
    expect(faces?.counts.waiting).toBe(1);
  });

  it('leaves other paths alone', async () => {
    expect((await fetch(`${base}/v1/livePhotos`)).status).toBe(404);
  });

  it('compares keys in constant time whatever their lengths', () => {
    expect(keysMatch(adminKey, adminKey)).toBe(true);
    expect(keysMatch('short', adminKey)).toBe(false);
    expect(keysMatch(undefined, adminKey)).toBe(false);
  });
});
