import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import { createDemoRouter } from '@selfie/demo';
import { createLogger } from '@selfie/logger';
import express from 'express';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../support/env.js';
import {
  ARTIFACTS,
  gatewayUrl,
  hasChromium,
  launchChromium,
  noisePng,
  serverUrl,
  singleFaceFixture,
} from './support.js';

const STUB_KEY = 'test_stubKey0123456789abcd';

interface StubPhoto {
  id: string;
  clientId: string;
  bytes: Buffer;
  contentType: string;
  polls: number;
}

/**
 * A stand-in for the API, enough for the page: it shows the page's own behaviour (key handling, client reuse,
 * polling, rendering of an `attention` result with reasons, box and landmarks) without loading any model.
 */
function stubApi() {
  const clients = new Set<string>();
  const photos = new Map<string, StubPhoto>();
  const uploads: { clientId: string; dataPrefix: string; performLivenessCheck: unknown }[] = [];
  let clientsCreated = 0;
  const hex = () => randomBytes(12).toString('hex');

  const v1 = express.Router();
  v1.use(express.json({ limit: '8mb' }));
  v1.use((req, res, next) => {
    if (req.get('authorization') !== STUB_KEY) {
      res.status(401).json({ type: 'unauthorized', message: "The 'Authorization' header is invalid" });
      return;
    }
    next();
  });
  v1.post('/clients', (req, res) => {
    expect(req.body).toMatchObject({ type: 'person', personDetails: { firstName: 'Demo', lastName: 'Person' } });
    const id = hex();
    clients.add(id);
    clientsCreated += 1;
    res.json({ id, type: 'person', entityName: 'Demo Person' });
  });
  v1.get('/clients/:id', (req, res) => {
    if (!clients.has(req.params.id)) {
      res.status(404).json({ type: 'resource_not_found', message: `Invalid client id '${req.params.id}'` });
      return;
    }
    res.json({ id: req.params.id });
  });
  v1.post('/livePhotos', (req, res) => {
    const { clientId, data, performLivenessCheck } = req.body as Record<string, unknown>;
    uploads.push({ clientId: String(clientId), dataPrefix: String(data).slice(0, 5), performLivenessCheck });
    if (!clients.has(String(clientId))) {
      res.status(404).json({ type: 'resource_not_found', message: `Invalid client id '${clientId}'` });
      return;
    }
    const bytes = Buffer.from(String(data), 'base64');
    const contentType = bytes[0] === 0x89 ? 'image/png' : 'image/jpeg';
    const photo: StubPhoto = { id: hex(), clientId: String(clientId), bytes, contentType, polls: 0 };
    photos.set(photo.id, photo);
    res.json({ id: photo.id, clientId, status: 'processing', contentType, size: bytes.length });
  });
  v1.get('/livePhotos/:id', (req, res) => {
    const photo = photos.get(req.params.id);
    if (!photo) {
      res.status(404).json({ type: 'resource_not_found', message: `Invalid live photo id '${req.params.id}'` });
      return;
    }
    photo.polls += 1;
    const faces = {
      result: 'clear',
      breakdown: {
        faceCount: 1,
        faces: [
          {
            box: { x: 0.3, y: 0.2, width: 0.4, height: 0.5 },
            confidence: 98,
            landmarks: { points: { leftEyeOuter: [0.42, 0.38], rightEyeOuter: [0.58, 0.38] } },
          },
        ],
      },
      reasons: [],
    };
    if (photo.polls < 3) {
      res.json({ id: photo.id, status: 'processing', inspections: { facesAnalysis: faces } });
      return;
    }
    res.json({
      id: photo.id,
      status: 'complete',
      inspections: {
        outcome: 'attention',
        facesAnalysis: faces,
        facialObstructions: {
          result: 'attention',
          breakdown: { obstructed: true, regions: { eyes: 'visible', nose: 'covered', mouth: 'covered' }, score: 91 },
          reasons: ['MASK_OR_COVERING'],
        },
        facialOrientation: {
          result: 'clear',
          breakdown: { yaw: 4, pitch: -3, roll: 1, faceInFrame: true, faceSize: 0.5 },
          reasons: [],
        },
        livenessCheck: { result: 'clear', breakdown: { livenessCheckScore: 97 }, reasons: [] },
      },
    });
  });
  v1.get('/livePhotos/:id/download', (req, res) => {
    const photo = photos.get(req.params.id);
    if (!photo || req.query.raw !== '1') {
      res.status(404).json({ type: 'resource_not_found', message: 'no' });
      return;
    }
    res.type(photo.contentType).send(photo.bytes);
  });

  const app = express();
  app.use(createDemoRouter());
  app.use('/v1', v1);
  return {
    app,
    uploads,
    get clientsCreated() {
      return clientsCreated;
    },
  };
}

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

