import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './config.ts';
import { ConfigError } from './errors.ts';

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'peregrine-cfg-')), 'peregrine.yaml');
  writeFileSync(path, text);
  return path;
}

describe('loadConfig', () => {
  it('fills defaults when nothing is given', () => {
    const config = loadConfig({ env: {} });
    expect(config.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(config.elasticsearch.findingsAlias).toBe('peregrine-findings');
    expect(config.features.windowMs).toBe(10_000);
    expect(config.metrics.host).toBe('127.0.0.1');
  });

  it('reads YAML and lets environment variables override it', () => {
    const config = loadConfig({
      file: file('kafka:\n  brokers: ["k1:9092"]\nfeatures:\n  windowMs: 5000\n'),
      env: { PEREGRINE__KAFKA__BROKERS: '[a:1, b:2]', PEREGRINE__FEATURES__ALLOWED_LATENESS_MS: '250' },
    });
    expect(config.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(config.features.windowMs).toBe(5000);
    expect(config.features.allowedLatenessMs).toBe(250);
  });

  it('names an unknown key', () => {
    expect(() => loadConfig({ file: file('kafka:\n  brokerz: ["x:1"]\n'), env: {} })).toThrow(/kafka\.brokerz: unknown key/);
  });

  it('names a key with the wrong type', () => {
    try {
      loadConfig({ file: file('features:\n  windowMs: soon\n'), env: {} });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).key).toBe('features.windowMs');
      expect((e as Error).message).toMatch(/features\.windowMs/);
    }
  });

  it('names a bad key that came from the environment', () => {
    expect(() => loadConfig({ env: { PEREGRINE__METRICS__PORT: '99999' } })).toThrow(/metrics\.port/);
    expect(() => loadConfig({ env: { PEREGRINE__KAFKA__BROKERS: '[nohostport]' } })).toThrow(/kafka\.brokers\.0/);
  });

  it('accepts the documented example file, which lists every default', () => {
    const example = loadConfig({ file: new URL('../peregrine.example.yaml', import.meta.url).pathname, env: {} });
    expect(example).toEqual(loadConfig({ env: {} }));
  });

  it('reports an unreadable file and invalid YAML clearly', () => {
    expect(() => loadConfig({ file: '/nonexistent/peregrine.yaml', env: {} })).toThrow(/cannot read config file/);
    expect(() => loadConfig({ file: file('kafka: [\n'), env: {} })).toThrow(/not valid YAML/);
  });
});
