import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { apiClient, fixturePhoto, noisePng, person, startTestGateway, type TestGateway } from './support.js';

let gw: TestGateway;
let api: ReturnType<typeof apiClient>;
let clientId: string;
const jpeg = fixturePhoto('jpeg');
const png = fixturePhoto('png');

beforeAll(async () => {
  gw = await startTestGateway();
  api = apiClient(`${gw.url}/v1`, gw.key);
  clientId = (await api('POST', '/clients', { json: person() })).body.id;
});
afterAll(async () => gw?.close());

interface Case {
  name: string;
  method?: string;
  url?: string;
  json?: unknown;
  body?: BodyInit | (() => Promise<BodyInit>);
  headers?: Record<string, string>;
  status: number;
  type: string;
  param?: string;
  message?: string | RegExp;
}

/** A PNG whose IHDR claims 50000 x 50000 pixels (a decompression bomb's header). */
async function hugeDimensionsPng(): Promise<Buffer> {
  const small = await noisePng(110, 110);
  const bomb = Buffer.from(small);
  bomb.writeUInt32BE(50_000, 16);
  bomb.writeUInt32BE(50_000, 20);
  return bomb;
}

function form(fields: Record<string, string>, file?: { bytes: Buffer; field?: string }) {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.set(k, v);
  if (file) f.set(file.field ?? 'file', new Blob([new Uint8Array(file.bytes)]), 'x.jpg');
  return f;
}

const b64 = (b: Buffer) => b.toString('base64');
const SIZE = 'Image file size should be between 34KB and 4MB';

