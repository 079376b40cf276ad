/**
 * What the request model sees of a request, in training and in scoring alike: the path as its route template
 * (`/items/{id}`, never the raw path: ids would make every request a new route) and every credential masked with the
 * redaction rules the sensor applies at the source (password fields, tokens, cookies, card numbers). The model never
 * holds a secret — not in its profiles, not in the MLflow artifacts, not in the training buffer a live detector keeps —
 * and a request the sensor already redacted looks the same as one an instrumentation sent raw. Signature checks judge
 * the raw request instead (an injection typed into a password field is caught there). Pure.
 */
import { redactBody, redactHeaders, redactTarget, type RedactionConfig } from '../../core/redaction/redact.ts';
import { routeTemplate } from '../../core/route.ts';
import { parseHttpRow, rowHeaderPairs, validHttpRow, type HttpRequest, type HttpRow } from './request.ts';

export interface ViewOptions {
  /** The route the instrumentation named (`http.route`); default: the template made from the path. */
  route?: string;
  redaction?: RedactionConfig;
}

/** The row as the model's view: same columns, path templated, secrets masked (headers as an object). */
export function maskedRow<R extends HttpRow>(row: R, options: ViewOptions = {}): R & { req_headers: Record<string, string> } {
  const q = row.req_path.indexOf('?');
  const path = q < 0 ? row.req_path : row.req_path.slice(0, q);
  const route = options.route ?? routeTemplate(path);
  const headers = rowHeaderPairs(row.req_headers);
  const contentType = headers.find(([name]) => name.toLowerCase() === 'content-type')?.[1];
  const masked = redactHeaders(headers, options.redaction);
  return {
    ...row,
    req_path: redactTarget(q < 0 ? route : `${route}${row.req_path.slice(q)}`, options.redaction),
    req_headers: Object.fromEntries(masked),
    req_body: redactBody(row.req_body ?? '', contentType, options.redaction),
  };
}

/** The request the model scores or trains on: `parseHttpRow` of the masked, templated row; DecodeError for unusable rows. */
export function modelView(json: unknown, options: ViewOptions = {}): HttpRequest {
  return parseHttpRow(maskedRow(validHttpRow(json), options));
}

