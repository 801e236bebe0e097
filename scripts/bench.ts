// `pnpm bench` — cost per photo and time to result, measured in one run on this machine:
//   1. limit       the four inspections in-process (no queue, storage or database), one process per core
//   2. end-to-end  gateway + one process per stage + finalizer + webhook dispatcher on Redis/the MongoDB store/
//                  versitygw, N photos at a fixed concurrency, then one photo at a time (low load); then again with
//                  --stored photo records (20,000 by default) seeded straight into the store, plus GET and list
//                  latency at that size
//   3. upload      uploads of a ~100 KB JPEG over many connections with no stage worker running
//   4. memory      peak RSS (VmHWM) of every process of run 2, the store's included
//   5. scaling     end-to-end throughput with 1 and 2 processes per stage
//   6. round trips store, Redis and S3 calls per photo from upload to webhook delivery (no polling)
// `--only e2e,rounds` runs some sections. Prints one table; writes .bench/latest.json and .bench/latency.png.
// Not a test: it asserts nothing.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { STAGE_FIELD, STAGES } from '@selfie/contracts';
import { mongo, Types } from '@selfie/db';
import { createRedisClient } from '@selfie/queue';
import sharp from 'sharp';

const root = path.resolve(import.meta.dirname, '..');
const { values: opts } = parseArgs({
  options: {
    photos: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '8' },
    low: { type: 'string', default: '20' },
    'scaling-photos': { type: 'string', default: '100' },
    'limit-rounds': { type: 'string', default: '3' },
    'upload-seconds': { type: 'string', default: '10' },
    connections: { type: 'string', default: '200' },
    'upload-rate': { type: 'string', default: '150' },
    /**
     * How the load generator learns that a photo is done: `webhook` (one delivery per photo, then one GET for its
     * timestamps), as integrators are advised to, or `poll` (a GET every --poll-ms, which is gateway and store load
     * of its own).
     */
    wait: { type: 'string', default: 'webhook' },
    'poll-ms': { type: 'string', default: '250' },
    fixtures: { type: 'string', default: path.join(root, 'test/fixtures/faces/A-single') },
    stored: { type: 'string', default: '20000' },
    'round-trip-photos': { type: 'string', default: '20' },
    only: { type: 'string', default: 'limit,e2e,upload,scaling,rounds' },
  },
});
const SECTIONS = new Set(opts.only.split(','));
const N = Number(opts.photos);
const CONCURRENCY = Number(opts.concurrency);
/** inspectAll's timing keys, per stage, are the stages' wire names. */
const TIMING_KEY = STAGE_FIELD;

// ---------- helpers ----------
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs: number[], q: number): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
};
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function benchPhotos(): string[] {
  const files = readdirSync(opts.fixtures)
    .filter((f) => /\.(jpe?g|png)$/i.test(f))
    .sort()
    .map((f) => path.join(opts.fixtures, f));
  if (files.length === 0) throw new Error(`no photos in ${opts.fixtures}`);
  return files;
}

function backingEnv(): Record<string, string> {
  const { REDIS_URL, MONGODB_URI, S3_ENDPOINT } = process.env;
  if (REDIS_URL && MONGODB_URI && S3_ENDPOINT) return { REDIS_URL, MONGODB_URI, S3_ENDPOINT };
  execFileSync('bash', [path.join(root, 'scripts/backing.sh'), 'up'], { stdio: 'inherit' });
  const out = execFileSync('bash', [path.join(root, 'scripts/backing.sh'), 'env'], { encoding: 'utf8' });
  return Object.fromEntries([...out.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1] as string, m[2] as string]));
}

interface Proc {
  name: string;
  child: ChildProcess;
}

/** Every child this run started, so a failing run leaves no process behind. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function startProc(name: string, entry: string, env: Record<string, string>): Proc {
  // node --import tsx (not the tsx CLI, which forks): the pid we watch is the process doing the work.
  // BENCH_CPU_PROF=<name prefix> writes V8 CPU profiles of those processes to .bench/prof (profiling aid).
  const prof = process.env.BENCH_CPU_PROF && name.startsWith(process.env.BENCH_CPU_PROF);
  const flags = prof ? ['--cpu-prof', `--cpu-prof-dir=${path.join(root, '.bench/prof')}`] : [];
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', path.join(root, entry)], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let tail = '';
  child.stderr?.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4000);
  });
  child.on('exit', (code, signal) => {
    if (code && code !== 0) process.stderr.write(`[bench] ${name} exited ${code ?? signal}\n${tail}\n`);
  });
  return { name, child };
}

function peakRssMb(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
    return round(kb / 1024, 0);
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    // After the command name: utime and stime are fields 14 and 15 of stat, 12 and 13 here; 100 ticks a second.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Every process of a run: ours plus the native backing services (their pid files), by name. */
function runPids(procs: Proc[]): Record<string, number | undefined> {
  const pids: Record<string, number | undefined> = Object.fromEntries(procs.map((p) => [p.name, p.child.pid]));
  for (const name of ['redis', 'mongo', 's3']) {
    try {
      pids[`${name} (backing)`] = Number(readFileSync(path.join(root, '.data/run', `${name}.pid`), 'utf8'));
    } catch {
      // Not started by scripts/backing.sh (external services): not accounted.
    }
  }
  return pids;
}

