import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { loadAppConfig } from '../../app/config.ts';
import { findingsMappedFields } from '../../schemas/elasticsearch/findings.ts';
import { registerKibanaCommands } from './cli.ts';
import { exportSavedObjects, parseSavedObjects, renderSavedObjects, SAVED_OBJECTS_FILE } from './export.ts';

const shipped = readFileSync(SAVED_OBJECTS_FILE, 'utf8');
const objects = parseSavedObjects(shipped);
const traceTemplate = (ndjson: string) => {
  const view = parseSavedObjects(ndjson).find((o) => o.type === 'index-pattern')!;
  return (JSON.parse(view.attributes.fieldFormatMap as string) as Record<string, { params: { urlTemplate?: string } }>)['trace.id']!.params.urlTemplate;
};

const mapped = findingsMappedFields();

describe('Kibana saved objects', () => {
  it('has a data view over the findings indices with the timestamp as time field', () => {
    const view = objects.find((o) => o.type === 'index-pattern')!;
    expect(view.attributes).toMatchObject({ title: 'peregrine-findings*', timeFieldName: '@timestamp' });
    expect(mapped.has('@timestamp')).toBe(true);
    const formats = JSON.parse(view.attributes.fieldFormatMap as string) as Record<string, { params: { urlTemplate?: string } }>;
    expect(formats['trace.id']!.params.urlTemplate).toBe('http://127.0.0.1:16686/trace/{{value}}');
    for (const field of Object.keys(formats)) expect(mapped.has(field), field).toBe(true);
  });

  it('shows only fields the findings template maps, and sorts by mapped fields', () => {
    const searches = objects.filter((o) => o.type === 'search');
    expect(searches.length).toBe(2);
    for (const s of searches) {
      for (const column of s.attributes.columns as string[]) expect(mapped.has(column), `${s.id}: ${column}`).toBe(true);
      for (const [field] of s.attributes.sort as Array<[string, string]>) expect(mapped.has(field), `${s.id} sort ${field}`).toBe(true);
      const source = JSON.parse((s.attributes.kibanaSavedObjectMeta as { searchSourceJSON: string }).searchSourceJSON) as { query: { query: string }; indexRefName: string };
      const queried = /^([\w.]+) :/.exec(source.query.query)?.[1];
      if (queried) expect(mapped.has(queried), `${s.id} query ${queried}`).toBe(true);
      expect(s.references.map((r) => r.name)).toContain(source.indexRefName);
    }
  });

  it('resolves every reference, and every dashboard panel to one', () => {
    const ids = new Set(objects.map((o) => `${o.type}:${o.id}`));
    for (const o of objects) for (const r of o.references) expect(ids.has(`${r.type}:${r.id}`), `${o.id} -> ${r.type}:${r.id}`).toBe(true);
    const dashboard = objects.find((o) => o.type === 'dashboard')!;
    const panels = JSON.parse(dashboard.attributes.panelsJSON as string) as Array<{ panelRefName: string }>;
    expect(panels.map((p) => p.panelRefName).sort()).toEqual(dashboard.references.map((r) => r.name).sort());
  });
});

describe('the trace link follows jaeger.uiUrl', () => {
  it('the shipped file is the export for the default configuration', () => {
    expect(exportSavedObjects(loadAppConfig({ env: {} }).jaeger.uiUrl)).toBe(shipped);
  });

  it('renders the configured Jaeger UI into the data view and changes nothing else', () => {
    const rendered = renderSavedObjects(shipped, 'https://jaeger.example.com/ui/');
    expect(traceTemplate(rendered)).toBe('https://jaeger.example.com/ui/trace/{{value}}');
    const rest = (ndjson: string) => parseSavedObjects(ndjson).map((o) => (o.type === 'index-pattern' ? { ...o, attributes: { ...o.attributes, fieldFormatMap: undefined } } : o));
    expect(rest(rendered)).toEqual(rest(shipped));
    expect(() => renderSavedObjects(shipped.split('\n').slice(1).join('\n'), 'https://x')).toThrow(/no data view peregrine-findings/);
  });

  it('`peregrine kibana export -c cfg -o file` writes it for the configuration (file and environment)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'peregrine-kibana-'));
    const previous = process.env.PEREGRINE__JAEGER__UI_URL;
    try {
      writeFileSync(join(dir, 'cfg.yaml'), 'jaeger:\n  uiUrl: https://traces.soc.example/jaeger\n');
      const run = async () => {
        const program = new Command('peregrine').exitOverride();
        registerKibanaCommands(program, loadAppConfig);
        await program.parseAsync(['kibana', 'export', '-c', join(dir, 'cfg.yaml'), '-o', join(dir, 'out.ndjson')], { from: 'user' });
        return readFileSync(join(dir, 'out.ndjson'), 'utf8');
      };
      expect(traceTemplate(await run())).toBe('https://traces.soc.example/jaeger/trace/{{value}}');
      process.env.PEREGRINE__JAEGER__UI_URL = 'https://override.example';
      expect(traceTemplate(await run())).toBe('https://override.example/trace/{{value}}');
    } finally {
      if (previous === undefined) delete process.env.PEREGRINE__JAEGER__UI_URL;
      else process.env.PEREGRINE__JAEGER__UI_URL = previous;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
