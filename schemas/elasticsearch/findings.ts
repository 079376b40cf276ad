/**
 * The findings index: a composable template, a write alias and rollover (ILM is absent from the test distribution;
 * a full cluster may add a lifecycle policy on top). Every field the ECS encoder writes is mapped here; `dynamic: false`
 * keeps stray fields out of the mapping without rejecting the document.
 */
const keyword = { type: 'keyword' } as const;
const date = { type: 'date' } as const;


/** Every mapped leaf field of the findings template, as dotted paths (`event.risk_score`). */
export function findingsMappedFields(): Set<string> {
  const walk = (properties: Record<string, { properties?: Record<string, unknown> }>, prefix: string): string[] =>
    Object.entries(properties).flatMap(([k, v]) => (v.properties ? walk(v.properties as never, `${prefix}${k}.`) : [`${prefix}${k}`]));
  return new Set(walk(findingsIndexTemplate('peregrine-findings').template.mappings.properties as never, ''));
}

export function findingsIndexTemplate(alias: string) {
  return {
    // Rollover names indices <alias>-000001, -000002...: `-0*` keeps other aliases that share the prefix out.
    index_patterns: [`${alias}-0*`],
    priority: 200,
    template: {
      // Findings are few and a SOC waits for them: searchable within a fifth of a second, not the default second.
      settings: { number_of_shards: 1, number_of_replicas: 0, refresh_interval: '200ms' },
      mappings: {
        dynamic: false,
        properties: {
          '@timestamp': date,
          message: { type: 'text' },
          ecs: { properties: { version: keyword } },
          event: {
            properties: {
              id: keyword, kind: keyword, category: keyword, type: keyword, module: keyword, dataset: keyword,
              start: date, end: date, severity: { type: 'long' }, risk_score: { type: 'float' }, risk_score_norm: { type: 'float' },
              url: keyword,
            },
          },
          rule: { properties: { id: keyword, name: keyword, description: { type: 'text' }, ruleset: keyword } },
          service: { properties: { name: keyword } },
          trace: { properties: { id: keyword } },
          span: { properties: { id: keyword } },
          url: { properties: { path: keyword } },
          source: { properties: { ip: { type: 'ip' }, address: keyword } },
          destination: { properties: { ip: { type: 'ip' }, address: keyword, port: { type: 'long' } } },
          user: { properties: { name: keyword } },
          host: { properties: { name: keyword } },
          process: { properties: { executable: keyword, name: keyword } },
          container: { properties: { id: keyword } },
          orchestrator: { properties: { type: keyword, namespace: keyword, resource: { properties: { type: keyword, name: keyword } } } },
          http: { properties: { request: { properties: { method: keyword } } } },
          user_agent: { properties: { original: keyword } },
          threat: {
            properties: {
              framework: keyword,
              tactic: { properties: { id: keyword, name: keyword, reference: keyword } },
              technique: {
                properties: { id: keyword, name: keyword, reference: keyword, subtechnique: { properties: { id: keyword, name: keyword, reference: keyword } } },
              },
            },
          },
          peregrine: {
            properties: {
              entity: { properties: { id: keyword, type: keyword } },
              kind: keyword,
              operation: keyword,
              detector: keyword,
              explanation: { type: 'nested', properties: { feature: keyword, actual: { type: 'double' }, typical: { type: 'double' }, share: { type: 'float' }, detector: keyword } },
              contributions: { type: 'nested', properties: { detector: keyword, rule: keyword, risk_score: { type: 'float' }, share: { type: 'float' }, technique: keyword } },
              group: { properties: { count: { type: 'long' }, first_seen: date, last_seen: date, status: keyword } },
              window: { properties: { start: date, end: date } },
              // Named evidence from the vector's examples (new_binaries, identities, missing_routes...): searchable as keywords.
              evidence: { type: 'flattened' },
              exemplars: { properties: { trace_id: keyword, span_id: keyword, reason: keyword, url: keyword } },
              model: { properties: { name: keyword, version: keyword } },
              // Kept for retraining from analyst feedback, not searched: not indexed.
              features: { type: 'object', enabled: false },
              request: { type: 'object', enabled: false },
              // Request findings: how many requests the group holds, which signature kinds hit, and its worst requests.
              requests: { type: 'long' },
              signatures: keyword,
              examples: { type: 'object', enabled: false },
            },
          },
        },
      },
    },
  };
}
