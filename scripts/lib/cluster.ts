// A native cluster runner: N gateways and N replicas of every stage worker, the finalizer and the webhook
// dispatcher, each its own process (`node --import tsx services/<service>/src/main.ts`, as `pnpm bench` starts them),
// on shared or private backing services. Every run has its own database, Redis key prefix and bucket, dropped by
// `drop()`. Any process can be SIGKILLed and restarted; `stop()` stops them all. Used by `pnpm cluster:check`,
// `pnpm bench:overload`, `pnpm chaos` and the tests in test/cluster.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, type WriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { STAGES } from '@selfie/contracts';
import { mongo } from '@selfie/db';
import { createObjectStore, type ObjectStore } from '@selfie/object-store';
import { closeQueues, createQueue, createRedisClient, QUEUES, type Queue, type QueueKey } from '@selfie/queue';

export const root = path.resolve(import.meta.dirname, '../..');

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Where the services find Redis, MongoDB (or the stand-in) and S3. */
export interface BackingEnv {
  REDIS_URL: string;
  MONGODB_URI: string;
  S3_ENDPOINT: string;
  S3_ACCESS_KEY: string;
  S3_SECRET_KEY: string;
}

/**
 * The shared backing services: the caller's environment when it names all three, otherwise the native ones of
 * `scripts/dev services` (started when they are not running; `services up` is idempotent).
 */
export function sharedBackingEnv(): BackingEnv {
  const { REDIS_URL, MONGODB_URI, S3_ENDPOINT } = process.env;
  if (REDIS_URL && MONGODB_URI && S3_ENDPOINT) {
    return {
      REDIS_URL,
      MONGODB_URI,
      S3_ENDPOINT,
      S3_ACCESS_KEY: process.env.S3_ACCESS_KEY ?? 'selfieadmin',
      S3_SECRET_KEY: process.env.S3_SECRET_KEY ?? 'selfieadmin-secret',
    };
  }
  const dev = path.join(root, 'scripts/dev');
  try {
    execFileSync('bash', [dev, 'services', 'status'], { stdio: 'ignore' });
  } catch {
    execFileSync('bash', [dev, 'services', 'up'], { stdio: 'inherit' });
  }
  const out = execFileSync('bash', [dev, 'services', 'env'], { encoding: 'utf8' });
  const vars = Object.fromEntries([...out.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
  return {
    REDIS_URL: vars.REDIS_URL ?? '',
    MONGODB_URI: vars.MONGODB_URI ?? '',
    S3_ENDPOINT: vars.S3_ENDPOINT ?? '',
    S3_ACCESS_KEY: vars.S3_ACCESS_KEY ?? 'selfieadmin',
    S3_SECRET_KEY: vars.S3_SECRET_KEY ?? 'selfieadmin-secret',
  };
}

/** A free TCP port on loopback (bound, then released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Peak resident memory (VmHWM) of a live process in MB, or NaN. */
export function peakRssMb(pid: number | undefined): number {
  return procStatusMb(pid, 'VmHWM');
}

/** Current resident memory (VmRSS) of a live process in MB, or NaN. */
export function rssMb(pid: number | undefined): number {
  return procStatusMb(pid, 'VmRSS');
}

function procStatusMb(pid: number | undefined, field: string): number {
  if (!pid) return Number.NaN;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1]);
    return Math.round(kb / 1024);
  } catch {
    return Number.NaN;
  }
}

export type ServiceKind = 'gateway' | 'stage' | 'finalizer' | 'dispatcher';

/** One service replica. Its ports stay the same across restarts. */
export interface ClusterProcess {
  /** `gateway#1`, `worker-faces#2`, `finalizer#1`, `webhook-dispatcher#2`. */
  name: string;
  /** Directory under services/. */
  service: string;
  kind: ServiceKind;
  /** The gateway's HTTP port, or the worker's METRICS_PORT (/healthz, /readyz, /metrics). */
  port: number;
  /** `http://127.0.0.1:<port>`. */
  url: string;
  child: ChildProcess | undefined;
  /** Times started (1 after start(), +1 per restart). */
  starts: number;
  /** SIGKILLs sent by kill(). */
  kills: number;
  /** Exits nobody asked for (a crash, or a start-up failure). */
  unexpectedExits: number;
  /** Highest VmHWM seen over every life of this replica, MB. */
  peakRssMb: number;
  /** Exits of a life that had answered /readyz (a crash while serving, unless we killed it). */
  crashes: number;
  /** Exits before /readyz ever answered (e.g. a backing service was down while it started). */
  startFailures: number;
  /** The current life has answered /readyz. */
  ready: boolean;
  /** Exit code or signal of its last life. */
  lastExit?: string;
}

