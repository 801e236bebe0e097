import { createQueueDashboard } from '@selfie/admin';
import { pingMongo } from '@selfie/db';
import { createDemoRouter } from '@selfie/demo';
import { httpMetricsMiddleware, metricsHandler, processMetrics } from '@selfie/metrics';
import { tracingEnabled } from '@selfie/tracing';
import express, { type Express } from 'express';
import { authenticate, rateLimit } from './auth.js';
import type { GatewayContext } from './context.js';
import { guard } from './guard.js';
import { errorHandler, notFoundRoute, requestContext } from './http.js';
import { buildOpenApi } from './openapi.js';
import { clientsRouter } from './routes/clients.js';
import { livePhotosRouter } from './routes/live-photos.js';
import { webhooksRouter } from './routes/webhooks.js';
import { traceRequests } from './tracing.js';

/** JSON limit: a max-size image in base64 (4/3) plus room for line breaks, a data-URI prefix and other fields. */
export function jsonLimitBytes(maxImageBytes: number): number {
  return Math.ceil((maxImageBytes * 4) / 3) + Math.ceil(maxImageBytes / 20) + 64 * 1024;
}

export function createApp(ctx: GatewayContext): Express {
  const { config, repos } = ctx;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const metrics = processMetrics();
  app.use(httpMetricsMiddleware(metrics));
  app.use(requestContext(ctx.logger));

  // Public endpoints: probes and the API description.
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const ms = config.BACKING_TIMEOUT_MS;
    const probes = {
      mongo: () => guard('mongo', ms, () => pingMongo(ctx.connection)),
      redis: () => guard('redis', ms, () => ctx.redis.ping()),
      s3: () => guard('s3', ms, () => ctx.store.ping()),
    };
    const results = await Promise.all(
      Object.entries(probes).map(async ([name, probe]) => {
        try {
          await probe();
          return [name, 'ok'] as const;
        } catch {
          return [name, 'unavailable'] as const;
        }
      }),
    );
    const checks = Object.fromEntries(results);
    const failed = results.filter(([, state]) => state !== 'ok').map(([name]) => name);
    if (failed.length) {
      res
        .status(503)
        .json({ type: 'service_unavailable', message: `Not ready: ${failed.join(', ')} unavailable`, checks });
      return;
    }
    res.json({ status: 'ready', checks });
  });
  const openapi = buildOpenApi();
  app.get('/v1/openapi.json', (_req, res) => {
    res.json(openapi);
  });

  // Authenticate (and rate-limit) before reading any body, so anonymous callers cannot make us parse megabytes.
  const v1 = express.Router();
  // With tracing on (OTEL_EXPORTER_OTLP_ENDPOINT), a span per API request; nothing at all otherwise.
  if (tracingEnabled()) v1.use(traceRequests());
  v1.use(authenticate(repos.accounts, config.AUTH_CACHE_TTL_MS));
  v1.use(
    rateLimit({
      redis: ctx.redis,
      prefix: config.REDIS_PREFIX,
      perSecond: config.RATE_LIMIT_PER_SECOND,
      timeoutMs: Math.min(500, config.BACKING_TIMEOUT_MS),
      logger: ctx.logger,
    }),
  );
  v1.use(express.json({ limit: jsonLimitBytes(config.UPLOAD_MAX_BYTES), type: ['application/json', '+json'] }));
  v1.use('/livePhotos', livePhotosRouter(ctx));
  v1.use('/clients', clientsRouter(ctx));
  v1.use('/webhooks', webhooksRouter(ctx));
  app.use('/v1', v1);

  // Operator and demo surfaces, outside /v1 (no API key): Prometheus scrape, the demo page, the queue dashboard.
  app.get('/metrics', metricsHandler(metrics.registry));
  if (config.DEMO_ENABLED) app.use(createDemoRouter());
  if (config.ADMIN_KEY) app.use(createQueueDashboard({ queues: ctx.queues, adminKey: config.ADMIN_KEY }));

  app.use(notFoundRoute);
  app.use(errorHandler);
  return app;
}
