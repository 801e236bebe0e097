// One process of the in-process limit: loads the engine once, runs the four inspections over the photos given on
// argv for `rounds` rounds, and prints one JSON line per photo ({ms per stage}) to stdout.
import { readFileSync } from 'node:fs';
import { createFaceEngine, inspectAll } from '@selfie/face-engine';

const [roundsArg, ...files] = process.argv.slice(2);
const rounds = Number(roundsArg ?? '1');
const photos = files.map((f) => readFileSync(f));
const engine = await createFaceEngine();
// Warm-up: the first run of each model allocates its buffers and picks kernels.
if (photos[0]) await inspectAll(engine, photos[0]);
process.stdout.write(`${JSON.stringify({ ready: true, backend: engine.info.backend })}\n`);

for (let r = 0; r < rounds; r++) {
  for (const bytes of photos) {
    const started = performance.now();
    const outcome = await inspectAll(engine, bytes);
    const total = performance.now() - started;
    process.stdout.write(`${JSON.stringify({ total, timings: outcome.timings })}\n`);
  }
}
await engine.dispose();
