import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const read = (file: string) => readFileSync(new URL(file, import.meta.url), 'utf8');
const envVariables = (text: string) => [...new Set([...text.matchAll(/\$\{env:([A-Z_]+)(?::-[^}]*)?\}/g)].map((m) => m[1]!))].sort();

describe('the collector configs', () => {
  it('health.yaml only adds the health_check extension and turns it on', () => {
    const health = parseYaml(read('./health.yaml')) as Record<string, any>;
    expect(Object.keys(health).sort()).toEqual(['extensions', 'service']);
    expect(Object.keys(health.extensions)).toEqual(['health_check']);
    expect(health.service).toEqual({ extensions: ['health_check'] });
    expect((parseYaml(read('./otelcol.yaml')) as Record<string, any>).service.extensions).toBeUndefined();
  });

  it('every environment variable the configs read has a default and is documented', () => {
    const texts = [read('./otelcol.yaml'), read('./health.yaml')].join('\n');
    const withoutDefault = [...texts.matchAll(/\$\{env:([A-Z_]+)\}/g)].map((m) => m[1]);
    expect(withoutDefault).toEqual([]);
    const readme = read('./README.md');
    for (const name of envVariables(texts)) expect(readme, name).toContain(`\`${name}\``);
  });
});
