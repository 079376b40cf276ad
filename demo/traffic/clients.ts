/**
 * Who visits the shop: browsers with their user agents, residential and mobile addresses (never the documentation
 * ranges, which scenario files use for attackers), known crawlers and monitors with their published ranges.
 */
import { isIP } from 'node:net';
import type { Source } from '../scenario/parse.ts';
import type { Random } from '../shop/random.ts';

export const BROWSERS: readonly string[] = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0',
  'Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.39 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
];

/** Share of each browser: Chrome and mobile Safari lead, as on most shops. */
const BROWSER_WEIGHTS = [22, 8, 9, 10, 6, 2, 3, 16, 6, 10, 6, 2];

export function browser(rng: Random): string {
  return rng.weighted(BROWSERS.map((ua, i) => [ua, BROWSER_WEIGHTS[i]!] as const));
}

/** /8s and /16s of consumer ISPs and mobile carriers (none of them a documentation or private range). */
const CONSUMER_PREFIXES: ReadonlyArray<readonly [string, number]> = [
  ['73.', 8], ['24.', 6], ['68.', 5], ['76.', 4], ['98.', 4], ['108.', 3], ['174.', 3], ['86.', 5], ['90.', 4], ['2.', 4],
  ['31.', 3], ['46.', 3], ['79.', 3], ['82.', 3], ['176.', 3], ['188.', 3], ['91.', 2], ['101.', 2], ['112.', 2], ['189.', 2],
  ['177.', 2], ['49.', 2], ['58.', 2], ['122.', 2],
];

export function consumerAddress(rng: Random): string {
  const prefix = rng.weighted(CONSUMER_PREFIXES);
  return `${prefix}${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}

/** An address of a source: the address itself, or one drawn from the CIDR. */
export function sourceAddress(source: Source, rng: Random): string {
  if (source.kind === 'address') return source.address;
  return addressInCidr(source, rng);
}

export function addressInCidr(source: Extract<Source, { kind: 'cidr' }>, rng: Random): string {
  if (source.family === 4) {
    const base = source.network.split('.').reduce((n, o) => n * 256 + Number(o), 0);
    const size = 2 ** (32 - source.prefix);
    const mask = size >= 2 ** 32 ? 0 : base - (base % size);
    // Skip the network and broadcast addresses where the block has them.
    const offset = size > 2 ? rng.int(1, size - 2) : rng.int(0, size - 1);
    const n = (mask + offset) >>> 0;
    return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  }
  const groups = expandV6(source.network);
  const hostBits = 128 - source.prefix;
  for (let bit = 0; bit < Math.min(hostBits, 64); bit++) {
    const g = 7 - Math.floor(bit / 16);
    const mask = 1 << (bit % 16);
    groups[g] = rng.chance(0.5) ? groups[g]! | mask : groups[g]! & ~mask;
  }
  return groups.map((g) => g.toString(16)).join(':');
}

function expandV6(address: string): number[] {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...(tail === undefined ? [] : fill), ...t].map((x) => parseInt(x || '0', 16) & 0xffff);
}

export function isAddress(text: string): boolean {
  return isIP(text) !== 0;
}

export interface Crawler {
  name: string;
  userAgent: string;
  addresses: readonly string[];
}

export const CRAWLERS: readonly Crawler[] = [
  { name: 'googlebot', userAgent: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', addresses: ['66.249.66.1', '66.249.66.33', '66.249.66.70', '66.249.68.12', '66.249.79.230'] },
  { name: 'bingbot', userAgent: 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)', addresses: ['40.77.167.52', '40.77.167.130', '157.55.39.10', '157.55.39.214'] },
  { name: 'ahrefs', userAgent: 'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)', addresses: ['54.36.148.94', '54.36.149.7', '51.222.253.15'] },
];

export const UPTIME_MONITOR = { userAgent: 'Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)', addresses: ['216.144.250.150', '69.162.124.227', '63.143.42.245'] };
export const HEALTH_CHECKER = { userAgent: 'ELB-HealthChecker/2.0' };
