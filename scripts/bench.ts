// `pnpm bench` — cost per photo and time to result, measured in one run on this machine:
//   1. limit       the four inspections in-process (no queue, storage or database), one process per core
//   2. end-to-end  gateway + one process per stage + finalizer on Redis/FerretDB/versitygw, N photos at a fixed
//                  concurrency, then one photo at a time (low load)
//   3. upload      uploads of a ~100 KB JPEG over many connections with no stage worker running
//   4. memory      peak RSS (VmHWM) of every process of run 2
//   5. scaling     end-to-end throughput with 1 and 2 processes per stage
// Prints one table; writes .bench/latest.json and .bench/latency.png. Not a test: it asserts nothing.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
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
    /** How often the load generator polls a photo it waits for. */
    'poll-ms': { type: 'string', default: '250' },
    fixtures: { type: 'string', default: path.join(root, 'test/fixtures/faces/A-single') },
  },
});
const N = Number(opts.photos);
const CONCURRENCY = Number(opts.concurrency);
const STAGES = ['faces', 'obstruction', 'orientation', 'liveness'] as const;
/** inspectAll's timing keys, per stage. */
const TIMING_KEY = {
  faces: 'facesAnalysis',
  obstruction: 'facialObstructions',
  orientation: 'facialOrientation',
  liveness: 'livenessCheck',
} as const;

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
  if (process.env.REDIS_URL && process.env.MONGODB_URI && process.env.S3_ENDPOINT) return {};
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
        procs.push(startProc(`worker-${stage}#${copy + 1}`, `services/worker-${stage}/src/main.ts`, env));
    }
    procs.push(startProc('finalizer', 'services/finalizer/src/main.ts', env));
  }
  return { url, key, procs, env };
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

