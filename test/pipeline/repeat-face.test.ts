import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, type TConfig } from '@selfie/config';
import { AccountRepository, FaceEmbeddingRepository } from '@selfie/db';
import { retentionOnce } from '@selfie/pipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, pollPhoto, root, TEST_API_KEY, upload } from './helpers.js';
import { startTestStack, type TestStack } from './support.js';

// The whole product in one process, driven through its HTTP API, with REPEAT_FACE_ENABLED on; the account's own
// setting is switched as the gateway CLI does (AccountRepository.setRepeatFace).
let stack: TestStack;
let config: TConfig;
let api: Api;
let accountId: string;
let accounts: AccountRepository;
let embeddings: FaceEmbeddingRepository;

const fixture = (rel: string) => readFileSync(path.join(root, 'test/fixtures', rel));
// Two different photos of the same person (Alex Lacamoire), and three other people.
const ALEX_1 = 'faces/A-single/ageitgey__face_recognition__alex-lacamoire.png';
const ALEX_2 = 'identities/ageitgey__face_recognition__alex_lacamoire_img1.jpg';
const OTHERS = [
  'faces/A-single/chandrikadeb7__Face-Mask-Detection__370.jpg',
  'faces/A-single/serengil__deepface__img61.jpg',
  'faces/A-single/yakhyo__uniface__src_man2.jpg',
];

interface Photo {
  id: string;
  status: string;
  // biome-ignore lint/suspicious/noExplicitAny: test reads of the wire object
  inspections: Record<string, any>;
}

async function newClient(name: string): Promise<string> {
  const res = await api<{ id: string }>('POST', '/v1/clients', {
    type: 'person',
    email: `${name}@example.com`,
    personDetails: { firstName: name, lastName: 'Test' },
  });
  expect(res.status).toBe(200);
  return res.body.id;
}

async function inspect(clientId: string, file: string): Promise<Photo> {
  const res = await upload(api, clientId, fixture(file));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const photo = (await pollPhoto(api, res.body.id)) as unknown as Photo;
  expect(photo.status).toBe('complete');
  return { ...photo, id: res.body.id };
}

