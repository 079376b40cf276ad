/**
 * The `console:` configuration section (`peregrine console`). Jaeger's query and UI addresses come from the existing
 * `jaeger:` section, Elasticsearch and the findings topic from theirs.
 */
import { z } from 'zod';
import { ServerTls, type PlatformConfig } from '../core/config.ts';

export const CONSOLE_DEFAULT_PORT = 9470;

export const ConsoleConfig = z.strictObject({
  /** Bind address: loopback unless you put the console behind TLS and a token. */
  host: z.string().default('127.0.0.1'),
  /** 0 picks a free port. */
  port: z.number().int().min(0).max(65535).default(CONSOLE_DEFAULT_PORT),
  /**
   * When set, the pages ask for it once (a login form; the browser then holds an HttpOnly session cookie, never the
   * token) and the API wants the cookie or `Authorization: Bearer <token>` (PEREGRINE__CONSOLE__AUTH_TOKEN). Never logged.
   */
  authToken: z.string().min(16, 'use at least 16 characters').optional(),
  /** TLS for the console (PEM file paths); the session cookie is then `Secure`. */
  tls: ServerTls.optional(),
  /** Kibana's base URL: each finding links to it in Discover. */
  kibanaUrl: z.url().optional(),
  /** How long a login lasts. */
  sessionHours: z.number().positive().max(24 * 30).default(12),
  /** Live pages (Server-Sent Events streams) served at once; more get 503. */
  maxStreams: z.number().int().min(1).default(100),
});
export type ConsoleConfig = z.infer<typeof ConsoleConfig>;

/** The console's section of a loaded configuration (the application's schema has it; parsing it again changes nothing). */
export function consoleConfigOf(config: PlatformConfig): ConsoleConfig {
  return ConsoleConfig.parse((config as PlatformConfig & { console?: unknown }).console ?? {});
}