/** Uploads one photo and waits for it to finish; latency = upload start → record completion (server clock). */
async function onePhoto(stack: Stack, clientId: string, data: string): Promise<number> {
  const started = Date.now();
  const photo = await api(stack, 'POST', '/v1/livePhotos', { clientId, data });
  const uploadMs = Date.now() - started;
  for (;;) {
    // Polling is load on the database too (--poll-ms, 250 by default); latency comes from the record's own
    // timestamps, not from when the poll noticed.
    await sleep(Number(opts['poll-ms']));
    const now = await api(stack, 'GET', `/v1/livePhotos/${photo.id as string}`).catch((err: Error) => {
      process.stderr.write(`[bench] poll failed, retrying: ${err.message}\n`);
      return { status: 'processing' } as Record<string, unknown>;
    });
    if (now.status !== 'processing') {
      if (now.status !== 'complete') throw new Error(`photo ${photo.id as string} ended ${now.status as string}`);
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
  return { photosPerSecond: round(count / seconds, 2), latencies, cpuMsPerPhoto };
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

process.stderr.write(`[bench] 1/5 in-process limit over ${photos.length} photos\n`);
const limit = await runLimit(photos);

process.stderr.write(`[bench] 2/5 end-to-end: ${N} photos at concurrency ${CONCURRENCY}\n`);
let stack = await startStack(1, true);
const e2e = await runLoad(stack, photos, N, CONCURRENCY);
// Where the pipeline's cost goes.
const { cpuMsPerPhoto } = e2e;
process.stderr.write(`[bench]     low load: ${opts.low} photos one at a time\n`);
const low = await runLoad(stack, photos, Number(opts.low), 1);
const memory = Object.fromEntries(stack.procs.map((p) => [p.name, peakRssMb(p.child.pid)]));
await stopAll(stack.procs);

process.stderr.write(`[bench] 3/5 upload path: ${opts.connections} connections for ${opts['upload-seconds']} s\n`);
stack = await startStack(1, false);
const uploadPids = { ...runPids(stack.procs), 'load generator (this process)': process.pid };
const uploadCpuBefore = Object.fromEntries(Object.entries(uploadPids).map(([k, pid]) => [k, cpuSeconds(pid)]));
const upload = await runUploads(
  stack,
  Number(opts['upload-seconds']),
  Number(opts.connections),
  Number(opts['upload-rate']),
);
const uploadsDone = upload.closedLoop.requests + upload.openLoop.requests;
const cpuMsPerUpload = Object.fromEntries(
  Object.entries(uploadPids).map(([k, pid]) => [
    k,
    round(((cpuSeconds(pid) - (uploadCpuBefore[k] ?? 0)) * 1000) / uploadsDone, 1),
  ]),
);
memory['gateway (upload run)'] = peakRssMb(stack.procs[0]?.child.pid);
await stopAll(stack.procs);

process.stderr.write(`[bench] 5/5 scaling: ${opts['scaling-photos']} photos with 1 and 2 processes per stage\n`);
const scaling: Record<string, number> = {};
for (const perStage of [1, 2]) {
  stack = await startStack(perStage, true);
  scaling[`${perStage} per stage`] = (
    await runLoad(stack, photos, Number(opts['scaling-photos']), CONCURRENCY)
  ).photosPerSecond;
  await stopAll(stack.procs);
}

const result = {
  machine: { cores: os.availableParallelism(), cpu: os.cpus()[0]?.model, memoryGiB: round(os.totalmem() / 2 ** 30) },
  limit,
  endToEnd: {
    photos: N,
    concurrency: CONCURRENCY,
    photosPerSecond: e2e.photosPerSecond,
    ratioToLimit: round(e2e.photosPerSecond / limit.photosPerSecond, 2),
    p50: round(quantile(e2e.latencies, 0.5)),
    p95: round(quantile(e2e.latencies, 0.95)),
    p99: round(quantile(e2e.latencies, 0.99)),
    lowLoadP50: round(quantile(low.latencies, 0.5)),
    lowLoadP95: round(quantile(low.latencies, 0.95)),
  },
  upload,
  peakRssMb: memory,
  cpuMsPerPhoto,
  cpuMsPerUpload,
  scalingPhotosPerSecond: scaling,
  seconds: round((performance.now() - benchStarted) / 1000, 0),
};
writeFileSync(path.join(outDir, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
await latencyChart(e2e.latencies, path.join(outDir, 'latency.png'));

const rows: [string, string, string][] = [
  ['limit (in-process, 1 process/core)', `${limit.photosPerSecond} photos/s`, `single photo ${limit.singlePhotoMs} ms`],
  ...STAGES.map((s): [string, string, string] => [`  median ${s}`, `${limit.medianMsPerStage[s]} ms`, '']),
  [
    'end-to-end throughput',
    `${result.endToEnd.photosPerSecond} photos/s`,
    `${result.endToEnd.ratioToLimit} x limit (target >= 0.75)`,
  ],
  ['end-to-end latency p50/p95/p99', `${result.endToEnd.p50} / ${result.endToEnd.p95} / ${result.endToEnd.p99} ms`, ''],
  [
    'low-load latency p50/p95',
    `${result.endToEnd.lowLoadP50} / ${result.endToEnd.lowLoadP95} ms`,
    `target p95 <= ${round(limit.singlePhotoMs + 250)} ms`,
  ],
  [
    `upload ${Math.round(upload.jpegBytes / 1024)} KB, closed loop, ${opts.connections} conns`,
    `${upload.closedLoop.requestsPerSecond} req/s`,
    `p50 ${upload.closedLoop.p50} ms, p99 ${upload.closedLoop.p99} ms, errors ${upload.closedLoop.errors} (target >= 150 req/s)`,
  ],
  [
    `upload, open loop at ${upload.openLoop.offeredPerSecond} req/s`,
    `${upload.openLoop.completedPerSecond} req/s done`,
    `p50 ${upload.openLoop.p50} ms, p99 ${upload.openLoop.p99} ms, errors ${upload.openLoop.errors}, not sent ${upload.openLoop.notSentConnectionsBusy} (target p99 <= 150 ms)`,
  ],
  ...Object.entries(cpuMsPerPhoto).map(([k, v]): [string, string, string] => [`CPU per photo ${k}`, `${v} ms`, '']),
  ...Object.entries(cpuMsPerUpload).map(([k, v]): [string, string, string] => [`CPU per upload ${k}`, `${v} ms`, '']),
  ...Object.entries(memory).map(([k, v]): [string, string, string] => [`peak RSS ${k}`, `${v} MB`, '']),
  ...Object.entries(scaling).map(([k, v]): [string, string, string] => [`scaling ${k}`, `${v} photos/s`, '']),
];
const width = Math.max(...rows.map((r) => r[0].length));
process.stdout.write(`\nselfie-inspect benchmark — ${result.machine.cores} cores, ${result.machine.cpu}\n`);
for (const [a, b, c] of rows) process.stdout.write(`${a.padEnd(width)}  ${b.padEnd(24)}  ${c}\n`);
process.stdout.write(`\nwritten: .bench/latest.json, .bench/latency.png (${result.seconds} s)\n`);
