import { loadConfigOrExit, type TConfig } from '@selfie/config';
import { createLogger, type Logger } from '@selfie/logger';
import { shutdownTracing } from '@selfie/tracing';

/** What every service's `start(config)` returns. */
export interface ServiceHandle {
  stop(): Promise<void>;
}

export type StartService = (config: TConfig, logger: Logger) => Promise<ServiceHandle>;

/**
 * The body of every `main.ts`: parse config (crash with a clear message on bad config), start the service,
 * stop it on SIGTERM/SIGINT within SHUTDOWN_TIMEOUT_MS, and exit non-zero if start-up fails.
 */
export async function runService(name: string, start: StartService): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger({ service: name, level: config.LOG_LEVEL });
  let handle: ServiceHandle;
  try {
    handle = await start(config, logger);
  } catch (err) {
    logger.fatal({ err }, `${name} failed to start`);
    // Also as one plain line, for whoever reads the container log without a JSON viewer.
    process.stderr.write(`${name} failed to start: ${(err as Error)?.message ?? String(err)}\n`);
    process.exit(1);
  }
  logger.info(`${name} started`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `${name} stopping`);
    const timer = setTimeout(() => {
      logger.error(`${name} did not stop within ${config.SHUTDOWN_TIMEOUT_MS} ms; exiting`);
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    handle
      .stop()
      // Spans of the last jobs go out before the process does (bounded; a no-op with tracing off).
      .then(() => shutdownTracing(Math.min(5000, config.SHUTDOWN_TIMEOUT_MS / 4)))
      .then(() => {
        logger.info(`${name} stopped`);
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, `${name} failed to stop cleanly`);
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
}
