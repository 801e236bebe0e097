import { readFileSync } from 'node:fs';
import { QUALITY_HINTS } from '@selfie/contracts';
import { type Request, type Response, Router } from 'express';

export interface DemoRouterOptions {
  /** Where the page lives; the returned router is mounted at the app's root. Default `/demo`. */
  basePath?: string;
  /** Where the page sends API calls. Default `/v1`. */
  apiBase?: string;
}

const ASSETS = new URL('../public/', import.meta.url);

/** The page, its script and its style, read once: they never change while a process runs. */
function loadAssets(): { html: string; js: string; css: string } {
  const read = (name: string) => readFileSync(new URL(name, ASSETS), 'utf8');
  // The retake hints have one source, the contracts package.
  const js = read('app.js').replace('/*QUALITY_HINTS*/ {}', JSON.stringify(QUALITY_HINTS));
  return { html: read('index.html'), js, css: read('style.css') };
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/** Everything the page needs comes from this origin; the camera is allowed for this origin only. */
const PAGE_HEADERS: Record<string, string> = {
  'Content-Security-Policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob: data:",
    "media-src 'self' blob: mediastream:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'Permissions-Policy': 'camera=(self)',
  // The page URL may carry `?key=`: never send it on to anyone.
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-cache',
};

/**
 * The demo page: pick a photo or take a webcam snapshot, upload it with an API key, watch the inspection finish and
 * see each stage's verdict. Plain HTML, CSS and one JS module — no build step, no outside assets.
 * Mount at the app's root: `if (config.DEMO_ENABLED) app.use(createDemoRouter())`.
 */
export function createDemoRouter(options: DemoRouterOptions = {}): Router {
  const basePath = (options.basePath ?? '/demo').replace(/\/+$/, '');
  const apiBase = (options.apiBase ?? '/v1').replace(/\/+$/, '');
  const assets = loadAssets();
  const html = assets.html
    .replaceAll('{{BASE_PATH}}', escapeHtml(basePath))
    .replaceAll('{{API_BASE}}', escapeHtml(apiBase));

  const send = (res: Response, type: string, body: string) => {
    res.set(PAGE_HEADERS).type(type).send(body);
  };

  const router = Router();
  const page = (_req: Request, res: Response) => send(res, 'html', html);
  router.get(basePath, page);
  router.get(`${basePath}/`, page);
  router.get(`${basePath}/app.js`, (_req: Request, res: Response) => send(res, 'text/javascript', assets.js));
  router.get(`${basePath}/style.css`, (_req: Request, res: Response) => send(res, 'css', assets.css));
  return router;
}
