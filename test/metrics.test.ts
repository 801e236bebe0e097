import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { OPT_IN_STAGES, STAGES } from '@selfie/contracts';
import { createLogger } from '@selfie/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayUrl, singleFaceFixture } from './browser/support.js';
import { testConfig } from './support/env.js';

const fixture = singleFaceFixture();
const KEY = `test_metrics${randomBytes(8).toString('hex')}`;
const ADMIN_KEY = `admin-${randomBytes(12).toString('hex')}`;

/** Sum of every series of `name` whose labels include `labels`. */
function total(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}

describe.skipIf(!fixture)('metrics on the whole stack (all-in-one)', () => {
  const config = testConfig({ LOCAL_API_KEY: KEY, ADMIN_KEY });
  let stack: { stop(): Promise<void>; gateway: unknown } | undefined;
  let base: string;

  const api = async (path: string, init: { method?: string; body?: unknown } = {}) => {
    const res = await fetch(`${base}/v1${path}`, {
      method: init.method ?? 'GET',
      headers: { Authorization: KEY, 'Content-Type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const body = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path} answered ${res.status}: ${JSON.stringify(body)}`);
    return body;
  };

  beforeAll(async () => {
    const { start } = await import('../services/all-in-one/src/index.js');
    stack = await start(config, createLogger({ service: 'metrics-test', level: config.LOG_LEVEL }));
    base = gatewayUrl(stack.gateway);
    const res = await fetch(`${base}/metrics`);
    if (res.status !== 200)
      throw new Error(`GET /metrics answered ${res.status}: the gateway must mount metricsHandler()`);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('moves the stage, finalizer and HTTP series once a photo completes', async () => {
    const before = await (await fetch(`${base}/metrics`)).text();

    const client = await api('/clients', {
      method: 'POST',
      body: { type: 'person', email: 'metrics@example.com', personDetails: { firstName: 'Metri', lastName: 'Cs' } },
    });
    const data = readFileSync(fixture as string).toString('base64');
    const uploaded = await api('/livePhotos', { method: 'POST', body: { clientId: client.id, data } });
    let photo = uploaded;
    const deadline = Date.now() + 120_000;
    while (photo.status === 'processing' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      photo = await api(`/livePhotos/${uploaded.id}`);
    }
    expect(photo.status).toBe('complete');

    // The API reports a photo complete as soon as every stage result is stored (it merges them); the finalizer's
    // own write and counter follow a moment later.
    const finalizedBefore = total(before, 'selfie_photos_finalized_total', { status: 'complete' });
    let res = await fetch(`${base}/metrics`);
    let after = await res.text();
    for (
      let i = 0;
      i < 50 && total(after, 'selfie_photos_finalized_total', { status: 'complete' }) <= finalizedBefore;
      i++
    ) {
      await new Promise((r) => setTimeout(r, 200));
      res = await fetch(`${base}/metrics`);
      after = await res.text();
    }
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');

    for (const stage of STAGES.filter((s) => !OPT_IN_STAGES.includes(s))) {
      const name = 'selfie_stage_duration_seconds_count';
      expect(total(after, name, { stage }), `${name}{stage="${stage}"}`).toBeGreaterThan(
        total(before, name, { stage }),
      );
      expect(total(after, 'selfie_stage_outcomes_total', { stage })).toBeGreaterThan(
        total(before, 'selfie_stage_outcomes_total', { stage }),
      );
    }
    expect(total(after, 'selfie_stage_outcomes_total', { stage: 'faces', result: 'clear' })).toBeGreaterThan(0);
    expect(total(after, 'selfie_photos_finalized_total', { status: 'complete' })).toBe(finalizedBefore + 1);
    expect(total(after, 'selfie_http_requests_total', { method: 'POST', route: '/v1/livePhotos' })).toBeGreaterThan(0);
    expect(after).not.toContain(String(uploaded.id));
    expect(after).toMatch(/selfie_queue_depth\{[^}]*queue="stage-faces"/);
    expect(after).toContain('process_cpu_user_seconds_total');
  }, 150_000);

  it('serves the queue dashboard only with the admin key', async () => {
    expect((await fetch(`${base}/admin/queues`)).status).toBe(401);
    const res = await fetch(`${base}/admin/queues/api/queues`, { headers: { 'X-Admin-Key': ADMIN_KEY } });
    expect(res.status).toBe(200);
    const names = ((await res.json()) as { queues: { name: string }[] }).queues.map((q) => q.name);
    expect(names).toEqual(expect.arrayContaining(['stage-faces', 'stage-obstruction', 'finalize', 'webhooks']));
  });
});
