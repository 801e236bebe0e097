/**
 * Upload benchmark (not a test): a ~100 KB JPEG posted as base64 JSON by N concurrent connections for D seconds,
 * against a gateway child process on the real backing services, with inspections only queued (no workers).
 *
 *   pnpm --filter @selfie/gateway bench:upload [--connections 200] [--duration 15] [--url http://... --key test_...]
 *
 * Without --url it starts `src/main.ts` on a fresh database, Redis prefix and bucket and cleans them up after.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '@selfie/config';
import { connectMongo, generateApiKey } from '@selfie/db';
import { createObjectStore } from '@selfie/object-store';
import { createQueue, createRedisClient } from '@selfie/queue';
import sharp from 'sharp';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '200' },
    duration: { type: 'string', default: '15' },
    url: { type: 'string' },
    key: { type: 'string' },
  },
});
const connections = Number(values.connections);
const durationMs = Number(values.duration) * 1000;

/** A photo-like JPEG of about 100 KB: smooth gradient plus mild noise. */
async function makeJpeg(target = 100 * 1024): Promise<Buffer> {
  const width = 640;
  const height = 480;
  const raw = Buffer.alloc(width * height * 3);
  const noise = randomBytes(raw.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      raw[i] = (x / 3 + (noise[i]! % 24)) & 255;
      raw[i + 1] = (y / 2 + (noise[i + 1]! % 24)) & 255;
      raw[i + 2] = ((x + y) / 5 + (noise[i + 2]! % 24)) & 255;
    }
  }
  let best: Buffer = Buffer.alloc(0);
  for (let quality = 40; quality <= 95; quality += 5) {
    best = await sharp(raw, { raw: { width, height, channels: 3 } })
      .jpeg({ quality })
      .toBuffer();
    if (best.length >= target) break;
  }
  return best;
}

async function waitReady(url: string, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error('gateway exited during start-up');
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('gateway not ready after 60 s');
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main() {
  const id = randomBytes(4).toString('hex');
  const base = loadConfig(process.env);
  const mongo = new URL(base.MONGODB_URI);
  mongo.pathname = `/bench_${id}`;
  const config = loadConfig(process.env, {
    MONGODB_URI: mongo.toString(),
    REDIS_PREFIX: `bench_${id}`,
    S3_BUCKET: `bench-${id}`,
  });
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  let url = values.url;
  let key = values.key;
  let child: ChildProcess | undefined;
  if (!url) {
    key = generateApiKey('test');
    url = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'main.ts')], {
      env: {
        ...process.env,
        MONGODB_URI: config.MONGODB_URI,
        REDIS_PREFIX: config.REDIS_PREFIX,
        S3_BUCKET: config.S3_BUCKET,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOCAL_API_KEY: key,
        RATE_LIMIT_PER_SECOND: '1000000',
        QUEUE_MAX_WAITING: '10000000',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  }
  if (!key) throw new Error('--key is required with --url');
  try {
    await waitReady(url, child);
    const headers = { authorization: key, 'content-type': 'application/json' };
    const clientRes = await fetch(`${url}/v1/clients`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        type: 'person',
        email: 'bench@example.com',
        personDetails: { firstName: 'B', lastName: 'B' },
      }),
    });
    if (!clientRes.ok) throw new Error(`client create failed: ${clientRes.status} ${await clientRes.text()}`);
    const clientId = ((await clientRes.json()) as { id: string }).id;
    const jpeg = await makeJpeg();
    const body = JSON.stringify({ clientId, data: jpeg.toString('base64') });
    console.log(
      `image ${jpeg.length} bytes (${body.length} bytes of JSON); ${connections} connections for ${durationMs / 1000} s`,
    );

    // Warm-up so JIT and connection pools are not measured.
    await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(`${url}/v1/livePhotos`, { method: 'POST', headers, body }).then((r) => r.text()),
      ),
    );

    const latencies: number[] = [];
    const statuses = new Map<number | string, number>();
    const started = performance.now();
    const deadline = started + durationMs;
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (performance.now() < deadline) {
          const t = performance.now();
          let status: number | string;
          try {
            const res = await fetch(`${url}/v1/livePhotos`, { method: 'POST', headers, body });
            await res.arrayBuffer();
            status = res.status;
          } catch (err) {
            status = (err as Error).name;
          }
          if (status === 200) latencies.push(performance.now() - t);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    console.log(
      JSON.stringify(
        {
          requests: total,
          ok: latencies.length,
          statuses: Object.fromEntries(statuses),
          seconds: Math.round(elapsed * 10) / 10,
          okPerSecond: Math.round((latencies.length / elapsed) * 10) / 10,
          latencyMs: {
            p50: Math.round(percentile(latencies, 50)),
            p90: Math.round(percentile(latencies, 90)),
            p99: Math.round(percentile(latencies, 99)),
            max: Math.round(latencies.at(-1) ?? Number.NaN),
          },
        },
        null,
        2,
      ),
    );
  } finally {
    if (child) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      // Remove what the run created: queue, records, objects, bucket contents.
      const redis = createRedisClient(config.REDIS_URL, 'producer');
      const faces = createQueue('faces', { connection: redis, prefix: config.REDIS_PREFIX });
      await faces.obliterate({ force: true }).catch(() => {});
      await faces.close();
      redis.disconnect();
      const conn = await connectMongo(config.MONGODB_URI);
      await conn.dropDatabase();
      await conn.close();
      const store = createObjectStore({
        endpoint: config.S3_ENDPOINT,
        region: config.S3_REGION,
        accessKey: config.S3_ACCESS_KEY,
        secretKey: config.S3_SECRET_KEY,
        bucket: config.S3_BUCKET,
      });
      const keys = await store.list().catch(() => [] as string[]);
      for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => store.remove(k)));
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
