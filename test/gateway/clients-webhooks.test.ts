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

describe('clients', () => {
  it('creates a person and a company with entityName, gets, updates and lists them', async () => {
    const p = await api('POST', '/clients', {
      json: person({
        mobile: '+447700900000',
        externalId: 'ext-1',
        personDetails: { firstName: 'Jane', middleName: 'Q', lastName: 'Doe', nationality: 'GB' },
        metadata: { tier: 'gold' },
      }),
    });
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({
      type: 'person',
      entityName: 'Jane Q Doe',
      email: 'jane@example.com',
      mobile: '+447700900000',
    });
    expect(p.body).not.toHaveProperty('telephone');
    const c = await api('POST', '/clients', {
      json: { type: 'company', email: 'ops@acme.test', companyDetails: { name: 'Acme Ltd' } },
    });
    expect(c.body).toMatchObject({ type: 'company', entityName: 'Acme Ltd' });

    expect((await api('GET', `/clients/${p.body.id}`)).body).toEqual(p.body);

    const upd = await api('POST', `/clients/${p.body.id}`, {
      json: { email: 'new@example.com', metadata: { a: 'b' } },
    });
    expect(upd.status).toBe(200);
    expect(upd.body).toMatchObject({ email: 'new@example.com', entityName: 'Jane Q Doe', metadata: { a: 'b' } });
    expect(Date.parse(upd.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(p.body.updatedAt));

    // Switching a person to a company needs companyDetails; personDetails then go away.
    const bad = await api('POST', `/clients/${p.body.id}`, { json: { type: 'company' } });
    expect(bad.body).toMatchObject({ type: 'invalid_request', param: 'companyDetails' });
    const switched = await api('POST', `/clients/${p.body.id}`, {
      json: { type: 'company', companyDetails: { name: 'Doe Inc' } },
    });
    expect(switched.body).toMatchObject({ type: 'company', entityName: 'Doe Inc' });
    expect(switched.body).not.toHaveProperty('personDetails');

    const all = await api('GET', '/clients');
    expect(all.body.totalItems).toBe(2);
    expect((await api('GET', '/clients?type=company')).body.totalItems).toBe(2);
    expect((await api('GET', '/clients?type=person')).body.totalItems).toBe(0);
    const byEmail = await api('GET', '/clients?email=ops%40acme.test');
    expect(byEmail.body.items.map((x: { id: string }) => x.id)).toEqual([c.body.id]);
    expect((await api('GET', '/clients?type=robot')).body).toMatchObject({ type: 'invalid_request', param: 'type' });
  });

  it('validates per the contract', async () => {
    const cases: [unknown, string][] = [
      [{ type: 'person', email: 'a@b.co' }, 'personDetails'],
      [{ type: 'company', email: 'a@b.co' }, 'companyDetails'],
      [{ email: 'a@b.co', personDetails: { firstName: 'a', lastName: 'b' } }, 'type'],
      [person({ email: 'not-an-email' }), 'email'],
      [person({ email: undefined }), 'email'],
      [person({ personDetails: { firstName: 'Jane' } }), 'personDetails.lastName'],
      [person({ metadata: { k: 1 } }), 'metadata.k'],
      [person({ metadata: { k: 'x'.repeat(501) } }), 'metadata.k'],
      [person({ metadata: { ['k'.repeat(41)]: 'v' } }), 'metadata'],
      [person({ metadata: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])) }), 'metadata'],
      [person({ metadata: { nested: { a: 'b' } } }), 'metadata.nested'],
      [person({ joinedDate: 'last year' }), 'joinedDate'],
    ];
    for (const [body, param] of cases) {
      const res = await api('POST', '/clients', { json: body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.type).toBe('invalid_request');
      expect(res.body.param, JSON.stringify(body)).toBe(param);
    }
    const missing = await api('POST', '/clients', { json: { type: 'person', email: 'a@b.co' } });
    expect(missing.body.message).toMatch(/personDetails/);
  });

  it('deleting a client deletes its live photos and their bytes', async () => {
    const c = (await api('POST', '/clients', { json: person() })).body;
    const photos = [];
    for (let i = 0; i < 2; i++) {
      photos.push((await api('POST', '/livePhotos', { json: { clientId: c.id, data: jpeg.toString('base64') } })).body);
    }
    const other = (await api('POST', '/clients', { json: person() })).body;
    const kept = (await api('POST', '/livePhotos', { json: { clientId: other.id, data: jpeg.toString('base64') } }))
      .body;
    const res = await api('DELETE', `/clients/${c.id}`);
    expect(res.status).toBe(204);
    expect((await api('GET', `/clients/${c.id}`)).status).toBe(404);
    for (const p of photos) {
      expect((await api('GET', `/livePhotos/${p.id}`)).status).toBe(404);
      expect(await gw.store.exists(`${gw.accountId}/${p.id}`)).toBe(false);
    }
    expect((await api('GET', `/livePhotos/${kept.id}`)).status).toBe(200);
    expect(await gw.store.exists(`${gw.accountId}/${kept.id}`)).toBe(true);
    expect((await api('DELETE', `/clients/${c.id}`)).status).toBe(404);
  });
});

