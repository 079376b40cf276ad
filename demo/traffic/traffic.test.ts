import { describe, expect, it } from 'vitest';
import { parseScenario } from '../scenario/parse.ts';
import type { Action } from './actions.ts';
import { dailyFactor, rateCurve, simulatedStart } from './curve.ts';
import { scenarioActions } from './scenario.ts';

const START = Date.UTC(2026, 10, 20, 6, 0, 0);
const scenario = (text: string) => parseScenario(text, { file: 'test.yaml' });
const requests = (actions: Action[]) => actions.filter((a): a is Action & { kind: 'request' } => a.kind === 'request');
const run = (text: string, startMs = START) => [...scenarioActions(scenario(text), { startMs })];
const header = (a: Action & { kind: 'request' }, name: string) => a.request.headers.find(([n]) => n.toLowerCase() === name)?.[1];

describe('the traffic model', () => {
  const normal = 'name: n\nseed: 7\nduration: 20m\ntraffic: {sessions: 100, rate: 20, bots: true}\nevents: []\n';

  it('is seeded: the same scenario gives the same actions, another seed other ones', () => {
    const a = run(normal);
    const b = run(normal);
    expect(a.length).toBeGreaterThan(1000);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const c = run(normal.replace('seed: 7', 'seed: 8'));
    expect(JSON.stringify(c.slice(0, 200))).not.toBe(JSON.stringify(a.slice(0, 200)));
  });

  it('keeps time order and sends shoppers at the scenario\'s rate on average', () => {
    const actions = run(normal);
    for (let i = 1; i < actions.length; i++) expect(actions[i]!.timeMs).toBeGreaterThanOrEqual(actions[i - 1]!.timeMs);
    const shoppers = requests(actions).filter((a) => a.origin === 'shopper').length;
    expect(shoppers / (20 * 60)).toBeGreaterThan(20 * 0.85);
    expect(shoppers / (20 * 60)).toBeLessThan(20 * 1.15);
  });

  it('follows a daily curve: evenings busier than the small hours, the scenario\'s average kept', () => {
    expect(dailyFactor(Date.UTC(2026, 0, 1, 20))).toBeGreaterThan(1.4);
    expect(dailyFactor(Date.UTC(2026, 0, 1, 5))).toBeLessThan(0.7);
    const rateAt = rateCurve(10, START, START + 6 * 3_600_000);
    let sum = 0;
    for (let t = START; t < START + 6 * 3_600_000; t += 60_000) sum += rateAt(t);
    expect(sum / 360).toBeCloseTo(10, 1);
    // A 6-hour morning: the last hour is far busier than the first.
    const long = requests(run('name: n\nseed: 1\nduration: 6h\ntraffic: {sessions: 50, rate: 4, bots: false}\nevents: []\n')).filter((a) => a.origin === 'shopper');
    const inHour = (h: number) => long.filter((a) => a.timeMs >= START + h * 3_600_000 && a.timeMs < START + (h + 1) * 3_600_000).length;
    expect(inHour(5)).toBeGreaterThan(inHour(0) * 1.6);
  });

  it('browses like the Demo\'s browser app: pages then their API calls, carts, checkouts, logins with some mistyped passwords', () => {
    const shoppers = requests(run(normal)).filter((a) => a.origin === 'shopper');
    const count = (method: string, path: RegExp) => shoppers.filter((a) => a.request.method === method && path.test(a.request.path)).length;
    expect(count('GET', /^\/product\//)).toBeGreaterThan(100);
    expect(count('GET', /^\/api\/products\/[A-Z0-9]{10}$/)).toBe(count('GET', /^\/product\//));
    expect(count('POST', /^\/api\/cart$/)).toBeGreaterThan(20);
    expect(count('POST', /^\/api\/checkout$/)).toBeGreaterThan(3);
    expect(count('GET', /^\/api\/shipping$/)).toBeGreaterThan(3);
    const logins = shoppers.filter((a) => a.request.path === '/api/login');
    expect(logins.length).toBeGreaterThan(20);
    // Each session keeps its address, browser and session id; a retried login comes from the same client.
    const sessions = new Map<string, Set<string>>();
    for (const a of shoppers) {
      const cookie = header(a, 'cookie')!;
      sessions.set(cookie, (sessions.get(cookie) ?? new Set()).add(`${a.request.clientAddress} ${header(a, 'user-agent')}`));
    }
    for (const clients of sessions.values()) expect(clients.size).toBe(1);
    const byUser = new Map<string, number>();
    for (const l of logins) {
      const user = (JSON.parse(l.request.body!) as { username: string }).username;
      byUser.set(user, (byUser.get(user) ?? 0) + 1);
    }
    expect([...byUser.values()].some((n) => n > 1)).toBe(true);
    const checkout = JSON.parse(shoppers.find((a) => a.request.path === '/api/checkout')!.request.body!) as Record<string, unknown>;
    expect(Object.keys(checkout).sort()).toEqual(['address', 'creditCard', 'email', 'userCurrency', 'userId']);
  });

  it('adds crawlers and health checks as noise only when bots are on', () => {
    const bots = requests(run(normal)).filter((a) => a.origin === 'bot');
    expect(bots.some((a) => /Googlebot/.test(header(a, 'user-agent')!))).toBe(true);
    expect(bots.some((a) => a.request.path === '/robots.txt')).toBe(true);
    const health = bots.filter((a) => a.request.path === '/api/health');
    expect(health.length).toBeGreaterThanOrEqual(2 * 20 * 6 - 4);
    expect(health.every((a) => a.request.direct)).toBe(true);
    expect(requests(run(normal.replace('bots: true', 'bots: false'))).some((a) => a.origin === 'bot')).toBe(false);
  });

  it('starts simulated time at 06:00 UTC on a day the whole scenario lies in the past', () => {
    const now = Date.UTC(2026, 11, 6, 13, 40);
    expect(new Date(simulatedStart(now, 6 * 3_600_000)).toISOString()).toBe('2026-12-06T06:00:00.000Z');
    expect(new Date(simulatedStart(now, 8 * 3_600_000)).toISOString()).toBe('2026-12-05T06:00:00.000Z');
  });
});
