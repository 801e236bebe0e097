import { createHash } from 'node:crypto';
import { jobId } from '@selfie/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, fixturePhoto, noisePng, person, startTestGateway, type TestGateway } from './support.js';

let gw: TestGateway;
let api: ReturnType<typeof apiClient>;
let clientId: string;
const jpeg = fixturePhoto('jpeg');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  gw = await startTestGateway();
  api = apiClient(`${gw.url}/v1`, gw.key);
  clientId = (await api('POST', '/clients', { json: person() })).body.id;
});
afterAll(async () => gw?.close());

async function upload(extra: Record<string, unknown> = {}, bytes = jpeg) {
  const res = await api('POST', '/livePhotos', { json: { clientId, data: bytes.toString('base64'), ...extra } });
  expect(res.status, res.text).toBe(200);
  return res.body;
}

describe('upload', () => {
  it('accepts base64 JSON, stores the exact bytes, records them and enqueues the faces job', async () => {
    const photo = await upload();
    expect(Object.keys(photo)).toEqual([
      'id',
      'clientId',
      'performLivenessCheck',
      'downloadLink',
      'contentType',
      'size',
      'createdAt',
      'updatedAt',
      'status',
      'inspections',
    ]);
    expect(photo).toMatchObject({
      clientId,
      performLivenessCheck: true,
      downloadLink: `/livePhotos/${photo.id}/download`,
      contentType: 'image/jpeg',
      size: jpeg.length,
      status: 'processing',
      inspections: {},
    });
    expect(photo.id).toMatch(/^[0-9a-f]{24}$/);
    expect(photo.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const record = await gw.repos.livePhotos.findById(photo.id);
    expect(record).toMatchObject({
      accountId: expect.anything(),
      objectKey: `${gw.accountId}/${photo.id}`,
      sha256: sha(jpeg),
      redacted: false,
      requeues: 0,
    });
    expect((await gw.store.get(record!.objectKey)).equals(jpeg)).toBe(true);
    const job = await gw.faces.getJob(jobId(photo.id, 'faces'));
    expect(job?.data).toEqual({
      photoId: photo.id,
      accountId: gw.accountId,
      objectKey: record!.objectKey,
      performLivenessCheck: true,
    });
  });

  it('accepts a data: URI prefix and performLivenessCheck false', async () => {
    const photo = await upload({
      data: `data:image/jpeg;base64,${jpeg.toString('base64')}`,
      performLivenessCheck: false,
    });
    expect(photo.performLivenessCheck).toBe(false);
    const job = await gw.faces.getJob(jobId(photo.id, 'faces'));
    expect(job?.data.performLivenessCheck).toBe(false);
  });

  it('accepts PNG', async () => {
    const png = fixturePhoto('png');
    const photo = await upload({}, png);
    expect(photo).toMatchObject({ contentType: 'image/png', size: png.length });
  });

  it('accepts multipart/form-data with a file part', async () => {
    const form = new FormData();
    form.set('clientId', clientId);
    form.set('performLivenessCheck', 'false');
    form.set('file', new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), 'me.jpg');
    const res = await api('POST', '/livePhotos', { body: form });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ clientId, performLivenessCheck: false, size: jpeg.length, status: 'processing' });
    const record = await gw.repos.livePhotos.findById(res.body.id);
    expect((await gw.store.get(record!.objectKey)).equals(jpeg)).toBe(true);
  });

  it('serves the collection with and without a trailing slash', async () => {
    const res = await api('POST', '/livePhotos/', { json: { clientId, data: jpeg.toString('base64') } });
    expect(res.status).toBe(200);
    expect((await api('GET', `/livePhotos/?clientId=${clientId}`)).status).toBe(200);
  });
});

