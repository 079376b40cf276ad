/**
 * Normal noise that is not shoppers: search-engine crawlers (robots.txt, the sitemap, product pages — some of them
 * retired products that answer 404), an uptime monitor fetching the home page, and the load balancer's health checks.
 */
import { PRODUCTS } from '../shop/catalog.ts';
import type { Random } from '../shop/random.ts';
import { SITE_HOST } from '../shop/topology.ts';
import type { Action, ClientRequest } from './actions.ts';
import { CRAWLERS, HEALTH_CHECKER, UPTIME_MONITOR, type Crawler } from './clients.ts';
import type { Actor } from './stream.ts';

/** Product ids the catalog once had: crawlers still follow old links to them. */
const RETIRED_PRODUCTS = ['1YMWWN1N4Q', 'L9ECAV7KIN', '9SIQT8TOJP', 'OLJCESPC7A'];

function botRequest(path: string, userAgent: string, clientAddress: string, accept = 'text/html,application/xhtml+xml,*/*;q=0.8'): ClientRequest {
  return { method: 'GET', path, headers: [['host', SITE_HOST], ['user-agent', userAgent], ['accept', accept], ['accept-encoding', 'gzip, deflate, br']], clientAddress };
}

/** A crawler visits every so often and fetches a handful of pages a few seconds apart. */
class CrawlerActor implements Actor {
  nextMs: number;
  private lastRobotsMs = -Infinity;

  constructor(private readonly crawler: Crawler, private readonly rng: Random, startMs: number, private readonly meanGapMs: number) {
    this.nextMs = startMs + rng.exponential(meanGapMs);
  }

  step(out: Action[]): void {
    const { rng, crawler } = this;
    let t = this.nextMs;
    const address = rng.pick(crawler.addresses);
    const push = (path: string) => {
      out.push({ kind: 'request', timeMs: t, origin: 'bot', request: botRequest(path, crawler.userAgent, address) });
      t += 1500 + rng.exponential(2500);
    };
    if (t - this.lastRobotsMs > 3_600_000) {
      push('/robots.txt');
      if (rng.chance(0.5)) push('/sitemap.xml');
      this.lastRobotsMs = t;
    }
    const pages = rng.int(1, 5);
    for (let i = 0; i < pages; i++) {
      const roll = rng.float();
      if (roll < 0.15) push('/');
      else if (roll < 0.2) push(`/product/${rng.pick(RETIRED_PRODUCTS)}`);
      else push(`/product/${rng.pick(PRODUCTS).id}`);
    }
    this.nextMs = t + rng.exponential(this.meanGapMs);
  }
}

/** Fixed-interval probes (uptime monitor, health checks), with a little jitter. */
class ProbeActor implements Actor {
  nextMs: number;
  constructor(private readonly rng: Random, startMs: number, private readonly intervalMs: number, private readonly request: () => ClientRequest) {
    this.nextMs = startMs + rng.float() * intervalMs;
  }
  step(out: Action[]): void {
    out.push({ kind: 'request', timeMs: this.nextMs, origin: 'bot', request: this.request() });
    this.nextMs += this.intervalMs * (0.98 + this.rng.float() * 0.04);
  }
}

export function botActors(rng: Random, startMs: number): Actor[] {
  const actors: Actor[] = CRAWLERS.map((c, i) => new CrawlerActor(c, rng.fork(`crawler-${c.name}`), startMs, [90_000, 240_000, 600_000][i] ?? 300_000));
  UPTIME_MONITOR.addresses.forEach((address, i) => {
    actors.push(new ProbeActor(rng.fork(`uptime-${i}`), startMs, 60_000 * UPTIME_MONITOR.addresses.length, () => botRequest('/', UPTIME_MONITOR.userAgent, address)));
  });
  for (let i = 0; i < 2; i++) {
    actors.push(new ProbeActor(rng.fork(`health-${i}`), startMs, 10_000, () => ({ ...botRequest('/api/health', HEALTH_CHECKER.userAgent, `10.0.1.${5 + i}`, '*/*'), direct: true })));
  }
  return actors;
}
