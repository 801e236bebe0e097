// The demo page driven in Debian's Chromium against the whole stack (all-in-one): real gateway, models and pipeline.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createLogger } from '@selfie/logger';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../support/env.js';
import { ARTIFACTS, gatewayUrl, hasChromium, launchChromium, singleFaceFixture } from './support.js';

async function pickAndUpload(page: Page, file: string | { name: string; mimeType: string; buffer: Buffer }) {
  await page.getByTestId('file-input').setInputFiles(file);
  await expect.poll(() => page.getByTestId('upload-button').isEnabled()).toBe(true);
  await page.getByTestId('upload-button').click();
}

async function waitForEnd(page: Page, timeout: number): Promise<string> {
  const status = page.locator(
    '[data-testid="status"][data-status="complete"], [data-testid="status"][data-status="failed"], [data-testid="status"][data-status="error"]',
  );
  await status.waitFor({ timeout });
  return (await page.getByTestId('status').getAttribute('data-status')) ?? '';
}

const fixture = singleFaceFixture();
const LOCAL_KEY = `test_demo${randomBytes(8).toString('hex')}`;

describe.skipIf(!hasChromium || !fixture)('demo page on the whole stack (all-in-one)', () => {
  const config = testConfig({ DEMO_ENABLED: true, LOCAL_API_KEY: LOCAL_KEY });
  let stack: { stop(): Promise<void>; gateway: unknown } | undefined;
  let browser: Browser | undefined;
  let base: string;

  beforeAll(async () => {
    const { start } = await import('../../services/all-in-one/src/index.js');
    stack = await start(config, createLogger({ service: 'demo-test', level: config.LOG_LEVEL }));
    base = gatewayUrl(stack.gateway);
    const page = await fetch(`${base}/demo`);
    if (page.status !== 200)
      throw new Error(`GET /demo answered ${page.status}: the gateway must mount createDemoRouter()`);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('inspects a committed selfie and shows every verdict', async () => {
    const context = await (browser as Browser).newContext({ viewport: { width: 1100, height: 1000 } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${base}/demo?key=${LOCAL_KEY}`);
    await page.waitForSelector('body[data-ready="true"]');

    await pickAndUpload(page, fixture as string);
    const end = await waitForEnd(page, 120_000);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'demo.png'), fullPage: true });
    expect(end, (await page.getByTestId('error').textContent()) ?? '').toBe('complete');

    expect(await page.getByTestId('client-id').textContent()).toMatch(/^[0-9a-f]{24}$/);
    expect(await page.getByTestId('stage-verdict-facesAnalysis').textContent()).toBe('Clear');
    for (const field of ['facialObstructions', 'facialOrientation', 'livenessCheck', 'captureQuality']) {
      expect(await page.getByTestId(`stage-${field}`).getAttribute('data-verdict')).toMatch(
        /^(clear|attention|not_processed)$/,
      );
    }
    expect(await page.getByTestId('outcome').getAttribute('data-outcome')).toMatch(/^(clear|attention|not_processed)$/);
    expect(await page.getByTestId('outcome-text').textContent()).not.toBe('');
    await expect.poll(() => page.getByTestId('canvas').getAttribute('data-faces')).toBe('1');

    // A second upload reuses the remembered client and honours the unticked liveness box.
    const clientId = await page.getByTestId('client-id').textContent();
    await page.getByTestId('liveness').uncheck();
    await page.getByTestId('upload-button').click();
    await page.locator('[data-testid="status"][data-status="processing"]').waitFor({ timeout: 30_000 });
    expect(await waitForEnd(page, 120_000)).toBe('complete');
    expect(await page.getByTestId('client-id').textContent()).toBe(clientId);
    const list = await fetch(`${base}/v1/livePhotos?clientId=${clientId}`, { headers: { Authorization: LOCAL_KEY } });
    const photos = ((await list.json()) as { items: { performLivenessCheck: boolean; inspections: object }[] }).items;
    expect(photos.map((p) => p.performLivenessCheck)).toEqual([false, true]);
    expect(photos[0]?.inspections).not.toHaveProperty('livenessCheck');
    expect(pageErrors).toEqual([]);
    await context.close();
  }, 240_000);

  it('shows the API error when the key is wrong', async () => {
    const context = await (browser as Browser).newContext();
    const page = await context.newPage();
    await page.goto(`${base}/demo?key=test_wrongKey0123456789abcd`);
    await page.waitForSelector('body[data-ready="true"]');
    await pickAndUpload(page, fixture as string);
    expect(await waitForEnd(page, 30_000)).toBe('error');
    expect(await page.getByTestId('error').textContent()).toContain("The 'Authorization' header is invalid");
    await context.close();
  });
});