describe('webhooks', () => {
  it('creates with a secret shown once, gets, updates, filters, lists and deletes', async () => {
    const created = await api('POST', '/webhooks', {
      json: { url: 'https://example.com/hook', events: ['livePhoto.completed', 'client.*'], description: 'main' },
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ url: 'https://example.com/hook', enabled: true, description: 'main' });
    expect(created.body.secret).toMatch(/^[A-Za-z0-9]{32}$/);
    const id = created.body.id;
    const got = await api('GET', `/webhooks/${id}`);
    expect(got.body).not.toHaveProperty('secret');
    expect(got.body).toEqual({ ...created.body, secret: undefined });

    const upd = await api('POST', `/webhooks/${id}`, { json: { enabled: false, events: ['*'] } });
    expect(upd.body).toMatchObject({ enabled: false, events: ['*'], url: 'https://example.com/hook' });
    expect(upd.body).not.toHaveProperty('secret');

    await api('POST', '/webhooks', { json: { url: 'https://other.example/h', events: ['client.created'] } });
    expect((await api('GET', '/webhooks')).body.totalItems).toBe(2);
    expect((await api('GET', '/webhooks?enabled=false')).body.items.map((w: { id: string }) => w.id)).toEqual([id]);
    expect((await api('GET', '/webhooks?enabled=true')).body.totalItems).toBe(1);
    expect((await api('GET', '/webhooks?url=https%3A%2F%2Fother.example%2Fh')).body.totalItems).toBe(1);
    expect((await api('GET', '/webhooks?events=client.created')).body.totalItems).toBe(1);
    expect((await api('GET', '/webhooks?enabled=maybe')).body).toMatchObject({ param: 'enabled' });

    expect((await api('DELETE', `/webhooks/${id}`)).status).toBe(204);
    expect((await api('GET', `/webhooks/${id}`)).body).toEqual({
      type: 'resource_not_found',
      message: `Invalid webhook id '${id}'`,
    });
  });

  it('validates url, events and types', async () => {
    for (const [body, param] of [
      [{ url: 'ftp://x.test/h', events: ['*'] }, 'url'],
      [{ url: 'not a url', events: ['*'] }, 'url'],
      [{ events: ['*'] }, 'url'],
      [{ url: 'https://x.test/h', events: [] }, 'events'],
      [{ url: 'https://x.test/h' }, 'events'],
      [{ url: 'https://x.test/h', events: ['bad event!'] }, 'events.0'],
      [{ url: 'https://x.test/h', events: ['*'], enabled: 'yes' }, 'enabled'],
    ] as const) {
      const res = await api('POST', '/webhooks', { json: body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.param, JSON.stringify(body)).toBe(param);
    }
  });

  it('allows at most 20 webhooks per account', async () => {
    const { key } = await gw.newAccount('hooks');
    const api2 = apiClient(`${gw.url}/v1`, key);
    for (let i = 0; i < 20; i++) {
      expect((await api2('POST', '/webhooks', { json: { url: `https://x.test/${i}`, events: ['*'] } })).status).toBe(
        200,
      );
    }
    const over = await api2('POST', '/webhooks', { json: { url: 'https://x.test/21', events: ['*'] } });
    expect(over.status).toBe(400);
    expect(over.body).toMatchObject({ type: 'invalid_request', message: 'An account can have at most 20 webhooks' });
    const page = await api2('GET', '/webhooks?pageSize=1&page=20');
    expect(page.body).toMatchObject({ totalItems: 20, pages: 20 });
    expect(page.body.items).toHaveLength(1);
  });

  it('lists the delivery attempts recorded by the dispatcher, newest first', async () => {
    const hook = (await api('POST', '/webhooks', { json: { url: 'https://x.test/d', events: ['*'] } })).body;
    await gw.repos.deliveries.record({
      webhookId: hook.id,
      eventId: 'e1',
      attempt: 1,
      latencyMs: 15000,
      error: 'timeout',
    });
    await gw.repos.deliveries.record({ webhookId: hook.id, eventId: 'e1', attempt: 2, statusCode: 200, latencyMs: 35 });
    const res = await api('GET', `/webhooks/${hook.id}/deliveries`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ page: 1, totalItems: 2, pages: 1 });
    expect(res.body.items[0]).toMatchObject({
      webhookId: hook.id,
      eventId: 'e1',
      attempt: 2,
      statusCode: 200,
      latencyMs: 35,
    });
    expect(res.body.items[0]).not.toHaveProperty('error');
    expect(res.body.items[1]).toMatchObject({ attempt: 1, error: 'timeout' });
    expect(res.body.items[1]).not.toHaveProperty('statusCode');
    expect((await api('GET', `/webhooks/${hook.id}/deliveries?pageSize=1`)).body.items).toHaveLength(1);
    expect((await api('GET', '/webhooks/bbbbbbbbbbbbbbbbbbbbbbbb/deliveries')).status).toBe(404);
  });
});