/** Drops a run's database, so runs do not pile up in the store (the native store rebuilds indexes at start). */
async function dropStack(stack: Stack): Promise<void> {
  const client = await new mongo.MongoClient(stack.env.MONGODB_URI as string).connect();
  try {
    await client.db().dropDatabase();
  } finally {
    await client.close();
  }
}

async function stopAll(procs: Proc[]): Promise<void> {
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.child.exitCode !== null) return resolve();
          p.child.once('exit', () => resolve());
          p.child.kill('SIGTERM');
          setTimeout(() => p.child.kill('SIGKILL'), 15_000).unref();
        }),
    ),
  );
}

// ---------- 1. in-process limit ----------
interface LimitResult {
  processes: number;
  photosPerSecond: number;
  singlePhotoMs: number;
  medianMsPerStage: Record<string, number>;
}

async function runLimit(photos: string[]): Promise<LimitResult> {
  const processes = os.availableParallelism();
  const rounds = Number(opts['limit-rounds']);
  const lines: { total: number; timings: Record<string, number> }[] = [];
  let ready = 0;
  let startedAt = 0;
  const children = Array.from({ length: processes }, () =>
    spawn(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'scripts/bench/limit-worker.ts'), String(rounds), ...photos],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    ),
  );
  // Timing starts once every process has loaded its models and warmed up, as a running service would be.
  const done = children.map(
    (child) =>
      new Promise<void>((resolve, reject) => {
        let buf = '';
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
            const line = JSON.parse(buf.slice(0, i));
            buf = buf.slice(i + 1);
            if (line.ready) {
              ready += 1;
              if (ready === processes) startedAt = performance.now();
            } else lines.push(line);
          }
        });
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`limit worker exited ${code}`))));
      }),
  );
  await Promise.all(done);
  const elapsed = (performance.now() - startedAt) / 1000;
  const medianMsPerStage: Record<string, number> = {};
  for (const stage of STAGES)
    medianMsPerStage[stage] = round(
      quantile(
        lines.map((l) => l.timings[TIMING_KEY[stage]] ?? 0),
        0.5,
      ),
    );
  medianMsPerStage.decode = round(
    quantile(
      lines.map((l) => l.timings.decode ?? 0),
      0.5,
    ),
  );
  return {
    processes,
    // Photos finished after every process was ready; the first results may land before the last one is ready.
    photosPerSecond: round(lines.length / elapsed, 2),
    singlePhotoMs: round(
      quantile(
        lines.map((l) => l.total),
        0.5,
      ),
    ),
    medianMsPerStage,
  };
}

// ---------- the stack ----------
interface Stack {
  url: string;
  key: string;
  procs: Proc[];
  env: Record<string, string>;
  /** Resolves when the photo's `livePhoto.completed`/`failed` webhook arrived (webhook waiting only). */
  finished?: (photoId: string) => Promise<void>;
}

