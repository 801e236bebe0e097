import { describe, expect, it } from 'vitest';
import { apiClient, fixturePhoto, person, startTestGateway } from './support.js';

// Over QUEUE_MAX_WAITING the gateway refuses uploads at once with 503 and Retry-After, instead of letting them wait.
describe('a full faces queue', () => {
  it('answers 503 service_unavailable with a Retry-After in seconds', async () => {
    const gw = await startTestGateway({ QUEUE_MAX_WAITING: 1 });
    try {
      const api = apiClient(`${gw.url}/v1`, gw.key);
      const clientId = (await api('POST', '/clients', { json: person() })).body.id;
      const body = { json: { clientId, data: fixturePhoto('jpeg').toString('base64') } };
      expect((await api('POST', '/livePhotos', body)).status).toBe(200);
      expect((await api('POST', '/livePhotos', body)).status).toBe(200);
      const refused = await api('POST', '/livePhotos', body);
      expect(refused.status).toBe(503);
      expect(refused.body.type).toBe('service_unavailable');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    } finally {
      await gw.close();
    }
  });
});
