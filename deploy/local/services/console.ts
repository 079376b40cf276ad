/**
 * The investigation console (`peregrine console`) on 127.0.0.1:9470, reading the stack's findings alias, alert feed
 * and Jaeger. Like the receiver it runs from the checkout that started the stack with the default configuration
 * (no token: it binds loopback only); run `peregrine console -c FILE` yourself for another one.
 */
import { join } from 'node:path';
import { CONSOLE_DEFAULT_PORT } from '../../../console/config.ts';
import { httpHealth } from '../health.ts';
import { recordFor, rotateLog, spawnDetached } from '../proc.ts';
import { HOST } from '../versions.ts';
import { CLI, peregrineReceiver, REPO, stackPeregrineEnv, VERSION } from './receiver.ts';
import { confinedEnv, type Service } from './types.ts';

export const peregrineConsole: Service = {
  name: 'console',
  version: VERSION,
  port: CONSOLE_DEFAULT_PORT,
  url: `http://${HOST}:${CONSOLE_DEFAULT_PORT}`,
  dependsOn: ['kafka', 'elasticsearch'],
  installKey: peregrineReceiver.installKey,
  logFile: (paths) => join(paths.logs, 'console.log'),
  isInstalled: peregrineReceiver.isInstalled,
  install: peregrineReceiver.install,
  async start({ paths }) {
    const logFile = peregrineConsole.logFile(paths);
    rotateLog(logFile);
    const { pid } = spawnDetached(process.execPath, [CLI, 'console'], { env: confinedEnv(paths, stackPeregrineEnv(process.env)), cwd: REPO, logFile });
    if (!pid) throw new Error(`console: could not start ${CLI}`);
    return recordFor('console', pid, VERSION, `${process.execPath} ${CLI} console`);
  },
  // /healthz answers once the alert feed is read and the pages are served.
  health: () => httpHealth(`http://${HOST}:${CONSOLE_DEFAULT_PORT}/healthz`, {
    accept: (status) => (status === 200 ? { healthy: true, detail: `serving ${peregrineConsole.url}` } : undefined),
  }),
};
