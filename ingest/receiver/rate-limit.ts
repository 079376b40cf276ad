/**
 * Per-client request rate limit for the receivers: a token bucket per client address (`requestsPerSecond`
 * refill, `burst` capacity). Clients beyond `maxClients` push out the least recently seen one, so a flood of
 * addresses costs bounded memory. Pure: the caller passes the time.
 */
export interface RateLimit {
  requestsPerSecond: number;
  burst: number;
  maxClients: number;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

export class ClientRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly limit: RateLimit) {}

  /** Takes one request's token for `client`; false when its bucket is empty. */
  allow(client: string, nowMs: number): boolean {
    const { requestsPerSecond, burst, maxClients } = this.limit;
    let bucket = this.buckets.get(client);
    if (bucket) {
      this.buckets.delete(client); // re-inserted below: Map order is least recently seen first
      bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, nowMs - bucket.atMs) / 1000) * requestsPerSecond);
      bucket.atMs = nowMs;
    } else {
      if (this.buckets.size >= maxClients) this.buckets.delete(this.buckets.keys().next().value!);
      bucket = { tokens: burst, atMs: nowMs };
    }
    this.buckets.set(client, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  get clients(): number {
    return this.buckets.size;
  }
}

/** A gRPC peer ("ipv4:10.0.0.1:53422", "ipv6:[::1]:53422") as the address HTTP reports for the same client. */
export function grpcPeerAddress(peer: string): string {
  return peer.replace(/^ipv[46]:/, '').replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
}
