import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { type AllInOneHandle, start as startAllInOne } from '@selfie/all-in-one';
import type { TConfig } from '@selfie/config';
import { STAGES, type TStage } from '@selfie/contracts';
import { type LivePhotoDoc, Types } from '@selfie/db';
import { createLogger, type Logger } from '@selfie/logger';
import { dropBuckets } from '@selfie/object-store';
import {
  addFacesJob,
  createInspectionEngine,
  createPipelineContext,
  type InspectionEngine,
  type PipelineContext,
  startFinalizer,
  startStageWorker,
  startWebhookDispatcher,
} from '@selfie/pipeline';
import { QUEUES, type QueueKey } from '@selfie/queue';
import type { ServiceHandle } from '@selfie/runtime';
import { testConfig } from '../support/env.js';
import {
  type Api,
  apiClient,
  type Receiver,
  root,
  seedAccount,
  sleep,
  startReceiver,
  TEST_API_KEY,
  tempDir,
  waitFor,
} from './helpers.js';

/** Drops a test file's database, every queue of its prefix and its bucket, then closes the context. */
export async function disposeTestContext(ctx: PipelineContext | undefined): Promise<void> {
  if (!ctx) return;
  await ctx.mongo.dropDatabase().catch(() => {});
  for (const key of Object.keys(QUEUES) as QueueKey[]) await ctx.queue(key).obliterate({ force: true });
  await dropTestBucket(ctx.config);
  await ctx.close();
}

/** Removes a test file's own bucket with what is left in it (the global teardown catches any this misses). */
export async function dropTestBucket(config: TConfig): Promise<void> {
  const { S3_ENDPOINT: endpoint, S3_REGION: region, S3_ACCESS_KEY: accessKey, S3_SECRET_KEY: secretKey } = config;
  await dropBuckets({ endpoint, region, accessKey, secretKey }, (name) => name === config.S3_BUCKET).catch(() => {});
}

/** The whole product in one process (all-in-one), a context on its services, a webhook receiver and a client. */
export interface TestStack {
  config: TConfig;
  app: AllInOneHandle;
  ctx: PipelineContext;
  api: Api;
  receiver: Receiver;
  clientId: string;
  /** The secret of the webhook pointed at the receiver. */
  secret: string;
  stop(): Promise<void>;
}

export async function startTestStack(service: string, overrides: Partial<TConfig>): Promise<TestStack> {
  const config = testConfig({ LOCAL_API_KEY: TEST_API_KEY, WEBHOOK_ALLOW_PRIVATE: true, ...overrides });
  const logger = createLogger({ service, level: config.LOG_LEVEL });
  const app = await startAllInOne(config, logger);
  const ctx = await createPipelineContext(config, logger);
  const api = apiClient(app.gateway.url, TEST_API_KEY);
  const receiver = await startReceiver();
  const seeded = await seedAccount(api, receiver.url);
  return {
    config,
    app,
    ctx,
    api,
    receiver,
    clientId: seeded.clientId,
    secret: seeded.secret as string,
    async stop() {
      await app.stop();
      await receiver.close();
      await disposeTestContext(ctx);
    },
  };
}

export interface PipelineHandle {
  engine: InspectionEngine;
  workers: Partial<Record<TStage, ServiceHandle>>;
  startStage(stage: TStage): Promise<void>;
  stopStage(stage: TStage): Promise<void>;
  stop(): Promise<void>;
}

/** Stage workers (sharing one engine, as in the all-in-one process), the finalizer and the dispatcher. */
export async function startPipeline(
  config: TConfig,
  logger: Logger,
  options: { stages?: readonly TStage[]; engine?: InspectionEngine } = {},
): Promise<PipelineHandle> {
  const engine = options.engine ?? (await createInspectionEngine(config, logger));
  const workers: Partial<Record<TStage, ServiceHandle>> = {};
  const others: ServiceHandle[] = [];
  const handle: PipelineHandle = {
    engine,
    workers,
    async startStage(stage) {
      workers[stage] ??= await startStageWorker(stage, config, logger, { engine });
    },
    async stopStage(stage) {
      await workers[stage]?.stop();
      delete workers[stage];
    },
    async stop() {
      await Promise.all(Object.values(workers).map((w) => w.stop()));
      await Promise.all(others.map((o) => o.stop()));
      if (!options.engine) await engine.dispose();
    },
  };
  for (const stage of options.stages ?? STAGES) await handle.startStage(stage);
  others.push(await startFinalizer(config, logger), await startWebhookDispatcher(config, logger));
  return handle;
}

