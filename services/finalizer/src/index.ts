import type { TConfig } from '@selfie/config';
import type { Logger } from '@selfie/logger';
import { type FinalizerHandle, startFinalizer } from '@selfie/pipeline';

/** Finalizes photos once their stages have ended, and sweeps stuck work (a repeatable `sweeper` job). */
export function start(config: TConfig, logger: Logger): Promise<FinalizerHandle> {
  return startFinalizer(config, logger);
}
