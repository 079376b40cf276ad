/**
 * A features process for integration tests: what `peregrine run features` starts, with the configuration given as
 * JSON overrides in PEREGRINE_TEST_OVERRIDES (isolated topics and groups). Prints `ready` once consuming; SIGTERM
 * stops it cleanly (SIGKILL is what the scale-out test sends).
 */
import { loadConfig } from '../../core/config.ts';
import { createKafkaAdapter } from '../../core/kafka/kafkajs.ts';
import { createLogger } from '../../core/log.ts';
import { MetricsRegistry } from '../../core/metrics.ts';
import { systemClock } from '../../core/clock.ts';
import { startEntityFeaturesStage } from '../entity-stage.ts';

const overrides = JSON.parse(process.env.PEREGRINE_TEST_OVERRIDES ?? '{}') as Record<string, unknown>;
const config = loadConfig({ env: {}, overrides });
const log = createLogger({ level: process.env.PEREGRINE_TEST_LOG ?? 'warn', name: `features-${process.pid}` });
const kafka = createKafkaAdapter(config.kafka, log);
await kafka.checkReachable();
const controller = new AbortController();
const metrics = new MetricsRegistry();
const served = await metrics.serve(config.metrics);
const stage = await startEntityFeaturesStage({ config, kafka, metrics, log, clock: systemClock, signal: controller.signal });
process.stdout.write(`ready ${served.port}\n`);
process.on('SIGTERM', () => {
  controller.abort();
  void stage.stop().then(() => kafka.close()).then(() => served.server.close()).finally(() => process.exit(0));
});