it('answers 30+ malformed requests with exact errors, stays up and leaves nothing behind', async () => {
  const tinyJpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#888' } })
    .jpeg()
    .toBuffer();
  const oversized = await noisePng(1160, 1160); // just over 4 MB of incompressible pixels
  expect(oversized.length).toBeGreaterThan(4 * 1024 * 1024);
  const truncatedJpeg = jpeg.subarray(0, Math.floor(jpeg.length * 0.7));
  const truncatedPng = png.subarray(0, Math.floor(png.length * 0.7));
  const bomb = await hugeDimensionsPng();
  const notImage = Buffer.from('%PDF-1.4\n'.repeat(5000));
  const gif = Buffer.concat([Buffer.from('GIF89a'), Buffer.alloc(40_000, 1)]);

  const upload = (data: unknown, extra: Record<string, unknown> = {}) => ({ clientId, data, ...extra });
  const cases: Case[] = [
    { name: 'not an image', json: upload(b64(notImage)), status: 400, type: 'invalid_request', param: 'data' },
    { name: 'gif', json: upload(b64(gif)), status: 400, type: 'invalid_request', param: 'data' },
    {
      name: 'truncated jpeg',
      json: upload(b64(truncatedJpeg)),
      status: 422,
      type: 'unprocessable_image',
      param: 'data',
    },
    { name: 'truncated png', json: upload(b64(truncatedPng)), status: 422, type: 'unprocessable_image', param: 'data' },
    {
      name: 'png claiming 2.5 gigapixels',
      json: upload(b64(bomb)),
      status: 400,
      type: 'invalid_request',
      param: 'data',
      message: /dimensions/,
    },
    {
      name: 'too small',
      json: upload(b64(tinyJpeg)),
      status: 400,
      type: 'invalid_request',
      param: 'data',
      message: SIZE,
    },
    {
      name: 'too large',
      json: upload(b64(oversized)),
      status: 400,
      type: 'invalid_request',
      param: 'data',
      message: SIZE,
    },
    { name: 'wrong base64', json: upload('!!!not base64???'), status: 400, type: 'invalid_request', param: 'data' },
    {
      name: 'base64 with bad length',
      json: upload(`${b64(jpeg)}A`),
      status: 400,
      type: 'invalid_request',
      param: 'data',
    },
    {
      name: 'data uri of a gif',
      json: upload(`data:image/gif;base64,${b64(jpeg)}`),
      status: 400,
      type: 'invalid_request',
      param: 'data',
    },
    {
      name: 'data uri of text',
      json: upload(`data:text/plain;base64,${b64(jpeg)}`),
      status: 400,
      type: 'invalid_request',
      param: 'data',
    },
    {
      name: 'data uri not base64',
      json: upload(`data:image/jpeg,${b64(jpeg)}`),
      status: 400,
      type: 'invalid_request',
      param: 'data',
    },
    { name: 'empty data', json: upload(''), status: 400, type: 'invalid_request', param: 'data' },
    { name: 'data is a number', json: upload(12345), status: 400, type: 'invalid_request', param: 'data' },
    { name: 'data is an object', json: upload({ $gt: '' }), status: 400, type: 'invalid_request', param: 'data' },
    {
      name: 'missing data',
      json: { clientId },
      status: 400,
      type: 'invalid_request',
      param: 'data',
      message: "The field 'data' is required",
    },
    { name: 'missing clientId', json: { data: b64(jpeg) }, status: 400, type: 'invalid_request', param: 'clientId' },
    {
      name: 'clientId operator injection',
      json: upload(b64(jpeg), { clientId: { $gt: '' } }),
      status: 400,
      type: 'invalid_request',
      param: 'clientId',
    },
    {
      name: 'clientId number',
      json: upload(b64(jpeg), { clientId: 42 }),
      status: 400,
      type: 'invalid_request',
      param: 'clientId',
    },
    {
      name: 'clientId malformed',
      json: upload(b64(jpeg), { clientId: '../../etc/passwd' }),
      status: 404,
      type: 'resource_not_found',
      message: "Invalid client id '../../etc/passwd'",
    },
    {
      name: 'clientId unknown',
      json: upload(b64(jpeg), { clientId: 'cccccccccccccccccccccccc' }),
      status: 404,
      type: 'resource_not_found',
    },
    {
      name: 'performLivenessCheck string',
      json: upload(b64(jpeg), { performLivenessCheck: 'yes' }),
      status: 400,
      type: 'invalid_request',
      param: 'performLivenessCheck',
    },
    { name: 'body is an array', json: [upload(b64(jpeg))], status: 400, type: 'invalid_request' },
    {
      name: 'body is null',
      body: 'null',
      headers: { 'content-type': 'application/json' },
      status: 400,
      type: 'invalid_request',
    },
    {
      name: 'malformed JSON',
      body: '{"clientId": "x", "data": ',
      headers: { 'content-type': 'application/json' },
      status: 400,
      type: 'invalid_request',
      message: 'The request body is not valid JSON',
    },
    {
      name: 'empty JSON body',
      body: '',
      headers: { 'content-type': 'application/json' },
      status: 400,
      type: 'invalid_request',
      param: 'clientId',
    },
    {
      name: 'text/plain body',
      body: 'hello',
      headers: { 'content-type': 'text/plain' },
      status: 400,
      type: 'invalid_request',
    },
    {
      name: 'no content type',
      body: new Uint8Array(jpeg),
      headers: { 'content-type': '' },
      status: 400,
      type: 'invalid_request',
    },
    {
      name: 'body over the JSON limit',
      body: JSON.stringify(upload('A'.repeat(6 * 1024 * 1024))),
      headers: { 'content-type': 'application/json' },
      status: 413,
      type: 'invalid_request',
    },
    { name: 'multipart without file', body: form({ clientId }), status: 400, type: 'invalid_request', param: 'file' },
    {
      name: 'multipart file under another name',
      body: form({ clientId }, { bytes: jpeg, field: 'photo' }),
      status: 400,
      type: 'invalid_request',
      param: 'photo',
    },
    {
      name: 'multipart not an image',
      body: form({ clientId }, { bytes: notImage }),
      status: 400,
      type: 'invalid_request',
      param: 'file',
    },
    {
      name: 'multipart truncated jpeg',
      body: form({ clientId }, { bytes: truncatedJpeg }),
      status: 422,
      type: 'unprocessable_image',
      param: 'file',
    },
    {
      name: 'multipart too large',
      body: form({ clientId }, { bytes: oversized }),
      status: 400,
      type: 'invalid_request',
      param: 'file',
      message: SIZE,
    },
    {
      name: 'multipart bad performLivenessCheck',
      body: form({ clientId, performLivenessCheck: 'maybe' }, { bytes: jpeg }),
      status: 400,
      type: 'invalid_request',
      param: 'performLivenessCheck',
    },
    {
      name: 'multipart missing clientId',
      body: form({}, { bytes: jpeg }),
      status: 400,
      type: 'invalid_request',
      param: 'clientId',
    },
    {
      name: 'multipart broken boundary',
      body: '--xyz\r\nContent-Disposition: form-data; name="clientId"\r\n\r\nabc',
      headers: { 'content-type': 'multipart/form-data; boundary=xyz' },
      status: 400,
      type: 'invalid_request',
    },
    {
      name: 'multipart without boundary',
      body: 'whatever',
      headers: { 'content-type': 'multipart/form-data' },
      status: 400,
      type: 'invalid_request',
    },
    // Ids and queries
    {
      name: 'path traversal id',
      method: 'GET',
      url: '/livePhotos/..%2F..%2Fetc%2Fpasswd',
      status: 404,
      type: 'resource_not_found',
    },
    {
      name: 'uppercase hex id',
      method: 'GET',
      url: '/livePhotos/AAAAAAAAAAAAAAAAAAAAAAAA',
      status: 404,
      type: 'resource_not_found',
    },
    {
      name: 'operator in query',
      method: 'GET',
      url: '/livePhotos?clientId[$gt]=',
      status: 400,
      type: 'invalid_request',
      param: 'clientId',
    },
    {
      name: 'repeated clientId',
      method: 'GET',
      url: `/livePhotos?clientId=${clientId}&clientId=${clientId}`,
      status: 400,
      type: 'invalid_request',
      param: 'clientId',
    },
    {
      name: 'pageSize too big',
      method: 'GET',
      url: `/livePhotos?clientId=${clientId}&pageSize=5000`,
      status: 400,
      type: 'invalid_request',
      param: 'pageSize',
    },
    {
      name: 'client wrong type field',
      method: 'POST',
      url: '/clients',
      json: person({ type: 7 }),
      status: 400,
      type: 'invalid_request',
      param: 'type',
    },
    {
      name: 'client personDetails string',
      method: 'POST',
      url: '/clients',
      json: person({ personDetails: 'Jane' }),
      status: 400,
      type: 'invalid_request',
      param: 'personDetails',
    },
    {
      name: 'client email injection',
      method: 'POST',
      url: '/clients',
      json: person({ email: { $ne: null } }),
      status: 400,
      type: 'invalid_request',
      param: 'email',
    },
    {
      name: 'webhook events string',
      method: 'POST',
      url: '/webhooks',
      json: { url: 'https://x.test', events: '*' },
      status: 400,
      type: 'invalid_request',
      param: 'events',
    },
    {
      name: 'update with malformed id',
      method: 'POST',
      url: '/clients/not-an-id',
      json: { email: 'a@b.co' },
      status: 404,
      type: 'resource_not_found',
    },
  ];
  expect(cases.length).toBeGreaterThanOrEqual(30);

  const jobsBefore = await gw.faces.getJobCounts();
  for (const c of cases) {
    const body = typeof c.body === 'function' ? await c.body() : c.body;
    const headers = { ...c.headers };
    if (headers['content-type'] === '') delete headers['content-type'];
    const res = await api(c.method ?? 'POST', c.url ?? '/livePhotos', {
      ...(c.json !== undefined ? { json: c.json } : { body }),
      headers,
    });
    expect(res.status, `${c.name}: ${res.text.slice(0, 300)}`).toBe(c.status);
    expect(res.body?.type, c.name).toBe(c.type);
    expect(res.body?.param, c.name).toBe(c.param);
    expect(res.text, c.name).not.toMatch(/at .*\.(ts|js):\d+/);
    if (typeof c.message === 'string') expect(res.body.message, c.name).toBe(c.message);
    if (c.message instanceof RegExp) expect(res.body.message, c.name).toMatch(c.message);
  }

  // Still up, nothing stored, nothing queued.
  expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  expect(await gw.repos.livePhotos.model.countDocuments()).toBe(0);
  expect(await gw.store.list()).toEqual([]);
  expect(await gw.faces.getJobCounts()).toEqual(jobsBefore);
  expect(await gw.repos.clients.model.countDocuments()).toBe(1);
  expect(await gw.repos.webhooks.model.countDocuments()).toBe(0);
  // And a good upload still works afterwards.
  expect((await api('POST', '/livePhotos', { json: upload(b64(jpeg)) })).status).toBe(200);
});
