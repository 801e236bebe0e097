import { execFile } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { QUALITY_HINTS } from '@selfie/contracts';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoRouter } from './index.js';

describe('demo router', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const app = express();
    app.use(createDemoRouter());
    app.use((_req, res) => {
      res.status(404).json({ type: 'resource_not_found' });
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('serves the page with its controls, a strict CSP and no referrer', async () => {
    for (const path of ['/demo', '/demo/']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      const html = await res.text();
      for (const id of ['api-key', 'file-input', 'upload-button', 'status', 'outcome', 'canvas', 'stages']) {
        expect(html).toContain(`data-testid="${id}"`);
      }
      expect(html).toContain('src="/demo/app.js"');
      expect(html).toContain('content="/v1"');
      expect(html).not.toMatch(/https?:\/\//);
    }
  });

  it('serves the script and the style with their types', async () => {
    const js = await fetch(`${base}/demo/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('text/javascript');
    const source = await js.text();
    expect(source).toContain("MASK_OR_COVERING: 'Something covers the nose or mouth (a mask or scarf)'");
    // The retake hints come from @selfie/contracts, filled in as the script is served.
    expect(source).toContain(`const HINTS = ${JSON.stringify(QUALITY_HINTS)};`);
    expect(source).toContain('Move to a brighter place.');
    const css = await fetch(`${base}/demo/style.css`);
    expect(css.headers.get('content-type')).toContain('text/css');
    expect((await fetch(`${base}/demo/other.js`)).status).toBe(404);
  });

  it('ships a script Node can parse (no build step)', async () => {
    const file = fileURLToPath(new URL('../public/app.js', import.meta.url));
    await expect(promisify(execFile)(process.execPath, ['--check', file])).resolves.toBeDefined();
  });

  it('takes another base path and API base, escaped', async () => {
    const app = express();
    app.use(createDemoRouter({ basePath: '/try/', apiBase: '/api"x' }));
    const other = app.listen(0, '127.0.0.1');
    await new Promise((r) => other.once('listening', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(other.address() as AddressInfo).port}/try`);
      const html = await res.text();
      expect(html).toContain('src="/try/app.js"');
      expect(html).toContain('content="/api&quot;x"');
    } finally {
      await new Promise((r) => other.close(r));
    }
  });
});
