import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Queue } from 'bullmq';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export { Registry } from 'prom-client';

/** The states `selfie_queue_depth` reports for every watched queue. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

/** The queues a scrape reads counts from: anything with a name and BullMQ's `getJobCounts`. */
export type WatchedQueue = Pick<Queue, 'name' | 'getJobCounts'>;

export type WebhookDeliveryResult = 'delivered' | 'failed' | 'disabled';

/** What retention erases, counted per kind. */
export type RetentionKind = 'photos' | 'objects' | 'events' | 'deliveries';
/** How the orphan sweep resolved an orphan: bytes without a record deleted, or a record without bytes failed. */
export type OrphanKind = 'object_deleted' | 'record_failed';

export interface Metrics {
  registry: Registry;
  stageDuration: Histogram<'stage'>;
  stageOutcomes: Counter<'stage' | 'result'>;
  stageReasons: Counter<'stage' | 'reason'>;
  photosFinalized: Counter<'status' | 'outcome'>;
  webhookDeliveries: Counter<'result' | 'status_class'>;
  webhookDeliveryDuration: Histogram<'result'>;
  queueDepth: Gauge<'queue' | 'state'>;
  retentionErased: Counter<'kind'>;
  orphansResolved: Counter<'kind'>;
  outboxRelayed: Counter;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  /** Adds queues whose job counts are read on every scrape (a queue already watched, by name, is replaced). */
  watchQueues(queues: Iterable<WatchedQueue>): void;
  /** Stops reading a queue's counts (e.g. before closing it). */
  unwatchQueue(name: string): void;
  /**
   * One stage run: its verdict, every reason it gave and (when it ran a model) its duration. `result` may also be
   * `failed` for a stage that failed for good; leave `seconds` out for verdicts given without running (not_processed).
   */
  recordStage(stage: string, outcome: { result: string; reasons?: readonly string[] }, seconds?: number): void;
  /** One photo the finalizer closed. */
  recordFinalized(status: string, outcome?: string): void;
  /** One webhook delivery attempt. `statusCode` is undefined when no response came (timeout, refused, DNS…). */
  recordWebhookDelivery(result: WebhookDeliveryResult, statusCode: number | undefined, seconds: number): void;
  /** What one retention pass erased. */
  recordRetention(counts: Partial<Record<RetentionKind, number>>): void;
  /** Orphans one sweep resolved. */
  recordOrphans(kind: OrphanKind, count: number): void;
  /** Delivery jobs the outbox relay queued because Redis had not received them when the event was stored. */
  recordOutboxRelayed(deliveries: number): void;
}

export interface CreateMetricsOptions {
  /** Added as a `service` label to every series (omit in an all-in-one process). */
  service?: string;
  /** Collect Node's process metrics (CPU, memory, event-loop lag, GC…). Default true. */
  defaultMetrics?: boolean;
  /** Longest a scrape waits for one queue's counts before leaving that queue out. Default 2000 ms. */
  queueTimeoutMs?: number;
  /** Told when a queue's counts could not be read during a scrape (the scrape itself still answers). */
  onQueueError?: (queue: string, err: unknown) => void;
}

const STAGE_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const WEBHOOK_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30];

