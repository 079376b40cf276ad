/**
 * Peregrine's own OTLP receiver (`peregrine run receiver`) as the stack's front end on 4317/4318: the
 * default since it writes the collector's Kafka contract itself. Nothing to install: it runs from the
 * checkout that started the stack, with the default configuration (inherited PEREGRINE__* variables
 * are dropped so the stack is the same whoever starts it; run `peregrine run receiver` yourself with
 * `stack up --frontend none` to configure it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ENV_PREFIX } from '../../../core/config.ts';
import { httpHealth } from '../health.ts';
import { LOCAL_DIR } from '../paths.ts';
import { recordFor, rotateLog, spawnDetached } from '../proc.ts';
import { HOST, PORTS } from '../versions.ts';
import { confinedEnv, type Service } from './types.ts';

/** The checkout that started the stack: Peregrine's own services run its CLI. */
export const REPO = resolve(LOCAL_DIR, '..', '..');
export const CLI = join(REPO, 'bin', 'peregrine.js');
export const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

/** The environment of a Peregrine process the stack runs: the caller's PEREGRINE__* settings left out, plus `extra`. */
export function stackPeregrineEnv(base: NodeJS.ProcessEnv, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) if (!key.startsWith(ENV_PREFIX)) env[key] = value;
  return { ...env, PEREGRINE_LOG_FORMAT: 'json', ...extra };
}

function receiverEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return stackPeregrineEnv(base, { [`${ENV_PREFIX}METRICS__PORT`]: String(PORTS.peregrineReceiverMetrics) });
}

/** OTLP in (4317 gRPC, 4318 HTTP) -> Kafka otlp_spans/otlp_metrics/otlp_logs, acknowledged after Kafka. */
export const peregrineReceiver: Service = {
  name: 'peregrine-receiver',
  version: VERSION,
  port: PORTS.otlpHttp,
  url: `http://${HOST}:${PORTS.otlpHttp}`,
  dependsOn: ['kafka'],
  installKey: 'peregrine-receiver',
  logFile: (paths) => join(paths.logs, 'peregrine-receiver.log'),
  // Runs from this checkout: its npm packages are what it needs.
  isInstalled: () => existsSync(join(REPO, 'node_modules', 'tsx')),
  async install() {
    throw new Error(`peregrine-receiver: npm packages missing in ${REPO}: run \`npm ci\` there`);
  },
  async start({ paths }) {
    const logFile = peregrineReceiver.logFile(paths);
    rotateLog(logFile);
    const { pid } = spawnDetached(process.execPath, [CLI, 'run', 'receiver'], { env: confinedEnv(paths, receiverEnv(process.env)), cwd: REPO, logFile });
    if (!pid) throw new Error(`peregrine-receiver: could not start ${CLI}`);
    return recordFor('peregrine-receiver', pid, VERSION, `${process.execPath} ${CLI} run receiver`);
  },
  // /healthz is served before the stages start: healthy means the receiver stage reported in (its receivers listen).
  health: () => httpHealth(`http://${HOST}:${PORTS.peregrineReceiverMetrics}/healthz`, {
    accept: (status, body) => {
      if (status !== 200) return undefined;
      const checks = (JSON.parse(body) as { checks?: Record<string, boolean> }).checks ?? {};
      // A receiver of the previous release reports its stage as `ingest`.
      return checks.receiver === true || checks.ingest === true ? { healthy: true, detail: 'receivers listening' } : { healthy: false, detail: 'receiver stage not started yet' };
    },
  }),
};
