import { createHash, timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import { type NextFunction, type Request, type RequestHandler, type Response, Router } from 'express';

export interface QueueDashboardOptions {
  /** Every queue to show (the stage queues, finalize, webhooks, sweeper). */
  queues: Queue[];
  /** Where the dashboard lives; the returned router is mounted at the app's root. Default `/admin/queues`. */
  basePath?: string;
  /** The admin key (config ADMIN_KEY). Callers do not mount the dashboard at all when it is unset. */
  adminKey: string;
  /** Hide the retry/clean/remove buttons. Default false. */
  readOnly?: boolean;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Constant-time comparison that also hides the expected key's length (both sides are hashed first). */
export function keysMatch(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(digest(given), digest(expected));
}

/** The key a request carries: `X-Admin-Key`, or the password of HTTP Basic auth (any user name). */
export function presentedAdminKey(req: Request): string | undefined {
  const header = req.get('x-admin-key');
  if (header) return header;
  const auth = req.get('authorization');
  const match = auth?.match(/^Basic\s+([A-Za-z0-9+/=]+)\s*$/i);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/** Middleware admitting only requests that carry the admin key; a browser gets the Basic login prompt. */
export function requireAdminKey(adminKey: string): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (keysMatch(presentedAdminKey(req), adminKey)) {
      next();
      return;
    }
    res
      .status(401)
      .set('WWW-Authenticate', 'Basic realm="selfie admin", charset="UTF-8"')
      .set('Cache-Control', 'no-store')
      .json({ type: 'unauthorized', message: 'The admin key is missing or invalid' });
  };
}

/**
 * Bull Board over the given queues, behind the admin key. Mount the result at the app's root:
 * `if (config.ADMIN_KEY) app.use(createQueueDashboard({ queues, adminKey: config.ADMIN_KEY }))`.
 */
export function createQueueDashboard(options: QueueDashboardOptions): Router {
  if (!options.adminKey || options.adminKey.length < 16) {
    throw new Error('createQueueDashboard needs an admin key of at least 16 characters');
  }
  const basePath = (options.basePath ?? '/admin/queues').replace(/\/+$/, '');
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: options.queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: options.readOnly ?? false })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Selfie queues' } },
  });

  const router = Router();
  router.use(basePath, requireAdminKey(options.adminKey), (_req, res, next) => {
    // The dashboard shows job data and error stacks: keep it out of shared caches and other sites' frames.
    res.set('Cache-Control', 'no-store');
    res.set('X-Frame-Options', 'DENY');
    next();
  });
  router.use(basePath, serverAdapter.getRouter() as RequestHandler);
  return router;
}