/** `2xx`, `4xx`… from an HTTP status; `none` when there was no response. */
export function statusClass(statusCode: number | undefined): string {
  if (statusCode === undefined || !Number.isFinite(statusCode) || statusCode < 100 || statusCode > 599) return 'none';
  return `${Math.floor(statusCode / 100)}xx`;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/** A registry with the product's metrics. A process normally has one: see `processMetrics()`. */
export function createMetrics(options: CreateMetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.service) registry.setDefaultLabels({ service: options.service });
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  const queues = new Map<string, WatchedQueue>();
  const queueTimeoutMs = options.queueTimeoutMs ?? 2000;
  const registers = [registry];

  const stageDuration = new Histogram({
    name: 'selfie_stage_duration_seconds',
    help: 'Time one inspection stage took on one photo, in seconds.',
    labelNames: ['stage'] as const,
    buckets: STAGE_BUCKETS,
    registers,
  });
  const stageOutcomes = new Counter({
    name: 'selfie_stage_outcomes_total',
    help: 'Inspection stage runs by verdict (clear, attention, not_processed) or error.',
    labelNames: ['stage', 'result'] as const,
    registers,
  });
  const stageReasons = new Counter({
    name: 'selfie_stage_reasons_total',
    help: 'Reason codes given by inspection stages.',
    labelNames: ['stage', 'reason'] as const,
    registers,
  });
  const photosFinalized = new Counter({
    name: 'selfie_photos_finalized_total',
    help: 'Live photos the finalizer closed, by status (complete, failed) and outcome.',
    labelNames: ['status', 'outcome'] as const,
    registers,
  });
  const webhookDeliveries = new Counter({
    name: 'selfie_webhook_deliveries_total',
    help: 'Webhook delivery attempts by result (delivered, failed, disabled) and HTTP status class.',
    labelNames: ['result', 'status_class'] as const,
    registers,
  });
  const webhookDeliveryDuration = new Histogram({
    name: 'selfie_webhook_delivery_duration_seconds',
    help: 'Time one webhook delivery attempt took, in seconds.',
    labelNames: ['result'] as const,
    buckets: WEBHOOK_BUCKETS,
    registers,
  });
  const queueDepth = new Gauge({
    name: 'selfie_queue_depth',
    help: 'Jobs in each BullMQ queue by state, read from Redis at scrape time.',
    labelNames: ['queue', 'state'] as const,
    registers,
    async collect() {
      this.reset();
      await Promise.all(
        [...queues.values()].map(async (queue) => {
          try {
            const counts = await withTimeout(queue.getJobCounts('prioritized', ...QUEUE_STATES), queueTimeoutMs);
            for (const state of QUEUE_STATES) {
              let value = counts[state] ?? 0;
              // BullMQ keeps jobs with a priority in their own list; for a depth gauge they are waiting too.
              if (state === 'waiting') value += counts.prioritized ?? 0;
              this.set({ queue: queue.name, state }, value);
            }
          } catch (err) {
            options.onQueueError?.(queue.name, err);
          }
        }),
      );
    },
  });
  const retentionErased = new Counter({
    name: 'selfie_retention_erased_total',
    help: 'What retention erased: photos (records), objects (stored bytes), events and delivery records.',
    labelNames: ['kind'] as const,
    registers,
  });
  const orphansResolved = new Counter({
    name: 'selfie_orphans_resolved_total',
    help: 'Orphans the sweep resolved: object_deleted (bytes without a record), record_failed (record without bytes).',
    labelNames: ['kind'] as const,
    registers,
  });
  const outboxRelayed = new Counter({
    name: 'selfie_outbox_relayed_total',
    help: 'Webhook delivery jobs the outbox relay queued for events whose jobs had not reached Redis.',
    registers,
  });
  const httpRequests = new Counter({
    name: 'selfie_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  });
  const httpRequestDuration = new Histogram({
    name: 'selfie_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, in seconds.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers,
  });

  return {
    registry,
    stageDuration,
    stageOutcomes,
    stageReasons,
    photosFinalized,
    webhookDeliveries,
    webhookDeliveryDuration,
    queueDepth,
    retentionErased,
    orphansResolved,
    outboxRelayed,
    httpRequests,
    httpRequestDuration,
    watchQueues(list) {
      for (const queue of list) queues.set(queue.name, queue);
    },
    unwatchQueue(name) {
      queues.delete(name);
    },
    recordStage(stage, outcome, seconds) {
      if (seconds !== undefined) stageDuration.observe({ stage }, seconds);
      stageOutcomes.inc({ stage, result: outcome.result });
      for (const reason of outcome.reasons ?? []) stageReasons.inc({ stage, reason });
    },
    recordFinalized(status, outcome) {
      photosFinalized.inc({ status, outcome: outcome ?? 'none' });
    },
    recordWebhookDelivery(result, statusCode, seconds) {
      webhookDeliveries.inc({ result, status_class: statusClass(statusCode) });
      webhookDeliveryDuration.observe({ result }, seconds);
    },
    recordRetention(counts) {
      for (const [kind, n] of Object.entries(counts)) if (n) retentionErased.inc({ kind }, n);
    },
    recordOrphans(kind, count) {
      if (count > 0) orphansResolved.inc({ kind }, count);
    },
    recordOutboxRelayed(deliveries) {
      if (deliveries > 0) outboxRelayed.inc(deliveries);
    },
  };
}

let shared: Metrics | undefined;

/**
 * The process's one set of metrics, created on first use. Services record into it from `start()`; the gateway's
 * `/metrics` (or a worker's metrics server) exposes its registry. In an all-in-one process every service shares it.
 */
export function processMetrics(options: CreateMetricsOptions = {}): Metrics {
  shared ??= createMetrics(options);
  return shared;
}

/**
 * Route label for a request: the matched route pattern (never the raw URL, so ids do not explode the series),
 * `<mount>/*` for static files under a mounted router, `unmatched` for everything else.
 */
export function routeLabel(req: Request): string {
  const route = (req as Request & { route?: { path?: unknown } }).route;
  const base = req.baseUrl ?? '';
  if (route && route.path !== undefined) {
    // A route declared with several paths (`get(['/a', '/a/'])`) is labelled by its first one.
    const first = Array.isArray(route.path) ? route.path[0] : route.path;
    const path = typeof first === 'string' ? first : String(first);
    const joined = `${base}${path === '/' && base ? '' : path}`;
    return joined || '/';
  }
  if (base) return `${base}/*`;
  return 'unmatched';
}

/** Express middleware counting and timing every request. Mount it first, before any router. */
export function httpMetricsMiddleware(metrics: Metrics): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    let done = false;
    const record = () => {
      if (done) return;
      done = true;
      const labels = { method: req.method, route: routeLabel(req), status: String(res.statusCode) };
      metrics.httpRequests.inc(labels);
      metrics.httpRequestDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    };
    res.once('finish', record);
    // A client that hangs up early still counts, with the status that was about to be sent.
    res.once('close', record);
    next();
  };
}

