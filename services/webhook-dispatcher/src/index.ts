import type { TConfig } from '@selfie/config';
import type { Logger } from '@selfie/logger';
import { startWebhookDispatcher } from '@selfie/pipeline';
import type { ServiceHandle } from '@selfie/runtime';

/** Delivers stored events to webhooks: signed POSTs, retries with ComplyCube's back-off, every attempt logged. */
export function start(config: TConfig, logger: Logger): Promise<ServiceHandle> {
  return startWebhookDispatcher(config, logger);
}