export interface ClusterOptions {
  gateways?: number;
  /** Replicas of every stage worker, the finalizer and the webhook dispatcher. */
  replicas?: number;
  /** The stages to run a worker for; default every stage of @selfie/contracts' STAGES. */
  stages?: readonly string[];
  /** Default: sharedBackingEnv(). */
  backing?: BackingEnv;
  /** Extra configuration for every process (overrides the defaults below). */
  env?: Record<string, string>;
  /** Restart a process that exits without being asked to (like a Deployment would), after this many ms. */
  autoRestartMs?: number;
  /** How long a (re)started process may take to answer /readyz. */
  readyTimeoutMs?: number;
  /** Progress lines; default stderr. */
  log?: (line: string) => void;
  /** Keep every process's log after drop() (by default kept only when a process crashed while serving). */
  keepLogs?: boolean;
}

export type JobCounts = Record<string, number>;

export interface Cluster {
  id: string;
  /** The configuration every process gets (backing, database, prefix, bucket, knobs). */
  env: Record<string, string>;
  /** The API key of the run's account (LOCAL_API_KEY). */
  apiKey: string;
  gatewayUrls: string[];
  processes: ClusterProcess[];
  /** Each process's output, appended across restarts. */
  logDir: string;
  byName(name: string): ClusterProcess;
  start(): Promise<void>;
  /** Sends `signal` (SIGKILL by default) and waits for the exit. */
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a process that is not running and waits until it is ready. */
  restart(name: string): Promise<void>;
  /** Restarts every process that is not running (after a supervisor gave up, or at the end of a chaos run). */
  restartDead(): Promise<string[]>;
  waitReady(name: string, timeoutMs?: number): Promise<void>;
  isRunning(name: string): boolean;
  /** Job counts of every queue of the run's prefix; the sweeper's own scheduled runs are left out. */
  queueCounts(): Promise<Record<string, JobCounts>>;
  /** The run's database (one client, closed by stop()). */
  db(): Promise<mongo.Db>;
  /** The run's bucket. */
  store: ObjectStore;
  /** Prometheus text of one process's /metrics (workers: METRICS_PORT; the gateway: its own port). */
  metrics(name: string): Promise<string>;
  /** Sum of a counter over every running replica whose name starts with `prefix`, series filtered by labels. */
  metricSum(prefix: string, metric: string, labels?: Record<string, string>): Promise<Record<string, number>>;
  /** Peak RSS (MB) per process name, over every life. */
  peakRss(): Record<string, number>;
  /** Stops every process (SIGTERM, SIGKILL after 20 s). */
  stop(): Promise<void>;
  /** Drops the run's database, Redis keys and bucket. */
  drop(): Promise<void>;
}

