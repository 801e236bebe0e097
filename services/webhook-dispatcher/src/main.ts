import { withMetricsServer } from '@selfie/metrics';
import { runService } from '@selfie/runtime';
import { start } from './index.js';

await runService('webhook-dispatcher', withMetricsServer('webhook-dispatcher', start));