/** A webhook receiver for the run's account: completion events by photo id. */
async function startCompletionReceiver(stack: Stack): Promise<void> {
  const { createServer } = await import('node:http');
  const arrived = new Set<string>();
  const waiting = new Map<string, () => void>();
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString();
    });
    req.on('end', () => {
      res.end('ok');
      const id = (JSON.parse(body) as { payload?: { id?: string } }).payload?.id;
      if (!id) return;
      arrived.add(id);
      waiting.get(id)?.();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiver.unref();
  const port = (receiver.address() as { port: number }).port;
  await api(stack, 'POST', '/v1/webhooks', {
    url: `http://127.0.0.1:${port}/done`,
    events: ['livePhoto.completed', 'livePhoto.failed'],
  });
  stack.finished = (photoId) =>
    arrived.has(photoId) ? Promise.resolve() : new Promise((resolve) => waiting.set(photoId, resolve));
}

async function startStack(perStage: number, withWorkers: boolean): Promise<Stack> {
  const id = randomBytes(3).toString('hex');
  const port = 3900 + Math.floor(Math.random() * 90);
  const key = `test_bench${randomBytes(12).toString('hex')}`;
  const backing = backingEnv();
  const mongo = new URL(backing.MONGODB_URI ?? process.env.MONGODB_URI ?? '');
  mongo.pathname = `/bench_${id}`;
  const env: Record<string, string> = {
    ...backing,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    MONGODB_URI: mongo.toString(),
    REDIS_PREFIX: `bench_${id}`,
    S3_BUCKET: `bench-${id}`,
    PORT: String(port),
    LOCAL_API_KEY: key,
    RATE_LIMIT_PER_SECOND: '1000000',
    UPLOAD_MIN_BYTES: '0',
    QUEUE_MAX_WAITING: '1000000',
    METRICS_PORT: '0',
    // The round-trip pass delivers webhooks to a receiver on loopback.
    WEBHOOK_ALLOW_PRIVATE: 'true',
  };
  const procs: Proc[] = [startProc('gateway', 'services/gateway/src/main.ts', env)];
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await sleep(250);
  }
  if (withWorkers) {
    for (let copy = 0; copy < perStage; copy++) {
      for (const stage of STAGES)
        procs.push(
          startProc(
            `worker-${stage}#${copy + 1}`,
            `services/worker-${stage.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}/src/main.ts`,
            env,
          ),
        );
    }
    procs.push(startProc('finalizer', 'services/finalizer/src/main.ts', env));
    procs.push(startProc('webhook-dispatcher', 'services/webhook-dispatcher/src/main.ts', env));
  }
  const stack: Stack = { url, key, procs, env };
  if (withWorkers && opts.wait === 'webhook') await startCompletionReceiver(stack);
  return stack;
}

