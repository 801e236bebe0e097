import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, fixturePhoto, person, startTestGateway, type TestGateway } from './support.js';

let gw: TestGateway;
let api: ReturnType<typeof apiClient>;
const jpeg = fixturePhoto('jpeg');

beforeAll(async () => {
  gw = await startTestGateway();
  api = apiClient(`${gw.url}/v1`, gw.key);
});
afterAll(async () => gw?.close());

const UNAUTHORIZED = { type: 'unauthorized', message: "The 'Authorization' header is invalid" };

describe('authentication', () => {
  it('401s a missing, malformed or unknown key; accepts a Bearer prefix', async () => {
    expect(await api('GET', '/clients', { key: null })).toMatchObject({ status: 401, body: UNAUTHORIZED });
    expect(await api('GET', '/clients', { key: 'nonsense' })).toMatchObject({ status: 401, body: UNAUTHORIZED });
    expect(await api('GET', '/clients', { key: `test_${'x'.repeat(32)}` })).toMatchObject({
      status: 401,
      body: UNAUTHORIZED,
    });
    expect((await api('GET', '/clients', { key: `Bearer ${gw.key}` })).status).toBe(200);
    // Official clients send a JSON content type even on GET and DELETE.
    expect((await api('GET', '/clients', { headers: { 'content-type': 'application/json' } })).status).toBe(200);
  });

  it('403s a disabled account', async () => {
    const { key, accountId } = await gw.newAccount('soon-disabled');
    expect((await api('GET', '/clients', { key })).status).toBe(200);
    await gw.repos.accounts.setEnabled(accountId, false);
    const res = await api('GET', '/clients', { key });
    expect(res).toMatchObject({ status: 403, body: { type: 'unauthorized' } });
  });

  it('caches verified keys for AUTH_CACHE_TTL_MS only', async () => {
    const cached = await startTestGateway({ AUTH_CACHE_TTL_MS: 400 });
    try {
      const a = apiClient(`${cached.url}/v1`, cached.key);
      expect((await a('GET', '/clients')).status).toBe(200);
      await cached.repos.accounts.setEnabled(cached.accountId, false);
      expect((await a('GET', '/clients')).status).toBe(200);
      await new Promise((r) => setTimeout(r, 450));
      expect((await a('GET', '/clients')).status).toBe(403);
    } finally {
      await cached.close();
    }
  });

  it('stores keys only as sha256 hashes', async () => {
    const docs = await gw.repos.accounts.keys.find().lean();
    expect(docs.length).toBeGreaterThan(0);
    const raw = JSON.stringify(docs);
    expect(raw).not.toContain(gw.key);
    expect(docs.every((d) => /^[0-9a-f]{64}$/.test(d.keyHash))).toBe(true);
  });
});

describe('tenancy', () => {
  it("answers 404 for another account's client, photo and webhook, exactly like a missing id", async () => {
    const c = (await api('POST', '/clients', { json: person() })).body;
    const p = (await api('POST', '/livePhotos', { json: { clientId: c.id, data: jpeg.toString('base64') } })).body;
    const w = (await api('POST', '/webhooks', { json: { url: 'https://x.test/h', events: ['*'] } })).body;

    const other = await gw.newAccount('intruder');
    const api2 = apiClient(`${gw.url}/v1`, other.key);
    const expectNotFound = async (method: string, url: string, message: string, json?: unknown) => {
      const res = await api2(method, url, json === undefined ? {} : { json });
      expect(res.status, `${method} ${url}`).toBe(404);
      expect(res.body, `${method} ${url}`).toEqual({ type: 'resource_not_found', message });
    };
    await expectNotFound('GET', `/clients/${c.id}`, `Invalid client id '${c.id}'`);
    await expectNotFound('POST', `/clients/${c.id}`, `Invalid client id '${c.id}'`, { email: 'x@y.co' });
    await expectNotFound('DELETE', `/clients/${c.id}`, `Invalid client id '${c.id}'`);
    await expectNotFound('GET', `/livePhotos?clientId=${c.id}`, `Invalid client id '${c.id}'`);
    await expectNotFound('POST', '/livePhotos', `Invalid client id '${c.id}'`, {
      clientId: c.id,
      data: jpeg.toString('base64'),
    });
    for (const [method, suffix] of [
      ['GET', ''],
      ['DELETE', ''],
      ['GET', '/download'],
      ['POST', '/download'],
      ['POST', '/redact'],
    ] as const) {
      await expectNotFound(method, `/livePhotos/${p.id}${suffix}`, `Invalid live photo id '${p.id}'`);
    }
    for (const [method, suffix] of [
      ['GET', ''],
      ['DELETE', ''],
      ['GET', '/deliveries'],
    ] as const) {
      await expectNotFound(method, `/webhooks/${w.id}${suffix}`, `Invalid webhook id '${w.id}'`);
    }
    await expectNotFound('POST', `/webhooks/${w.id}`, `Invalid webhook id '${w.id}'`, { enabled: false });
    expect((await api2('GET', '/clients')).body.totalItems).toBe(0);
    expect((await api2('GET', '/webhooks')).body.totalItems).toBe(0);

    // Nothing was touched for the owner.
    expect((await api('GET', `/clients/${c.id}`)).body.email).toBe('jane@example.com');
    expect((await api('GET', `/livePhotos/${p.id}`)).body.redacted).toBeUndefined();
    expect((await api('GET', `/webhooks/${w.id}`)).body.enabled).toBe(true);
    expect(await gw.store.exists(`${gw.accountId}/${p.id}`)).toBe(true);
  });
});

