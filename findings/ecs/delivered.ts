import type { DeliveredFinding } from '../../core/metrics.ts';

/**
 * What the detection metrics need from a finding's ECS document (the findings stage holds documents, not findings):
 * detector, ATT&CK technique, severity, and the end of the judged window. A field a document lacks gives a value the
 * metrics still accept (detector `unknown`, no technique, severity 0, window end now) rather than an error.
 */
export function deliveredFindingOf(doc: Record<string, unknown>, nowMs: number): DeliveredFinding {
  const d = doc as { peregrine?: { detector?: unknown }; threat?: { technique?: { id?: unknown } }; event?: { severity?: unknown; end?: unknown } };
  const techniques = d.threat?.technique?.id;
  const technique = Array.isArray(techniques) ? techniques[0] : techniques;
  const windowEndMs = typeof d.event?.end === 'string' ? Date.parse(d.event.end) : Number.NaN;
  return {
    detector: typeof d.peregrine?.detector === 'string' ? d.peregrine.detector : 'unknown',
    technique: typeof technique === 'string' ? technique : undefined,
    severity: typeof d.event?.severity === 'number' ? d.event.severity : 0,
    windowEndMs: Number.isFinite(windowEndMs) ? windowEndMs : nowMs,
  };
}