describe('events', () => {
  it('stores events and enqueues deliveries only to matching enabled webhooks', async () => {
    const { key, accountId } = await gw.newAccount('events');
    const api2 = apiClient(`${gw.url}/v1`, key);
    const hook = async (events: string[], enabled = true) =>
      (await api2('POST', '/webhooks', { json: { url: 'https://x.test/e', events, enabled } })).body.id as string;
    const star = await hook(['*']);
    const own = await hook(['livePhoto.*']);
    const exact = await hook(['livePhoto.created']);
    const clientOnly = await hook(['client.created']);
    await hook(['*', 'livePhoto.*'], false);

    const c = (await api2('POST', '/clients', { json: person() })).body;
    const photo = (await api2('POST', '/livePhotos', { json: { clientId: c.id, data: jpeg.toString('base64') } })).body;

    const events = gw.repos.events.model;
    await expect.poll(() => events.countDocuments({ accountId })).toBe(2);
    const created = await events.findOne({ accountId, type: 'livePhoto.created' }).lean();
    const clientEvent = await events.findOne({ accountId, type: 'client.created' }).lean();
    expect(created).toMatchObject({
      resourceType: 'livePhoto',
      payload: { id: photo.id, clientId: c.id, status: 'processing' },
    });

    const targets = async (eventId: string) => {
      const ids = [star, own, exact, clientOnly].filter(Boolean);
      const found: string[] = [];
      for (const w of ids) {
        const job = await gw.webhooks.getJob(`${eventId}-${w}`);
        if (job) {
          expect(job.data).toEqual({ eventId, webhookId: w, accountId });
          found.push(w);
        }
      }
      return found.sort();
    };
    await expect.poll(() => targets(created!._id.toHexString())).toEqual([own, exact].sort());
    await expect.poll(() => targets(clientEvent!._id.toHexString())).toEqual([star, clientOnly].sort());

    // Redact and delete publish their own events with the same compact envelope.
    await api2('POST', `/livePhotos/${photo.id}/redact`);
    await expect
      .poll(async () => (await events.find({ accountId }).lean()).map((e) => e.type).sort())
      .toEqual(['client.created', 'livePhoto.created', 'livePhoto.redacted']);
    // Deleting the photo erases the events about it too; only the deletion notice (ids only) stays.
    await api2('DELETE', `/livePhotos/${photo.id}`);
    await api2('POST', `/clients/${c.id}`, { json: { email: 'x@y.co' } });
    await expect
      .poll(async () => (await events.find({ accountId }).lean()).map((e) => e.type).sort())
      .toEqual(['client.created', 'client.updated', 'livePhoto.deleted']);
  });
});
