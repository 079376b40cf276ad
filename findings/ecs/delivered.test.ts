import { describe, expect, it } from 'vitest';
import type { Finding } from '../finding.ts';
import { deliveredFindingOf } from './delivered.ts';
import { encodeEcsFinding } from './encode.ts';

const finding: Finding = {
  detector: 'http_request', ruleName: 'Anomalous HTTP request', ruleDescription: 'd', entityId: 'client:203.0.113.7', entityType: 'client', service: 'frontend',
  windowStartMs: Date.UTC(2026, 0, 1, 12, 0, 0), windowEndMs: Date.UTC(2026, 0, 1, 12, 0, 10), riskScore: 80, severity: 73, message: 'm', explanation: [], exemplars: [],
  threat: { tactic: { id: 'TA0001', name: 'Initial Access' }, technique: { id: 'T1190', name: 'Exploit Public-Facing Application' } },
};

describe('deliveredFindingOf', () => {
  it('reads detector, technique, severity and window end back from the ECS document the encoder writes', () => {
    const doc = encodeEcsFinding(finding, { jaegerUiUrl: 'http://127.0.0.1:16686' });
    expect(deliveredFindingOf(doc, 0)).toEqual({ detector: 'http_request', technique: 'T1190', severity: 73, windowEndMs: finding.windowEndMs });
    const { threat: _threat, ...unmapped } = finding;
    expect(deliveredFindingOf(encodeEcsFinding(unmapped, { jaegerUiUrl: 'http://x' }), 0).technique).toBeUndefined();
  });

  it('gives usable values for a document missing the fields', () => {
    expect(deliveredFindingOf({ event: { end: 'not a date' } }, 1234)).toEqual({ detector: 'unknown', technique: undefined, severity: 0, windowEndMs: 1234 });
  });
});
