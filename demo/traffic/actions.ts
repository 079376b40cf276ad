/**
 * What the traffic model asks the shop to do, in time order: requests from shoppers, bots and attackers, feature-flag
 * changes, and what an attacker does inside a service's process (execs, connections, calls). Live and fast mode carry
 * out the same actions.
 */
import type { ServiceName } from '../shop/catalog.ts';
import type { Flags } from '../shop/state.ts';

export type Origin = 'shopper' | 'bot' | 'attack';

/** A request as the client sends it (the reverse proxy adds X-Forwarded-For). */
export interface ClientRequest {
  method: string;
  /** Path as sent, percent-encoded. */
  path: string;
  /** Query without '?', as sent. */
  query?: string;
  headers: Array<[string, string]>;
  body?: string;
  clientAddress: string;
  /** A health check of the proxy itself: no X-Forwarded-For. */
  direct?: boolean;
}

interface Base {
  timeMs: number;
  origin: Origin;
  /** Index of the scenario event that caused it. */
  eventIndex?: number;
}

export type Action =
  | (Base & { kind: 'request'; request: ClientRequest })
  /** Changes the shop's flags (a fault begins or ends). */
  | (Base & { kind: 'flags'; change(flags: Flags): void; description: string })
  /** A process starts in a service's process tree (`parent`: the exec'ing process, default the service itself). */
  | (Base & { kind: 'exec'; service: ServiceName; pid: number; parentPid?: number; binary: string; args: string[]; user?: number; runMs?: number; cpuCores?: number })
  /** A TCP connection from a service's process tree (`pid`) to a remote, with what it moved. */
  | (Base & { kind: 'connection'; service: ServiceName; pid?: number; remote: { address: string; port: number }; bytesSent: number; bytesReceived: number; durationMs: number })
  /** A service's process calls another service's operation with the application's own (instrumented) client. */
  | (Base & { kind: 'call'; from: ServiceName; operation: string; request: unknown });

export type ActionKind = Action['kind'];
