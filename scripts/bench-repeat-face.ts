// `pnpm bench:repeat-face` — what the repeatFace stage's search costs as an account's stored faces grow.
//
// For each size (default 10,000 and 100,000; `--sizes 10000,100000,1000000`) it seeds that many random L2-normalised
// 128-d embeddings for one account (spread over many clients) into a throw-away database on MONGODB_URI (the
// MongoDB stand-in natively: `eval "$(scripts/dev services env)"` first), then times:
//   - FaceEmbeddingIndex.search, the stage's own call: the first search of the account loads its embeddings from
//     the store (cold), later ones read only what was stored since and scan memory (warm, `--searches` of them, each
//     after one more embedding was stored, as in production);
//   - FaceEmbeddingRepository.search: the same exact search streaming every embedding from the store each time
//     (`--store-searches`, slow on the stand-in);
//   - findSimilarEmbeddings over a bare Float32Array (the arithmetic alone).
// Memory per face: the BSON document as stored, and the index's heap and array-buffer growth per face held.
// The database is dropped at the end. Not a test: it asserts nothing.
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '@selfie/config';
import {
  connectMongo,
  FaceEmbeddingIndex,
  FaceEmbeddingRepository,
  mongo,
  type NewFaceEmbedding,
  Types,
} from '@selfie/db';
import { EMBEDDING_DIMENSIONS, EMBEDDING_VERSION, findSimilarEmbeddings } from '@selfie/face-engine';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000' },
    searches: { type: 'string', default: '50' },
    'store-searches': { type: 'string', default: '2' },
    clients: { type: 'string', default: '1000' },
    threshold: { type: 'string' },
  },
});
const sizes = (values.sizes as string).split(',').map(Number);
const searches = Number(values.searches);
const storeSearches = Number(values['store-searches']);
const clientCount = Number(values.clients);
const config = loadConfigOrExit();
const threshold = values.threshold ? Number(values.threshold) : config.REPEAT_FACE_THRESHOLD;

/** A random unit vector (normal coordinates, normalised): uniform on the sphere. */
function randomEmbedding(): Float32Array {
  const v = new Float32Array(EMBEDDING_DIMENSIONS);
  let ss = 0;
  for (let i = 0; i < v.length; i += 2) {
    const u = Math.max(Number.EPSILON, Math.random());
    const r = Math.sqrt(-2 * Math.log(u));
    const t = 2 * Math.PI * Math.random();
    v[i] = r * Math.cos(t);
    v[i + 1] = r * Math.sin(t);
    ss += (v[i] as number) ** 2 + (v[i + 1] as number) ** 2;
  }
  const k = 1 / Math.sqrt(ss);
  for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) * k;
  return v;
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
};
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

const uri = new URL(config.MONGODB_URI);
uri.pathname = `/selfie_bench_repeat_face_${process.pid}`;
const connection = await connectMongo(uri.toString(), { timeoutMs: 600_000 });
const repo = new FaceEmbeddingRepository(connection);
await repo.init();
const clients = Array.from({ length: clientCount }, () => new Types.ObjectId().toHexString());

