import { runService } from '@selfie/runtime';
import { start } from './index.js';

await runService('all-in-one', start);
