/**
 * Moved to testing/reference-decoders.ts (test-only code); this re-export stays until ebpf/agent/otlp-writer.test.ts
 * imports from there, then goes.
 */
export { referenceDecodeLogsRequest, referenceDecodeTraceRequest } from './testing/reference-decoders.ts';
