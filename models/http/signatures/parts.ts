/** The parts of an `http_events`-shaped row (what the sensor, Pixie, CSIC 2010 and `peregrine score http` carry) to scan. */
import type { RequestParts } from './fields.ts';

export interface RequestRowLike {
  req_path: string;
  req_body?: string;
  /** A JSON object, or its text. */
  req_headers?: string | Record<string, unknown>;
}

export function requestPartsOfRow(row: RequestRowLike): RequestParts {
  const q = row.req_path.indexOf('?');
  let headers: Record<string, unknown> = {};
  if (typeof row.req_headers === 'string' && row.req_headers !== '') {
    try {
      const parsed: unknown = JSON.parse(row.req_headers);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) headers = parsed as Record<string, unknown>;
    } catch {
      // Unreadable headers: the rest of the request is still judged.
    }
  } else if (row.req_headers && typeof row.req_headers === 'object') headers = row.req_headers;
  const list = Object.entries(headers).map(([name, value]) => [name.toLowerCase(), typeof value === 'string' ? value : JSON.stringify(value)] as [string, string]);
  return {
    path: q < 0 ? row.req_path : row.req_path.slice(0, q),
    query: q < 0 ? undefined : row.req_path.slice(q + 1),
    body: row.req_body,
    contentType: list.find(([name]) => name === 'content-type')?.[1],
    headers: list,
  };
}