/** Colour of one canvas pixel. */
function pixel(page: Page, xRatio: number, yRatio: number): Promise<[number, number, number]> {
  return page.evaluate(
    ([xr, yr]) => {
      const canvas = document.querySelector('[data-testid="canvas"]') as HTMLCanvasElement;
      const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
      const d = ctx.getImageData(Math.round(xr * canvas.width), Math.round(yr * canvas.height), 1, 1).data;
      return [d[0] ?? 0, d[1] ?? 0, d[2] ?? 0] as [number, number, number];
    },
    [xRatio, yRatio] as const,
  );
}

describe.skipIf(!hasChromium)('demo page (stub API)', () => {
  let browser: Browser;
  let server: Server;
  let base: string;
  const stub = stubApi();

  beforeAll(async () => {
    server = stub.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = serverUrl(server);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
  });

  it('uploads a picked photo, follows the status and explains each stage', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 1000 } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${base}/demo?key=${STUB_KEY}`);
    await page.waitForSelector('body[data-ready="true"]');

    expect(await page.getByTestId('api-key').inputValue()).toBe(STUB_KEY);
    expect(page.url()).not.toContain(STUB_KEY);

    await pickAndUpload(page, { name: 'noise.png', mimeType: 'image/png', buffer: noisePng(400, 300) });
    await page.locator('[data-testid="status"][data-status="processing"]').waitFor({ timeout: 10_000 });
    expect(await waitForEnd(page, 20_000)).toBe('complete');

    const verdict = (field: string) => page.getByTestId(`stage-verdict-${field}`).textContent();
    expect(await verdict('facesAnalysis')).toBe('Clear');
    expect(await verdict('facialObstructions')).toBe('Needs attention');
    expect(await verdict('facialOrientation')).toBe('Clear');
    expect(await verdict('livenessCheck')).toBe('Clear');
    expect(await page.getByTestId('stage-reasons-facialObstructions').textContent()).toContain(
      'Something covers the nose or mouth (a mask or scarf)',
    );
    expect(await page.getByTestId('stage-scores-livenessCheck').textContent()).toContain('97');
    expect(await page.getByTestId('outcome').getAttribute('data-outcome')).toBe('attention');
    expect(await page.getByTestId('outcome').textContent()).toBe('Needs attention');

    // The photo came back from the download route and carries the face box (green: faces clear) and landmarks.
    await expect.poll(() => page.getByTestId('canvas').getAttribute('data-faces')).toBe('1');
    const [r, g] = await pixel(page, 0.3, 0.45);
    expect(g).toBeGreaterThan(120);
    expect(g).toBeGreaterThan(r + 40);
    const [lr, lg, lb] = await pixel(page, 0.42, 0.38);
    expect(lb).toBeGreaterThan(lr + 60);
    expect(lb).toBeGreaterThan(lg);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'demo-stub.png'), fullPage: true });

    // A second upload reuses the remembered client and sends bare base64, with liveness as ticked.
    await page.getByTestId('liveness').uncheck();
    await page.getByTestId('upload-button').click();
    expect(await waitForEnd(page, 20_000)).toBe('complete');
    expect(stub.clientsCreated).toBe(1);
    expect(stub.uploads).toHaveLength(2);
    expect(stub.uploads[1]?.clientId).toBe(stub.uploads[0]?.clientId);
    expect(stub.uploads.map((u) => u.dataPrefix.startsWith('data:'))).toEqual([false, false]);
    expect(stub.uploads.map((u) => u.performLivenessCheck)).toEqual([true, false]);
    expect(pageErrors).toEqual([]);
    await context.close();
  });

  it('shows the API error when the key is wrong', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/demo?key=test_wrongKey0123456789abcd`);
    await pickAndUpload(page, { name: 'noise.png', mimeType: 'image/png', buffer: noisePng(300, 300) });
    expect(await waitForEnd(page, 10_000)).toBe('error');
    expect(await page.getByTestId('error').textContent()).toContain("The 'Authorization' header is invalid");
    await context.close();
  });
});

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
    for (const field of ['facialObstructions', 'facialOrientation', 'livenessCheck']) {
      expect(await page.getByTestId(`stage-${field}`).getAttribute('data-verdict')).toMatch(
        /^(clear|attention|not_processed)$/,
      );
    }
    expect(await page.getByTestId('outcome').getAttribute('data-outcome')).toMatch(/^(clear|attention|not_processed)$/);
    expect(await page.getByTestId('outcome-text').textContent()).not.toBe('');
    await expect.poll(() => page.getByTestId('canvas').getAttribute('data-faces')).toBe('1');
    expect(pageErrors).toEqual([]);
    await context.close();
  }, 150_000);
});
