/** A scenario as one time-ordered stream of actions: shoppers, bots (if asked for) and the events' actors. */
import type { Scenario } from '../scenario/parse.ts';
import { Random } from '../shop/random.ts';
import { shopAccounts, type Account } from '../shop/state.ts';
import type { Action } from './actions.ts';
import { eventActors } from './attacks.ts';
import { botActors } from './bots.ts';
import { rateCurve } from './curve.ts';
import { ShopperSlot } from './shoppers.ts';
import { actionStream, type Actor } from './stream.ts';

export interface TrafficOptions {
  /** Absolute start of the scenario (ms since the epoch). */
  startMs: number;
  /** Normal traffic that goes on after the end, so the last windows close on event time. */
  tailMs?: number;
  accounts?: readonly Account[];
}

export function scenarioActors(scenario: Scenario, options: TrafficOptions): Actor[] {
  const rng = new Random(scenario.seed);
  const endMs = options.startMs + scenario.durationMs;
  const accounts = options.accounts ?? shopAccounts();
  const rateAt = rateCurve(scenario.traffic.rate, options.startMs, endMs);
  const returning: string[] = [];
  const actors: Actor[] = [];
  for (let i = 0; i < scenario.traffic.sessions; i++) {
    actors.push(new ShopperSlot({ rng: rng.fork(`slot-${i}`), sessions: scenario.traffic.sessions, rateAt, startMs: options.startMs, endMs, accounts, returning }));
  }
  if (scenario.traffic.bots) actors.push(...botActors(rng.fork('bots'), options.startMs));
  let pid = 31_000;
  scenario.events.forEach((event, index) => {
    actors.push(...eventActors({ event, index, startMs: options.startMs + event.atMs, rng: rng.fork(`event-${index}`), accounts, nextPid: () => pid++ }));
  });
  return actors;
}

/** The scenario's actions in time order, from its start to its end plus the tail. */
export function scenarioActions(scenario: Scenario, options: TrafficOptions): Generator<Action> {
  return actionStream(scenarioActors(scenario, options), options.startMs + scenario.durationMs + (options.tailMs ?? 0));
}
