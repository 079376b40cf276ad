/** The demo's live terminal view: one block per finding as it arrives, read from its ECS document. */

interface EcsFinding {
  '@timestamp'?: string;
  message?: string;
  event?: { id?: string; severity?: number; risk_score?: number; url?: string };
  rule?: { name?: string };
  threat?: { technique?: { id?: string[]; name?: string[] } };
  peregrine?: { entity?: { id?: string }; detector?: string; explanation?: Array<{ feature: string; actual: number; typical: number; share: number }> };
  source?: { ip?: string };
}

const SEVERITY_NAMES: ReadonlyArray<[number, string]> = [[99, 'CRITICAL'], [73, 'HIGH'], [47, 'MEDIUM'], [0, 'LOW']];

export function severityName(severity: number | undefined): string {
  return SEVERITY_NAMES.find(([at]) => (severity ?? 0) >= at)?.[1] ?? 'LOW';
}

const number = (x: number) => (Math.abs(x) >= 100 || Number.isInteger(x) ? String(Math.round(x)) : x.toFixed(2));

/** A finding as the demo prints it: severity, score, rule, technique, entity; the message; what drove it; the trace link. */
export function formatFinding(doc: Record<string, unknown>, color = false): string {
  const f = doc as EcsFinding;
  const severity = severityName(f.event?.severity);
  const paint = (code: number, text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const tone = severity === 'CRITICAL' || severity === 'HIGH' ? 31 : severity === 'MEDIUM' ? 33 : 36;
  const time = (f['@timestamp'] ?? '').slice(11, 19);
  const techniques = (f.threat?.technique?.id ?? []).map((id, i) => `${id} ${f.threat?.technique?.name?.[i] ?? ''}`.trim()).join(', ');
  const lines = [
    `${time} ${paint(tone, severity.padEnd(8))} risk=${f.event?.risk_score ?? '?'} ${f.rule?.name ?? f.peregrine?.detector ?? 'finding'}${techniques ? ` [${techniques}]` : ''} ${paint(1, f.peregrine?.entity?.id ?? '')}`,
    `         ${f.message ?? ''}`,
  ];
  const explanation = (f.peregrine?.explanation ?? []).slice(0, 3).map((e) => `${e.feature} ${number(e.actual)} (typically ${number(e.typical)}, ${Math.round(e.share * 100)}%)`);
  if (explanation.length) lines.push(`         why: ${explanation.join('; ')}`);
  lines.push(`         trace: ${f.event?.url ?? '(no example trace)'}`);
  return lines.join('\n');
}
