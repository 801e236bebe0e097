import { type Logger, pino } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout; one child per service so every line says where it came from. */
export function createLogger(options: { service: string; level?: string }): Logger {
  return pino({
    level: options.level ?? 'info',
    base: { service: options.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', '*.secret', 'secret'],
      censor: '[redacted]',
    },
  });
}