describe('get, download, redact, delete', () => {
  it('gets a photo and downloads it as JSON base64 (GET and POST) or raw bytes', async () => {
    const photo = await upload();
    expect((await api('GET', `/livePhotos/${photo.id}`)).body).toEqual(photo);

    for (const method of ['GET', 'POST']) {
      const dl = await api(method, `/livePhotos/${photo.id}/download`);
      expect(dl.status).toBe(200);
      expect(dl.body).toEqual({
        fileName: `selfie_${Date.parse(photo.createdAt)}.jpg`,
        contentType: 'image/jpeg',
        data: jpeg.toString('base64'),
      });
    }
    for (const [url, headers] of [
      [`/livePhotos/${photo.id}/download?raw=1`, {}],
      [`/livePhotos/${photo.id}/download`, { accept: 'image/*' }],
    ] as const) {
      const res = await fetch(`${gw.url}/v1${url}`, { headers: { authorization: gw.key, ...headers } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/jpeg');
      expect(Buffer.from(await res.arrayBuffer()).equals(jpeg)).toBe(true);
    }
  });

  it('redacts: bytes destroyed, record kept with redacted true, later downloads 404, idempotent', async () => {
    const photo = await upload();
    const record = await gw.repos.livePhotos.findById(photo.id);
    const res = await api('POST', `/livePhotos/${photo.id}/redact`);
    expect(res).toMatchObject({ status: 200, body: {} });
    expect(await gw.store.exists(record!.objectKey)).toBe(false);
    const after = await api('GET', `/livePhotos/${photo.id}`);
    expect(after.body).toMatchObject({ id: photo.id, redacted: true });
    const dl = await api('GET', `/livePhotos/${photo.id}/download`);
    expect(dl.status).toBe(404);
    expect(dl.body.type).toBe('resource_not_found');
    expect((await api('POST', `/livePhotos/${photo.id}/redact`)).status).toBe(200);
  });

  it('deletes record and bytes (204, no body), then 404', async () => {
    const photo = await upload();
    const record = await gw.repos.livePhotos.findById(photo.id);
    const res = await api('DELETE', `/livePhotos/${photo.id}`);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(await gw.repos.livePhotos.findById(photo.id)).toBeNull();
    expect(await gw.store.exists(record!.objectKey)).toBe(false);
    const again = await api('GET', `/livePhotos/${photo.id}`);
    expect(again).toMatchObject({
      status: 404,
      body: { type: 'resource_not_found', message: `Invalid live photo id '${photo.id}'` },
    });
    expect((await api('DELETE', `/livePhotos/${photo.id}`)).status).toBe(404);
  });

  it('shows stage results while processing, then the final inspections and status', async () => {
    const photo = await upload();
    const faces = { result: 'clear', breakdown: { faceCount: 1 }, reasons: [] };
    await gw.repos.pipeline.saveStageResults(photo.id, [{ stage: 'faces', inspection: faces, ms: 12 }]);
    const during = await api('GET', `/livePhotos/${photo.id}`);
    expect(during.body.status).toBe('processing');
    expect(during.body.inspections).toEqual({ facesAnalysis: faces, timings: { facesAnalysis: 12 } });

    const final = { facesAnalysis: faces, outcome: 'clear', timings: { facesAnalysis: 12 } };
    expect(await gw.repos.pipeline.completePhoto(photo.id, final)).toBe(true);
    expect(await gw.repos.pipeline.completePhoto(photo.id, final)).toBe(false);
    const res = await api('GET', `/livePhotos/${photo.id}`);
    expect(res.body.status).toBe('complete');
    expect(res.body.inspections).toEqual(final);
  });
});

describe('list', () => {
  let listClient: string;
  const ids: string[] = [];
  beforeAll(async () => {
    listClient = (await api('POST', '/clients', { json: person({ email: 'list@example.com' }) })).body.id;
    for (let i = 0; i < 3; i++) {
      const res = await api('POST', '/livePhotos', { json: { clientId: listClient, data: jpeg.toString('base64') } });
      ids.push(res.body.id);
    }
  });

  it('lists newest first with the envelope and defaults', async () => {
    const res = await api('GET', `/livePhotos?clientId=${listClient}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ page: 1, pageSize: 100, totalItems: 3, pages: 1 });
    expect(res.body.items.map((p: { id: string }) => p.id)).toEqual([...ids].reverse());
  });

  it('pages with pageSize 1 and 1000, and past the end', async () => {
    const p2 = await api('GET', `/livePhotos?clientId=${listClient}&page=2&pageSize=1`);
    expect(p2.body).toMatchObject({ page: 2, pageSize: 1, totalItems: 3, pages: 3 });
    expect(p2.body.items.map((p: { id: string }) => p.id)).toEqual([ids[1]]);
    const big = await api('GET', `/livePhotos?clientId=${listClient}&pageSize=1000`);
    expect(big.body).toMatchObject({ pageSize: 1000, pages: 1 });
    expect(big.body.items).toHaveLength(3);
    const past = await api('GET', `/livePhotos?clientId=${listClient}&page=9&pageSize=2`);
    expect(past.status).toBe(200);
    expect(past.body).toMatchObject({ page: 9, totalItems: 3, pages: 2, items: [] });
  });

  it('refuses out-of-range paging with 400 naming the parameter', async () => {
    for (const [q, param] of [
      ['page=0', 'page'],
      ['page=-1', 'page'],
      ['page=abc', 'page'],
      ['pageSize=0', 'pageSize'],
      ['pageSize=1001', 'pageSize'],
      ['pageSize=1.5', 'pageSize'],
      ['page=1&page=2', 'page'],
      ['createdAfter=yesterday', 'createdAfter'],
    ]) {
      const res = await api('GET', `/livePhotos?clientId=${listClient}&${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body, q).toMatchObject({ type: 'invalid_request', param });
    }
  });

  it('filters by creation and update dates', async () => {
    const all = (await api('GET', `/livePhotos?clientId=${listClient}`)).body.items;
    const middle = all[1].createdAt as string;
    const after = await api('GET', `/livePhotos?clientId=${listClient}&createdAfter=${middle}`);
    expect(after.body.items.map((p: { id: string }) => p.id)).toEqual([all[0].id]);
    const before = await api('GET', `/livePhotos?clientId=${listClient}&createdBefore=${middle}`);
    expect(before.body.items.map((p: { id: string }) => p.id)).toEqual([all[2].id]);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await api('GET', `/livePhotos?clientId=${listClient}&updatedAfter=${future}`)).body.totalItems).toBe(0);
    expect((await api('GET', `/livePhotos?clientId=${listClient}&updatedBefore=${future}`)).body.totalItems).toBe(3);
  });

  it('requires clientId and 404s an unknown one', async () => {
    const res = await api('GET', '/livePhotos');
    expect(res).toMatchObject({
      status: 400,
      body: { type: 'invalid_request', message: "The query parameter 'clientId' is required", param: 'clientId' },
    });
    const unknown = 'aaaaaaaaaaaaaaaaaaaaaaaa';
    expect((await api('GET', `/livePhotos?clientId=${unknown}`)).body).toEqual({
      type: 'resource_not_found',
      message: `Invalid client id '${unknown}'`,
    });
  });
});

