import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');

export interface BackingServices {
  redisUrl: string;
  mongoUri: string;
  s3Endpoint: string;
  s3AccessKey: string;
  s3SecretKey: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    backing: BackingServices;
  }
}

async function dockerAnswers(): Promise<boolean> {
  try {
    await run('docker', ['info'], { timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/** Containers for machines with a Docker engine; imported lazily so machines without one never load testcontainers. */
async function startContainers(): Promise<{ services: BackingServices; stop: () => Promise<void> }> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const redis = await new GenericContainer('redis:7.4-alpine').withExposedPorts(6379).start();
  const mongo = await new GenericContainer('mongo:8.0')
    .withExposedPorts(27017)
    .withWaitStrategy(Wait.forLogMessage(/Waiting for connections/))
    .start();
  const s3 = await new GenericContainer('versity/versitygw:v1.7.0')
    .withEnvironment({ ROOT_ACCESS_KEY: 'selfieadmin', ROOT_SECRET_KEY: 'selfieadmin-secret' })
    .withCommand(['--port', ':7070', 'posix', '/tmp'])
    .withExposedPorts(7070)
    .start();
  return {
    services: {
      redisUrl: `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`,
      mongoUri: `mongodb://${mongo.getHost()}:${mongo.getMappedPort(27017)}/selfie`,
      s3Endpoint: `http://${s3.getHost()}:${s3.getMappedPort(7070)}`,
      s3AccessKey: 'selfieadmin',
      s3SecretKey: 'selfieadmin-secret',
    },
    stop: async () => {
      await Promise.all([redis.stop(), mongo.stop(), s3.stop()]);
    },
  };
}

/** Native services through the same script the run command uses (left running: `scripts/backing.sh down` stops them). */
async function startNative(): Promise<BackingServices> {
  const script = path.join(root, 'scripts/backing.sh');
  const env = { ...process.env, SELFIE_BACKING: 'native' };
  await run('bash', [script, 'up'], { env, timeout: 30 * 60_000, maxBuffer: 16 * 1024 * 1024 });
  const { stdout } = await run('bash', [script, 'env'], { env });
  const vars = Object.fromEntries(
    [...stdout.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1] as string, m[2] as string]),
  );
  return {
    redisUrl: vars.REDIS_URL ?? '',
    mongoUri: vars.MONGODB_URI ?? '',
    s3Endpoint: vars.S3_ENDPOINT ?? '',
    s3AccessKey: vars.S3_ACCESS_KEY ?? '',
    s3SecretKey: vars.S3_SECRET_KEY ?? '',
  };
}

/**
 * Drops what test files left on shared services: their `t_*` databases, `t_*` Redis keys and `t-*` buckets (see
 * testConfig), so repeated runs on one machine do not pile data up.
 */
async function removeTestData(services: BackingServices): Promise<void> {
  const { connectMongo } = await import('@selfie/db');
  const { createRedisClient } = await import('@selfie/queue');
  const { dropBuckets } = await import('@selfie/object-store');
  await dropBuckets(
    {
      endpoint: services.s3Endpoint,
      region: 'us-east-1',
      accessKey: services.s3AccessKey,
      secretKey: services.s3SecretKey,
    },
    (name) => /^t-[0-9a-f]{8}$/.test(name),
  );
  const conn = await connectMongo(services.mongoUri);
  try {
    const { databases } = await conn.getClient().db().admin().listDatabases({ nameOnly: true });
    for (const { name } of databases) {
      if (name.startsWith('t_')) await conn.getClient().db(name).dropDatabase();
    }
  } finally {
    await conn.close();
  }
  const redis = createRedisClient(services.redisUrl, 'worker');
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 't_*', 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const env = process.env;
  if (env.REDIS_URL && env.MONGODB_URI && env.S3_ENDPOINT) {
    project.provide('backing', {
      redisUrl: env.REDIS_URL,
      mongoUri: env.MONGODB_URI,
      s3Endpoint: env.S3_ENDPOINT,
      s3AccessKey: env.S3_ACCESS_KEY ?? 'selfieadmin',
      s3SecretKey: env.S3_SECRET_KEY ?? 'selfieadmin-secret',
    });
    return undefined;
  }
  if (env.SELFIE_BACKING !== 'native' && (await dockerAnswers())) {
    const { services, stop } = await startContainers();
    project.provide('backing', services);
    return stop;
  }
  const native = await startNative();
  project.provide('backing', native);
  // KEEP_TEST_DATA=1 leaves it for a post-mortem.
  return process.env.KEEP_TEST_DATA ? undefined : () => removeTestData(native);
}
