/**
 * Signature checks over a whole request: every field an attacker can write (fields.ts) is decoded (decode.ts) and read
 * for SQL, script, traversal, command and expression injection in context. A hit names the field, the construct, how
 * sure the rule is, and the malicious fragment as the request carried it with its offsets in the field's raw value —
 * what an analyst needs to see, and what the combined scorer weighs. Pure.
 */
import { findCommandInjection } from './command.ts';
import { decodeValue, rawRange } from './decode.ts';
import { findExpressionInjection } from './expression.ts';
import { requestFields, type Field, type FieldLocation, type RequestParts } from './fields.ts';
import { findSqlInjection } from './sql.ts';
import { findTraversal } from './traversal.ts';
import { findXss } from './xss.ts';

export type SignatureKind = 'sql_injection' | 'xss' | 'path_traversal' | 'command_injection' | 'expression_injection';
export const SIGNATURE_KINDS: readonly SignatureKind[] = ['sql_injection', 'xss', 'path_traversal', 'command_injection', 'expression_injection'];

/** `high`: the construct has no use in normal traffic; `medium`: rare in normal traffic, telling with other evidence. */
export type Confidence = 'high' | 'medium';

export interface SignatureHit {
  kind: SignatureKind;
  /** The grammar recognised, e.g. `union_select`, `event_handler`, `dot_dot_slash`. */
  construct: string;
  confidence: Confidence;
  location: FieldLocation;
  /** Parameter or header name, JSON pointer, cookie name; '' for the path. */
  field: string;
  /** The malicious fragment as the request carried it (raw, still encoded), at most MAX_FRAGMENT characters. */
  fragment: string;
  /** Offsets of the fragment in the field's raw value: [start, end). */
  start: number;
  end: number;
  /** The fragment decoded, as the application would see it. */
  decoded: string;
}

const MAX_FRAGMENT = 256;

const MEDIUM = new Set(['comment_terminator', 'boolean_literal', 'frame_or_plugin', 'meta_refresh', 'css_expression', 'file_url', 'nul_byte', 'header_injection']);

type Finder = (text: string) => { construct: string; start: number; end: number; context?: string } | undefined;

const VALUE_FINDERS: Array<[SignatureKind, Finder]> = [
  ['sql_injection', findSqlInjection],
  ['xss', findXss],
  ['path_traversal', (t) => findTraversal(t)],
  ['command_injection', findCommandInjection],
  ['expression_injection', findExpressionInjection],
];

function confidenceOf(construct: string, context: string | undefined): Confidence {
  if (MEDIUM.has(construct)) return 'medium';
  // SQL without a broken-out-of context is only a statement standing in a value.
  if (context === 'none' && construct !== 'union_select' && construct !== 'stacked_query') return 'medium';
  return 'high';
}

/** Every field's first hit of each kind. */
export function scanRequest(parts: RequestParts): SignatureHit[] {
  const hits: SignatureHit[] = [];
  for (const field of requestFields(parts)) {
    if (field.isPath) scanPath(field, hits);
    else scanValue(field, field.raw, 0, VALUE_FINDERS, hits);
  }
  return hits;
}

/** A path: traversal over the whole of it (any `..` counts), the other checks per segment (REST parameters). */
function scanPath(field: Field, hits: SignatureHit[]): void {
  scanValue(field, field.raw, 0, [['path_traversal', (t) => findTraversal(t, { inPath: true })]], hits);
  const others = VALUE_FINDERS.filter(([kind]) => kind !== 'path_traversal');
  let start = 0;
  while (start < field.raw.length) {
    let end = field.raw.indexOf('/', start);
    if (end < 0) end = field.raw.length;
    if (end > start) scanValue(field, field.raw.slice(start, end), start, others, hits);
    start = end + 1;
  }
}

function scanValue(field: Field, raw: string, offset: number, finders: Array<[SignatureKind, Finder]>, hits: SignatureHit[]): void {
  const decoded = decodeValue(raw, { form: field.form, json: field.json });
  for (const [kind, find] of finders) {
    if (hits.some((h) => h.kind === kind && h.location === field.location && h.field === field.name)) continue;
    const m = find(decoded.text);
    if (!m) continue;
    const [a, b] = rawRange(decoded, m.start, m.end);
    const start = offset + a, end = offset + Math.min(b, a + MAX_FRAGMENT);
    hits.push({
      kind, construct: m.construct, confidence: confidenceOf(m.construct, m.context),
      location: field.location, field: field.name,
      fragment: field.raw.slice(start, end), start, end,
      decoded: decoded.text.slice(m.start, Math.min(m.end, m.start + MAX_FRAGMENT)),
    });
  }
}