async function api(stack: Stack, method: string, p: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${stack.url}${p}`, {
    method,
    headers: { Authorization: stack.key, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${method} ${p} → ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function createClient(stack: Stack): Promise<string> {
  const client = await api(stack, 'POST', '/v1/clients', {
    type: 'person',
    email: 'bench@example.com',
    personDetails: { firstName: 'Bench', lastName: 'Mark' },
  });
  return client.id as string;
}

/** Uploads answered 503 and sent again. */
let uploadRetries = 0;

/** Inference time of the photos runLoad finished (sum of the stages' own timings), for CPU outside inference. */
const inferenceMs: number[] = [];

/** Uploads one photo and waits for it to finish; latency = upload start → record completion (server clock). */
async function onePhoto(stack: Stack, clientId: string, data: string): Promise<number> {
  const started = Date.now();
  let photo: Record<string, unknown> | undefined;
  // A 503 (a backing service too slow) is retried like a client would, and counted.
  for (let attempt = 1; !photo; attempt++) {
    photo = await api(stack, 'POST', '/v1/livePhotos', { clientId, data }).catch((err: Error) => {
      if (attempt >= 5 || !err.message.includes('503')) throw err;
      uploadRetries += 1;
      return sleep(500 * attempt).then(() => undefined);
    });
  }
  const uploadMs = Date.now() - started;
  if (stack.finished) await stack.finished(photo.id as string);
  for (;;) {
    // Polling is load on the database too (--poll-ms, 250 by default); latency comes from the record's own
    // timestamps, not from when the poll noticed. After a webhook the first GET finds the photo final.
    if (!stack.finished) await sleep(Number(opts['poll-ms']));
    const now = await api(stack, 'GET', `/v1/livePhotos/${photo.id as string}`).catch((err: Error) => {
      process.stderr.write(`[bench] poll failed, retrying: ${err.message}\n`);
      return { status: 'processing' } as Record<string, unknown>;
    });
    if (now.status !== 'processing') {
      if (now.status !== 'complete') throw new Error(`photo ${photo.id as string} ended ${now.status as string}`);
      const timings = ((now.inspections as Record<string, unknown>)?.timings ?? {}) as Record<string, number>;
      inferenceMs.push(Object.values(timings).reduce((a, b) => a + b, 0));
      return uploadMs + (Date.parse(now.updatedAt as string) - Date.parse(now.createdAt as string));
    }
  }
}

async function runLoad(stack: Stack, photos: string[], count: number, concurrency: number) {
  const clientId = await createClient(stack);
  const payloads = photos.map((f) => readFileSync(f).toString('base64'));
  // Warm-up photo: every worker has loaded its models and compiled its kernels before timing starts.
  await onePhoto(stack, clientId, payloads[0] as string);
  // CPU used by every process of the run during the timed part only (start-up excluded), per photo.
  const pids = runPids(stack.procs);
  const cpuBefore = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  const latencies: number[] = [];
  inferenceMs.length = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        latencies.push(await onePhoto(stack, clientId, payloads[i % payloads.length] as string));
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpuMsPerPhoto = Object.fromEntries(
    Object.entries(pids).map(([k, pid]) => [k, round(((cpuSeconds(pid) - (cpuBefore[k] ?? 0)) * 1000) / count, 0)]),
  );
  const totalCpu = Object.values(cpuMsPerPhoto).reduce((a, b) => a + b, 0);
  const inference = inferenceMs.reduce((a, b) => a + b, 0) / Math.max(1, inferenceMs.length);
  return {
    photosPerSecond: round(count / seconds, 2),
    latencies,
    cpuMsPerPhoto,
    cpuMsOutsideInference: round(totalCpu - inference, 0),
  };
}

// ---------- 2b. a store that already holds many photos ----------
/** The bench database, through the driver (seeding and counters bypass the API on purpose). */
async function storeDb(stack: Stack) {
  const client = await new mongo.MongoClient(stack.env.MONGODB_URI as string).connect();
  return { client, db: client.db() };
}

/**
 * Seeds `count` photo records shaped like real ones (a finished photo's record as the template) straight into the
 * store: most clients have ten photos, one heavy client has a tenth of them all.
 */
async function seedStored(stack: Stack, count: number) {
  const { client, db } = await storeDb(stack);
  try {
    const template = await db.collection('livephotos').findOne({ status: 'complete' });
    if (!template) throw new Error('no finished photo to copy');
    const accountId = template.accountId as Types.ObjectId;
    const heavy = new Types.ObjectId();
    const heavyCount = Math.floor(count / 10);
    const clients = [
      heavy,
      ...Array.from({ length: Math.ceil((count - heavyCount) / 10) }, () => new Types.ObjectId()),
    ];
    const now = Date.now();
    await db.collection('clients').insertMany(
      clients.map((_id, i) => ({
        _id,
        accountId,
        type: 'person',
        email: `seed${i}@example.com`,
        createdAt: new Date(now - 90 * 86_400_000),
        updatedAt: new Date(now - 90 * 86_400_000),
      })),
    );
    const photoIds: string[] = [];
    for (let start = 0; start < count; start += 1000) {
      const batch = Array.from({ length: Math.min(1000, count - start) }, (_, j) => {
        const i = start + j;
        const at = new Date(now - 90 * 86_400_000 + Math.floor((i / count) * 89 * 86_400_000));
        const clientId = i < heavyCount ? heavy : (clients[1 + Math.floor((i - heavyCount) / 10)] as Types.ObjectId);
        const _id = new Types.ObjectId();
        photoIds.push(_id.toHexString());
        return { ...template, _id, clientId, objectKey: `${accountId}/${_id}`, createdAt: at, updatedAt: at };
      });
      await db.collection('livephotos').insertMany(batch);
    }
    return { heavy: heavy.toHexString(), clients: clients.slice(1).map((c) => c.toHexString()), photoIds };
  } finally {
    await client.close();
  }
}

/** GET and list latency (ms) over the seeded records, four requests in flight; every non-200 counted. */
async function readLatency(stack: Stack, seeded: Awaited<ReturnType<typeof seedStored>>) {
  const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)] as T;
  let errors = 0;
  const timed = async (n: number, p: () => string) => {
    const ms: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next++ < n) {
          const t = performance.now();
          const res = await fetch(`${stack.url}${p()}`, { headers: { Authorization: stack.key } });
          await res.arrayBuffer();
          ms.push(performance.now() - t);
          if (res.status !== 200) errors += 1;
        }
      }),
    );
    return { p50: round(quantile(ms, 0.5)), p95: round(quantile(ms, 0.95)) };
  };
  const get = await timed(400, () => `/v1/livePhotos/${pick(seeded.photoIds)}`);
  const list = await timed(200, () => `/v1/livePhotos?clientId=${pick(seeded.clients)}&pageSize=100`);
  const heavyFirst = await timed(50, () => `/v1/livePhotos?clientId=${seeded.heavy}&pageSize=100`);
  const heavyDeep = await timed(50, () => `/v1/livePhotos?clientId=${seeded.heavy}&pageSize=100&page=15`);
  return { get, list, heavyFirst, heavyDeep, errors };
}

// ---------- 6. round trips ----------
const DATA_COMMANDS = new Set(['find', 'insert', 'update', 'delete', 'findandmodify', 'aggregate', 'count', 'getmore']);

async function storeCommandCounts(stack: Stack): Promise<Record<string, number>> {
  const { client } = await storeDb(stack);
  try {
    const status = await client.db('admin').command({ serverStatus: 1 });
    const commands = (status.metrics?.commands ?? {}) as Record<string, { total?: number | { low: number } }>;
    const counts: Record<string, number> = {};
    for (const [name, v] of Object.entries(commands)) {
      if (DATA_COMMANDS.has(name.toLowerCase())) counts[name.toLowerCase()] = Number(v.total ?? 0);
    }
    return counts;
  } finally {
    await client.close();
  }
}

/**
 * Counts the commands clients send to Redis while it runs (MONITOR), leaving out those BullMQ's Lua scripts issue
 * inside Redis: a script call is one round trip however much it does.
 */
async function countRedisCalls(stack: Stack) {
  const redis = createRedisClient(stack.env.REDIS_URL as string, 'worker');
  const monitor = await redis.monitor();
  const counts: Record<string, number> = {};
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source === 'lua') return;
    const name = String(args[0]).toLowerCase();
    counts[name] = (counts[name] ?? 0) + 1;
  });
  return {
    async stop() {
      monitor.disconnect();
      redis.disconnect();
      return counts;
    },
  };
}

/** S3 requests for the run's bucket, from versitygw's request log (native runs only). */
function s3Calls(stack: Stack): number {
  try {
    const log = readFileSync(path.join(root, '.data/run/s3.log'), 'utf8');
    return log.split('\n').filter((l) => l.includes(`/${stack.env.S3_BUCKET}`)).length;
  } catch {
    return Number.NaN;
  }
}

/**
 * Calls per photo from upload to webhook delivery: photos uploaded without polling (the stack's one webhook says
 * when each is done), counted between the first upload and the last delivery.
 */
async function runRoundTrips(stack: Stack, photos: string[], count: number) {
  const finished = stack.finished;
  if (!finished) throw new Error('the round-trip pass needs the webhook receiver (--wait webhook)');
  const clientId = await createClient(stack);
  const payloads = photos.map((f) => readFileSync(f).toString('base64'));
  // Warm-up (models loaded, connections open), then the counted photos.
  const warm = await api(stack, 'POST', '/v1/livePhotos', { clientId, data: payloads[0] });
  await finished(warm.id as string);
  const mongoBefore = await storeCommandCounts(stack);
  const redisCounter = await countRedisCalls(stack);
  const s3Before = s3Calls(stack);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    ids.push(
      (await api(stack, 'POST', '/v1/livePhotos', { clientId, data: payloads[i % payloads.length] })).id as string,
    );
  }
  await Promise.all(ids.map((id) => finished(id)));
  await sleep(500);
  const mongoAfter = await storeCommandCounts(stack);
  const redisByCommand = await redisCounter.stop();
  const redis = Object.values(redisByCommand).reduce((a, b) => a + b, 0);
  const byCommand = Object.fromEntries(
    Object.entries(mongoAfter).map(([k, v]) => [k, round((v - (mongoBefore[k] ?? 0)) / count, 1)]),
  );
  return {
    photos: count,
    storePerPhoto: round(
      Object.values(byCommand).reduce((a, b) => a + b, 0),
      1,
    ),
    storeByCommand: byCommand,
    redisPerPhoto: round(redis / count, 1),
    redisByCommand: Object.fromEntries(Object.entries(redisByCommand).map(([k, v]) => [k, round(v / count, 1)])),
    s3PerPhoto: round((s3Calls(stack) - s3Before) / count, 1),
  };
}

// ---------- 3. upload path ----------
/**
 * Two measurements over the same connections: closed loop (every connection sends its next upload as soon as the
 * last one answers: the most the path can do) and open loop at a fixed offered rate (the latency a client sees
 * at that load). With 200 closed-loop connections Little's law ties p99 to throughput, so only the open-loop
 * run says what latency a given request rate gets.
 */
async function runUploads(stack: Stack, seconds: number, connections: number, offeredRate: number) {
  const clientId = await createClient(stack);
  const base = readFileSync(benchPhotos()[0] as string);
  // A ~100 KB JPEG: re-encode the first bench photo at a size that lands near 100 KB.
  let jpeg: Buffer = base;
  for (const quality of [98, 95, 92, 90, 85, 80, 75, 70, 60, 50]) {
    jpeg = await sharp(base).rotate().resize({ width: 1000 }).jpeg({ quality }).toBuffer();
    if (jpeg.length <= 105_000) break;
  }
  const body = JSON.stringify({ clientId, data: jpeg.toString('base64') });
  const upload = async (latencies: number[]): Promise<boolean> => {
    const t = performance.now();
    const res = await fetch(`${stack.url}/v1/livePhotos`, {
      method: 'POST',
      headers: { Authorization: stack.key, 'Content-Type': 'application/json' },
      body,
    }).catch(() => null);
    if (res) await res.arrayBuffer();
    if (res?.status === 200) latencies.push(performance.now() - t);
    return res?.status === 200;
  };

  // Closed loop.
  const closed: number[] = [];
  let closedErrors = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < deadline) if (!(await upload(closed))) closedErrors += 1;
    }),
  );
  const closedElapsed = (performance.now() - started) / 1000;

  // Open loop: one request every 1/rate s, never more than `connections` in flight.
  const open: number[] = [];
  let openErrors = 0;
  let inFlight = 0;
  let dropped = 0;
  const sends: Promise<void>[] = [];
  const total = Math.round(offeredRate * seconds);
  const openStarted = performance.now();
  for (let i = 0; i < total; i++) {
    const due = openStarted + (i * 1000) / offeredRate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    if (inFlight >= connections) {
      dropped += 1;
      continue;
    }
    inFlight += 1;
    sends.push(
      upload(open).then((ok) => {
        inFlight -= 1;
        if (!ok) openErrors += 1;
      }),
    );
  }
  await Promise.all(sends);
  return {
    jpegBytes: jpeg.length,
    closedLoop: {
      connections,
      requests: closed.length,
      requestsPerSecond: round(closed.length / closedElapsed, 1),
      p50: round(quantile(closed, 0.5)),
      p99: round(quantile(closed, 0.99)),
      errors: closedErrors,
    },
    openLoop: {
      offeredPerSecond: offeredRate,
      requests: open.length,
      completedPerSecond: round(open.length / ((performance.now() - openStarted) / 1000), 1),
      p50: round(quantile(open, 0.5)),
      p99: round(quantile(open, 0.99)),
      errors: openErrors,
      notSentConnectionsBusy: dropped,
    },
  };
}

// ---------- chart ----------
async function latencyChart(latencies: number[], file: string): Promise<void> {
  const w = 720;
  const h = 360;
  const bins = 30;
  const max = quantile(latencies, 0.995) || 1;
  const counts = new Array<number>(bins).fill(0);
  for (const l of latencies) counts[Math.min(bins - 1, Math.floor((l / max) * bins))]! += 1;
  const top = Math.max(...counts, 1);
  const bw = (w - 80) / bins;
  const bars = counts
    .map((c, i) => {
      const bh = (c / top) * (h - 80);
      return `<rect x="${60 + i * bw}" y="${h - 40 - bh}" width="${bw - 2}" height="${bh}" fill="#3b82f6"/>`;
    })
    .join('');
  const p50 = quantile(latencies, 0.5);
  const p95 = quantile(latencies, 0.95);
  const marker = (v: number, label: string, color: string) =>
    `<line x1="${60 + (v / max) * (w - 80)}" y1="30" x2="${60 + (v / max) * (w - 80)}" y2="${h - 40}" stroke="${color}" stroke-dasharray="4"/><text x="${64 + (v / max) * (w - 80)}" y="44" font-size="12" fill="${color}">${label} ${Math.round(v)} ms</text>`;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect width="100%" height="100%" fill="white"/>
<text x="60" y="20" font-family="sans-serif" font-size="14">Upload → complete latency, ${latencies.length} photos (end-to-end run)</text>
${bars}${marker(p50, 'p50', '#16a34a')}${marker(p95, 'p95', '#dc2626')}
<line x1="60" y1="${h - 40}" x2="${w - 20}" y2="${h - 40}" stroke="black"/>
<text x="60" y="${h - 20}" font-size="12" font-family="sans-serif">0 ms</text>
<text x="${w - 90}" y="${h - 20}" font-size="12" font-family="sans-serif">${Math.round(max)} ms</text></svg>`;
  await sharp(Buffer.from(svg)).png().toFile(file);
}

