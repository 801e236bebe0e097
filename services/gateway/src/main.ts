import { runService } from '@selfie/runtime';
import { startGateway } from './index.js';

await runService('gateway', startGateway);
