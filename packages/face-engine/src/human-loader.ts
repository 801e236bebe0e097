/**
 * Loads @vladmandic/human from the files inside its npm package, with no network access.
 *
 * - The package's `exports` map lists subpaths without a leading "./", so `require('@vladmandic/human/dist/…')`
 *   throws ERR_PACKAGE_PATH_NOT_EXPORTED: we resolve the package folder from its package.json and compile the
 *   bundle by path instead.
 * - Under pnpm the bundle's own folder cannot see @tensorflow/*, so the module's lookup paths are extended with
 *   this package's node_modules (where tfjs-core / tfjs-converter / tfjs-backend-wasm are direct dependencies).
 * - The bundle fetches models with the global `fetch`, which in Node does not do `file://`: installLocalFetch()
 *   wraps the global fetch so that `file://` URLs are served from disk and everything else is passed through.
 */

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire, Module } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** Root folder of @selfie/face-engine (one level above src/). */
export const packageRoot = join(here, '..');
const localRequire = createRequire(join(packageRoot, 'package.json'));

/** Folder of an installed package, found through its package.json (works whatever its `exports` say). */
export function resolvePackageDir(name: string): string {
  try {
    return dirname(localRequire.resolve(`${name}/package.json`));
  } catch {
    // package.json not exported: resolve the main entry and walk up to the folder holding package.json
    const main = localRequire.resolve(name);
    let dir = dirname(main);
    for (let i = 0; i < 6; i++) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
        if (pkg.name === name) return dir;
      } catch {
        /* keep walking */
      }
      dir = dirname(dir);
    }
    throw new Error(`cannot locate package folder of ${name}`);
  }
}

export function packageVersion(name: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join(resolvePackageDir(name), 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

type ModuleInternals = {
  new (
    id: string,
    parent?: unknown,
  ): {
    filename: string;
    paths: string[];
    exports: unknown;
    loaded: boolean;
    _compile(code: string, filename: string): void;
  };
  _nodeModulePaths(dir: string): string[];
};

/** Compiles a CommonJS file by path, letting its require() also see this package's dependencies. */
export function loadCommonJsByPath(file: string): unknown {
  const M = Module as unknown as ModuleInternals;
  const mod = new M(file);
  mod.filename = file;
  mod.paths = [...M._nodeModulePaths(packageRoot), ...M._nodeModulePaths(dirname(file))];
  mod._compile(readFileSync(file, 'utf8'), file);
  mod.loaded = true;
  return mod.exports;
}

let fetchInstalled = false;

/** Wraps globalThis.fetch so that file:// URLs are read from disk (others go to the original fetch). */
export function installLocalFetch(): void {
  if (fetchInstalled) return;
  const original = globalThis.fetch;
  const localFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (url.startsWith('file://')) {
      try {
        const bytes = await readFile(fileURLToPath(url));
        const type = url.endsWith('.json') ? 'application/json' : 'application/octet-stream';
        return new Response(bytes, { status: 200, headers: { 'content-type': type } });
      } catch {
        return new Response(null, { status: 404, statusText: `not found: ${url}` });
      }
    }
    if (!original) throw new Error(`fetch is not available for ${url}`);
    return original(input, init);
  };
  globalThis.fetch = localFetch as typeof fetch;
  fetchInstalled = true;
}
