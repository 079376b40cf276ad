import { homedir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repo's deploy/local folder (configs, the Kafka pom, the Jaeger Go module). */
export const LOCAL_DIR = dirname(fileURLToPath(import.meta.url));

/** `$PEREGRINE_STACK_DIR`, default `${XDG_CACHE_HOME:-$HOME/.cache}/peregrine/stack`. */
export function stackDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PEREGRINE_STACK_DIR) return resolve(env.PEREGRINE_STACK_DIR);
  const cache = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return resolve(cache, 'peregrine', 'stack');
}

/** Everything the stack writes lives under one root: installs, data, logs, pidfiles, temp files, tool caches. */
export function stackPaths(root: string = stackDir()) {
  return {
    root,
    tmp: join(root, 'tmp'),
    logs: join(root, 'logs'),
    run: join(root, 'run'),
    state: join(root, 'run', 'stack.json'),
    maven: join(root, 'maven'),
    kafka: {
      home: join(root, 'kafka'),
      libs: join(root, 'kafka', 'libs'),
      config: join(root, 'kafka', 'config'),
      data: join(root, 'kafka', 'data'),
      logs: join(root, 'kafka', 'logs'),
    },
    elasticsearch: {
      home: join(root, 'elasticsearch'),
      dist: join(root, 'elasticsearch', 'dist'),
      config: join(root, 'elasticsearch', 'config'),
      data: join(root, 'elasticsearch', 'data'),
      logs: join(root, 'elasticsearch', 'logs'),
      tmp: join(root, 'elasticsearch', 'tmp'),
      run: join(root, 'elasticsearch', 'run'),
    },
    jaeger: {
      home: join(root, 'jaeger'),
      binary: join(root, 'jaeger', 'bin', 'jaeger'),
      go: join(root, 'go'),
    },
    mlflow: {
      home: join(root, 'mlflow'),
      venv: join(root, 'mlflow', 'venv'),
      db: join(root, 'mlflow', 'mlflow.db'),
      artifacts: join(root, 'mlflow', 'artifacts'),
      tmp: join(root, 'mlflow', 'tmp'),
      pipCache: join(root, 'pip-cache'),
    },
  };
}
export type StackPaths = ReturnType<typeof stackPaths>;