describe('back-pressure', () => {
  it('refuses uploads with 503 when the faces queue is over QUEUE_MAX_WAITING, leaving nothing behind', async () => {
    const small = await startTestGateway({ QUEUE_MAX_WAITING: 1 });
    try {
      const api2 = apiClient(`${small.url}/v1`, small.key);
      const cid = (await api2('POST', '/clients', { json: person() })).body.id;
      const body = { json: { clientId: cid, data: jpeg.toString('base64') } };
      expect((await api2('POST', '/livePhotos', body)).status).toBe(200);
      expect((await api2('POST', '/livePhotos', body)).status).toBe(200);
      const refused = await api2('POST', '/livePhotos', body);
      expect(refused.status).toBe(503);
      expect(refused.body.type).toBe('service_unavailable');
      expect(await small.repos.livePhotos.model.countDocuments()).toBe(2);
      expect(await small.store.list()).toHaveLength(2);
    } finally {
      await small.close();
    }
  });
});

describe('generated sizes', () => {
  it('stores a generated PNG as uploaded (no re-encoding)', async () => {
    const png = await noisePng(160, 160);
    expect(png.length).toBeGreaterThan(34 * 1024);
    const photo = await upload({}, png);
    const record = await gw.repos.livePhotos.findById(photo.id);
    expect(record?.sha256).toBe(sha(png));
  });
});