const rows: Record<string, unknown>[] = [];
try {
  for (const size of sizes) {
    const accountId = new Types.ObjectId().toHexString();
    const memory: Float32Array = new Float32Array(size * EMBEDDING_DIMENSIONS);
    const seedStart = performance.now();
    const BATCH = 1000;
    for (let done = 0; done < size; done += BATCH) {
      const batch: NewFaceEmbedding[] = [];
      for (let i = done; i < Math.min(size, done + BATCH); i++) {
        const embedding = randomEmbedding();
        memory.set(embedding, i * EMBEDDING_DIMENSIONS);
        batch.push({
          accountId,
          clientId: clients[i % clients.length] as string,
          photoId: new Types.ObjectId().toHexString(),
          embedding,
          version: EMBEDDING_VERSION,
        });
      }
      // Stored an hour ago: a warm search then reads only what was stored since its last one, as in production.
      await repo.insertMany(batch, new Date(Date.now() - 3600_000));
    }
    const seedS = (performance.now() - seedStart) / 1000;

    const searchFor = (embedding: Float32Array) => ({
      accountId,
      clientId: clients[0] as string,
      photoId: new Types.ObjectId().toHexString(),
      embedding,
      version: EMBEDDING_VERSION,
      threshold,
      limit: 5,
    });
    if (!global.gc) throw new Error('run with --expose-gc (pnpm bench:repeat-face does)');
    global.gc();
    const before = process.memoryUsage();
    const index = new FaceEmbeddingIndex(repo);
    let t0 = performance.now();
    let scanned = (await index.search(searchFor(randomEmbedding()))).scanned;
    const coldMs = performance.now() - t0;
    global.gc?.();
    const after = process.memoryUsage();
    const indexBytesPerFace =
      (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / Math.max(1, scanned);

    const warm: number[] = [];
    const cpuStart = process.cpuUsage();
    for (let n = 0; n < searches; n++) {
      // One more face stored between searches, as each inspected photo adds one.
      const search = searchFor(randomEmbedding());
      await repo.upsert({ ...search, clientId: clients[n % clients.length] as string, version: EMBEDDING_VERSION });
      t0 = performance.now();
      scanned = (await index.search(searchFor(randomEmbedding()))).scanned;
      warm.push(performance.now() - t0);
    }
    const cpu = process.cpuUsage(cpuStart);

    const viaStore: number[] = [];
    for (let n = 0; n < storeSearches; n++) {
      t0 = performance.now();
      await repo.search(searchFor(randomEmbedding()));
      viaStore.push(performance.now() - t0);
    }
    const inMemory: number[] = [];
    for (let n = 0; n < searches; n++) {
      const query = randomEmbedding();
      const t0 = performance.now();
      findSimilarEmbeddings(memory, query, threshold, 5);
      inMemory.push(performance.now() - t0);
    }
    const sample = await repo.model.collection.findOne({ accountId: new Types.ObjectId(accountId) });
    const docBytes = sample ? mongo.BSON.calculateObjectSize(sample) : 0;
    const row = {
      storedFaces: size,
      scanned,
      seedSeconds: round(seedS),
      coldLoadMs: round(coldMs),
      warmSearchMsMedian: round(quantile(warm, 0.5)),
      warmSearchMsP95: round(quantile(warm, 0.95)),
      warmCpuMsPerSearch: round((cpu.user + cpu.system) / 1000 / searches),
      storeStreamSearchMs: viaStore.length ? round(quantile(viaStore, 0.5)) : null,
      arithmeticOnlyMsMedian: round(quantile(inMemory, 0.5), 2),
      bsonBytesPerFace: docBytes,
      indexBytesPerFace: Math.round(indexBytesPerFace),
    };
    rows.push(row);
    process.stdout.write(`${JSON.stringify(row)}\n`);
    await repo.deleteForAccount(accountId);
  }
} finally {
  await connection.dropDatabase().catch(() => {});
  await connection.close();
}

process.stdout.write(
  '\n| stored faces | search (warm): median / p95 | CPU per search | first search (load) | streamed from the store | arithmetic alone | stored per face | memory per face |\n',
);
process.stdout.write('| --- | --- | --- | --- | --- | --- | --- | --- |\n');
for (const r of rows) {
  process.stdout.write(
    `| ${(r.storedFaces as number).toLocaleString('en')} | ${r.warmSearchMsMedian} / ${r.warmSearchMsP95} ms | ${r.warmCpuMsPerSearch} ms | ${r.coldLoadMs} ms | ${r.storeStreamSearchMs ?? '—'} ms | ${r.arithmeticOnlyMsMedian} ms | ${r.bsonBytesPerFace} B | ${r.indexBytesPerFace} B |\n`,
  );
}