/** Parses one counter's samples out of Prometheus text and sums those whose labels match. */
export function sumSamples(text: string, metric: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) continue;
    const m = /^[^{\s]+(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const have = Object.fromEntries(
      [...(m[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1] as string, x[2] as string]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[2]);
  }
  return sum;
}

/** The service directory of a stage's worker: `worker-<stage in kebab case>` (repeatFace → worker-repeat-face). */
export function stageService(stage: string): string {
  return `worker-${stage.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Every child any cluster of this process started: none outlives it, whatever way it ends. */
const allChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of allChildren) child.kill('SIGKILL');
});

export async function createCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const gateways = options.gateways ?? 2;
  const replicas = options.replicas ?? 2;
  const stages = options.stages ?? STAGES;
  const log = options.log ?? ((line: string) => process.stderr.write(`[cluster] ${line}\n`));
  const readyTimeoutMs = options.readyTimeoutMs ?? 180_000;
  for (const stage of stages) {
    if (!existsSync(path.join(root, 'services', stageService(stage), 'src/main.ts'))) {
      throw new Error(`stage '${stage}' has no service: services/${stageService(stage)}/src/main.ts is missing`);
    }
  }
  const backing = options.backing ?? sharedBackingEnv();
  const id = randomBytes(3).toString('hex');
  const mongoUrl = new URL(backing.MONGODB_URI);
  mongoUrl.pathname = `/cluster_${id}`;
  const apiKey = `test_cluster${randomBytes(12).toString('hex')}`;
  const env: Record<string, string> = {
    ...backing,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    MONGODB_URI: mongoUrl.toString(),
    REDIS_PREFIX: `cluster_${id}`,
    S3_BUCKET: `cluster-${id}`,
    LOCAL_API_KEY: apiKey,
    RATE_LIMIT_PER_SECOND: '1000000',
    UPLOAD_MIN_BYTES: '0',
    WEBHOOK_ALLOW_PRIVATE: 'true',
    // Processes of one run talk on loopback only.
    HOST: '127.0.0.1',
    METRICS_HOST: '127.0.0.1',
    ...options.env,
  };
  const logDir = path.join(os.tmpdir(), `selfie-cluster-${id}`);
  mkdirSync(logDir, { recursive: true });

  const processes: ClusterProcess[] = [];
  const add = async (service: string, kind: ServiceKind, copy: number) => {
    const port = await freePort();
    const short = kind === 'gateway' ? 'gateway' : service;
    processes.push({
      name: `${short}#${copy}`,
      service,
      kind,
      port,
      url: `http://127.0.0.1:${port}`,
      child: undefined,
      starts: 0,
      kills: 0,
      unexpectedExits: 0,
      crashes: 0,
      startFailures: 0,
      ready: false,
      peakRssMb: Number.NaN,
    });
  };
  for (let i = 1; i <= gateways; i++) await add('gateway', 'gateway', i);
  for (let i = 1; i <= replicas; i++) {
    for (const stage of stages) await add(stageService(stage), 'stage', i);
    await add('finalizer', 'finalizer', i);
    await add('webhook-dispatcher', 'dispatcher', i);
  }

  const logs = new Map<string, WriteStream>();
  /** Processes we are stopping or killing on purpose: their exit is not a crash. */
  const expectedExit = new Set<string>();
  let stopping = false;
  const restartTimers = new Set<NodeJS.Timeout>();

  const byName = (name: string): ClusterProcess => {
    const p = processes.find((x) => x.name === name);
    if (!p) throw new Error(`no process '${name}' in the cluster (${processes.map((x) => x.name).join(', ')})`);
    return p;
  };
  const running = (p: ClusterProcess) => !!p.child && p.child.exitCode === null && p.child.signalCode === null;

  const samplePeak = (p: ClusterProcess) => {
    const mb = peakRssMb(p.child?.pid);
    if (Number.isFinite(mb) && !(mb <= p.peakRssMb)) p.peakRssMb = mb;
  };
  const sampler = setInterval(() => {
    for (const p of processes) if (running(p)) samplePeak(p);
  }, 1000);
  sampler.unref();

  const spawnProcess = (p: ClusterProcess) => {
    const portVar =
      p.kind === 'gateway' ? { PORT: String(p.port), METRICS_PORT: '0' } : { METRICS_PORT: String(p.port) };
    // node --import tsx (not the tsx CLI, which forks): the pid we kill is the process doing the work.
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'services', p.service, 'src/main.ts')], {
      cwd: root,
      env: { ...process.env, ...env, ...portVar },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    allChildren.add(child);
    p.child = child;
    p.starts += 1;
    let out = logs.get(p.name);
    if (!out) {
      out = createWriteStream(path.join(logDir, `${p.name.replace('#', '-')}.log`), { flags: 'a' });
      logs.set(p.name, out);
    }
    out.write(`--- start ${p.starts} pid ${child.pid} at ${new Date().toISOString()}\n`);
    child.stdout?.pipe(out, { end: false });
    child.stderr?.pipe(out, { end: false });
    p.ready = false;
    // Watches this life until it answers /readyz (or ends), so an exit can be told apart: crash or failed start.
    void (async () => {
      while (p.child === child && child.exitCode === null && child.signalCode === null) {
        const ok = await fetch(`${p.url}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
          (r) => r.ok,
          () => false,
        );
        if (ok && p.child === child) {
          p.ready = true;
          return;
        }
        await sleep(200);
      }
    })();
    child.once('exit', (code, signal) => {
      allChildren.delete(child);
      p.lastExit = signal ?? String(code);
      const wasReady = p.ready;
      p.ready = false;
      out?.write(`--- exit ${p.lastExit} at ${new Date().toISOString()}\n`);
      if (expectedExit.delete(p.name) || stopping) return;
      p.unexpectedExits += 1;
      if (wasReady) p.crashes += 1;
      else p.startFailures += 1;
      log(`${p.name} exited by itself (${p.lastExit}); log: ${path.join(logDir, `${p.name.replace('#', '-')}.log`)}`);
      if (options.autoRestartMs !== undefined) {
        const timer = setTimeout(() => {
          restartTimers.delete(timer);
          if (!stopping && !running(p)) spawnProcess(p);
        }, options.autoRestartMs);
        restartTimers.add(timer);
      }
    });
  };

  const waitReady = async (name: string, timeoutMs = readyTimeoutMs) => {
    const p = byName(name);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!p.child) throw new Error(`${name} was never started`);
      if (p.ready) return;
      // A supervisor restarts a process that died; without one, a failed start (a backing service slow to answer
      // its first calls) is tried again a few times, then given up.
      if (!running(p) && options.autoRestartMs === undefined) {
        if (p.startFailures > 3) throw new Error(`${name} exited (${p.lastExit}) before it was ready; see ${logDir}`);
        await sleep(1000);
        if (!running(p)) spawnProcess(p);
      }
      await sleep(200);
    }
    throw new Error(`${name} not ready within ${timeoutMs} ms; see ${logDir}`);
  };

  const redis = createRedisClient(env.REDIS_URL as string, 'worker');
  const queueCtx = { connection: redis, prefix: env.REDIS_PREFIX as string };
  const queues = new Map<QueueKey, Queue>();
  const queueOf = (key: QueueKey): Queue => {
    let q = queues.get(key);
    if (!q) {
      q = createQueue(key, queueCtx) as unknown as Queue;
      q.on('error', () => {});
      queues.set(key, q);
    }
    return q;
  };
  let dbClient: mongo.MongoClient | undefined;
  const store = createObjectStore({
    endpoint: env.S3_ENDPOINT as string,
    region: env.S3_REGION ?? 'us-east-1',
    accessKey: env.S3_ACCESS_KEY as string,
    secretKey: env.S3_SECRET_KEY as string,
    bucket: env.S3_BUCKET as string,
  });

  const cluster: Cluster = {
    id,
    env,
    apiKey,
    gatewayUrls: processes.filter((p) => p.kind === 'gateway').map((p) => p.url),
    processes,
    logDir,
    byName,
    isRunning: (name) => running(byName(name)),

    async start() {
      const started = performance.now();
      // One gateway first: it creates the bucket, the indexes and the account; then everything else at once.
      const [first, ...rest] = processes;
      if (!first) return;
      spawnProcess(first);
      await waitReady(first.name);
      for (const p of rest) spawnProcess(p);
      await Promise.all(rest.map((p) => waitReady(p.name)));
      log(
        `${processes.length} processes ready in ${Math.round((performance.now() - started) / 1000)} s ` +
          `(run ${id}, logs in ${logDir})`,
      );
    },

    async kill(name, signal = 'SIGKILL') {
      const p = byName(name);
      const child = p.child;
      if (!child || !running(p)) return;
      samplePeak(p);
      expectedExit.add(name);
      if (signal === 'SIGKILL') p.kills += 1;
      const exited = once(child, 'exit');
      child.kill(signal);
      await exited;
    },

    async restart(name) {
      const p = byName(name);
      if (!running(p)) spawnProcess(p);
      await waitReady(name);
    },

    async restartDead() {
      const dead = processes.filter((p) => !running(p));
      for (const p of dead) spawnProcess(p);
      await Promise.all(dead.map((p) => waitReady(p.name)));
      return dead.map((p) => p.name);
    },

    waitReady,

    async queueCounts() {
      const counts: Record<string, JobCounts> = {};
      for (const key of Object.keys(QUEUES) as QueueKey[]) {
        const q = queueOf(key);
        const c = await q.getJobCounts(
          'waiting',
          'active',
          'delayed',
          'prioritized',
          'waiting-children',
          'paused',
          'failed',
          'completed',
        );
        if (key === 'sweeper') {
          // The repeatable sweep always has its next run delayed, and is now and then waiting or running: that is
          // a schedule, not work left behind. Only sweeps added by hand count.
          for (const state of ['delayed', 'waiting', 'active', 'prioritized'] as const) {
            if (!c[state]) continue;
            const jobs = await q.getJobs([state]);
            c[state] = jobs.filter((j) => j && !j.repeatJobKey && !String(j.id).startsWith('repeat:')).length;
          }
        }
        counts[QUEUES[key].name] = c;
      }
      return counts;
    },

    async db() {
      dbClient ??= await new mongo.MongoClient(env.MONGODB_URI as string, {
        serverSelectionTimeoutMS: 30_000,
      }).connect();
      return dbClient.db();
    },

    store,

    async metrics(name) {
      const p = byName(name);
      const res = await fetch(`${p.url}/metrics`, { signal: AbortSignal.timeout(5000) });
      return res.text();
    },

    async metricSum(prefix, metric, labels = {}) {
      const sums: Record<string, number> = {};
      for (const p of processes) {
        if (!p.name.startsWith(prefix) || !running(p)) continue;
        const text = await cluster.metrics(p.name).catch(() => '');
        sums[p.name] = sumSamples(text, metric, labels);
      }
      return sums;
    },

    peakRss() {
      for (const p of processes) if (running(p)) samplePeak(p);
      return Object.fromEntries(processes.map((p) => [p.name, p.peakRssMb]));
    },

    async stop() {
      stopping = true;
      for (const timer of restartTimers) clearTimeout(timer);
      for (const p of processes) if (running(p)) samplePeak(p);
      await Promise.all(
        processes.map(async (p) => {
          const child = p.child;
          if (!child || !running(p)) return;
          const exited = once(child, 'exit');
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
          await exited;
          clearTimeout(timer);
        }),
      );
      clearInterval(sampler);
      for (const out of logs.values()) out.end();
    },

    async drop() {
      const db = await cluster.db().catch(() => undefined);
      await db?.dropDatabase().catch((err: Error) => log(`could not drop database: ${err.message}`));
      await dbClient?.close().catch(() => {});
      dbClient = undefined;
      await closeQueues(queues.values());
      queues.clear();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${env.REDIS_PREFIX}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.unlink(...keys);
      } while (cursor !== '0');
      redis.disconnect();
      await removeBucket(env, store).catch((err: Error) => log(`could not remove bucket: ${err.message}`));
      // Logs are kept only when asked or when a process crashed while serving; otherwise nothing is left behind.
      if (options.keepLogs || processes.some((p) => p.crashes > 0)) log(`process logs kept in ${logDir}`);
      else rmSync(logDir, { recursive: true, force: true });
    },
  };
  return cluster;
}

/** Empties and removes the run's bucket (minio is @selfie/object-store's client; loaded from there). */
async function removeBucket(env: Record<string, string>, store: ObjectStore): Promise<void> {
  const keys = await store.list().catch(() => [] as string[]);
  for (const key of keys) await store.remove(key);
  const require = createRequire(path.join(root, 'packages/object-store/package.json'));
  const { Client } = require('minio') as {
    Client: new (
      o: Record<string, unknown>,
    ) => {
      bucketExists(b: string): Promise<boolean>;
      removeBucket(b: string): Promise<void>;
    };
  };
  const url = new URL(env.S3_ENDPOINT as string);
  const client = new Client({
    endPoint: url.hostname,
    port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
    useSSL: url.protocol === 'https:',
    accessKey: env.S3_ACCESS_KEY,
    secretKey: env.S3_SECRET_KEY,
    region: env.S3_REGION ?? 'us-east-1',
    pathStyle: true,
  });
  if (await client.bucketExists(env.S3_BUCKET as string)) await client.removeBucket(env.S3_BUCKET as string);
}

/** A private backing server on its own port and data directory (never the shared ones), that can be killed. */
export interface PrivateBackingServer {
  name: string;
  port: number;
  url: string;
  start(): Promise<void>;
  /** SIGKILL, then waits until the port is closed. */
  kill(): Promise<void>;
  /** Kills it and removes its data. */
  cleanup(): Promise<void>;
  pid(): number | undefined;
}

function privateBackingServer(
  name: string,
  port: number,
  url: string,
  command: (dir: string) => { cmd: string; args: string[]; env?: Record<string, string> },
): PrivateBackingServer {
  const dir = path.join(os.tmpdir(), `selfie-private-${name}-${port}-${randomBytes(3).toString('hex')}`);
  mkdirSync(dir, { recursive: true });
  let child: ChildProcess | undefined;
  const server: PrivateBackingServer = {
    name,
    port,
    url,
    pid: () => child?.pid,
    async start() {
      const { cmd, args, env } = command(dir);
      const started = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: 'ignore' });
      allChildren.add(started);
      started.once('exit', () => allChildren.delete(started));
      child = started;
      const deadline = Date.now() + 60_000;
      while (!(await portOpen(port))) {
        if (started.exitCode !== null) throw new Error(`${name} exited (${started.exitCode}) before opening ${port}`);
        if (Date.now() > deadline) throw new Error(`${name} did not open port ${port} within 60 s`);
        await sleep(100);
      }
    },
    async kill() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
      while (await portOpen(port)) await sleep(50);
    },
    async cleanup() {
      await server.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

export interface PrivateBacking {
  redis: PrivateBackingServer;
  store: PrivateBackingServer;
  s3: PrivateBackingServer;
  env: BackingEnv;
  cleanup(): Promise<void>;
}

/**
 * Redis, the MongoDB stand-in and versitygw on free ports with throwaway data directories, started with the same
 * flags as scripts/backing.sh (Redis with an append-only file and noeviction, as BullMQ needs).
 */
export async function startPrivateBacking(): Promise<PrivateBacking> {
  const accessKey = 'selfieadmin';
  const secretKey = 'selfieadmin-secret';
  const [redisPort, storePort, s3Port] = [await freePort(), await freePort(), await freePort()];
  const redis = privateBackingServer('redis', redisPort, `redis://127.0.0.1:${redisPort}`, (dir) => ({
    cmd: 'redis-server',
    args: [
      '--bind',
      '127.0.0.1',
      '--port',
      String(redisPort),
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--maxmemory-policy',
      'noeviction',
    ],
  }));
  const store = privateBackingServer('mongo-store', storePort, `mongodb://127.0.0.1:${storePort}/selfie`, (dir) => ({
    cmd: path.join(root, 'tools/mongo-store/run'),
    args: ['--listen', `127.0.0.1:${storePort}`, '--data', dir],
  }));
  const s3 = privateBackingServer('versitygw', s3Port, `http://127.0.0.1:${s3Port}`, (dir) => ({
    cmd: path.join(root, '.tools/bin/versitygw'),
    args: ['--port', `127.0.0.1:${s3Port}`, 'posix', dir],
    env: { ROOT_ACCESS_KEY: accessKey, ROOT_SECRET_KEY: secretKey },
  }));
  const servers = [redis, store, s3];
  try {
    await Promise.all(servers.map((s) => s.start()));
  } catch (err) {
    await Promise.all(servers.map((s) => s.cleanup()));
    throw err;
  }
  return {
    redis,
    store,
    s3,
    env: {
      REDIS_URL: redis.url,
      MONGODB_URI: store.url,
      S3_ENDPOINT: s3.url,
      S3_ACCESS_KEY: accessKey,
      S3_SECRET_KEY: secretKey,
    },
    async cleanup() {
      await Promise.all(servers.map((s) => s.cleanup()));
    },
  };
}
