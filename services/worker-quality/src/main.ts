import { withMetricsServer } from '@selfie/metrics';
import { runService } from '@selfie/runtime';
import { start } from './index.js';

// /metrics, /healthz and /readyz on METRICS_PORT; ready while the queue consumer runs (models loaded).
await runService(
  'worker-quality',
  withMetricsServer('worker-quality', start, (h) => h.worker.isRunning()),
);
