import { errors } from '@selfie/contracts';
import { type AccountRepository, API_KEY_PATTERN } from '@selfie/db';
import type { Logger } from '@selfie/logger';
import type { RequestHandler } from 'express';
import type { Redis } from 'ioredis';

/**
 * `Authorization: <key>` as ComplyCube's clients send it; a `Bearer ` prefix is tolerated. Verified keys are
 * cached for `cacheTtlMs` (two Mongo reads saved per request); disabling an account takes effect within that TTL.
 */
export function authenticate(accounts: AccountRepository, cacheTtlMs = 0): RequestHandler {
  const cache = new Map<
    string,
    { accountId: string; keyHash: string; enabled: boolean; repeatFace: boolean; until: number }
  >();
  return async (req, res, next) => {
    const header = req.get('authorization')?.trim() ?? '';
    const key = header.replace(/^Bearer\s+/i, '');
    if (!API_KEY_PATTERN.test(key)) throw errors.unauthorized();
    const now = Date.now();
    let entry = cache.get(key);
    if (!entry || entry.until < now) {
      const found = await accounts.authenticate(key);
      if (!found) throw errors.unauthorized();
      entry = {
        accountId: found.account._id.toHexString(),
        keyHash: found.key.keyHash,
        enabled: found.account.enabled,
        repeatFace: found.account.repeatFace === true,
        until: now + cacheTtlMs,
      };
      if (cacheTtlMs > 0) {
        if (cache.size > 10_000) cache.clear();
        cache.set(key, entry);
      }
    }
    if (!entry.enabled) throw errors.forbidden('This account is disabled');
    res.locals.accountId = entry.accountId;
    res.locals.keyHash = entry.keyHash;
    // The account's repeat-face setting (README "Repeat faces"); uploads also need REPEAT_FACE_ENABLED.
    res.locals.repeatFace = entry.repeatFace;
    res.locals.log = res.locals.log.child({ accountId: res.locals.accountId });
    next();
  };
}

// INCR + PEXPIRE in one round trip, atomically: the first hit of a window sets its expiry.
const FIXED_WINDOW = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;

export interface RateLimiterOptions {
  redis: Redis;
  prefix: string;
  perSecond: number;
  /** Budget for the Redis call; past it the request is let through. */
  timeoutMs: number;
  logger: Logger;
}

/**
 * Per-API-key fixed one-second windows shared by every replica through Redis (`<prefix>:ratelimit:<key>:<sec>`).
 * Fails open: when Redis is unreachable requests pass (uploads still answer 503 because they need the queue),
 * so a Redis outage does not take down reads that only need Mongo/S3.
 */
export function rateLimit(options: RateLimiterOptions): RequestHandler {
  let lastWarn = 0;
  return async (_req, res, next) => {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    const key = `${options.prefix}:ratelimit:${res.locals.keyHash.slice(0, 32)}:${second}`;
    let count: number;
    let timer: NodeJS.Timeout | undefined;
    try {
      count = await Promise.race([
        options.redis.eval(FIXED_WINDOW, 1, key, 2000) as Promise<number>,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('rate limiter timeout')), options.timeoutMs);
        }),
      ]);
    } catch (err) {
      if (now - lastWarn > 10_000) {
        lastWarn = now;
        options.logger.warn({ err }, 'rate limiter unavailable: letting requests through');
      }
      next();
      return;
    } finally {
      clearTimeout(timer);
    }
    res.setHeader('X-RateLimit-Limit', String(options.perSecond));
    res.setHeader('X-RateLimit-Remaining', String(Math.max(0, options.perSecond - count)));
    if (count > options.perSecond) throw errors.rateLimited(Math.max(1, Math.ceil((1000 - (now % 1000)) / 1000)));
    next();
  };
}
