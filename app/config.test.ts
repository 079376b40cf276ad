import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DETECTORS, STAGES } from './components.ts';
import { loadAppConfig } from './config.ts';

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'peregrine-app-cfg-')), 'peregrine.yaml');
  writeFileSync(path, text);
  return path;
}

describe('the application configuration', () => {
  it('has a section per stage and one per detector, under the component id', () => {
    const config = loadAppConfig({ env: {} }) as Record<string, unknown>;
    for (const stage of STAGES) expect(config[stage.id], stage.id).toBeTypeOf('object');
    const detectors = config.detectors as Record<string, unknown>;
    for (const detector of DETECTORS) expect(detectors[detector.id], detector.id).toEqual(detector.config.parse({}));
  });

  it('accepts the documented example file, and every key it lists has its default', () => {
    const example = loadAppConfig({ file: new URL('../peregrine.example.yaml', import.meta.url).pathname, env: {} });
    expect(example).toEqual(loadAppConfig({ env: {} }));
  });

  it('still reads the camelCase detector keys of the last release', () => {
    const config = loadAppConfig({
      file: file('detectors:\n  errorRatio:\n    threshold: 0.35\n  httpRequest:\n    groupId: old-requests\n    falsePositiveRate: 0.01\n'),
      env: {},
    });
    expect((config.detectors.error_ratio as { threshold: number }).threshold).toBe(0.35);
    expect((config.detectors.http_request as { falsePositiveRate: number }).falsePositiveRate).toBe(0.01);
    expect(config.detectors.requestsGroupId).toBe('old-requests');
  });

  it('names an unknown detector option with its full key', () => {
    expect(() => loadAppConfig({ file: file('detectors:\n  error_ratio:\n    treshold: 0.3\n'), env: {} })).toThrow(/detectors\.error_ratio\.treshold: unknown key/);
  });
});
