/** Validation of alert-feed messages against the published schema (schemas/findings.v1.schema.json), for tests. */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

export const FINDINGS_SCHEMA_FILE = new URL('../findings.v1.schema.json', import.meta.url);

/** Errors of one feed message (`instancePath message`), empty when it conforms. */
export function findingsFeedValidator(): (doc: unknown) => string[] {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(FINDINGS_SCHEMA_FILE, 'utf8')) as object);
  return (doc) => (validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`));
}
