import { withMetricsServer } from '@selfie/metrics';
import { runService } from '@selfie/runtime';
import { start } from './index.js';

await runService(
  'finalizer',
  withMetricsServer('finalizer', start, (h) => h.finalizeWorker.isRunning()),
);
