import { ComplyCube } from '@complycube/api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixturePhoto, startTestGateway, type TestGateway } from '../../../test/gateway/support.js';

// ComplyCube's official Node client, unchanged except for its base URL.
let gw: TestGateway;
let cc: ComplyCube;
beforeAll(async () => {
  gw = await startTestGateway();
  cc = new ComplyCube({ apiKey: gw.key });
  cc.axiosInstance.defaults.baseURL = `${gw.url}/v1`;
});
afterAll(async () => gw?.close());

it('runs clients, live photos and webhooks through @complycube/api', async () => {
  const client = await cc.client.create({
    type: 'person',
    email: 'john.doe@example.com',
    personDetails: { firstName: 'John', lastName: 'Doe' },
  });
  expect(client).toMatchObject({ type: 'person', entityName: 'John Doe' });
  expect(await cc.client.get(client.id)).toMatchObject({ id: client.id });

  const jpeg = fixturePhoto('jpeg');
  const photo = await cc.livePhoto.upload(client.id, { data: jpeg.toString('base64'), performLivenessCheck: true });
  expect(photo).toMatchObject({
    clientId: client.id,
    status: 'processing',
    contentType: 'image/jpeg',
    size: jpeg.length,
  });
  expect(await cc.livePhoto.get(photo.id)).toMatchObject({ id: photo.id });
  const listed = await cc.livePhoto.list(client.id);
  expect(listed.map((p: { id: string }) => p.id)).toEqual([photo.id]);
  const paged = await cc.livePhoto.list(client.id, { page: 1, pageSize: 1 });
  expect(paged).toHaveLength(1);
  // The typings say LivePhoto; the wire (and our contract) is the download object.
  const download = (await cc.livePhoto.download(photo.id)) as unknown as { fileName: string; data: string };
  expect(download.fileName).toMatch(/^selfie_\d+\.jpg$/);
  expect(Buffer.from(download.data, 'base64').equals(jpeg)).toBe(true);
  await cc.livePhoto.delete(photo.id);
  await expect(cc.livePhoto.get(photo.id)).rejects.toMatchObject({ statusCode: 404, type: 'resource_not_found' });

  const webhook = await cc.webhook.create({
    url: 'https://example.com/hook',
    enabled: true,
    events: ['client.created'],
  });
  expect(webhook.secret).toMatch(/^[A-Za-z0-9]{32}$/);
  const hooks = await cc.webhook.list();
  expect(hooks.map((w: { id: string }) => w.id)).toEqual([webhook.id]);

  // Errors surface as the client's ComplyCubeApiError with our type and param.
  await expect(cc.client.create({ type: 'person', email: 'x@y.co' })).rejects.toMatchObject({
    statusCode: 400,
    type: 'invalid_request',
    param: 'personDetails',
  });
  const bad = new ComplyCube({ apiKey: 'test_wrongwrongwrongwrong' });
  bad.axiosInstance.defaults.baseURL = `${gw.url}/v1`;
  await expect(bad.client.list()).rejects.toMatchObject({ statusCode: 401, type: 'unauthorized' });
  await cc.client.delete(client.id);
});
