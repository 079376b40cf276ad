/** Pixie http_events → normalized request events and OTLP spans. */
export { parsePixieRows, pixieRowToRequestEvent, pixieRowsToTraceRequest, validatePixieRow, REDACTED } from './http-events.ts';
export type { PixieHttpRow, PixieOptions } from './http-events.ts';
export { readPixieRowsFile } from './file.ts';
