import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../support/env.js';
import { apiClient, FaultProxy, fixturePhoto, person, startTestGateway, type TestGateway } from './support.js';

// Real services behind TCP proxies that fail on demand: the API answers 503 in bounded time and leaves nothing
// half-written.
const base = testConfig();
let redisProxy: FaultProxy;
let mongoProxy: FaultProxy;
let s3Proxy: FaultProxy;
let gw: TestGateway;
let api: ReturnType<typeof apiClient>;
let clientId: string;
const jpeg = fixturePhoto('jpeg');
const TIMEOUT = 1000;

beforeAll(async () => {
  redisProxy = await FaultProxy.start(base.REDIS_URL);
  mongoProxy = await FaultProxy.start(base.MONGODB_URI);
  s3Proxy = await FaultProxy.start(base.S3_ENDPOINT);
  gw = await startTestGateway({ BACKING_TIMEOUT_MS: TIMEOUT }, (config) => ({
    REDIS_URL: redisProxy.rewrite(config.REDIS_URL),
    MONGODB_URI: mongoProxy.rewrite(config.MONGODB_URI),
    S3_ENDPOINT: s3Proxy.rewrite(config.S3_ENDPOINT).replace(/\/$/, ''),
  }));
  api = apiClient(`${gw.url}/v1`, gw.key);
  clientId = (await api('POST', '/clients', { json: person() })).body.id;
});
afterAll(async () => {
  for (const p of [redisProxy, mongoProxy, s3Proxy]) p?.restore();
  await gw?.close();
  await Promise.all([redisProxy?.close(), mongoProxy?.close(), s3Proxy?.close()]);
});

async function timedUpload() {
  const started = Date.now();
  const res = await api('POST', '/livePhotos', { json: { clientId, data: jpeg.toString('base64') } });
  return { res, ms: Date.now() - started };
}

async function expectNothingStored() {
  expect(await gw.repos.livePhotos.model.countDocuments()).toBe(0);
  expect(await gw.store.list()).toEqual([]);
  expect(await gw.faces.count()).toBe(0);
}

async function expectRecovers() {
  await expect
    .poll(
      async () => (await api('POST', '/livePhotos', { json: { clientId, data: jpeg.toString('base64') } })).status,
      {
        timeout: 15_000,
        interval: 300,
      },
    )
    .toBe(200);
  // Clean up the successful upload for the next case.
  for (const p of await gw.repos.livePhotos.model.find().lean()) await api('DELETE', `/livePhotos/${p._id}`);
  await gw.faces.obliterate({ force: true });
}

describe('backing failures', () => {
  it('Redis down: uploads 503 quickly, reads still work (rate limiter fails open), /readyz names redis', async () => {
    redisProxy.cut('refuse');
    const { res, ms } = await timedUpload();
    expect(res.status).toBe(503);
    expect(res.body.type).toBe('service_unavailable');
    expect(ms).toBeLessThan(2000);
    expect((await api('GET', `/clients/${clientId}`)).status).toBe(200);
    const ready = await fetch(`${gw.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({
      type: 'service_unavailable',
      checks: { redis: 'unavailable', mongo: 'ok' },
    });
    redisProxy.restore();
    await expectNothingStored();
    await expectRecovers();
  });

  it('Redis lost at the enqueue step: the stored bytes and the record are rolled back', async () => {
    redisProxy.failOn = Buffer.from('inspect-faces');
    const { res } = await timedUpload();
    expect(res.status).toBe(503);
    redisProxy.restore();
    await expectNothingStored();
    await expectRecovers();
  });

  it('Mongo hanging at the insert: 503 in bounded time and the stored bytes are removed', async () => {
    // Hang (not cut) the one connection: the driver keeps serving from the rest of its pool afterwards.
    mongoProxy.failMode = 'hang';
    mongoProxy.failOn = Buffer.from('livephotos');
    const { res, ms } = await timedUpload();
    expect(res.status).toBe(503);
    expect(ms).toBeLessThan(4 * TIMEOUT);
    mongoProxy.restore();
    await expectNothingStored();
    await expectRecovers();
  });

  it('S3 hanging: 503 within the backing timeout, no record', async () => {
    s3Proxy.cut('blackhole');
    const { res, ms } = await timedUpload();
    expect(res.status).toBe(503);
    expect(ms).toBeLessThan(3 * TIMEOUT + 500);
    const ready = await fetch(`${gw.url}/readyz`);
    expect((await ready.json()).checks.s3).toBe('unavailable');
    s3Proxy.restore();
    await expectNothingStored();
    await expectRecovers();
  });
});
