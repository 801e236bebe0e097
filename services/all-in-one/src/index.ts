import type { TConfig } from '@selfie/config';
import { STAGES } from '@selfie/contracts';
import { startGateway } from '@selfie/gateway';
import type { Logger } from '@selfie/logger';
import {
  createInspectionEngine,
  type InspectionEngine,
  startFinalizer,
  startStageWorker,
  startWebhookDispatcher,
} from '@selfie/pipeline';
import type { ServiceHandle } from '@selfie/runtime';

type GatewayHandle = Awaited<ReturnType<typeof startGateway>>;

export interface AllInOneHandle extends ServiceHandle {
  gateway: GatewayHandle;
  engine: InspectionEngine;
}

/**
 * Every service in one process, for local runs, demos and tests. The four stage workers share one face engine
 * (models loaded once; calls are serialised inside it). The pipeline starts before the gateway so that the first
 * upload is already being consumed, and the gateway stops first so that nothing new arrives while workers drain.
 */
export async function start(config: TConfig, logger: Logger): Promise<AllInOneHandle> {
  const engine = await createInspectionEngine(config, logger.child({ component: 'face-engine' }));
  const started: ServiceHandle[] = [];
  const stopAll = async () => {
    for (const handle of started.reverse()) {
      await handle.stop().catch((err: unknown) => logger.error({ err }, 'service failed to stop'));
    }
    started.length = 0;
    await engine.dispose();
  };
  try {
    for (const stage of STAGES) {
      started.push(await startStageWorker(stage, config, logger.child({ component: `worker-${stage}` }), { engine }));
    }
    started.push(await startFinalizer(config, logger.child({ component: 'finalizer' })));
    started.push(await startWebhookDispatcher(config, logger.child({ component: 'webhook-dispatcher' })));
    const gateway = await startGateway(config, logger.child({ component: 'gateway' }));
    started.push(gateway);
    return { gateway, engine, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
