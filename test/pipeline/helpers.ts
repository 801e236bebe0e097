import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const root = path.resolve(import.meta.dirname, '../..');

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface ReceivedRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A local webhook receiver; `respond` decides each answer (default 200). */
export interface Receiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  respond: (req: ReceivedRequest) => { status: number; headers?: Record<string, string> };
  close(): Promise<void>;
  /** Listens again on the same port after close(). */
  reopen(): Promise<void>;
}

export async function startReceiver(port = 0): Promise<Receiver> {
  const receiver: Receiver = {
    url: '',
    port: 0,
    requests: [],
    respond: () => ({ status: 200 }),
    close: async () => {},
    reopen: async () => {},
  };
  let server: http.Server;
  const listen = async (p: number) => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const received = { path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        receiver.requests.push(received);
        const answer = receiver.respond(received);
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end('{}');
      });
    });
    server.listen(p, '127.0.0.1');
    await once(server, 'listening');
    receiver.port = (server.address() as AddressInfo).port;
    receiver.url = `http://127.0.0.1:${receiver.port}/hook`;
  };
  await listen(port);
  receiver.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  receiver.reopen = () => listen(receiver.port);
  return receiver;
}

/** A free TCP port on loopback (bound then released). */
export async function freePort(): Promise<number> {
  const server = http.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const FIXTURE_DIRS = {
  single: /(^|[-_])single/i,
  multi: /(^|[-_])multi/i,
  noface: /no-?face/i,
  unmasked: /without_mask/i,
} as const;

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
}

/**
 * Fixture photos shipped in the repository (test/fixtures, never ../shared), by kind, smallest first; only
 * JPEG/PNG files at least `minBytes` large (the upload minimum).
 */
export function fixtures(kind: keyof typeof FIXTURE_DIRS, minBytes = 0): string[] {
  const base = path.join(root, 'test/fixtures');
  return walk(base)
    .filter((f) => /\.(jpe?g|png)$/i.test(f))
    .filter((f) =>
      path
        .relative(base, path.dirname(f))
        .split(path.sep)
        .some((d) => FIXTURE_DIRS[kind].test(d)),
    )
    .map((f) => ({ f, size: statSync(f).size }))
    .filter((x) => x.size >= minBytes)
    .sort((a, b) => a.size - b.size)
    .map((x) => x.f);
}

export function fixture(kind: keyof typeof FIXTURE_DIRS, index = 0, minBytes = 0): Buffer {
  const file = fixtures(kind, minBytes)[index];
  if (!file) throw new Error(`no '${kind}' fixture #${index} in test/fixtures`);
  return readFileSync(file);
}

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs a service's main.ts as its own process (tsx), with the test's configuration in its environment. */
export function spawnService(
  service: string,
  env: Record<string, string>,
  onLine?: (line: string) => void,
): ChildProcess & { output: string[] } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'services', service, 'src/main.ts')], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }) as ChildProcess & { output: string[] };
  child.output = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      child.output.push(line);
      onLine?.(line);
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  return child;
}

/** The environment that reproduces a TConfig in a child process. */
export function configEnv(config: Record<string, unknown>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) if (v !== undefined) env[k] = String(v);
  return env;
}

/** A minimal API client: the raw key in `Authorization`, JSON in and out, like ComplyCube's clients. */
export function apiClient(baseUrl: string, key: string) {
  return async function api<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = 30_000,
  ): Promise<{ status: number; body: T; ms: number }> {
    const started = Date.now();
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { Authorization: key, 'Content-Type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as T, ms: Date.now() - started };
  };
}

export type Api = ReturnType<typeof apiClient>;

export const TEST_API_KEY = 'test_PipelineEndToEndKey0123456789';

/** A client and (optionally) a webhook for the livePhoto events, through the API. */
export async function seedAccount(api: Api, webhookUrl?: string): Promise<{ clientId: string; secret?: string }> {
  const client = await api<{ id: string }>('POST', '/v1/clients', {
    type: 'person',
    email: 'jane@example.com',
    personDetails: { firstName: 'Jane', lastName: 'Doe' },
  });
  if (client.status !== 200) throw new Error(`client create answered ${client.status}`);
  if (!webhookUrl) return { clientId: client.body.id };
  const hook = await api<{ secret: string }>('POST', '/v1/webhooks', {
    url: webhookUrl,
    events: ['livePhoto.completed', 'livePhoto.failed'],
  });
  if (hook.status !== 200) throw new Error(`webhook create answered ${hook.status}: ${JSON.stringify(hook.body)}`);
  return { clientId: client.body.id, secret: hook.body.secret };
}

export async function upload(api: Api, clientId: string, bytes: Buffer, extra: Record<string, unknown> = {}) {
  return api<{ id: string; status: string }>('POST', '/v1/livePhotos', {
    clientId,
    data: bytes.toString('base64'),
    ...extra,
  });
}

export async function pollPhoto(api: Api, id: string, timeoutMs = 60_000) {
  return waitFor(
    `photo ${id} to end`,
    async () => {
      const res = await api<{ status: string; inspections: Record<string, unknown> }>('GET', `/v1/livePhotos/${id}`);
      return res.status === 200 && res.body.status !== 'processing' ? res.body : undefined;
    },
    timeoutMs,
    200,
  );
}
