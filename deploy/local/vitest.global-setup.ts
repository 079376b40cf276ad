/**
 * vitest globalSetup for the integration project: makes sure the real local stack runs (a fast no-op when every
 * service is already healthy; a first run installs everything, see deploy/local/README.md). Leaves it running.
 * Set PEREGRINE_STACK_FRONTEND=none to leave 4317/4318 to Peregrine's own OTLP receiver.
 */
import { ensureStackUp } from './stack.ts';

export default async function setup(): Promise<void> {
  const frontend = process.env.PEREGRINE_STACK_FRONTEND === 'none' ? 'none' : 'collector';
  await ensureStackUp({ frontend, progress: 'plain', timeoutS: Number(process.env.PEREGRINE_STACK_TIMEOUT_S ?? 300) });
}
