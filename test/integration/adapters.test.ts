import { type Connection, connectMongo, pingMongo, Schema } from '@selfie/db';
import { createObjectStore } from '@selfie/object-store';
import { createQueue, createRedisClient, createWorker, jobId } from '@selfie/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../support/env.js';

const config = testConfig();

describe('MongoDB adapter (FerretDB here, MongoDB under Docker)', () => {
  let conn: Connection;
  beforeAll(async () => {
    conn = await connectMongo(config.MONGODB_URI);
  });
  afterAll(async () => {
    await conn.dropDatabase();
    await conn.close();
  });

  it('writes, reads back, enforces a unique index and deletes', async () => {
    await pingMongo(conn);
    const Thing = conn.model(
      'Thing',
      new Schema({ key: { type: String, unique: true }, n: Number }, { timestamps: true }),
    );
    await Thing.init();
    const created = await Thing.create({ key: 'a', n: 1 });
    await expect(Thing.create({ key: 'a', n: 2 })).rejects.toMatchObject({ code: 11000 });
    const read = await Thing.findById(created._id).lean();
    expect(read).toMatchObject({ key: 'a', n: 1 });
    await Thing.updateOne({ _id: created._id }, { $inc: { n: 1 } });
    expect((await Thing.findById(created._id).lean())?.n).toBe(2);
    await Thing.deleteOne({ _id: created._id });
    expect(await Thing.countDocuments()).toBe(0);
  });
});

describe('S3 adapter (versitygw here)', () => {
  const store = createObjectStore({
    endpoint: config.S3_ENDPOINT,
    region: config.S3_REGION,
    accessKey: config.S3_ACCESS_KEY,
    secretKey: config.S3_SECRET_KEY,
    bucket: config.S3_BUCKET,
  });

  it('creates the bucket idempotently, puts, reads back, lists and removes', async () => {
    await store.ensureBucket();
    await store.ensureBucket();
    const bytes = Buffer.from([0xff, 0xd8, 0xff, 1, 2, 3]);
    await store.put('a/b.jpg', bytes, 'image/jpeg');
    expect(await store.exists('a/b.jpg')).toBe(true);
    expect(Buffer.compare(await store.get('a/b.jpg'), bytes)).toBe(0);
    expect(await store.list('a/')).toEqual(['a/b.jpg']);
    await store.remove('a/b.jpg');
    await store.remove('a/b.jpg');
    expect(await store.exists('a/b.jpg')).toBe(false);
  });

  it('rejects wrong credentials (the server checks signatures)', async () => {
    const bad = createObjectStore({
      endpoint: config.S3_ENDPOINT,
      region: config.S3_REGION,
      accessKey: config.S3_ACCESS_KEY,
      secretKey: 'wrong-secret-key',
      bucket: config.S3_BUCKET,
    });
    await expect(bad.put('x', Buffer.from('x'), 'text/plain')).rejects.toThrow();
  });
});

describe('Redis/BullMQ adapter', () => {
  const producer = createRedisClient(config.REDIS_URL, 'producer');
  const workerConn = createRedisClient(config.REDIS_URL, 'worker');
  const ctx = { prefix: config.REDIS_PREFIX };
  afterAll(async () => {
    producer.disconnect();
    workerConn.disconnect();
  });

  it('enqueues a validated job once per deterministic id and a worker processes it', async () => {
    const queue = createQueue('finalize', { ...ctx, connection: producer });
    const photoId = 'aaaaaaaaaaaaaaaaaaaaaaaa';
    const seen: string[] = [];
    const worker = createWorker('finalize', { ...ctx, connection: workerConn }, async (payload) => {
      seen.push(payload.photoId);
      return 'done';
    });
    const data = { photoId, accountId: 'bbbbbbbbbbbbbbbbbbbbbbbb' };
    await queue.add('finalize', data, { jobId: jobId(photoId, 'finalize') });
    await queue.add('finalize', data, { jobId: jobId(photoId, 'finalize') });
    await expect
      .poll(async () => (await queue.getJob(jobId(photoId, 'finalize')))?.returnvalue, { timeout: 10_000 })
      .toBe('done');
    expect(seen).toEqual([photoId]);
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
  });

  it('fails a job whose payload breaks the catalogue schema', async () => {
    const queue = createQueue('finalize', { ...ctx, connection: producer });
    const worker = createWorker('finalize', { ...ctx, connection: workerConn }, async () => 'never');
    const job = await queue.add('finalize', { photoId: 'not-an-id' } as never, { attempts: 1 });
    await expect
      .poll(async () => (await queue.getJob(job.id as string))?.failedReason ?? '', { timeout: 10_000 })
      .toMatch(/24-char/);
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
  });
});
