import type { TConfig } from '@selfie/config';
import type { Logger } from '@selfie/logger';
import { type StageWorkerHandle, type StageWorkerOptions, startStageWorker } from '@selfie/pipeline';

/** The obstruction stage worker: consumes its own queue; refuses to start when the face models do not load. */
export function start(config: TConfig, logger: Logger, options: StageWorkerOptions = {}): Promise<StageWorkerHandle> {
  return startStageWorker('obstruction', config, logger, options);
}
