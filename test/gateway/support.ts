import { readdirSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { TConfig } from '@selfie/config';
import { AccountRepository, type Connection, connectMongo, createRepositories, type Repositories } from '@selfie/db';
import { type GatewayHandle, startGateway } from '@selfie/gateway';
import { createLogger } from '@selfie/logger';
import { createObjectStore, dropBuckets, type ObjectStore } from '@selfie/object-store';
import { createQueue, createRedisClient, type JobPayload, type Queue } from '@selfie/queue';
import { testConfig } from '../support/env.js';

const root = path.resolve(import.meta.dirname, '../..');

/** A real single-face photo from the repo's fixtures (see test/fixtures/NOTICE.md). */
export function fixturePhoto(kind: 'jpeg' | 'png' = 'jpeg'): Buffer {
  const dir = path.join(root, 'test/fixtures/faces/A-single');
  const files = readdirSync(dir)
    .filter((f) => (kind === 'png' ? /\.png$/i.test(f) : /\.jpe?g$/i.test(f)))
    .map((f) => ({ f: path.join(dir, f), size: statSync(path.join(dir, f)).size }))
    // Within the default 34 KB - 4 MB bounds, smallest first: keeps tests quick.
    .filter((x) => x.size >= 34 * 1024 && x.size <= 1024 * 1024)
    .sort((a, b) => a.size - b.size);
  if (!files[0]) throw new Error(`no ${kind} face fixture in ${dir}`);
  return readFileSync(files[0].f);
}

export interface TestGateway {
  config: TConfig;
  handle: GatewayHandle;
  url: string;
  key: string;
  accountId: string;
  /** Direct access for assertions (own connection, not the gateway's). */
  conn: Connection;
  repos: Repositories;
  store: ObjectStore;
  redis: ReturnType<typeof createRedisClient>;
  faces: Queue<JobPayload<'faces'>>;
  webhooks: Queue<JobPayload<'webhooks'>>;
  newAccount(name?: string): Promise<{ key: string; accountId: string }>;
  close(): Promise<void>;
}

/**
 * A gateway on its own database, Redis prefix and bucket, plus direct adapters for assertions.
 * `gatewayOnly` changes the gateway's config alone (e.g. point it at a fault-injecting proxy).
 */
export async function startTestGateway(
  overrides: Partial<TConfig> = {},
  gatewayOnly: (config: TConfig) => Partial<TConfig> = () => ({}),
): Promise<TestGateway> {
  const config = testConfig({ RATE_LIMIT_PER_SECOND: 10_000, AUTH_CACHE_TTL_MS: 0, ...overrides });
  const logger = createLogger({ service: 'gateway-test', level: config.LOG_LEVEL });
  const handle = await startGateway({ ...config, ...gatewayOnly(config) }, logger);
  const conn = await connectMongo(config.MONGODB_URI);
  const repos = createRepositories(conn);
  const accounts = new AccountRepository(conn);
  const store = createObjectStore({
    endpoint: config.S3_ENDPOINT,
    region: config.S3_REGION,
    accessKey: config.S3_ACCESS_KEY,
    secretKey: config.S3_SECRET_KEY,
    bucket: config.S3_BUCKET,
  });
  const redis = createRedisClient(config.REDIS_URL, 'producer');
  const qctx = { connection: redis, prefix: config.REDIS_PREFIX };
  const faces = createQueue('faces', qctx);
  const webhooks = createQueue('webhooks', qctx);
  const newAccount = async (name = 'test') => {
    const { account, key } = await accounts.createWithKey({ name });
    return { key, accountId: account._id.toHexString() };
  };
  const main = await newAccount('main');
  return {
    config,
    handle,
    url: handle.url,
    key: main.key,
    accountId: main.accountId,
    conn,
    repos,
    store,
    redis,
    faces,
    webhooks,
    newAccount,
    async close() {
      await handle.stop();
      await faces.obliterate({ force: true }).catch(() => {});
      await webhooks.obliterate({ force: true }).catch(() => {});
      await Promise.allSettled([faces.close(), webhooks.close()]);
      redis.disconnect();
      for (const key of await store.list().catch(() => [] as string[])) await store.remove(key);
      const { S3_ENDPOINT: endpoint, S3_REGION: region, S3_ACCESS_KEY: accessKey, S3_SECRET_KEY: secretKey } = config;
      const own = (name: string) => name === config.S3_BUCKET;
      await dropBuckets({ endpoint, region, accessKey, secretKey }, own).catch(() => {});
      await conn.dropDatabase().catch(() => {});
      await conn.close();
    },
  };
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** A tiny HTTP client: JSON by default, raw `init.body` when given (form data, broken JSON, bytes). */
export function apiClient(baseUrl: string, defaultKey: string) {
  return async function api<T = any>(
    method: string,
    url: string,
    options: { json?: unknown; body?: BodyInit; key?: string | null; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    const key = options.key === undefined ? defaultKey : options.key;
    if (key !== null) headers.authorization ??= key;
    let body: BodyInit | undefined = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${baseUrl}${url}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {}
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  };
}

export const person = (over: Record<string, unknown> = {}) => ({
  type: 'person',
  email: 'jane@example.com',
  personDetails: { firstName: 'Jane', lastName: 'Doe' },
  ...over,
});

/** An incompressible PNG of about width*height*3 bytes (random pixels), for size-limit tests. */
export async function noisePng(width: number, height: number): Promise<Buffer> {
  const { randomBytes } = await import('node:crypto');
  const sharp = (await import('sharp')).default;
  return sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 1 })
    .toBuffer();
}

/**
 * A TCP proxy in front of a real backing service that can fail on demand: `refuse` drops every connection,
 * `blackhole` accepts and never answers, `failOn` cuts the link (then refuses) when a request contains a marker.
 */
export class FaultProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  mode: 'pass' | 'refuse' | 'blackhole' = 'pass';
  failOn: Buffer | undefined;
  /** What `failOn` does: cut every link (and refuse new ones), or silently hang that one connection. */
  failMode: 'cut' | 'hang' = 'cut';
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {
    this.server = net.createServer((client) => this.accept(client));
  }

  static async start(url: string): Promise<FaultProxy> {
    const u = new URL(url);
    const proxy = new FaultProxy({ host: u.hostname, port: Number(u.port) });
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.port = (proxy.server.address() as net.AddressInfo).port;
    return proxy;
  }

  /** `url` with its host and port replaced by the proxy's. */
  rewrite(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
  }

  private accept(client: net.Socket) {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => {});
    if (this.mode === 'refuse') {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.target.port, this.target.host);
    this.sockets.add(upstream);
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    let hung = false;
    client.on('data', (chunk: Buffer) => {
      if (this.mode === 'blackhole' || hung) return;
      if (this.failOn && chunk.includes(this.failOn)) {
        this.failOn = undefined;
        if (this.failMode === 'hang') hung = true;
        else this.cut('refuse');
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (this.mode !== 'blackhole') client.write(chunk);
    });
  }

  cut(mode: 'refuse' | 'blackhole') {
    this.mode = mode;
    if (mode === 'refuse') for (const s of this.sockets) s.destroy();
  }

  restore() {
    this.mode = 'pass';
    this.failOn = undefined;
    this.failMode = 'cut';
  }

  async close() {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
