import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { type Browser, chromium } from 'playwright-core';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const ARTIFACTS = path.join(ROOT, 'test/.artifacts');

/** Debian's Chromium (installed by `scripts/dev test`); CHROMIUM_PATH overrides it. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM_PATH);

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true, timeout: 60_000 });
}

/** The committed clear single-face selfie the end-to-end tests upload (see test/fixtures/MANIFEST.tsv). */
const SELFIE = 'test/fixtures/faces/A-single/ageitgey__face_recognition__alex-lacamoire.png';

/** The selfie (DEMO_FIXTURE overrides it; any other A-single fixture stands in), or undefined when none is there. */
export function singleFaceFixture(): string | undefined {
  if (process.env.DEMO_FIXTURE) return path.resolve(ROOT, process.env.DEMO_FIXTURE);
  const pinned = path.join(ROOT, SELFIE);
  if (existsSync(pinned)) return pinned;
  const dir = path.join(ROOT, 'test/fixtures/faces/A-single');
  if (!existsSync(dir)) return undefined;
  const first = readdirSync(dir)
    .filter((f) => /\.(jpe?g|png)$/i.test(f))
    .sort()[0];
  return first ? path.join(dir, first) : undefined;
}

/** A noisy RGB PNG (incompressible, so above the service's 34 KB minimum) without any image library. */
export function noisePng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc32(body) >>> 0);
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const raw = Buffer.alloc((width * 3 + 1) * height);
  const noise = randomBytes(width * 3 * height);
  for (let y = 0; y < height; y++) {
    // Each row: filter byte 0 (none), then the row's RGB bytes.
    noise.copy(raw, y * (width * 3 + 1) + 1, y * width * 3, (y + 1) * width * 3);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Base URL of a listening server. */
export function serverUrl(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * Base URL of the gateway inside an all-in-one handle, whatever shape its handle takes (`url`, `port`, `server` or
 * `address()`).
 */
export function gatewayUrl(gateway: unknown): string {
  const g = gateway as { url?: unknown; port?: unknown; server?: unknown; address?: unknown };
  if (typeof g.url === 'string') return g.url.replace(/\/+$/, '');
  if (typeof g.port === 'number') return `http://127.0.0.1:${g.port}`;
  const server = (g.server ?? g) as Partial<Server>;
  if (typeof server.address === 'function') {
    const address = server.address();
    if (address && typeof address === 'object') return `http://127.0.0.1:${address.port}`;
  }
  throw new Error('cannot tell the gateway URL from the all-in-one handle');
}
