/**
 * The request a request finding judged, cut into text segments with the parts its explanation names marked: the value
 * of a parameter whose value drove the score, a parameter or header name the route never had, the path of an unknown
 * route, the method. The page renders segments as text inside <mark>, never as markup. Pure.
 */
import { BODY_PARAM, decodeFormValue } from '../models/http/request.ts';

export interface Segment {
  text: string;
  /** Why this part is marked (the explanation's component), when it is. */
  mark?: string;
  /** A marked form value as the application reads it, when that differs from the text sent. */
  decoded?: string;
}

export interface RequestView {
  method: Segment;
  target: Segment[];
  headers: Array<{ name: Segment; value: Segment[] }>;
  body: Segment[];
  /** Bytes left out of a body longer than shown. */
  bodyTruncated: number;
}

interface FindingRequest {
  method?: string;
  target?: string;
  headers?: Record<string, string>;
  body?: string;
}

/** Components about a parameter's value (their field is the parameter), and about names and the request line. */
const VALUE_COMPONENTS = new Set(['value', 'shape', 'char_class', 'char_count', 'length', 'numeric_range']);
const MAX_BODY_CHARS = 16_384;

/** `component:field` (the request detector's explanation feature) → its parts. */
function parseFeature(feature: string): { component: string; field?: string } {
  const colon = feature.indexOf(':');
  return colon < 0 ? { component: feature } : { component: feature.slice(0, colon), field: feature.slice(colon + 1) };
}

/** Marks in a form-encoded string (`a=1&b=2`): values of `values`, names of `names`. */
function formSegments(text: string, values: Map<string, string>, names: Map<string, string>): Segment[] {
  const out: Segment[] = [];
  let plain = '';
  const flush = () => {
    if (plain) out.push({ text: plain });
    plain = '';
  };
  text.split('&').forEach((pair, i) => {
    if (i > 0) plain += '&';
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? '' : pair.slice(eq + 1);
    if (names.has(name)) {
      flush();
      out.push({ text: name, mark: names.get(name) });
    } else plain += name;
    if (eq < 0) return;
    plain += '=';
    if (values.has(name) && value) {
      flush();
      const decoded = decodeFormValue(value);
      out.push({ text: value, mark: values.get(name), ...(decoded !== value ? { decoded } : {}) });
    } else plain += value;
  });
  flush();
  return out;
}

export function requestView(request: FindingRequest, explanation: ReadonlyArray<{ feature?: string }>): RequestView {
  const values = new Map<string, string>();
  const names = new Map<string, string>();
  const headerValues = new Map<string, string>();
  const headerNames = new Map<string, string>();
  const whole = new Set<string>();
  for (const { feature } of explanation) {
    if (typeof feature !== 'string') continue;
    const { component, field } = parseFeature(feature);
    if (field === undefined) whole.add(component);
    else if (component === 'param_name') names.set(field, component);
    else if (component === 'header_name') headerNames.set(field.toLowerCase(), component);
    else if (component === 'header_value') headerValues.set(field.toLowerCase(), component);
    else if (VALUE_COMPONENTS.has(component)) values.set(field, component);
  }
  const method = request.method ?? '';
  const target = request.target ?? '';
  const query = target.indexOf('?');
  const path = query < 0 ? target : target.slice(0, query);
  const targetSegments: Segment[] = [whole.has('route') ? { text: path, mark: 'route' } : { text: path }];
  if (query >= 0) targetSegments.push({ text: '?' }, ...formSegments(target.slice(query + 1), values, names));

  const headers = Object.entries(request.headers ?? {}).map(([name, value]) => {
    const lower = name.toLowerCase();
    return {
      name: headerNames.has(lower) ? { text: name, mark: headerNames.get(lower) } : { text: name },
      value: [headerValues.has(lower) ? { text: String(value), mark: headerValues.get(lower) } : { text: String(value) }],
    };
  });

  const fullBody = request.body ?? '';
  const body = fullBody.slice(0, MAX_BODY_CHARS);
  const contentType = Object.entries(request.headers ?? {}).find(([n]) => n.toLowerCase() === 'content-type')?.[1] ?? '';
  // The same rule as the request model's parse: a form body is parameters, anything else one pseudo-parameter.
  const isForm = contentType.includes('application/x-www-form-urlencoded') || (contentType === '' && body.includes('='));
  let bodySegments: Segment[] = [];
  if (body) {
    if (isForm) bodySegments = formSegments(body, values, names);
    else bodySegments = [values.has(BODY_PARAM) ? { text: body, mark: values.get(BODY_PARAM) } : { text: body }];
  }
  const methodMarked = whole.has('method') || whole.has('route_method');
  return {
    method: methodMarked ? { text: method, mark: whole.has('method') ? 'method' : 'route_method' } : { text: method },
    target: targetSegments.filter((s) => s.text !== ''),
    headers,
    body: bodySegments,
    bodyTruncated: Math.max(0, fullBody.length - body.length),
  };
}
