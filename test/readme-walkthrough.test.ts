// Runs the README's curl walkthrough and its webhook receiver example against the whole stack, so neither rots.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createLogger } from '@selfie/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayUrl } from './browser/support.js';
import { testConfig } from './support/env.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
const KEY = `test_readme${randomBytes(10).toString('hex')}`;

/** The fenced code block between `<!-- name:start -->` and `<!-- name:end -->`. */
function block(name: string): string {
  const section = readme.split(`<!-- ${name}:start -->`)[1]?.split(`<!-- ${name}:end -->`)[0];
  const code = section?.match(/```\w*\n([\s\S]*?)```/)?.[1];
  if (!code) throw new Error(`README.md has no ${name} block`);
  return code;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('README walkthrough', () => {
  const config = testConfig({ LOCAL_API_KEY: KEY, WEBHOOK_ALLOW_PRIVATE: true });
  let stack: { stop(): Promise<void>; gateway: unknown } | undefined;
  let api: string;
  let receiver: ChildProcess | undefined;

  beforeAll(async () => {
    const { start } = await import('../services/all-in-one/src/index.js');
    stack = await start(config, createLogger({ service: 'readme-test', level: config.LOG_LEVEL }));
    api = `${gatewayUrl(stack.gateway)}/v1`;
  });
  afterAll(async () => {
    receiver?.kill();
    await stack?.stop();
  });

  it('creates a client, uploads, polls to complete and downloads the exact bytes with curl', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'walkthrough-'));
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', block('walkthrough')], {
      cwd: root,
      env: { ...process.env, API: api, KEY, TMPDIR: tmp },
      timeout: 90_000,
    });
    const photo = JSON.parse(stdout.trim().split('\n').at(-1) as string);
    expect(photo.status).toBe('complete');
    expect(Object.keys(photo.inspections)).toEqual(
      expect.arrayContaining(['outcome', 'facesAnalysis', 'facialObstructions', 'facialOrientation', 'livenessCheck']),
    );
    const uploaded = readFileSync(path.join(root, 'test/fixtures/faces/A-single/serengil__deepface__img61.jpg'));
    expect(readFileSync(path.join(tmp, 'selfie.jpg')).equals(uploaded)).toBe(true);
  });

  it('the receiver example verifies a real livePhoto.completed delivery', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'receiver-'));
    const file = path.join(dir, 'webhook-receiver.mjs');
    writeFileSync(file, block('receiver'));
    const headers = { Authorization: KEY, 'Content-Type': 'application/json' };
    const port = await freePort();
    const webhook = await (
      await fetch(`${api}/webhooks`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ url: `http://127.0.0.1:${port}/hook`, events: ['livePhoto.completed'] }),
      })
    ).json();
    expect(webhook.secret).toMatch(/^[A-Za-z0-9]{32}$/);

    let output = '';
    receiver = spawn(process.execPath, [file], {
      env: { ...process.env, WEBHOOK_SECRET: webhook.secret, PORT: String(port) },
    });
    receiver.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    await expect
      .poll(async () =>
        fetch(`http://127.0.0.1:${port}/`).then(
          () => true,
          () => false,
        ),
      )
      .toBe(true);

    const client = await (
      await fetch(`${api}/clients`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          type: 'person',
          email: 'r@example.com',
          personDetails: { firstName: 'R', lastName: 'E' },
        }),
      })
    ).json();
    const data = readFileSync(path.join(root, 'test/fixtures/faces/A-single/serengil__deepface__img61.jpg')).toString(
      'base64',
    );
    const photo = await (
      await fetch(`${api}/livePhotos`, { method: 'POST', headers, body: JSON.stringify({ clientId: client.id, data }) })
    ).json();
    await expect.poll(() => output, { timeout: 60_000, interval: 200 }).toContain(`verified livePhoto.completed`);
    expect(output).toContain(`for live photo ${photo.id}`);
  });
});
