import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { configSchema, loadConfig, moveDeprecatedKeys, type DeprecatedKey } from './config.ts';
import { ConfigError } from './errors.ts';

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'peregrine-cfg-')), 'peregrine.yaml');
  writeFileSync(path, text);
  return path;
}

/** A component section the way stages and detectors define theirs. */
const schema = configSchema({
  features: z.strictObject({ windowMs: z.number().int().min(1000).default(10_000), allowedLatenessMs: z.number().int().default(5_000) }),
  detectors: z.strictObject({ error_ratio: z.strictObject({ threshold: z.number().default(0.2) }).default({ threshold: 0.2 }) }),
});
const load = (options: Parameters<typeof loadConfig>[1], deprecated: DeprecatedKey[] = [], onDeprecated?: (k: DeprecatedKey) => void) =>
  loadConfig({ schema, deprecated, onDeprecated }, options);

describe('loadConfig', () => {
  it('fills defaults when nothing is given', () => {
    const config = load({ env: {} });
    expect(config.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(config.elasticsearch.findingsAlias).toBe('peregrine-findings');
    expect(config.features.windowMs).toBe(10_000);
    expect(config.metrics.host).toBe('127.0.0.1');
    expect(config.topics.spans).toBe('otlp_spans');
  });

  it('reads YAML and lets environment variables override it, matching lower_snake and camelCase keys', () => {
    const config = load({
      file: file('kafka:\n  brokers: ["k1:9092"]\nfeatures:\n  windowMs: 5000\n'),
      env: { PEREGRINE__KAFKA__BROKERS: '[a:1, b:2]', PEREGRINE__FEATURES__ALLOWED_LATENESS_MS: '250', PEREGRINE__DETECTORS__ERROR_RATIO__THRESHOLD: '0.5' },
    });
    expect(config.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(config.features.windowMs).toBe(5000);
    expect(config.features.allowedLatenessMs).toBe(250);
    expect(config.detectors.error_ratio.threshold).toBe(0.5);
  });

  it('names an unknown key', () => {
    expect(() => load({ file: file('kafka:\n  brokerz: ["x:1"]\n'), env: {} })).toThrow(/kafka\.brokerz: unknown key/);
    expect(() => load({ file: file('nosuchsection:\n  a: 1\n'), env: {} })).toThrow(/nosuchsection: unknown key/);
  });

  it('names a key with the wrong type', () => {
    try {
      load({ file: file('features:\n  windowMs: soon\n'), env: {} });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).key).toBe('features.windowMs');
      expect((e as Error).message).toMatch(/features\.windowMs/);
    }
  });

  it('names a bad key that came from the environment', () => {
    expect(() => load({ env: { PEREGRINE__METRICS__PORT: '99999' } })).toThrow(/metrics\.port/);
    expect(() => load({ env: { PEREGRINE__KAFKA__BROKERS: '[nohostport]' } })).toThrow(/kafka\.brokers\.0/);
  });

  it('reads a deprecated key into its new place, says so, and lets the new key win', () => {
    const told: string[] = [];
    const deprecated = [{ from: 'detectors.errorRatio', to: 'detectors.error_ratio' }];
    const config = load({ file: file('detectors:\n  errorRatio:\n    threshold: 0.4\n'), env: {} }, deprecated, (k) => told.push(`${k.from}→${k.to}`));
    expect(config.detectors.error_ratio.threshold).toBe(0.4);
    expect(told).toEqual(['detectors.errorRatio→detectors.error_ratio']);
    const both = load({ file: file('detectors:\n  errorRatio:\n    threshold: 0.4\n  error_ratio:\n    threshold: 0.3\n'), env: {} }, deprecated);
    expect(both.detectors.error_ratio.threshold).toBe(0.3);
  });

  it('moves a nested deprecated key out of its old parent', () => {
    const raw = { detectors: { httpRequest: { groupId: 'g', model: 'm' } } };
    moveDeprecatedKeys(raw, [{ from: 'detectors.httpRequest.groupId', to: 'detectors.requestsGroupId' }, { from: 'detectors.httpRequest', to: 'detectors.http_request' }]);
    expect(raw).toEqual({ detectors: { requestsGroupId: 'g', http_request: { model: 'm' } } });
  });

  it('reports an unreadable file and invalid YAML clearly', () => {
    expect(() => load({ file: '/nonexistent/peregrine.yaml', env: {} })).toThrow(/cannot read config file/);
    expect(() => load({ file: file('kafka: [\n'), env: {} })).toThrow(/not valid YAML/);
  });
});
