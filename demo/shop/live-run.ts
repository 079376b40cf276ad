/**
 * Live mode of a scenario: the live shop exporting to the run's receiver, and the scenario's actions carried out on
 * the wall clock (requests sent as they fall due, flags flipped, attacks run in the named service's process).
 */
import type { LiveRunner } from '../eval/run.ts';
import type { Action } from '../traffic/actions.ts';
import { scenarioActions } from '../traffic/scenario.ts';
import { LiveShop } from './live-shop.ts';

/** Requests in flight beyond this are not sent (the client side of an overloaded shop gives up too). */
const MAX_IN_FLIGHT = 2_000;

/** Carries out actions as their times come (wall clock); resolves when they are all sent, or on abort. Returns how many requests were not sent. */
export async function driveLive(shop: LiveShop, actions: Iterable<Action>, signal: AbortSignal, onAction?: (action: Action, wallMs: number) => void): Promise<number> {
  let dropped = 0;
  for (const action of actions) {
    const wait = action.timeMs - Date.now();
    if (wait > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, wait);
        function done() { clearTimeout(timer); signal.removeEventListener('abort', done); resolve(); }
        signal.addEventListener('abort', done, { once: true });
      });
    }
    if (signal.aborted) break;
    if (action.kind === 'request' && shop.pending >= MAX_IN_FLIGHT) {
      dropped++;
      continue;
    }
    onAction?.(action, Date.now());
    void shop.apply(action).catch(() => undefined);
  }
  return dropped;
}

/** Execs, uploads and calls from inside a service need that service in a process of its own. */
export function needsOwnProcesses(kinds: readonly string[]): boolean {
  return kinds.some((k) => k === 'new_binary' || k === 'cryptominer' || k === 'exfiltration' || k === 'lateral_movement');
}

export const runLiveScenario: LiveRunner = async (scenario, options) => {
  const { config, print, signal } = options;
  const perService = needsOwnProcesses(scenario.events.map((e) => e.kind));
  const shop = await LiveShop.start({
    otlpEndpoints: [options.endpoint], otlpHeaders: config.receiver.authToken ? { authorization: `Bearer ${config.receiver.authToken}` } : undefined,
    kafka: config.kafka, ordersTopic: options.ordersTopic, log: options.log, processes: perService ? 'per-service' : 'single',
  });
  print(`[${scenario.name}] live shop up (${perService ? 'one process per service' : 'one process'}), frontend ${shop.frontendUrl}`);
  try {
    const startMs = options.begin();
    const dropped = await driveLive(shop, scenarioActions(scenario, { startMs, tailMs: options.tailMs }), signal, options.onAction);
    const deadline = Date.now() + 30_000;
    while (shop.pending > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    if (dropped > 0) print(`[${scenario.name}] ${dropped} request(s) not sent: more than ${MAX_IN_FLIGHT} were waiting for answers`);
  } finally {
    await shop.close();
  }
};
