import { ComplyCube, EventVerifier } from '@complycube/api';
import type { TConfig } from '@selfie/config';
import { OPT_IN_STAGES, STAGE_FIELD, type TStage } from '@selfie/contracts';
import { SIGNATURE_HEADER } from '@selfie/pipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, fixture, pollPhoto, type Receiver, TEST_API_KEY, upload, waitFor } from './helpers.js';
import { startTestStack, type TestStack } from './support.js';

// The whole product in one process (the all-in-one entrypoint), driven through its HTTP API.
let stack: TestStack;
let config: TConfig;
let api: Api;
let receiver: Receiver;
let clientId: string;
let secret: string;

beforeAll(async () => {
  stack = await startTestStack('test-e2e', { WEBHOOK_BACKOFF_MS: 200, RATE_LIMIT_PER_SECOND: 1000 });
  ({ config, api, receiver, clientId, secret } = stack);
});

afterAll(async () => {
  await stack?.stop();
});

describe('all-in-one, end to end', () => {
  it('uploads a photo, completes it with every inspection and delivers a verified livePhoto.completed', async () => {
    const res = await upload(api, clientId, fixture('single', 0, config.UPLOAD_MIN_BYTES));
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('processing');
    const photo = await pollPhoto(api, res.body.id);
    expect(photo.status).toBe('complete');
    for (const [stage, field] of Object.entries(STAGE_FIELD)) {
      // Opt-in stages (repeatFace) are off by default: no field at all.
      if (OPT_IN_STAGES.includes(stage as TStage)) expect(photo.inspections[field], field).toBeUndefined();
      else expect(photo.inspections[field], field).toBeDefined();
    }
    expect(['clear', 'attention']).toContain(photo.inspections.outcome);
    // captureQuality: every measure a number, measured from the faces stage's hand-over (no decode of its own).
    expect(photo.inspections.captureQuality).toMatchObject({
      breakdown: {
        blurPx: expect.any(Number),
        luminanceMean: expect.any(Number),
        interEyeDistancePx: expect.any(Number),
        eyeOpenness: expect.any(Number),
        jpegQuality: expect.any(Number),
      },
    });
    // ComplyCube's own client reads the finished photo, extra inspection included, as it reads theirs.
    const cc = new ComplyCube({ apiKey: TEST_API_KEY });
    cc.axiosInstance.defaults.baseURL = `${stack.app.gateway.url}/v1`;
    const read = (await cc.livePhoto.get(res.body.id)) as unknown as { status: string; inspections: unknown };
    expect(read).toMatchObject({
      status: 'complete',
      inspections: { captureQuality: photo.inspections.captureQuality },
    });

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
    expect(photo.inspections.captureQuality).toMatchObject({ result: 'not_processed', reasons: ['NO_SINGLE_FACE'] });
    expect(photo.inspections.outcome).toBe('attention');
  });
});
