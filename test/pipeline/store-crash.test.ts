import { type AllInOneHandle, start } from '@selfie/all-in-one';
import { createLogger } from '@selfie/logger';
import { afterAll, describe, expect, it } from 'vitest';
import { testConfig } from '../support/env.js';
import {
  apiClient,
  fixture,
  freePort,
  pollPhoto,
  seedAccount,
  sleep,
  TEST_API_KEY,
  upload,
  waitFor,
} from './helpers.js';
import { type PrivateServer, privateStore } from './support.js';

// The store is SIGKILLed in the middle of a burst of uploads and started again on the same data. Every upload that
// was answered 200 must still be there afterwards and complete; the others were refused (503), never half-accepted.
describe('store killed during a burst of uploads', { timeout: 300_000 }, () => {
  let server: PrivateServer | undefined;
  let app: AllInOneHandle | undefined;

  afterAll(async () => {
    await app?.stop().catch(() => {});
    await server?.cleanup();
  });

  it('keeps every acknowledged upload and completes it after the restart', async () => {
    server = privateStore(await freePort());
    await server.start();
    const config = testConfig({
      MONGODB_URI: server.url,
      LOCAL_API_KEY: TEST_API_KEY,
      RATE_LIMIT_PER_SECOND: 1000,
      BACKING_TIMEOUT_MS: 1500,
      STAGE_BACKOFF_MS: 500,
    });
    const logger = createLogger({ service: 'test-store-crash', level: config.LOG_LEVEL });
    app = await start(config, logger);
    const api = apiClient(app.gateway.url, TEST_API_KEY);
    const { clientId } = await seedAccount(api);
    const bytes = fixture('single', 0, config.UPLOAD_MIN_BYTES);

    const accepted: string[] = [];
    let refused = 0;
    let stop = false;
    const uploader = async () => {
      while (!stop) {
        const res = await upload(api, clientId, bytes);
        if (res.status === 200) accepted.push(res.body.id);
        else {
          expect(res.status, JSON.stringify(res.body)).toBe(503);
          refused++;
          await sleep(100);
        }
      }
    };
    const burst = [uploader(), uploader(), uploader(), uploader()];
    try {
      await waitFor('uploads before the kill', async () => accepted.length >= 8, 60_000, 50);
      const beforeKill = accepted.length;
      await server.kill();
      await sleep(1500);
      await server.start();
      await waitFor('uploads after the restart', async () => accepted.length >= beforeKill + 8, 90_000, 100);
    } finally {
      // The uploaders stop whatever happened, so none outlives the test.
      stop = true;
    }
    const ended = await Promise.allSettled(burst);
    const failed = ended.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;

    expect(refused).toBeGreaterThan(0);
    for (const id of accepted) {
      const photo = await pollPhoto(api, id, 120_000);
      expect(photo.status, id).toBe('complete');
    }
    const listed = await api('GET', `/v1/livePhotos?clientId=${clientId}&pageSize=100`);
    expect(listed.body.totalItems).toBe(accepted.length);
  });
});
