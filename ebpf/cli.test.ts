import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.ts';
import { otlpSecurity } from './cli.ts';

describe('peregrine sensor: export headers and CA', () => {
  const dir = mkdtempSync(join(tmpdir(), 'peregrine-sensor-cli-'));
  const pem = join(dir, 'ca.pem');
  writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');

  it('reads OTEL_EXPORTER_OTLP_HEADERS (URL-encoded values) and lets --otlp-header add and override', () => {
    const env = { OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20s3cret-token,x-tenant=blue' };
    expect(otlpSecurity([], undefined, env)).toEqual({ headers: { Authorization: 'Bearer s3cret-token', 'x-tenant': 'blue' } });
    expect(otlpSecurity(['x-tenant=green', 'x-extra = a=b'], undefined, env).headers).toEqual({
      Authorization: 'Bearer s3cret-token', 'x-tenant': 'green', 'x-extra': 'a=b',
    });
    expect(otlpSecurity([], undefined, {})).toEqual({ headers: {} });
  });

  it('refuses a header flag without a name, without repeating what may be a secret', () => {
    let error: unknown;
    try {
      otlpSecurity(['Bearer s3cret-token'], undefined, {});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('--otlp-header');
    expect((error as ConfigError).message).not.toContain('s3cret');
  });

  it('loads the CA from --otlp-ca or OTEL_EXPORTER_OTLP_CERTIFICATE, naming the key that is wrong', () => {
    expect(otlpSecurity([], pem, {}).ca).toContain('BEGIN CERTIFICATE');
    expect(otlpSecurity([], undefined, { OTEL_EXPORTER_OTLP_CERTIFICATE: pem }).ca).toContain('BEGIN CERTIFICATE');
    expect(() => otlpSecurity([], join(dir, 'missing.pem'), {})).toThrow(/--otlp-ca: cannot read/);
    const notPem = join(dir, 'not.pem');
    writeFileSync(notPem, 'hello');
    expect(() => otlpSecurity([], undefined, { OTEL_EXPORTER_OTLP_CERTIFICATE: notPem })).toThrow(/OTEL_EXPORTER_OTLP_CERTIFICATE: .* holds no PEM/);
  });
});