// ---------- main ----------
const photos = benchPhotos();
const outDir = path.join(root, '.bench');
mkdirSync(outDir, { recursive: true });
const benchStarted = performance.now();

const skipped = { photosPerSecond: Number.NaN, singlePhotoMs: Number.NaN, medianMsPerStage: {}, processes: 0 };
process.stderr.write(`[bench] 1/6 in-process limit over ${photos.length} photos\n`);
const limit: LimitResult = SECTIONS.has('limit') ? await runLimit(photos) : skipped;

type Load = Awaited<ReturnType<typeof runLoad>>;
let e2e: Load | undefined;
let low: Load | undefined;
let storedE2e: Load | undefined;
let reads: Awaited<ReturnType<typeof readLatency>> | undefined;
let storedFailure: string | undefined;
const memory: Record<string, number> = {};
let stack: Stack;
const STORED = Number(opts.stored);
if (SECTIONS.has('e2e')) {
  process.stderr.write(`[bench] 2/6 end-to-end: ${N} photos at concurrency ${CONCURRENCY}\n`);
  stack = await startStack(1, true);
  e2e = await runLoad(stack, photos, N, CONCURRENCY);
  process.stderr.write(`[bench]     low load: ${opts.low} photos one at a time\n`);
  low = await runLoad(stack, photos, Number(opts.low), 1);
  if (STORED > 0) {
    process.stderr.write(`[bench]     seeding ${STORED} stored photos, then GET/list latency and end-to-end again\n`);
    const seeded = await seedStored(stack, STORED);
    reads = await readLatency(stack, seeded);
    // A store that cannot keep up at this size fails the run here; keep the figures measured so far.
    storedE2e = await runLoad(stack, photos, N, CONCURRENCY).catch((err: Error) => {
      storedFailure = err.message;
      process.stderr.write(`[bench]     end-to-end at ${STORED} stored failed: ${err.message}\n`);
      return undefined;
    });
  }
  for (const [name, pid] of Object.entries(runPids(stack.procs))) memory[name] = peakRssMb(pid);
  await stopAll(stack.procs);
  await dropStack(stack);
}

