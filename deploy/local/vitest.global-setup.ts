/**
 * vitest globalSetup for the integration project: makes sure the real local stack runs (a fast no-op when every
 * service is already healthy; a first run installs everything, see deploy/local/README.md). Leaves it running.
 * PEREGRINE_STACK_FRONTEND=collector|none picks another OTLP front end than Peregrine's receiver.
 */
import { PeregrineError } from '../../core/errors.ts';
import { DEFAULT_FRONTEND, ensureStackUp, FRONTENDS, type Frontend } from './stack.ts';

export default async function setup(): Promise<void> {
  const frontend = (process.env.PEREGRINE_STACK_FRONTEND || DEFAULT_FRONTEND) as Frontend;
  if (!FRONTENDS.includes(frontend)) throw new PeregrineError(`PEREGRINE_STACK_FRONTEND must be one of ${FRONTENDS.join(', ')}, got "${frontend}"`);
  await ensureStackUp({ frontend, progress: 'plain', timeoutS: Number(process.env.PEREGRINE_STACK_TIMEOUT_S ?? 300) });
}
