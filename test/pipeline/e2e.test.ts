import { EventVerifier } from '@complycube/api';
import { type AllInOneHandle, start } from '@selfie/all-in-one';
import type { TConfig } from '@selfie/config';
import { STAGE_FIELD } from '@selfie/contracts';
import { createLogger } from '@selfie/logger';
import { createPipelineContext, type PipelineContext, SIGNATURE_HEADER } from '@selfie/pipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../support/env.js';
import {
  type Api,
  apiClient,
  fixture,
  pollPhoto,
  type Receiver,
  seedAccount,
  startReceiver,
  TEST_API_KEY,
  upload,
  waitFor,
} from './helpers.js';
import { disposeTestContext } from './support.js';

// The whole product in one process (the all-in-one entrypoint), driven through its HTTP API.
let config: TConfig;
let app: AllInOneHandle;
let ctx: PipelineContext;
let api: Api;
let receiver: Receiver;
let clientId: string;
let secret: string;

beforeAll(async () => {
  config = testConfig({
    LOCAL_API_KEY: TEST_API_KEY,
    WEBHOOK_ALLOW_PRIVATE: true,
    WEBHOOK_BACKOFF_MS: 200,
    RATE_LIMIT_PER_SECOND: 1000,
  });
  const logger = createLogger({ service: 'test-e2e', level: config.LOG_LEVEL });
  app = await start(config, logger);
  ctx = await createPipelineContext(config, logger);
  api = apiClient(app.gateway.url, TEST_API_KEY);
  receiver = await startReceiver();
  const seeded = await seedAccount(api, receiver.url);
  clientId = seeded.clientId;
  secret = seeded.secret as string;
});

afterAll(async () => {
  await app?.stop();
  await receiver?.close();
  await disposeTestContext(ctx);
});

describe('all-in-one, end to end', () => {
  it('uploads a photo, completes it with four inspections and delivers a verified livePhoto.completed', async () => {
    const res = await upload(api, clientId, fixture('single', 0, config.UPLOAD_MIN_BYTES));
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('processing');
    const photo = await pollPhoto(api, res.body.id);
    expect(photo.status).toBe('complete');
    for (const field of Object.values(STAGE_FIELD)) expect(photo.inspections[field], field).toBeDefined();
    expect(['clear', 'attention']).toContain(photo.inspections.outcome);

    const request = await waitFor('livePhoto.completed delivery', () =>
      receiver.requests.find((r) => r.body.includes(res.body.id)),
    );
    // Verified with ComplyCube's own Node client, exactly as an integrator would.
    const event = new EventVerifier(secret).constructEvent(
      request.body,
      request.headers[SIGNATURE_HEADER.toLowerCase()] as string,
    );
    expect(event.type).toBe('livePhoto.completed');
    expect(event.resourceType).toBe('livePhoto');
    expect(event.payload).toMatchObject({ id: res.body.id, status: 'complete', outcome: photo.inspections.outcome });
  });

  it('omits livenessCheck when performLivenessCheck is false', async () => {
    const res = await upload(api, clientId, fixture('single', 0, config.UPLOAD_MIN_BYTES), {
      performLivenessCheck: false,
    });
    expect(res.status).toBe(200);
    const photo = await pollPhoto(api, res.body.id);
    expect(photo.status).toBe('complete');
    expect(photo.inspections.livenessCheck).toBeUndefined();
    expect(photo.inspections.facialObstructions).toBeDefined();
  });

  it('reports no single face as NO_SINGLE_FACE in the later stages', async () => {
    const res = await upload(api, clientId, fixture('multi', 0, config.UPLOAD_MIN_BYTES));
    expect(res.status).toBe(200);
    const photo = await pollPhoto(api, res.body.id);
    expect(photo.status).toBe('complete');
    expect(photo.inspections.facialOrientation).toMatchObject({ result: 'not_processed', reasons: ['NO_SINGLE_FACE'] });
    expect(photo.inspections.outcome).toBe('attention');
  });
});