let upload: Awaited<ReturnType<typeof runUploads>> | undefined;
let cpuMsPerUpload: Record<string, number> = {};
if (SECTIONS.has('upload')) {
  process.stderr.write(`[bench] 3/6 upload path: ${opts.connections} connections for ${opts['upload-seconds']} s\n`);
  stack = await startStack(1, false);
  const uploadPids = { ...runPids(stack.procs), 'load generator (this process)': process.pid };
  const uploadCpuBefore = Object.fromEntries(Object.entries(uploadPids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  upload = await runUploads(
    stack,
    Number(opts['upload-seconds']),
    Number(opts.connections),
    Number(opts['upload-rate']),
  );
  const uploadsDone = upload.closedLoop.requests + upload.openLoop.requests;
  cpuMsPerUpload = Object.fromEntries(
    Object.entries(uploadPids).map(([k, pid]) => [
      k,
      round(((cpuSeconds(pid) - (uploadCpuBefore[k] ?? 0)) * 1000) / uploadsDone, 1),
    ]),
  );
  memory['gateway (upload run)'] = peakRssMb(stack.procs[0]?.child.pid);
  await stopAll(stack.procs);
  await dropStack(stack);
}

const scaling: Record<string, number> = {};
if (SECTIONS.has('scaling')) {
  process.stderr.write(`[bench] 5/6 scaling: ${opts['scaling-photos']} photos with 1 and 2 processes per stage\n`);
  for (const perStage of [1, 2]) {
    stack = await startStack(perStage, true);
    scaling[`${perStage} per stage`] = (
      await runLoad(stack, photos, Number(opts['scaling-photos']), CONCURRENCY)
    ).photosPerSecond;
    await stopAll(stack.procs);
    await dropStack(stack);
  }
}

let rounds: Awaited<ReturnType<typeof runRoundTrips>> | undefined;
if (SECTIONS.has('rounds')) {
  process.stderr.write(`[bench] 6/6 round trips per photo over ${opts['round-trip-photos']} photos\n`);
  stack = await startStack(1, true);
  rounds = await runRoundTrips(stack, photos, Number(opts['round-trip-photos']));
  await stopAll(stack.procs);
  await dropStack(stack);
}

const endToEnd = (load: Load | undefined, stored: number) =>
  load && {
    storedPhotos: stored,
    photos: N,
    concurrency: CONCURRENCY,
    photosPerSecond: load.photosPerSecond,
    ratioToLimit: round(load.photosPerSecond / limit.photosPerSecond, 2),
    p50: round(quantile(load.latencies, 0.5)),
    p95: round(quantile(load.latencies, 0.95)),
    p99: round(quantile(load.latencies, 0.99)),
    cpuMsOutsideInference: load.cpuMsOutsideInference,
  };
const result = {
  machine: { cores: os.availableParallelism(), cpu: os.cpus()[0]?.model, memoryGiB: round(os.totalmem() / 2 ** 30) },
  limit,
  endToEnd: endToEnd(e2e, 0) && {
    ...endToEnd(e2e, 0),
    lowLoadP50: low && round(quantile(low.latencies, 0.5)),
    lowLoadP95: low && round(quantile(low.latencies, 0.95)),
  },
  endToEndStored:
    endToEnd(storedE2e, STORED) ?? (storedFailure ? { storedPhotos: STORED, failed: storedFailure } : undefined),
  readsAtStored: reads,
  upload,
  peakRssMb: memory,
  cpuMsPerPhoto: e2e?.cpuMsPerPhoto,
  cpuMsPerPhotoStored: storedE2e?.cpuMsPerPhoto,
  cpuMsPerUpload,
  scalingPhotosPerSecond: scaling,
  roundTrips: rounds,
  uploadRetries,
  seconds: round((performance.now() - benchStarted) / 1000, 0),
};
writeFileSync(path.join(outDir, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
if (e2e) await latencyChart(e2e.latencies, path.join(outDir, 'latency.png'));

const rows: [string, string, string][] = [];
const row = (a: string, b: string, c = '') => rows.push([a, b, c]);
if (SECTIONS.has('limit')) {
  row(
    'limit (in-process, 1 process/core)',
    `${limit.photosPerSecond} photos/s`,
    `single photo ${limit.singlePhotoMs} ms`,
  );
  for (const st of STAGES) row(`  median ${st}`, `${limit.medianMsPerStage[st]} ms`);
}
if (storedFailure) row(`end-to-end at ${STORED} stored`, 'FAILED', storedFailure.slice(0, 120));
for (const e of [result.endToEnd, endToEnd(storedE2e, STORED)]) {
  if (!e) continue;
  const at = `, ${e.storedPhotos} stored`;
  row(`end-to-end throughput${at}`, `${e.photosPerSecond} photos/s`, `${e.ratioToLimit} x limit (target >= 0.75)`);
  row(`end-to-end latency p50/p95/p99${at}`, `${e.p50} / ${e.p95} / ${e.p99} ms`);
  row(`CPU outside inference${at}`, `${e.cpuMsOutsideInference} ms/photo`, 'target <= 60 ms');
}
if (result.endToEnd?.lowLoadP50 !== undefined)
  row(
    'low-load latency p50/p95',
    `${result.endToEnd.lowLoadP50} / ${result.endToEnd.lowLoadP95} ms`,
    `target p95 <= ${round(limit.singlePhotoMs + 250)} ms`,
  );
if (reads) {
  row(
    `GET /v1/livePhotos/:id at ${STORED} stored p50/p95`,
    `${reads.get.p50} / ${reads.get.p95} ms`,
    'target p95 <= 20 ms',
  );
  row('list by client (100/page) p50/p95', `${reads.list.p50} / ${reads.list.p95} ms`, 'target p95 <= 100 ms');
  row(`  heavy client (${STORED / 10} photos) page 1`, `${reads.heavyFirst.p50} / ${reads.heavyFirst.p95} ms`);
  row('  heavy client page 15', `${reads.heavyDeep.p50} / ${reads.heavyDeep.p95} ms`);
  row('  non-200 answers during reads', String(reads.errors), 'target 0');
}
if (upload) {
  row(
    `upload ${Math.round(upload.jpegBytes / 1024)} KB, closed loop, ${opts.connections} conns`,
    `${upload.closedLoop.requestsPerSecond} req/s`,
    `p50 ${upload.closedLoop.p50} ms, p99 ${upload.closedLoop.p99} ms, errors ${upload.closedLoop.errors} (target >= 150 req/s)`,
  );
  row(
    `upload, open loop at ${upload.openLoop.offeredPerSecond} req/s`,
    `${upload.openLoop.completedPerSecond} req/s done`,
    `p50 ${upload.openLoop.p50} ms, p99 ${upload.openLoop.p99} ms, errors ${upload.openLoop.errors}, not sent ${upload.openLoop.notSentConnectionsBusy} (target p99 <= 150 ms)`,
  );
}
for (const [label, table] of [
  ['CPU per photo', result.cpuMsPerPhoto],
  [`CPU per photo at ${STORED} stored`, result.cpuMsPerPhotoStored],
  ['CPU per upload', cpuMsPerUpload],
] as const)
  for (const [k, v] of Object.entries(table ?? {})) row(`${label} ${k}`, `${v} ms`);
for (const [k, v] of Object.entries(memory))
  row(`peak RSS ${k}`, `${v} MB`, k.startsWith('mongo') ? 'target <= 512 MB' : '');
for (const [k, v] of Object.entries(scaling)) row(`scaling ${k}`, `${v} photos/s`);
if (uploadRetries > 0) row('uploads answered 503 and retried', String(uploadRetries), 'target 0');
if (rounds) {
  row('store calls per photo (upload → webhook)', String(rounds.storePerPhoto), JSON.stringify(rounds.storeByCommand));
  row('Redis calls per photo', String(rounds.redisPerPhoto), JSON.stringify(rounds.redisByCommand));
  row('S3 calls per photo', String(rounds.s3PerPhoto));
}
const width = Math.max(...rows.map((r) => r[0].length));
process.stdout.write(`\nselfie-inspect benchmark — ${result.machine.cores} cores, ${result.machine.cpu}\n`);
for (const [a, b, c] of rows) process.stdout.write(`${a.padEnd(width)}  ${b.padEnd(24)}  ${c}\n`);
process.stdout.write(`\nwritten: .bench/latest.json, .bench/latency.png (${result.seconds} s)\n`);
