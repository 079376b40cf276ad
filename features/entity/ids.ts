/**
 * Entity ids: stable strings, the Kafka key of everything per entity (see FEATURE-CONTRACT and features/README.md).
 * Ids of the entities a busy stream repeats (services, operations) are built once and reused. Pure.
 */
import type { EntityType } from '../../schemas/feature-vector.ts';

export type EntityKind = EntityType;

/** The kind of an entity id (its prefix), or undefined for a string that is not one. */
export function kindOf(entityId: string): EntityKind | undefined {
  const colon = entityId.indexOf(':');
  const kind = colon < 0 ? '' : entityId.slice(0, colon);
  return (ENTITY_KINDS as readonly string[]).includes(kind) ? (kind as EntityKind) : undefined;
}

export const ENTITY_KINDS: readonly EntityKind[] = ['service', 'operation', 'edge', 'client', 'host', 'pod', 'process'];

/** Longest id part kept: a hostile route or address must not make a megabyte key. */
const MAX_PART = 200;

function part(s: string): string {
  return s.length > MAX_PART ? s.slice(0, MAX_PART) : s;
}

/**
 * Ids of the entities a stream repeats, built once per (a, b): a repeated id is then one lookup, and its string
 * hash is computed once for every map that uses it as a key. Bounded: once full, new ids are built and not kept.
 */
export class IdCache {
  private readonly ids = new Map<string, Map<string, string>>();
  private size = 0;
  /** The last id asked for: events of one record mostly repeat it. */
  private lastA: string | undefined;
  private lastB: string | undefined;
  private lastId = '';

  constructor(private readonly build: (a: string, b: string) => string, private readonly max = 20_000) {}

  get(a: string, b: string): string {
    if (a === this.lastA && b === this.lastB) return this.lastId;
    const id = this.lookup(a, b);
    this.lastA = a;
    this.lastB = b;
    this.lastId = id;
    return id;
  }

  private lookup(a: string, b: string): string {
    const inner = this.ids.get(a);
    const id = inner?.get(b);
    if (id !== undefined) return id;
    const built = this.build(a, b);
    if (this.size < this.max) {
      if (inner) inner.set(b, built);
      else this.ids.set(a, new Map([[b, built]]));
      this.size++;
    }
    return built;
  }
}

const services = new IdCache((s) => `service:${part(s)}`);
const operations = new IdCache((s, op) => `operation:${part(s)}:${part(op)}`);
const edges = new IdCache((from, to) => `edge:${part(from)}->${part(to)}`);
const clients = new IdCache((_, address) => `client:${part(address)}`);

export const entityIds = {
  service: (service: string) => services.get(service, ''),
  operation: (service: string, operation: string) => operations.get(service, operation),
  edge: (caller: string, callee: string) => edges.get(caller, callee),
  client: (address: string) => clients.get('', address),
  host: (hostName: string) => `host:${part(hostName)}`,
  /** `pod:<namespace>/<pod>`, or `pod:<container id>` outside Kubernetes. */
  pod: (namespace: string | undefined, podName: string | undefined, containerId: string | undefined): string | undefined =>
    podName ? `pod:${part(namespace ?? 'default')}/${part(podName)}` : containerId ? `pod:${part(containerId)}` : undefined,
  /** `process:<host or pod>:<executable path>`; the host-or-pod part is the pod id without its prefix, or the host name. */
  process: (where: string, executable: string) => `process:${part(where)}:${part(executable)}`,
};

/** `address:port`, or the address alone when the port is unknown. */
export function endpoint(address: string, port: number | undefined): string {
  return port === undefined || port === 0 ? address : address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
