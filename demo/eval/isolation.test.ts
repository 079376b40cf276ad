import { describe, expect, it } from 'vitest';
import { loadAppConfig } from '../../app/config.ts';
import { belongsToRun, isolateConfig, runId } from './isolation.ts';

const httpModel = (c: { detectors: Record<string, unknown> }) => (c.detectors.http_request as { model: string }).model;

describe('run isolation', () => {
  const base = loadAppConfig({ env: {}, overrides: { 'detectors.requestsGroupId': 'requests-group', 'topics.partitions': 4 } });

  it('gives a run its own topics, every consumer group in the configuration, alias, and free ports', () => {
    const id = runId('stuffing-and-scan', 1_800_000_000_000);
    const c = isolateConfig(base, id);
    for (const [key, topic] of Object.entries(c.topics)) {
      if (key === 'partitions') expect(topic).toBe(4);
      else expect(belongsToRun(String(topic), id)).toBe(true);
    }
    expect(c.features.groupId).toBe(`peregrine-eval-${id}-peregrine-features`);
    expect(c.detectors.groupId).toBe(`peregrine-eval-${id}-peregrine-detectors`);
    expect(c.detectors.requestsGroupId).toBe(`peregrine-eval-${id}-requests-group`);
    expect(c.findings.groupId).toBe(`peregrine-eval-${id}-peregrine-findings-indexer`);
    expect(belongsToRun(c.elasticsearch.findingsAlias, id)).toBe(true);
    expect(c.receiver).toMatchObject({ host: '127.0.0.1', http: { enabled: true, port: 0 }, grpc: { enabled: false } });
    expect(c.metrics.port).toBe(0);
    // A detector that learns its model from live traffic learns into the run's own registered model and experiment.
    expect(c.detectors.http_request).toMatchObject({ model: `models:/peregrine-eval-${id}-peregrine-http-request@champion`, experiment: `peregrine-eval-${id}-peregrine-http-request` });
    expect(httpModel(base)).toBe('models:/peregrine-http-request@champion');
    // The user's configuration is left as it was, and other runs' names are not this run's.
    expect(base.features.groupId).toBe('peregrine-features');
    expect(belongsToRun(isolateConfig(base, runId('other', 1)).topics.spans, id)).toBe(false);
  });

  it('keeps the shared findings alias and alert topic when asked (the demo)', () => {
    const c = isolateConfig(base, 'demo-x', { sharedFindings: true });
    expect(c.elasticsearch.findingsAlias).toBe('peregrine-findings');
    expect(c.topics.findings).toBe(base.topics.findings);
    expect(httpModel(c)).toBe(httpModel(base));
    expect(belongsToRun(c.topics.spans, 'demo-x')).toBe(true);
  });
});