/** Express handler for `GET /metrics` in the Prometheus text format. */
export function metricsHandler(registry: Registry): RequestHandler {
  return async (_req: Request, res: Response) => {
    try {
      const body = await registry.metrics();
      res.setHeader('Content-Type', registry.contentType);
      res.setHeader('Cache-Control', 'no-store');
      res.status(200).end(body);
    } catch (err) {
      res
        .status(500)
        .type('text/plain')
        .end(`metrics collection failed: ${(err as Error).message}\n`);
    }
  };
}

export interface MetricsServerOptions {
  /** 0 picks a free port (tests); callers skip starting the server when their config says 0 = off. */
  port: number;
  host?: string;
  registry: Registry;
  /** Readiness: true when the process can do work (Redis/Mongo/S3 answer, models loaded). */
  ready: () => Promise<boolean> | boolean;
  /** Longest /readyz waits for `ready()` before answering 503. Default 2000 ms. */
  readyTimeoutMs?: number;
}

export interface MetricsServer {
  server: Server;
  /** The port actually bound. */
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * A tiny HTTP server for processes that have no other one (the workers): `/metrics`, `/healthz` (the process is up)
 * and `/readyz` (200 or 503 per the `ready` callback).
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1';
  const readyTimeoutMs = options.readyTimeoutMs ?? 2000;

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, contentType: string, body: string) => {
      res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const json = (status: number, body: unknown) => send(status, 'application/json', JSON.stringify(body));

    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      json(405, { status: 'method_not_allowed' });
      return;
    }
    if (path === '/healthz') {
      json(200, { status: 'ok' });
      return;
    }
    if (path === '/readyz') {
      withTimeout(Promise.resolve().then(options.ready), readyTimeoutMs)
        .then(
          (ok) => (ok ? json(200, { status: 'ready' }) : json(503, { status: 'not_ready' })),
          (err: unknown) => json(503, { status: 'not_ready', error: (err as Error).message }),
        )
        .catch(() => res.destroy());
      return;
    }
    if (path === '/metrics') {
      options.registry
        .metrics()
        .then(
          (body) => send(200, options.registry.contentType, body),
          (err: unknown) => send(500, 'text/plain', `metrics collection failed: ${(err as Error).message}\n`),
        )
        .catch(() => res.destroy());
      return;
    }
    json(404, { status: 'not_found' });
  });
  // Scrapers and probes hold keep-alive connections; do not let them keep a stopping worker alive.
  server.keepAliveTimeout = 5000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    server,
    port,
    url: `http://${urlHost}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** The two config variables a worker's metrics server reads (a subset of TConfig). */
export interface MetricsServerConfig {
  METRICS_PORT: number;
  METRICS_HOST: string;
}

/**
 * Wraps a service's `start(config, logger)` for its own process (`main.ts`): the process's metrics get a `service`
 * label, and unless METRICS_PORT is 0 a `/metrics` + `/healthz` + `/readyz` server runs beside the service.
 * `stop()` closes that server first (probes then fail while the service drains), then stops the service.
 *   await runService('worker-faces', withMetricsServer('worker-faces', start, (h) => h.worker.isRunning()));
 */
export function withMetricsServer<C extends MetricsServerConfig, L, H extends { stop(): Promise<void> }>(
  service: string,
  start: (config: C, logger: L) => Promise<H>,
  ready: (handle: H) => Promise<boolean> | boolean = () => true,
): (config: C, logger: L) => Promise<H & { metricsServer?: MetricsServer }> {
  return async (config, logger) => {
    const metrics = processMetrics({ service });
    const handle = await start(config, logger);
    if (config.METRICS_PORT === 0) return handle;
    let metricsServer: MetricsServer;
    try {
      metricsServer = await startMetricsServer({
        port: config.METRICS_PORT,
        host: config.METRICS_HOST,
        registry: metrics.registry,
        ready: () => ready(handle),
      });
    } catch (err) {
      await handle.stop();
      throw err;
    }
    const stopService = handle.stop.bind(handle);
    return Object.assign(handle, {
      metricsServer,
      async stop() {
        await metricsServer.close().catch(() => {});
        await stopService();
      },
    });
  };
}
