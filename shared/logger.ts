import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Request bodies, prompts, secrets and tokens are never passed to the
 * logger; the redaction list is a second line of defence for headers that slip through.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'tollgate' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'authorization',
          'headers.authorization',
          'headers.cookie',
          'headers["x-tollgate-edge-secret"]',
          'apiKey',
          'secret',
          'password',
          'token',
          'accessToken',
          'refreshToken',
          'image',
        ],
        censor: '[redacted]',
      },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
