import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { httpHealth } from '../health.ts';
import type { StackPaths } from '../paths.ts';
import { python } from '../prereqs.ts';
import { recordFor, rotateLog, runLogged, spawnDetached } from '../proc.ts';
import { HOST, PORTS, VERSIONS } from '../versions.ts';
import { confinedEnv, ensureDirs, markerMatches, writeMarker, type Service } from './types.ts';

const bin = (paths: StackPaths, name: string) => join(paths.mlflow.venv, 'bin', name);

/** pip's cache, temp files, matplotlib's and other caches inside the stack dir. */
function pythonEnv(paths: StackPaths): NodeJS.ProcessEnv {
  const home = join(paths.mlflow.home, 'home');
  return confinedEnv(paths, {
    TMPDIR: paths.mlflow.tmp, PIP_CACHE_DIR: paths.mlflow.pipCache, HOME: home, XDG_CACHE_HOME: join(home, '.cache'),
    XDG_CONFIG_HOME: join(home, '.config'), MPLCONFIGDIR: join(home, '.matplotlib'), PYTHONNOUSERSITE: '1',
    VIRTUAL_ENV: paths.mlflow.venv, PATH: `${join(paths.mlflow.venv, 'bin')}:${process.env.PATH ?? ''}`,
  });
}

export const mlflow: Service = {
  name: 'mlflow',
  version: VERSIONS.mlflow,
  port: PORTS.mlflow,
  url: `http://${HOST}:${PORTS.mlflow}`,
  dependsOn: [],
  installKey: 'mlflow',
  logFile: (paths) => join(paths.logs, 'mlflow.log'),
  isInstalled: (paths) => markerMatches(paths.mlflow.home, { mlflow: VERSIONS.mlflow }) && existsSync(bin(paths, 'mlflow')),

  async install({ paths, progress }) {
    const py = python();
    ensureDirs(paths.mlflow.home, paths.mlflow.tmp, join(paths.mlflow.home, 'home'));
    const logFile = join(paths.logs, 'install-mlflow.log');
    if (!existsSync(bin(paths, 'pip'))) {
      progress('creating virtualenv');
      await runLogged(py, ['-m', 'venv', paths.mlflow.venv], { env: pythonEnv(paths), logFile, what: 'virtualenv creation', onLine: progress });
    }
    progress(`pip install mlflow==${VERSIONS.mlflow} (~850 MB)`);
    await runLogged(bin(paths, 'pip'), ['install', '--disable-pip-version-check', '--progress-bar', 'off', `mlflow==${VERSIONS.mlflow}`], {
      env: pythonEnv(paths), logFile, what: 'MLflow install', onLine: progress, timeoutMs: 30 * 60_000,
    });
    writeMarker(paths.mlflow.home, { mlflow: VERSIONS.mlflow });
  },

  async start({ paths }) {
    ensureDirs(paths.mlflow.artifacts, paths.mlflow.tmp, join(paths.mlflow.home, 'home'));
    const logFile = mlflow.logFile(paths);
    rotateLog(logFile);
    const args = [
      'server', '--host', HOST, '--port', String(PORTS.mlflow),
      '--backend-store-uri', `sqlite:///${paths.mlflow.db}`,
      '--serve-artifacts', '--artifacts-destination', paths.mlflow.artifacts,
      '--workers', '1',
    ];
    // Without this the server starts ~10 processes (~2.3 GiB) and writes to /dev/shm; with it, 2 and ~480 MiB.
    const env = pythonEnv(paths);
    env.MLFLOW_SERVER_ENABLE_JOB_EXECUTION = 'false';
    const { pid } = spawnDetached(bin(paths, 'mlflow'), args, { env, cwd: paths.mlflow.home, logFile });
    if (!pid) throw new Error(`mlflow: could not start ${bin(paths, 'mlflow')}`);
    return recordFor('mlflow', pid, VERSIONS.mlflow, `mlflow ${args.join(' ')}`);
  },

  health: () => httpHealth(`http://${HOST}:${PORTS.mlflow}/health`),
};
