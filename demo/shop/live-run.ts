/**
 * Live mode of a scenario: the live shop exporting to the run's receiver, and the scenario's actions carried out on
 * the wall clock (requests sent as they fall due, flags flipped, attacks run in the named service's process).
 */
import type { LiveRunner } from '../eval/run.ts';
import { scenarioActions } from '../traffic/scenario.ts';
import { LiveShop } from './live-shop.ts';

/** Requests in flight beyond this are not sent (the client side of an overloaded shop gives up too). */
const MAX_IN_FLIGHT = 2_000;

export const runLiveScenario: LiveRunner = async (scenario, options) => {
  const { config, print, signal } = options;
  const needsProcesses = scenario.events.some((e) => e.kind === 'new_binary' || e.kind === 'cryptominer' || e.kind === 'exfiltration' || e.kind === 'lateral_movement');
  const shop = await LiveShop.start({
    otlpEndpoint: options.endpoint, otlpHeaders: config.receiver.authToken ? { authorization: `Bearer ${config.receiver.authToken}` } : undefined,
    kafka: config.kafka, ordersTopic: options.ordersTopic,
    log: options.log, processes: needsProcesses ? 'per-service' : 'single',
  });
  print(`[${scenario.name}] live shop up (${needsProcesses ? 'one process per service' : 'one process'}), frontend ${shop.frontendUrl}`);
  let dropped = 0;
  try {
    const startMs = options.begin();
    for (const action of scenarioActions(scenario, { startMs, tailMs: options.tailMs })) {
      const wait = action.timeMs - Date.now();
      if (wait > 0) await new Promise<void>((resolve) => {
        const timer = setTimeout(done, wait);
        function done() { clearTimeout(timer); signal.removeEventListener('abort', done); resolve(); }
        signal.addEventListener('abort', done, { once: true });
      });
      if (signal.aborted) break;
      if (action.kind === 'request' && shop.pending >= MAX_IN_FLIGHT) {
        dropped++;
        continue;
      }
      options.onAction(action, Date.now());
      void shop.apply(action).catch(() => undefined);
    }
    const deadline = Date.now() + 30_000;
    while (shop.pending > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    if (dropped > 0) print(`[${scenario.name}] ${dropped} request(s) not sent: more than ${MAX_IN_FLIGHT} were waiting for answers`);
  } finally {
    await shop.close();
  }
};
