import { once } from 'node:events';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { testConfig } from '../support/env.js';
import { configEnv, freePort, root, sleep, spawnService, tempDir } from './helpers.js';

// A worker whose models do not load must refuse to start: exit non-zero with a message naming the model, and never
// answer ready on /readyz (its metrics server only starts once the service did).
const models = path.join(root, 'packages/face-engine/models');

async function readyz(url: string): Promise<number | 'refused'> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 'refused';
  }
}

describe('start-up failure', { timeout: 90_000 }, () => {
  it('a worker with a truncated model exits non-zero, says which model, and is never ready', async () => {
    const folder = tempDir('selfie-broken-models-');
    try {
      // What the obstruction worker loads: the canonical face (intact) and the mask classifier (cut in half).
      mkdirSync(path.join(folder.dir, 'face-geometry'));
      copyFileSync(
        path.join(models, 'face-geometry/canonical-face.json'),
        path.join(folder.dir, 'face-geometry/canonical-face.json'),
      );
      mkdirSync(path.join(folder.dir, 'mask-classifier'));
      const mask = readFileSync(path.join(models, 'mask-classifier/mask_classifier.onnx'));
      writeFileSync(path.join(folder.dir, 'mask-classifier/mask_classifier.onnx'), mask.subarray(0, mask.length >> 1));

      const port = await freePort();
      const config = testConfig({ MODELS_DIR: folder.dir, METRICS_PORT: port });
      const child = spawnService('worker-obstruction', { ...configEnv(config), LOG_LEVEL: 'info' });
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      let done = false;
      void exited.then(() => {
        done = true;
      });

      // Probe readiness for as long as the process lives.
      const probes: (number | 'refused')[] = [];
      while (!done) {
        probes.push(await readyz(`http://127.0.0.1:${port}/readyz`));
        await sleep(100);
      }
      const [code] = await exited;
      const output = child.output.join('\n');

      expect(code, output).not.toBe(0);
      expect(code).not.toBeNull();
      expect(probes.length).toBeGreaterThan(0);
      expect(probes.filter((p) => p === 200)).toEqual([]);
      expect(output).toContain('worker-obstruction failed to start: model mask:');
      expect(output).toContain('is not a loadable ONNX model');
      expect(output).not.toContain('worker-obstruction started');
      // Nothing answers on the port once it is gone.
      expect(await readyz(`http://127.0.0.1:${port}/readyz`)).toBe('refused');
    } finally {
      folder.remove();
    }
  });
});