describe('rate limiting', () => {
  it('answers 429 rate_limit_exceeded with Retry-After past the per-key limit, per key', async () => {
    const limited = await startTestGateway({ RATE_LIMIT_PER_SECOND: 5 });
    try {
      const other = await limited.newAccount('second');
      const a = apiClient(`${limited.url}/v1`, limited.key);
      const b = apiClient(`${limited.url}/v1`, other.key);
      // Align to the start of a one-second window so all requests share it.
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));
      const statuses = await Promise.all(Array.from({ length: 8 }, () => a('GET', '/clients')));
      const rejected = statuses.filter((r) => r.status === 429);
      expect(statuses.filter((r) => r.status === 200)).toHaveLength(5);
      expect(rejected).toHaveLength(3);
      expect(rejected[0]!.body).toMatchObject({ type: 'rate_limit_exceeded' });
      expect(Number(rejected[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((await b('GET', '/clients')).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1100));
      expect((await a('GET', '/clients')).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe('HTTP conventions', () => {
  it('echoes a sane X-Request-Id or generates one', async () => {
    const res = await api('GET', '/clients', { headers: { 'x-request-id': 'abc-123' } });
    expect(res.headers.get('x-request-id')).toBe('abc-123');
    const gen = await api('GET', '/clients', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(gen.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const err = await api('GET', '/clients', { key: null });
    expect(err.headers.get('x-request-id')).toBeTruthy();
  });

  it('404s unknown routes as JSON, and malformed ids as resource_not_found', async () => {
    expect(await api('GET', '/nope')).toMatchObject({ status: 404, body: { type: 'resource_not_found' } });
    const root = await fetch(`${gw.url}/whatever`);
    expect(root.status).toBe(404);
    expect(await root.json()).toMatchObject({ type: 'resource_not_found' });
    expect((await api('GET', '/livePhotos/123')).body).toEqual({
      type: 'resource_not_found',
      message: "Invalid live photo id '123'",
    });
  });

  it('serves /healthz, /readyz and the OpenAPI 3.1 document without a key', async () => {
    expect(await (await fetch(`${gw.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${gw.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { mongo: 'ok', redis: 'ok', s3: 'ok' } });
    const doc = await (await fetch(`${gw.url}/v1/openapi.json`)).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/livePhotos',
        '/livePhotos/{id}/download',
        '/clients/{id}',
        '/webhooks/{id}/deliveries',
      ]),
    );
    // Generated from the validating schemas: the metadata rule and the pageSize bound appear in it.
    expect(doc.components.schemas.ClientCreate.required).toEqual(expect.arrayContaining(['type', 'email']));
    expect(doc.components.schemas.LivePhoto.properties.status.enum).toEqual(['processing', 'complete', 'failed']);
    expect(doc.components.schemas.Error.properties.type.enum).toContain('rate_limit_exceeded');
  });
});
