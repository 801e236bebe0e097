import { type Connection, connectMongo, pingMongo, Schema } from '@selfie/db';
import { createObjectStore } from '@selfie/object-store';
import { createQueue, createRedisClient, createWorker, jobId } from '@selfie/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../support/env.js';

const config = testConfig();

describe('MongoDB adapter (tools/mongo-store here, MongoDB under Docker)', () => {
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

  it('keeps all of 40 concurrent $set of different fields on one document', async () => {
    const docs = conn.db!.collection('concurrent');
    const { insertedId } = await docs.insertOne({ base: true });
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => docs.updateOne({ _id: insertedId }, { $set: { [`f${i}`]: i } })),
    );
    const doc = await docs.findOne({ _id: insertedId });
    expect(Object.keys(doc ?? {}).filter((k) => /^f\d+$/.test(k))).toHaveLength(40);
  });

  it('answers indexed list, range, sort, skip and count queries exactly as a scan would', async () => {
    // Two clients, many ties on createdAt, and a status that changes: the queries the API and the sweeper make.
    const docs = conn.db!.collection('indexed');
    await docs.createIndex({ accountId: 1, clientId: 1, createdAt: -1, _id: -1 });
    await docs.createIndex({ status: 1, updatedAt: 1 });
    const base = Date.UTC(2026, 0, 1);
    const all = Array.from({ length: 600 }, (_, i) => ({
      accountId: 'acc',
      clientId: i % 3 === 0 ? 'small' : 'big',
      createdAt: new Date(base + Math.floor(i / 4) * 1000),
      updatedAt: new Date(base + (i % 50) * 1000),
      status: i % 7 === 0 ? 'processing' : 'complete',
      n: i,
    }));
    await docs.insertMany(all.map((d) => ({ ...d })));
    await docs.updateMany({ n: { $gte: 590 } }, { $set: { status: 'processing', updatedAt: new Date(base) } });
    const stored = await docs.find({}).toArray();
    const newestFirst = (a: (typeof stored)[0], b: (typeof stored)[0]) =>
      b.createdAt.getTime() - a.createdAt.getTime() || b._id.toHexString().localeCompare(a._id.toHexString());
    const ids = (list: { _id: unknown }[]) => list.map((d) => String(d._id));

    const big = stored.filter((d) => d.clientId === 'big').sort(newestFirst);
    const page = await docs
      .find({ accountId: 'acc', clientId: 'big' })
      .sort({ createdAt: -1, _id: -1 })
      .skip(150)
      .limit(100)
      .toArray();
    expect(ids(page)).toEqual(ids(big.slice(150, 250)));
    expect(await docs.countDocuments({ accountId: 'acc', clientId: 'big' })).toBe(big.length);

    const before = new Date(base + 60_000);
    const older = big.filter((d) => d.createdAt < before);
    const ranged = await docs
      .find({ accountId: 'acc', clientId: 'big', createdAt: { $lt: before } })
      .sort({ createdAt: -1, _id: -1 })
      .limit(20)
      .toArray();
    expect(ids(ranged)).toEqual(ids(older.slice(0, 20)));
    expect(await docs.countDocuments({ accountId: 'acc', clientId: 'big', createdAt: { $lt: before } })).toBe(
      older.length,
    );

    const cutoff = new Date(base + 10_000);
    const stale = stored
      .filter((d) => d.status === 'processing' && d.updatedAt < cutoff)
      .sort((a, b) => a.updatedAt.getTime() - b.updatedAt.getTime());
    const found = await docs
      .find({ status: 'processing', updatedAt: { $lt: cutoff } })
      .sort({ updatedAt: 1 })
      .toArray();
    expect(new Set(ids(found))).toEqual(new Set(ids(stale)));
    expect(found.map((d) => d.updatedAt.getTime())).toEqual(stale.map((d) => d.updatedAt.getTime()));

    // Deleting through the index leaves nothing behind for it to find.
    await docs.deleteMany({ accountId: 'acc', clientId: 'small' });
    expect(await docs.countDocuments({ accountId: 'acc', clientId: 'small' })).toBe(0);
    expect(await docs.countDocuments({})).toBe(big.length);
  });

  it('stops a query at its maxTimeMS instead of letting it run on', async () => {
    const docs = conn.db!.collection('slow');
    for (let i = 0; i < 2; i++) {
      await docs.insertMany(
        Array.from({ length: 5000 }, (_, j) => ({ n: i * 5000 + j, text: `row ${j} `.repeat(20) })),
      );
    }
    await expect(docs.find({ text: { $regex: 'no such text' } }, { maxTimeMS: 1 }).toArray()).rejects.toMatchObject({
      code: 50,
    });
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
