import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createMetrics,
  httpMetricsMiddleware,
  type MetricsServer,
  metricsHandler,
  startMetricsServer,
  statusClass,
  type WatchedQueue,
  withMetricsServer,
} from './index.js';

/** The value of one series in the exposition text, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const wanted = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (wanted) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

function fakeQueue(name: string, counts: Record<string, number> | Error): WatchedQueue {
  return {
    name,
    getJobCounts: (async () => {
      if (counts instanceof Error) throw counts;
      return counts;
    }) as WatchedQueue['getJobCounts'],
  };
}

describe('createMetrics', () => {
  it('moves stage, finalizer and webhook series and renders them in the exposition format', async () => {
    const m = createMetrics({ service: 'test', defaultMetrics: false });
    m.recordStage('faces', { result: 'clear', reasons: [] }, 0.2);
    m.recordStage('obstruction', { result: 'attention', reasons: ['MASK_OR_COVERING', 'FACE_OCCLUDED'] }, 0.7);
    m.recordStage('obstruction', { result: 'attention', reasons: ['MASK_OR_COVERING'] }, 0.04);
    m.recordStage('liveness', { result: 'not_processed', reasons: ['NO_SINGLE_FACE'] });
    m.recordFinalized('complete', 'attention');
    m.recordWebhookDelivery('delivered', 204, 0.12);
    m.recordWebhookDelivery('failed', undefined, 15);

    const text = await m.registry.metrics();
    expect(text).toContain('# TYPE selfie_stage_duration_seconds histogram');
    expect(text).toContain('# TYPE selfie_stage_outcomes_total counter');
    expect(sample(text, 'selfie_stage_duration_seconds_count', { stage: 'obstruction' })).toBe(2);
    expect(sample(text, 'selfie_stage_duration_seconds_bucket', { stage: 'obstruction', le: '0.05' })).toBe(1);
    expect(sample(text, 'selfie_stage_duration_seconds_sum', { stage: 'faces' })).toBeCloseTo(0.2);
    expect(sample(text, 'selfie_stage_outcomes_total', { stage: 'faces', result: 'clear' })).toBe(1);
    expect(sample(text, 'selfie_stage_outcomes_total', { stage: 'obstruction', result: 'attention' })).toBe(2);
    expect(sample(text, 'selfie_stage_reasons_total', { stage: 'obstruction', reason: 'MASK_OR_COVERING' })).toBe(2);
    expect(sample(text, 'selfie_stage_reasons_total', { stage: 'obstruction', reason: 'FACE_OCCLUDED' })).toBe(1);
    expect(sample(text, 'selfie_stage_outcomes_total', { stage: 'liveness', result: 'not_processed' })).toBe(1);
    expect(sample(text, 'selfie_stage_duration_seconds_count', { stage: 'liveness' })).toBeUndefined();
    expect(sample(text, 'selfie_photos_finalized_total', { status: 'complete', outcome: 'attention' })).toBe(1);
    expect(sample(text, 'selfie_webhook_deliveries_total', { result: 'delivered', status_class: '2xx' })).toBe(1);
    expect(sample(text, 'selfie_webhook_deliveries_total', { result: 'failed', status_class: 'none' })).toBe(1);
    expect(sample(text, 'selfie_webhook_delivery_duration_seconds_count', { result: 'failed' })).toBe(1);
    expect(text).toContain('service="test"');
  });

  it('includes process metrics by default, each registry on its own', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.recordFinalized('failed');
    expect(await a.registry.metrics()).toContain('process_cpu_user_seconds_total');
    expect(sample(await b.registry.metrics(), 'selfie_photos_finalized_total', { status: 'failed' })).toBeUndefined();
    expect(sample(await a.registry.metrics(), 'selfie_photos_finalized_total', { outcome: 'none' })).toBe(1);
  });

  it('reads queue depths on scrape, counting prioritized jobs as waiting and skipping a queue that errors', async () => {
    const errors: string[] = [];
    const m = createMetrics({ defaultMetrics: false, onQueueError: (q) => errors.push(q) });
    m.watchQueues([
      fakeQueue('stage-faces', { waiting: 3, prioritized: 2, active: 1, delayed: 4, failed: 5 }),
      fakeQueue('broken', new Error('redis down')),
    ]);
    const text = await m.registry.metrics();
    expect(sample(text, 'selfie_queue_depth', { queue: 'stage-faces', state: 'waiting' })).toBe(5);
    expect(sample(text, 'selfie_queue_depth', { queue: 'stage-faces', state: 'active' })).toBe(1);
    expect(sample(text, 'selfie_queue_depth', { queue: 'stage-faces', state: 'delayed' })).toBe(4);
    expect(sample(text, 'selfie_queue_depth', { queue: 'stage-faces', state: 'failed' })).toBe(5);
    expect(sample(text, 'selfie_queue_depth', { queue: 'broken' })).toBeUndefined();
    expect(errors).toEqual(['broken']);

    m.unwatchQueue('stage-faces');
    expect(sample(await m.registry.metrics(), 'selfie_queue_depth', { queue: 'stage-faces' })).toBeUndefined();
  });

  it('classes status codes', () => {
    expect(statusClass(200)).toBe('2xx');
    expect(statusClass(503)).toBe('5xx');
    expect(statusClass(undefined)).toBe('none');
  });
});

describe('Express middleware and /metrics handler', () => {
  it('counts requests by route pattern, not raw URL', async () => {
    const m = createMetrics({ defaultMetrics: false });
    const app = express();
    app.use(httpMetricsMiddleware(m));
    const v1 = express.Router();
    v1.get('/livePhotos/:id', (_req, res) => {
      res.json({ ok: true });
    });
    app.use('/v1', v1);
    app.get(['/demo', '/demo/'], (_req, res) => {
      res.send('page');
    });
    app.get('/metrics', metricsHandler(m.registry));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await fetch(`${base}/v1/livePhotos/5eb1b5f231778a0008d1c3f6`);
      await fetch(`${base}/v1/livePhotos/5eb1b5f231778a0008d1c3f7`);
      await fetch(`${base}/nowhere`);
      await fetch(`${base}/demo/`);
      const res = await fetch(`${base}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      const text = await res.text();
      expect(
        sample(text, 'selfie_http_requests_total', { method: 'GET', route: '/v1/livePhotos/:id', status: '200' }),
      ).toBe(2);
      expect(sample(text, 'selfie_http_requests_total', { route: 'unmatched', status: '404' })).toBe(1);
      expect(sample(text, 'selfie_http_request_duration_seconds_count', { route: '/v1/livePhotos/:id' })).toBe(2);
      expect(sample(text, 'selfie_http_requests_total', { route: '/demo', status: '200' })).toBe(1);
      expect(text).not.toContain('5eb1b5f231778a0008d1c3f6');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('startMetricsServer', () => {
  let srv: MetricsServer | undefined;
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
  });

  it('answers /healthz, /readyz per the callback, and /metrics', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.recordStage('liveness', { result: 'clear' }, 1);
    let ready = false;
    srv = await startMetricsServer({ port: 0, registry: m.registry, ready: async () => ready });

    expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${srv.url}/readyz`)).status).toBe(503);
    ready = true;
    const readyRes = await fetch(`${srv.url}/readyz`);
    expect(readyRes.status).toBe(200);
    expect(await readyRes.json()).toEqual({ status: 'ready' });

    const metrics = await fetch(`${srv.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(sample(await metrics.text(), 'selfie_stage_outcomes_total', { stage: 'liveness', result: 'clear' })).toBe(1);
    expect((await fetch(`${srv.url}/other`)).status).toBe(404);
    expect((await fetch(`${srv.url}/healthz`, { method: 'POST' })).status).toBe(405);
  });

  it('answers /readyz 503 when the callback throws or hangs', async () => {
    const m = createMetrics({ defaultMetrics: false });
    let mode: 'throw' | 'hang' = 'throw';
    srv = await startMetricsServer({
      port: 0,
      registry: m.registry,
      readyTimeoutMs: 100,
      ready: () => (mode === 'throw' ? Promise.reject(new Error('mongo down')) : new Promise<boolean>(() => {})),
    });
    expect((await fetch(`${srv.url}/readyz`)).status).toBe(503);
    mode = 'hang';
    expect((await fetch(`${srv.url}/readyz`)).status).toBe(503);
  });
});

describe('withMetricsServer', () => {
  it('runs the metrics server beside the service and stops both', async () => {
    let stopped = 0;
    let running = true;
    const start = async (_config: { METRICS_PORT: number; METRICS_HOST: string }, _logger: unknown) => ({
      running: () => running,
      async stop() {
        stopped += 1;
      },
    });
    const wrapped = withMetricsServer('worker-test', start, (h) => h.running());
    const handle = await wrapped({ METRICS_PORT: 0, METRICS_HOST: '127.0.0.1' }, undefined);
    expect('metricsServer' in handle).toBe(false);
    await handle.stop();
    expect(stopped).toBe(1);

    // Port 0 means "off" for the config; a real free port is needed to see it serve.
    const probe = await startMetricsServer({
      port: 0,
      registry: createMetrics({ defaultMetrics: false }).registry,
      ready: () => true,
    });
    const port = probe.port;
    await probe.close();
    const served = await wrapped({ METRICS_PORT: port, METRICS_HOST: '127.0.0.1' }, undefined);
    const url = served.metricsServer?.url as string;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    running = false;
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    expect(await (await fetch(`${url}/metrics`)).text()).toContain('process_cpu_user_seconds_total');
    await served.stop();
    expect(stopped).toBe(2);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