/** A photo as the gateway would store it (bytes in S3, record in Mongo), optionally with its faces job. */
export async function seedPhoto(
  ctx: PipelineContext,
  bytes: Buffer,
  options: { performLivenessCheck?: boolean; enqueue?: boolean; accountId?: string } = {},
): Promise<LivePhotoDoc> {
  const photoId = new Types.ObjectId();
  const accountId = options.accountId ?? new Types.ObjectId().toHexString();
  const objectKey = `${accountId}/${photoId.toHexString()}`;
  await ctx.store.put(objectKey, bytes, 'image/jpeg');
  const doc = await ctx.photos.create({
    _id: photoId,
    accountId,
    clientId: new Types.ObjectId().toHexString(),
    objectKey,
    contentType: 'image/jpeg',
    size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    performLivenessCheck: options.performLivenessCheck ?? true,
  });
  if (options.enqueue !== false) {
    await addFacesJob(ctx, {
      photoId: photoId.toHexString(),
      accountId,
      objectKey,
      performLivenessCheck: doc.performLivenessCheck,
    });
  }
  return doc;
}

export async function waitForFinal(ctx: PipelineContext, photoId: string, timeoutMs = 60_000): Promise<LivePhotoDoc> {
  return waitFor(
    `photo ${photoId} to end`,
    async () => {
      const doc = await ctx.photos.findById(photoId);
      return doc && doc.status !== 'processing' ? doc : undefined;
    },
    timeoutMs,
    150,
  );
}

/** A private backing server for outage tests: never the shared ones, which other test files use. */
export interface PrivateServer {
  url: string;
  start(): Promise<void>;
  kill(): Promise<void>;
  cleanup(): Promise<void>;
}

/** Private servers still running; killed if the test process exits without its clean-up (e.g. a crash). */
const runningServers = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of runningServers) child.kill('SIGKILL');
});

function privateServer(
  name: string,
  port: number,
  url: string,
  command: () => { cmd: string; args: string[]; env?: Record<string, string> },
  remove: () => void,
): PrivateServer {
  let child: ChildProcess | undefined;
  const portOpen = async () => {
    const net = await import('node:net');
    return new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  };
  const server: PrivateServer = {
    url,
    async start() {
      const { cmd, args, env } = command();
      const started = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: 'ignore' });
      runningServers.add(started);
      started.once('exit', () => runningServers.delete(started));
      child = started;
      // Generous: a JVM (the store) starting on a loaded 2-core machine can take tens of seconds.
      await waitFor(`${name} on port ${port}`, portOpen, 90_000, 100);
    },
    async kill() {
      if (!child || child.exitCode !== null) return;
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      await waitFor(`${name} port ${port} closed`, async () => !(await portOpen()), 10_000, 50);
      await sleep(50);
    },
    async cleanup() {
      await server.kill();
      remove();
    },
  };
  return server;
}

export function privateRedis(port: number): PrivateServer {
  const data = tempDir('selfie-redis-');
  return privateServer(
    'redis',
    port,
    `redis://127.0.0.1:${port}`,
    () => ({
      cmd: 'redis-server',
      args: [
        '--bind',
        '127.0.0.1',
        '--port',
        String(port),
        '--dir',
        data.dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--maxmemory-policy',
        'noeviction',
      ],
    }),
    data.remove,
  );
}

export function privateStore(port: number): PrivateServer {
  const data = tempDir('selfie-store-');
  return privateServer(
    'mongo-store',
    port,
    `mongodb://127.0.0.1:${port}/outage`,
    () => ({
      cmd: `${root}/tools/mongo-store/run`,
      args: ['--listen', `127.0.0.1:${port}`, '--data', data.dir],
    }),
    data.remove,
  );
}

export function privateS3(port: number, accessKey: string, secretKey: string): PrivateServer {
  const data = tempDir('selfie-s3-');
  return privateServer(
    'versitygw',
    port,
    `http://127.0.0.1:${port}`,
    () => ({
      cmd: `${root}/.tools/bin/versitygw`,
      args: ['--port', `127.0.0.1:${port}`, 'posix', data.dir],
      env: { ROOT_ACCESS_KEY: accessKey, ROOT_SECRET_KEY: secretKey },
    }),
    data.remove,
  );
}
