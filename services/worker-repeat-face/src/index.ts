import type { TConfig } from '@selfie/config';
import type { Logger } from '@selfie/logger';
import { type StageWorkerHandle, type StageWorkerOptions, startStageWorker } from '@selfie/pipeline';

/**
 * The repeat-face stage worker: consumes its own queue and loads only the face-embedding model. It embeds the aligned
 * face chip the faces stage hands over (no fetch, no decode), searches the account's stored embeddings of other
 * clients, and stores this photo's. Photos of accounts without repeat-face search never reach its queue.
 */
export function start(config: TConfig, logger: Logger, options: StageWorkerOptions = {}): Promise<StageWorkerHandle> {
  return startStageWorker('repeatFace', config, logger, options);
}
