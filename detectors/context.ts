/**
 * The ECS context of a window's entity: who (source, user), where (host, pod, container, process) and towards what
 * (destination). Taken from the vector's attributes where the features stage recorded them, else read from the
 * entity id itself (FEATURE-CONTRACT: `client:<ip>`, `host:<name>`, `pod:<ns>/<name>`, `process:<host|pod>:<path>`,
 * `edge:<caller>-><callee>`). Pure.
 */
import { isIP } from 'node:net';
import { isInternalAddress } from '../core/addresses.ts';

export { isInternalAddress };
import type { FeatureVector } from '../schemas/feature-vector.ts';
import type { EcsContext } from '../findings/finding.ts';
import { attributesOf } from './vector.ts';

/** `source.ip` is mapped as an IP: only a valid address goes there (brackets of an IPv6 literal dropped). */
function ipOrUndefined(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  return isIP(bare) ? bare : undefined;
}

function splitHostPort(text: string): { address: string; port?: number } {
  const m = /^(.*):(\d{1,5})$/.exec(text);
  if (!m) return { address: text };
  const port = Number(m[2]);
  return port <= 65535 ? { address: m[1], port } : { address: text };
}

/**
 * Whether an endpoint the features stage named (`10.0.1.11:3550`, `[fd00::1]:443`) is an internal address; false for a
 * name (a callee seen in spans), which says nothing about where it is.
 */
export function isInternalEndpoint(endpoint: string): boolean {
  const ip = ipOrUndefined(splitHostPort(endpoint).address);
  return ip !== undefined && isInternalAddress(ip);
}

function podContext(ref: string): Pick<EcsContext, 'orchestrator' | 'container'> {
  const slash = ref.indexOf('/');
  if (slash > 0) return { orchestrator: { type: 'kubernetes', namespace: ref.slice(0, slash), resource: { type: 'pod', name: ref.slice(slash + 1) } } };
  return { container: { id: ref } };
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1) || path;
}

/** What the entity id alone says. */
function fromEntityId(entityId: string): EcsContext {
  const colon = entityId.indexOf(':');
  const kind = entityId.slice(0, colon);
  const rest = entityId.slice(colon + 1);
  switch (kind) {
    case 'client': {
      const ip = ipOrUndefined(rest);
      return { source: ip ? { ip, address: rest } : { address: rest } };
    }
    case 'host':
      return { host: { name: rest } };
    case 'pod':
      return podContext(rest);
    case 'process': {
      // process:<host or ns/pod>:<executable path>; the path is absolute, so the last ":/" splits them.
      const at = rest.lastIndexOf(':/');
      if (at < 0) return { process: { executable: rest, name: basename(rest) } };
      const where = rest.slice(0, at);
      const executable = rest.slice(at + 1);
      return { process: { executable, name: basename(executable) }, ...(where.includes('/') ? podContext(where) : { host: { name: where } }) };
    }
    case 'edge': {
      const arrow = rest.indexOf('->');
      if (arrow < 0) return {};
      const callee = rest.slice(arrow + 2);
      const { address, port } = splitHostPort(callee);
      const ip = ipOrUndefined(address);
      return { destination: { address, ...(ip ? { ip } : {}), ...(port === undefined ? {} : { port }) } };
    }
    default:
      return {};
  }
}

export function contextOf(v: FeatureVector): EcsContext {
  const a = attributesOf(v);
  const c = fromEntityId(v.entityId);
  const sourceIp = ipOrUndefined(a['source.ip']);
  if (sourceIp) c.source = { ip: sourceIp, address: a['source.ip'] };
  if (a['user.name']) c.user = { name: a['user.name'] };
  if (a['host.name']) c.host = { name: a['host.name'] };
  if (a['k8s.pod.name']) {
    c.orchestrator = { type: 'kubernetes', namespace: a['k8s.namespace.name'], resource: { type: 'pod', name: a['k8s.pod.name'] } };
  }
  if (a['container.id']) c.container = { id: a['container.id'] };
  if (a['process.executable']) c.process = { executable: a['process.executable'], name: basename(a['process.executable']) };
  const destination = a['destination.address'] ?? a['destination.service'];
  if (destination) {
    const port = Number(a['destination.port']);
    const ip = ipOrUndefined(destination);
    c.destination = { address: destination, ...(ip ? { ip } : {}), ...(Number.isInteger(port) && port > 0 && port <= 65535 ? { port } : {}) };
  }
  if (a['http.request.method']) c.httpMethod = a['http.request.method'];
  return c;
}
