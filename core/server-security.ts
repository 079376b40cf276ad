/** What every network endpoint Peregrine serves shares: bearer-token checks and TLS key material. */
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.ts';

export interface TlsFiles {
  /** PEM file paths. */
  cert: string;
  key: string;
}

/** Constant-time check of `Authorization: Bearer <token>`. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const expected = Buffer.from(`Bearer ${token}`);
  const given = Buffer.from(header ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Reads the PEM files at start-up; a missing or unreadable one stops it naming the key (`configKey.cert`). */
export function readTlsFiles(tls: TlsFiles, configKey: string): { cert: Buffer; key: Buffer } {
  const read = (field: 'cert' | 'key'): Buffer => {
    try {
      return readFileSync(tls[field]);
    } catch (e) {
      throw new ConfigError(`${configKey}.${field}: cannot read ${tls[field]}: ${(e as Error).message}`, `${configKey}.${field}`);
    }
  };
  return { cert: read('cert'), key: read('key') };
}
