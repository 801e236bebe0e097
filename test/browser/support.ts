import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
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

/** Base URL of the gateway inside an all-in-one handle. */
export function gatewayUrl(gateway: unknown): string {
  return (gateway as { url: string }).url.replace(/\/+$/, '');
}
