import type { TConfig } from '@selfie/config';
import type { Logger } from '@selfie/logger';
import { type StageWorkerHandle, type StageWorkerOptions, startStageWorker } from '@selfie/pipeline';

/** The capture-quality stage worker: consumes its own queue. It loads no model: it measures the face region the
 * faces stage hands over. */
export function start(config: TConfig, logger: Logger, options: StageWorkerOptions = {}): Promise<StageWorkerHandle> {
  return startStageWorker('quality', config, logger, options);
}
