import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs; human-readable when stderr is a terminal. Secrets are redacted by path
 * so a config object or request logged by mistake does not leak them.
 */
export function createLogger(options: { level?: string; name?: string; pretty?: boolean } = {}): Logger {
  const pretty = options.pretty ?? (process.stderr.isTTY && process.env.PEREGRINE_LOG_FORMAT !== 'json');
  return pino(
    {
      name: options.name ?? 'peregrine',
      level: options.level ?? process.env.PEREGRINE_LOG_LEVEL ?? 'info',
      redact: {
        paths: ['*.password', '*.token', '*.apiKey', '*.authorization', '*.headers.authorization', '*.sasl', 'password', 'token'],
        censor: '[redacted]',
      },
    },
    pretty
      ? pino.transport({ target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'HH:MM:ss' } })
      : pino.destination(2),
  );
}

let shared: Logger | undefined;
/** The process-wide logger; stages take a child of it. */
export function logger(): Logger {
  shared ??= createLogger();
  return shared;
}
