/**
 * `peregrine run features` as a child process for integration tests: the configuration goes in as the environment
 * variables a deployment would set (`PEREGRINE__SECTION__KEY`), the process is ready once its stage logs that it is
 * consuming, SIGTERM stops it cleanly and SIGKILL is what the scale-out test sends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/peregrine.js', import.meta.url));

/** Dotted configuration keys → `PEREGRINE__SECTION__KEY` variables. */
export function configEnv(overrides: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(overrides).map(([key, value]) => [`PEREGRINE__${key.split('.').join('__').toUpperCase()}`, String(value)]));
}

export async function startFeaturesProcess(overrides: Record<string, unknown>, timeoutMs = 120_000): Promise<ChildProcess> {
  // Only the test's own configuration: none of the environment's PEREGRINE__ variables.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PEREGRINE__')));
  const env = { ...inherited, ...configEnv(overrides), PEREGRINE_LOG_FORMAT: 'json' };
  const child = spawn(process.execPath, [BIN, 'run', 'features'], { env, stdio: ['ignore', 'inherit', 'pipe'] });
  let tail = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`features process not ready after ${timeoutMs} ms: ${tail}`)), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`features process exited early (${code ?? signal}): ${tail}`));
    });
    child.stderr!.on('data', (d: Buffer) => {
      const text = d.toString();
      tail = (tail + text).slice(-2000);
      if (text.includes('features stage consuming')) {
        clearTimeout(timer);
        resolve(child);
      }
      // Warnings and errors stay visible in the test's output; routine info lines do not.
      for (const line of text.split('\n')) if (/"level":(50|60)/.test(line)) process.stderr.write(`${line}\n`);
    });
  });
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
