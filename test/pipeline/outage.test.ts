import { type AllInOneHandle, start } from '@selfie/all-in-one';
import type { TConfig } from '@selfie/config';
import { createLogger } from '@selfie/logger';
import { createPipelineContext } from '@selfie/pipeline';
import { afterEach, describe, expect, it } from 'vitest';
import { testConfig } from '../support/env.js';
import { apiClient, fixture, freePort, pollPhoto, seedAccount, TEST_API_KEY, upload, waitFor } from './helpers.js';
import { type PrivateServer, privateRedis, privateS3, privateStore } from './support.js';

// Each backing service taken down in turn: a PRIVATE instance on its own port (never the shared ones), killed
// with SIGKILL and started again on the same port and data. Uploads answer 503 quickly and write nothing; once the
// service is back, the running process recovers by itself.
type Kind = 'redis' | 'mongo' | 's3';

let app: AllInOneHandle | undefined;
let server: PrivateServer | undefined;

afterEach(async () => {
  await app?.stop().catch(() => {});
  app = undefined;
  await server?.cleanup();
  server = undefined;
});

async function outage(kind: Kind) {
  const port = await freePort();
  const base = testConfig();
  server =
    kind === 'redis'
      ? privateRedis(port)
      : kind === 'mongo'
        ? privateStore(port)
        : privateS3(port, base.S3_ACCESS_KEY, base.S3_SECRET_KEY);
  await server.start();
  const override: Partial<TConfig> =
    kind === 'redis'
      ? { REDIS_URL: server.url }
      : kind === 'mongo'
        ? { MONGODB_URI: server.url }
        : { S3_ENDPOINT: server.url };
  const config = testConfig({
    ...override,
    LOCAL_API_KEY: TEST_API_KEY,
    RATE_LIMIT_PER_SECOND: 1000,
    BACKING_TIMEOUT_MS: 1500,
    STAGE_BACKOFF_MS: 500,
  });
  const logger = createLogger({ service: `test-outage-${kind}`, level: config.LOG_LEVEL });
  app = await start(config, logger);
  const api = apiClient(app.gateway.url, TEST_API_KEY);
  const { clientId } = await seedAccount(api);
  const bytes = fixture('single', 0, config.UPLOAD_MIN_BYTES);

  const before = await upload(api, clientId, bytes);
  expect(before.status).toBe(200);
  expect((await pollPhoto(api, before.body.id)).status).toBe('complete');

  await server.kill();
  for (let i = 0; i < 2; i++) {
    const down = await upload(api, clientId, bytes, {});
    expect(down.status, JSON.stringify(down.body)).toBe(503);
    expect(down.body).toMatchObject({ type: 'service_unavailable' });
    expect(down.ms).toBeLessThan(2000);
  }

  await server.start();
  // Recovery without restarting anything: the same process accepts and completes uploads again.
  const after = await waitFor(
    `uploads accepted again after ${kind} came back`,
    async () => {
      const res = await upload(api, clientId, bytes);
      return res.status === 200 ? res : undefined;
    },
    30_000,
    250,
  );
  expect((await pollPhoto(api, after.body.id, 60_000)).status).toBe('complete');

  // Nothing half-written by the refused uploads: exactly the two accepted photos, in Mongo and in S3.
  const ctx = await createPipelineContext(config, logger);
  try {
    const photos = await ctx.photos.model.find({ clientId }).lean();
    expect(photos.map((p) => p._id.toHexString()).sort()).toEqual([before.body.id, after.body.id].sort());
    const accountId = photos[0]?.accountId.toHexString();
    const objects = await ctx.store.list(`${accountId}/`);
    expect(objects.sort()).toEqual(photos.map((p) => p.objectKey).sort());
  } finally {
    await ctx.close();
  }
}

describe('backing service outages', { timeout: 120_000 }, () => {
  it('Redis down: 503 within 2 s, nothing written, recovery when it returns', () => outage('redis'));
  it('MongoDB store down: 503 within 2 s, nothing written, recovery when it returns', () => outage('mongo'));
  it('S3 down: 503 within 2 s, nothing written, recovery when it returns', () => outage('s3'));
});