beforeAll(async () => {
  // No auth cache: the account setting is read on every upload, so switching it takes effect at once here.
  stack = await startTestStack('test-repeat-face', {
    REPEAT_FACE_ENABLED: true,
    AUTH_CACHE_TTL_MS: 0,
    RATE_LIMIT_PER_SECOND: 1000,
  });
  ({ config, api } = stack);
  accounts = new AccountRepository(stack.ctx.mongo);
  embeddings = new FaceEmbeddingRepository(stack.ctx.mongo);
  const found = await accounts.authenticate(TEST_API_KEY);
  accountId = found?.account._id.toHexString() as string;
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('repeatFace', () => {
  it('is off by default: REPEAT_FACE_ENABLED is false, and an account that did not enable it gets no field', async () => {
    expect(loadConfig({}).REPEAT_FACE_ENABLED).toBe(false);
    const clientId = await newClient('off');
    const photo = await inspect(clientId, ALEX_1);
    expect(photo.inspections.repeatFace).toBeUndefined();
    expect(await embeddings.countForAccount(accountId)).toBe(0);
  });

  it('flags a person uploaded under a second client, with the first photo as evidence', async () => {
    await accounts.setRepeatFace(accountId, true);
    const first = await newClient('alex-one');
    const second = await newClient('alex-two');
    const a = await inspect(first, ALEX_1);
    expect(a.inspections.repeatFace).toMatchObject({ result: 'clear', reasons: [] });
    expect(a.inspections.repeatFace.breakdown).toMatchObject({ matches: [], sameClientMatches: 0 });

    const b = await inspect(second, ALEX_2);
    expect(b.inspections.repeatFace).toMatchObject({ result: 'attention', reasons: ['FACE_SEEN_ON_OTHER_CLIENT'] });
    const { matches, threshold } = b.inspections.repeatFace.breakdown;
    expect(threshold).toBe(config.REPEAT_FACE_THRESHOLD);
    expect(matches).toEqual([{ clientId: first, livePhotoId: a.id, similarity: expect.any(Number) }]);
    expect(matches[0].similarity).toBeGreaterThanOrEqual(config.REPEAT_FACE_THRESHOLD);
    expect(b.inspections.outcome).toBe('attention');
    // The embedding itself is never returned (only ids and similarities).
    expect(JSON.stringify(b)).not.toMatch(/"embedding"\s*:/);
    const events = await stack.ctx.events.model.find({ 'payload.id': b.id }).lean();
    expect(events.length).toBeGreaterThan(0);
    expect(JSON.stringify(events)).not.toMatch(/"embedding"\s*:/);
  });

  it('counts a retake by the same client without flagging it, and does not flag different people', async () => {
    const clientId = await newClient('retake');
    const [one, two, three] = OTHERS as [string, string, string];
    const first = await inspect(clientId, one);
    expect(first.inspections.repeatFace.result).toBe('clear');
    const retake = await inspect(clientId, one);
    expect(retake.inspections.repeatFace).toMatchObject({
      result: 'clear',
      reasons: [],
      breakdown: { matches: [], sameClientMatches: 1 },
    });
    for (const file of [two, three]) {
      const photo = await inspect(await newClient('other'), file);
      expect(photo.inspections.repeatFace, file).toMatchObject({ result: 'clear', breakdown: { matches: [] } });
    }
  });

  it('removes embeddings with the photo, on redaction and with the client', async () => {
    const clientId = await newClient('erase');
    const [one, two] = OTHERS as [string, string];
    const p1 = await inspect(clientId, one);
    const p2 = await inspect(clientId, two);
    const p3 = await inspect(clientId, ALEX_1);
    expect(await embeddings.countForClient(accountId, clientId)).toBe(3);

    expect((await api('DELETE', `/v1/livePhotos/${p1.id}`)).status).toBe(204);
    expect(await embeddings.countForClient(accountId, clientId)).toBe(2);
    expect((await api('POST', `/v1/livePhotos/${p2.id}/redact`)).status).toBe(200);
    expect(await embeddings.countForClient(accountId, clientId)).toBe(1);
    expect(await embeddings.model.countDocuments({ photoId: p3.id })).toBe(1);

    expect((await api('DELETE', `/v1/clients/${clientId}`)).status).toBe(204);
    expect(await embeddings.countForClient(accountId, clientId)).toBe(0);
    // Other clients' embeddings are untouched.
    expect(await embeddings.countForAccount(accountId)).toBeGreaterThan(0);
    // The worker's in-memory index still held the erased face: it is checked against the store, never reported.
    const again = await inspect(await newClient('after-erase'), ALEX_2);
    expect(again.inspections.repeatFace.result).toBe('attention');
    const matched = again.inspections.repeatFace.breakdown.matches.map((m: { livePhotoId: string }) => m.livePhotoId);
    expect(matched.length).toBeGreaterThan(0);
    expect(matched).not.toContain(p3.id);
  });

  it('stops for new uploads when the account turns it off (photos already uploaded keep their choice)', async () => {
    await accounts.setRepeatFace(accountId, false);
    const photo = await inspect(await newClient('off-again'), ALEX_1);
    expect(photo.inspections.repeatFace).toBeUndefined();
  });

  it('retention erases the embeddings with their photos', async () => {
    expect(await embeddings.countForAccount(accountId)).toBeGreaterThan(0);
    await accounts.setRetentionDays(accountId, 1e-9);
    for (let i = 0; i < 10 && (await embeddings.countForAccount(accountId)) > 0; i++) await retentionOnce(stack.ctx);
    expect(await embeddings.countForAccount(accountId)).toBe(0);
  });
});
