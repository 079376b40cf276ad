/**
 * TF.js with the fastest backend this machine has. `@tensorflow/tfjs-node` (native TensorFlow) is used when it happens to
 * be installed — it is never a dependency, so it is imported dynamically; otherwise the WebAssembly backend, which ships
 * its .wasm files inside the npm package and so needs nothing downloaded at run time.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { logger } from '../core/log.ts';
import { setModelBackendProvider } from '../core/metrics.ts';

export { tf };

setModelBackendProvider(() => tfBackendName());

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

let ready: Promise<BackendName> | undefined;

/** Selects and initialises the backend once per process; later calls return the same name. */
export function initTf(options: { prefer?: BackendName } = {}): Promise<BackendName> {
  ready ??= select(options.prefer);
  return ready;
}

/** The backend in use, or undefined before initTf() finished. */
export function tfBackendName(): string | undefined {
  return tf.getBackend() || undefined;
}

async function select(prefer?: BackendName): Promise<BackendName> {
  const log = logger().child({ component: 'tf' });
  const order: BackendName[] = prefer ? [prefer, 'tensorflow', 'wasm', 'cpu'] : ['tensorflow', 'wasm', 'cpu'];
  for (const name of [...new Set(order)]) {
    try {
      if (name === 'tensorflow') {
        // A string variable keeps TypeScript and bundlers from requiring the optional package.
        const optional = '@tensorflow/tfjs-node';
        await import(optional);
      } else if (name === 'wasm') {
        const before = listenerSnapshot();
        const require = createRequire(import.meta.url);
        const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        wasm.setWasmPaths(dist + path.sep, false);
        if (await tf.setBackend(name)) {
          await tf.ready();
          // The Emscripten runtime installs process handlers that rethrow any uncaught error, printing its whole
          // minified source; Node's own handling is the same minus that noise.
          removeListenersSince(before);
          log.info({ backend: name }, `TF.js backend: ${name}`);
          return name;
        }
        continue;
      }
      if (await tf.setBackend(name)) {
        await tf.ready();
        log.info({ backend: name }, `TF.js backend: ${name}`);
        return name;
      }
    } catch (error) {
      log.debug({ backend: name, err: String(error) }, 'TF.js backend not available');
    }
  }
  throw new Error('no TF.js backend could be initialised');
}

type ProcessEvent = 'uncaughtException' | 'unhandledRejection';
const EVENTS: ProcessEvent[] = ['uncaughtException', 'unhandledRejection'];

type Listener = (...args: never[]) => void;

function listenerSnapshot(): Map<ProcessEvent, Listener[]> {
  return new Map(EVENTS.map((event) => [event, process.listeners(event as 'uncaughtException') as Listener[]]));
}

function removeListenersSince(before: Map<ProcessEvent, Listener[]>): void {
  for (const event of EVENTS) {
    for (const listener of process.listeners(event as 'uncaughtException') as Listener[]) {
      if (!before.get(event)!.includes(listener)) process.removeListener(event, listener as never);
    }
  }
}
